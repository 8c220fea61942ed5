from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
import xxhash

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._excel import ExcelSource


def _workbook(path: Path, sheets: dict[str, dict[str, Any]]) -> Path:
    """Write cells given as {sheet: {"A1": value, ...}}."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, cells in sheets.items():
        sheet = book.create_sheet(title)
        for ref, value in cells.items():
            sheet[ref] = value
    book.save(path)
    return path


def _rows(path: Path, cells: list[list[Any]], title: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in cells:
        sheet.append(row)
    book.save(path)
    return path


def _read_all(source: ExcelSource) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    rows: list[dict[str, Any]] = []
    locations: list[int] = []
    rejects: list[int] = []
    for batch in source.batches():
        rows += batch.data.to_pylist()
        locations += batch.locations.to_pylist()
        rejects += [r.location for r in batch.rejects]
    return rows, locations, rejects


def test_rows_carry_their_excel_row_numbers(tmp_path: Path) -> None:
    # Setup: a title row, an empty row, the header on row 3, a gap at rows 5-6
    path = _workbook(
        tmp_path / "sales.xlsx",
        {
            "Report": {
                "A1": "Sales report",
                "A3": "order_id",
                "B3": "placed",
                "C3": "amount",
                "A4": 1,
                "B4": dt.datetime(2024, 1, 2, 9, 30),
                "C4": 9.5,
                "A7": 2,
                "B7": dt.datetime(2024, 1, 3),
                "C7": 12,
            }
        },
    )
    # Run
    source = ExcelSource(path, ReadOptions(skip_rows=1))
    rows, locations, rejects = _read_all(source)
    # Assert
    assert source.columns() == ["order_id", "placed", "amount"]
    assert source.sheet == "Report"
    assert locations == [4, 7]
    assert rejects == []
    assert rows[0] == {"order_id": 1, "placed": dt.datetime(2024, 1, 2, 9, 30), "amount": 9.5}
    assert rows[1]["amount"] == 12.0
    assert source.describe_location(7) == "sales.xlsx sheet 'Report' row 7"
    assert source.options.format == "xlsx"


def test_cells_arrive_typed_per_batch(tmp_path: Path) -> None:
    # Setup
    path = _rows(
        tmp_path / "t.xlsx",
        [
            ["i", "f", "b", "d", "s", "mixed"],
            [1, 1.5, True, dt.datetime(2024, 5, 1, 8), "x", 7],
            [2, 2, False, dt.datetime(2024, 5, 2), "y", "seven"],
            [3, None, None, None, None, dt.datetime(2024, 5, 3)],
        ],
    )
    # Run
    batch = next(ExcelSource(path).batches())
    schema = batch.data.schema
    # Assert
    assert schema.field("i").type == pa.int64()
    assert schema.field("f").type == pa.float64()
    assert schema.field("b").type == pa.bool_()
    assert schema.field("d").type == pa.timestamp("us")
    assert schema.field("s").type == pa.string()
    assert schema.field("mixed").type == pa.string()
    assert batch.data.column("mixed").to_pylist() == ["7", "seven", "2024-05-03 00:00:00"]


def test_ragged_rows_are_rejected_and_empty_rows_skipped(tmp_path: Path) -> None:
    # Setup
    path = _rows(
        tmp_path / "r.xlsx",
        [
            ["a", "b"],
            [1, 2],
            [None, None],
            [3, 4, "extra"],
            [5],
            [6, 7, None, None],
        ],
    )
    # Run
    batches = list(ExcelSource(path).batches())
    rows = [r for b in batches for r in b.data.to_pylist()]
    rejects = [r for b in batches for r in b.rejects]
    # Assert
    assert rows == [{"a": 1, "b": 2}, {"a": 5, "b": None}, {"a": 6, "b": 7}]
    assert [b.locations.to_pylist() for b in batches] == [[2, 5, 6]]
    assert [r.location for r in rejects] == [4]
    assert "column C" in rejects[0].reason and "2 header columns" in rejects[0].reason
    assert rejects[0].raw == "3\t4\textra"


def test_several_batches_each_typed_on_its_own(tmp_path: Path) -> None:
    # Setup
    values: list[Any] = [1, 2, 3, 4, "five", 6, 7]
    path = _rows(tmp_path / "b.xlsx", [["v"], *([v] for v in values)])
    # Run
    batches = list(ExcelSource(path, batch_rows=3).batches())
    # Assert
    assert [b.data.num_rows for b in batches] == [3, 3, 1]
    assert [b.data.schema.field("v").type for b in batches] == [pa.int64(), pa.string(), pa.int64()]
    assert [b.locations.to_pylist() for b in batches] == [[2, 3, 4], [5, 6, 7], [8]]
    assert batches[1].data.column("v").to_pylist() == ["4", "five", "6"]


def test_sheet_is_chosen_by_name(tmp_path: Path) -> None:
    # Setup
    path = _workbook(
        tmp_path / "two.xlsx",
        {"First": {"A1": "x", "A2": 1}, "Second": {"A1": "y", "A2": 2}},
    )
    # Run
    second = ExcelSource(path, ReadOptions(sheet="second"))
    # Assert
    assert second.sheet == "Second"
    assert _read_all(second)[0] == [{"y": 2}]
    assert ExcelSource(path).sheet == "First"
    with pytest.raises(SourceError, match="no sheet 'Third'; its sheets are 'First', 'Second'"):
        ExcelSource(path, ReadOptions(sheet="Third"))


def test_header_names_are_filled_in_and_made_unique(tmp_path: Path) -> None:
    # Setup
    path = _rows(tmp_path / "h.xlsx", [["id", None, "id", 2024, " name "], [1, 2, 3, 4, 5]])
    # Run
    source = ExcelSource(path)
    # Assert
    assert source.columns() == ["id", "column_2", "id_2", "2024", "name"]
    assert _read_all(source)[0][0]["id_2"] == 3


def test_sheet_without_header(tmp_path: Path) -> None:
    # Setup
    path = _rows(tmp_path / "n.xlsx", [[1, "a"], [2, "b"]])
    # Run
    unnamed = ExcelSource(path, ReadOptions(header=False))
    named = ExcelSource(path, ReadOptions(header=False), column_names=["id", "code"])
    # Assert
    assert unnamed.columns() == ["column_1", "column_2"]
    rows, locations, _ = _read_all(named)
    assert rows == [{"id": 1, "code": "a"}, {"id": 2, "code": "b"}]
    assert locations == [1, 2]


def test_unreadable_workbooks_raise_source_error(tmp_path: Path) -> None:
    # Setup
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip file")
    empty = _rows(tmp_path / "empty.xlsx", [])
    # Run / Assert
    with pytest.raises(SourceError, match=r"save it as \.xlsx"):
        ExcelSource(old)
    with pytest.raises(SourceError, match=r"cannot be opened as an \.xlsx workbook"):
        ExcelSource(broken)
    with pytest.raises(SourceError, match="has no header row"):
        ExcelSource(empty)
    with pytest.raises(SourceError, match="file not found"):
        ExcelSource(tmp_path / "missing.xlsx")


def test_fingerprint_is_the_file_xxh3_and_legacy_its_sha256(tmp_path: Path) -> None:
    # Setup
    path = _rows(tmp_path / "f.xlsx", [["a"], [1]])
    # Run
    source = ExcelSource(path)
    # Assert
    assert source.fingerprint() == "xxh3_128:" + xxhash.xxh3_128(path.read_bytes()).hexdigest()
    assert source.legacy_fingerprint() == hashlib.sha256(path.read_bytes()).hexdigest()
