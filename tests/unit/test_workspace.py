from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

import lakeforge as lf
from lakeforge.contracts import Column, Contract, ForeignKey, ReadOptions, UniqueCheck
from lakeforge.errors import (
    ContractError,
    ForbiddenQueryError,
    IngestError,
    QueryError,
    RejectedDataError,
    TableNotFoundError,
    WorkspaceError,
)

CUSTOMERS = Contract(
    table="customers",
    columns=[Column(name="customer_id", nullable=False), Column(name="email", pii="email")],
    primary_key=["customer_id"],
    read=ReadOptions(format="csv"),
)
ORDERS = Contract(
    table="orders",
    columns=[
        Column(name="order_id", nullable=False),
        Column(name="customer_id"),
        Column(name="amount", type="float"),
    ],
    primary_key=["order_id"],
    foreign_keys=[
        ForeignKey(columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"])
    ],
    read=ReadOptions(format="csv"),
)


def _csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def shop(workspace: lf.Workspace, tmp_path: Path) -> lf.Workspace:
    customers = _csv(tmp_path / "customers.csv", "customer_id,email\nC1,a@x.org\nC2,b@x.org\n")
    workspace.ingest(customers, table="customers", contract=CUSTOMERS)
    return workspace


def test_open_finds_the_workspace_from_a_subfolder(workspace: lf.Workspace) -> None:
    sub = workspace.root / "lake" / "silver"
    assert lf.Workspace.open(sub).root == workspace.root


def test_open_without_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="lakeforge init"):
        lf.Workspace.open(tmp_path)


def test_counts_add_up_and_bad_rows_are_quarantined(shop: lf.Workspace, tmp_path: Path) -> None:
    # Setup
    orders = _csv(
        tmp_path / "orders.csv",
        "order_id,customer_id,amount\nO1,C1,10\nO2,C9,5\nO3,C2,abc\nO1,C2,1\nO4,,2\n",
    )
    # Run
    result = shop.ingest(orders, table="orders", contract=ORDERS)
    # Assert
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (5, 2, 3)
    assert result.rows_read == result.rows_written + result.rows_quarantined
    bad = shop.table("orders").quarantine().to_pylist()
    by_line = {r["_location"]: r["_reasons"] for r in bad}
    assert by_line == {
        3: ["(customer_id) = (C9) not found in customers.customer_id"],
        4: ["amount: 'abc' is not a number"],
        5: ["duplicate key (order_id) = (O1), first at line 2"],
    }
    assert {r["_source"] for r in bad} == {str(orders.resolve())}
    history = shop.table("orders").history()
    assert history[-1]["rows_quarantined"] == 3
    assert shop.query("select count(*) as n from quarantine.orders").column("n")[0].as_py() == 3


def test_reingesting_the_same_file_is_a_no_op(shop: lf.Workspace, tmp_path: Path) -> None:
    orders = _csv(tmp_path / "orders.csv", "order_id,customer_id,amount\nO1,C1,10\n")
    first = shop.ingest(orders, table="orders", contract=ORDERS)
    again = shop.ingest(orders, table="orders", contract=ORDERS)
    forced = shop.ingest(orders, table="orders", contract=ORDERS, force=True)
    assert first.status == "succeeded" and again.status == "skipped"
    assert again.version == first.version
    assert "--force" in again.message
    # forced re-append collides with the key already in the table
    assert forced.rows_quarantined == 1
    assert shop.table("orders").num_rows() == 1


def test_reingest_is_a_no_op_against_a_version_hashed_with_sha256(
    shop: lf.Workspace, tmp_path: Path
) -> None:
    # versions recorded before the switch to XXH3 carry a bare SHA-256 hex digest
    orders = _csv(tmp_path / "orders.csv", "order_id,customer_id,amount\nO1,C1,10\n")
    first = shop.ingest(orders, table="orders", contract=ORDERS)
    assert first.source_hash is not None and first.source_hash.startswith("xxh3_128:")
    legacy = hashlib.sha256(orders.read_bytes()).hexdigest()
    with shop.catalog._engine.begin() as con:
        con.execute(sa.text("update table_versions set source_hash = :h"), {"h": legacy})
    again = shop.ingest(orders, table="orders", contract=ORDERS)
    assert again.status == "skipped" and again.version == first.version
    orders.write_text("order_id,customer_id,amount\nO2,C1,10\n")
    changed = shop.ingest(orders, table="orders", contract=ORDERS)
    assert changed.status == "succeeded" and changed.rows_written == 1


