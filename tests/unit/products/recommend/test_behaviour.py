"""Behaviour: planted structure recovered, explanations, cold start, business rules, events."""

from __future__ import annotations

import polars as pl
import pytest

from lakeforge.products.recommend import (
    ALS,
    EASE,
    Auto,
    BusinessRules,
    Content,
    Hybrid,
    ItemKNN,
    MostPopular,
    evaluate,
    time_split,
)

from .conftest import ITEMS_PER_GROUP, N_GROUPS


def group_of(item: str) -> int:
    return int(item[1:]) // ITEMS_PER_GROUP if item != "I999" else 1


@pytest.mark.parametrize(
    "model",
    [
        ItemKNN(neighbours=30),
        ItemKNN(neighbours=30, weighting="bm25"),
        EASE(l2=20.0),
        ALS(factors=8, regularization=0.5, alpha=3.0, iterations=15, num_threads=1),
        Auto(candidates=[["MostPopular", {}], ["EASE", {"l2": 20.0}], ["ItemKNN", {}]]),
    ],
    ids=lambda m: type(m).__name__,
)
def test_planted_structure_beats_most_popular(model, interactions):
    # Setup: hold out each user's latest purchases
    train, test = time_split(interactions, test_fraction=0.3, per_user=True)
    # Run
    popular = MostPopular(by_segment=False).fit(train)
    users = test["user_id"].unique().sort().to_list()
    baseline = evaluate(popular.recommend(users, k=5), train, test, k=5)["overall"]
    fitted = model.fit(train)
    scored = evaluate(fitted.recommend(users, k=5), train, test, k=5)["overall"]
    # Assert
    assert scored["ndcg@5"] > 1.2 * baseline["ndcg@5"]
    recs = fitted.recommend(users, k=5)
    same_group = recs.with_columns(
        (
            pl.col("item_id").map_elements(group_of, return_dtype=pl.Int64)
            == pl.col("user_id").str.slice(1).cast(pl.Int64) % N_GROUPS
        ).alias("ok")
    )["ok"].mean()
    assert same_group is not None and float(same_group) > 0.8  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model",
    [
        ItemKNN(neighbours=30),
        EASE(l2=20.0),
        ALS(factors=8, iterations=10, num_threads=1),
        Content(),
        Hybrid(components=[["EASE", {"l2": 20.0}], ["ItemKNN", {}]]),
    ],
    ids=lambda m: type(m).__name__,
)
def test_explanations_name_items_the_user_interacted_with(model, interactions, items):
    model.fit(interactions, items=items)
    out = model.recommend(["U001", "U002"], k=5, explain=True)
    bought = {
        u: set(interactions.filter(pl.col("user_id") == u)["item_id"].to_list())
        for u in ("U001", "U002")
    }
    assert out["reason"].is_in(["history", "content"]).all()
    for user, because, sentence in out.select("user_id", "because", "explanation").iter_rows():
        assert because, sentence
        assert set(because) <= bought[user]
        assert because[0] in sentence


def test_cold_start_user_gets_segment_popular_items(interactions, users):
    model = EASE(l2=20.0).fit(interactions, users=users)
    out = model.recommend(["NEW2"], k=5, explain=True)
    seg2 = interactions.filter(
        pl.col("user_id").str.slice(1).cast(pl.Int64, strict=False) % N_GROUPS == 2
    )
    top_seg2 = (
        seg2.group_by("item_id")
        .agg(pl.col("user_id").n_unique().alias("n"))
        .sort(["n", "item_id"], descending=[True, False])["item_id"]
        .head(5)
        .to_list()
    )
    assert out["item_id"].to_list() == top_seg2
    assert set(out["reason"].to_list()) == {"popular_segment"}
    assert out["explanation"][0] == "popular in your segment"
    # an unknown user without a segment gets what is popular overall
    anyone = model.recommend(["stranger"], k=1, explain=True)
    assert anyone["item_id"].to_list() == ["I000"]
    assert anyone["reason"].to_list() == ["popular"]


