"""The products' dashboard pages: forecast list and series chart, inventory plan, recommender.

One tiny simulated world gets forecasts, a plan and a recommender; the pages are fetched over
real HTTP with an analyst's token, and what they show is checked against the gold tables.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from lakeforge.cli._forecast import forecast_app
from lakeforge.cli._inventory import inventory_app
from lakeforge.products.recommend._workspace import TrainingFrames, fit_and_save
from lakeforge.serve import create_user
from lakeforge.synth.simulator import RetailConfig, simulate_retail_into
from lakeforge.workspace import Workspace
from tests.service_helpers import RunningService, running_service
from tests.unit.products.recommend.conftest import item_table, planted_interactions, user_table

runner = CliRunner()
FIT = ["fit", "--horizon", "14", "--models", "seasonal_naive,naive", "--levels", "80,95"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningService, dict]]:
    base = tmp_path_factory.mktemp("pages")
    root = base / "shop"
    Workspace.init(root).close()
    simulate_retail_into(root, RetailConfig(stores=2, products=20, customers=50, days=70, seed=3))
    assert runner.invoke(forecast_app, [*FIT, "-w", str(root)]).exit_code == 0
    assert runner.invoke(inventory_app, ["plan", "-w", str(root)]).exit_code == 0
    with Workspace.open(root) as ws:
        fit_and_save(
            ws, ["itemknn"], TrainingFrames(planted_interactions(), item_table(), user_table())
        )
        _, analyst = create_user(ws.catalog, "buyer1", role="analyst")
        _, viewer = create_user(ws.catalog, "looker1", role="viewer")
    with running_service(base, {}) as service:
        yield service, {"analyst": analyst, "viewer": viewer}


def _get(served: tuple[RunningService, dict], path: str, who: str = "analyst") -> httpx.Response:
    service, tokens = served
    headers = {"Authorization": f"Bearer {tokens[who]}", "Accept": "text/html"}
    return httpx.get(f"{service.base_url}{path}", headers=headers, timeout=60)


def _chart(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert found, "the page embeds no chart data"
    return json.loads(found.group(1))


def _rows(page: str, table_id: str) -> list[str]:
    body = re.search(rf'<table class="data" id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table #{table_id}"
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)


def test_navigation_lists_the_installed_products(served) -> None:
    page = _get(served, "/").text
    for path, title in (
        ("/forecast", "Forecast"),
        ("/inventory", "Inventory"),
        ("/recommend", "Recommend"),
    ):
        assert f'href="{path}"' in page and title in page


def test_forecast_page_lists_every_series_with_its_model(served) -> None:
    got = _get(served, "/forecast")
    assert got.status_code == 200, got.text
    service, _ = served
    with Workspace.open(service.workspace) as ws:
        selection = ws.table("forecasts_selection").read().to_pandas()
        models = ws.table("forecasts").read(columns=["model"]).to_pandas()["model"]
    rows = _rows(got.text, "series")
    assert len(rows) == len(selection) == 40
    chart = _chart(got.text)
    assert sum(chart["rows"]) == 40
    assert set(chart["labels"]) == set(models.astype(str))
    filtered = _rows(_get(served, "/forecast?q=S002/").text, "series")
    assert len(filtered) == 20 and all("S002/" in r for r in filtered)


def test_series_page_charts_history_forecast_and_intervals(served) -> None:
    got = _get(served, "/forecast/series/S001/P0001")
    assert got.status_code == 200, got.text
    chart = _chart(got.text)
    assert chart["levels"] == [80, 95]
    assert len(chart["forecast"]) == 14
    service, _ = served
    with Workspace.open(service.workspace) as ws:
        sql = "select * from daily_sales where store_id = 'S001' and product_id = 'P0001'"
        history = ws.query(f"{sql} order by date").to_pandas()
    assert len(chart["history"]) == len(history) > 30  # the whole (short) history
    assert [p["y"] for p in chart["history"]] == history["units_sold"].astype(float).tolist()
    assert all(p["y"] is not None for p in chart["history"])
    assert chart["history"][-1]["ds"] < chart["forecast"][0]["ds"]
    for step in chart["forecast"]:
        assert step["lo_95"] <= step["lo_80"] <= step["forecast"] <= step["hi_80"] <= step["hi_95"]
    assert len(_rows(got.text, "forecast-rows")) == 14
    assert _get(served, "/forecast/series/S001/NOPE").status_code == 404


def test_inventory_page_shows_decisions_with_reasons(served) -> None:
    got = _get(served, "/inventory")
    assert got.status_code == 200, got.text
    rows = _rows(got.text, "plan")
    assert len(rows) == 40
    assert all(re.search(r"(reorder \d+ units|no order)", html.unescape(r)) for r in rows)
    one = _rows(_get(served, "/inventory?store_id=S001").text, "plan")
    assert len(one) == 20 and all("S001/" in r for r in one)
    missing = _get(served, "/inventory?store_id=S999").text
    assert "no store" in html.unescape(missing) and not _rows(missing, "plan")


def test_recommend_page_explains_and_finds_similar_items(served) -> None:
    got = _get(served, "/recommend?user_id=U001&k=5")
    assert got.status_code == 200, got.text
    rows = _rows(got.text, "recommendations")
    assert len(rows) == 5
    bought = set(
        planted_interactions().filter(planted_interactions()["user_id"] == "U001")["item_id"]
    )
    assert any(item in html.unescape(rows[0]) for item in bought)  # "because you bought ..."
    similar = _rows(_get(served, "/recommend?item_id=I020&k=4").text, "similar")
    assert len(similar) == 4
    unknown = _get(served, "/recommend?item_id=NOPE").text
    assert "unknown to this model" in html.unescape(unknown)


def test_pages_need_row_access(served) -> None:
    service, _ = served
    for path in ("/forecast", "/inventory", "/recommend"):
        assert _get(served, path, who="viewer").status_code == 403
        anonymous = httpx.get(f"{service.base_url}{path}", headers={"Accept": "text/html"})
        assert anonymous.status_code in (302, 303, 307, 401)
