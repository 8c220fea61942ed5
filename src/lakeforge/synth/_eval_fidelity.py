"""Fidelity: how closely synthetic columns and column pairs follow the real ones.

The definitions are sdmetrics' ``QualityReport`` (0.32), recomputed here in NumPy so Lakeforge
does not depend on it and our figures can be compared with published ones:

* **column shapes**: per column, ``1 - KS statistic`` (numeric and datetime columns, nulls
  dropped) or ``1 - total variation distance`` of the category frequencies (categorical and
  boolean columns, nulls dropped);
* **column pair trends**: per pair of columns, ``1 - |r_real - r_synthetic| / 2`` with Pearson's
  r when both are numeric/datetime (rows with a null dropped; undefined, so left out, when a
  column is constant), else ``1 - total variation distance`` of the pair's joint frequencies
  (contingency similarity; nulls are a category; a numeric column is cut into 10 equal-width
  bins over *its own table's* range, as sdmetrics does, the synthetic table's bins over the
  synthetic range);
* **quality**: the mean of the column-shape mean and the pair-trend mean.

One difference: sdmetrics draws a random 50,000-row subsample for contingency pairs of larger
tables; here every row counts (the joint frequencies are one ``bincount``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa

from lakeforge.errors import ContractError
from lakeforge.synth._base import ColumnKind, infer_kinds

__all__ = [
    "ColumnShape",
    "EncodedColumn",
    "PairTrend",
    "PreparedColumn",
    "as_frame",
    "column_shapes",
    "contingency_similarity",
    "correlation_similarity",
    "cramers_v",
    "encode_frames",
    "identifier_like",
    "ks_complement",
    "ks_statistic",
    "nanmean",
    "pair_trend_mean",
    "pair_trends",
    "prepare_columns",
    "resolve_kinds",
    "tv_complement",
]

_ROUND = 14  # sdmetrics rounds to float digits - 1 before the KS test
_BINS = 10


@dataclass(frozen=True)
class PreparedColumn:
    """A column of the real and of the synthetic table in comparable NumPy form.

    Continuous columns hold float64 values with NaN for nulls; discrete ones hold integer
    codes over the union of both tables' values, code 0 meaning null, ``labels[code - 1]``
    the value.
    """

    name: str
    kind: ColumnKind
    real: np.ndarray
    synthetic: np.ndarray
    labels: tuple[str, ...] = ()

    @property
    def continuous(self) -> bool:
        """Numeric and datetime columns are compared as numbers."""
        return self.kind in ("numeric", "datetime")


@dataclass(frozen=True)
class ColumnShape:
    """One column's shape score."""

    column: str
    metric: Literal["KSComplement", "TVComplement"]
    score: float


@dataclass(frozen=True)
class PairTrend:
    """One column pair's trend score, with the real and synthetic correlations if numeric.

    ``counted`` is False for pairs that are (nearly) independent in the real data
    (|r| <= 0.5, Cramer's V <= 0.3): sdmetrics leaves those out of the pair-trend mean, so a
    generator is judged on the relations that exist. Their score is still reported.
    """

    column_1: str
    column_2: str
    metric: Literal["CorrelationSimilarity", "ContingencySimilarity"]
    score: float
    real: float = float("nan")
    synthetic: float = float("nan")
    real_association: float = float("nan")
    counted: bool = True


# -- preparation --------------------------------------------------------------------------


def resolve_kinds(
    real: pa.Table,
    synthetic: pa.Table,
    *,
    kinds: Mapping[str, ColumnKind] | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, ColumnKind]:
    """The columns to compare (the real table's, less ``exclude``) and how to compare them."""
    resolved = infer_kinds(real)
    for name, kind in (kinds or {}).items():
        if name not in resolved:
            raise ContractError(f"kind given for unknown column {name!r}", column=name)
        resolved[name] = kind
    unknown = [c for c in exclude if c not in resolved]
    if unknown:
        raise ContractError(f"excluded columns not in the real table: {', '.join(unknown)}")
    missing = [c for c in resolved if c not in exclude and c not in synthetic.column_names]
    if missing:
        raise ContractError(
            f"the synthetic table lacks columns of the real one: {', '.join(missing)}; "
            "sample every column, or pass them in exclude="
        )
    return {c: k for c, k in resolved.items() if c not in exclude}


