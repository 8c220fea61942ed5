"""Metrics on hand-worked examples and the splits."""

from __future__ import annotations

import math

import polars as pl
import pytest

from lakeforge.products.recommend import evaluate, random_split, ranking_metrics, time_split


def test_ranking_metrics_by_hand():
    recs = {"a": ["x", "y", "z"], "b": ["p", "q", "r"]}
    truth = {"a": {"y", "w"}, "b": {"s"}}
    out = ranking_metrics(recs, truth, k=3, n_items=10)
    dcg_a = 1 / math.log2(3)
    idcg_a = 1 + 1 / math.log2(3)
    assert out["ndcg@3"] == pytest.approx((dcg_a / idcg_a) / 2)
    assert out["recall@3"] == pytest.approx(0.25)
    assert out["hitrate@3"] == pytest.approx(0.5)
    assert out["map@3"] == pytest.approx((0.5 / 2) / 2)
    assert out["coverage@3"] == pytest.approx(0.6)


def test_time_split_keeps_the_future_out(interactions):
    train, test = time_split(interactions, test_fraction=0.2)
    assert train["ts"].max() <= test["ts"].min()
    assert train.height + test.height == interactions.height
    per_user_train, per_user_test = time_split(interactions, test_fraction=0.3, per_user=True)
    joined = per_user_test.join(
        per_user_train.group_by("user_id").agg(pl.col("ts").max().alias("last")), on="user_id"
    )
    assert (joined["ts"] >= joined["last"]).all()


def test_random_split_is_seeded(interactions):
    a, _ = random_split(interactions, seed=3)
    b, _ = random_split(interactions, seed=3)
    assert a.equals(b)


def test_evaluate_reports_activity_groups(interactions):
    train, test = time_split(interactions, test_fraction=0.3, per_user=True)
    recs = pl.DataFrame({"user_id": ["U000", "U000"], "item_id": ["I001", "I002"], "rank": [1, 2]})
    report = evaluate(recs, train, test, k=2, activity_groups=(5,))
    assert set(report["overall"]) >= {
        "ndcg@2",
        "recall@2",
        "hitrate@2",
        "map@2",
        "coverage@2",
        "novelty",
        "popularity_bias",
    }
    assert report["by_activity"]
