"""Data quality: the check engine applied on every write, and check results."""

from lakeforge.quality._engine import (
    BatchValidator,
    CheckResult,
    KeyIndex,
    ParentKeys,
    PreparedBatch,
    ValidatedBatch,
    quarantine_schema,
    table_schema,
)

__all__ = [
    "BatchValidator",
    "CheckResult",
    "KeyIndex",
    "ParentKeys",
    "PreparedBatch",
    "ValidatedBatch",
    "quarantine_schema",
    "table_schema",
]
