"""The dashboard in headless Chromium (Debian's ``chromium``, driven by Playwright).

Signs in with a token, opens the tables page and a table's page, checks the chart rendered,
and saves screenshots under ``tests/artifacts/``. Skips only when no chromium is installed
(``make test`` installs it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.service_helpers import RunningService

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make venv-dev)"
)


def test_sign_in_tables_and_detail_with_chart(service: RunningService) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{service.base_url}/")
            assert "/login" in page.url
            page.fill("#token", service.tokens["analyst"])
            page.click("button[type=submit]")
            page.wait_for_selector("#tables")
            assert page.locator("#tables tbody tr").count() == 2
            page.wait_for_selector("#rows-chart[data-rendered=true]")
            page.screenshot(path=str(ARTIFACTS / "dashboard-tables.png"), full_page=True)

            page.click("text=customers")
            page.wait_for_selector("#history-chart[data-rendered=true]")
            drawn = page.evaluate(
                "() => { const c = Chart.getChart('history-chart');"
                " return c ? c.data.datasets.map(d => d.data.length) : null; }"
            )
            assert drawn == [1, 1]
            box = page.locator("#history-chart").bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100
            sample = page.locator("#sample").inner_text()
            assert "p***@example.com" in sample and "person1@example.com" not in sample
            assert page.locator(".badge-pii").count() == 3
            page.screenshot(path=str(ARTIFACTS / "dashboard-table.png"), full_page=True)

            page.goto(f"{service.base_url}/lineage")
            page.wait_for_selector("#lineage .node")
            page.screenshot(path=str(ARTIFACTS / "dashboard-lineage.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard-table.png").stat().st_size > 10_000
