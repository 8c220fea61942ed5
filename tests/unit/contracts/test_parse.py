from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from lakeforge.contracts import Column
from lakeforge.contracts._parse import (
    DATE_FORMATS,
    TIMESTAMP_FORMATS,
    arrow_type,
    cast_expr,
    polars_type,
    type_noun,
)

UTC = dt.UTC


def _cast(values: list[Any], column: Column, dtype: pl.DataType | None = None) -> list[Any]:
    series = pl.Series("raw", values, dtype=dtype or pl.String())
    frame = series.to_frame()
    return frame.select(cast_expr("raw", column, frame.schema["raw"])).to_series().to_list()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("-7", -7),
        ("+5", 5),
        ("1.5", None),
        ("1e3", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_integers(raw: str | None, expected: int | None) -> None:
    assert _cast([raw], Column(name="n", type="integer")) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3.50", 3.5),
        (" 2 ", 2.0),
        ("1e3", 1000.0),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("3,50", None),
        ("abc", None),
    ],
)
def test_floats(raw: str, expected: float | None) -> None:
    assert _cast([raw], Column(name="x", type="float")) == [expected]


@pytest.mark.parametrize("raw", ["NaN", "nan", "inf", "-inf", "Infinity"])
def test_nan_and_infinity_are_refused(raw: str) -> None:
    assert _cast([raw], Column(name="x", type="float")) == [None]
    assert _cast([raw], Column(name="x", type="decimal", scale=2)) == [None]


def test_nan_from_a_typed_float_source_is_refused_too() -> None:
    values = _cast([1.5, float("nan"), float("inf")], Column(name="x", type="float"), pl.Float64())
    assert values == [1.5, None, None]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3,50", 3.5),
        ("1.234,5", 1234.5),
        ("-0,75", -0.75),
        ("12", 12.0),
        ("1.000.000,00", 1_000_000.0),
    ],
)
def test_decimal_comma(raw: str, expected: float) -> None:
    assert _cast([raw], Column(name="x", type="float", decimal_comma=True)) == [expected]


def test_decimal_comma_integers_drop_thousands_points() -> None:
    assert _cast(["1.234", "7"], Column(name="n", type="integer", decimal_comma=True)) == [
        1234,
        7,
    ]


def test_decimal_keeps_scale() -> None:
    values = _cast(["12.5", "0.1", "x"], Column(name="d", type="decimal", scale=2))
    assert values == [Decimal("12.50"), Decimal("0.10"), None]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" Yes ", True),
        ("y", True),
        ("t", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("N", False),
        ("f", False),
        ("0", False),
        ("maybe", None),
        ("2", None),
    ],
)
def test_booleans(raw: str, expected: bool | None) -> None:
    assert _cast([raw], Column(name="b", type="boolean")) == [expected]


@pytest.mark.parametrize(
    ("fmt", "raw", "expected"),
    [
        ("%Y-%m-%d", "2011-01-29", dt.date(2011, 1, 29)),
        ("%d/%m/%Y", "29/01/2011", dt.date(2011, 1, 29)),
        ("%m/%d/%Y", "1/29/2011", dt.date(2011, 1, 29)),
        ("%d.%m.%Y", "29.01.2011", dt.date(2011, 1, 29)),
        ("%Y%m%d", "20110129", dt.date(2011, 1, 29)),
        ("%d-%b-%Y", "01-Jan-1995", dt.date(1995, 1, 1)),
        ("%d %b %Y", "29 Jan 2011", dt.date(2011, 1, 29)),
    ],
)
def test_dates_with_a_format(fmt: str, raw: str, expected: dt.date) -> None:
    assert fmt in DATE_FORMATS
    assert _cast([raw, "not a date"], Column(name="d", type="date", format=fmt)) == [
        expected,
        None,
    ]


def test_dates_without_a_format_try_every_known_format() -> None:
    values = _cast(["2011-01-29", "29/01/2011", "29.01.2011", "x"], Column(name="d", type="date"))
    assert values == [dt.date(2011, 1, 29)] * 3 + [None]


def test_a_date_format_does_not_accept_another_layout() -> None:
    assert _cast(
        ["2011-01-29", "13/01/2011"], Column(name="d", type="date", format="%m/%d/%Y")
    ) == [None, None]


