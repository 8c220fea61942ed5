"""``dirty`` injects realistic faults into the fact tables and records each one by CSV line."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from lakeforge.contracts import Contract
from lakeforge.synth.simulator import (
    FACT_TABLES,
    FAULT_KINDS,
    RetailConfig,
    SimulationResult,
    simulate_retail,
)

RATE = 0.03
DIRTY = RetailConfig(stores=2, products=40, customers=600, days=80, seed=11)


@pytest.fixture(scope="module")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate_retail(tmp_path_factory.mktemp("dirty"), DIRTY, dirty=RATE, progress=False)


@pytest.fixture(scope="module")
def faults(dirty_world: SimulationResult) -> pl.DataFrame:
    return pl.read_parquet(dirty_world.truth["faults"])


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_fact_tables_are_csv_with_csv_contracts(dirty_world: SimulationResult) -> None:
    for name, path in dirty_world.tables.items():
        contract = Contract.from_yaml((dirty_world.out / "contracts" / f"{name}.yaml").read_text())
        if name in FACT_TABLES:
            assert path.suffix == ".csv"
            assert contract.read.format == "csv"
            dated = [c for c in contract.columns if c.type in ("date", "timestamp")]
            assert all(c.format for c in dated)
        else:
            assert path.suffix == ".parquet"


def test_every_kind_of_fault_is_injected_into_every_fact_table(
    dirty_world: SimulationResult, faults: pl.DataFrame
) -> None:
    assert dirty_world.faults == faults.height
    for table in FACT_TABLES:
        kinds = set(faults.filter(pl.col("table") == table)["kind"].to_list())
        assert kinds == set(FAULT_KINDS), table


def test_fault_rate_is_about_the_requested_share(
    dirty_world: SimulationResult, faults: pl.DataFrame
) -> None:
    for table in FACT_TABLES:
        injected = faults.filter(pl.col("table") == table).height
        rows = dirty_world.row_counts[table]
        assert 0.4 * RATE * rows <= injected <= 2.0 * RATE * rows, table
        assert len(_lines(dirty_world.tables[table])) == rows + 1  # header + rows


def test_each_fault_is_on_its_recorded_line(
    dirty_world: SimulationResult, faults: pl.DataFrame
) -> None:
    for table in FACT_TABLES:
        lines = _lines(dirty_world.tables[table])
        header = next(csv.reader([lines[0]]))
        for fault in faults.filter(pl.col("table") == table).iter_rows(named=True):
            text = lines[fault["line"] - 1]
            fields = dict(zip(header, next(csv.reader([text])), strict=True))
            kind, column = fault["kind"], fault["column"]
            if kind == "duplicate":
                assert fault["original_line"] == fault["line"] - 1
                assert text == lines[fault["original_line"] - 1]
            elif kind == "missing_key":
                assert fields[column] == ""
            else:
                assert fields[column] == fault["value"], (table, fault)
            if kind == "out_of_range":
                assert float(fields[column]) < 0
            if kind == "bad_type":
                with pytest.raises(ValueError):
                    float(fields[column])


def test_clean_lines_keep_their_values(dirty_world: SimulationResult, faults: pl.DataFrame) -> None:
    clean = simulate_retail(
        dirty_world.out.parent / "clean", DIRTY, file_format="csv", progress=False
    )
    # quoting differs (the dirtied columns are text), the values do not
    dirty_rows = list(csv.reader(_lines(dirty_world.tables["daily_sales"])))
    clean_rows = list(csv.reader(_lines(clean.tables["daily_sales"])))
    recorded = faults.filter(pl.col("table") == "daily_sales")
    touched = set(recorded["line"].to_list())
    copies = set(recorded.filter(pl.col("kind") == "duplicate")["line"].to_list())
    shift = 0
    for number, row in enumerate(dirty_rows[1:], start=2):
        if number in copies:
            shift += 1
        if number in touched:
            continue
        assert row == clean_rows[number - 1 - shift]
