"""The global LightGBM model: exogenous features, future values, auto, persistence, intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakeforge.errors import ContractError
from lakeforge.products.forecast import Forecaster, GlobalBoosting, mase

DAYS, H, SERIES = 196, 14, 24
FAST = {"n_estimators": 60, "learning_rate": 0.15}


@pytest.fixture(scope="module")
def promo_panel() -> pd.DataFrame:
    """Daily count series whose demand doubles on (random, known) promotion days."""
    rng = np.random.default_rng(5)
    ds = pd.date_range("2025-01-06", periods=DAYS, freq="D")
    weekly = np.array([0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8])
    frames = []
    for i in range(SERIES):
        level = rng.uniform(3, 30)
        promo = np.zeros(DAYS)
        for start in rng.choice(np.arange(10, DAYS - 7), size=4, replace=False):
            promo[start : start + 5] = 1.0
        price = np.where(promo == 1, 0.8, 1.0) * rng.uniform(2, 9)
        mean = level * weekly[np.arange(DAYS) % 7] * (1 + 1.2 * promo)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i:02d}",
                    "ds": ds,
                    "y": rng.poisson(mean).astype(float),
                    "price": price,
                    "promo": promo,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _split(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = panel["ds"].max() - pd.Timedelta(days=H)
    return panel[panel["ds"] <= cut], panel[panel["ds"] > cut]


def _mase(test: pd.DataFrame, train: pd.DataFrame, forecast: pd.DataFrame) -> float:
    joined = test.merge(forecast, on=["unique_id", "ds"])
    history = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id")}
    return float(
        np.mean(
            [mase(g["y"], g["forecast"], history[k], 7) for k, g in joined.groupby("unique_id")]
        )
    )


def test_lgbm_with_promotions_beats_seasonal_naive(promo_panel: pd.DataFrame) -> None:
    train, test = _split(promo_panel)
    future = test[["unique_id", "ds", "price", "promo"]]
    lgbm = Forecaster(
        models=["lgbm"], horizon=H, levels=(), exog=("price", "promo"), n_jobs=1, global_params=FAST
    )
    with_promo = lgbm.fit(train, future=future).predict()
    blind = Forecaster(models=["lgbm"], horizon=H, levels=(), n_jobs=1, global_params=FAST)
    blind_out = blind.fit(train).predict()
    naive = Forecaster(models="seasonal_naive", horizon=H, levels=(), n_jobs=1)
    base = naive.fit(train).predict()
    score_promo = _mase(test, train, with_promo)
    assert score_promo < 0.8 * _mase(test, train, base)
    assert score_promo < _mase(test, train, blind_out)


def test_future_exogenous_values_are_required(promo_panel: pd.DataFrame) -> None:
    train, test = _split(promo_panel)
    model = Forecaster(
        models=["lgbm"],
        horizon=H,
        levels=(80,),
        exog=("price", "promo"),
        n_jobs=1,
        global_params=FAST,
    )
    model.fit(train)
    with pytest.raises(ContractError, match=r"exogenous column 'price'.*future="):
        model.predict()
    short = test[test["ds"] < test["ds"].max()][["unique_id", "ds", "price", "promo"]]
    with pytest.raises(ContractError, match="missing for 24 of"):
        model.predict(future=short)
    with pytest.raises(ContractError, match="lacks columns"):
        model.predict(future=test[["unique_id", "ds", "price"]])
    out = model.predict(future=test[["unique_id", "ds", "price", "promo"]])
    assert len(out) == SERIES * H
    assert (out["hi_80"] >= out["forecast"]).all()


@pytest.mark.slow
def test_auto_backtests_the_global_model_on_many_daily_series(promo_panel: pd.DataFrame) -> None:
    train, _ = _split(promo_panel)
    model = Forecaster(horizon=H, levels=(80, 95), n_jobs=1, global_params=FAST)
    model.fit(train[["unique_id", "ds", "y"]])
    assert all("lgbm" in c.split(",") for c in model.selection_["candidates"])
    assert "lgbm" in ",".join(model.selection_["members"])
    few = train[train["unique_id"].isin(["s00", "s01"])][["unique_id", "ds", "y"]]
    small = Forecaster(horizon=H, levels=(), n_jobs=1).fit(few)
    assert not any("lgbm" in c for c in small.selection_["candidates"])
    assert small.backtest_summary()["selection"] == "ensemble"
    assert small.backtest_summary()["shrinkage"] == 0.0
    assert "theta" in small.selection_["candidates"].iloc[0].split(",")


def test_auto_beside_the_global_models_keeps_cheap_candidates_and_picks_one(
    promo_panel: pd.DataFrame,
) -> None:
    train, test = _split(promo_panel)
    model = Forecaster(
        horizon=H, levels=(80,), exog=("price", "promo"), n_jobs=1, global_params=FAST
    ).fit(train, future=test[["unique_id", "ds", "price", "promo"]])
    summary = model.backtest_summary()
    assert summary["selection"] == "best"
    assert summary["shrinkage"] == 0.5
    for candidates in model.selection_["candidates"]:
        names = candidates.split(",")
        assert {"lgbm", "lgbm_median", "seasonal_naive"} <= set(names)
        assert not {"theta", "ets", "mstl"} & set(names)
    assert not model.selection_["members"].str.contains(",").any()
    assert model.selection_["reason"].str.contains("shrunk").all()
    explicit = Forecaster(
        horizon=H,
        levels=(),
        exog=("price", "promo"),
        n_jobs=1,
        global_params=FAST,
        selection="ensemble",
        shrinkage=0.0,
    ).fit(train, future=test[["unique_id", "ds", "price", "promo"]])
    assert explicit.backtest_summary()["selection"] == "ensemble"
    assert explicit.selection_["members"].str.count(",").eq(2).all()


def test_save_load_round_trip_with_the_global_model(
    promo_panel: pd.DataFrame, tmp_path: Path
) -> None:
    train, test = _split(promo_panel)
    future = test[["unique_id", "ds", "price", "promo"]]
    model = Forecaster(
        models=["lgbm", "naive"],
        horizon=H,
        levels=(80,),
        exog=("price", "promo"),
        global_params=FAST,
    )
    model.fit(train, future=future)
    loaded = Forecaster.load(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())
    pd.testing.assert_frame_equal(loaded.predict(future=future), model.predict(future=future))


def test_global_model_is_deterministic_and_rejects_unfitted(promo_panel: pd.DataFrame) -> None:
    train, _ = _split(promo_panel)
    frame = train[["unique_id", "ds", "y"]].reset_index(drop=True)
    first = (
        GlobalBoosting(season_length=7, freq="D", n_jobs=1, n_estimators=30).fit(frame).predict(5)
    )
    again = (
        GlobalBoosting(season_length=7, freq="D", n_jobs=1, n_estimators=30).fit(frame).predict(5)
    )
    pd.testing.assert_frame_equal(first, again)
    with pytest.raises(Exception, match="not fitted"):
        GlobalBoosting().predict(3)


def test_intervals_are_calibrated_on_the_backtest(promo_panel: pd.DataFrame) -> None:
    train, _ = _split(promo_panel)
    frame = train[["unique_id", "ds", "y"]]
    model = Forecaster(models=["ses", "naive"], horizon=H, levels=(80, 95), n_jobs=1).fit(frame)
    summary = model.backtest_summary()
    assert set(summary["interval_scale"]) == {"regular"}
    assert abs(summary["coverage_80"] - 0.80) < 0.03
    assert abs(summary["coverage_95"] - 0.95) < 0.03
    raw = Forecaster(
        models=["ses", "naive"], horizon=H, levels=(80, 95), n_jobs=1, calibrate=False
    ).fit(frame)
    assert "interval_scale" not in raw.backtest_summary()
    width = (model.predict()["hi_80"] - model.predict()["lo_80"]).to_numpy()
    raw_width = (raw.predict()["hi_80"] - raw.predict()["lo_80"]).to_numpy()
    factor = summary["interval_scale"]["regular"]["80"]
    assert factor != 1.0
    assert not np.allclose(width, raw_width)


def test_median_model_keeps_the_mean_for_planning(promo_panel: pd.DataFrame) -> None:
    train, test = _split(promo_panel)
    model = Forecaster(
        models=["lgbm_median"],
        horizon=H,
        levels=(80,),
        exog=("price", "promo"),
        n_jobs=1,
        global_params=FAST,
    ).fit(train, future=test[["unique_id", "ds", "price", "promo"]])
    assert set(model.global_models_) == {"lgbm", "lgbm_median"}
    out = model.predict()
    assert out["forecast"].mean() < out["mean"].mean()  # the median of skewed counts
    assert (out["model"] == "lgbm_median").all()


def test_shrinkage_one_gives_one_ranking_per_class(series: pd.DataFrame) -> None:
    names = ["naive", "ses", "historic_average", "window_average"]
    model = Forecaster(models=names, horizon=H, levels=(), n_jobs=1, top_k=2, shrinkage=1.0)
    chosen = model.fit(series).selection_
    regular = chosen[chosen["series_class"] == "regular"]
    assert regular["members"].nunique() == 1
    assert "shrunk" in regular["reason"].iloc[0]
    with pytest.raises(ContractError, match="shrinkage"):
        Forecaster(shrinkage=2.0).fit(series)
    with pytest.raises(ContractError, match="selection"):
        Forecaster(selection="worst").fit(series)  # type: ignore[arg-type]
