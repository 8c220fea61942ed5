"""Dataset contracts: schema, keys, checks, PII tags; YAML round trip; inference from data."""

from lakeforge.contracts._model import (
    AllowedValuesCheck,
    Check,
    Column,
    ColumnType,
    Contract,
    ExpressionCheck,
    ForeignKey,
    FreshnessCheck,
    PiiTag,
    RangeCheck,
    ReadOptions,
    RegexCheck,
    UniqueCheck,
)

__all__ = [
    "AllowedValuesCheck",
    "Check",
    "Column",
    "ColumnType",
    "Contract",
    "ExpressionCheck",
    "ForeignKey",
    "FreshnessCheck",
    "PiiTag",
    "RangeCheck",
    "ReadOptions",
    "RegexCheck",
    "UniqueCheck",
]
