"""``simulate_retail_into``: the world ingested into a workspace, dirt caught by quarantine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import lakeforge as lf
from lakeforge.synth.simulator import (
    FACT_TABLES,
    TABLE_ORDER,
    RetailConfig,
    SimulationResult,
    simulate_retail_into,
)

TINY = RetailConfig(stores=2, products=30, customers=300, days=60, seed=3)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationResult]:
    root = tmp_path_factory.mktemp("shop")
    return root, simulate_retail_into(root, TINY, dirty=0.02, progress=False)


def test_every_table_is_ingested_and_truth_stays_out(shop: tuple[Path, SimulationResult]) -> None:
    root, result = shop
    assert list(result.ingested) == list(TABLE_ORDER)
    assert result.out == root.resolve() / "world"
    with lf.Workspace.open(root) as ws:
        names = {t.name for t in ws.tables()}
        assert names == set(TABLE_ORDER)
        for table in TABLE_ORDER:
            outcome = result.ingested[table]
            assert outcome["status"] == "succeeded"
            assert outcome["rows_read"] == result.row_counts[table]
            assert ws.table(table).num_rows() == outcome["rows_written"]
            assert ws.table(table).contract() is not None
        assert not names & {"demand", "fraud_labels", "segments", "faults"}


def test_clean_tables_lose_no_rows(shop: tuple[Path, SimulationResult]) -> None:
    _, result = shop
    for table in ("stores", "products", "customers", "calendar", "promotions", "inventory"):
        assert result.ingested[table]["rows_quarantined"] == 0, table


def test_every_injected_fault_is_quarantined(shop: tuple[Path, SimulationResult]) -> None:
    root, result = shop
    faults = pl.read_parquet(result.truth["faults"])
    with lf.Workspace.open(root) as ws:
        for table in FACT_TABLES:
            quarantined = pl.from_arrow(ws.table(table).quarantine())
            assert isinstance(quarantined, pl.DataFrame)
            lines = set(quarantined["_location"].to_list())
            expected = faults.filter(pl.col("table") == table)
            assert expected.height > 0
            missed = expected.filter(~pl.col("line").is_in(sorted(lines)))
            assert missed.height == 0, missed
