"""The simulated retail world (small, one store): auto against SeasonalNaive, intervals, stock-outs.

A smaller version of the retail benchmark (``benchmarks/bench_forecast.py --suite retail``):
the last 28 days are held out and scored against the simulator's true demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lakeforge.products.forecast import Forecaster, mase
from lakeforge.synth.simulator import RetailConfig, simulate_retail

pytestmark = pytest.mark.slow
H = 28
EXOG = ("price", "on_promo")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("world")
    config = RetailConfig(stores=1, products=120, customers=200, days=420, seed=7)
    simulate_retail(folder, config, progress=False)
    sales = pq.read_table(folder / "daily_sales.parquet").to_pandas()
    truth = pq.read_table(folder / "truth" / "demand.parquet").to_pandas()
    sales = sales.merge(truth, on=["date", "store_id", "product_id"])
    sales["unique_id"] = sales["store_id"] + "/" + sales["product_id"]
    sales["ds"] = pd.to_datetime(sales["date"])
    sales["on_promo"] = sales["on_promo"].astype(float)
    end = sales["ds"].max()
    span = sales.groupby("unique_id")["ds"].agg(["min", "max"])
    keep = span.index[(span["max"] == end) & (span["min"] <= end - pd.Timedelta(days=200))]
    sales = sales[sales["unique_id"].isin(keep)].sort_values(["unique_id", "ds"])
    cutoff = end - pd.Timedelta(days=H)
    return {"train": sales[sales["ds"] <= cutoff], "test": sales[sales["ds"] > cutoff]}


def _mean_mase(test: pd.DataFrame, train: pd.DataFrame, forecast: pd.DataFrame) -> float:
    joined = test.merge(forecast, on=["unique_id", "ds"])
    history = {k: g["units_sold"].to_numpy(float) for k, g in train.groupby("unique_id")}
    scores = [
        mase(g["demand"], g["forecast"], history[k], 7) for k, g in joined.groupby("unique_id")
    ]
    return float(np.mean(scores))


def test_auto_beats_seasonal_naive_with_calibrated_intervals(
    world: dict[str, pd.DataFrame],
) -> None:
    train, test = world["train"], world["test"]
    future = test[["unique_id", "ds", *EXOG]]
    auto = Forecaster(
        horizon=H,
        levels=(80, 95),
        exog=EXOG,
        stockout_col="stockout",
        target_col="units_sold",
    ).fit(train, future=future)
    forecast = auto.predict()
    naive = Forecaster(models="seasonal_naive", horizon=H, levels=(), target_col="units_sold")
    base = naive.fit(train).predict()
    assert _mean_mase(test, train, forecast) < 0.8 * _mean_mase(test, train, base)
    assert auto.backtest_summary()["selection"] == "best"  # the default beside lgbm
    joined = test.merge(forecast, on=["unique_id", "ds"])
    classes = auto.selection_.set_index("unique_id")["series_class"]
    slow = joined["unique_id"].map(classes).eq("intermittent").to_numpy()
    assert slow.any()
    for level, (low, high) in ((80, (0.74, 0.86)), (95, (0.91, 0.98))):
        inside = (
            (joined["demand"] >= joined[f"lo_{level}"])
            & (joined["demand"] <= joined[f"hi_{level}"])
        ).to_numpy()
        assert low <= inside.mean() <= high, (level, inside.mean())
        assert low - 0.06 <= inside[slow].mean() <= high + 0.06, (level, inside[slow].mean())


def test_stockout_correction_moves_the_target_towards_true_demand(
    world: dict[str, pd.DataFrame],
) -> None:
    train = world["train"]
    flagged = train["stockout"].astype(bool).to_numpy()
    assert flagged.sum() > 50
    settings = {
        "models": ["window_average"],
        "horizon": H,
        "levels": (),
        "target_col": "units_sold",
    }
    raw = Forecaster(**settings).fit(train)  # type: ignore[arg-type]
    fixed = Forecaster(stockout_col="stockout", **settings).fit(train)  # type: ignore[arg-type]
    keys = pd.MultiIndex.from_frame(train[["unique_id", "ds"]])
    demand = train["demand"].to_numpy(float)[flagged]
    targets = [
        m.history_.set_index(["unique_id", "ds"])["y"].reindex(keys).to_numpy()[flagged]
        for m in (raw, fixed)
    ]
    gap_raw, gap_fixed = (float(np.mean(demand - target)) for target in targets)
    assert gap_raw > 0  # censored sales understate demand
    assert abs(gap_fixed) < 0.5 * gap_raw
