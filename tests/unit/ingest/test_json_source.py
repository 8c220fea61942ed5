from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import xxhash

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._json import JsonSource

NDJSON = (
    b"\xef\xbb\xbf"
    b'{"id": 1, "name": "a", "score": 1.5}\n'  # 1 (after a BOM)
    b"\n"  # 2: blank
    b'{"id": 2, "tags": ["x", "y"], "score": 2}\r\n'  # 3: CRLF, a new key, an int score
    b"not json\n"  # 4
    b"[1, 2]\n"  # 5: valid JSON, not an object
    b"   \n"  # 6: whitespace only
    b'{"id": 3, "name": "c", "meta": {"k": [1, {"z": null}]}}\n'  # 7
    b'{"id": 4, "late": true}'  # 8: no final newline, a key seen only here
)


def _read_all(source: JsonSource) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    locations: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    errors: list[str | None] = []
    schemas: list[pa.Schema] = []
    for batch in source.batches():
        rows += batch.data.to_pylist()
        locations += batch.locations.to_pylist()
        rejects += [(r.location, r.reason, r.raw) for r in batch.rejects]
        n = batch.data.num_rows
        errors += batch.row_errors.to_pylist() if batch.row_errors is not None else [None] * n
        schemas.append(batch.data.schema)
    return {
        "rows": rows,
        "locations": locations,
        "rejects": rejects,
        "errors": errors,
        "schemas": schemas,
    }


