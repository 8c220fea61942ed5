from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lakeforge.ingest._values import arrow_column, value_text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, None, 3], pa.int64()),
        ([1, 2.5], pa.float64()),
        ([True, None], pa.bool_()),
        (["a", None], pa.string()),
        ([Decimal("1.50"), 2], pa.decimal128(3, 2)),
        ([dt.date(2024, 1, 1)], pa.date32()),
        ([dt.datetime(2024, 1, 1, 9), dt.date(2024, 1, 2)], pa.timestamp("us")),
        ([dt.time(9, 30)], pa.time64("us")),
        ([dt.timedelta(seconds=3)], pa.duration("us")),
        ([b"\x00\x01", None], pa.binary()),
        ([None, None], pa.string()),
        ([], pa.string()),
    ],
)
def test_one_kind_gives_one_arrow_type(values: list[Any], expected: pa.DataType) -> None:
    # Setup / Run
    column = arrow_column(values)
    # Assert
    assert column.type == expected
    assert len(column) == len(values)


def test_aware_datetimes_are_stored_in_utc() -> None:
    # Setup
    paris = dt.timezone(dt.timedelta(hours=2))
    # Run
    column = arrow_column([dt.datetime(2024, 6, 1, 12, tzinfo=paris)])
    # Assert
    assert column.type == pa.timestamp("us", tz="UTC")
    assert column.to_pylist()[0] == dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC)


def test_mixed_kinds_become_text_a_person_would_type() -> None:
    # Setup
    values: list[Any] = [1, "x", True, 2.5, dt.datetime(2024, 1, 31, 10), {"a": [1]}, None]
    # Run
    column = arrow_column(values)
    # Assert
    assert column.type == pa.string()
    assert column.to_pylist() == ["1", "x", "true", "2.5", "2024-01-31 10:00:00", '{"a":[1]}', None]


def test_values_arrow_cannot_hold_fall_back_to_text() -> None:
    # Setup / Run
    huge = arrow_column([2**70, 1])
    nan = arrow_column([Decimal("NaN")])
    surrogate = arrow_column(["ok", "\ud800"])
    ids = arrow_column([uuid.UUID(int=1)])
    # Assert
    assert huge.to_pylist() == [str(2**70), "1"]
    assert nan.to_pylist() == ["NaN"]
    assert surrogate.to_pylist() == ["ok", "?"]
    assert ids.to_pylist() == ["00000000-0000-0000-0000-000000000001"]


def test_kinds_given_beforehand_fix_the_type() -> None:
    # Setup / Run
    column = arrow_column([None, 2], kinds={int, float})
    # Assert
    assert column.type == pa.float64()
    assert value_text(False) == "false"