def test_append_checks_uniqueness_against_the_table(shop: lf.Workspace, tmp_path: Path) -> None:
    shop.ingest(
        _csv(tmp_path / "a.csv", "order_id,customer_id,amount\nO1,C1,1\n"),
        table="orders",
        contract=ORDERS,
    )
    result = shop.ingest(
        _csv(tmp_path / "b.csv", "order_id,customer_id,amount\nO1,C1,2\nO2,C1,3\n"),
        table="orders",
        contract=ORDERS,
    )
    assert result.rows_written == 1
    reasons = shop.table("orders").quarantine(run_id=result.run_id)["_reasons"].to_pylist()
    assert reasons == [["duplicate key (order_id) = (O1), already in the table"]]


def test_merge_upserts_by_key(shop: lf.Workspace, tmp_path: Path) -> None:
    shop.ingest(
        _csv(tmp_path / "a.csv", "order_id,customer_id,amount\nO1,C1,1\nO2,C1,2\n"),
        table="orders",
        contract=ORDERS,
    )
    result = shop.ingest(
        _csv(tmp_path / "b.csv", "order_id,customer_id,amount\nO2,C2,20\nO3,C1,3\n"),
        table="orders",
        contract=ORDERS,
        mode="merge",
    )
    rows = shop.query("select order_id, customer_id, amount from orders order by 1").to_pylist()
    assert result.rows_written == 2
    assert rows == [
        {"order_id": "O1", "customer_id": "C1", "amount": 1.0},
        {"order_id": "O2", "customer_id": "C2", "amount": 20.0},
        {"order_id": "O3", "customer_id": "C1", "amount": 3.0},
    ]


def test_overwrite_replaces_and_time_travel_reads_the_past(
    shop: lf.Workspace, tmp_path: Path
) -> None:
    shop.ingest(
        _csv(tmp_path / "a.csv", "order_id,customer_id,amount\nO1,C1,1\n"),
        table="orders",
        contract=ORDERS,
    )
    second = shop.ingest(
        _csv(tmp_path / "b.csv", "order_id,customer_id,amount\nO7,C1,7\n"),
        table="orders",
        contract=ORDERS,
        mode="overwrite",
    )
    assert shop.query("select order_id from orders").column(0).to_pylist() == ["O7"]
    old = shop.query("select order_id from orders", as_of=second.version - 1)
    assert old.column(0).to_pylist() == ["O1"]
    pairs = shop.query("select order_id from orders", as_of=f"orders={second.version - 1}")
    assert pairs.column(0).to_pylist() == ["O1"]


def test_as_of_a_number_needs_one_table(shop: lf.Workspace, tmp_path: Path) -> None:
    shop.ingest(
        _csv(tmp_path / "a.csv", "order_id,customer_id,amount\nO1,C1,1\n"),
        table="orders",
        contract=ORDERS,
    )
    with pytest.raises(QueryError, match="--as-of orders=3"):
        shop.query("select * from orders join customers using (customer_id)", as_of=0)


def test_max_reject_rate_writes_nothing(shop: lf.Workspace, tmp_path: Path) -> None:
    orders = _csv(tmp_path / "orders.csv", "order_id,customer_id,amount\nO1,C1,x\nO2,C1,1\n")
    with pytest.raises(RejectedDataError) as info:
        shop.ingest(orders, table="orders", contract=ORDERS, max_reject_rate=0.1)
    assert info.value.result.rows_quarantined == 1
    assert not shop.store("orders").exists()
    assert shop.catalog.list_runs(table="orders")[0].status == "failed"


def test_missing_parent_table_is_explained(workspace: lf.Workspace, tmp_path: Path) -> None:
    orders = _csv(tmp_path / "orders.csv", "order_id,customer_id,amount\nO1,C1,1\n")
    with pytest.raises(IngestError, match="ingest the parent first"):
        workspace.ingest(orders, table="orders", contract=ORDERS)


