"""The ``lakeforge`` command end to end: every command, ``--json``, and the exit codes.

Exit codes: 0 ok, 1 error, 2 usage, 3 data rejected above ``--max-reject-rate``.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from lakeforge.cli import _app as cli_app
from lakeforge.cli import app
from lakeforge.contracts import Contract
from lakeforge.workspace import Workspace

ORDERS_CSV = (
    "order_id,customer,amount,status\n"
    "O1,C1,10.5,new\n"
    "O2,C2,abc,paid\n"  # line 3: not a number
    "O3,C3,7,shipped\n"
    "O1,C4,3,new\n"  # line 5: duplicate of line 2
    "O4,C4,2.25,new\n"
)
ORDERS_YAML = """\
table: orders
columns:
- {name: order_id, nullable: false}
- {name: customer}
- {name: amount, type: float}
- {name: status}
primary_key: [order_id]
read: {format: csv}
"""

Invoke = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the app in-process; fail on a crash (an exception that is not an exit)."""
    # The consoles fix their size when created if COLUMNS is set (pytest-xdist sets 80):
    # give the tables room so a reason is not folded across lines
    for console in (cli_app.out, cli_app.err):
        monkeypatch.setattr(console, "_width", 200)
        monkeypatch.setattr(console, "_height", 50)
    runner = CliRunner()

    def invoke(*args: object, code: int = 0) -> Result:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def shop(tmp_path: Path, cli: Invoke) -> Path:
    root = tmp_path / "shop"
    cli("init", root)
    (tmp_path / "orders.csv").write_text(ORDERS_CSV)
    (tmp_path / "orders.yaml").write_text(ORDERS_YAML)
    return root


@pytest.fixture
def orders(shop: Path, cli: Invoke) -> Path:
    """The shop with orders.csv ingested once (version 0: 3 written, 2 quarantined)."""
    cli("ingest", shop.parent / "orders.csv", "-t", "orders", "--contract", _yaml(shop), "-w", shop)
    return shop


def _yaml(shop: Path) -> Path:
    return shop.parent / "orders.yaml"


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


# -- init / contract ---------------------------------------------------------------------
def test_init_creates_a_workspace(tmp_path: Path, cli: Invoke) -> None:
    result = cli("init", tmp_path / "new")
    assert "workspace ready" in result.stdout
    assert (tmp_path / "new" / "lakeforge.toml").is_file()
    again = _json(cli("init", tmp_path / "new", "--json"))  # an existing one is opened
    assert again["workspace"] == str((tmp_path / "new").resolve())
    assert again["catalog"].startswith("sqlite:///")


def test_contract_infer_prints_yaml_that_round_trips(shop: Path, cli: Invoke) -> None:
    # Run
    result = cli("contract", "infer", shop.parent / "orders.csv", "--table", "orders")
    # Assert
    contract = Contract.from_yaml(result.stdout)
    assert contract.table == "orders"
    assert contract.column_names == ["order_id", "customer", "amount", "status"]
    assert contract.read.format == "csv"
    assert Contract.from_yaml(contract.to_yaml()) == contract
    as_json = Contract.model_validate_json(
        cli("contract", "infer", shop.parent / "orders.csv", "-t", "orders", "--json").stdout
    )
    assert as_json == contract


def test_contract_infer_takes_read_options(tmp_path: Path, cli: Invoke) -> None:
    source = tmp_path / "users.txt"
    source.write_text("1|ann|?\n2|bob|34\n3|cy|51\n", encoding="latin-1")
    result = cli(
        "contract", "infer", source, "-t", "users", "--no-header", "-d", "|", "--null", "?"
    )
    contract = Contract.from_yaml(result.stdout)
    assert contract.read.header is False
    assert contract.read.delimiter == "|"
    assert "?" in contract.read.null_values
    assert contract.column("column_3").type == "integer"


def test_contract_show_prints_the_registered_contract(orders: Path, cli: Invoke) -> None:
    shown = Contract.from_yaml(cli("contract", "show", "orders", "-w", orders).stdout)
    assert shown == Contract.from_yaml(ORDERS_YAML)


# -- ingest ---------------------------------------------------------------------------------
def test_ingest_reports_counts_and_where_to_look(shop: Path, cli: Invoke) -> None:
    # Run
    result = cli(
        "ingest", shop.parent / "orders.csv", "-t", "orders", "--contract", _yaml(shop), "-w", shop
    )
    # Assert
    assert "orders version 0: 5 read = 3 written + 2 quarantined" in result.stdout
    assert "type(amount): 1 rows" in result.stdout
    assert "unique(order_id): 1 rows" in result.stdout
    assert "lakeforge quarantine orders" in result.stdout


