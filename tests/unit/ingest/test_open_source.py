from __future__ import annotations

import sqlite3
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._csv import CsvSource
from lakeforge.ingest._excel import ExcelSource
from lakeforge.ingest._json import JsonSource
from lakeforge.ingest._open import (
    SUPPORTED_FORMATS,
    detect_format,
    is_database_url,
    open_source,
)
from lakeforge.ingest._parquet import ParquetSource
from lakeforge.ingest._sql import SqlSource


def _xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    book.active.append([1, 2])
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("orders.csv", "a,b\n1,2\n", CsvSource),
        ("adult.data", "1,2\n", CsvSource),
        ("u.test", "1,2\n", CsvSource),
        ("notes.txt", "a,b\n", CsvSource),
        ("orders.json", '[{"a": 1}]', JsonSource),
        ("events.ndjson", '{"a": 1}\n', JsonSource),
        ("events.jsonl", '{"a": 1}\n', JsonSource),
    ],
)
def test_extension_picks_the_connector(
    tmp_path: Path, name: str, content: str, expected: type
) -> None:
    # Setup
    path = tmp_path / name
    path.write_text(content)
    # Run
    with open_source(path) as source:
        # Assert
        assert isinstance(source, expected)
        assert source.uri == str(path.resolve())


def test_binary_formats_and_parquet_directories(tmp_path: Path) -> None:
    # Setup
    table = pa.table({"a": [1, 2]})
    pq.write_table(table, tmp_path / "t.parquet")
    pq.write_table(table, tmp_path / "t.pq")
    (tmp_path / "dir").mkdir()
    pq.write_table(table, tmp_path / "dir" / "part-0.parquet")
    _xlsx(tmp_path / "book.xlsx")
    # Run / Assert
    for name in ("t.parquet", "t.pq", "dir"):
        with open_source(tmp_path / name) as source:
            assert isinstance(source, ParquetSource)
    with open_source(tmp_path / "book.xlsx") as source:
        assert isinstance(source, ExcelSource)
        assert source.columns() == ["a", "b"]


def test_tsv_and_psv_imply_their_delimiter(tmp_path: Path) -> None:
    # Setup
    tsv = tmp_path / "items.tsv"
    tsv.write_text("a\tb\n1\t2\n")
    psv = tmp_path / "items.psv"
    psv.write_text("a|b\n1|2\n")
    # Run
    with open_source(tsv) as tab, open_source(psv) as pipe:
        # Assert
        assert isinstance(tab, CsvSource) and isinstance(pipe, CsvSource)
        assert tab.options.delimiter == "\t"
        assert tab.options.format == "csv"
        assert tab.columns() == ["a", "b"]
        assert pipe.columns() == ["a", "b"]


def test_an_explicit_delimiter_wins_over_the_extension(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "odd.tsv"
    path.write_text("a,b\n1,2\n")
    # Run
    with open_source(path, options=ReadOptions(delimiter=",")) as source:
        # Assert
        assert isinstance(source, CsvSource)
        assert source.columns() == ["a", "b"]


def test_format_option_overrides_the_extension(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "export.dat"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    # Run
    with open_source(path, options=ReadOptions(format="ndjson")) as source:
        # Assert
        assert isinstance(source, JsonSource)
        assert source.layout == "ndjson"


def test_options_and_column_names_reach_the_csv_connector(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "u.data"
    path.write_text("1|2\n3|4\n")
    options = ReadOptions(delimiter="|", header=False)
    # Run
    with open_source(path, options=options, column_names=["x", "y"], chunk_bytes=4) as source:
        rows = [r for b in source.batches() for r in b.data.to_pylist()]
    # Assert
    assert rows == [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}]


def test_unknown_extension_names_the_supported_formats(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "dump.bin"
    path.write_text("a,b\n")
    # Run / Assert
    with pytest.raises(SourceError) as info:
        open_source(path)
    message = str(info.value)
    assert "--format" in message
    for name in SUPPORTED_FORMATS:
        assert name in message


def test_directory_without_parquet_and_missing_file(tmp_path: Path) -> None:
    # Setup
    (tmp_path / "empty").mkdir()
    # Run / Assert
    with pytest.raises(SourceError, match="directory without Parquet files"):
        open_source(tmp_path / "empty")
    with pytest.raises(SourceError, match="file not found"):
        open_source(tmp_path / "missing.csv")


def test_database_url_needs_a_query(tmp_path: Path) -> None:
    # Setup
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (a integer)")
        conn.execute("insert into t values (1)")
    conn.close()
    url = f"sqlite:///{db}"
    # Run / Assert
    with pytest.raises(SourceError, match="--sql"):
        open_source(url)
    with open_source(url, sql="select a from t", incremental_by="a", since="0") as source:
        assert isinstance(source, SqlSource)
        assert source.incremental_by == "a"
        assert [r for b in source.batches() for r in b.data.to_pylist()] == [{"a": 1}]


def test_sql_options_are_refused_for_files(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    # Run / Assert
    with pytest.raises(SourceError, match="--sql is for database URLs"):
        open_source(path, sql="select 1")
    with pytest.raises(SourceError, match="need a database source"):
        open_source(path, incremental_by="a")


def test_remote_urls_are_not_databases(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    # Run / Assert
    assert is_database_url("postgresql://u@h/db")
    assert is_database_url("sqlite:///x.db")
    assert not is_database_url("https://example.com/a.csv")
    assert not is_database_url(str(path))
    with pytest.raises(SourceError, match="download the file first"):
        open_source("https://example.com/a.csv")
    with open_source(f"file://{path}") as source:
        assert isinstance(source, CsvSource)


def test_detect_format() -> None:
    # Setup / Run / Assert
    assert detect_format(Path("a.JSONL")) == "ndjson"
    assert detect_format(Path("a.xlsx")) == "xlsx"
    assert detect_format(Path("a.xls")) is None
    assert set(SUPPORTED_FORMATS) == {"csv", "json", "ndjson", "parquet", "xlsx"}
