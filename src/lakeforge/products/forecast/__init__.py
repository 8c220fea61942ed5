"""Demand forecasting: many series at once, chosen per series by backtest, with intervals.

Example:
    >>> from lakeforge.products.forecast import Forecaster
    >>> fc = Forecaster(horizon=28, levels=(80, 95)).fit(daily_sales)  # doctest: +SKIP
    >>> fc.predict().head()  # doctest: +SKIP
"""

from lakeforge.products.forecast._boosting import GlobalBoosting
from lakeforge.products.forecast._forecaster import Forecaster, season_length_for
from lakeforge.products.forecast._lake import (
    SEPARATOR,
    fit_from_lake,
    forecast_from_lake,
    read_history,
)
from lakeforge.products.forecast._metrics import (
    bias,
    coverage,
    mase,
    quantile_loss,
    rmsse,
    smape,
    wape,
)
from lakeforge.products.forecast._models import MODELS
from lakeforge.products.forecast._report import backtest_report

__all__ = [
    "MODELS",
    "SEPARATOR",
    "Forecaster",
    "GlobalBoosting",
    "backtest_report",
    "bias",
    "coverage",
    "fit_from_lake",
    "forecast_from_lake",
    "mase",
    "quantile_loss",
    "read_history",
    "rmsse",
    "season_length_for",
    "smape",
    "wape",
]
