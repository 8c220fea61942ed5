"""Dirty data: a copy of m5 sell_prices with known faults on known lines.

Six kinds of fault, each on at least 1.5% of the lines, are written into a copy of the real
file (CRLF, no final newline, like the original). The ingest must account for every line:
``read = written + quarantined``, the quarantined lines are exactly the faulty ones, and each
reason says what failed (and, for a duplicate, where the first copy is).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

import lakeforge as lf
from lakeforge.config import IngestSettings, Settings
from lakeforge.contracts import (
    Column,
    Contract,
    RangeCheck,
    ReadOptions,
    RegexCheck,
    UniqueCheck,
)

pytestmark = pytest.mark.realdata

SELL_PRICES = "m5/sell_prices.truncated.csv"
FAULT_SHARE = 0.016  # of the data lines, per kind
#: What the quarantine reason of each kind must say.
REASON_TEXT = {
    "not_a_number": "is not a number",
    "negative_price": "out of range",
    "missing_key": "missing value",
    "duplicate_key": "duplicate key",
    "extra_field": "fields, expected",
    "invalid_utf8": "UTF-8",
}
CONTRACT = Contract(
    table="sell_prices",
    columns=[
        Column(name="store_id", nullable=False),
        Column(name="item_id", nullable=False),
        Column(name="wm_yr_wk", type="integer", nullable=False),
        Column(name="sell_price", type="float", nullable=False),
    ],
    checks=[
        RegexCheck(column="store_id", pattern=r"[A-Z]{2}_\d+"),
        RangeCheck(column="sell_price", min=0, min_inclusive=False),
        RangeCheck(column="wm_yr_wk", min=11101, max=11621),
        UniqueCheck(columns=["store_id", "item_id", "wm_yr_wk"]),
    ],
    read=ReadOptions(format="csv"),
)


@dataclass
class DirtyCopy:
    """The dirty file and its ground truth."""

    path: Path
    data_lines: int
    faults: dict[int, str]  # physical line number -> fault kind
    originals: dict[int, int]  # duplicate's line -> the line it copies


def _inject(lines: list[bytes], rng: np.random.Generator) -> tuple[dict[int, str], dict[int, int]]:
    """Put one fault on each chosen line (``lines[0]`` is the header; line n is lines[n-1])."""
    data = len(lines) - 1
    per_kind = int(np.ceil(FAULT_SHARE * data))
    # the first 100 data lines stay clean, so every duplicate has a clean original before it
    chosen = rng.choice(np.arange(101, data + 1), size=per_kind * len(REASON_TEXT), replace=False)
    kinds = np.repeat(list(REASON_TEXT), per_kind)
    faults = {int(index) + 1: str(kind) for index, kind in zip(chosen, kinds, strict=True)}
    clean = np.setdiff1d(np.arange(1, data + 1), chosen)  # data indexes never touched
    originals: dict[int, int] = {}
    for line, kind in faults.items():
        index = line - 1
        store, item, week, price = lines[index].split(b",")
        if kind == "not_a_number":
            lines[index] = b",".join((store, item, week, price + b"x"))  # 9.58 -> 9.58x
        elif kind == "negative_price":
            lines[index] = b",".join((store, item, week, b"-" + price))
        elif kind == "missing_key":
            blank_store = line % 2 == 0
            lines[index] = b",".join(
                (b"" if blank_store else store, item if blank_store else b"", week, price)
            )
        elif kind == "duplicate_key":
            earlier = clean[: np.searchsorted(clean, index)]
            source = int(rng.choice(earlier))
            lines[index] = lines[source]
            originals[line] = source + 1
        elif kind == "extra_field":
            lines[index] = b",".join((store, item, week, price, b"extra"))
        else:  # invalid UTF-8: a byte that can never start or continue a UTF-8 sequence
            lines[index] = b",".join((store, item[:4] + b"\xff" + item[4:], week, price))
    return faults, originals


@pytest.fixture(scope="module")
def dirty_copy(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> DirtyCopy:
    source = shared_data / SELL_PRICES
    if not source.is_file():
        pytest.skip(f"{SELL_PRICES} is not in {shared_data}")
    raw = source.read_bytes()
    assert b"\r\n" in raw and not raw.endswith(b"\n")  # the layout this test reproduces
    lines = raw.split(b"\r\n")
    faults, originals = _inject(lines, np.random.default_rng(20_240_601))
    path = tmp_path_factory.mktemp("dirty") / "sell_prices_dirty.csv"
    path.write_bytes(b"\r\n".join(lines))
    return DirtyCopy(path, len(lines) - 1, faults, originals)


@pytest.fixture(scope="module")
def dirty_ingest(
    dirty_copy: DirtyCopy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[lf.Workspace, lf.IngestResult]]:
    # 1 MiB chunks: ~35 batches, so duplicates and line numbers cross batch boundaries
    settings = Settings(ingest=IngestSettings(chunk_bytes=1 << 20))
    ws = lf.Workspace.init(tmp_path_factory.mktemp("lake") / "shop", settings=settings)
    result = ws.ingest(dirty_copy.path, table="sell_prices", contract=CONTRACT)
    yield ws, result
    ws.close()


def test_faults_are_injected_as_specified(dirty_copy: DirtyCopy) -> None:
    counts = Counter(dirty_copy.faults.values())
    assert set(counts) == set(REASON_TEXT)
    assert min(counts.values()) >= 0.015 * dirty_copy.data_lines
    assert dirty_copy.data_lines == 1_048_575
    raw = dirty_copy.path.read_bytes()
    assert raw.count(b"\r\n") == dirty_copy.data_lines  # header + rows, no final newline
    assert raw.count(b"\xff") == counts["invalid_utf8"]


def test_every_line_is_written_or_quarantined(
    dirty_copy: DirtyCopy, dirty_ingest: tuple[lf.Workspace, lf.IngestResult]
) -> None:
    ws, result = dirty_ingest
    assert result.status == "succeeded"
    assert result.rows_read == result.rows_written + result.rows_quarantined
    assert result.rows_read == dirty_copy.data_lines
    assert result.rows_quarantined == len(dirty_copy.faults)
    assert ws.table("sell_prices").num_rows() == result.rows_written
    history = ws.table("sell_prices").history()
    assert [(h["rows_read"], h["rows_written"], h["rows_quarantined"]) for h in history] == [
        (result.rows_read, result.rows_written, result.rows_quarantined)
    ]


def test_quarantine_holds_exactly_the_faulty_lines_with_their_reasons(
    dirty_copy: DirtyCopy, dirty_ingest: tuple[lf.Workspace, lf.IngestResult]
) -> None:
    # Setup
    ws, _ = dirty_ingest
    # Run
    bad = ws.table("sell_prices").quarantine().select(["_location", "_reasons"]).to_pylist()
    reasons = {row["_location"]: row["_reasons"] for row in bad}
    # Assert: one quarantine row per faulty line, and no other line
    assert len(reasons) == len(bad)
    assert set(reasons) == set(dirty_copy.faults)
    wrong = {
        line: (kind, reasons[line])
        for line, kind in dirty_copy.faults.items()
        if len(reasons[line]) != 1 or REASON_TEXT[kind] not in reasons[line][0]
    }
    assert wrong == {}, (
        f"{len(wrong)} lines with unexpected reasons, e.g. {list(wrong.items())[:3]}"
    )


def test_each_reason_names_the_column_and_value(
    dirty_copy: DirtyCopy, dirty_ingest: tuple[lf.Workspace, lf.IngestResult]
) -> None:
    ws, _ = dirty_ingest
    bad = ws.table("sell_prices").quarantine().to_pylist()
    by_line = {row["_location"]: row for row in bad}
    seen: set[str] = set()
    for line, kind in dirty_copy.faults.items():
        row, reason = by_line[line], by_line[line]["_reasons"][0]
        if kind == "not_a_number":
            assert reason == f"sell_price: '{row['sell_price']}' is not a number"
            assert row["sell_price"].endswith("x")
        elif kind == "negative_price":
            # the typed value is shown: '-3' reads back as -3.0
            match = re.fullmatch(r"sell_price: (\S+) is out of range \(must be > 0\)", reason)
            assert match is not None, reason
            assert float(match.group(1)) == float(row["sell_price"]) < 0
        elif kind == "missing_key":
            missing = "store_id" if row["store_id"] is None else "item_id"
            assert reason == f"{missing}: missing value (the column is required)"
        elif kind == "extra_field":
            assert reason.startswith("row has 5 fields, expected 4")
            assert row["_raw"].endswith(",extra")
        elif kind == "invalid_utf8":
            assert "\ufffd" in row["item_id"]  # the raw value is kept, bad byte shown
        else:
            continue  # duplicates: see test_duplicates_name_their_first_line
        seen.add(kind)
    assert seen == set(REASON_TEXT) - {"duplicate_key"}


def test_duplicates_name_their_first_line(
    dirty_copy: DirtyCopy, dirty_ingest: tuple[lf.Workspace, lf.IngestResult]
) -> None:
    ws, _ = dirty_ingest
    bad = ws.table("sell_prices").quarantine().to_pylist()
    by_line = {row["_location"]: row for row in bad}
    assert dirty_copy.originals
    for line, original in dirty_copy.originals.items():
        row = by_line[line]
        key = f"({row['store_id']}, {row['item_id']}, {row['wm_yr_wk']})"
        assert row["_reasons"] == [
            f"duplicate key (store_id, item_id, wm_yr_wk) = {key}, first at line {original}"
        ]


def test_clean_rows_are_all_in_the_table(
    dirty_copy: DirtyCopy, dirty_ingest: tuple[lf.Workspace, lf.IngestResult]
) -> None:
    ws, _ = dirty_ingest
    table = ws.table("sell_prices").read()
    assert pc.min(table["sell_price"]).as_py() > 0
    assert table.num_rows == dirty_copy.data_lines - len(dirty_copy.faults)
    keys = ws.query(
        "select count(*) from (select store_id, item_id, wm_yr_wk from sell_prices "
        "group by all having count(*) > 1)"
    )
    assert keys.column(0).to_pylist() == [0]
    bad_bytes = ws.query("select count(*) from sell_prices where item_id like '%\ufffd%'")
    assert bad_bytes.column(0).to_pylist() == [0]
    failed = {c["name"]: c["failed"] for c in ws.table("sell_prices").history()[0]["checks"]}
    counts = Counter(dirty_copy.faults.values())
    assert failed["range(sell_price)"] == counts["negative_price"]
    assert failed["type(sell_price)"] == counts["not_a_number"]
    assert failed["unique(store_id, item_id, wm_yr_wk)"] == counts["duplicate_key"]
    assert failed["parse"] == counts["extra_field"] + counts["invalid_utf8"]
