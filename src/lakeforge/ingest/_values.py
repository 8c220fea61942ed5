"""Python values (from JSON, spreadsheet cells and database drivers) to typed Arrow columns.

Typed sources hand over Python objects. A column whose values share one kind becomes that
kind's Arrow type (int -> int64, float -> float64, Decimal -> decimal, datetime -> timestamp,
...; ints mixed with floats -> float64, dates mixed with datetimes -> timestamp). A column of
mixed kinds becomes text, each value written the way a person would type it (``true``,
``2024-01-31 10:00:00``, JSON for nested values), so validation can still parse it. Nested
values (dicts and lists) are always JSON text.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

__all__ = ["arrow_column", "value_kinds", "value_text"]

_NoneType = type(None)
_NESTED = (dict, list, tuple)
_BASES: tuple[type, ...] = (
    bool,
    int,
    float,
    Decimal,
    str,
    dt.datetime,
    dt.date,
    dt.time,
    dt.timedelta,
    bytes,
    bytearray,
    memoryview,
    dict,
    list,
    tuple,
    uuid.UUID,
)
_EXACT: dict[type, pa.DataType] = {
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    str: pa.string(),
    dt.date: pa.date32(),
    dt.time: pa.time64("us"),
    dt.timedelta: pa.duration("us"),
}
_BINARY = frozenset({bytes, bytearray, memoryview})


def _base_kind(kind: type) -> type:
    """``kind`` itself when known, else the known base it derives from, else ``object``."""
    if kind in _BASES or kind is _NoneType:
        return kind
    for base in _BASES:
        if issubclass(kind, base):
            return base
    return object


def value_kinds(values: Iterable[Any]) -> set[type]:
    """The set of value kinds in ``values``, nulls left out (subclasses folded to their base)."""
    kinds = {type(v) for v in values}
    kinds.discard(_NoneType)
    return {_base_kind(k) for k in kinds}


def value_text(value: Any) -> str | None:
    """A value written as text: JSON for nested values, ISO 8601 for dates, ``true``/``false``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, _NESTED):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _text_array(values: Sequence[Any]) -> pa.Array:
    texts = [value_text(v) for v in values]
    try:
        return pa.array(texts, pa.string())
    except UnicodeEncodeError:  # lone surrogates (e.g. a JSON "\ud800" escape)
        return pa.array([_valid_utf8(t) for t in texts], pa.string())


def _valid_utf8(text: str | None) -> str | None:
    if text is None:
        return None
    return text.encode("utf-8", errors="replace").decode("utf-8")


def _timestamps(values: Sequence[Any]) -> pa.Array:
    """Naive datetimes (and dates, at midnight) as timestamp[us]; aware ones in UTC."""
    aware = {v.tzinfo is not None for v in values if isinstance(v, dt.datetime)}
    if len(aware) > 1:
        return _text_array(values)
    tz = "UTC" if aware == {True} else None
    stamps = [dt.datetime.combine(v, dt.time()) if type(v) is dt.date else v for v in values]
    return pa.array(stamps, pa.timestamp("us", tz=tz))


def _typed(values: Sequence[Any], kinds: set[type]) -> pa.Array:
    if not kinds:
        return pa.nulls(len(values), pa.string())
    if len(kinds) == 1:
        (kind,) = kinds
        if kind in _EXACT:
            return pa.array(values, _EXACT[kind])
        if kind is Decimal:
            return pa.array(values)
        if kind is dt.datetime:
            return _timestamps(values)
        if kind in _BINARY:
            return pa.array([None if v is None else bytes(v) for v in values], pa.binary())
        return _text_array(values)
    if kinds == {int, float}:
        return pa.array(values, pa.float64())
    if kinds == {int, Decimal}:
        return pa.array([Decimal(v) if type(v) is int else v for v in values])
    if kinds == {dt.datetime, dt.date}:
        return _timestamps(values)
    return _text_array(values)


def arrow_column(values: Sequence[Any], kinds: set[type] | None = None) -> pa.Array:
    """One Arrow array for a column of Python values.

    Args:
        values: the column's values, ``None`` for null.
        kinds: the kinds to type the column by, when known beforehand (e.g. from a scan of
            the whole file, so every batch gets the same type); default: ``value_kinds``.

    Returns:
        A typed array when the values share one kind, else a string array. Values that
        Arrow cannot hold in that type (an int beyond int64, a NaN decimal) make it text.

    Example:
        >>> arrow_column([1, 2.5, None]).type
        DataType(double)
    """
    resolved = value_kinds(values) if kinds is None else kinds
    try:
        return _typed(values, resolved)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return _text_array(values)
