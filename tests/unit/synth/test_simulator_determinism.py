"""Same seed, same bytes; another seed, another world; chunking never changes the data."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakeforge.synth.simulator import RetailConfig, SimulationResult, simulate_retail

TINY = RetailConfig(stores=3, products=40, customers=400, days=70, seed=5)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate_retail(tmp_path_factory.mktemp("first"), TINY, progress=False)


def test_same_seed_gives_byte_identical_files(first: SimulationResult, tmp_path: Path) -> None:
    second = simulate_retail(tmp_path / "second", TINY, progress=False)
    before, after = _files(first.out), _files(second.out)
    assert before.keys() == after.keys()
    assert len(before) >= 12 + 12 + 8  # tables, contracts, truth
    assert [name for name in before if before[name] != after[name]] == []


def test_another_seed_gives_another_world(first: SimulationResult, tmp_path: Path) -> None:
    other = simulate_retail(tmp_path / "other", TINY.model_copy(update={"seed": 6}), progress=False)
    for table in ("daily_sales", "customers", "orders", "payments", "reviews"):
        assert other.tables[table].read_bytes() != first.tables[table].read_bytes(), table


def test_chunk_size_does_not_change_the_data(first: SimulationResult, tmp_path: Path) -> None:
    one_store_per_chunk = TINY.model_copy(update={"chunk_cells": 1_000})
    chunked = simulate_retail(tmp_path / "chunked", one_store_per_chunk, progress=False)
    for table in ("daily_sales", "inventory", "replenishment_orders"):
        assert pq.read_table(chunked.tables[table]).equals(pq.read_table(first.tables[table]))
    assert pq.read_table(chunked.truth["demand"]).equals(pq.read_table(first.truth["demand"]))
    assert pq.ParquetFile(chunked.tables["daily_sales"]).num_row_groups == TINY.stores


def test_csv_output_is_deterministic_too(tmp_path: Path) -> None:
    a = simulate_retail(tmp_path / "a", TINY, file_format="csv", progress=False)
    b = simulate_retail(tmp_path / "b", TINY, file_format="csv", progress=False)
    assert a.tables["daily_sales"].suffix == ".csv"
    assert _files(a.out) == _files(b.out)


def test_a_rerun_replaces_the_previous_world(tmp_path: Path) -> None:
    dirty = simulate_retail(tmp_path, TINY, dirty=0.05, progress=False)
    assert dirty.tables["orders"].suffix == ".csv"
    clean = simulate_retail(tmp_path, TINY, progress=False)
    assert not list(tmp_path.glob("*.csv"))
    assert not (tmp_path / "truth" / "faults.parquet").exists()
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == sorted(
        p.name for p in clean.tables.values()
    )
