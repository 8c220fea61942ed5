"""Forecaster on 20 real M4 Weekly series (h=13): ``auto`` beats SeasonalNaive on the test set."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakeforge.products.forecast import Forecaster, mase, smape

pytestmark = pytest.mark.realdata

SERIES, H, SEASON = 20, 13, 52


def _read(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        for row in rows:
            out[row[0]] = np.array([float(v) for v in row[1:] if v != ""])
            if len(out) == SERIES:
                break
    return out


def test_auto_beats_seasonal_naive_on_m4_weekly(shared_data: Path) -> None:
    folder = shared_data / "m4"
    if not (folder / "Weekly-train.csv").is_file():
        pytest.skip(f"M4 Weekly is not in {folder}")
    train, test = _read(folder / "Weekly-train.csv"), _read(folder / "Weekly-test.csv")
    df = pd.concat(
        pd.DataFrame({"unique_id": sid, "ds": np.arange(len(y)), "y": y})
        for sid, y in train.items()
    )
    auto = Forecaster(horizon=H, freq=1, season_length=SEASON, levels=(80,), max_history=520)
    out = auto.fit(df).predict()
    naive = Forecaster(models="seasonal_naive", horizon=H, freq=1, season_length=SEASON)
    base = naive.fit(df).predict(levels=[])
    scores = {"auto": [], "naive": []}
    for sid, actual in test.items():
        for name, frame in (("auto", out), ("naive", base)):
            forecast = frame.loc[frame["unique_id"] == sid, "forecast"].to_numpy()
            scores[name].append(
                (smape(actual, forecast), mase(actual, forecast, train[sid], season_length=1))
            )
    auto_smape, auto_mase = np.mean(scores["auto"], axis=0)
    naive_smape, naive_mase = np.mean(scores["naive"], axis=0)
    assert auto_mase < naive_mase
    assert auto_smape < naive_smape
    assert 0 < auto.backtest_summary()["coverage_80"] <= 1
