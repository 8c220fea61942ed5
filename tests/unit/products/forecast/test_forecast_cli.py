"""``lakeforge forecast fit/backtest/show`` over a tiny simulated world in a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeforge.cli._forecast import forecast_app
from lakeforge.synth.simulator import RetailConfig, simulate_retail_into
from lakeforge.workspace import Workspace

runner = CliRunner()
FAST = ["--horizon", "7", "--models", "seasonal_naive,naive", "--levels", "80"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forecast") / "ws"
    Workspace.init(root).close()
    config = RetailConfig(stores=1, products=20, customers=50, days=70, seed=1)
    simulate_retail_into(root, config, progress=False)
    return root


def test_fit_writes_gold_tables_with_lineage(workspace: Path) -> None:
    args = ["fit", *FAST, "--stockout", "stockout", "-w", str(workspace), "--json"]
    result = runner.invoke(forecast_app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["series"] == 20
    with Workspace.open(workspace) as ws:
        forecasts = ws.table("forecasts").read()
        assert forecasts.num_rows == 20 * 7
        assert {"unique_id", "ds", "forecast", "lo_80", "hi_80", "model"} <= set(
            forecasts.column_names
        )
        assert ws.catalog.get_table("forecasts").layer == "gold"  # type: ignore[union-attr]
        edges = ws.lineage("forecasts", direction="upstream").to_dict()["edges"]
        assert {"source": "table:daily_sales", "target": "table:forecasts"}.items() <= next(
            e for e in edges if e["source"] == "table:daily_sales"
        ).items()


def test_show_prints_the_series(workspace: Path) -> None:
    runner.invoke(forecast_app, ["fit", *FAST, "-w", str(workspace)])
    with Workspace.open(workspace) as ws:
        series_id = ws.table("forecasts").read(columns=["unique_id"])["unique_id"][0].as_py()
    result = runner.invoke(forecast_app, ["show", series_id, "-w", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert len(payload["forecast"]) == 7
    store, product = series_id.split("/")
    with Workspace.open(workspace) as ws:
        sql = f"select date, units_sold from daily_sales where store_id = '{store}' and "
        truth = ws.query(f"{sql} product_id = '{product}' order by date").to_pandas()
    history = payload["history"]
    assert len(history) == min(28, len(truth))  # the last 28 observations by default
    assert [p["y"] for p in history] == truth["units_sold"].astype(float).tail(28).tolist()
    assert history[-1]["ds"] < str(payload["forecast"][0]["ds"])
    text = runner.invoke(forecast_app, ["show", series_id, "--history", "10", "-w", str(workspace)])
    assert text.exit_code == 0 and "history, last 10" in text.output
    missing = runner.invoke(forecast_app, ["show", "nope", "-w", str(workspace)])
    assert missing.exit_code == 1


def test_backtest_writes_a_report(workspace: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    args = ["backtest", *FAST, "--report", str(report), "-w", str(workspace), "--json"]
    result = runner.invoke(forecast_app, args)
    assert result.exit_code == 0, result.output
    assert "coverage_80" in json.loads(result.output)
    page = report.read_text()
    assert "<table>" in page
    assert page.count("<svg") >= 3  # one chart per sample series
    assert "<polygon" in page  # the interval band
    assert "Gain over SeasonalNaive" in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_rest_route_reads_the_gold_tables(workspace: Path) -> None:
    from lakeforge.errors import NotFoundError, QueryError
    from lakeforge.products.forecast._router import router, series_forecast
    from lakeforge.serve._products import PRODUCTS

    runner.invoke(forecast_app, ["fit", *FAST, "-w", str(workspace)])
    assert any(r is router for r, _ in PRODUCTS)
    with Workspace.open(workspace) as ws:
        series_id = ws.table("forecasts").read(columns=["unique_id"])["unique_id"][0].as_py()
        body = series_forecast(ws, series_id, horizon=3, levels=[80])
        assert body["count"] == 3
        assert set(body["data"][0]) == {"ds", "forecast", "lo_80", "hi_80"}
        with pytest.raises(NotFoundError):
            series_forecast(ws, "nope", horizon=3, levels=[80])
        with pytest.raises(QueryError):
            series_forecast(ws, series_id, horizon=3, levels=[99])


def test_inventory_plan_from_the_lake(workspace: Path) -> None:
    from lakeforge.products.inventory import InventoryPolicy, plan_from_lake

    runner.invoke(forecast_app, ["fit", *FAST, "-w", str(workspace)])
    with Workspace.open(workspace) as ws:
        plan = plan_from_lake(ws, policy=InventoryPolicy(service_level=0.9, review_days=3))
        assert len(plan) == 20
        assert (plan["order_qty"] >= 0).all()
        assert plan["reason"].str.len().gt(10).all()
        assert ws.table("inventory_plan").num_rows() == 20
        edges = ws.lineage("inventory_plan", direction="upstream").to_dict()["edges"]
        assert {e["source"] for e in edges} >= {"table:forecasts", "table:inventory"}


def test_exogenous_columns_need_future_values(workspace: Path) -> None:
    base = ["--horizon", "7", "--models", "lgbm", "--levels", "80", "-w", str(workspace)]
    result = runner.invoke(forecast_app, ["fit", *base, "--exog", "price,on_promo"])
    assert result.exit_code == 1
    assert "--future-table" in result.output
    backtest = runner.invoke(forecast_app, ["backtest", *base, "--exog", "price", "--json"])
    assert backtest.exit_code == 0, backtest.output  # the backtest has the history's prices
    assert json.loads(backtest.output)["series"] == 20
