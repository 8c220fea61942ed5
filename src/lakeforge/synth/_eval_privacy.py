"""Privacy: how much a synthetic table gives away about the rows it was trained on.

All measures compare the synthetic rows with the training rows *and* with a holdout of real
rows the generator never saw, so "close to the training data" is judged against what chance
gives for new rows of the same population:

* **DCR share**: of (up to 5,000) synthetic rows, the share whose nearest real record is in an
  equal-size sample of the training rows rather than in the holdout (ties count half).
  0.5 is ideal; a generator that memorises rows scores towards 1.
* **exact-copy rate**: the share of synthetic rows equal to some training row on every
  column (less ``ignore`` columns, e.g. a near-unique weight that hides copies), beside the
  same share for the holdout's rows, which is what chance gives.
* **nearest-neighbour distance ratio** (NNDR): distance to the nearest training row over the
  distance to the second nearest; low values mean a row sits on top of one training record.
  Reported as the median, beside the holdout's own median.
* **membership inference**: an attacker who scores a real row by its distance to the closest
  synthetic record tries to tell training rows (members) from holdout rows (non-members);
  the ROC AUC of that attack, 0.5 meaning it learns nothing.

Distances are Gower-style: per column, ``|a - b| / range`` capped at 1 for numbers and
datetimes (range from the training rows; null vs null is 0, null vs a value 1), 0/1 for
categories (null is a category); averaged over the columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from lakeforge.synth._base import ColumnKind
from lakeforge.synth._eval_fidelity import encode_frames

__all__ = [
    "DistanceMatrix",
    "PrivacyMeasures",
    "copy_rate",
    "encode_for_distance",
    "measure_privacy",
    "nearest_distances",
    "roc_auc",
]

_NULL = np.float32(1e9)  # scaled numbers lie in [0, 1]; a null is "far from every number"
_CHUNK_CELLS = 8_000_000  # query rows x reference rows computed at once (32 MB as float32)


@dataclass(frozen=True)
class DistanceMatrix:
    """Rows ready for Gower distances: scaled numbers (nulls far away) and category codes."""

    numeric: np.ndarray  # (n, p) float32
    categorical: np.ndarray  # (n, q) int32, 0 = null

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.numeric.shape[0])

    @property
    def n_columns(self) -> int:
        """Number of columns."""
        return int(self.numeric.shape[1] + self.categorical.shape[1])

    def take(self, rows: np.ndarray) -> DistanceMatrix:
        """The given rows."""
        return DistanceMatrix(self.numeric[rows], self.categorical[rows])


def encode_for_distance(
    tables: Sequence[pa.Table | pl.DataFrame], kinds: Mapping[str, ColumnKind]
) -> list[DistanceMatrix]:
    """Encode tables alike; numbers are scaled by the *first* table's range."""
    columns = encode_frames(tables, kinds)
    n = len(tables)
    numeric: list[list[np.ndarray]] = [[] for _ in range(n)]
    categorical: list[list[np.ndarray]] = [[] for _ in range(n)]
    for col in columns:
        if col.continuous:
            base = col.values[0]
            present = base[~np.isnan(base)]
            lo = float(present.min()) if present.size else 0.0
            span = float(present.max()) - lo if present.size else 0.0
            span = span or 1.0
            for i, values in enumerate(col.values):
                scaled = ((values - lo) / span).astype(np.float32)
                numeric[i].append(np.where(np.isnan(scaled), _NULL, scaled))
        else:
            for i, values in enumerate(col.values):
                categorical[i].append(values.astype(np.int32))
    out = []
    for i, table in enumerate(tables):
        rows = table.num_rows if isinstance(table, pa.Table) else table.height
        num = np.stack(numeric[i], axis=1) if numeric[i] else np.zeros((rows, 0), np.float32)
        cat = np.stack(categorical[i], axis=1) if categorical[i] else np.zeros((rows, 0), np.int32)
        out.append(DistanceMatrix(num, cat))
    return out


