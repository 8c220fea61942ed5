"""Autoregressive generator: each column drawn from a gradient-boosted p(x_j | x_<j).

Every column is tokenised by :mod:`lakeforge.synth._encoding` (numbers into exact atoms and
quantile bins, categories with rare-category protection and a pool for long tails). The
columns are put in one order (context columns first, then ``first_columns``, then the rest),
and for each column a small LightGBM classifier learns the distribution of its token given
the columns before it (numbers as their values, categories as native categorical features),
with early stopping on a held-out tenth. A column that an earlier categorical column
determines (``education-num`` by ``education``) is a lookup table, not a model. Columns are
fitted in parallel threads, one LightGBM thread each. Sampling draws the columns one by one
(temperature 1), the numbers inside their bin from the empirical CDF.

Against memorisation: shallow trees with at least ``min_data_in_leaf`` rows per leaf, each
column learning from its own random ``row_share`` of the rows, nearly independent columns
(a sampling weight) placed last so no model can use them to single rows out, and a little
of each column's marginal mixed in at sampling (``smoothing``).

Conditions on a column that is not at the front are met exactly, without rejection, by
sequential importance resampling: each output row carries ``condition_particles`` candidate
prefixes, weighted by the model's probability of the condition value and resampled, so a
rare condition ("more fraud cases") never fails; conditions on the first sampled columns
(and on context) are exact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from lakeforge.errors import ContractError
from lakeforge.synth._base import TableSynthesizer, register_synthesizer
from lakeforge.synth._encoding import (
    CategoricalCodec,
    NumericCodec,
    codec_from_state,
    fit_codec,
    from_float,
    to_field,
)

__all__ = ["AutoregressiveSynthesizer", "weak_last"]

_PREDICT_CHUNK = 65_536


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "the autoregressive synthesizer needs LightGBM: pip install 'lakeforge[synth]'"
        ) from exc
    return lightgbm


def _draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row of a probability matrix (inverse CDF, vectorised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    tokens: np.ndarray = np.minimum((cum < u).sum(axis=1), probs.shape[1] - 1)
    return tokens


class ColumnModel:
    """p(token | features) of one column.

    One of: a LightGBM booster whose raw scores are added to the log marginal (so zero
    rounds means the marginal), a lookup table over one earlier categorical column (for a
    column that the earlier one determines, like ``education-num`` by ``education``), or
    the marginal alone.
    """

    def __init__(
        self,
        freq: np.ndarray,
        booster: Any = None,
        lookup: tuple[int, np.ndarray] | None = None,
    ) -> None:
        self.freq = freq
        self.booster = booster
        self.lookup = lookup

    @property
    def n_tokens(self) -> int:
        """Number of tokens of the column."""
        return len(self.freq)

    def offset(self) -> np.ndarray:
        """The log marginal the booster's raw scores start from."""
        out: np.ndarray = np.log(np.maximum(self.freq, 1e-6))
        return out

    def predict(self, features: np.ndarray, pool: ThreadPoolExecutor | None = None) -> np.ndarray:
        """Token probabilities for every row of ``features`` (row chunks on ``pool``)."""
        n = len(features)
        if self.lookup is not None:
            column, table = self.lookup
            parent = features[:, column]
            known = np.isfinite(parent) & (parent >= 0) & (parent < len(table))
            out = np.broadcast_to(self.freq, (n, self.n_tokens)).copy()
            out[known] = table[parent[known].astype(np.int64)]
            return out
        if self.booster is None:
            return np.broadcast_to(self.freq, (n, self.n_tokens))
        out = np.empty((n, self.n_tokens))
        base = self.offset()
        workers = pool._max_workers if pool is not None else 1
        step = max(1, min(_PREDICT_CHUNK, -(-n // workers)))

        def run(start: int) -> None:
            part = features[start : start + step]
            raw = self.booster.predict(part, raw_score=True, num_threads=1)
            if self.n_tokens == 2:
                p1 = 1.0 / (1.0 + np.exp(-(raw + (base[1] - base[0]))))
                out[start : start + step] = np.stack([1.0 - p1, p1], axis=1)
            else:
                z = raw.reshape(len(raw), self.n_tokens) + base
                z -= z.max(axis=1, keepdims=True)
                e = np.exp(z)
                out[start : start + step] = e / e.sum(axis=1, keepdims=True)

        starts = range(0, n, step)
        if pool is None or len(starts) == 1:
            for start in starts:
                run(start)
        else:
            list(pool.map(run, starts))
        return out


def _lookup_table(
    tokens: np.ndarray, parents: np.ndarray, n_parent: int, n_tokens: int
) -> np.ndarray | None:
    """p(token | parent category) when the parent determines the token (else None)."""
    ok = np.isfinite(parents)
    p = parents[ok].astype(np.int64)
    counts = np.zeros((n_parent, n_tokens))
    np.add.at(counts, (p, tokens[ok]), 1.0)
    rows = counts.sum(axis=1)
    if rows.sum() == 0 or (counts.max(axis=1).sum() / rows.sum()) < 0.999:
        return None
    table: np.ndarray = counts / np.maximum(rows[:, None], 1.0)
    table[rows == 0] = 1.0 / n_tokens
    return table


@register_synthesizer
class AutoregressiveSynthesizer(TableSynthesizer):
    """Column-by-column generator with gradient-boosted conditionals (Lakeforge's default).

    Args:
        seed: Seeds fitting and (unless ``sample(seed=)``) sampling.
        n_bins: Quantile bins per numeric column (frequent exact values come on top).
        min_category_count: ``k`` of rare-category protection: a category seen fewer times
            never appears verbatim (text becomes ``_RARE_``; other types the top category).
        max_categories: Most output tokens per categorical column; further categories share
            one pooled token and are drawn by frequency inside it.
        atom_share: A number seen in at least this share of rows is reproduced exactly.
        order: The column order (default: the table's, with weakly dependent columns last);
            context columns always come first.
        first_columns: Columns moved to the front, so conditions on them are exact and cheap.
        weak_dependence: A column whose strongest normalised mutual information with any
            other column is below this goes last: it explains nothing, and as a feature a
            near-unique number (a sampling weight, an amount) would only help memorise rows.
        num_rounds: Most boosting rounds per column (early stopping picks fewer).
        learning_rate: LightGBM learning rate.
        num_leaves: Leaves per tree.
        min_data_in_leaf: Fewest rows per leaf (larger = smoother, more private).
        validation_share: Rows held out for early stopping.
        row_share: Share of the training rows each column's model learns from (a fresh
            random subset per column; below 1 it makes memorising a row's pattern harder).
        patience: Rounds without validation gain before a column's boosting stops.
        condition_particles: Candidate prefixes per row for conditions on later columns.
        smoothing: Share of each column's marginal mixed into its predicted distribution at
            sampling time: a little more diversity, fewer near-copies of training rows
            (never applied to a column another one determines).
        threads: Columns fitted at once, one LightGBM thread each (0: all cores).
        progress: Show a progress bar while fitting.

    Example:
        >>> syn = AutoregressiveSynthesizer(seed=0).fit(table)  # doctest: +SKIP
        >>> syn.sample(1000, conditions={"income": ">50K"})  # doctest: +SKIP
    """

    method = "autoregressive"

    def __init__(
        self,
        *,
        seed: int = 0,
        n_bins: int = 32,
        min_category_count: int = 5,
        max_categories: int = 64,
        atom_share: float = 0.01,
        order: Sequence[str] | None = None,
        first_columns: Sequence[str] = (),
        weak_dependence: float = 0.05,
        num_rounds: int = 300,
        learning_rate: float = 0.15,
        num_leaves: int = 15,
        min_data_in_leaf: int = 50,
        validation_share: float = 0.1,
        row_share: float = 0.85,
        patience: int = 5,
        condition_particles: int = 32,
        smoothing: float = 0.02,
        threads: int = 0,
        progress: bool = False,
    ) -> None:
        super().__init__(seed=seed)
        self.n_bins = n_bins
        self.min_category_count = min_category_count
        self.max_categories = max_categories
        self.atom_share = atom_share
        self.order = None if order is None else list(order)
        self.first_columns = list(first_columns)
        self.weak_dependence = weak_dependence
        self.num_rounds = num_rounds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.validation_share = validation_share
        self.row_share = row_share
        self.patience = patience
        self.condition_particles = condition_particles
        self.smoothing = smoothing
        self.threads = threads
        self.progress = progress

    # -- fitting --------------------------------------------------------------------------
    def _column_order(self, data: pa.Table) -> list[str]:
        if self.order is not None:
            base = list(self.order)
        else:
            base = weak_last(data, self.columns_, self.kinds_, self.weak_dependence)
        unknown = [c for c in [*base, *self.first_columns] if c not in self.columns_]
        if unknown:
            raise ContractError(f"order names unknown or context columns: {', '.join(unknown)}")
        rest = [c for c in base if c not in self.first_columns]
        order = [*self.first_columns, *rest]
        order += [c for c in self.columns_ if c not in order]
        return order

    def _lgb_params(self, n_tokens: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "max_bin": 63,
            "lambda_l2": 1.0,
            "num_threads": 1,  # columns are fitted in parallel instead (no OpenMP contention)
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
            "max_cat_to_onehot": 8,
            "cat_smooth": 10.0,
        }
        if n_tokens == 2:
            params["objective"] = "binary"
        else:
            params.update(objective="multiclass", num_class=n_tokens)
        return params

    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        lgb = _lightgbm()
        self.order_ = self._column_order(data)
        features = [*self.context_columns_, *self.order_]
        self.codecs_ = {
            name: fit_codec(
                data.column(name),
                self.kinds_[name],
                n_bins=self.n_bins,
                min_count=self.min_category_count,
                max_tokens=self.max_categories,
                atom_share=self.atom_share,
            )
            for name in features
        }
        n = data.num_rows
        matrix = np.column_stack([self.codecs_[c].features(data.column(c)) for c in features])
        categorical = [i for i, c in enumerate(features) if self._is_categorical(c)]
        valid = rng.random(n) < self.validation_share if n >= 200 else np.zeros(n, bool)
        # each column learns from its own random share of the training rows, so no model
        # sees every row: a single row's whole pattern is hard to memorise
        keep = {
            j: (rng.random(n) < self.row_share) if self.row_share < 1 and n >= 200 else None
            for j in range(len(self.order_))
        }
        n_ctx = len(self.context_columns_)

        def fit_column(j: int) -> tuple[ColumnModel, int]:
            name = self.order_[j]
            codec = self.codecs_[name]
            width = n_ctx + j
            tokens, _ = codec.encode(data.column(name))
            freq = codec.freq_
            if width == 0 or codec.n_tokens == 1:
                return ColumnModel(freq), 0
            for i in categorical:
                if i < width:
                    n_parent = self.codecs_[features[i]].n_tokens
                    table = _lookup_table(tokens, matrix[:, i], n_parent, codec.n_tokens)
                    if table is not None:
                        return ColumnModel(freq, lookup=(i, table)), 0
            model = ColumnModel(freq)
            x = matrix[:, :width]
            cats = [i for i in categorical if i < width]
            init = np.tile(model.offset(), (n, 1))
            if codec.n_tokens == 2:
                init = init[:, 1] - init[:, 0]
            fit_rows = ~valid if keep[j] is None else (~valid & keep[j])
            train = lgb.Dataset(
                x[fit_rows],
                tokens[fit_rows],
                init_score=init[fit_rows],
                categorical_feature=cats,
                free_raw_data=True,
            )
            valid_sets = None
            callbacks = []
            if valid.any():
                valid_sets = [
                    lgb.Dataset(
                        x[valid],
                        tokens[valid],
                        init_score=init[valid],
                        categorical_feature=cats,
                        reference=train,
                    )
                ]
                callbacks.append(lgb.early_stopping(self.patience, verbose=False))
            booster = lgb.train(
                self._lgb_params(codec.n_tokens),
                train,
                num_boost_round=self.num_rounds,
                valid_sets=valid_sets,
                callbacks=callbacks,
            )
            best = booster.best_iteration or booster.current_iteration()
            model.booster = _reload(lgb, booster, best)
            return model, int(best)

        workers = self.threads or (os.cpu_count() or 1)
        jobs = list(range(len(self.order_)))
        # columns with the widest inputs and most tokens first, for an even load
        jobs.sort(key=lambda j: -(j + 1) * self.codecs_[self.order_[j]].n_tokens)
        self.models_: dict[str, ColumnModel] = {}
        self.rounds_: dict[str, int] = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {j: pool.submit(fit_column, j) for j in jobs}
            for j in self._progress(jobs):
                model, rounds = futures[j].result()
                self.models_[self.order_[j]] = model
                self.rounds_[self.order_[j]] = rounds
        self.models_ = {name: self.models_[name] for name in self.order_}

    def _is_categorical(self, name: str) -> bool:
        return isinstance(self.codecs_[name], CategoricalCodec)

    def _progress(self, items: list[int]) -> list[int]:
        if not self.progress:
            return items
        from rich.progress import track

        return list(track(items, description="fitting columns", transient=True))

    # -- sampling -------------------------------------------------------------------------
    def _sample(
        self,
        n: int,
        context: pa.Table | None,
        conditions: dict[str, Any],
        rng: np.random.Generator,
    ) -> pa.Table:
        n_ctx = len(self.context_columns_)
        fixed = {name: self.codecs_[name].value_tokens(value) for name, value in conditions.items()}
        positions = {name: i for i, name in enumerate(self.order_)}
        # conditions on the leading columns are exact; later ones need particles
        leading = 0
        while leading < len(self.order_) and self.order_[leading] in fixed:
            leading += 1
        weighted = [c for c in fixed if positions[c] >= leading]
        particles = max(1, self.condition_particles) if weighted else 1
        matrix = np.full((n * particles, n_ctx + len(self.order_)), np.nan)
        if context is not None:
            for i, name in enumerate(self.context_columns_):
                values = self.codecs_[name].features(context.column(name))
                matrix[:, i] = np.repeat(values, particles)
        with ThreadPoolExecutor(max_workers=self.threads or (os.cpu_count() or 1)) as pool:
            outputs = self._draw_columns(n, matrix, fixed, weighted, particles, pool, rng)
        fields = [self.schema_.field(c) for c in self.columns_]
        return pa.Table.from_arrays(
            [to_field(outputs[f.name], f) for f in fields], schema=pa.schema(fields)
        )

    def _draw_columns(
        self,
        n: int,
        matrix: np.ndarray,
        fixed: dict[str, tuple[int, float, Any]],
        weighted: list[str],
        particles: int,
        pool: ThreadPoolExecutor,
        rng: np.random.Generator,
    ) -> dict[str, pa.Array]:
        """Draw the columns in order; resample particles at each weighted condition."""
        n_ctx = len(self.context_columns_)
        positions = {name: i for i, name in enumerate(self.order_)}
        last_weighted = max((positions[c] for c in weighted), default=-1)
        group = np.repeat(np.arange(n), particles)
        outputs: dict[str, pa.Array] = {}
        for j, name in enumerate(self.order_):
            codec = self.codecs_[name]
            col = n_ctx + j
            if name in fixed:
                token, _, value = fixed[name]
                if name in weighted and particles > 1:
                    probs = self.models_[name].predict(matrix[:, :col], pool)
                    keep = _resample(probs[:, token], group, particles, rng)
                    matrix = matrix[keep]
                    outputs = {c: a.take(pa.array(keep)) for c, a in outputs.items()}
                array, feats = _constant(codec, token, value, len(matrix), rng)
            else:
                probs = self.models_[name].predict(matrix[:, :col], pool)
                if self.smoothing > 0 and self.models_[name].lookup is None:
                    probs = (1.0 - self.smoothing) * probs + self.smoothing * codec.freq_
                array, feats = codec.decode(_draw(probs, rng), None, rng)
            matrix[:, col] = feats
            outputs[name] = array
            if particles > 1 and j == last_weighted:
                # conditions met: one particle per row is enough from here on
                first = np.arange(n) * particles
                matrix = matrix[first]
                outputs = {c: a.take(pa.array(first)) for c, a in outputs.items()}
                particles = 1
                group = np.arange(n)
        return outputs

    # -- persistence ----------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta: dict[str, Any] = {"order": self.order_, "rounds": self.rounds_, "codecs": {}}
        arrays: dict[str, np.ndarray] = {}
        for i, (name, codec) in enumerate(self.codecs_.items()):
            c_meta, c_arrays = codec.state()
            meta["codecs"][name] = c_meta
            arrays.update({f"c{i}.{key}": value for key, value in c_arrays.items()})
        meta["lookup"] = {}
        for i, name in enumerate(self.order_):
            model = self.models_[name]
            if model.booster is not None:
                text = model.booster.model_to_string()
                arrays[f"m{i}"] = np.frombuffer(text.encode(), dtype=np.uint8)
            if model.lookup is not None:
                meta["lookup"][name] = model.lookup[0]
                arrays[f"t{i}"] = model.lookup[1]
        return meta, arrays

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.order_ = list(meta["order"])
        self.rounds_ = {k: int(v) for k, v in meta["rounds"].items()}
        self.codecs_ = {}
        for i, (name, c_meta) in enumerate(meta["codecs"].items()):
            prefix = f"c{i}."
            c_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            self.codecs_[name] = codec_from_state(self.schema_.field(name).type, c_meta, c_arrays)
        self.models_ = {}
        lgb = None
        for i, name in enumerate(self.order_):
            model = ColumnModel(self.codecs_[name].freq_)
            if f"m{i}" in arrays:
                lgb = lgb or _lightgbm()
                model.booster = lgb.Booster(model_str=arrays[f"m{i}"].tobytes().decode())
            if name in meta["lookup"]:
                model.lookup = (int(meta["lookup"][name]), arrays[f"t{i}"])
            self.models_[name] = model


def weak_last(
    data: pa.Table, columns: Sequence[str], kinds: dict[str, Any], threshold: float
) -> list[str]:
    """``columns`` in table order, those nearly independent of all others moved to the end."""
    if threshold <= 0 or len(columns) < 3:
        return list(columns)
    n = data.num_rows
    take = np.random.default_rng(0).permutation(n)[: min(n, 20_000)]
    sample = data.take(pa.array(take))
    codes: dict[str, tuple[np.ndarray, int]] = {}
    for name in columns:
        codec = fit_codec(
            sample.column(name),
            kinds[name],
            n_bins=10,
            min_count=5,
            max_tokens=32,
            atom_share=0.05,
        )
        tokens, _ = codec.encode(sample.column(name))
        codes[name] = (np.maximum(tokens, 0), codec.n_tokens)

    def entropy(p: np.ndarray) -> float:
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    strongest = dict.fromkeys(columns, 0.0)
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            (ta, ka), (tb, kb) = codes[a], codes[b]
            joint = np.bincount(ta * kb + tb, minlength=ka * kb).reshape(ka, kb) / len(ta)
            ha, hb = entropy(joint.sum(1)), entropy(joint.sum(0))
            mi = ha + hb - entropy(joint.ravel())
            score = mi / max(min(ha, hb), 1e-12) if min(ha, hb) > 0 else 0.0
            strongest[a] = max(strongest[a], score)
            strongest[b] = max(strongest[b], score)
    weak = [c for c in columns if strongest[c] < threshold]
    return [c for c in columns if c not in weak] + weak


def _reload(lgb: Any, booster: Any, rounds: int) -> Any:
    """The booster cut to ``rounds`` and reloaded from text, as :meth:`load` will see it."""
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))


def _resample(
    weights: np.ndarray, group: np.ndarray, particles: int, rng: np.random.Generator
) -> np.ndarray:
    """Row indices after resampling each group's particles in proportion to ``weights``."""
    w = np.maximum(weights, 1e-300).reshape(-1, particles)
    cum = np.cumsum(w, axis=1)
    u = rng.random(w.shape) * cum[:, -1:]
    picks = np.minimum((cum[:, None, :] < u[:, :, None]).sum(axis=2), particles - 1)
    base = (np.arange(len(w)) * particles)[:, None]
    rows: np.ndarray = (base + picks).reshape(-1)
    return rows


def _constant(
    codec: NumericCodec | CategoricalCodec,
    token: int,
    value: Any,
    rows: int,
    rng: np.random.Generator,
) -> tuple[pa.Array, np.ndarray]:
    """A condition column: the value itself in every row (and its feature)."""
    if isinstance(codec, NumericCodec):
        feats = np.full(rows, float(value))
        return from_float(feats, codec.arrow_type), feats
    array = pa.array([value] * rows, type=codec.arrow_type)
    return array, np.full(rows, float(token))
