"""``lakeforge inventory plan`` and ``GET /api/v1/inventory/plan`` over a tiny simulated world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeforge.cli._forecast import forecast_app
from lakeforge.cli._inventory import inventory_app
from lakeforge.errors import NotFoundError
from lakeforge.synth.simulator import RetailConfig, simulate_retail_into
from lakeforge.workspace import Workspace

runner = CliRunner()
FIT = ["fit", "--horizon", "14", "--models", "seasonal_naive,naive", "--levels", "80,95"]


def _world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inventory") / "shop"
    Workspace.init(root).close()
    config = RetailConfig(stores=2, products=20, customers=50, days=70, seed=3)
    simulate_retail_into(root, config, progress=False)
    return root


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world with forecasts (each test stands alone, whichever xdist worker runs it)."""
    root = _world(tmp_path_factory)
    assert runner.invoke(forecast_app, [*FIT, "-w", str(root)]).exit_code == 0
    return root


def test_plan_before_forecasts_is_a_clean_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    from lakeforge.products.inventory._router import store_plan

    root = _world(tmp_path_factory)
    with Workspace.open(root) as ws, pytest.raises(NotFoundError, match="forecast fit"):
        store_plan(ws, "S001")


def test_plan_writes_a_gold_table_with_reasons_and_lineage(workspace: Path) -> None:
    args = ["plan", "--service-level", "0.9", "--review-days", "7", "-w", str(workspace)]
    result = runner.invoke(inventory_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["series"] == 40
    assert summary["service_level"] == 0.9
    with Workspace.open(workspace) as ws:
        plan = ws.table("inventory_plan").read().to_pandas()
        assert ws.catalog.get_table("inventory_plan").layer == "gold"  # type: ignore[union-attr]
        edges = ws.lineage("inventory_plan", direction="upstream").to_dict()["edges"]
    assert {e["source"] for e in edges} >= {"table:forecasts", "table:inventory", "table:products"}
    ordered = plan[plan["order_qty"] > 0]
    assert len(ordered)
    assert ordered["reason"].str.match(r"reorder \d+ units .*forecast .* \+- .* 90% service").all()
    assert (plan["order_qty"] % plan["case_pack"] == 0).all()


def test_cost_options_must_come_together(workspace: Path) -> None:
    result = runner.invoke(inventory_app, ["plan", "--stockout-cost", "5", "-w", str(workspace)])
    assert result.exit_code != 0
    assert "holding-cost" in result.output


def test_route_returns_one_store(workspace: Path) -> None:
    from lakeforge.products.inventory._router import router, store_plan
    from lakeforge.serve._products import PRODUCTS

    assert any(r is router for r, _ in PRODUCTS)
    runner.invoke(inventory_app, ["plan", "-w", str(workspace)])
    with Workspace.open(workspace) as ws:
        body = store_plan(ws, "S001")
        assert body["count"] == 20
        assert {row["store_id"] for row in body["data"]} == {"S001"}
        assert all(isinstance(row["reason"], str) for row in body["data"])
        json.dumps(body, allow_nan=False)  # JSON-safe: no numpy scalars, no NaN
        with pytest.raises(NotFoundError, match="S999"):
            store_plan(ws, "S999")


def test_route_over_http(workspace: Path) -> None:
    import httpx

    from lakeforge.serve import create_user
    from tests.service_helpers import running_service

    runner.invoke(inventory_app, ["plan", "-w", str(workspace)])
    with Workspace.open(workspace) as ws:
        _, token = create_user(ws.catalog, "buyer1", role="analyst")
    read = {"Authorization": f"Bearer {token}"}
    with (
        running_service(workspace.parent, {}) as service,
        httpx.Client(base_url=service.base_url, timeout=30) as client,
    ):
        got = client.get("/api/v1/inventory/plan?store_id=S001", headers=read)
        assert got.status_code == 200, got.text
        assert got.json()["count"] == 20
        assert client.get("/api/v1/inventory/plan?store_id=S999", headers=read).status_code == 404
        assert client.get("/api/v1/inventory/plan?limit=0", headers=read).status_code == 422
        assert client.get("/api/v1/inventory/plan").status_code == 401