def identifier_like(
    real: pa.Table | pl.DataFrame,
    kinds: Mapping[str, ColumnKind],
    *,
    max_distinct_share: float = 0.5,
) -> list[str]:
    """Categorical columns whose values are mostly distinct (names, free text, codes).

    Such a column has no category distribution to compare (every value is seen about once),
    and it is trivially "associated" with every other column; sdmetrics would type it
    ``id`` or ``text`` and skip it. The share is of the non-null real values.
    """
    frame = as_frame(real)
    out = []
    for name, kind in kinds.items():
        if kind != "categorical":
            continue
        values = frame[name].drop_nulls()
        if values.len() > 1 and values.n_unique() > max_distinct_share * values.len():
            out.append(name)
    return out


def _as_float(series: pl.Series) -> np.ndarray:
    dtype = series.dtype
    if dtype.is_temporal():
        series = series.to_physical()
    elif dtype == pl.Boolean:
        series = series.cast(pl.Int8)
    return series.cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(np.float64)


def _as_text(series: pl.Series) -> pl.Series:
    return series if series.dtype == pl.String else series.cast(pl.String)


def as_frame(table: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """A polars view of an Arrow table (zero-copy where the types allow)."""
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@dataclass(frozen=True)
class EncodedColumn:
    """One column of several tables: floats (NaN null) or shared codes (0 null)."""

    name: str
    kind: ColumnKind
    values: tuple[np.ndarray, ...]
    labels: tuple[str, ...] = ()

    @property
    def continuous(self) -> bool:
        """Numeric and datetime columns are compared as numbers."""
        return self.kind in ("numeric", "datetime")


def encode_frames(
    tables: Sequence[pa.Table | pl.DataFrame], kinds: Mapping[str, ColumnKind]
) -> list[EncodedColumn]:
    """Every column of ``kinds`` from every table, as floats or as integer codes shared by all.

    Codes number the sorted distinct values of all tables from 1 (``labels[code - 1]``).
    """
    frames = [as_frame(t) for t in tables]
    sizes = np.cumsum([0, *(f.height for f in frames)])
    out: list[EncodedColumn] = []
    for name, kind in kinds.items():
        if kind in ("numeric", "datetime"):
            out.append(EncodedColumn(name, kind, tuple(_as_float(f[name]) for f in frames)))
            continue
        both = pl.concat([_as_text(f[name]) for f in frames])
        codes = both.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        labels = tuple(str(v) for v in both.drop_nulls().unique().sort().to_list())
        parts = tuple(codes[sizes[i] : sizes[i + 1]] for i in range(len(frames)))
        out.append(EncodedColumn(name, kind, parts, labels))
    return out


def prepare_columns(
    real: pa.Table | pl.DataFrame,
    synthetic: pa.Table | pl.DataFrame,
    kinds: Mapping[str, ColumnKind],
) -> list[PreparedColumn]:
    """Every column of ``kinds`` from both tables, as floats or as shared integer codes."""
    return [
        PreparedColumn(c.name, c.kind, c.values[0], c.values[1], c.labels)
        for c in encode_frames([real, synthetic], kinds)
    ]


# -- single columns -----------------------------------------------------------------------


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two ECDFs."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - KS statistic`` of two numeric samples, nulls (NaN) dropped; 1 is identical."""
    r = np.round(real[~np.isnan(real)], _ROUND)
    s = np.round(synthetic[~np.isnan(synthetic)], _ROUND)
    return 1.0 - ks_statistic(r, s)


def tv_complement(real_codes: np.ndarray, synthetic_codes: np.ndarray) -> float:
    """``1 - total variation distance`` of two category samples (code 0 = null, dropped)."""
    r = real_codes[real_codes > 0]
    s = synthetic_codes[synthetic_codes > 0]
    if r.size == 0 or s.size == 0:
        return float("nan")
    size = int(max(r.max(), s.max())) + 1
    p = np.bincount(r, minlength=size) / r.size
    q = np.bincount(s, minlength=size) / s.size
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def column_shapes(columns: Sequence[PreparedColumn]) -> list[ColumnShape]:
    """The shape score of every column (NaN when a side has no values)."""
    shapes = []
    for col in columns:
        if col.continuous:
            shapes.append(
                ColumnShape(col.name, "KSComplement", ks_complement(col.real, col.synthetic))
            )
        else:
            shapes.append(
                ColumnShape(col.name, "TVComplement", tv_complement(col.real, col.synthetic))
            )
    return shapes


# -- column pairs -------------------------------------------------------------------------


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denom = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    if denom == 0.0:
        return float("nan")
    return float(np.clip((dx * dy).sum() / denom, -1.0, 1.0))


def _constant(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return present.size > 0 and bool(np.all(present == present[0]))


def correlation_similarity(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float, float]:
    """``(score, r_real, r_synthetic)``; the score is ``1 - |r_real - r_synthetic| / 2``."""
    if any(_constant(v) for v in (*real, *synthetic)):
        return float("nan"), float("nan"), float("nan")
    r_real, r_syn = _pearson(*real), _pearson(*synthetic)
    if np.isnan(r_real) or np.isnan(r_syn):
        return float("nan"), r_real, r_syn
    return 1.0 - abs(r_real - r_syn) / 2.0, r_real, r_syn


def _bin_codes(values: np.ndarray) -> np.ndarray:
    """Cut into 10 equal-width bins over the present values' range.

    ``np.digitize`` puts the maximum and the nulls both in bin 11, exactly as sdmetrics does.
    """
    present = values[~np.isnan(values)]
    if present.size == 0:
        return np.full(values.shape, _BINS + 1, dtype=np.int64)
    edges = np.histogram_bin_edges(present, bins=_BINS)
    return np.asarray(np.digitize(values, bins=edges), dtype=np.int64)


def contingency_similarity(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
) -> float:
    """``1 - total variation distance`` of the joint frequencies of two code columns."""
    width = int(max(real[1].max(initial=0), synthetic[1].max(initial=0))) + 1
    height = int(max(real[0].max(initial=0), synthetic[0].max(initial=0))) + 1
    size = width * height
    joint_r = real[0] * width + real[1]
    joint_s = synthetic[0] * width + synthetic[1]
    if joint_r.size == 0 or joint_s.size == 0:
        return float("nan")
    p = np.bincount(joint_r, minlength=size) / joint_r.size
    q = np.bincount(joint_s, minlength=size) / joint_s.size
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def cramers_v(real: tuple[np.ndarray, np.ndarray]) -> float:
    """Cramer's V of two code columns (no continuity correction; nulls are a category)."""
    width = int(real[1].max(initial=0)) + 1
    height = int(real[0].max(initial=0)) + 1
    counts = np.bincount(real[0] * width + real[1], minlength=width * height).reshape(height, width)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0].astype(np.float64)
    n = counts.sum()
    if n == 0 or min(counts.shape) < 2:
        return float("nan")
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(counts.shape) - 1)))


