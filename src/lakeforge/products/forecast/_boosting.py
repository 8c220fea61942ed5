"""The global gradient-boosting model: one LightGBM over every series, forecast recursively.

Each series becomes rows of features built from its own past only (so building them is a
pure function of one series): scaled lags, rolling means, calendar fields of ``ds``, the
exogenous columns (value, value relative to the series' median, and last week's value) and
the series' level. One LightGBM (Tweedie loss, suited to counts and intermittent demand) is
fitted on all series' rows; forecasts roll forward one step at a time, feeding predictions
back as lags. Intervals are ``z`` times the series' in-sample residual spread, widening with
the step; the orchestrator recalibrates every model's intervals on the backtest.

Example:
    >>> model = GlobalBoosting(season_length=7, exog=("price",)).fit(history)  # doctest: +SKIP
    >>> model.predict(28, future=prices)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from lakeforge.errors import ContractError, NotFittedError

__all__ = ["ALIAS", "GlobalBoosting", "future_dates", "lightgbm_module"]

ALIAS = "lgbm"
SCALE_WINDOW = 56
"""Recent observations whose mean scales a series (so one model serves every level)."""
RESIDUAL_WINDOW = 56
WIDENING = 0.25
"""Interval growth per season of steps ahead: half-width x sqrt(1 + WIDENING * step / m)."""
Array = npt.NDArray[np.float64]


def lightgbm_module() -> Any:
    """``lightgbm``, or a message saying how to install the forecast extra."""
    try:
        import lightgbm
    except ModuleNotFoundError as exc:  # pragma: no cover - the extra installs it
        raise ModuleNotFoundError(
            "the lgbm model needs lightgbm: pip install 'lakeforge[forecast]'"
        ) from exc
    return lightgbm


def future_dates(last: pd.Series, steps: int, freq: str | int) -> npt.NDArray[Any]:
    """``(series, steps)`` array of the next ``steps`` time stamps after each series' ``last``."""
    if isinstance(freq, int):
        base = last.to_numpy(dtype=np.int64)[:, None]
        ints: npt.NDArray[Any] = base + freq * np.arange(1, steps + 1)[None, :]
        return ints
    offset = pd.tseries.frequencies.to_offset(freq)
    stamps = pd.DatetimeIndex(last)
    if isinstance(offset, pd.tseries.offsets.Tick):
        delta = np.timedelta64(pd.Timedelta(offset).value, "ns")
        grid: npt.NDArray[Any] = stamps.to_numpy()[:, None] + delta * np.arange(1, steps + 1)
        return grid.astype("datetime64[ns]")
    rows = [pd.date_range(stamp, periods=steps + 1, freq=freq)[1:].to_numpy() for stamp in stamps]
    return np.vstack(rows).astype("datetime64[ns]")


@dataclass
class _Panel:
    """Every series right-aligned in one matrix: column ``L - 1`` is each series' last step."""

    ids: list[str]
    y: Array  # (series, L) raw values, NaN before a series starts
    exog: dict[str, Array]  # (series, L) per exogenous column
    last_ds: pd.Series
    scale: Array  # (series,)
    median: dict[str, Array]  # per exogenous column, (series,)