def test_ndjson_rows_keep_their_physical_lines(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "events.ndjson"
    path.write_bytes(NDJSON)
    # Run
    source = JsonSource(path)
    got = _read_all(source)
    # Assert
    assert source.layout == "ndjson"
    assert source.location_kind == "line"
    assert [r["id"] for r in got["rows"]] == [1, 2, 3, 4]
    assert got["locations"] == [1, 3, 7, 8]
    assert [r[0] for r in got["rejects"]] == [4, 5]
    assert got["rejects"][0][1].startswith("not valid JSON: Expecting value")
    assert got["rejects"][0][2] == "not json"
    assert got["rejects"][1][1] == "a JSON array, not an object"
    assert source.describe_location(7) == "events.ndjson line 7"


def test_columns_are_every_key_in_order_of_first_appearance(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "events.ndjson"
    path.write_bytes(NDJSON)
    # Run
    source = JsonSource(path, batch_rows=2)
    got = _read_all(source)
    # Assert
    assert source.columns() == ["id", "name", "score", "tags", "meta", "late"]
    assert got["rows"][3]["late"] is True
    assert got["rows"][0]["late"] is None
    assert len({str(s) for s in got["schemas"]}) == 1, "every batch has the same schema"


def test_values_arrive_typed_and_nested_values_as_json_text(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "events.ndjson"
    path.write_bytes(NDJSON)
    # Run
    got = _read_all(JsonSource(path))
    schema = got["schemas"][0]
    rows = got["rows"]
    # Assert
    assert schema.field("id").type == pa.int64()
    assert schema.field("score").type == pa.float64(), "ints mixed with floats are floats"
    assert schema.field("name").type == pa.string()
    assert schema.field("late").type == pa.bool_()
    assert schema.field("tags").type == pa.string()
    assert rows[1]["tags"] == '["x","y"]'
    assert json.loads(rows[2]["meta"]) == {"k": [1, {"z": None}]}


def test_a_column_of_mixed_kinds_becomes_text(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "mixed.jsonl"
    lines = [{"v": 1}, {"v": "x"}, {"v": True}, {"v": 2.5}, {"v": None}, {"v": {"a": 1}}]
    path.write_text("\n".join(json.dumps(line) for line in lines))
    # Run
    batch = next(JsonSource(path).batches())
    # Assert
    assert batch.data.schema.field("v").type == pa.string()
    assert batch.data.column("v").to_pylist() == ["1", "x", "true", "2.5", None, '{"a":1}']


@pytest.mark.parametrize("chunk_bytes", [1, 7, 40, 1 << 20])
@pytest.mark.parametrize("batch_rows", [1, 3, 50_000])
def test_chunking_never_changes_the_result(
    tmp_path: Path, chunk_bytes: int, batch_rows: int
) -> None:
    # Setup
    path = tmp_path / "events.ndjson"
    path.write_bytes(NDJSON)
    expected = _read_all(JsonSource(path))
    # Run
    got = _read_all(JsonSource(path, chunk_bytes=chunk_bytes, batch_rows=batch_rows))
    # Assert
    for key in ("rows", "locations", "rejects", "errors"):
        assert got[key] == expected[key]


def test_ndjson_streams_in_several_batches(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "big.ndjson"
    path.write_text("".join(json.dumps({"i": i, "s": str(i)}) + "\n" for i in range(1000)))
    # Run
    batches = list(JsonSource(path, batch_rows=300, chunk_bytes=1024).batches())
    # Assert
    assert [b.data.num_rows for b in batches] == [300, 300, 300, 100]
    assert batches[-1].locations.to_pylist()[-1] == 1000


def test_invalid_utf8_is_a_row_error_not_a_failure(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    # Run
    got = _read_all(JsonSource(path))
    # Assert
    assert got["rows"][1]["a"] == "caf\ufffd"
    assert got["errors"][0] is None
    assert got["errors"][1] is not None and "UTF-8" in got["errors"][1]


def test_latin1_ndjson_with_declared_encoding(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "latin.ndjson"
    path.write_bytes('{"a": "café"}\n'.encode("latin-1"))
    # Run
    got = _read_all(JsonSource(path, ReadOptions(encoding="latin-1")))
    # Assert
    assert got["rows"] == [{"a": "café"}]
    assert got["errors"] == [None]


def test_json_array_locations_are_record_indexes(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "orders.json"
    records: list[Any] = [{"id": 1, "amount": 9.5}, 42, {"id": 3, "note": "x"}, {"id": 4}]
    path.write_text(json.dumps(records, indent=2))
    # Run
    source = JsonSource(path)
    got = _read_all(source)
    # Assert
    assert source.layout == "json"
    assert source.location_kind == "record"
    assert source.columns() == ["id", "amount", "note"]
    assert got["locations"] == [0, 2, 3]
    assert got["rejects"] == [(1, "a JSON number, not an object", "42")]
    assert "record 2" in source.describe_location(2)


def test_object_with_one_array_of_records(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "api.json"
    document = {
        "count": 2,
        "tags": ["a", "b"],
        "data": [{"id": 1, "v": [1, 2]}, {"id": 2, "v": None}],
        "next": None,
        "empty": [],
    }
    path.write_text(json.dumps(document))
    # Run
    got = _read_all(JsonSource(path))
    # Assert
    assert got["rows"] == [{"id": 1, "v": "[1,2]"}, {"id": 2, "v": None}]
    assert got["locations"] == [0, 1]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 5, 64])
def test_json_array_decoding_does_not_depend_on_chunk_size(
    tmp_path: Path, chunk_bytes: int
) -> None:
    # Setup
    path = tmp_path / "numbers.json"
    records: list[Any] = [{"n": 1234567, "s": 'a \\" b'}, 98765, {"n": -1.25e10, "s": "é"}]
    path.write_text(json.dumps(records), encoding="utf-8")
    # Run
    got = _read_all(JsonSource(path, chunk_bytes=chunk_bytes, batch_rows=2))
    # Assert
    assert got["rows"] == [{"n": 1234567.0, "s": 'a \\" b'}, {"n": -1.25e10, "s": "é"}]
    assert got["rejects"] == [(1, "a JSON number, not an object", "98765")]


@pytest.mark.parametrize("chunk_bytes", [1, 3, 1 << 20])
def test_invalid_json_document_names_the_line(tmp_path: Path, chunk_bytes: int) -> None:
    # Setup
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"id": 1},\n  {"id": 2,, }\n]')
    source = JsonSource(path, chunk_bytes=chunk_bytes)
    # Run / Assert
    with pytest.raises(SourceError, match="not valid JSON at line 3") as info:
        source.columns()
    assert info.value.row == 3


def test_two_arrays_of_objects_are_ambiguous(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"a": [{"x": 1}], "b": [{"y": 2}]}))
    # Run / Assert
    with pytest.raises(SourceError, match="more than one array of objects"):
        JsonSource(path).columns()


def test_a_json_file_with_one_object_per_line_is_read_as_ndjson(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "lines.json"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    # Run
    source = JsonSource(path)
    got = _read_all(source)
    # Assert
    assert source.layout == "ndjson"
    assert source.options.format == "ndjson"
    assert got["locations"] == [1, 2]


def test_format_option_overrides_the_extension(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "data.txt"
    path.write_text('[{"a": 1}]')
    # Run
    source = JsonSource(path, ReadOptions(format="json"))
    # Assert
    assert source.layout == "json"
    assert _read_all(source)["rows"] == [{"a": 1}]


def test_empty_ndjson_has_no_rows(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "empty.ndjson"
    path.write_text("\n\n")
    # Run
    source = JsonSource(path)
    # Assert
    assert source.columns() == []
    assert list(source.batches()) == []


def test_missing_file_and_fingerprint(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "a.ndjson"
    path.write_text('{"a": 1}\n')
    # Run / Assert
    expected = "xxh3_128:" + xxhash.xxh3_128(path.read_bytes()).hexdigest()
    assert JsonSource(path).fingerprint() == expected
    assert JsonSource(path).legacy_fingerprint() == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(SourceError, match="file not found"):
        JsonSource(tmp_path / "missing.json")


def test_escaped_lone_surrogates_do_not_break_a_batch(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "odd.ndjson"
    path.write_text('{"a": "x\\ud800y"}\n{"a": "fine"}\n')
    # Run
    got = _read_all(JsonSource(path))
    # Assert
    assert got["rows"] == [{"a": "x?y"}, {"a": "fine"}]