def nearest_distances(query: DistanceMatrix, reference: DistanceMatrix, k: int = 1) -> np.ndarray:
    """The ``k`` smallest Gower distances from each query row to the reference rows, sorted.

    Brute force in chunks of query rows (memory stays near ``_CHUNK_CELLS`` floats).
    """
    n_q, n_ref = query.n_rows, reference.n_rows
    if n_ref < k:
        raise ValueError(f"need at least {k} reference rows, got {n_ref}")
    out = np.empty((n_q, k), dtype=np.float64)
    width = max(query.n_columns, 1)
    chunk = max(1, _CHUNK_CELLS // max(n_ref, 1))
    ref_num, ref_cat = reference.numeric.T.copy(), reference.categorical.T.copy()
    for start in range(0, n_q, chunk):
        stop = min(start + chunk, n_q)
        dist = np.zeros((stop - start, n_ref), dtype=np.float32)
        scratch = np.empty_like(dist)
        for j in range(ref_num.shape[0]):
            np.subtract(query.numeric[start:stop, j, None], ref_num[j][None, :], out=scratch)
            np.abs(scratch, out=scratch)
            np.minimum(scratch, 1.0, out=scratch)
            dist += scratch
        for j in range(ref_cat.shape[0]):
            dist += query.categorical[start:stop, j, None] != ref_cat[j][None, :]
        if k == 1:
            out[start:stop, 0] = dist.min(axis=1)
        else:
            part = np.partition(dist, k - 1, axis=1)[:, :k]
            out[start:stop] = np.sort(part, axis=1)
    return out / width


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counting half."""
    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(np.asarray(scores), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0
    ranks = mean_rank[inverse]
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def copy_rate(rows: DistanceMatrix, train: DistanceMatrix, columns: np.ndarray) -> float:
    """Share of ``rows`` equal to some training row on the chosen columns (a boolean mask).

    ``columns`` selects among the numeric columns first, then the categorical ones.
    """
    p = rows.numeric.shape[1]
    num_mask, cat_mask = columns[:p], columns[p:]

    def frame(m: DistanceMatrix) -> pl.DataFrame:
        data: dict[str, np.ndarray] = {}
        for j in np.flatnonzero(num_mask):
            data[f"n{j}"] = m.numeric[:, j]
        for j in np.flatnonzero(cat_mask):
            data[f"c{j}"] = m.categorical[:, j]
        return pl.DataFrame(data)

    if rows.n_rows == 0:
        return float("nan")
    if not columns.any():
        return 1.0
    left, right = frame(rows), frame(train).unique()
    found = left.join(right, on=left.columns, how="semi").height
    return found / rows.n_rows


@dataclass(frozen=True)
class PrivacyMeasures:
    """The privacy figures of one synthetic table, with the holdout's chance-level references."""

    dcr_share: float
    dcr_rows: int
    copy_rate: float
    holdout_copy_rate: float
    copy_ignored: tuple[str, ...]
    nndr_median: float
    holdout_nndr_median: float
    mia_auc: float
    mia_rows: int
    dcr_train: np.ndarray  # distances synthetic -> train sample, for the charts
    dcr_holdout: np.ndarray  # distances synthetic -> holdout


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.permutation(n)[: min(n, size)])


def measure_privacy(
    train: pa.Table | pl.DataFrame,
    synthetic: pa.Table | pl.DataFrame,
    holdout: pa.Table | pl.DataFrame,
    kinds: Mapping[str, ColumnKind],
    *,
    ignore: Sequence[str] = (),
    dcr_rows: int = 5_000,
    mia_rows: int = 2_000,
    reference_rows: int = 50_000,
    attack_rows: int = 200_000,
    seed: int = 0,
) -> PrivacyMeasures:
    """DCR share, exact-copy rates, NNDR and the membership-inference AUC (see module doc).

    Cost is brute force, so large tables are sampled: the equal-size train and holdout
    samples of the DCR share hold at most ``reference_rows`` rows, and the attacker searches
    at most ``attack_rows`` synthetic rows (all of them below that). Exact copies are
    counted over every row.
    """
    rng = np.random.default_rng(seed)
    enc_train, enc_syn, enc_hold = encode_for_distance([train, synthetic, holdout], kinds)
    names = [n for n, k in kinds.items() if k in ("numeric", "datetime")] + [
        n for n, k in kinds.items() if k not in ("numeric", "datetime")
    ]
    columns = np.array([n not in set(ignore) for n in names], dtype=bool)
    # equal-size samples of train and holdout, and the synthetic rows to place among them
    m = min(enc_train.n_rows, enc_hold.n_rows, reference_rows)
    train_s = enc_train.take(_sample(enc_train.n_rows, m, rng))
    hold_s = enc_hold.take(_sample(enc_hold.n_rows, m, rng))
    syn_s = enc_syn.take(_sample(enc_syn.n_rows, dcr_rows, rng))
    two_train = nearest_distances(syn_s, train_s, k=min(2, m))
    d_train = two_train[:, 0]
    d_hold = nearest_distances(syn_s, hold_s, k=1)[:, 0]
    share = float(np.mean(d_train < d_hold) + 0.5 * np.mean(d_train == d_hold))
    # NNDR of synthetic rows and, for reference, of holdout rows, both against the train sample
    nndr_syn = _nndr(two_train)
    hold_q = hold_s.take(_sample(hold_s.n_rows, dcr_rows, rng))
    nndr_hold = _nndr(nearest_distances(hold_q, train_s, k=min(2, m)))
    # membership inference: members are training rows, non-members holdout rows
    k = min(mia_rows, m)
    members = enc_train.take(_sample(enc_train.n_rows, k, rng))
    others = enc_hold.take(_sample(enc_hold.n_rows, k, rng))
    attack_ref = enc_syn.take(_sample(enc_syn.n_rows, attack_rows, rng))
    d_members = nearest_distances(members, attack_ref)[:, 0]
    d_others = nearest_distances(others, attack_ref)[:, 0]
    labels = np.concatenate([np.ones(k, bool), np.zeros(k, bool)])
    mia = roc_auc(labels, -np.concatenate([d_members, d_others]))
    return PrivacyMeasures(
        dcr_share=share,
        dcr_rows=syn_s.n_rows,
        copy_rate=copy_rate(enc_syn, enc_train, columns),
        holdout_copy_rate=copy_rate(enc_hold, enc_train, columns),
        copy_ignored=tuple(ignore),
        nndr_median=float(np.median(nndr_syn)),
        holdout_nndr_median=float(np.median(nndr_hold)),
        mia_auc=mia,
        mia_rows=k,
        dcr_train=d_train,
        dcr_holdout=d_hold,
    )


def _nndr(two: np.ndarray) -> np.ndarray:
    """Nearest over second-nearest distance; 0 when both are 0 (a row on duplicated records)."""
    if two.shape[1] < 2:
        return np.ones(two.shape[0])
    first, second = two[:, 0], two[:, 1]
    ratio: np.ndarray = np.divide(first, second, out=np.zeros_like(first), where=second > 0)
    return ratio