@pytest.mark.parametrize(
    ("fmt", "raw", "expected"),
    [
        ("%Y-%m-%d %H:%M:%S", "2011-10-30 16:17:00", dt.datetime(2011, 10, 30, 16, 17)),
        ("%Y-%m-%dT%H:%M:%S", "2011-10-30T16:17:05", dt.datetime(2011, 10, 30, 16, 17, 5)),
        (
            "%Y-%m-%d %H:%M:%S%.f",
            "2011-10-30 16:17:05.250",
            dt.datetime(2011, 10, 30, 16, 17, 5, 250_000),
        ),
        ("%m/%d/%Y %H:%M", "12/1/2010 8:26", dt.datetime(2010, 12, 1, 8, 26)),
        ("%m/%d/%Y %H:%M", "12/13/2010 14:05", dt.datetime(2010, 12, 13, 14, 5)),
        ("%d/%m/%Y %H:%M", "13/12/2010 14:05", dt.datetime(2010, 12, 13, 14, 5)),
        ("%d.%m.%Y %H:%M", "13.12.2010 14:05", dt.datetime(2010, 12, 13, 14, 5)),
        ("%m/%d/%Y %I:%M %p", "12/1/2010 8:26 PM", dt.datetime(2010, 12, 1, 20, 26)),
    ],
)
def test_timestamps_with_a_format(fmt: str, raw: str, expected: dt.datetime) -> None:
    assert fmt in TIMESTAMP_FORMATS
    column = Column(name="ts", type="timestamp", format=fmt)
    assert _cast([raw, "later"], column) == [expected, None]


def test_offsets_become_utc_instants() -> None:
    # Setup
    column = Column(name="ts", type="timestamp", format="%Y-%m-%dT%H:%M:%S%z", timezone=True)

    # Run
    values = _cast(["2020-01-01T01:00:00+0100", "2020-01-01T00:00:00-0230"], column)

    # Assert
    assert values == [
        dt.datetime(2020, 1, 1, 0, 0, tzinfo=UTC),
        dt.datetime(2020, 1, 1, 2, 30, tzinfo=UTC),
    ]


def test_zulu_suffix_is_read_as_utc() -> None:
    column = Column(name="ts", type="timestamp", format="%Y-%m-%dT%H:%M:%S%.f%#z", timezone=True)
    assert _cast(["2020-01-01T00:00:00Z", "2020-01-01T00:00:00.5Z"], column) == [
        dt.datetime(2020, 1, 1, tzinfo=UTC),
        dt.datetime(2020, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC),
    ]


@pytest.mark.parametrize("timezone", [False, True])
def test_timestamps_without_a_format_mix_naive_and_offset_layouts(timezone: bool) -> None:
    # Setup
    column = Column(name="ts", type="timestamp", timezone=timezone)
    tz = UTC if timezone else None

    # Run
    values = _cast(
        ["2020-01-01 10:00:00", "2020-01-01T12:00:00+01:00", "12/1/2010 8:26", "x"], column
    )

    # Assert
    assert values == [
        dt.datetime(2020, 1, 1, 10, tzinfo=tz),
        dt.datetime(2020, 1, 1, 11, tzinfo=tz),
        dt.datetime(2010, 12, 1, 8, 26, tzinfo=tz),
        None,
    ]


def test_text_is_trimmed_for_typed_columns_but_kept_for_strings() -> None:
    assert _cast(["  42  "], Column(name="n", type="integer")) == [42]
    assert _cast([" 2011-01-29 "], Column(name="d", type="date", format="%Y-%m-%d")) == [
        dt.date(2011, 1, 29)
    ]
    assert _cast(["  padded "], Column(name="s")) == ["  padded "]


def test_typed_sources_are_cast_not_parsed() -> None:
    assert _cast([1, 2], Column(name="s"), pl.Int64()) == ["1", "2"]
    assert _cast([1, None], Column(name="x", type="float"), pl.Int64()) == [1.0, None]
    stamp = dt.datetime(2020, 1, 1, 12, 30)
    assert _cast([stamp], Column(name="d", type="date"), pl.Datetime("us")) == [dt.date(2020, 1, 1)]
    assert _cast(
        [stamp], Column(name="ts", type="timestamp", timezone=True), pl.Datetime("us")
    ) == [stamp.replace(tzinfo=UTC)]


def test_storage_types() -> None:
    assert polars_type(Column(name="a", type="integer")) == pl.Int64()
    assert polars_type(Column(name="a", type="decimal", scale=3)) == pl.Decimal(38, 3)
    assert polars_type(Column(name="a", type="timestamp", timezone=True)) == pl.Datetime(
        "us", "UTC"
    )
    assert arrow_type(Column(name="a", type="date")) == pa.date32()
    assert arrow_type(Column(name="a", type="decimal", scale=2)) == pa.decimal128(38, 2)
    assert arrow_type(Column(name="a", type="timestamp")) == pa.timestamp("us")
    assert type_noun("integer") == "whole number"
