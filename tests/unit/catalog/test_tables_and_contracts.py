from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import pytest

from lakeforge.catalog import Catalog
from lakeforge.errors import TableNotFoundError


def test_register_get_and_list_tables(catalog: Catalog) -> None:
    # Setup
    catalog.register_table("orders", layer="bronze", path="/lake/bronze/orders")
    catalog.register_table(
        "customers", layer="silver", path="/lake/silver/customers", description="one per person"
    )

    # Run
    listed = catalog.list_tables()
    customers = catalog.get_table("customers")

    # Assert
    assert [table.name for table in listed] == ["customers", "orders"]
    assert customers is not None
    assert (customers.layer, customers.path) == ("silver", "/lake/silver/customers")
    assert customers.description == "one per person"
    assert customers.created_at.tzinfo is UTC
    assert catalog.get_table("missing") is None


def test_register_table_is_an_upsert_that_keeps_the_description(catalog: Catalog) -> None:
    # Setup
    first = catalog.register_table("orders", layer="bronze", path="/a", description="raw")

    # Run
    second = catalog.register_table("orders", layer="silver", path="/b")

    # Assert
    assert len(catalog.list_tables()) == 1
    assert (second.layer, second.path, second.description) == ("silver", "/b", "raw")
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at


def test_drop_table_removes_versions_contracts_and_cursors_but_keeps_history(
    catalog: Catalog,
) -> None:
    # Setup
    catalog.register_table("orders", layer="bronze", path="/lake/orders")
    catalog.register_table("other", layer="bronze", path="/lake/other")
    run_id = catalog.start_run("ingest", table="orders")
    catalog.save_contract("orders", "columns: []\n", "fp1")
    catalog.save_contract("other", "columns: []\n", "fp1")
    catalog.record_version(
        "orders",
        delta_version=0,
        run_id=run_id,
        operation="append",
        source_kind="csv",
        source="file:/in/orders.csv",
        source_hash="h1",
        rows_read=3,
        rows_written=3,
        rows_quarantined=0,
        check_results=[],
        duration_s=0.1,
        user="ana",
        contract_version=1,
    )
    catalog.set_cursor("orders", "sql:db#q", "42")
    catalog.add_lineage("file:/in/orders.csv", "table:orders", kind="ingest", run_id=run_id)
    catalog.append_audit(user="ana", action="ingest", table="orders")

    # Run
    catalog.drop_table("orders")

    # Assert
    assert catalog.get_table("orders") is None
    assert catalog.list_versions("orders") == []
    assert catalog.list_contracts("orders") == []
    assert catalog.get_cursor("orders", "sql:db#q") is None
    assert catalog.get_run(run_id) is not None
    assert len(catalog.lineage("table:orders").edges) == 1
    assert len(catalog.list_audit(table="orders")) == 1
    assert catalog.get_table("other") is not None
    assert len(catalog.list_contracts("other")) == 1


def test_drop_unknown_table_raises_unless_missing_ok(catalog: Catalog) -> None:
    # Run / Assert
    with pytest.raises(TableNotFoundError, match="no table `ghost`") as caught:
        catalog.drop_table("ghost")
    assert caught.value.table == "ghost"
    catalog.drop_table("ghost", missing_ok=True)


def test_contract_versions_are_deduplicated_by_fingerprint(catalog: Catalog) -> None:
    # Setup
    catalog.register_table("orders", layer="bronze", path="/lake/orders")

    # Run
    first = catalog.save_contract("orders", "v: 1\n", "fp-a")
    same = catalog.save_contract("orders", "v: 1 # reformatted\n", "fp-a")
    changed = catalog.save_contract("orders", "v: 2\n", "fp-b")
    back = catalog.save_contract("orders", "v: 1\n", "fp-a")

    # Assert
    assert (first, same, changed, back) == (1, 1, 2, 3)
    contracts = catalog.list_contracts("orders")
    assert [(c.version, c.fingerprint) for c in contracts] == [
        (1, "fp-a"),
        (2, "fp-b"),
        (3, "fp-a"),
    ]
    assert contracts[0].body_yaml == "v: 1\n"


def test_get_contract_latest_specific_and_missing(catalog: Catalog) -> None:
    # Setup
    catalog.save_contract("orders", "v: 1\n", "fp-a")
    catalog.save_contract("orders", "v: 2\n", "fp-b")

    # Run
    latest = catalog.get_contract("orders")
    first = catalog.get_contract("orders", 1)

    # Assert
    assert latest is not None
    assert (latest.table, latest.version, latest.body_yaml) == ("orders", 2, "v: 2\n")
    assert first is not None
    assert first.fingerprint == "fp-a"
    assert catalog.get_contract("orders", 9) is None
    assert catalog.get_contract("nothing") is None
    assert catalog.list_contracts("nothing") == []


def test_concurrent_contract_saves_get_distinct_versions(catalog_url: str) -> None:
    # Setup
    def save_five(writer: int) -> list[int]:
        with Catalog.open(catalog_url) as opened:
            return [
                opened.save_contract("orders", f"writer: {writer}\n", f"fp-{writer}-{n}")
                for n in range(5)
            ]

    # Run
    with ThreadPoolExecutor(max_workers=4) as pool:
        returned = [v for versions in pool.map(save_five, range(4)) for v in versions]

    # Assert
    assert sorted(returned) == list(range(1, 21))
    with Catalog.open(catalog_url) as catalog:
        assert [c.version for c in catalog.list_contracts("orders")] == list(range(1, 21))
