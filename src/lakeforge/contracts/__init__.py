"""Dataset contracts: schema, keys, checks, PII tags; YAML round trip; inference from data."""

from lakeforge.contracts._infer import infer_contract
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
from lakeforge.contracts._sniff import sniff_csv

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
    "infer_contract",
    "sniff_csv",
]
