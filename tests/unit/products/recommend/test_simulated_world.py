"""Against the simulated shop's hidden truth: customers' true favourite products."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from lakeforge.products.recommend import (
    EASE,
    BusinessRules,
    Hybrid,
    ItemKNN,
    MostPopular,
    ranking_metrics,
)
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


def _interactions(world: Path) -> pl.DataFrame:
    lines = pl.read_parquet(world / "order_items.parquet")
    orders = pl.read_parquet(world / "orders.parquet")
    return lines.join(orders.select("order_id", "customer_id", "ordered_at"), on="order_id").select(
        pl.col("customer_id").alias("user_id"),
        pl.col("product_id").alias("item_id"),
        pl.col("ordered_at").alias("ts"),
    )


def test_similar_items_find_the_true_co_purchase_partners(world: Path):
    # Setup: the simulator plants product -> partner co-purchases (truth/product_affinities)
    interactions = _interactions(world)
    products = pl.read_parquet(world / "products.parquet").rename({"product_id": "item_id"})
    partners = pl.read_parquet(world / "truth" / "product_affinities.parquet")
    model = ItemKNN(neighbours=50).fit(interactions, items=products)
    # Run: "customers who bought this also bought", top 10 of the whole catalogue
    pairs = [
        (p, q)
        for p, q in partners.select("product_id", "partner_product_id").iter_rows()
        if p in model.item_index_
    ]
    found = sum(q in model.similar(p, k=10)["similar_item_id"].to_list() for p, q in pairs)
    # Assert: chance is 10 / catalogue size (5% here)
    assert len(pairs) >= 50
    assert found / len(pairs) >= 0.5
    assert found / len(pairs) >= 5 * 10 / products.height


def test_segment_cold_start_and_stock_on_the_simulated_shop(world: Path):
    # Setup: segments (the CRM's view of each customer) and the stores' inventory
    interactions = _interactions(world)
    segments = pl.read_parquet(world / "truth" / "segments.parquet").select(
        pl.col("customer_id").alias("user_id"), "segment"
    )
    inventory = pl.read_parquet(world / "inventory.parquet")
    newcomer = segments.head(1).with_columns(pl.lit("NEWCOMER").alias("user_id"))
    users = pl.concat([segments, newcomer])
    model = EASE(l2=50.0).fit(interactions, users=users)
    rules = BusinessRules.from_inventory(inventory)
    # Run
    cold = model.recommend("NEWCOMER", k=5, explain=True, rules=rules)
    warm = model.recommend(segments["user_id"].head(30).to_list(), k=10, rules=rules)
    # Assert: the newcomer gets their segment's favourites that are in stock
    segment = newcomer["segment"][0]
    members = set(segments.filter(pl.col("segment") == segment)["user_id"].to_list())
    in_stock = set(rules.in_stock or ())
    top = (
        interactions.filter(pl.col("user_id").is_in(list(members)))
        .filter(pl.col("item_id").is_in(list(in_stock)))
        .group_by("item_id")
        .agg(pl.col("user_id").n_unique().alias("n"))
        .sort(["n", "item_id"], descending=[True, False])["item_id"]
        .head(5)
        .to_list()
    )
    assert cold["item_id"].to_list() == top
    assert set(cold["reason"].to_list()) == {"popular_segment"}
    assert set(warm["item_id"].to_list()) <= in_stock
