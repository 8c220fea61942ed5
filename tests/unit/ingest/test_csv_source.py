from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._csv import CsvSource

MESSY = (
    b"\xef\xbb\xbfa,b,c\r\n"  # 1: BOM + header
    b"1,2,3\r\n"  # 2
    b'"x\ny",1,2\r\n'  # 3-4: a quoted field with a newline
    b"4,5\r\n"  # 5: too few fields
    b"\r\n"  # 6: blank
    b"6,\xff,\r\n"  # 7: invalid UTF-8
    b"7,8,9,10\r\n"  # 8: too many fields
    b',"",\r\n'  # 9
    b"last,1,2"  # 10: no final newline
)


def _read_all(
    source: CsvSource,
) -> tuple[list[dict[str, str]], list[int], list[int], list[str | None]]:
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    rejects: list[int] = []
    errors: list[str | None] = []
    for batch in source.batches():
        rows += batch.data.to_pylist()
        lines += batch.locations.to_pylist()
        rejects += [r.location for r in batch.rejects]
        errors += (
            batch.row_errors.to_pylist()
            if batch.row_errors is not None
            else [None] * batch.data.num_rows
        )
    return rows, lines, rejects, errors


def _assert_same_as_one_chunk(path: Path, chunk_bytes: int, threads: int) -> None:
    """Rows, their lines and the rejects' lines do not depend on the chunking."""
    expected = _read_all(CsvSource(path, threads=1))
    got = _read_all(CsvSource(path, chunk_bytes=chunk_bytes, threads=threads))
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert sorted(got[2]) == sorted(expected[2])