def test_ingest_json(shop: Path, cli: Invoke) -> None:
    result = cli(
        "ingest",
        shop.parent / "orders.csv",
        "--table",
        "orders",
        "--contract",
        _yaml(shop),
        "--workspace",
        shop,
        "--json",
    )
    data = _json(result)
    assert data["status"] == "succeeded"
    assert (data["rows_read"], data["rows_written"], data["rows_quarantined"]) == (5, 3, 2)
    assert data["version"] == 0
    assert data["reject_rate"] == pytest.approx(0.4)
    assert data["quality_status"] == "failed"
    failed = {c["name"]: c["failed"] for c in data["checks"] if c["failed"]}
    assert failed == {"type(amount)": 1, "unique(order_id)": 1}


def test_reingesting_the_same_file_is_skipped_unless_forced(orders: Path, cli: Invoke) -> None:
    # Setup
    source = orders.parent / "orders.csv"
    # Run
    human = cli("ingest", source, "-t", "orders", "-w", orders)
    as_json = _json(cli("ingest", source, "-t", "orders", "-w", orders, "--json"))
    forced = _json(cli("ingest", source, "-t", "orders", "-w", orders, "--force", "--json"))
    # Assert
    assert "skipped" in human.stdout
    assert "already ingested into `orders` (version 0)" in human.stdout
    assert "--force" in human.stdout
    assert as_json["status"] == "skipped" and as_json["version"] == 0
    assert as_json["rows_read"] == 0
    # forced: a new version, and every key of the file is now a duplicate of the table's
    assert forced["status"] == "succeeded" and forced["version"] == 1
    assert (forced["rows_written"], forced["rows_quarantined"]) == (0, 5)


def test_ingest_without_a_contract_infers_one(shop: Path, cli: Invoke) -> None:
    clean = shop.parent / "clean.csv"
    clean.write_text("sku,price\nA1,1.5\nA2,2.0\n")
    data = _json(cli("ingest", clean, "-t", "prices", "-w", shop, "--json"))
    assert (data["rows_read"], data["rows_written"]) == (2, 2)
    shown = Contract.from_yaml(cli("contract", "show", "prices", "-w", shop).stdout)
    assert shown.column("price").type == "float"


def test_merge_with_key_updates_and_inserts(orders: Path, cli: Invoke) -> None:
    # Setup
    update = orders.parent / "update.csv"
    update.write_text("order_id,customer,amount,status\nO3,C3,8.5,paid\nO9,C9,1,new\n")
    # Run
    merged = _json(
        cli(
            "ingest",
            update,
            "-t",
            "orders",
            "--mode",
            "merge",
            "--key",
            "order_id",
            "-w",
            orders,
            "--json",
        )
    )
    # Assert
    assert merged["status"] == "succeeded" and merged["mode"] == "merge"
    assert merged["version"] == 1
    rows = _json(cli("query", "select * from orders order by order_id", "-w", orders, "--json"))
    assert rows["data"] == [
        {"order_id": "O1", "customer": "C1", "amount": 10.5, "status": "new"},
        {"order_id": "O3", "customer": "C3", "amount": 8.5, "status": "paid"},
        {"order_id": "O4", "customer": "C4", "amount": 2.25, "status": "new"},
        {"order_id": "O9", "customer": "C9", "amount": 1.0, "status": "new"},
    ]


def test_merge_without_a_key_is_an_error(shop: Path, cli: Invoke) -> None:
    keyless = shop.parent / "keyless.yaml"
    keyless.write_text(ORDERS_YAML.replace("primary_key: [order_id]\n", ""))
    source = shop.parent / "orders.csv"
    result = cli(
        "ingest",
        source,
        "-t",
        "orders",
        "--contract",
        keyless,
        "--mode",
        "merge",
        "-w",
        shop,
        code=1,
    )
    assert "needs a key" in result.stderr
    assert "--key" in result.stderr


