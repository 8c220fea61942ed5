"""``method="auto"``: pick a generator by data size and a quick validation score.

Tables too large for the autoregressive model to fit in minutes (more than ``max_cells``
cells) get the copula straight away. Otherwise both candidates are fitted on a training
subsample of at most ``validation_rows`` rows and scored against held-out rows with a fast
fidelity proxy (the mean total-variation complement of every column and every pair of
columns, numbers cut into deciles); the winner is then fitted on the whole table. Ties go to
the autoregressive model, the more faithful one on mixed data.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
import pyarrow as pa

from lakeforge.synth._base import (
    DEFAULT_METHOD,
    SYNTHESIZERS,
    ColumnKind,
    TableSynthesizer,
    register_synthesizer,
)
from lakeforge.synth._encoding import fit_codec

__all__ = ["AutoSynthesizer", "quick_fidelity"]


def quick_fidelity(
    real: pa.Table, synthetic: pa.Table, kinds: Mapping[str, ColumnKind], *, bins: int = 10
) -> float:
    """Mean TV complement over single columns and column pairs (1.0 = same distribution).

    Columns are tokenised by codecs fitted on ``real`` (numbers into ``bins`` quantile bins,
    categories up to 50 tokens), so the score is cheap for any column kind.
    """
    names = [c for c in real.column_names if c in synthetic.column_names]
    codes_real, codes_syn, sizes = [], [], []
    for name in names:
        codec = fit_codec(
            real.column(name),
            kinds.get(name, "categorical"),
            n_bins=bins,
            min_count=1,
            max_tokens=50,
            atom_share=1.0,
        )
        t_real, _ = codec.encode(real.column(name))
        t_syn, _ = codec.encode(synthetic.column(name))
        k = codec.n_tokens + 1  # + a slot for values the codec cannot place
        codes_real.append(np.where(t_real < 0, k - 1, t_real))
        codes_syn.append(np.where(t_syn < 0, k - 1, t_syn))
        sizes.append(k)

    def tv(a: np.ndarray, b: np.ndarray, size: int) -> float:
        pa_ = np.bincount(a, minlength=size) / max(len(a), 1)
        pb = np.bincount(b, minlength=size) / max(len(b), 1)
        return 1.0 - 0.5 * float(np.abs(pa_ - pb).sum())

    scores = [tv(codes_real[i], codes_syn[i], sizes[i]) for i in range(len(names))]
    for i, j in combinations(range(len(names)), 2):
        size = sizes[i] * sizes[j]
        scores.append(
            tv(
                codes_real[i] * sizes[j] + codes_real[j],
                codes_syn[i] * sizes[j] + codes_syn[j],
                size,
            )
        )
    return float(np.mean(scores)) if scores else 1.0


@register_synthesizer
class AutoSynthesizer(TableSynthesizer):
    """Chooses ``autoregressive`` or ``copula`` for the table at hand, then fits it.

    Args:
        seed: Seeds the choice, fitting and (unless ``sample(seed=)``) sampling.
        candidates: Methods to choose between (registered names).
        max_cells: Above this many cells only the cheapest candidate (the last) is used.
        validation_rows: Most rows fitted per candidate during the choice.
        params: Hyperparameters per candidate method (``{"copula": {"n_bins": 100}}``).

    Example:
        >>> syn = AutoSynthesizer().fit(table)  # doctest: +SKIP
        >>> syn.chosen_
        'autoregressive'
    """

    method = "auto"

    def __init__(
        self,
        *,
        seed: int = 0,
        candidates: tuple[str, ...] | list[str] = (DEFAULT_METHOD, "copula"),
        max_cells: int = 20_000_000,
        validation_rows: int = 5_000,
        params: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.candidates = list(candidates)
        self.max_cells = max_cells
        self.validation_rows = validation_rows
        self.params = {k: dict(v) for k, v in (params or {}).items()}

    def _make(self, method: str) -> TableSynthesizer:
        return SYNTHESIZERS[method](seed=self.seed, **self.params.get(method, {}))

    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        kinds = dict(self.kinds_)
        self.scores_: dict[str, float] = {}
        if len(self.candidates) == 1 or data.num_rows * data.num_columns > self.max_cells:
            self.chosen_ = self.candidates[-1]
        else:
            self.chosen_ = self._choose(data, kinds, rng)
        self.inner_ = self._make(self.chosen_).fit(
            data, context_columns=self.context_columns_, kinds=kinds
        )

    def _choose(
        self, data: pa.Table, kinds: dict[str, ColumnKind], rng: np.random.Generator
    ) -> str:
        n = data.num_rows
        perm = rng.permutation(n)
        n_hold = max(1, min(n // 4, self.validation_rows // 2))
        hold = data.take(pa.array(perm[:n_hold]))
        train = data.take(pa.array(perm[n_hold : n_hold + self.validation_rows]))
        if train.num_rows < 50:
            return self.candidates[0]
        context = hold.select(self.context_columns_) if self.context_columns_ else None
        for method in self.candidates:
            model = self._make(method).fit(
                train, context_columns=self.context_columns_, kinds=kinds
            )
            syn = model.sample(hold.num_rows, context=context, seed=self.seed)
            self.scores_[method] = quick_fidelity(hold.select(model.columns_), syn, kinds)
        best = max(self.scores_.values())
        return next(m for m in self.candidates if self.scores_[m] >= best - 1e-3)

    def _sample(
        self,
        n: int,
        context: pa.Table | None,
        conditions: dict[str, Any],
        rng: np.random.Generator,
    ) -> pa.Table:
        return self.inner_._sample(n, context, conditions, rng)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.inner_._state()
        doc = {
            "chosen": self.chosen_,
            "scores": self.scores_,
            "inner_params": self.inner_.get_params(),
            "inner": meta,
        }
        return doc, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.chosen_ = str(meta["chosen"])
        self.scores_ = {k: float(v) for k, v in meta["scores"].items()}
        inner = SYNTHESIZERS[self.chosen_](**meta["inner_params"])
        for attr in ("schema_", "columns_", "kinds_", "context_columns_", "n_rows_"):
            setattr(inner, attr, getattr(self, attr))
        inner._restore(meta["inner"], arrays)
        self.inner_ = inner
