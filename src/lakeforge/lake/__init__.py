"""The lake: Delta tables on disk and read-only SQL over them."""

from lakeforge.lake._delta import DeltaStore, WriteMode
from lakeforge.lake._query import AsOf, QueryEngine, check_read_only

__all__ = ["AsOf", "DeltaStore", "QueryEngine", "WriteMode", "check_read_only"]
