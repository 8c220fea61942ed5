"""Row pages from cached snapshots: pre-encoded rows give the same bytes as encoding per page."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from lakeforge.serve._snapshots import (
    EncodedRows,
    RowFilter,
    Snapshot,
    encode_rows,
    page,
)

ROWS = 2 * EncodedRows.BLOCK_ROWS + 300  # three blocks, the last one short


@pytest.fixture(scope="module")
def table() -> pa.Table:
    n = ROWS
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "amount": pa.array([float("nan") if i % 97 == 0 else i * 1.5 for i in range(n)]),
            "name": pa.array([None if i % 13 == 0 else f'n\u00e9 "{i}"\n' for i in range(n)]),
            "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i % 300) for i in range(n)]),
            "at": pa.array(
                [
                    dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i)
                    for i in range(n)
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )


@pytest.fixture
def snapshot(table: pa.Table) -> Snapshot:
    return Snapshot("t", 3, table, ("id",), ("name",))


BLOCK = EncodedRows.BLOCK_ROWS


@pytest.mark.parametrize(
    ("offset", "limit"),
    [
        (0, 1),
        (0, 100),
        (BLOCK - 50, 100),  # across the first block boundary
        (BLOCK, BLOCK),  # exactly one block
        (BLOCK - 1, 2 * BLOCK),  # three blocks
        (ROWS - 10, 100),  # runs past the end
        (ROWS, 100),  # starts at the end
        (ROWS + 5, 10),  # past the end
    ],
)
def test_encoded_slices_equal_encoding_each_page(table: pa.Table, offset: int, limit: int) -> None:
    encoded = EncodedRows(table)

    got = encoded.json_array(offset, limit)

    assert got == encode_rows(table.slice(offset, limit))
    assert json.loads(got) == json.loads(encode_rows(table.slice(offset, limit)))


def test_blocks_are_encoded_once_and_counted(table: pa.Table) -> None:
    encoded = EncodedRows(table)
    assert encoded.nbytes == 0

    encoded.json_array(10, 20)
    after_one = encoded.nbytes
    encoded.json_array(30, 20)  # same block

    assert after_one > 0 and encoded.nbytes == after_one


def test_plain_page_uses_the_encoded_rows(snapshot: Snapshot) -> None:
    result = page(snapshot, offset=BLOCK - 5, limit=10, columns=None, filters=[])

    assert result.encoded is snapshot.encoded
    assert result.columns == ("id", "amount", "name", "day", "at")
    assert result.data_json() == encode_rows(result.rows)
    assert snapshot.nbytes > snapshot.data.nbytes


@pytest.mark.parametrize(
    ("columns", "filters"),
    [
        (["name", "id"], []),
        (None, [RowFilter("id", "ge", "5")]),
    ],
)
def test_projected_or_filtered_pages_are_encoded_per_page(
    snapshot: Snapshot, columns: list[str] | None, filters: list[RowFilter]
) -> None:
    result = page(snapshot, offset=3, limit=7, columns=columns, filters=filters)

    assert result.encoded is None
    assert result.data_json() == encode_rows(result.rows)
    assert result.columns == tuple(result.rows.column_names)
    assert result.masked == ("name",)


def test_all_columns_in_order_is_a_plain_page(snapshot: Snapshot) -> None:
    result = page(snapshot, offset=0, limit=5, columns=list(snapshot.columns), filters=[])

    assert result.encoded is snapshot.encoded
    assert result.data_json() == encode_rows(result.rows)
