"""Top-K metrics and train/test splits for recommenders (time-based by default).

Example:
    >>> train, test = time_split(interactions, test_fraction=0.2)  # doctest: +SKIP
    >>> report = evaluate(model, train, test, k=10)  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from lakeforge.products.recommend._frames import as_interactions

__all__ = [
    "evaluate",
    "evaluate_model",
    "random_split",
    "ranking_metrics",
    "time_split",
]


def time_split(
    interactions: Any, *, test_fraction: float = 0.2, per_user: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split by time: the latest ``test_fraction`` of interactions (globally or per user) is test.

    Test users and items unseen in training stay in the test set (cold start counts).
    """
    df = as_interactions(interactions).with_row_index("_row")
    if per_user:
        ranked = df.with_columns(
            (pl.col("ts").rank("ordinal").over("user_id") / pl.len().over("user_id")).alias("_q")
        )
        is_test = (pl.col("_q") > 1.0 - test_fraction) & (pl.len().over("user_id") > 1)
        test = ranked.filter(is_test).drop("_row", "_q")
        train = ranked.filter(~is_test).drop("_row", "_q")
        return train, test
    cutoff = df["ts"].quantile(1.0 - test_fraction, interpolation="lower")
    train = df.filter(pl.col("ts") <= cutoff).drop("_row")
    test = df.filter(pl.col("ts") > cutoff).drop("_row")
    return train, test


def random_split(
    interactions: Any, *, test_fraction: float = 0.2, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split interactions uniformly at random (seeded)."""
    df = as_interactions(interactions)
    mask = np.random.default_rng(seed).random(df.height) < test_fraction
    return df.filter(~pl.Series(mask)), df.filter(pl.Series(mask))


def ranking_metrics(
    recommended: Mapping[str, Sequence[str]],
    truth: Mapping[str, set[str]],
    *,
    k: int = 10,
    n_items: int,
    popularity: Mapping[str, float] | None = None,
    n_train_users: int | None = None,
) -> dict[str, float]:
    """Recall, NDCG, HitRate and MAP at ``k`` (means over users in ``truth``), coverage, novelty.

    NDCG uses binary gains and an ideal DCG over ``min(|truth|, k)``; a user without
    recommendations scores 0. ``novelty`` is the mean self-information ``-log2(pop/users)``
    of recommended items and ``popularity_bias`` their mean training popularity share.
    """
    ndcg = recall = hit = ap = 0.0
    shown: set[str] = set()
    novelty: list[float] = []
    bias: list[float] = []
    users = n_train_users or 1
    for user, relevant in truth.items():
        ranked = list(recommended.get(user, ()))[:k]
        shown.update(ranked)
        hits = np.array([item in relevant for item in ranked], dtype=float)
        if len(hits):
            discounts = 1.0 / np.log2(np.arange(2, k + 2))
            ideal = discounts[: min(len(relevant), k)].sum() or 1.0
            ndcg += float((hits * discounts[: len(hits)]).sum() / ideal)
            precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
            ap += float((precisions * hits).sum() / max(min(len(relevant), k), 1))
        recall += float(hits.sum() / len(relevant)) if relevant else 0.0
        hit += float(hits.any())
        if popularity is not None:
            for item in ranked:
                count = max(popularity.get(item, 0.0), 1.0)
                novelty.append(float(-np.log2(count / users)))
                bias.append(count / users)
    n = max(len(truth), 1)
    out = {
        f"ndcg@{k}": ndcg / n,
        f"recall@{k}": recall / n,
        f"hitrate@{k}": hit / n,
        f"map@{k}": ap / n,
        f"coverage@{k}": len(shown) / max(n_items, 1),
        "users": float(len(truth)),
    }
    if popularity is not None:
        out["novelty"] = float(np.mean(novelty)) if novelty else 0.0
        out["popularity_bias"] = float(np.mean(bias)) if bias else 0.0
    return out


def evaluate(
    recommendations: pl.DataFrame,
    train: Any,
    test: Any,
    *,
    k: int = 10,
    n_items: int | None = None,
    activity_groups: Sequence[int] = (5, 20),
) -> dict[str, Any]:
    """Score a ``user_id, item_id, rank`` frame against held-out interactions.

    Returns overall metrics plus the same metrics per user-activity group (light / medium /
    heavy by training interactions, split at ``activity_groups``).
    """
    train_df = as_interactions(train)
    test_df = as_interactions(test)
    recs: dict[str, list[str]] = {}
    for user, item in (
        recommendations.sort(["user_id", "rank"]).select("user_id", "item_id").iter_rows()
    ):
        recs.setdefault(user, []).append(item)
    truth: dict[str, set[str]] = {}
    for user, item in test_df.select("user_id", "item_id").iter_rows():
        truth.setdefault(user, set()).add(item)
    popularity = dict(
        train_df.group_by("item_id").agg(pl.col("user_id").n_unique().alias("n")).iter_rows()
    )
    n_items = n_items or len(set(train_df["item_id"].to_list()) | set(test_df["item_id"].to_list()))
    n_users = train_df["user_id"].n_unique()
    overall = ranking_metrics(
        recs, truth, k=k, n_items=n_items, popularity=popularity, n_train_users=n_users
    )
    activity = dict(train_df.group_by("user_id").len().iter_rows())
    edges = [0, *activity_groups, float("inf")]
    groups: dict[str, dict[str, float]] = {}
    for lo, hi in itertools.pairwise(edges):
        label = f"{lo}-{int(hi) - 1}" if hi != float("inf") else f"{lo}+"
        members = {u: t for u, t in truth.items() if lo <= activity.get(u, 0) < hi}
        if members:
            groups[label] = ranking_metrics(
                recs, members, k=k, n_items=n_items, popularity=popularity, n_train_users=n_users
            )
    return {"overall": overall, "by_activity": groups}


def evaluate_model(
    model: Any, train: Any, test: Any, *, k: int = 10, items: Any = None, users: Any = None
) -> dict[str, Any]:
    """Fit ``model`` on ``train``, recommend for the test users and score it."""
    model.fit(train, items=items, users=users)
    test_df = as_interactions(test)
    recs = model.recommend(test_df["user_id"].unique().sort().to_list(), k=k)
    return evaluate(recs, train, test_df, k=k, n_items=len(model.item_ids_))
