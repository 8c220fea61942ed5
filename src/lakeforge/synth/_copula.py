"""Gaussian copula with empirical marginals: the fast statistical generator.

Every column is tokenised by :mod:`lakeforge.synth._encoding` and mapped to a standard
normal score by its probability integral transform: a number through its piecewise-linear
empirical CDF (atoms and categories get a random point inside their probability interval),
so the marginals are the training ones, with bounds, rounding, exact point masses, missing
values and rare-category protection. One correlation matrix of the normal scores carries the
dependencies. Sampling draws correlated normals and maps them back.

Context columns and conditions are met exactly, without rejection: context values and exact
numeric conditions fix their normal scores; a categorical (or atom) condition confines its
score to the value's interval, drawn from the truncated conditional normal (a short Gibbs
sweep when there are several); the free columns then come from the conditional Gaussian.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from lakeforge.synth._base import TableSynthesizer, register_synthesizer
from lakeforge.synth._encoding import (
    CategoricalCodec,
    NumericCodec,
    codec_from_state,
    fit_codec,
    from_float,
    to_field,
)

__all__ = ["CopulaSynthesizer"]

_EPS = 1e-9


def _special() -> Any:
    try:
        from scipy import special
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "the copula synthesizer needs SciPy: pip install 'lakeforge[synth]'"
        ) from exc
    return special


def _intervals(codec: NumericCodec | CategoricalCodec) -> tuple[np.ndarray, np.ndarray]:
    hi = np.cumsum(codec.freq_)
    hi[-1] = 1.0
    return hi - codec.freq_, hi


def _exact_positions(codec: NumericCodec | CategoricalCodec, tokens: np.ndarray) -> np.ndarray:
    """Which tokens carry a real in-bin position (numeric bins) rather than a random one."""
    if isinstance(codec, NumericCodec):
        valid = tokens < codec.n_value_tokens
        out = np.zeros(len(tokens), dtype=bool)
        out[valid] = codec.token_is_bin_[tokens[valid]].astype(bool)
        return out
    return np.zeros(len(tokens), dtype=bool)


@register_synthesizer
class CopulaSynthesizer(TableSynthesizer):
    """Gaussian copula over empirical marginals; fits Adult in about a second.

    Args:
        seed: Seeds fitting and (unless ``sample(seed=)``) sampling.
        n_bins: Quantile bins per numeric column (the CDF is interpolated inside them).
        min_category_count: ``k`` of rare-category protection.
        max_categories: Most tokens per categorical column (further ones are pooled).
        atom_share: A number seen in at least this share of rows is reproduced exactly.
        shrinkage: Weight of the identity in the correlation matrix (stabilises it).
        gibbs_sweeps: Sweeps over interval conditions when several are given.

    Example:
        >>> syn = CopulaSynthesizer(seed=0).fit(table)  # doctest: +SKIP
        >>> syn.sample(1000)  # doctest: +SKIP
    """

    method = "copula"

    def __init__(
        self,
        *,
        seed: int = 0,
        n_bins: int = 200,
        min_category_count: int = 5,
        max_categories: int = 256,
        atom_share: float = 0.005,
        shrinkage: float = 0.01,
        gibbs_sweeps: int = 10,
    ) -> None:
        super().__init__(seed=seed)
        self.n_bins = n_bins
        self.min_category_count = min_category_count
        self.max_categories = max_categories
        self.atom_share = atom_share
        self.shrinkage = shrinkage
        self.gibbs_sweeps = gibbs_sweeps

    @property
    def _dims(self) -> list[str]:
        return [*self.context_columns_, *self.columns_]

    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        special = _special()
        self.codecs_ = {
            name: fit_codec(
                data.column(name),
                self.kinds_[name],
                n_bins=self.n_bins,
                min_count=self.min_category_count,
                max_tokens=self.max_categories,
                atom_share=self.atom_share,
            )
            for name in self._dims
        }
        scores = np.empty((data.num_rows, len(self._dims)))
        for i, name in enumerate(self._dims):
            scores[:, i] = self._scores(name, data.column(name), rng, special)
        corr = np.corrcoef(scores, rowvar=False) if len(self._dims) > 1 else np.ones((1, 1))
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        self.corr_ = (1.0 - self.shrinkage) * corr + self.shrinkage * np.eye(len(corr))

    def _scores(
        self,
        name: str,
        column: pa.Array | pa.ChunkedArray,
        rng: np.random.Generator,
        special: Any,
    ) -> np.ndarray:
        """Normal scores of a column (randomised inside atoms and categories)."""
        codec = self.codecs_[name]
        tokens, position = codec.encode(column)
        unknown = tokens < 0
        tokens = np.where(unknown, 0, tokens)
        exact = _exact_positions(codec, tokens)
        position = np.where(exact, position, rng.random(len(tokens)))
        lo, hi = _intervals(codec)
        u = lo[tokens] + position * (hi[tokens] - lo[tokens])
        u = np.where(unknown, rng.random(len(tokens)), u)
        z: np.ndarray = special.ndtri(np.clip(u, _EPS, 1.0 - _EPS))
        return z

    def _sample(
        self,
        n: int,
        context: pa.Table | None,
        conditions: dict[str, Any],
        rng: np.random.Generator,
    ) -> pa.Table:
        special = _special()
        dims = self._dims
        index = {name: i for i, name in enumerate(dims)}
        z = np.zeros((n, len(dims)))
        known: list[int] = []
        if context is not None:
            for name in self.context_columns_:
                z[:, index[name]] = self._scores(name, context.column(name), rng, special)
                known.append(index[name])
        boxes: dict[int, tuple[float, float]] = {}
        fixed: dict[str, tuple[int, Any]] = {}
        for name, value in conditions.items():
            codec = self.codecs_[name]
            token, position, number = codec.value_tokens(value)
            fixed[name] = (token, number)
            lo, hi = _intervals(codec)
            if _exact_positions(codec, np.array([token]))[0]:
                u = lo[token] + position * (hi[token] - lo[token])
                z[:, index[name]] = special.ndtri(np.clip(u, _EPS, 1.0 - _EPS))
                known.append(index[name])
            else:
                boxes[index[name]] = (
                    float(special.ndtri(np.clip(lo[token], _EPS, 1.0 - _EPS))),
                    float(special.ndtri(np.clip(hi[token], _EPS, 1.0 - _EPS))),
                )
        # interval conditions: truncated conditional normals, Gibbs when there are several
        sweeps = 1 if len(boxes) <= 1 else max(1, self.gibbs_sweeps)
        order = list(boxes)
        for sweep in range(sweeps):
            for k, c in enumerate(order):
                others = order[:k] if sweep == 0 else [d for d in order if d != c]
                given = known + others
                mean, var = self._conditional(z, given, [c])
                sd = np.sqrt(max(float(var[0, 0]), 1e-12))
                z[:, c] = _truncated_normal(mean[:, 0], sd, *boxes[c], rng, special)
        known += order
        free = [i for i in range(len(dims)) if i not in known]
        if free:
            mean, cov = self._conditional(z, known, free)
            chol = np.linalg.cholesky(cov + 1e-9 * np.eye(len(free)))
            z[:, free] = mean + rng.standard_normal((n, len(free))) @ chol.T
        u = special.ndtr(z)
        outputs = {}
        for name in self.columns_:
            codec = self.codecs_[name]
            if name in fixed:
                token, number = fixed[name]
                outputs[name] = _constant(codec, number, n)
                continue
            lo, hi = _intervals(codec)
            col = u[:, index[name]]
            tokens = np.minimum(np.searchsorted(hi, col, side="right"), codec.n_tokens - 1)
            width = np.maximum(hi[tokens] - lo[tokens], 1e-12)
            position = np.clip((col - lo[tokens]) / width, 0.0, 1.0)
            outputs[name], _ = codec.decode(tokens, position, rng)
        fields = [self.schema_.field(c) for c in self.columns_]
        return pa.Table.from_arrays(
            [to_field(outputs[f.name], f) for f in fields], schema=pa.schema(fields)
        )

    def _conditional(
        self, z: np.ndarray, given: list[int], target: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean rows and covariance of ``z[:, target]`` given ``z[:, given]``."""
        s = self.corr_
        if not given:
            return np.zeros((len(z), len(target))), s[np.ix_(target, target)]
        s_kk = s[np.ix_(given, given)]
        s_tk = s[np.ix_(target, given)]
        weights = np.linalg.solve(s_kk, s_tk.T)  # (given, target)
        mean = z[:, given] @ weights
        cov = s[np.ix_(target, target)] - s_tk @ weights
        return mean, (cov + cov.T) / 2.0

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta: dict[str, Any] = {"codecs": {}}
        arrays: dict[str, np.ndarray] = {"corr": self.corr_}
        for i, (name, codec) in enumerate(self.codecs_.items()):
            c_meta, c_arrays = codec.state()
            meta["codecs"][name] = c_meta
            arrays.update({f"c{i}.{key}": value for key, value in c_arrays.items()})
        return meta, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.corr_ = arrays["corr"]
        self.codecs_ = {}
        for i, (name, c_meta) in enumerate(meta["codecs"].items()):
            prefix = f"c{i}."
            c_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            self.codecs_[name] = codec_from_state(self.schema_.field(name).type, c_meta, c_arrays)


def _truncated_normal(
    mean: np.ndarray,
    sd: float,
    lo: float,
    hi: float,
    rng: np.random.Generator,
    special: Any,
) -> np.ndarray:
    """Draws from N(mean, sd) truncated to [lo, hi], by the inverse CDF (tail-safe)."""
    a = (lo - mean) / sd
    b = (hi - mean) / sd
    flip = a > 0  # work in the lower tail, where ndtr keeps its precision
    a2 = np.where(flip, -b, a)
    b2 = np.where(flip, -a, b)
    pa_, pb = special.ndtr(a2), special.ndtr(b2)
    u = pa_ + rng.random(len(mean)) * np.maximum(pb - pa_, 0.0)
    x = special.ndtri(np.clip(u, 1e-300, 1.0 - 1e-16))
    x = np.clip(np.where(flip, -x, x), a, b)
    out: np.ndarray = mean + sd * x
    return out


def _constant(codec: NumericCodec | CategoricalCodec, value: Any, rows: int) -> pa.Array:
    if isinstance(codec, NumericCodec):
        return from_float(np.full(rows, float(value)), codec.arrow_type)
    return pa.array([value] * rows, type=codec.arrow_type)