def test_ingest_from_sqlite_incrementally(shop: Path, cli: Invoke) -> None:
    # Setup: a database with two customers
    db = shop.parent / "app.db"
    with sqlite3.connect(db) as con:
        con.execute("create table customers (id integer primary key, name text, updated_at text)")
        con.executemany(
            "insert into customers values (?, ?, ?)",
            [(1, "ann", "2024-05-01T10:00:00"), (2, "bob", "2024-05-02T10:00:00")],
        )
    con.close()
    args = (
        "ingest",
        f"sqlite:///{db}",
        "--sql",
        "select * from customers",
        "-t",
        "customers",
        "--incremental-by",
        "updated_at",
        "-w",
        shop,
        "--json",
    )

    # Run: a first pull, one new row, a second pull
    first = _json(cli(*args))
    with sqlite3.connect(db) as con:
        con.execute("insert into customers values (3, 'cy', '2024-05-03T10:00:00')")
    con.close()
    second = _json(cli(*args))
    third = _json(cli(*args))

    # Assert: the second pull read only the new row
    assert (first["rows_read"], first["rows_written"], first["version"]) == (2, 2, 0)
    assert (second["rows_read"], second["rows_written"], second["version"]) == (1, 1, 1)
    assert third["rows_read"] == 0
    ids = _json(cli("query", "select id from customers order by id", "-w", shop, "--json"))
    assert ids == {"data": [{"id": 1}, {"id": 2}, {"id": 3}], "count": 3}
    lineage = _json(cli("lineage", "customers", "-w", shop, "--json"))
    assert any(node.startswith("sql:sqlite:///") for node in lineage["nodes"])
    assert str(db) in first["source"]


def test_a_database_url_without_sql_is_a_helpful_error(shop: Path, cli: Invoke) -> None:
    result = cli("ingest", f"sqlite:///{shop.parent / 'x.db'}", "-t", "t", "-w", shop, code=1)
    assert "--sql" in result.stderr


# -- tables / show / lineage -------------------------------------------------------------
def test_tables_json_lists_data_and_count(orders: Path, cli: Invoke) -> None:
    data = _json(cli("tables", "-w", orders, "--json"))
    assert data["count"] == 1
    (table,) = data["data"]
    assert table["name"] == "orders"
    assert (table["rows"], table["version"], table["rows_quarantined"]) == (3, 0, 2)
    assert table["layer"] == "silver"
    assert table["quality_status"] == "failed"
    assert table["last_ingest"] is not None
    human = cli("tables", "-w", orders)
    assert "orders" in human.stdout and "silver" in human.stdout


def test_tables_finds_the_workspace_from_the_environment(orders: Path, cli: Invoke) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["tables", "--json"], env={"LAKEFORGE_WORKSPACE": str(orders)})
    assert result.exit_code == 0, result.output
    assert _json(result)["count"] == 1


def test_show_json_has_schema_contract_history_and_lineage(orders: Path, cli: Invoke) -> None:
    data = _json(cli("show", "orders", "-w", orders, "--json"))
    assert data["table"] == "orders"
    assert data["schema"] == [
        {"name": "order_id", "type": "string"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "status", "type": "string"},
    ]
    assert data["contract"]["primary_key"] == ["order_id"]
    (version,) = data["history"]
    assert (version["version"], version["rows_read"], version["rows_quarantined"]) == (0, 5, 2)
    assert version["source"] == str((orders.parent / "orders.csv").resolve())
    assert data["lineage"]["edges"][0]["target"] == "table:orders"
    human = cli("show", "orders", "-w", orders)
    assert "primary key: order_id" in human.stdout
    assert "upstream: file:" in human.stdout


def test_lineage_json_and_tree(orders: Path, cli: Invoke) -> None:
    data = _json(cli("lineage", "orders", "-w", orders, "--json"))
    source = f"file:{(orders.parent / 'orders.csv').resolve()}"
    assert set(data["nodes"]) == {"table:orders", source}
    (edge,) = data["edges"]
    assert (edge["source"], edge["target"], edge["kind"]) == (source, "table:orders", "ingest")
    tree = cli("lineage", "orders", "-w", orders, "--direction", "upstream").stdout
    assert "upstream" in tree and "orders.csv" in tree


# -- query ----------------------------------------------------------------------------------
SQL = "select order_id, amount from orders order by order_id"


def test_query_as_a_table(orders: Path, cli: Invoke) -> None:
    text = cli("query", SQL, "-w", orders).stdout
    for value in ("order_id", "O1", "10.5", "O4", "2.25"):
        assert value in text


