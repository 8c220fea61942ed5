"""Independent marginals: every column drawn from its own empirical distribution.

The no-correlation baseline of the synthetic-data benchmark, and the simplest generator
that honours the :class:`~lakeforge.synth._base.TableSynthesizer` contract (context is
accepted and ignored). Values are resampled from the training column, so rare values can
appear verbatim: never use it where privacy matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.synth._base import TableSynthesizer, register_synthesizer

__all__ = ["IndependentSynthesizer"]


@register_synthesizer
class IndependentSynthesizer(TableSynthesizer):
    """Sample each column independently from its training values (bootstrap per column)."""

    method = "independent"

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)

    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        self.values_ = {name: data.column(name).combine_chunks() for name in self.columns_}

    def _sample(
        self,
        n: int,
        context: pa.Table | None,
        conditions: dict[str, Any],
        rng: np.random.Generator,
    ) -> pa.Table:
        arrays = []
        for name in self.columns_:
            field = self.schema_.field(name)
            if name in conditions:
                arrays.append(pa.array([conditions[name]] * n, type=field.type))
                continue
            values = self.values_[name]
            picks = rng.integers(0, len(values), size=n)
            arrays.append(pc.take(values, pa.array(picks)))
        return pa.Table.from_arrays(
            arrays, schema=pa.schema([self.schema_.field(c) for c in self.columns_])
        )

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        table = pa.table(self.values_)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return {}, {"values_ipc": np.frombuffer(sink.getvalue().to_pybytes(), dtype=np.uint8)}

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        reader = pa.ipc.open_stream(pa.py_buffer(arrays["values_ipc"].tobytes()))
        table = reader.read_all()
        self.values_ = {name: table.column(name).combine_chunks() for name in table.column_names}
