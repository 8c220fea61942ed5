"""Against the simulated shop's hidden truth: customers' true favourite products."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from lakeforge.products.recommend import Hybrid, MostPopular, ranking_metrics
from lakeforge.synth.simulator import RetailConfig, simulate_retail


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    config = RetailConfig.preset("small", seed=3).model_copy(
        update={"customers": 1200, "days": 150}
    )
    simulate_retail(root, config)
    return root


def test_beats_most_popular_against_true_favourites(world: Path):
    # Setup: interactions from order lines; the truth is each customer's favourite products
    lines = pl.read_parquet(world / "order_items.parquet")
    orders = pl.read_parquet(world / "orders.parquet")
    interactions = lines.join(
        orders.select("order_id", "customer_id", "ordered_at"), on="order_id"
    ).select(
        pl.col("customer_id").alias("user_id"),
        pl.col("product_id").alias("item_id"),
        pl.col("ordered_at").alias("ts"),
        pl.col("quantity").alias("weight"),
    )
    products = pl.read_parquet(world / "products.parquet").rename({"product_id": "item_id"})
    favourites = pl.read_parquet(world / "truth" / "customer_favourites.parquet")
    truth: dict[str, set[str]] = {}
    for user, item in favourites.select("customer_id", "product_id").iter_rows():
        truth.setdefault(user, set()).add(item)
    users = sorted(set(truth) & set(interactions["user_id"].to_list()))

    def ndcg(model) -> float:  # type: ignore[no-untyped-def]
        model.fit(interactions, items=products)
        out = model.recommend(users, k=10, exclude_seen=False)
        recs: dict[str, list[str]] = {}
        for user, item in out.select("user_id", "item_id").iter_rows():
            recs.setdefault(user, []).append(item)
        return ranking_metrics(recs, truth, k=10, n_items=products.height)["ndcg@10"]

    # Run
    popular = ndcg(MostPopular())
    model = Hybrid(
        components=[["BuyAgain", {}], ["ALS", {"factors": 32, "iterations": 15}]],
        weights=[0.7, 0.3],
    )
    ours = ndcg(model)
    # Assert
    assert ours >= 1.5 * popular
    explained = model.recommend(users[:20], k=5, explain=True)
    for user, because in explained.select("user_id", "because").iter_rows():
        bought = set(interactions.filter(pl.col("user_id") == user)["item_id"].to_list())
        assert because and set(because) <= bought
