"""Forecast accuracy metrics on arrays: point and probabilistic.

Point: MASE, sMAPE, RMSSE, WAPE, bias; probabilistic: quantile loss, interval coverage.

Scaled metrics divide by the in-sample error of the seasonal naive forecast on the training
history, as in the M4 competition; a series whose naive error is zero gets a scale of 1 so
the metric stays finite.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["bias", "coverage", "mase", "quantile_loss", "rmsse", "smape", "wape"]

FloatArray = npt.NDArray[np.float64]


def _scale(train: npt.ArrayLike, season_length: int, power: int) -> float:
    history = np.asarray(train, dtype=np.float64)
    lag = season_length if len(history) > season_length else 1
    if len(history) <= lag:
        return 1.0
    diffs = np.abs(history[lag:] - history[:-lag]) ** power
    scale = float(np.mean(diffs))
    return scale if scale > 0 else 1.0


def mase(
    actual: npt.ArrayLike, forecast: npt.ArrayLike, train: npt.ArrayLike, season_length: int = 1
) -> float:
    """Mean absolute error scaled by the in-sample seasonal naive MAE."""
    error = np.abs(np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64))
    return float(np.mean(error) / _scale(train, season_length, 1))


def rmsse(
    actual: npt.ArrayLike, forecast: npt.ArrayLike, train: npt.ArrayLike, season_length: int = 1
) -> float:
    """Root mean squared error scaled by the in-sample seasonal naive MSE (M5's metric)."""
    error = (np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64)) ** 2
    return float(np.sqrt(np.mean(error) / _scale(train, season_length, 2)))


def smape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Symmetric MAPE in percent (0-200); steps where both are zero count as exact."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    denominator = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(a - f), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(100 * np.mean(ratio))


def wape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Weighted absolute percentage error: sum |error| / sum |actual| (0 when both are 0)."""
    a = np.asarray(actual, dtype=np.float64)
    error = float(np.sum(np.abs(a - np.asarray(forecast, dtype=np.float64))))
    total = float(np.sum(np.abs(a)))
    if total == 0:
        return 0.0 if error == 0 else float("inf")
    return error / total


def bias(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Mean of forecast minus actual: positive means over-forecasting."""
    a = np.asarray(actual, dtype=np.float64)
    return float(np.mean(np.asarray(forecast, dtype=np.float64) - a))


def quantile_loss(actual: npt.ArrayLike, forecast: npt.ArrayLike, quantile: float) -> float:
    """Mean pinball loss of a forecast of the given quantile (0 < quantile < 1)."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be between 0 and 1, got {quantile}")
    diff = np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64)
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def coverage(actual: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Share of actuals inside ``[lower, upper]``."""
    a = np.asarray(actual, dtype=np.float64)
    inside = (a >= np.asarray(lower, dtype=np.float64)) & (a <= np.asarray(upper, dtype=np.float64))
    return float(np.mean(inside))
