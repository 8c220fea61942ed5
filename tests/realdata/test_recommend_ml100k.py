"""Recommenders on MovieLens 100K (u1.base -> u1.test), a quick configuration of the benchmark.

``auto`` (settings chosen on a random validation split of u1.base) must match EASE, beat
MostPopular by far, and explain with movies the user actually rated; MostPopular, item-kNN
and EASE land on the issue's figures (0.325, 0.518, 0.565).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from lakeforge.products.recommend import EASE, Auto, ItemKNN, MostPopular, evaluate

pytestmark = pytest.mark.realdata


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(
        path,
        separator="\t",
        has_header=False,
        new_columns=["user_id", "item_id", "rating", "ts"],
        schema_overrides={"user_id": pl.String, "item_id": pl.String},
    )


def test_auto_matches_ease_and_beats_popular_on_ml100k(shared_data: Path) -> None:
    folder = shared_data / "ml-100k"
    if not (folder / "u1.base").is_file():
        pytest.skip(f"ml-100k is not in {folder}")
    base, test = _read(folder / "u1.base"), _read(folder / "u1.test")
    catalogue = pl.DataFrame({"item_id": [str(i) for i in range(1, 1683)]})
    users = test["user_id"].unique().sort().to_list()

    def ndcg(model) -> float:  # type: ignore[no-untyped-def]
        model.fit(base, items=catalogue)
        recs = model.recommend(users, k=10)
        return float(evaluate(recs, base, test, k=10, n_items=1682)["overall"]["ndcg@10"])

    popular = ndcg(MostPopular())
    knn = ndcg(ItemKNN(neighbours=200))
    ease = ndcg(EASE(l2=500.0))
    auto = Auto(
        candidates=[["MostPopular", {}], ["ItemKNN", {}], ["EASE", {"l2": 500.0}]],
        validation="random",
    )
    auto_ndcg = ndcg(auto)

    assert popular == pytest.approx(0.325, abs=0.01)
    assert knn == pytest.approx(0.518, abs=0.01)  # the item-kNN (cosine, k=200)
    assert ease == pytest.approx(0.565, abs=0.01)
    assert auto_ndcg >= ease - 0.005
    assert auto_ndcg > 1.5 * popular
    explained = auto.recommend(["1"], k=5, explain=True)
    rated = set(base.filter(pl.col("user_id") == "1")["item_id"].to_list())
    for because in explained["because"].to_list():
        assert because and set(because) <= rated