def pair_trends(
    columns: Sequence[PreparedColumn],
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    correlation_threshold: float = 0.5,
    association_threshold: float = 0.3,
) -> list[PairTrend]:
    """The trend score of every pair of columns (or of the given ``pairs``).

    A pair counts towards the mean only if the real data relates its columns: Pearson's
    |r| above ``correlation_threshold`` for two numbers, Cramer's V above
    ``association_threshold`` otherwise (sdmetrics 0.32's defaults; 0 counts every pair).
    """
    by_name = {c.name: c for c in columns}
    binned: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def codes(col: PreparedColumn) -> tuple[np.ndarray, np.ndarray]:
        if not col.continuous:
            return col.real, col.synthetic
        if col.name not in binned:
            binned[col.name] = (_bin_codes(col.real), _bin_codes(col.synthetic))
        return binned[col.name]

    chosen = list(itertools.combinations([c.name for c in columns], 2)) if pairs is None else pairs
    out = []
    for name_1, name_2 in chosen:
        a, b = by_name[name_1], by_name[name_2]
        if a.continuous and b.continuous:
            score, r_real, r_syn = correlation_similarity(
                (a.real, b.real), (a.synthetic, b.synthetic)
            )
            counted = not np.isnan(r_real) and abs(r_real) > correlation_threshold
            if correlation_threshold <= 0:
                counted = not np.isnan(score)
            out.append(
                PairTrend(
                    name_1, name_2, "CorrelationSimilarity", score, r_real, r_syn, counted=counted
                )
            )
        else:
            (ar, as_), (br, bs) = codes(a), codes(b)
            score = contingency_similarity((ar, br), (as_, bs))
            strength = cramers_v((ar, br))
            counted = not np.isnan(strength) and strength > association_threshold
            if association_threshold <= 0:
                counted = not np.isnan(score)
            out.append(
                PairTrend(
                    name_1,
                    name_2,
                    "ContingencySimilarity",
                    score,
                    real_association=strength,
                    counted=counted,
                )
            )
    return out


def pair_trend_mean(pairs: Sequence[PairTrend]) -> float:
    """The column-pair-trends figure: the mean score of the counted pairs."""
    return nanmean([p.score for p in pairs if p.counted])


def nanmean(values: Sequence[float]) -> float:
    """The mean of the defined scores (NaN when none is)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else float("nan")
