"""The single-table synthesizer contract every generator follows (model layer).

Two layers, as in the forecasting product: small table-level generators here (they see an
Arrow table and column kinds, nothing else), and the multi-table orchestrator
(``synth/_multitable.py``) that owns contracts, PII fakes, constraints, keys, the
parent -> child cardinalities and streaming to Delta.

A generator follows the estimator contract: ``__init__`` only stores keyword
hyperparameters; :meth:`TableSynthesizer.fit` validates, learns and returns ``self``;
learned state ends in ``_``; :meth:`TableSynthesizer.sample` raises
:class:`~lakeforge.errors.NotFittedError` before ``fit``. Subclasses implement ``_fit``,
``_sample``, ``_state`` and ``_restore``; the public methods validate once (template method).

Example:
    >>> syn = CopulaSynthesizer().fit(adult)  # doctest: +SKIP
    >>> syn.sample(1000, seed=3)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pyarrow as pa

from lakeforge._artefacts import warn_if_other_version
from lakeforge._version import __version__
from lakeforge.errors import ContractError, NotFittedError

__all__ = [
    "DEFAULT_METHOD",
    "SYNTHESIZERS",
    "ColumnKind",
    "TableSynthesizer",
    "infer_kinds",
    "load_synthesizer",
    "register_synthesizer",
]

ColumnKind = Literal["categorical", "numeric", "datetime", "boolean"]
"""How a generator models a column: numeric covers integers and floats (bounds and integer
rounding are kept), datetime covers dates and timestamps (learned as numbers, returned in
their Arrow type), categorical covers strings and low-cardinality codes."""

SYNTHESIZERS: dict[str, type[TableSynthesizer]] = {}
"""Registered generators by ``method`` name (``copula``, ``autoregressive``, ...)."""

DEFAULT_METHOD = "autoregressive"
"""The generator Lakeforge uses when none is named (the benchmarked one)."""


def register_synthesizer(cls: type[TableSynthesizer]) -> type[TableSynthesizer]:
    """Class decorator: make a generator loadable by name and selectable by ``method``."""
    SYNTHESIZERS[cls.method] = cls
    return cls


def infer_kinds(table: pa.Table) -> dict[str, ColumnKind]:
    """The default kind of every column, from its Arrow type."""
    kinds: dict[str, ColumnKind] = {}
    for field in table.schema:
        t = field.type
        if pa.types.is_boolean(t):
            kinds[field.name] = "boolean"
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            kinds[field.name] = "numeric"
        elif pa.types.is_timestamp(t) or pa.types.is_date(t):
            kinds[field.name] = "datetime"
        else:
            kinds[field.name] = "categorical"
    return kinds


class TableSynthesizer(ABC):
    """Learn one table's joint distribution and sample new rows from it.

    ``context_columns`` are columns of the training table that are *given* at sample time
    (a parent's attributes, for child rows that depend on them): the generator learns the
    other columns conditioned on them, and :meth:`sample` with ``context=`` returns one row
    per context row, without the context columns.
    """

    method: ClassVar[str] = ""

    # learned state, set by fit
    columns_: list[str]
    kinds_: dict[str, ColumnKind]
    context_columns_: list[str]
    schema_: pa.Schema
    n_rows_: int

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    # -- hyperparameters (scikit-learn style) ---------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The keyword hyperparameters given to ``__init__``."""
        import inspect

        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        return {name: getattr(self, name) for name in names}

    # -- public template methods ----------------------------------------------------------
    def fit(
        self,
        data: pa.Table,
        *,
        context_columns: Sequence[str] = (),
        kinds: Mapping[str, ColumnKind] | None = None,
    ) -> Self:
        """Learn ``data`` (an Arrow table); ``kinds`` overrides :func:`infer_kinds`."""
        if data.num_rows == 0:
            raise ContractError("cannot fit a synthesizer on an empty table")
        missing = [c for c in context_columns if c not in data.column_names]
        if missing:
            raise ContractError(f"context columns not in the table: {', '.join(missing)}")
        resolved = infer_kinds(data)
        for name, kind in (kinds or {}).items():
            if name not in resolved:
                raise ContractError(f"kind given for unknown column {name!r}", column=name)
            resolved[name] = kind
        self.columns_ = [c for c in data.column_names if c not in context_columns]
        if not self.columns_:
            raise ContractError("nothing to learn: every column is a context column")
        self.kinds_ = resolved
        self.context_columns_ = list(context_columns)
        self.schema_ = data.schema
        self.n_rows_ = data.num_rows
        self._fit(data, np.random.default_rng(self.seed))
        return self

    def sample(
        self,
        num_rows: int | None = None,
        *,
        context: pa.Table | None = None,
        conditions: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> pa.Table:
        """Sample rows: ``num_rows`` (default: as many as fitted), or one per ``context`` row.

        ``conditions`` fixes columns to values (``{"is_fraud": True}``); every returned row
        satisfies them, drawn from the conditional distribution (no rejection sampling).
        """
        self._check_fitted()
        if context is not None:
            absent = [c for c in self.context_columns_ if c not in context.column_names]
            if absent:
                raise ContractError(f"context lacks columns: {', '.join(absent)}")
            num_rows = context.num_rows
        elif self.context_columns_:
            raise ContractError(
                f"this synthesizer was fitted with context columns "
                f"({', '.join(self.context_columns_)}); pass context="
            )
        n = self.n_rows_ if num_rows is None else int(num_rows)
        if n < 0:
            raise ContractError(f"num_rows must be >= 0, got {n}")
        unknown = [c for c in (conditions or {}) if c not in self.columns_]
        if unknown:
            raise ContractError(f"conditions on unknown columns: {', '.join(unknown)}")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        out = self._sample(n, context, dict(conditions or {}), rng)
        return out.select(self.columns_)

    # -- subclass hooks -------------------------------------------------------------------
    @abstractmethod
    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        """Learn from ``data`` (``self.kinds_``, ``self.context_columns_`` are set)."""

    @abstractmethod
    def _sample(
        self,
        n: int,
        context: pa.Table | None,
        conditions: dict[str, Any],
        rng: np.random.Generator,
    ) -> pa.Table:
        """Return ``n`` rows holding ``self.columns_`` in ``self.schema_``'s types."""

    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state as JSON-ready metadata plus NumPy arrays (no pickle)."""

    @abstractmethod
    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Rebuild the learned state written by :meth:`_state`."""

    # -- persistence ----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def save(self, path: str | Path) -> Path:
        """Save as ``synthesizer.json`` + ``arrays.npz`` + ``schema.arrow`` in folder ``path``."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta, arrays = self._state()
        np.savez_compressed(folder / "arrays.npz", **dict[str, Any](arrays))
        with pa.OSFile(str(folder / "schema.arrow"), "wb") as sink:
            pa.ipc.new_file(sink, self.schema_).close()
        doc = {
            "method": self.method,
            "params": self.get_params(),
            "lakeforge_version": __version__,
            "columns": self.columns_,
            "kinds": self.kinds_,
            "context_columns": self.context_columns_,
            "n_rows": self.n_rows_,
            "meta": meta,
        }
        (folder / "synthesizer.json").write_text(json.dumps(doc, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> TableSynthesizer:
        """Load a generator saved with :meth:`save` (warns when the Lakeforge version differs)."""
        return load_synthesizer(path)


def load_synthesizer(path: str | Path) -> TableSynthesizer:
    """Load any saved generator from its folder."""
    folder = Path(path)
    doc = json.loads((folder / "synthesizer.json").read_text())
    warn_if_other_version(doc.get("lakeforge_version"), "synthesizer", folder, symptom="samples")
    try:
        cls = SYNTHESIZERS[doc["method"]]
    except KeyError:
        raise ContractError(f"unknown synthesizer method {doc.get('method')!r}") from None
    model = cls(**doc["params"])
    with pa.OSFile(str(folder / "schema.arrow"), "rb") as source:
        model.schema_ = pa.ipc.open_file(source).schema
    model.columns_ = list(doc["columns"])
    model.kinds_ = dict(doc["kinds"])
    model.context_columns_ = list(doc["context_columns"])
    model.n_rows_ = int(doc["n_rows"])
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    model._restore(doc["meta"], arrays)
    return model
