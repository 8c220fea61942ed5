from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lakeforge.catalog import Catalog, TableVersionRecord
from lakeforge.errors import CatalogError, NotFoundError


def _record(
    catalog: Catalog, table: str, delta_version: int, *, run_id: str | None, source_hash: str
) -> TableVersionRecord:
    return catalog.record_version(
        table,
        delta_version=delta_version,
        run_id=run_id,
        operation="append",
        source_kind="csv",
        source="file:/in/orders.csv",
        source_hash=source_hash,
        rows_read=10,
        rows_written=9,
        rows_quarantined=1,
        check_results=[{"check": "not_null", "column": "id", "failed": 1}],
        duration_s=0.25,
        user="ana",
        contract_version=1,
    )


def test_run_lifecycle(catalog: Catalog) -> None:
    # Setup
    params: dict[str, Any] = {"chunk": 1024, "options": {"sep": ";"}, "columns": ["a", "b"]}
    run_id = catalog.start_run(
        "ingest",
        table="orders",
        source="file:/in/orders.csv",
        source_hash="h1",
        mode="append",
        user="ana",
        params=params,
    )
    started = catalog.get_run(run_id)

    # Run
    catalog.finish_run(run_id, status="succeeded", stats={"rows_written": 9})
    finished = catalog.get_run(run_id)

    # Assert
    assert len(run_id) == 32
    assert started is not None
    assert (started.status, started.finished_at, started.duration_s) == ("running", None, None)
    assert started.params == params
    assert finished is not None
    assert finished.status == "succeeded"
    assert finished.stats == {"rows_written": 9}
    assert finished.finished_at is not None
    assert finished.duration_s is not None
    assert finished.duration_s >= 0
    assert (finished.kind, finished.table, finished.mode, finished.user) == (
        "ingest",
        "orders",
        "append",
        "ana",
    )


def test_failed_run_keeps_the_error(catalog: Catalog) -> None:
    # Setup
    run_id = catalog.start_run("transform", table=None)

    # Run
    catalog.finish_run(run_id, status="failed", error="boom")

    # Assert
    run = catalog.get_run(run_id)
    assert run is not None
    assert (run.status, run.error, run.table, run.params, run.stats) == (
        "failed",
        "boom",
        None,
        None,
        None,
    )


def test_finish_run_rejects_bad_status_unknown_and_finished_runs(catalog: Catalog) -> None:
    # Setup
    run_id = catalog.start_run("ingest", table="orders")
    catalog.finish_run(run_id, status="skipped")

    # Run / Assert
    with pytest.raises(CatalogError, match="not one of failed, skipped, succeeded"):
        catalog.finish_run(run_id, status="done")
    with pytest.raises(NotFoundError):
        catalog.finish_run("0" * 32, status="failed")
    with pytest.raises(CatalogError, match="already finished"):
        catalog.finish_run(run_id, status="failed")
    assert catalog.get_run("0" * 32) is None


def test_list_runs_newest_first_with_filters(catalog: Catalog) -> None:
    # Setup
    first = catalog.start_run("ingest", table="orders")
    second = catalog.start_run("transform", table="orders")
    third = catalog.start_run("ingest", table="customers")

    # Run
    everything = catalog.list_runs()
    orders = catalog.list_runs(table="orders")
    ingests = catalog.list_runs(kind="ingest")
    latest = catalog.list_runs(limit=1)

    # Assert
    assert [r.run_id for r in everything] == [third, second, first]
    assert [r.run_id for r in orders] == [second, first]
    assert [r.run_id for r in ingests] == [third, first]
    assert [r.run_id for r in latest] == [third]
    assert catalog.list_runs(table="orders", kind="ingest")[0].run_id == first


def test_versions_hash_lookup_and_committed_runs(catalog: Catalog) -> None:
    # Setup
    run_a = catalog.start_run("ingest", table="orders")
    run_b = catalog.start_run("ingest", table="orders")
    first = _record(catalog, "orders", 0, run_id=run_a, source_hash="h1")
    _record(catalog, "orders", 1, run_id=run_b, source_hash="h2")
    third = _record(catalog, "orders", 2, run_id=None, source_hash="h1")
    _record(catalog, "other", 0, run_id="x" * 32, source_hash="h1")

    # Run
    versions = catalog.list_versions("orders")
    latest = catalog.latest_version("orders")
    by_hash = catalog.find_version_by_hash("orders", "h1")

    # Assert
    assert [v.delta_version for v in versions] == [0, 1, 2]
    assert versions[0] == first
    assert first.check_results == [{"check": "not_null", "column": "id", "failed": 1}]
    assert (first.rows_read, first.rows_written, first.rows_quarantined) == (10, 9, 1)
    assert (first.user, first.contract_version, first.quarantine_version) == ("ana", 1, None)
    assert latest == third
    assert by_hash == third
    assert catalog.find_version_by_hash("orders", "h3") is None
    assert catalog.committed_run_ids("orders") == {run_a, run_b}


def test_version_queries_on_an_unknown_table(catalog: Catalog) -> None:
    # Run / Assert
    assert catalog.list_versions("ghost") == []
    assert catalog.latest_version("ghost") is None
    assert catalog.find_version_by_hash("ghost", "h1") is None
    assert catalog.committed_run_ids("ghost") == set()


def test_quarantine_version_and_big_row_counts_round_trip(catalog: Catalog) -> None:
    # Run
    recorded = catalog.record_version(
        "orders",
        delta_version=7,
        run_id=None,
        operation="overwrite",
        source_kind=None,
        source=None,
        source_hash=None,
        rows_read=5_000_000_000,
        rows_written=4_999_999_999,
        rows_quarantined=1,
        check_results=[],
        duration_s=12.5,
        user=None,
        contract_version=None,
        quarantine_version=3,
    )

    # Assert
    assert catalog.latest_version("orders") == recorded
    assert recorded.quarantine_version == 3
    assert recorded.rows_read == 5_000_000_000


def test_values_that_are_not_json_ready_are_explained(catalog: Catalog) -> None:
    # Run
    with pytest.raises(CatalogError, match=r"params cannot be stored.*JSON-ready"):
        catalog.start_run("ingest", table="orders", params={"since": date(2024, 1, 1)})
    with pytest.raises(CatalogError, match="detail cannot be stored"):
        catalog.append_audit(user=None, action="x", detail={"ratio": float("nan")})

    # Assert
    assert catalog.list_runs() == []
    assert catalog.list_audit() == []