def test_every_record_keeps_its_physical_line(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "messy.csv"
    path.write_bytes(MESSY)
    # Run
    rows, lines, rejects, errors = _read_all(CsvSource(path, threads=1))
    # Assert
    assert [r["a"] for r in rows] == ["1", "x\ny", "6", "", "last"]
    assert lines == [2, 3, 7, 9, 10]
    assert sorted(rejects) == [5, 8]
    assert errors[2] is not None and "UTF-8" in errors[2]
    assert rows[2]["b"] == "\ufffd"
    assert sum(e is not None for e in errors) == 1


@pytest.mark.parametrize("chunk_bytes", [8, 13, 64, 1 << 20])
@pytest.mark.parametrize("threads", [1, 3])
def test_chunking_never_changes_the_result(tmp_path: Path, chunk_bytes: int, threads: int) -> None:
    path = tmp_path / "messy.csv"
    path.write_bytes(MESSY * 1)
    _assert_same_as_one_chunk(path, chunk_bytes, threads)


def test_reject_reason_names_field_counts(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n1,2,3\n")
    batch = next(CsvSource(path).batches())
    assert batch.rejects[0].reason.startswith("row has 3 fields, expected 2")
    assert batch.rejects[0].raw == "1,2,3"
    assert batch.rejects[0].location == 3


def test_latin1_pipe_without_header(tmp_path: Path) -> None:
    path = tmp_path / "u.item"
    path.write_bytes("1|Café (1995)|x\n2|Señor|y\n".encode("latin-1"))
    source = CsvSource(path, ReadOptions(delimiter="|", header=False, encoding="latin-1"))
    rows, lines, _, _ = _read_all(source)
    assert source.columns() == ["column_1", "column_2", "column_3"]
    assert rows[0]["column_2"] == "Café (1995)"
    assert lines == [1, 2]


def test_given_column_names_for_headerless_file(tmp_path: Path) -> None:
    path = tmp_path / "a.data"
    path.write_text("39, State-gov, 77516\n50, ?, 83311\n")
    source = CsvSource(path, ReadOptions(header=False), column_names=["age", "work", "fnlwgt"])
    rows, _, _, _ = _read_all(source)
    assert rows[1] == {"age": "50", "work": " ?", "fnlwgt": " 83311"}


def test_skip_rows_and_header_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("# exported 2024\n# by shop\nid,v\n1,a\n2,b\n")
    source = CsvSource(path, ReadOptions(skip_rows=2))
    _, lines, _, _ = _read_all(source)
    assert source.columns() == ["id", "v"]
    assert lines == [4, 5]


def test_utf16_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-16"))
    with pytest.raises(SourceError, match="convert to UTF-8"):
        CsvSource(path, ReadOptions(encoding="utf-16"))


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        CsvSource(tmp_path / "nope.csv")


def test_fingerprint_is_content_hash(tmp_path: Path) -> None:
    one, two = tmp_path / "1.csv", tmp_path / "2.csv"
    one.write_text("a\n1\n")
    two.write_text("a\n1\n")
    assert CsvSource(one).fingerprint() == CsvSource(two).fingerprint()
    two.write_text("a\n2\n")
    assert CsvSource(one).fingerprint() != CsvSource(two).fingerprint()


def _reference_record_ends(data: bytes, quote: int | None, delimiter: int) -> list[int]:
    """Newlines that end a record, byte by byte: a quote opens a value only at a field start."""
    ends: list[int] = []
    field_start, quoted, i = True, False, 0
    while i < len(data):
        byte = data[i]
        if quoted:
            if byte == quote:
                if i + 1 < len(data) and data[i + 1] == quote:
                    i += 2  # a doubled quote inside the value
                    continue
                quoted = False
        elif byte == quote and field_start:
            quoted = True
            field_start = False
        elif byte in (delimiter, 10):
            field_start = True
            if byte == 10:
                ends.append(i)
        else:
            field_start = False
        i += 1
    return ends


def test_record_line_fast_paths_match_the_full_scan() -> None:
    import numpy as np

    from lakeforge.ingest._csv import (
        _last_record_end,
        _record_start_lines,
        _scan_record_start_lines,
    )

    rng = np.random.default_rng(7)
    alphabets = [b"ab,\n", b"ab,\n\r", b'ab,\n\r"', b"a\n", b'a,\n"', b'a"\n']
    for _ in range(6_000):
        alphabet = alphabets[int(rng.integers(len(alphabets)))]
        data = bytes(rng.choice(list(alphabet), size=int(rng.integers(0, 14))).tolist())
        for quote in ('"', None):
            fast = _record_start_lines(data, 3, quote, ",")
            assert fast.tolist() == _scan_record_start_lines(data, 3, quote, ",").tolist(), data
            code = ord(quote) if quote else None
            ends = _reference_record_ends(data, code, ord(","))
            expected = ends[-1] if ends else -1
            assert _last_record_end(data, code, ord(",")) == expected, data


def test_record_starts_follow_quotes_that_open_fields() -> None:
    import numpy as np

    from lakeforge.ingest._csv import _scan_record_start_lines

    rng = np.random.default_rng(3)
    for _ in range(4_000):
        data = bytes(rng.choice(list(b'ab;\n""'), size=int(rng.integers(0, 16))).tolist())
        ends = _reference_record_ends(data, ord('"'), ord(";"))
        starts = [0] + [end + 1 for end in ends]
        stops = [*ends, len(data)]
        expected = [  # lines of the records that are not blank
            10 + data.count(b"\n", 0, start)
            for start, stop in zip(starts, stops, strict=True)
            if stop > start and data[start:stop] != b"\r"
        ]
        assert _scan_record_start_lines(data, 10, '"', ";").tolist() == expected, data


def test_line_numbers_without_a_scan_match_the_scan(tmp_path: Path) -> None:
    import numpy as np

    from lakeforge.ingest._csv import _Chunk, _scan_record_start_lines

    rng = np.random.default_rng(11)
    fields = [b"x", b"12", b'"q"', b'"a,b"', b'"two\nlines"', b'"say ""hi"""', b""]
    ends = [b"\n", b"\r\n"]
    path = tmp_path / "h.csv"
    path.write_bytes(b"a,b\n")
    source = CsvSource(path)
    for _ in range(400):
        rows = []
        for _ in range(int(rng.integers(1, 8))):
            count = 2 if rng.random() < 0.85 else int(rng.integers(1, 4))
            row = b",".join(fields[int(rng.integers(len(fields)))] for _ in range(count))
            blank = b"\n" if rng.random() < 0.1 else b""
            rows.append(blank + row + ends[int(rng.integers(2))])
        data = b"".join(rows)
        try:
            batch = source._parse(_Chunk(data, None, first_line=2))
        except SourceError:
            continue
        # the scan, minus the records pyarrow rejected
        scanned = _scan_record_start_lines(data, 2, '"', ",").tolist()
        rejected = {r.location for r in batch.rejects}
        expected = [line for line in scanned if line not in rejected]
        assert batch.locations.to_pylist() == expected, data


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.sampled_from(
            [
                b"1,2,3\n",
                b'"x\ny",1,2\n',
                b"4,5\n",
                b"\n",
                b"7,8,9,10\r\n",
                b',"",\n',
                b'"a,""b""",c,d\n',
                b'1,5" x,2\n',  # stray quotes: characters, not the start of a value
                b'ab",c,d\n',
                b'"ab"c"d",e,f\n',
            ]
        ),
        max_size=40,
    ),
    last=st.sampled_from([b"", b"end,1,2", b'"open\nquote",1,2']),
    chunk_bytes=st.integers(min_value=4, max_value=200),
    threads=st.sampled_from([1, 3]),
)
def test_chunk_cuts_never_change_rows_or_lines(
    tmp_path: Path, rows: list[bytes], last: bytes, chunk_bytes: int, threads: int
) -> None:
    # any chunk size: quotes across a cut, records longer than a chunk, no final newline
    path = tmp_path / "cuts.csv"
    path.write_bytes(b"a,b,c\n" + b"".join(rows) + last)
    _assert_same_as_one_chunk(path, chunk_bytes, threads)


