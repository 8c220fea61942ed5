"""Lakeforge: a local-first lakehouse for data products.

>>> import lakeforge as lf
>>> ws = lf.Workspace.init("./shop")  # doctest: +SKIP
>>> ws.ingest("orders.csv", table="orders").rows_written  # doctest: +SKIP
>>> lf.synth.Synthesizer(contracts).fit(tables).sample(scale=1.0)  # doctest: +SKIP
"""

from lakeforge import errors
from lakeforge._version import __version__
from lakeforge.config import Settings, get_settings
from lakeforge.contracts import (
    AllowedValuesCheck,
    Column,
    Contract,
    ExpressionCheck,
    ForeignKey,
    FreshnessCheck,
    RangeCheck,
    ReadOptions,
    RegexCheck,
    UniqueCheck,
)
from lakeforge.errors import LakeforgeError, NotFittedError
from lakeforge.ingest._pipeline import IngestResult
from lakeforge.workspace import Table, TableInfo, Workspace

__all__ = [
    "AllowedValuesCheck",
    "Column",
    "Contract",
    "ExpressionCheck",
    "ForeignKey",
    "FreshnessCheck",
    "IngestResult",
    "LakeforgeError",
    "NotFittedError",
    "RangeCheck",
    "ReadOptions",
    "RegexCheck",
    "Settings",
    "Table",
    "TableInfo",
    "UniqueCheck",
    "Workspace",
    "__version__",
    "errors",
    "get_settings",
    "synth",
]


def __getattr__(name: str) -> object:
    """``lf.synth`` on first use (its generators pull in optional packages)."""
    if name == "synth":
        import importlib

        return importlib.import_module("lakeforge.synth")
    raise AttributeError(f"module 'lakeforge' has no attribute {name!r}")