def test_query_as_csv(orders: Path, cli: Invoke) -> None:
    text = cli("query", SQL, "-w", orders, "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["order_id", "amount"], ["O1", "10.5"], ["O3", "7"], ["O4", "2.25"]]


def test_query_as_json(orders: Path, cli: Invoke) -> None:
    expected = {
        "data": [
            {"order_id": "O1", "amount": 10.5},
            {"order_id": "O3", "amount": 7.0},
            {"order_id": "O4", "amount": 2.25},
        ],
        "count": 3,
    }
    assert _json(cli("query", SQL, "-w", orders, "--format", "json")) == expected
    assert _json(cli("query", SQL, "-w", orders, "--json")) == expected
    limited = _json(cli("query", SQL, "-w", orders, "--json", "--limit", "1"))
    assert limited["count"] == 1


def test_query_as_parquet_to_a_file(orders: Path, cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    cli("query", SQL, "-w", orders, "--format", "parquet", "-o", target)
    table = pq.read_table(target)
    assert table.column_names == ["order_id", "amount"]
    assert table.column("order_id").to_pylist() == ["O1", "O3", "O4"]


def test_query_as_of_an_older_version(orders: Path, cli: Invoke) -> None:
    # Setup: version 1 adds a row
    more = orders.parent / "more.csv"
    more.write_text("order_id,customer,amount,status\nO7,C7,70,new\n")
    cli("ingest", more, "-t", "orders", "-w", orders)
    count = "select count(*) as n from orders"
    # Run / Assert
    assert _json(cli("query", count, "-w", orders, "--json"))["data"] == [{"n": 4}]
    assert _json(cli("query", count, "-w", orders, "--json", "--as-of", "0"))["data"] == [{"n": 3}]
    by_name = _json(cli("query", count, "-w", orders, "--json", "--as-of", "orders=0"))
    assert by_name["data"] == [{"n": 3}]
    missing = cli("query", count, "-w", orders, "--as-of", "7", code=1)
    assert "no version 7" in missing.stderr


def test_query_that_writes_is_refused(orders: Path, cli: Invoke) -> None:
    result = cli("query", "delete from orders", "-w", orders, "--json", code=1)
    error = _json(result)["error"]
    assert error["code"] == "forbidden_query"
    assert "read-only" in error["message"]


# -- quarantine -----------------------------------------------------------------------------
def test_quarantine_shows_reasons_and_lines(orders: Path, cli: Invoke) -> None:
    text = cli("quarantine", "orders", "-w", orders).stdout
    assert "quarantine of orders: 2 rows" in text
    assert "line 3" in text and "amount: 'abc' is not a number" in text
    assert "line 5" in text and "duplicate key (order_id) = (O1), first at line 2" in text


def test_quarantine_json(orders: Path, cli: Invoke) -> None:
    data = _json(cli("quarantine", "orders", "-w", orders, "--json"))
    assert data["count"] == 2
    rows = {row["_location"]: row for row in data["data"]}
    assert rows[3]["_reasons"] == ["amount: 'abc' is not a number"]
    assert rows[3]["amount"] == "abc"  # the raw value is kept
    assert rows[5]["_reasons"] == ["duplicate key (order_id) = (O1), first at line 2"]
    assert {row["_location_kind"] for row in data["data"]} == {"line"}
    assert all(row["_source"].endswith("orders.csv") for row in data["data"])
    limited = _json(cli("quarantine", "orders", "-w", orders, "--json", "--limit", "1"))
    assert (limited["count"], len(limited["data"])) == (2, 1)


def test_quarantine_of_a_clean_table(shop: Path, cli: Invoke) -> None:
    clean = shop.parent / "clean.csv"
    clean.write_text("sku\nA\n")
    cli("ingest", clean, "-t", "skus", "-w", shop)
    assert "no quarantined rows" in cli("quarantine", "skus", "-w", shop).stdout
    assert _json(cli("quarantine", "skus", "-w", shop, "--json")) == {"data": [], "count": 0}


# -- exit codes and errors ------------------------------------------------------------------
def test_missing_workspace_is_exit_1_with_how_to_create_one(tmp_path: Path, cli: Invoke) -> None:
    result = cli("tables", "-w", tmp_path, code=1)
    assert "no workspace" in result.stderr
    assert "lakeforge init" in result.stderr
    error = _json(cli("tables", "-w", tmp_path, "--json", code=1))["error"]
    assert error["code"] == "workspace_error"


def test_unknown_table_is_exit_1_and_lists_the_tables(orders: Path, cli: Invoke) -> None:
    result = cli("show", "nope", "-w", orders, code=1)
    assert "no table `nope`" in result.stderr
    assert "orders" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nope"),
        ("quarantine", "nope"),
        ("lineage", "nope"),
        ("contract", "show", "nope"),
        ("query", "select * from nope"),
        ("ingest", "missing.csv", "-t", "t"),
    ],
    ids=lambda a: a[0] if a[0] != "contract" else "contract-show",
)
def test_json_errors_are_json(orders: Path, cli: Invoke, args: tuple[str, ...]) -> None:
    result = cli(*args, "-w", orders, "--json", code=1)
    error = _json(result)["error"]
    assert set(error) >= {"code", "message"}
    assert error["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "orders.csv", "-t", "orders", "--mode", "upsert"), "--mode must be"),
        (("query", "select 1", "--format", "xml"), "--format must be"),
        (("quarantine", "orders", "--format", "xml"), "--format must be"),
        (("lineage", "orders", "--direction", "sideways"), "--direction must be"),
    ],
    ids=["mode", "query-format", "quarantine-format", "direction"],
)
def test_bad_option_values_are_usage_errors(
    orders: Path, cli: Invoke, args: tuple[str, ...], message: str
) -> None:
    human = cli(*args, "-w", orders, code=2)
    assert message in human.stderr
    error = _json(cli(*args, "-w", orders, "--json", code=2))["error"]
    assert error["code"] == "usage_error" and message in error["message"]


