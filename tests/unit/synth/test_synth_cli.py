"""``lakeforge synth``: fit, sample and report through the CLI (a thin shell over the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeforge.cli._app import app
from lakeforge.synth.simulator import RetailConfig, simulate_retail_into
from lakeforge.workspace import Workspace

runner = CliRunner()
TABLES = ["stores", "customers", "orders", "order_items", "products", "payments", "reviews"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "shop"
    simulate_retail_into(
        root, RetailConfig(stores=2, products=20, customers=60, days=56, seed=5), progress=False
    )
    return root


def _invoke(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_fit_sample_report_round_trip(shop: Path, tmp_path: Path) -> None:
    fitted = _invoke("synth", "fit", *TABLES, "-w", str(shop), "--method", "independent")
    assert Path(str(fitted["saved"]), "synthesizer.json").is_file()
    tables = fitted["tables"]
    assert isinstance(tables, dict) and tables["orders"]["driving_parent"] == "customers"

    twin = tmp_path / "twin"
    sampled = _invoke(
        "synth",
        "sample",
        "-w",
        str(shop),
        "--into",
        str(twin),
        "--rows",
        "customers=80",
        "--seed",
        "3",
    )
    written = sampled["tables"]
    assert isinstance(written, dict)
    assert written["customers"]["rows_written"] == 80
    assert {t["rows_quarantined"] for t in written.values()} == {0}
    with Workspace.open(twin) as ws:
        assert sorted(t.name for t in ws.tables()) == sorted(TABLES)

    report = _invoke("synth", "report", "-w", str(shop))
    assert set(report["foreign_key_integrity"].values()) == {1.0}  # type: ignore[union-attr]
    assert Path(str(report["html"])).is_file()
    assert Path(str(report["json"])).is_file()
    assert Path(str(report["html"])).parent == twin / "report"


def test_conditions_reach_the_generator(shop: Path, tmp_path: Path) -> None:
    _invoke("synth", "fit", *TABLES, "-w", str(shop), "--method", "independent", "--name", "c")
    twin = tmp_path / "online"
    _invoke(
        "synth",
        "sample",
        "-w",
        str(shop),
        "--name",
        "c",
        "--into",
        str(twin),
        "--conditions",
        "orders.channel=online",
        "--rows",
        "orders=50",
    )
    with Workspace.open(twin) as ws:
        channels = ws.query("select distinct channel from orders").column(0).to_pylist()
        assert channels == ["online"]
        assert ws.query("select count(*) from orders").column(0).to_pylist() == [50]


def test_errors_are_clear_and_exit_1(shop: Path) -> None:
    result = runner.invoke(app, ["synth", "fit", "nope", "orders", "-w", str(shop), "--json"])
    assert result.exit_code == 1
    error = json.loads(result.output)["error"]
    assert "no table `nope`" in " ".join(error["problems"])
    result = runner.invoke(app, ["synth", "sample", "-w", str(shop), "--name", "never", "--json"])
    assert result.exit_code == 1
    assert "no fitted synthesizer `never`" in json.loads(result.output)["error"]["message"]
    _invoke("synth", "fit", *TABLES, "-w", str(shop), "--method", "independent", "--name", "e")
    result = runner.invoke(
        app,
        [
            "synth",
            "sample",
            "-w",
            str(shop),
            "--name",
            "e",
            "--conditions",
            "orders.nope=1",
            "--json",
        ],
    )
    assert result.exit_code == 1
    assert "unknown column `orders.nope`" in result.output


def test_report_with_holdout_refits_and_judges_privacy(shop: Path) -> None:
    _invoke(
        "synth",
        "fit",
        "stores",
        "customers",
        "orders",
        "-w",
        str(shop),
        "--method",
        "independent",
        "--name",
        "h",
    )
    report = _invoke("synth", "report", "-w", str(shop), "--name", "h", "--holdout", "0.3")
    assert Path(str(report["html"])).is_file()
    body = json.loads(Path(str(report["json"])).read_text())
    assert "orders" in body["tables"]
    privacy = [v for v in body["tables"]["orders"]["verdict"] if v["area"] == "privacy"]
    assert privacy and privacy[0]["status"] != "not judged"
