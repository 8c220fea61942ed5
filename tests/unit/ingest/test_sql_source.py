from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from lakeforge.errors import SourceError
from lakeforge.ingest._sql import SqlSource, parse_database_url

PG_URL = os.environ.get("LAKEFORGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Database:
    backend: str
    url: str
    table: str
    engine: sa.Engine

    def insert(self, rows: list[tuple[int, str, float | None, str]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO {self.table} (id, customer, amount, updated_at) "
                    "VALUES (:id, :customer, :amount, :updated_at)"
                ),
                [{"id": i, "customer": c, "amount": a, "updated_at": u} for i, c, a, u in rows],
            )


@contextmanager
def _database(backend: str, tmp_path: Path) -> Iterator[Database]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    else:
        url = PG_URL
        engine = sa.create_engine(
            parse_database_url(url),
            poolclass=sa.pool.NullPool,
            connect_args={"connect_timeout": 3},
        )
        try:
            with engine.connect():
                pass
        except sa.exc.OperationalError:
            engine.dispose()
            pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    table = f"orders_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, customer TEXT, "
                "amount DOUBLE PRECISION, updated_at TIMESTAMP)"
            )
        )
    try:
        yield Database(backend, url, table, engine)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with _database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    with _database("postgres", tmp_path) as database:
        yield database


def _rows(ids: range) -> list[tuple[int, str, float | None, str]]:
    return [
        (i, f"c{i % 3}", None if i % 4 == 0 else i * 2.5, f"2024-03-{i:02d} 10:00:00") for i in ids
    ]


def _pull(source: SqlSource) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    rows: list[dict[str, Any]] = []
    locations: list[int] = []
    sizes: list[int] = []
    with source:
        for batch in source.batches():
            rows += batch.data.to_pylist()
            locations += batch.locations.to_pylist()
            sizes.append(batch.data.num_rows)
    return rows, locations, sizes


def test_query_streams_in_batches_with_row_offsets(db: Database) -> None:
    # Setup
    db.insert(_rows(range(1, 8)))
    source = SqlSource(db.url, f"select * from {db.table} order by id;", batch_rows=3)
    # Run
    rows, locations, sizes = _pull(source)
    # Assert
    assert sizes == [3, 3, 1]
    assert locations == list(range(7))
    assert [r["id"] for r in rows] == list(range(1, 8))
    assert source.location_kind == "offset"
    assert source.kind == "sql"
    assert source.fingerprint() is None


def test_values_arrive_typed(db: Database) -> None:
    # Setup
    db.insert(_rows(range(1, 5)))
    source = SqlSource(db.url, f"select id, customer, amount, updated_at from {db.table}")
    # Run
    with source:
        batch = next(source.batches())
    schema = batch.data.schema
    # Assert
    assert schema.field("id").type == pa.int64()
    assert schema.field("customer").type == pa.string()
    assert schema.field("amount").type == pa.float64()
    assert batch.data.column("amount").to_pylist()[3] is None
    expected_time = pa.timestamp("us") if db.backend == "postgres" else pa.string()
    assert schema.field("updated_at").type == expected_time


def test_columns_come_from_the_query_without_reading_rows(db: Database) -> None:
    # Setup
    source = SqlSource(db.url, f"select customer, id as order_id from {db.table}")
    # Run
    with source:
        columns = source.columns()
    # Assert
    assert columns == ["customer", "order_id"]


@pytest.mark.parametrize("cursor", ["id", "updated_at"])
def test_incremental_pulls_read_only_new_rows(db: Database, cursor: str) -> None:
    # Setup
    db.insert(_rows(range(1, 4)))
    query = f"select * from {db.table}"
    # Run: the first pull reads everything, the second only what came after it
    first = SqlSource(db.url, query, incremental_by=cursor, batch_rows=2)
    first_rows, _, first_sizes = _pull(first)
    db.insert(_rows(range(4, 6)))
    second = SqlSource(db.url, query, incremental_by=cursor, since=first.high_water)
    second_rows, second_locations, _ = _pull(second)
    third = SqlSource(db.url, query, incremental_by=cursor, since=second.high_water)
    third_rows, _, _ = _pull(third)
    # Assert
    assert [r["id"] for r in first_rows] == [1, 2, 3]
    assert first_sizes == [2, 1]
    assert [r["id"] for r in second_rows] == [4, 5]
    assert second_locations == [0, 1]
    assert third_rows == []
    if cursor == "id":
        assert (first.high_water, second.high_water) == ("3", "5")
    else:
        assert first.high_water is not None and second.high_water is not None
        assert first.high_water.startswith("2024-03-03")
        assert second.high_water.startswith("2024-03-05")
    assert third.high_water == second.high_water, "no new rows: the cursor stays"


