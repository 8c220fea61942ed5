"""How raw values become typed values: one set of rules for validation and inference.

Text is trimmed for non-string types, null tokens become null, then the value is parsed as
the column's logical type. A value that is not null before parsing and null after it failed
to parse; the pipeline quarantines that row and names the value.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from lakeforge.contracts._model import Column, ColumnType

__all__ = [
    "DATE_FORMATS",
    "FALSE_TOKENS",
    "TIMESTAMP_FORMATS",
    "TRUE_TOKENS",
    "arrow_type",
    "cast_expr",
    "polars_type",
    "type_noun",
]

TRUE_TOKENS = ("true", "t", "yes", "y", "1")
FALSE_TOKENS = ("false", "f", "no", "n", "0")

#: Date formats tried by inference, most common first (ISO, European, US, compact).
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y%m%d",
    "%d %b %Y",
    "%b %d %Y",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%B %d, %Y",
)

#: Timestamp formats tried by inference.
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
)

_NOUNS: dict[ColumnType, str] = {
    "string": "text",
    "integer": "whole number",
    "float": "number",
    "decimal": "decimal number",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def type_noun(kind: ColumnType) -> str:
    """How a type is named in messages ("is not a whole number")."""
    return _NOUNS[kind]


def polars_type(column: Column) -> pl.DataType:
    """The polars dtype a column is stored as."""
    kind = column.type
    if kind == "string":
        return pl.String()
    if kind == "integer":
        return pl.Int64()
    if kind == "float":
        return pl.Float64()
    if kind == "decimal":
        return pl.Decimal(38, column.scale)
    if kind == "boolean":
        return pl.Boolean()
    if kind == "date":
        return pl.Date()
    return pl.Datetime("us", "UTC" if column.timezone else None)


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type a column is written to Delta as."""
    kind = column.type
    mapping: dict[str, pa.DataType] = {
        "string": pa.large_string(),  # what polars produces: no copy on write
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
    }
    if kind in mapping:
        return mapping[kind]
    if kind == "decimal":
        return pa.decimal128(38, column.scale)
    return pa.timestamp("us", tz="UTC" if column.timezone else None)


def _parse_text(raw: pl.Expr, column: Column) -> pl.Expr:
    """Parse a String expression (already null-tokenised) as the column's type."""
    kind = column.type
    if kind == "string":
        return raw
    text = raw.str.strip_chars()
    if kind in ("integer", "float", "decimal"):
        if column.decimal_comma:
            text = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        if kind == "integer":
            return text.cast(pl.Int64, strict=False)
        number = text.cast(pl.Float64, strict=False)
        # NaN / inf parse as floats but are never valid measurements in a contract.
        number = pl.when(number.is_finite()).then(number).otherwise(None)
        return number if kind == "float" else number.cast(polars_type(column), strict=False)
    if kind == "boolean":
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_TOKENS))
            .then(pl.lit(True))
            .when(lowered.is_in(FALSE_TOKENS))
            .then(pl.lit(False))
            .otherwise(None)
        )
    if kind == "date":
        formats = [column.format] if column.format else list(DATE_FORMATS)
        parsed = [text.str.to_date(fmt, strict=False) for fmt in formats]
        return parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)
    formats = [column.format] if column.format else list(TIMESTAMP_FORMATS)
    target = polars_type(column)
    # each format is cast to the target first: offset formats give UTC instants, the others
    # naive ones, and coalesce needs one dtype
    stamps = [_to_timestamp(text, fmt, column).cast(target, strict=False) for fmt in formats]
    return stamps[0] if len(stamps) == 1 else pl.coalesce(stamps)


def _to_timestamp(text: pl.Expr, fmt: str, column: Column) -> pl.Expr:
    if "%z" in fmt or "%#z" in fmt or "%:z" in fmt:
        return text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
    parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
    return parsed.dt.replace_time_zone("UTC") if column.timezone else parsed


def cast_expr(name: str, column: Column, source_dtype: pl.DataType) -> pl.Expr:
    """An expression turning raw column ``name`` into the column's type (null = not parsed).

    Null tokens must already have been replaced by nulls (see ``null_tokens_expr``).
    """
    raw = pl.col(name)
    if source_dtype == pl.String:
        return _parse_text(raw, column)
    target = polars_type(column)
    if column.type == "string":
        return raw.cast(pl.String, strict=False)
    if column.type == "date" and isinstance(source_dtype, pl.Datetime):
        return raw.dt.date()
    if column.type in ("float", "decimal"):
        number = raw.cast(pl.Float64, strict=False)
        number = pl.when(number.is_finite()).then(number).otherwise(None)
        return number.cast(target, strict=False)
    if column.type == "timestamp" and isinstance(source_dtype, pl.Datetime):
        if source_dtype.time_zone is None and column.timezone:
            return raw.dt.replace_time_zone("UTC").cast(target)
        if source_dtype.time_zone is not None and not column.timezone:
            return raw.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(target)
    return raw.cast(target, strict=False)
