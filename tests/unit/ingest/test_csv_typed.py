"""CSV chunks parsed straight to their types give exactly what the text path gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakeforge as lf
from lakeforge.contracts import Column, Contract, RangeCheck, ReadOptions, RegexCheck, UniqueCheck
from lakeforge.errors import SourceError
from lakeforge.ingest._csv import CsvSource
from lakeforge.quality import BatchValidator, KeyIndex

CONTRACT = Contract(
    table="prices",
    columns=[
        Column(name="store", nullable=False),
        Column(name="week", type="integer", nullable=False),
        Column(name="price", type="float"),
        Column(name="note"),
    ],
    checks=[
        RegexCheck(column="store", pattern=r"[A-Z]{2}_\d"),
        RangeCheck(column="price", min=0, min_inclusive=False),
        UniqueCheck(columns=["store", "week"]),
    ],
)
HEADER = b"store,week,price,note\n"
CLEAN = b"".join(b"CA_%d,%d,%d.50,n%d\n" % (i % 3, 100 + i, i + 1, i) for i in range(40))


def _run(
    path: Path, *, typed: bool, chunk_bytes: int, contract: Contract = CONTRACT
) -> tuple[pa.Table, pa.Table, int]:
    """Good rows, quarantine rows (without the time stamp) and how many batches were typed."""
    source = CsvSource(path, ReadOptions(), chunk_bytes=chunk_bytes, threads=1)
    validator = BatchValidator(
        contract,
        source.columns(),
        key_indexes=[KeyIndex(k) for k in contract.unique_keys()],
    )
    goods, bads, typed_batches = [], [], 0
    for task in source.tasks(validator.typed_read_types() if typed else None):
        batch = task()
        typed_batches += batch.reparse is not None
        out = validator.validate(batch)
        goods.append(out.good)
        bads.append(out.bad.drop_columns(["_quarantined_at"]))
    good = pa.concat_tables(goods)
    bad = pa.concat_tables(bads).sort_by("_location")
    assert validator.read == validator.written + validator.quarantined
    return good, bad, typed_batches


def _assert_paths_agree(path: Path, chunk_bytes: int, contract: Contract, case: str) -> int:
    """Both paths give the same good and quarantined rows; return the typed batch count."""
    typed_good, typed_bad, typed_batches = _run(
        path, typed=True, chunk_bytes=chunk_bytes, contract=contract
    )
    text_good, text_bad, _ = _run(path, typed=False, chunk_bytes=chunk_bytes, contract=contract)
    assert typed_good.equals(text_good), case
    assert typed_bad.to_pylist() == text_bad.to_pylist(), case
    return typed_batches


CASES = {
    "clean": CLEAN,
    "crlf": CLEAN.replace(b"\n", b"\r\n"),
    "quoted": b"".join(b'"CA_1",%d,"%d.5","a,b"\n' % (i, i + 1) for i in range(30)),
    "duplicates": CLEAN + b"CA_1,101,9.50,again\nCA_2,102,1.00,x\n",
    "range and regex": CLEAN + b"CA_1,900,-1.50,neg\nca_1,901,2,lower\n",
    "spaces around numbers": CLEAN + b"CA_1,902, 2.5,x\nCA_1, 903,3,x\n",
    "trailing space in a number": CLEAN + b"CA_1,904,4 ,x\n",
    "a space for a number": CLEAN + b"CA_1,905, ,x\n",
    "a space for an integer": CLEAN + b"CA_1, ,5,x\n",
    "signs and exponents": CLEAN + b"CA_1,+906,+.5,x\nCA_1,907,1e3,x\nCA_1,908,1.,x\n",
    "nan": CLEAN + b"CA_1,909,nan,x\n",
    "inf": CLEAN + b"CA_1,910,inf,x\nCA_1,911,1e400,x\n",
    "empty number": CLEAN + b"CA_1,912,,x\n",
    "empty text": CLEAN + b"CA_1,913,5,\n",
    "quoted empty text": CLEAN + b'CA_1,914,5,""\n',
    "empty key": CLEAN + b",915,5,x\n",
    "decimal integer": CLEAN + b"CA_1,9.5,1,x\n",
    "hex integer": CLEAN + b"CA_1,0x10,1,x\n",
    "integer overflow": CLEAN + b"CA_1,99999999999999999999,1,x\n",
    "short row": CLEAN + b"CA_1,916,1\n",
    "long row": CLEAN + b"CA_1,917,1,x,extra\n",
    "blank line": CLEAN[:200] + b"\n" + CLEAN[200:],
    "newline in quotes": CLEAN + b'CA_1,918,1,"two\nlines"\n',
    "bare carriage return": CLEAN + b"CA_1,919,1,a\rb\n",
    "quote inside a field": CLEAN + b'CA_1,960,1,5 "inch" screen\n',
    "doubled quotes": CLEAN + b'CA_1,961,1,"a""b"\n',
    "text after a closing quote": CLEAN + b'CA_1,962,1,"x"y\n',
    "quoted number": CLEAN + b'CA_1,"963","2.5",x\n',
    "quoted delimiter": CLEAN + b'CA_1,964,1,"a,b"\n',
    "invalid utf-8": CLEAN + b"CA_1,920,1,\xff\xfe\n",
    "no final newline": CLEAN + b"CA_1,921,1,end",
}


@pytest.mark.parametrize("chunk_bytes", [64, 1 << 20])
@pytest.mark.parametrize("case", list(CASES))
def test_typed_chunks_match_the_text_path(tmp_path: Path, case: str, chunk_bytes: int) -> None:
    # Setup
    path = tmp_path / "prices.csv"
    path.write_bytes(HEADER + CASES[case])
    # Run / Assert
    typed_batches = _assert_paths_agree(path, chunk_bytes, CONTRACT, case)
    if case in ("clean", "crlf", "quoted"):
        assert typed_batches > 0, "clean chunks take the typed path"


PRICE_LAST = b"".join(b"CA_1,%d,%d.25\n" % (100 + i, i + 1) for i in range(40))
PRICE_LAST_CASES = {
    "clean": PRICE_LAST,
    "crlf": PRICE_LAST.replace(b"\n", b"\r\n"),
    "short row": PRICE_LAST + b"CA_1,950\n",
    "empty price": PRICE_LAST + b"CA_1,951,\n",
    "space for a price": PRICE_LAST + b"CA_1,952, \n",
    "spaces around a price": PRICE_LAST + b"CA_1,953, 2.5\nCA_1,954,2.5 \n",
    "nan price": PRICE_LAST + b"CA_1,955,nan\n",
    "inf price": PRICE_LAST + b"CA_1,956,1e400\n",
    "signed price": PRICE_LAST + b"CA_1,957,+.5\n",
    "negative price": PRICE_LAST + b"CA_1,958,-0.50\n",
    "long row": PRICE_LAST + b"CA_1,959,1,2\n",
}


@pytest.mark.parametrize("chunk_bytes", [64, 1 << 20])
@pytest.mark.parametrize("case", list(PRICE_LAST_CASES))
def test_typed_chunks_match_with_a_number_last(tmp_path: Path, case: str, chunk_bytes: int) -> None:
    # Setup: the last column is a number (as in m5 sell_prices), read typed
    contract = Contract(
        table="prices",
        columns=[
            Column(name="store", nullable=False),
            Column(name="week", type="integer", nullable=False),
            Column(name="price", type="float"),
        ],
        checks=[RangeCheck(column="price", min=0, min_inclusive=False)],
    )
    path = tmp_path / "prices.csv"
    path.write_bytes(b"store,week,price\n" + PRICE_LAST_CASES[case])
    # Run / Assert
    typed_batches = _assert_paths_agree(path, chunk_bytes, contract, case)
    if chunk_bytes == 64 or case in ("clean", "crlf", "signed price", "negative price"):
        assert typed_batches > 0, "clean chunks take the typed path"


def test_an_unclosed_quote_fails_both_paths_alike(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(HEADER + CLEAN + b'CA_1,965,1,"abc\nCA_1,966,1,x\n')
    for typed in (True, False):
        with pytest.raises(SourceError, match="opened in the record at line 42 never closes"):
            _run(path, typed=typed, chunk_bytes=64)


def test_a_quote_left_open_on_the_last_line_fails_both_paths_alike(tmp_path: Path) -> None:
    # polars alone reads it as text; the text path names the line
    path = tmp_path / "prices.csv"
    path.write_bytes(HEADER + CLEAN + b'CA_1,965,1,"abc\n')
    for typed in (True, False):
        for chunk_bytes in (64, 1 << 20):
            with pytest.raises(SourceError, match="opened in the record at line 42 never closes"):
                _run(path, typed=typed, chunk_bytes=chunk_bytes)


def test_quarantined_rows_of_a_typed_chunk_keep_the_source_text(tmp_path: Path) -> None:
    # Setup: one chunk, typed, whose duplicate and negative price must show the file's text
    path = tmp_path / "prices.csv"
    path.write_bytes(HEADER + CLEAN + b"CA_1,101,9.50,again\nCA_1,950,-0.50,neg\n")
    # Run
    good, bad, typed_batches = _run(path, typed=True, chunk_bytes=1 << 20)
    # Assert
    assert typed_batches == 1
    assert good.num_rows == 40
    rows = {r["_location"]: r for r in bad.to_pylist()}
    assert rows[42]["price"] == "9.50"
    assert rows[42]["_reasons"] == ["duplicate key (store, week) = (CA_1, 101), first at line 3"]
    assert rows[43]["price"] == "-0.50"
    assert rows[43]["_reasons"] == ["price: -0.5 is out of range (must be > 0)"]


def test_no_typed_read_where_text_and_numbers_could_differ() -> None:
    def types(contract: Contract, **kwargs: object) -> object:
        return BatchValidator(contract, contract.column_names, **kwargs).typed_read_types()  # type: ignore[arg-type]

    assert types(CONTRACT) == ["string", "integer", "float", "string"]
    assert types(CONTRACT, trim=True) is None
    assert types(CONTRACT, null_values=["", "-1"]) is None  # a null token that is a number
    comma = CONTRACT.model_copy(
        update={
            "columns": [
                *CONTRACT.columns[:2],
                Column(name="price", type="float", decimal_comma=True),
                CONTRACT.columns[3],
            ]
        }
    )
    assert types(comma) is None
    dated = Contract(table="t", columns=[Column(name="d", type="date")])
    assert types(dated) is None


def test_ingest_uses_typed_chunks_end_to_end(tmp_path: Path) -> None:
    # Setup
    path = tmp_path / "prices.csv"
    path.write_bytes(HEADER + CLEAN + b"CA_1,101,9.50,again\n")
    ws = lf.Workspace.init(tmp_path / "ws")
    # Run
    result = ws.ingest(path, table="prices", contract=CONTRACT)
    # Assert
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (41, 40, 1)
    table = ws.query("select * from prices order by week")
    assert table.schema.field("price").type == pa.float64()
    assert table.column("price").to_pylist()[:2] == [1.5, 2.5]
    quarantined = ws.query("select price, _location from quarantine.prices").to_pylist()
    assert quarantined == [{"price": "9.50", "_location": 42}]
    ws.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.text(alphabet='CA_1x0925.-+e, "\r\n\t', min_size=0, max_size=14), max_size=6),
    chunk_bytes=st.sampled_from([48, 1 << 20]),
    at_end=st.booleans(),
)
def test_typed_chunks_match_on_random_lines(
    tmp_path: Path, lines: list[str], chunk_bytes: int, at_end: bool
) -> None:
    # random lines (quotes, separators, CRs, signs, exponents) among clean ones, or last
    path = tmp_path / "random.csv"
    random = "\n".join(lines).encode()
    body = CLEAN + random if at_end else CLEAN[:300] + random + b"\n" + CLEAN[300:]
    path.write_bytes(HEADER + body)

    def outcome(typed: bool) -> tuple[Any, ...]:
        try:
            good, bad, _ = _run(path, typed=typed, chunk_bytes=chunk_bytes)
        except SourceError as exc:  # e.g. an unbalanced quote: both paths must say so
            return ("error", str(exc))
        return (good.to_pylist(), bad.to_pylist())

    assert outcome(True) == outcome(False)