class GlobalBoosting:
    """LightGBM over all series with lag, calendar, price/promotion and exogenous features.

    Args:
        season_length: The season (7 for daily data); lags reach four seasons back.
        freq: Pandas frequency of ``ds``, or an integer step.
        exog: Exogenous columns of the history; their future values are needed to predict.
        n_estimators: Boosting rounds.
        learning_rate: Shrinkage per round.
        num_leaves: Leaves per tree.
        max_train_steps: Rows per series used for training (the most recent ones).
        objective: LightGBM loss: ``"tweedie"`` (the mean of count demand) or e.g. ``"l1"``
            (the median, which absolute-error metrics such as MASE reward).
        alias: Name of the forecast column (and prefix of the interval columns).
        seed: LightGBM's seed (training is deterministic for a given seed and data).
        n_jobs: LightGBM threads (-1: one per physical core).
    """

    def __init__(
        self,
        *,
        season_length: int = 7,
        freq: str | int = "D",
        exog: Sequence[str] = (),
        n_estimators: int = 150,
        learning_rate: float = 0.08,
        num_leaves: int = 31,
        max_train_steps: int = 365,
        objective: str = "tweedie",
        alias: str = ALIAS,
        seed: int = 0,
        n_jobs: int = -1,
    ) -> None:
        self.season_length = season_length
        self.freq = freq
        self.exog = exog
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_train_steps = max_train_steps
        self.objective = objective
        self.alias = alias
        self.seed = seed
        self.n_jobs = n_jobs

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters given to ``__init__``."""
        return {
            "season_length": self.season_length,
            "freq": self.freq,
            "exog": list(self.exog),
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_train_steps": self.max_train_steps,
            "objective": self.objective,
            "alias": self.alias,
            "seed": self.seed,
            "n_jobs": self.n_jobs,
        }

    def min_length(self) -> int:
        """Observations a series needs to give training rows (the longest lag, and some)."""
        return max(self.lags()[-1], self._windows()[-1]) + 8

    def save(self, folder: Path) -> Path:
        """Write the booster as LightGBM text and the rest as JSON (no pickles)."""
        self._check_fitted()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "booster.txt").write_text(self.booster_.model_to_string())
        state = {
            "params": self.get_params(),
            "ids": self.panel_.ids,
            "residual_sd": [float(v) for v in self.residual_sd_],
        }
        (folder / "state.json").write_text(json.dumps(state))
        return folder

    @classmethod
    def load(cls, folder: Path, history: pd.DataFrame) -> GlobalBoosting:
        """Rebuild a saved model; ``history`` is the frame it was fitted on."""
        state = json.loads((folder / "state.json").read_text())
        params = state["params"]
        params["exog"] = tuple(params["exog"])
        model = cls(**params)
        model.booster_ = lightgbm_module().Booster(model_str=(folder / "booster.txt").read_text())
        model.panel_ = model._panel(history)
        if model.panel_.ids != state["ids"]:
            raise ContractError("the saved lgbm model does not match the saved history")
        model.residual_sd_ = np.asarray(state["residual_sd"], dtype=np.float64)
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this GlobalBoosting is not fitted yet; call fit(history)")

    # -- features -------------------------------------------------------------------------
    def lags(self) -> list[int]:
        """Lags used: every step of the first season, then whole seasons up to four back."""
        m = max(int(self.season_length), 1)
        first = list(range(1, min(m, 7) + 1))
        return sorted(set(first) | {m * k for k in range(1, 5)})

    def _windows(self) -> list[int]:
        m = max(int(self.season_length), 1)
        return sorted({m, 4 * m})

    def feature_names(self) -> list[str]:
        """Column names of the feature matrix, in order."""
        names = [f"lag_{lag}" for lag in self.lags()]
        names += [f"mean_{w}" for w in self._windows()]
        names += ["level", "season_position"]
        if not isinstance(self.freq, int):
            names += ["day_of_week", "day_of_month", "month", "day_of_year", "hour"]
        for column in self.exog:
            names += [column, f"{column}_relative", f"{column}_last_season"]
        return names

    def _panel(self, history: pd.DataFrame) -> _Panel:
        sizes = history.groupby("unique_id", sort=False).size()
        ids = [str(i) for i in sizes.index]
        width = int(sizes.max())
        n = len(ids)
        offsets = width - sizes.to_numpy()
        row = np.repeat(np.arange(n), sizes.to_numpy())
        position = history.groupby("unique_id", sort=False).cumcount().to_numpy()
        column = position + np.repeat(offsets, sizes.to_numpy())
        y = np.full((n, width), np.nan)
        y[row, column] = history["y"].to_numpy(dtype=np.float64)
        exog: dict[str, Array] = {}
        median: dict[str, Array] = {}
        for name in self.exog:
            values = np.full((n, width), np.nan)
            values[row, column] = history[name].to_numpy(dtype=np.float64)
            exog[name] = values
            median[name] = np.nan_to_num(np.nanmedian(_nan_safe(values), axis=1), nan=1.0)
        recent = y[:, -SCALE_WINDOW:]
        scale = np.nanmean(_nan_safe(recent), axis=1)
        overall = np.nanmean(_nan_safe(y), axis=1)
        scale = np.where(np.isfinite(scale) & np.greater(scale, 0), scale, overall)
        scale = np.where(np.isfinite(scale) & np.greater(scale, 0), scale, 1.0)
        last_ds = history.groupby("unique_id", sort=False)["ds"].max().reset_index(drop=True)
        return _Panel(ids, y, exog, last_ds, scale, median)

    def _features(
        self, panel: _Panel, y: Array, exog: dict[str, Array], t: int, ds: npt.NDArray[Any]
    ) -> Array:
        """Features of the rows at column ``t`` of every series (targets not included)."""
        scale = panel.scale
        columns = [y[:, t - lag] / scale for lag in self.lags()]
        for window in self._windows():
            block = y[:, t - window : t]
            with np.errstate(invalid="ignore"):
                columns.append(np.nanmean(_nan_safe(block), axis=1) / scale)
        columns.append(np.log1p(scale))
        columns.append(np.full(len(scale), float(t % max(int(self.season_length), 1))))
        if not isinstance(self.freq, int):
            stamps = pd.DatetimeIndex(ds)
            columns += [
                stamps.dayofweek.to_numpy(dtype=np.float64),
                stamps.day.to_numpy(dtype=np.float64),
                stamps.month.to_numpy(dtype=np.float64),
                stamps.dayofyear.to_numpy(dtype=np.float64),
                stamps.hour.to_numpy(dtype=np.float64),
            ]
        m = max(int(self.season_length), 1)
        for name in self.exog:
            values = exog[name]
            med = panel.median[name]
            relative = np.divide(values[:, t], med, out=np.full(len(med), np.nan), where=med != 0)
            columns += [values[:, t], relative, values[:, t - m]]
        return np.column_stack(columns)

    def _training_rows(self, panel: _Panel) -> tuple[Array, Array, Array]:
        width = panel.y.shape[1]
        first = max(self.lags()[-1], self._windows()[-1])
        start = max(first, width - self.max_train_steps)
        grid = self._grid(panel, width)
        blocks, targets, weights = [], [], []
        for t in range(start, width):
            target = panel.y[:, t]
            keep = np.isfinite(target) & np.isfinite(panel.y[:, t - first])
            if not keep.any():
                continue
            block = self._features(panel, panel.y, panel.exog, t, grid[:, t])[keep]
            blocks.append(block)
            targets.append(target[keep] / panel.scale[keep])
            weights.append(np.ones(int(keep.sum())))
        if not blocks:
            raise ContractError(f"the lgbm model needs series longer than {first} steps; none are")
        return np.vstack(blocks), np.concatenate(targets), np.concatenate(weights)

    def _grid(self, panel: _Panel, width: int) -> npt.NDArray[Any]:
        """Time stamps of every column of the panel (and beyond), per series."""
        if isinstance(self.freq, int):
            return np.zeros((len(panel.ids), width), dtype=np.int64)
        offset = pd.tseries.frequencies.to_offset(self.freq)
        if isinstance(offset, pd.tseries.offsets.Tick):
            delta = np.timedelta64(pd.Timedelta(offset).value, "ns")
            last = pd.DatetimeIndex(panel.last_ds).to_numpy()[:, None]
            steps = np.arange(width)[None, :] - (width - 1)
            grid: npt.NDArray[Any] = (last + delta * steps).astype("datetime64[ns]")
            return grid
        rows = [
            pd.date_range(end=stamp, periods=width, freq=self.freq).to_numpy()
            for stamp in pd.DatetimeIndex(panel.last_ds)
        ]
        return np.vstack(rows).astype("datetime64[ns]")

    # -- estimator ------------------------------------------------------------------------
    def fit(self, history: pd.DataFrame) -> GlobalBoosting:
        """Fit on a standard frame ``unique_id, ds, y`` (+ the exogenous columns), sorted."""
        missing = [c for c in self.exog if c not in history.columns]
        if missing:
            raise ContractError(f"the history lacks exogenous columns {missing}")
        lgb = lightgbm_module()
        panel = self._panel(history)
        features, target, _ = self._training_rows(panel)
        params = {
            "objective": self.objective,
            **({"tweedie_variance_power": 1.2} if self.objective == "tweedie" else {}),
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": 50,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "max_bin": 63,
            "num_threads": self._threads(),
            "verbose": -1,
        }
        data = lgb.Dataset(features, target, feature_name=self.feature_names(), free_raw_data=True)
        self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators)
        self.panel_ = panel
        self.residual_sd_ = self._residual_sd(panel)
        return self

    def _threads(self) -> int:
        """LightGBM threads: ``n_jobs``, or one per physical core (half the logical ones).

        LightGBM's own advice is physical cores; on a busy 2-core machine two OpenMP threads
        ran 4x slower than one.
        """
        if self.n_jobs > 0:
            return self.n_jobs
        return max(1, (os.cpu_count() or 2) // 2)

    def _residual_sd(self, panel: _Panel) -> Array:
        """Per-series spread of one-step in-sample errors over the last observations."""
        width = panel.y.shape[1]
        first = max(self.lags()[-1], self._windows()[-1])
        start = max(first, width - RESIDUAL_WINDOW)
        grid = self._grid(panel, width)
        errors = np.full((len(panel.ids), width - start), np.nan)
        for j, t in enumerate(range(start, width)):
            block = self._features(panel, panel.y, panel.exog, t, grid[:, t])
            fitted = self.booster_.predict(block) * panel.scale
            errors[:, j] = panel.y[:, t] - fitted
        sd = np.nanstd(_nan_safe(errors), axis=1)
        fallback = np.sqrt(np.maximum(panel.scale, 1e-9))
        return np.where(np.isfinite(sd) & (sd > 0), sd, fallback)

    def predict(
        self,
        h: int,
        *,
        future: pd.DataFrame | None = None,
        levels: Sequence[int] = (),
        nonnegative: bool = True,
    ) -> pd.DataFrame:
        """Forecast ``h`` steps of every fitted series, feeding forecasts back as lags.

        ``future`` holds ``unique_id, ds`` and every exogenous column for the ``h`` steps
        after each series' end; required when the model has exogenous columns.
        """
        self._check_fitted()
        panel = self.panel_
        n, width = panel.y.shape
        dates = future_dates(panel.last_ds, h, self.freq)
        y = np.concatenate([panel.y, np.full((n, h), np.nan)], axis=1)
        exog = {
            name: np.concatenate([values, self._future_exog(name, future, dates)], axis=1)
            for name, values in panel.exog.items()
        }
        for k in range(h):
            t = width + k
            block = self._features(panel, y, exog, t, dates[:, k])
            step = self.booster_.predict(block) * panel.scale
            y[:, t] = np.maximum(step, 0.0) if nonnegative else step
        mean = y[:, width:]
        out = pd.DataFrame(
            {
                "unique_id": np.repeat(panel.ids, h),
                "ds": dates.reshape(-1),
                self.alias: mean.reshape(-1),
            }
        )
        m = max(int(self.season_length), 1)
        spread = self.residual_sd_[:, None] * np.sqrt(1 + WIDENING * np.arange(1, h + 1) / m)
        for level in levels:
            z = NormalDist().inv_cdf(0.5 + level / 200)
            half = (z * spread).reshape(-1)
            out[f"{self.alias}-lo-{level}"] = out[self.alias] - half
            out[f"{self.alias}-hi-{level}"] = out[self.alias] + half
        return out

    def _future_exog(
        self, name: str, future: pd.DataFrame | None, dates: npt.NDArray[Any]
    ) -> Array:
        ids = self.panel_.ids
        n, h = dates.shape
        if future is None or name not in future.columns:
            raise ContractError(
                f"the lgbm model uses exogenous column {name!r}: pass future= a frame with "
                f"unique_id, ds and {list(self.exog)} for the {h} steps after each series' end"
            )
        wanted = pd.DataFrame({"unique_id": np.repeat(ids, h), "ds": dates.reshape(-1)})
        given = future[["unique_id", "ds", name]].drop_duplicates(["unique_id", "ds"])
        merged = wanted.merge(given, on=["unique_id", "ds"], how="left")
        values = merged[name].to_numpy(dtype=np.float64)
        gaps = int(np.isnan(values).sum())
        if gaps:
            first = merged.loc[np.isnan(values)].iloc[0]
            raise ContractError(
                f"future values of {name!r} are missing for {gaps} of {n * h} series-steps "
                f"(first: {first['unique_id']} at {first['ds']}); give every series all {h} "
                "steps",
                column=name,
            )
        shaped: Array = values.reshape(n, h)
        return shaped


def _nan_safe(values: Array) -> Array:
    """Rows that are all NaN get one zero so numpy's nan-reductions do not warn."""
    empty = np.isnan(values).all(axis=1)
    if not empty.any():
        return values
    patched = values.copy()
    patched[empty, -1] = 0.0
    return patched
