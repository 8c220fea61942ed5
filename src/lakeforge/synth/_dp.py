"""Differentially private generator: noisy marginals on a privately chosen tree (MST-style).

Built on OpenDP (MIT licence; ``pip install 'lakeforge[synth]'``), whose measurements do
the noise and the privacy accounting. The ``epsilon`` budget is split in three equal parts
(sequential composition, pure epsilon-DP, neighbouring tables differ by adding or removing
one row):

1. every column's one-way histogram, released with the discrete Laplace mechanism;
2. a maximum spanning tree over the columns, chosen edge by edge with OpenDP's private
   selection (report-noisy-max); an edge's score is how far the pair's true two-way table is
   from the product of the released one-way histograms (sensitivity 1);
3. the chosen tree's two-way histograms, discrete Laplace again.

Sampling is post-processing of those releases (no further privacy cost): the tree is walked
from a root, each column drawn from its released conditional table.

What the guarantee covers and what it does not:

* **Covered**: everything learned from the rows (frequencies, the structure, the tables):
  ``epsilon``-DP with respect to adding or removing one row.
* **Not covered unless you pass them**: the *domain* (numeric ``bounds`` and categorical
  ``categories``). When they are not given they are read from the data, which reveals each
  column's minimum and maximum, its categories seen at least ``min_category_count`` times,
  whether rarer ones exist and whether it has missing values; pass public bounds and category
  lists for an end-to-end guarantee (missing values are then always possible).
  :attr:`DPSynthesizer.guarantee_` says which case holds.
* The generator's own sampling seed is not a secret, and OpenDP's noise is drawn from the
  operating system's secure generator, so two fits differ even with the same ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from lakeforge.errors import ContractError
from lakeforge.synth._base import TableSynthesizer, register_synthesizer
from lakeforge.synth._encoding import (
    RARE_VALUE,
    arrow_from_bytes,
    arrow_to_bytes,
    as_float,
    from_float,
)

__all__ = ["DPSynthesizer"]


def _opendp() -> Any:
    try:
        import opendp.prelude as dp
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "the differentially private synthesizer needs OpenDP: pip install 'lakeforge[synth]'"
        ) from exc
    dp.enable_features("contrib")
    return dp


class _Releases:
    """The OpenDP measurements used by one fit, each calibrated to its share of epsilon."""

    def __init__(self, dp: Any) -> None:
        self.dp = dp
        self._made: dict[tuple[str, float], Any] = {}

    def histogram(self, counts: np.ndarray, epsilon: float) -> np.ndarray:
        """Counts with discrete Laplace noise: ``epsilon``-DP for one row added or removed."""
        dp = self.dp
        meas = self._made.get(("laplace", epsilon))
        if meas is None:
            space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
            meas = dp.binary_search_chain(
                lambda s: space >> dp.m.then_laplace(scale=s), d_in=1, d_out=epsilon
            )
            self._made["laplace", epsilon] = meas
        noisy = np.asarray(meas([int(c) for c in counts.ravel()]), dtype=np.float64)
        return noisy.reshape(counts.shape)

    def select(self, scores: np.ndarray, epsilon: float) -> int:
        """The index of the (privately) highest score; scores have sensitivity 1."""
        dp = self.dp
        meas = self._made.get(("select", epsilon))
        if meas is None:
            space = (
                dp.vector_domain(dp.atom_domain(T=float, nan=False)),
                dp.linf_distance(T=float),
            )
            meas = dp.binary_search_chain(
                lambda s: space >> dp.m.then_noisy_max(dp.max_divergence(), scale=s),
                d_in=1.0,
                d_out=epsilon,
            )
            self._made["select", epsilon] = meas
        return int(meas([float(x) for x in scores]))


@register_synthesizer
class DPSynthesizer(TableSynthesizer):
    """Pure epsilon-DP synthesizer (noisy one- and two-way marginals on a private tree).

    Args:
        seed: Seeds sampling (the DP noise itself is never seeded).
        epsilon: The total privacy budget of one fit.
        n_bins: Equal-width bins per numeric column, between its bounds.
        bounds: Public ``(low, high)`` per numeric or datetime column (as numbers; dates in
            days, timestamps in their unit); columns not named take theirs from the data.
        categories: Public category list per categorical column (others: from the data).
        min_category_count: Categories whose *noisy* count is below this become ``_RARE_``
            (text) or the top category (other types): rare-category protection, as
            post-processing.

    Example:
        >>> syn = DPSynthesizer(epsilon=1.0).fit(table)  # doctest: +SKIP
        >>> syn.guarantee_  # doctest: +SKIP
    """

    method = "dp"

    def __init__(
        self,
        *,
        seed: int = 0,
        epsilon: float = 1.0,
        n_bins: int = 16,
        bounds: Mapping[str, Sequence[float]] | None = None,
        categories: Mapping[str, Sequence[Any]] | None = None,
        min_category_count: int = 5,
    ) -> None:
        super().__init__(seed=seed)
        self.epsilon = epsilon
        self.n_bins = n_bins
        self.bounds = {k: [float(v[0]), float(v[1])] for k, v in (bounds or {}).items()}
        self.categories = {k: list(v) for k, v in (categories or {}).items()}
        self.min_category_count = min_category_count

    # -- discretisation -------------------------------------------------------------------
    def _domain(self, name: str, column: pa.ChunkedArray) -> dict[str, Any]:
        kind = self.kinds_[name]
        arrow_type = column.type
        if kind in ("numeric", "datetime"):
            values = _numbers(column, arrow_type)
            if name in self.bounds:
                low, high = self.bounds[name]
                public = True
            else:
                finite = values[np.isfinite(values)]
                low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0, 1)
                public = False
            integer = not (pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type))
            return {
                "missing": public or column.null_count > 0,
                "kind": "numeric",
                "low": low,
                "high": high,
                "integer": integer,
                "public": public,
                "bins": self.n_bins,
            }
        if name in self.categories:
            cats = pa.array(self.categories[name], type=arrow_type)
            public, rare = True, False
        else:
            cats = _frequent(column, self.min_category_count)
            public = False
            rare = len(cats) < len(_unique(column))
        return {
            "rare": rare,
            "missing": public or column.null_count > 0,
            "kind": "categorical",
            "categories": cats,
            "public": public,
        }

    def _tokens(self, name: str, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Bin or category index; the last token is 'missing'."""
        d = self.domains_[name]
        if d["kind"] == "numeric":
            values = _numbers(column, self.schema_.field(name).type)
            width = (d["high"] - d["low"]) / d["bins"] or 1.0
            idx = np.clip(np.floor((values - d["low"]) / width), 0, d["bins"] - 1)
            tokens: np.ndarray = np.where(np.isnan(values), d["bins"], idx).astype(np.int64)
            return tokens
        import pyarrow.compute as pc

        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        idx = pc.index_in(column, value_set=d["categories"])
        out = np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        out = np.where(out < 0, len(d["categories"]), out)  # outside the domain: rare
        return np.where(np.asarray(column.is_null()), len(d["categories"]) + 1, out)

    def _size(self, name: str) -> int:
        """Tokens of a column: bins + missing, or categories + rare + missing."""
        d = self.domains_[name]
        return int(d["bins"]) + 1 if d["kind"] == "numeric" else len(d["categories"]) + 2

    # -- fitting --------------------------------------------------------------------------
    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        if self.epsilon <= 0:
            raise ContractError(f"epsilon must be > 0, got {self.epsilon}")
        releases = _Releases(_opendp())
        names = [*self.context_columns_, *self.columns_]
        self.names_ = names
        self.domains_ = {name: self._domain(name, data.column(name)) for name in names}
        tokens = {name: self._tokens(name, data.column(name)) for name in names}
        d = len(names)
        eps_part = self.epsilon / (3.0 if d > 1 else 1.0)
        # 1. one-way histograms
        self.marginals_ = {}
        for name in names:
            counts = np.bincount(tokens[name], minlength=self._size(name))
            noisy = releases.histogram(counts, eps_part / d)
            self.marginals_[name] = np.maximum(noisy, 0.0)
        n_noisy = max(float(np.mean([m.sum() for m in self.marginals_.values()])), 1.0)
        # 2. a private maximum spanning tree (Kruskal, one private selection per edge)
        self.edges_: list[tuple[str, str]] = []
        self.pairs_: dict[str, np.ndarray] = {}
        if d > 1:
            component = {name: i for i, name in enumerate(names)}
            score = {}
            for i in range(d):
                for j in range(i + 1, d):
                    a, b = names[i], names[j]
                    true = _joint(tokens[a], tokens[b], self._size(a), self._size(b))
                    pa_ = self.marginals_[a] / max(self.marginals_[a].sum(), 1.0)
                    pb = self.marginals_[b] / max(self.marginals_[b].sum(), 1.0)
                    score[a, b] = float(np.abs(true - n_noisy * np.outer(pa_, pb)).sum())
            for _ in range(d - 1):
                candidates = [e for e in score if component[e[0]] != component[e[1]]]
                scores = np.asarray([score[e] for e in candidates])
                a, b = candidates[releases.select(scores, eps_part / (d - 1))]
                self.edges_.append((a, b))
                old, new = component[b], component[a]
                component = {k: (new if v == old else v) for k, v in component.items()}
            # 3. the tree's two-way histograms
            for a, b in self.edges_:
                true = _joint(tokens[a], tokens[b], self._size(a), self._size(b))
                noisy = releases.histogram(true, eps_part / (d - 1))
                self.pairs_[f"{a}\x1f{b}"] = np.maximum(noisy, 0.0)
        self._protect_rare()
        public = all(self.domains_[n]["public"] for n in names)
        self.guarantee_ = (
            f"{self.epsilon}-differential privacy (pure, add/remove one row) for everything "
            "learned from the rows"
            + (
                "; the domain was given, so the guarantee is end to end"
                if public
                else "; NOT for the domain (numeric bounds and category sets were read from the "
                "data: pass bounds= and categories= for an end-to-end guarantee)"
            )
        )

    def _protect_rare(self) -> None:
        """Categories whose noisy count is under ``min_category_count`` decode as rare."""
        self.rare_ = {}
        for name in self.names_:
            d = self.domains_[name]
            if d["kind"] != "categorical":
                continue
            counts = self.marginals_[name][:-2]
            low = np.flatnonzero(counts < self.min_category_count)
            self.rare_[name] = np.append(low, len(counts))  # + the out-of-domain token

    # -- sampling -------------------------------------------------------------------------
    def _neighbours(self) -> dict[str, list[str]]:
        adj: dict[str, list[str]] = {name: [] for name in self.names_}
        for a, b in self.edges_:
            adj[a].append(b)
            adj[b].append(a)
        return adj

    def _conditional(self, parent: str, child: str) -> np.ndarray:
        """p(child token | parent token) from the released tables (rows: parent)."""
        key, flip = f"{parent}\x1f{child}", False
        if key not in self.pairs_:
            key, flip = f"{child}\x1f{parent}", True
        table = self.pairs_[key].T if flip else self.pairs_[key]
        table = (table + 0.5) * self._allowed(child)[None, :]  # smoothing, then the domain
        result: np.ndarray = table / table.sum(axis=1, keepdims=True)
        return result

    def _allowed(self, name: str) -> np.ndarray:
        """1 for every token the column may take; 0 for 'missing' in a column without nulls."""
        d = self.domains_[name]
        mask = np.ones(self._size(name))
        if not d["missing"]:
            mask[-1] = 0.0
        if d["kind"] == "categorical" and not d["rare"]:
            mask[-2] = 0.0
        return mask

    def _sample(
        self,
        n: int,
        context: pa.Table | None,
        conditions: dict[str, Any],
        rng: np.random.Generator,
    ) -> pa.Table:
        fixed: dict[str, np.ndarray] = {}
        if context is not None:
            for name in self.context_columns_:
                fixed[name] = self._tokens(name, context.column(name))
        for name, value in conditions.items():
            token = int(
                self._tokens(name, pa.array([value], type=self.schema_.field(name).type))[0]
            )
            d = self.domains_[name]
            if d["kind"] == "categorical" and token == len(d["categories"]):
                raise ContractError(
                    f"condition value {value!r} is not in the domain of {name!r}", column=name
                )
            fixed[name] = np.full(n, token)
        adj = self._neighbours()
        tokens: dict[str, np.ndarray] = {}
        roots = [c for c in self.names_ if c in fixed] + list(self.names_)
        for root in roots:
            if root in tokens:
                continue
            if root in fixed:
                tokens[root] = fixed[root]
            else:
                p = (self.marginals_[root] + 0.5) * self._allowed(root)
                tokens[root] = rng.choice(len(p), size=n, p=p / p.sum())
            stack = [root]
            while stack:
                parent = stack.pop()
                for child in adj[parent]:
                    if child in tokens:
                        continue
                    if child in fixed:
                        tokens[child] = fixed[child]
                    else:
                        cond = self._conditional(parent, child)[tokens[parent]]
                        cum = np.cumsum(cond, axis=1)
                        u = rng.random(n)[:, None] * cum[:, -1:]
                        tokens[child] = np.minimum((cum < u).sum(axis=1), cond.shape[1] - 1)
                    stack.append(child)
        fields = [self.schema_.field(c) for c in self.columns_]
        arrays = []
        for field in fields:
            if field.name in conditions:
                arrays.append(pa.array([conditions[field.name]] * n, type=field.type))
            else:
                arrays.append(self._decode(field, tokens[field.name], rng))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def _decode(self, field: pa.Field, tokens: np.ndarray, rng: np.random.Generator) -> pa.Array:
        d = self.domains_[field.name]
        missing = tokens == self._size(field.name) - 1
        if d["kind"] == "numeric":
            width = (d["high"] - d["low"]) / d["bins"]
            values = d["low"] + (tokens + rng.random(len(tokens))) * width
            if d["integer"]:
                values = np.rint(values)
            values = np.clip(values, d["low"], d["high"])
            values[missing] = np.nan
            return from_float(values, field.type)
        cats = d["categories"]
        rare = np.isin(tokens, self.rare_.get(field.name, [])) & ~missing
        idx = np.where(missing | rare, 0, tokens)
        if len(cats):
            values = cats.take(pa.array(idx, mask=missing))
        else:
            values = pa.nulls(len(idx), type=field.type)
        if rare.any():
            fill = _rare_fill(cats, self.marginals_[field.name][:-2])
            values = pa.array(
                [fill if r else v for r, v in zip(rare, values.to_pylist(), strict=True)],
                type=field.type,
            )
        return values.cast(field.type)

    # -- persistence ----------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        domains = {}
        arrays: dict[str, np.ndarray] = {}
        for i, name in enumerate(self.names_):
            d = dict(self.domains_[name])
            if d["kind"] == "categorical":
                arrays[f"cat{i}"] = arrow_to_bytes(d.pop("categories"))
            domains[name] = d
            arrays[f"marg{i}"] = self.marginals_[name]
            if name in self.rare_:
                arrays[f"rare{i}"] = self.rare_[name]
        for k, (a, b) in enumerate(self.edges_):
            arrays[f"pair{k}"] = self.pairs_[f"{a}\x1f{b}"]
        meta = {
            "names": self.names_,
            "domains": domains,
            "edges": self.edges_,
            "guarantee": self.guarantee_,
        }
        return meta, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.names_ = list(meta["names"])
        self.guarantee_ = str(meta["guarantee"])
        self.edges_ = [(str(a), str(b)) for a, b in meta["edges"]]
        self.domains_, self.marginals_, self.rare_ = {}, {}, {}
        for i, name in enumerate(self.names_):
            d = dict(meta["domains"][name])
            if d["kind"] == "categorical":
                d["categories"] = arrow_from_bytes(arrays[f"cat{i}"])
            self.domains_[name] = d
            self.marginals_[name] = arrays[f"marg{i}"]
            if f"rare{i}" in arrays:
                self.rare_[name] = arrays[f"rare{i}"]
        self.pairs_ = {f"{a}\x1f{b}": arrays[f"pair{k}"] for k, (a, b) in enumerate(self.edges_)}


def _numbers(column: pa.ChunkedArray | pa.Array, arrow_type: pa.DataType) -> np.ndarray:
    return as_float(column, arrow_type)


def _unique(column: pa.ChunkedArray) -> pa.Array:
    """The distinct non-null values of a column."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values.drop_null().unique()


def _frequent(column: pa.ChunkedArray, min_count: int) -> pa.Array:
    """The categories seen at least ``min_count`` times (the data-derived domain)."""
    import pyarrow.compute as pc

    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    counts = pc.value_counts(values.drop_null())
    keep = pc.greater_equal(counts.field("counts"), min_count)
    return counts.field("values").filter(keep)


def _joint(a: np.ndarray, b: np.ndarray, size_a: int, size_b: int) -> np.ndarray:
    return np.bincount(a * size_b + b, minlength=size_a * size_b).reshape(size_a, size_b)


def _rare_fill(categories: pa.Array, counts: np.ndarray) -> Any:
    t = categories.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return RARE_VALUE
    return categories[int(np.argmax(counts))].as_py() if len(categories) else None
