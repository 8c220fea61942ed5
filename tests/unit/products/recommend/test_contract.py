"""One contract check across every recommender (fit returns self, not fitted, save/load, seeds)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from lakeforge.errors import NotFittedError
from lakeforge.products.recommend import (
    ALS,
    EASE,
    Auto,
    BuyAgain,
    Content,
    Hybrid,
    ItemKNN,
    MostPopular,
    Recommender,
    load_model,
)

FACTORIES: dict[str, Callable[[], Recommender]] = {
    "popular": lambda: MostPopular(),
    "itemknn-cosine": lambda: ItemKNN(neighbours=20),
    "itemknn-bm25": lambda: ItemKNN(neighbours=20, weighting="bm25"),
    "ease": lambda: EASE(l2=20.0),
    "als": lambda: ALS(factors=8, regularization=1.0, iterations=5, num_threads=1),
    "content": lambda: Content(),
    "hybrid": lambda: Hybrid(components=[["EASE", {"l2": 20.0}], ["Content", {}]]),
    "buyagain": lambda: BuyAgain(),
    "auto": lambda: Auto(candidates=[["MostPopular", {}], ["EASE", {"l2": 20.0}], ["ItemKNN", {}]]),
}


@pytest.fixture(params=sorted(FACTORIES))
def factory(request: pytest.FixtureRequest) -> Callable[[], Recommender]:
    return FACTORIES[request.param]


def test_fit_returns_self(factory, interactions, items, users):
    model = factory()
    assert model.fit(interactions, items=items, users=users) is model


def test_init_only_stores_hyperparameters(factory):
    model = factory()
    assert not model.is_fitted
    assert all(not name.endswith("_") for name in vars(model))
    assert type(model)(**model.get_params()).get_params() == model.get_params()


def test_not_fitted_raises(factory):
    model = factory()
    with pytest.raises(NotFittedError):
        model.recommend(["U000"], k=5)
    with pytest.raises(NotFittedError):
        model.similar("I000", k=5)


def test_save_load_round_trip(factory, interactions, items, users, tmp_path: Path):
    model = factory().fit(interactions, items=items, users=users)
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    who = ["U000", "U001", "NEW2", "stranger"]
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    expected = model.recommend(who, k=5, explain=True)
    got = loaded.recommend(who, k=5, explain=True)
    assert got.select("user_id", "item_id", "rank").equals(
        expected.select("user_id", "item_id", "rank")
    )
    assert got["score"].to_list() == pytest.approx(expected["score"].to_list(), rel=1e-5)
    assert loaded.similar("I003", k=4)["similar_item_id"].equals(
        model.similar("I003", k=4)["similar_item_id"]
    )


def test_seeded_determinism(factory, interactions, items, users):
    first = factory().fit(interactions, items=items, users=users).recommend(["U005", "U010"], k=5)
    second = factory().fit(interactions, items=items, users=users).recommend(["U005", "U010"], k=5)
    assert first.equals(second)


def test_output_shape(factory, interactions, items):
    model = factory().fit(interactions, items=items)
    out = model.recommend(["U000", "U001"], k=5, explain=True)
    assert out.columns == [
        "user_id",
        "item_id",
        "rank",
        "score",
        "reason",
        "because",
        "explanation",
    ]
    assert out.group_by("user_id").len()["len"].to_list() == [5, 5]
    assert out.filter(pl.col("user_id") == "U000")["rank"].to_list() == [1, 2, 3, 4, 5]


def test_loading_a_model_from_another_version_warns(interactions, tmp_path: Path):
    import json

    folder = ItemKNN(neighbours=10).fit(interactions).save(tmp_path / "old")
    doc = json.loads((folder / "model.json").read_text())
    doc["lakeforge_version"] = "0.0.1"
    (folder / "model.json").write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="saved by Lakeforge 0.0.1"):
        loaded = load_model(folder)
    assert loaded.recommend(["U000"], k=3).height == 3


def test_arrays_are_stored_without_pickle(interactions, tmp_path: Path):
    import numpy as np

    folder = EASE(l2=20.0).fit(interactions).save(tmp_path / "m")
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_large_state_is_saved_uncompressed_and_round_trips(
    interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import zipfile

    from lakeforge.products.recommend import _base

    model = EASE(l2=20.0).fit(interactions)
    monkeypatch.setattr(_base, "_COMPRESS_BELOW", 0)  # every model counts as large
    model.save(tmp_path / "big")
    monkeypatch.setattr(_base, "_COMPRESS_BELOW", 2**40)
    model.save(tmp_path / "small")
    with zipfile.ZipFile(tmp_path / "big" / "arrays.npz") as big:
        assert {i.compress_type for i in big.infolist()} == {zipfile.ZIP_STORED}
    with zipfile.ZipFile(tmp_path / "small" / "arrays.npz") as small:
        assert {i.compress_type for i in small.infolist()} == {zipfile.ZIP_DEFLATED}
    for folder in ("big", "small"):
        loaded = load_model(tmp_path / folder)
        assert loaded.recommend("U001", k=5).equals(model.recommend("U001", k=5))