def test_new_events_update_the_next_answer(interactions, users):
    model = ItemKNN(neighbours=30).fit(interactions, users=users)
    before = model.recommend(["NEW3"], k=5, explain=True)
    model.add_event("NEW3", "I020")  # a group-1 item
    after = model.recommend(["NEW3"], k=5, explain=True)
    assert before["reason"][0] == "popular_segment"
    assert "I020" not in after["item_id"].to_list()
    assert all(group_of(i) == 1 for i in after["item_id"].to_list())
    assert all(b == ["I020"] for b in after["because"].to_list())


def test_item_without_interactions_is_recommendable_through_content(interactions, items):
    model = Content().fit(interactions, items=items)
    assert "I999" in model.item_ids_
    assert model.popularity_[model.item_index_["I999"]] == 0
    out = model.recommend(["U001"], k=ITEMS_PER_GROUP + 1)  # U001 buys group 1
    assert "I999" in out["item_id"].to_list()
    assert model.similar("I020", k=ITEMS_PER_GROUP)["similar_item_id"].is_in(["I999"]).any()
    hybrid = Hybrid(components=[["EASE", {"l2": 20.0}], ["Content", {}]], weights=[0.5, 0.5])
    hybrid.fit(interactions, items=items)
    assert "I999" in hybrid.recommend(["U001"], k=ITEMS_PER_GROUP)["item_id"].to_list()


def test_exclude_seen_is_configurable(interactions):
    model = EASE(l2=20.0).fit(interactions)
    bought = set(interactions.filter(pl.col("user_id") == "U000")["item_id"].to_list())
    assert not set(model.recommend("U000", k=10)["item_id"].to_list()) & bought
    again = model.recommend("U000", k=10, exclude_seen=False)["item_id"].to_list()
    assert set(again) & bought


def test_business_rules(interactions, items):
    model = Hybrid(components=[["EASE", {"l2": 20.0}], ["MostPopular", {}]], weights=[0.3, 0.7])
    model.fit(interactions, items=items)
    stock = [f"I{n:03d}" for n in range(0, 60, 2)]
    only_stock = model.recommend("U001", k=8, rules=BusinessRules(in_stock=stock))
    assert set(only_stock["item_id"].to_list()) <= set(stock)

    capped = model.recommend("U001", k=8, rules=BusinessRules(max_per_category=2))
    categories = dict(items.select("item_id", "category").iter_rows())
    counts = pl.Series([categories[i] for i in capped["item_id"].to_list()]).value_counts()
    assert counts["count"].max() <= 2
    assert capped.height == 8

    pinned = model.recommend(
        "U001", k=5, explain=True, rules=BusinessRules(pinned=["I059", "I058"])
    )
    assert pinned["item_id"].to_list()[:2] == ["I059", "I058"]
    assert pinned["reason"].to_list()[:2] == ["pinned", "pinned"]

    plain = model.recommend("U001", k=5)["item_id"].to_list()
    boosted = model.recommend("U001", k=5, rules=BusinessRules(boost={"I045": 1000.0}))
    assert "I045" not in plain and boosted["item_id"][0] == "I045"

    no_cat1 = model.recommend(
        "U001", k=8, rules=BusinessRules(excluded_categories={"U001": ["cat1"]})
    )
    assert not any(categories[i] == "cat1" for i in no_cat1["item_id"].to_list())
    other = model.recommend(
        "U005", k=3, rules=BusinessRules(excluded_categories={"U001": ["cat1"]})
    )
    assert any(categories[i] == "cat1" for i in other["item_id"].to_list())


def test_similar_items_share_the_group(interactions):
    model = ItemKNN(neighbours=30).fit(interactions)
    out = model.similar("I031", k=5)
    assert out["item_id"].to_list() == ["I031"] * 5
    assert all(group_of(i) == 2 for i in out["similar_item_id"].to_list())


def test_auto_records_its_choice(interactions):
    model = Auto(
        candidates=[["MostPopular", {}], ["EASE", {"l2": 20.0}], ["ItemKNN", {}]],
        validation="random",
    ).fit(interactions)
    assert model.chosen_[0][0] in {"EASE", "ItemKNN"}
    assert any(r.get("selected") for r in model.validation_scores_)