def test_unknown_option_or_command_is_exit_2(shop: Path, cli: Invoke) -> None:
    assert "No such option" in cli("tables", "-w", shop, "--bogus", code=2).stderr
    cli("frobnicate", code=2)
    cli("ingest", code=2)  # a missing argument


def test_max_reject_rate_zero_rejects_dirty_data_and_writes_nothing(
    shop: Path, cli: Invoke
) -> None:
    # Setup
    args = (
        "ingest",
        shop.parent / "orders.csv",
        "-t",
        "orders",
        "--contract",
        _yaml(shop),
        "-w",
        shop,
        "--max-reject-rate",
        "0",
    )
    # Run
    human = cli(*args, code=3)
    as_json = _json(cli(*args, "--json", code=3))
    # Assert: the reason and the numbers, then nothing in the lake
    assert "2 of 5 rows (40.0%) failed checks" in human.stderr
    assert "nothing was written" in human.stderr
    assert as_json["error"]["code"] == "data_rejected"
    assert as_json["result"]["status"] == "rejected"
    assert (as_json["result"]["rows_read"], as_json["result"]["rows_quarantined"]) == (5, 2)
    assert as_json["result"]["rows_written"] == 0
    with Workspace.open(shop) as ws:
        assert not ws.store("orders").exists()
        assert not ws.quarantine_store("orders").exists()
    # a clean file under the same threshold goes through
    clean = shop.parent / "clean.csv"
    clean.write_text("order_id,customer,amount,status\nO1,C1,1,new\n")
    ok = _json(cli(*args[:1], clean, *args[2:], "--json"))
    assert (ok["status"], ok["version"], ok["rows_written"]) == ("succeeded", 0, 1)


def test_rejected_ingest_reports_its_failed_checks(shop: Path, cli: Invoke) -> None:
    result = cli(
        "ingest",
        shop.parent / "orders.csv",
        "-t",
        "orders",
        "--contract",
        _yaml(shop),
        "-w",
        shop,
        "--max-reject-rate",
        "0",
        "--json",
        code=3,
    )
    data = _json(result)["result"]
    statuses = {c["name"]: c["status"] for c in data["checks"] if c["failed"]}
    assert statuses == {"type(amount)": "failed", "unique(order_id)": "failed"}
    assert data["quality_status"] == "failed"


def test_rejected_first_ingest_leaves_no_table_behind(shop: Path, cli: Invoke) -> None:
    cli(
        "ingest",
        shop.parent / "orders.csv",
        "-t",
        "orders",
        "--contract",
        _yaml(shop),
        "-w",
        shop,
        "--max-reject-rate",
        "0",
        code=3,
    )
    assert _json(cli("tables", "-w", shop, "--json")) == {"data": [], "count": 0}


# -- the installed entry point -------------------------------------------------------------
def test_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("lakeforge")
    if not script.is_file():
        pytest.skip(f"no console script beside {sys.executable} (pip install -e .)")
    root = tmp_path / "shop"
    init = subprocess.run(
        [script, "init", root, "--json"], capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["workspace"] == str(root.resolve())
    listed = subprocess.run(
        [script, "tables", "-w", root, "--json"], capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"data": [], "count": 0}
    usage = subprocess.run([script, "tables", "--bogus"], capture_output=True, timeout=120)
    assert usage.returncode == 2
    missing = subprocess.run(
        [script, "tables", "-w", tmp_path, "--json"], capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["code"] == "workspace_error"