def test_merge_without_key_is_refused(workspace: lf.Workspace, tmp_path: Path) -> None:
    contract = Contract(table="t", columns=[Column(name="a")], read=ReadOptions(format="csv"))
    with pytest.raises(ContractError, match="needs a key"):
        workspace.ingest(
            _csv(tmp_path / "t.csv", "a\n1\n"), table="t", contract=contract, mode="merge"
        )


def test_new_nullable_column_evolves_the_schema(workspace: lf.Workspace, tmp_path: Path) -> None:
    v1 = Contract(table="t", columns=[Column(name="a")], read=ReadOptions(format="csv"))
    v2 = Contract(
        table="t",
        columns=[Column(name="a"), Column(name="b", type="integer")],
        read=ReadOptions(format="csv"),
    )
    workspace.ingest(_csv(tmp_path / "1.csv", "a\nx\n"), table="t", contract=v1)
    workspace.ingest(_csv(tmp_path / "2.csv", "a,b\ny,2\n"), table="t", contract=v2)
    rows = workspace.query("select a, b from t order by a").to_pylist()
    assert rows == [{"a": "x", "b": None}, {"a": "y", "b": 2}]
    assert [c.version for c in workspace.catalog.list_contracts("t")] == [1, 2]


def test_query_sandbox_refuses_files_writes_and_settings(shop: lf.Workspace) -> None:
    for sql in (
        "select * from read_csv('/etc/passwd')",
        "copy customers to '/tmp/out.csv'",
        "attach '/tmp/x.db' as x",
        "set enable_external_access = true",
        "select 1; select 2",
        "create table t as select 1",
        "install httpfs",
    ):
        with pytest.raises((ForbiddenQueryError, QueryError)):
            shop.query(sql)


def test_query_returns_arrow_and_joins_tables(shop: lf.Workspace, tmp_path: Path) -> None:
    shop.ingest(
        _csv(tmp_path / "o.csv", "order_id,customer_id,amount\nO1,C1,2.5\nO2,C1,1\n"),
        table="orders",
        contract=ORDERS,
    )
    result = shop.query(
        "select email, sum(amount) as total from orders join customers using (customer_id) "
        "group by email"
    )
    assert isinstance(result, pa.Table)
    assert result.to_pylist() == [{"email": "a@x.org", "total": 3.5}]


def test_tables_lists_rows_versions_and_quality(shop: lf.Workspace, tmp_path: Path) -> None:
    shop.ingest(
        _csv(tmp_path / "o.csv", "order_id,customer_id,amount\nO1,C1,x\n"),
        table="orders",
        contract=ORDERS,
    )
    infos = {t.name: t for t in shop.tables()}
    assert infos["customers"].rows == 2 and infos["customers"].quality_status == "passed"
    assert infos["orders"].rows == 0 and infos["orders"].quality_status == "failed"
    assert infos["orders"].rows_quarantined == 1


def test_lineage_links_files_parents_and_children(shop: lf.Workspace, tmp_path: Path) -> None:
    path = _csv(tmp_path / "o.csv", "order_id,customer_id,amount\nO1,C1,1\n")
    shop.ingest(path, table="orders", contract=ORDERS)
    graph = shop.lineage("orders")
    edges = {(e.source, e.target) for e in graph.edges}
    assert (f"file:{path.resolve()}", "table:orders") in edges
    assert ("table:customers", "table:orders") in edges


def test_unknown_table_lists_the_known_ones(shop: lf.Workspace) -> None:
    with pytest.raises(TableNotFoundError, match="customers"):
        shop.table("nope")


def test_composite_unique_check(workspace: lf.Workspace, tmp_path: Path) -> None:
    contract = Contract(
        table="prices",
        columns=[
            Column(name="store"),
            Column(name="week", type="integer"),
            Column(name="p", type="float"),
        ],
        checks=[UniqueCheck(columns=["store", "week"])],
        read=ReadOptions(format="csv"),
    )
    result = workspace.ingest(
        _csv(tmp_path / "p.csv", "store,week,p\nA,1,1\nA,2,1\nA,1,3\n"),
        table="prices",
        contract=contract,
    )
    assert result.rows_quarantined == 1