def test_incremental_by_a_computed_column(db: Database) -> None:
    # Setup
    db.insert(_rows(range(1, 6)))
    query = f"select id * 10 as seq, customer from {db.table}"
    # Run
    source = SqlSource(db.url, query, incremental_by="seq", since="30")
    rows, _, _ = _pull(source)
    # Assert
    assert [r["seq"] for r in rows] == [40, 50]
    assert source.high_water == "50"


def test_unknown_incremental_column_is_named(db: Database) -> None:
    # Setup
    source = SqlSource(db.url, f"select id from {db.table}", incremental_by="changed")
    # Run / Assert
    with source, pytest.raises(SourceError, match="`changed` is not among the query's columns"):
        list(source.batches())


def test_bad_sql_raises_source_error(db: Database) -> None:
    # Setup
    source = SqlSource(db.url, "select * from no_such_table_here")
    # Run / Assert
    with source, pytest.raises(SourceError, match="the query failed") as info:
        list(source.batches())
    assert "no_such_table_here" in str(info.value)


def test_duplicate_column_names_are_refused(db: Database) -> None:
    # Setup
    source = SqlSource(db.url, f"select id, customer as id from {db.table}")
    # Run / Assert
    with source, pytest.raises(SourceError, match="more than one column named id"):
        list(source.batches())


def test_uri_never_shows_the_password() -> None:
    # Setup
    url = "postgresql://app:s3cr3t@db.example:5432/shop?sslmode=require&password=also"
    # Run
    source = SqlSource(url, "select 1")
    # Assert
    assert source.uri == "postgresql://app@db.example:5432/shop?sslmode=require :: select 1"
    assert "s3cr3t" not in source.describe_location(0)
    assert source.url.drivername == "postgresql+psycopg"


@pytest.mark.postgres
def test_password_stays_out_of_uri_and_errors_on_a_live_server(pg: Database) -> None:
    # Setup
    live = sa.make_url(pg.url).set(password="hunter2").render_as_string(hide_password=False)
    pg.insert(_rows(range(1, 3)))
    # Run
    source = SqlSource(live, f"select id from {pg.table}")
    rows, _, _ = _pull(source)
    failing = SqlSource(live, "select * from missing_table_xyz")
    with failing, pytest.raises(SourceError) as info:
        list(failing.batches())
    # Assert
    assert len(rows) == 2
    assert "hunter2" not in source.uri
    assert "hunter2" not in str(info.value)


def test_unreachable_database_says_what_to_check() -> None:
    # Setup: a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = SqlSource(f"postgresql://app:pw123@127.0.0.1:{port}/shop", "select 1")
    # Run / Assert
    with source, pytest.raises(SourceError, match="cannot connect to") as info:
        list(source.batches())
    assert "check that the server is running" in str(info.value)
    assert "pw123" not in str(info.value)


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "nope.db"
    # Run / Assert
    with pytest.raises(SourceError, match="SQLite database file not found"):
        SqlSource(f"sqlite:///{path}", "select 1")
    assert not path.exists()


def test_unknown_driver_and_bad_url() -> None:
    # Setup
    source = SqlSource("nosuchdb://u@h/db", "select 1")
    # Run / Assert
    with source, pytest.raises(SourceError, match="no database driver"):
        list(source.batches())
    with pytest.raises(SourceError, match="not a database URL"):
        SqlSource("not a url", "select 1")
    with pytest.raises(SourceError, match="query is empty"):
        SqlSource("sqlite://", " ; ")
