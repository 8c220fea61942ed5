"""Behaviour: planted structure recovered, explanations, cold start, business rules, events."""

from __future__ import annotations

import polars as pl
import pytest

from lakeforge.errors import ContractError
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


def test_in_stock_rule_from_an_inventory_table(interactions, items):
    # Setup: two stores, two days; on the latest day only even items have stock somewhere,
    # and I002 had stock the day before but none now
    model = EASE(l2=20.0).fit(interactions, items=items)
    ids = items["item_id"].to_list()
    rows = []
    for n, item in enumerate(ids):
        rows.append(("2024-01-01", "S1", item, 5))
        rows.append(("2024-01-02", "S1", item, 3 if n % 2 == 0 and item != "I002" else 0))
        rows.append(("2024-01-02", "S2", item, 0))
    inventory = pl.DataFrame(
        rows, schema=["date", "store_id", "product_id", "on_hand_close"], orient="row"
    ).with_columns(pl.col("date").str.to_date())
    # Run
    rules = BusinessRules.from_inventory(inventory, max_per_category=3)
    out = model.recommend(["U001", "U002", "NEW1"], k=8, rules=rules)
    # Assert
    assert rules.in_stock is not None and "I002" not in rules.in_stock
    assert set(rules.in_stock) == {i for n, i in enumerate(ids) if n % 2 == 0} - {"I002"}
    assert set(out["item_id"].to_list()) <= set(rules.in_stock)
    assert rules.max_per_category == 3
    with pytest.raises(ContractError):
        BusinessRules.from_inventory(inventory.drop("on_hand_close"))


def test_new_events_move_a_known_user_towards_what_they_just_bought(interactions):
    # U000 buys in group 0; three group-3 purchases should bring group-3 items into the top-5
    model = EASE(l2=20.0).fit(interactions)
    before = model.recommend("U000", k=5)["item_id"].to_list()
    for item in ("I045", "I046", "I047"):
        model.add_event("U000", item)
    after = model.recommend("U000", k=5, explain=True)
    assert not any(group_of(i) == 3 for i in before)
    assert any(group_of(i) == 3 for i in after["item_id"].to_list())
    assert not {"I045", "I046", "I047"} & set(after["item_id"].to_list())  # now purchased
    becauses = {b for because in after["because"].to_list() for b in because}
    assert becauses & {"I045", "I046", "I047"}


@pytest.mark.parametrize(
    "model",
    [ItemKNN(neighbours=30), EASE(l2=20.0), ALS(factors=8, iterations=10, num_threads=1)],
    ids=lambda m: type(m).__name__,
)
def test_one_user_serving_path_matches_the_batch_path(model, interactions):
    # The serving path (a few users, no sparse matrices) and the batch path agree
    model.fit(interactions)
    model.add_event("U003", "I050")
    users = [f"U{u:03d}" for u in range(0, 40, 3)] + ["NEW0", "stranger"]
    batch = model.recommend(users, k=6, explain=True)  # > _PER_USER users: batched
    single = pl.concat([model.recommend(u, k=6, explain=True) for u in users])
    assert batch["item_id"].to_list() == single["item_id"].to_list()
    assert batch["because"].to_list() == single["because"].to_list()
    assert batch["score"].to_list() == pytest.approx(single["score"].to_list(), rel=1e-5)


def test_item_knn_neighbourhoods():
    # A's nearest item is B, but B's nearest is D (and D's is E): a user holding only B gets
    # A under the target rule (B is among A's neighbours) and D under the source rule
    rows = [(f"U{u}", item) for u in range(3) for item in ("A", "B")]
    rows += [(f"V{u}", item) for u in range(20) for item in ("B", "D")]
    rows += [(f"X{u}", item) for u in range(100) for item in ("D", "E")] + [("W", "B")]
    frame = pl.DataFrame(rows, schema=["user_id", "item_id"], orient="row")
    target = ItemKNN(neighbours=1).fit(frame)
    source = ItemKNN(neighbours=1, neighbourhood="source").fit(frame)
    assert target.recommend("W", k=1)["item_id"].to_list() == ["A"]
    assert source.recommend("W", k=1)["item_id"].to_list() == ["D"]
    assert target.similar("A", k=1)["similar_item_id"].to_list() == ["B"]
    assert target.similar("B", k=1)["similar_item_id"].to_list() == ["D"]
    with pytest.raises(ValueError, match="neighbourhood"):
        ItemKNN(neighbourhood="sideways").fit(frame)


def test_new_user_gets_content_matches_from_their_first_interaction(interactions, items, users):
    # a newcomer starts on segment favourites, then one purchase brings content matches,
    # including the item nobody has bought yet (I999, group 1)
    model = Hybrid(components=[["Content", {}]], weights=[1.0]).fit(
        interactions, items=items, users=users
    )
    assert model.recommend("NEW1", k=3, explain=True)["reason"].to_list() == ["popular_segment"] * 3
    model.add_event("NEW1", "I020")
    out = model.recommend("NEW1", k=ITEMS_PER_GROUP, explain=True)
    assert "I999" in out["item_id"].to_list()
    assert all(group_of(i) == 1 for i in out["item_id"].to_list())
    assert set(out["reason"].to_list()) == {"content"}
    assert out["explanation"][0] == "similar to I020 (content match)"


def test_refitting_on_other_ids_forgets_the_previous_fit(interactions):
    model = ItemKNN(neighbours=30).fit(interactions)
    model.recommend("U001", k=3)  # fills the serving caches
    renamed = interactions.with_columns(("X" + pl.col("item_id")).alias("item_id"))
    out = model.fit(renamed).recommend("U001", k=3)["item_id"].to_list()
    assert all(item.startswith("XI") for item in out)