def test_a_lone_carriage_return_is_data_and_keeps_line_numbers(tmp_path: Path) -> None:
    # pyarrow alone would end a record there; lines end at LF, as in polars
    path = tmp_path / "cr.csv"
    path.write_bytes(b"a,b\n1,x\ry\n2,z\r\n3,w\r")
    rows, lines, rejects, _ = _read_all(CsvSource(path, threads=1))
    assert [r["b"] for r in rows] == ["x\ry", "z", "w"]
    assert lines == [2, 3, 4]
    assert rejects == []


def test_a_quote_that_never_closes_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b\n1,2\n3,"x\n4,5\n6,7\n')
    for chunk_bytes in (8, 1 << 20):
        with pytest.raises(SourceError, match="opened in the record at line 3 never closes"):
            _read_all(CsvSource(path, chunk_bytes=chunk_bytes))


def test_classic_mac_line_endings_are_refused_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b\r1,2\r3,4\r")
    with pytest.raises(SourceError, match="CR alone"):
        CsvSource(path)


def test_a_stray_quote_inside_a_field_is_literal(tmp_path: Path) -> None:
    # as pyarrow (and pandas) read it: a quote that does not open a field is a character
    path = tmp_path / "inch.csv"
    path.write_bytes(b'a,b\n1,5" screen\n2,x\n3,"y"\n')
    for chunk_bytes in (8, 1 << 20):
        rows, lines, rejects, _ = _read_all(CsvSource(path, chunk_bytes=chunk_bytes))
        assert [r["b"] for r in rows] == ['5" screen', "x", "y"]
        assert lines == [2, 3, 4]
        assert rejects == []


def test_a_stray_quote_beside_a_quoted_multiline_field(tmp_path: Path) -> None:
    # the quote-parity scan miscounts here; the csv-module scan agrees with pyarrow
    path = tmp_path / "inch.csv"
    path.write_bytes(b'a,b\n1,5" screen\n2,x\n3,"multi\nline"\n4,y\nshort\n')
    rows, lines, rejects, _ = _read_all(CsvSource(path, threads=1))
    assert [r["b"] for r in rows] == ['5" screen', "x", "multi\nline", "y"]
    assert lines == [2, 3, 4, 6]
    assert rejects == [7]


def test_a_stray_quote_never_moves_a_chunk_cut_into_a_value(tmp_path: Path) -> None:
    # counting quotes would pair the stray one with the next real one and cut mid-value
    path = tmp_path / "inch.csv"
    path.write_bytes(b'a,b,c\n1,5" x,2\n' + b'3,"multi\nline,with\nnewlines",4\n' * 3 + b"5,6,7\n")
    for chunk_bytes in range(4, 80):
        rows, lines, rejects, _ = _read_all(CsvSource(path, chunk_bytes=chunk_bytes, threads=1))
        assert [r["b"] for r in rows] == ['5" x', *["multi\nline,with\nnewlines"] * 3, "6"]
        assert lines == [2, 3, 6, 9, 12]
        assert rejects == []


def test_a_stray_quote_in_the_header_is_a_character(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b'id,size 5",note\n1,2,"x\ny"\n')
    rows, lines, _, _ = _read_all(CsvSource(path, threads=1))
    assert rows == [{"id": "1", 'size 5"': "2", "note": "x\ny"}]
    assert lines == [2]
