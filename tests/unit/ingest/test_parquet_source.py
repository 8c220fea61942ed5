from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash

from lakeforge.errors import SourceError
from lakeforge.ingest._parquet import ParquetSource


def _orders(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array(range(start, start + n), pa.int64()),
            "amount": pa.array([i * 1.5 for i in range(n)], pa.float64()),
            "placed_at": pa.array(
                [dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(n)],
                pa.timestamp("us"),
            ),
            "status": pa.array(["new" if i % 2 else "" for i in range(n)], pa.string()),
        }
    )


def test_file_streams_typed_batches_with_row_offsets(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "orders.parquet"
    pq.write_table(_orders(25), path, row_group_size=10)
    # Run
    source = ParquetSource(path, batch_rows=7)
    batches = list(source.batches())
    # Assert
    assert source.columns() == ["order_id", "amount", "placed_at", "status"]
    assert source.location_kind == "row"
    assert len(batches) >= 4
    assert all(b.data.num_rows <= 7 for b in batches)
    locations = [loc for b in batches for loc in b.locations.to_pylist()]
    assert locations == list(range(25))
    ids = [i for b in batches for i in b.data.column("order_id").to_pylist()]
    assert ids == list(range(25))
    assert batches[0].data.schema.field("placed_at").type == pa.timestamp("us")
    assert batches[0].data.column("status").to_pylist()[0] == "", "empty strings are kept"
    assert source.options.null_values == []
    assert source.describe_location(3) == "orders.parquet row 3"


def test_fingerprint_is_the_file_xxh3_and_legacy_its_sha256(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "orders.pq"
    pq.write_table(_orders(3), path)
    # Run
    source = ParquetSource(path)
    # Assert
    assert source.fingerprint() == "xxh3_128:" + xxhash.xxh3_128(path.read_bytes()).hexdigest()
    assert source.legacy_fingerprint() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_directory_reads_files_in_sorted_order_under_one_schema(tmp_path: Path) -> None:
    # Setup
    root = tmp_path / "sales"
    (root / "year=2024").mkdir(parents=True)
    (root / "year=2023").mkdir(parents=True)
    (root / "_tmp").mkdir()
    pq.write_table(_orders(3, start=10), root / "year=2024" / "part-0.parquet")
    older = _orders(2, start=0).append_column("channel", pa.array(["web", "shop"]))
    pq.write_table(older, root / "year=2023" / "part-0.parquet")
    pq.write_table(_orders(1, start=99), root / "_tmp" / "ignored.parquet")
    (root / "_SUCCESS").write_text("")
    # Run
    source = ParquetSource(root, batch_rows=2)
    batches = list(source.batches())
    rows = [r for b in batches for r in b.data.to_pylist()]
    # Assert
    assert set(source.columns()) == {"order_id", "amount", "placed_at", "status", "channel", "year"}
    assert [r["order_id"] for r in rows] == [0, 1, 10, 11, 12]
    assert [r["year"] for r in rows] == [2023, 2023, 2024, 2024, 2024]
    assert [r["channel"] for r in rows] == ["web", "shop", None, None, None]
    assert [loc for b in batches for loc in b.locations.to_pylist()] == [0, 1, 2, 3, 4]
    assert source.describe_location(3) == "year=2024/part-0.parquet row 1 (row 3 of sales)"


def test_directory_fingerprint_follows_content(tmp_path: Path) -> None:
    # Setup
    root = tmp_path / "d"
    root.mkdir()
    pq.write_table(_orders(2), root / "a.parquet")
    pq.write_table(_orders(2, start=5), root / "b.parquet")
    first = ParquetSource(root).fingerprint()
    # Run
    again = ParquetSource(root).fingerprint()
    pq.write_table(_orders(3, start=5), root / "b.parquet")
    changed = ParquetSource(root).fingerprint()
    # Assert
    assert first == again
    assert changed != first


def test_dictionary_and_nested_columns_become_plain(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "nested.parquet"
    table = pa.table(
        {
            "city": pa.array(["Oslo", "Lima", "Oslo"]).dictionary_encode(),
            "items": pa.array([[1, 2], [], None], pa.list_(pa.int64())),
            "address": pa.array([{"zip": "0150", "n": 3}, None, {"zip": "x", "n": None}]),
            "attrs": pa.array([[("a", 1)], [], None], pa.map_(pa.string(), pa.int64())),
        }
    )
    pq.write_table(table, path)
    # Run
    source = ParquetSource(path)
    batch = next(source.batches())
    rows = batch.data.to_pylist()
    # Assert
    assert batch.data.schema == source.schema
    assert batch.data.schema.field("city").type == pa.string()
    assert [r["city"] for r in rows] == ["Oslo", "Lima", "Oslo"]
    assert [r["items"] for r in rows] == ["[1,2]", "[]", None]
    assert json.loads(rows[0]["address"]) == {"zip": "0150", "n": 3}
    assert [r["attrs"] for r in rows] == ['{"a":1}', "{}", None]


def test_unreadable_sources_raise_source_error(tmp_path: Path) -> None:
    # Setup
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    empty = tmp_path / "empty"
    empty.mkdir()
    delta = tmp_path / "table"
    (delta / "_delta_log").mkdir(parents=True)
    # Run / Assert
    with pytest.raises(SourceError, match="cannot be read as Parquet"):
        ParquetSource(broken)
    with pytest.raises(SourceError, match="no Parquet files"):
        ParquetSource(empty)
    with pytest.raises(SourceError, match="Delta table"):
        ParquetSource(delta)
    with pytest.raises(SourceError, match="file not found"):
        ParquetSource(tmp_path / "missing.parquet")
