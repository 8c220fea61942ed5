"""The frame-level orchestrator: grouping, backtest, per-series selection, fallbacks, intervals.

Series come in long format (``unique_id, ds, y``; names overridable). ``Forecaster`` sorts
them into classes (all-zero, too short to backtest, intermittent, regular), backtests every
eligible candidate per series with a rolling origin, ranks them by MASE, and forecasts with
the best model or the mean of the best ``top_k`` (intervals averaged the same way). All
per-series work runs through statsforecast, in parallel across cores.

Example:
    >>> fc = Forecaster(horizon=28, levels=(80, 95)).fit(sales)  # doctest: +SKIP
    >>> fc.predict().head()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from lakeforge._version import __version__
from lakeforge.errors import ContractError, NotFittedError
from lakeforge.products.forecast._metrics import mase
from lakeforge.products.forecast._models import (
    AUTO_INTERMITTENT,
    AUTO_REGULAR,
    MODELS,
    build_model,
    statsforecast_module,
)

__all__ = ["Forecaster", "season_length_for"]

ZERO = "zero"
"""Pseudo-model of all-zero series: forecasts zero with zero-width intervals."""
INTERMITTENT_ZERO_SHARE = 0.3
CONFORMAL_WINDOWS = 2
_SEASONS = {"h": 24, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4, "Y": 1, "A": 1}


def season_length_for(freq: str | int) -> int:
    """The usual season of a frequency: hourly 24, daily 7, weekly 52, monthly 12, else 1."""
    if isinstance(freq, int):
        return 1
    code = freq.upper().lstrip("0123456789")
    if code.startswith("H"):
        return 24
    for prefix, length in _SEASONS.items():
        if code.startswith(prefix.upper()):
            return length
    return 1


class Forecaster:
    """Forecast many series at once, choosing models per series by a rolling-origin backtest.

    Args:
        models: ``"auto"`` (candidates by series class), or the Lakeforge model names to
            backtest and choose from (one name: that model for every series).
        horizon: Steps per backtest window and the default forecast length.
        levels: Prediction-interval levels in percent, e.g. ``(80, 95)``; empty for none.
        freq: Pandas frequency of ``ds`` (``"D"``, ``"W-SUN"``, ``"h"``) or ``1`` for
            integer steps; inferred when None.
        season_length: Overrides the season implied by ``freq``.
        n_windows: Backtest windows (each ``horizon`` long, ending at the series' end).
        top_k: Models averaged per series when ``selection="ensemble"``.
        selection: ``"ensemble"`` (mean of the ``top_k`` best) or ``"best"`` (the best one).
        max_history: Fit on at most the last ``max_history`` observations (None: all).
        nonnegative: Clip forecasts and bounds at zero when every observed value is >= 0.
        n_jobs: Worker processes (-1: one per core).
        mstl_seasons: Seasons MSTL decomposes (default: ``season_length``, and the weekly
            cycle too, 168, for hourly data).
        stockout_col: Boolean column flagging periods where sales hit the stock on hand;
            those values understate demand and are raised to the mean of the series'
            uncensored values over the surrounding ``censor_window`` periods.
        censor_window: Periods around a stock-out whose uncensored values estimate demand.
        id_col: Series identifier column.
        time_col: Time column (datetime or integer).
        target_col: Value column.
    """

    def __init__(
        self,
        *,
        models: str | Sequence[str] = "auto",
        horizon: int = 28,
        levels: Sequence[int] = (80, 95),
        freq: str | int | None = None,
        season_length: int | None = None,
        n_windows: int = 1,
        top_k: int = 3,
        selection: Literal["ensemble", "best"] = "ensemble",
        max_history: int | None = None,
        nonnegative: bool = True,
        n_jobs: int = -1,
        mstl_seasons: Sequence[int] | None = None,
        stockout_col: str | None = None,
        censor_window: int = 28,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
    ) -> None:
        self.models = models
        self.horizon = horizon
        self.levels = levels
        self.freq = freq
        self.season_length = season_length
        self.n_windows = n_windows
        self.top_k = top_k
        self.selection = selection
        self.max_history = max_history
        self.nonnegative = nonnegative
        self.n_jobs = n_jobs
        self.mstl_seasons = mstl_seasons
        self.stockout_col = stockout_col
        self.censor_window = censor_window
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col

    # -- public API -----------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The hyperparameters given to ``__init__``."""
        models = self.models if isinstance(self.models, str) else list(self.models)
        return {
            "models": models,
            "horizon": self.horizon,
            "levels": list(self.levels),
            "freq": self.freq,
            "season_length": self.season_length,
            "n_windows": self.n_windows,
            "top_k": self.top_k,
            "selection": self.selection,
            "max_history": self.max_history,
            "nonnegative": self.nonnegative,
            "n_jobs": self.n_jobs,
            "mstl_seasons": None if self.mstl_seasons is None else list(self.mstl_seasons),
            "stockout_col": self.stockout_col,
            "censor_window": self.censor_window,
            "id_col": self.id_col,
            "time_col": self.time_col,
            "target_col": self.target_col,
        }

    def fit(self, df: pd.DataFrame) -> Forecaster:
        """Backtest the candidates on every series, choose per series and forecast ``horizon``.

        Exogenous columns are accepted and ignored by the statistical models.
        """
        self._validate_params()
        history = self._standardise(df)
        self.freq_ = self._infer_freq(history)
        self.season_length_ = self.season_length or season_length_for(self.freq_)
        self.history_ = history
        self.nonnegative_ = bool(self.nonnegative and (history["y"] >= 0).all())
        self.selection_, self.backtest_ = self._select(history)
        self.forecast_ = self._forecast(self.horizon, list(self.levels))
        self.forecast_levels_ = list(self.levels)
        return self

    def predict(self, h: int | None = None, *, levels: Sequence[int] | None = None) -> pd.DataFrame:
        """Forecast ``h`` steps (default ``horizon``) with ``levels`` (default the fitted ones).

        Returns one row per series and step: the id and time columns, ``forecast``,
        ``lo_<level>``/``hi_<level>`` per level and ``model`` (what produced it).
        """
        self._check_fitted()
        steps = self.horizon if h is None else int(h)
        wanted = list(self.levels if levels is None else levels)
        if steps <= self.horizon and set(wanted) <= set(self.forecast_levels_):
            out = self.forecast_[self.forecast_["step"] <= steps]
        else:
            out = self._forecast(steps, wanted)
        columns = ["unique_id", "ds", "forecast"]
        for level in wanted:
            columns += [f"lo_{level}", f"hi_{level}"]
        columns.append("model")
        return self._rename_out(out[columns].reset_index(drop=True))

    def backtest_summary(self) -> dict[str, Any]:
        """Mean backtest MASE of the chosen forecasts against SeasonalNaive, and coverage."""
        self._check_fitted()
        sel = self.selection_
        scored = sel[sel["cv_mase"].notna() & sel["seasonal_naive_mase"].notna()]
        chosen = float(scored["cv_mase"].mean()) if len(scored) else float("nan")
        naive = float(scored["seasonal_naive_mase"].mean()) if len(scored) else float("nan")
        summary: dict[str, Any] = {
            "series": len(sel),
            "backtested": len(scored),
            "classes": {str(k): int(v) for k, v in sel["series_class"].value_counts().items()},
            "mase": chosen,
            "seasonal_naive_mase": naive,
            "gain_over_seasonal_naive": 1 - chosen / naive if naive else float("nan"),
        }
        for level in self.levels:
            column = f"covered_{level}"
            if column in self.backtest_:
                summary[f"coverage_{level}"] = float(self.backtest_[column].mean())
        return summary

    def save(self, path: str | Path) -> Path:
        """Write the forecaster to a folder: JSON settings + Parquet state (no pickles)."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "lakeforge_version": __version__,
            "params": self.get_params(),
            "freq": self.freq_,
            "season_length": self.season_length_,
            "nonnegative": self.nonnegative_,
            "forecast_levels": self.forecast_levels_,
        }
        (folder / "forecaster.json").write_text(json.dumps(meta, indent=2))
        self.history_.to_parquet(folder / "history.parquet", index=False)
        self.selection_.to_parquet(folder / "selection.parquet", index=False)
        self.backtest_.to_parquet(folder / "backtest.parquet", index=False)
        self.forecast_.to_parquet(folder / "forecast.parquet", index=False)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Forecaster:
        """Read a forecaster :meth:`save` wrote; warns when another Lakeforge version wrote it."""
        folder = Path(path)
        meta = json.loads((folder / "forecaster.json").read_text())
        if meta.get("lakeforge_version") != __version__:
            warnings.warn(
                f"forecaster saved by Lakeforge {meta.get('lakeforge_version')}, loaded by "
                f"{__version__}; refit it if its forecasts look wrong",
                UserWarning,
                stacklevel=2,
            )
        params = meta["params"]
        params["levels"] = tuple(params["levels"])
        model = cls(**params)
        model.freq_ = meta["freq"]
        model.season_length_ = int(meta["season_length"])
        model.nonnegative_ = bool(meta["nonnegative"])
        model.forecast_levels_ = list(meta["forecast_levels"])
        model.history_ = pd.read_parquet(folder / "history.parquet")
        model.selection_ = pd.read_parquet(folder / "selection.parquet")
        model.backtest_ = pd.read_parquet(folder / "backtest.parquet")
        model.forecast_ = pd.read_parquet(folder / "forecast.parquet")
        return model

    # -- preparation ----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "forecast_"):
            raise NotFittedError("this Forecaster is not fitted yet; call fit(df) before predict()")

    def _validate_params(self) -> None:
        problems = []
        if self.horizon < 1:
            problems.append(f"horizon must be at least 1, got {self.horizon}")
        if self.n_windows < 1:
            problems.append(f"n_windows must be at least 1, got {self.n_windows}")
        if self.top_k < 1:
            problems.append(f"top_k must be at least 1, got {self.top_k}")
        problems += [
            f"level {lv} is not between 1 and 99" for lv in self.levels if not 0 < lv < 100
        ]
        if not isinstance(self.models, str):
            unknown = [name for name in self.models if name not in MODELS]
            if unknown:
                problems.append(f"unknown models {unknown}; choose from {sorted(MODELS)}")
        elif self.models != "auto" and self.models not in MODELS:
            problems.append(f"unknown model {self.models!r}; use 'auto' or one of {sorted(MODELS)}")
        if problems:
            raise ContractError("invalid Forecaster settings", problems=problems)

    def _standardise(self, df: pd.DataFrame) -> pd.DataFrame:
        names = [self.id_col, self.time_col, self.target_col]
        if self.stockout_col:
            names.append(self.stockout_col)
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise ContractError(
                f"the frame lacks columns {missing} (has {list(df.columns)}); pass id_col, "
                "time_col and target_col to name yours"
            )
        standard = ["unique_id", "ds", "y", "stockout"][: len(names)]
        out = df[names].rename(columns=dict(zip(names, standard, strict=True)))
        out = out.assign(unique_id=out["unique_id"].astype(str), y=out["y"].astype("float64"))
        out["y"] = out["y"].fillna(0.0)
        if pd.api.types.is_datetime64_any_dtype(out["ds"]):
            out["ds"] = pd.to_datetime(out["ds"]).dt.tz_localize(None).astype("datetime64[ns]")
        elif pd.api.types.is_integer_dtype(out["ds"]):
            out["ds"] = out["ds"].astype("int64")
        else:
            out["ds"] = pd.to_datetime(out["ds"]).astype("datetime64[ns]")
        out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
        if self.stockout_col:
            out = self._uncensor(out)
        if self.max_history:
            out = out.groupby("unique_id", sort=False).tail(self.max_history)
        return out.reset_index(drop=True)

    def _uncensor(self, out: pd.DataFrame) -> pd.DataFrame:
        """Raise sales on stock-out periods to the local mean of uncensored periods."""
        flagged = out["stockout"].fillna(False).astype(bool)
        clean = out["y"].where(~flagged)
        grouped = clean.groupby(out["unique_id"], sort=False)
        window = max(self.censor_window, 3)
        local = grouped.transform(lambda y: y.rolling(window, min_periods=1, center=True).mean())
        overall = grouped.transform("mean")
        estimate = local.fillna(overall).fillna(out["y"])
        out["y"] = np.where(flagged, np.maximum(out["y"], estimate), out["y"])
        self.censored_periods_ = int(flagged.sum())
        return out.drop(columns=["stockout"])

    def _infer_freq(self, history: pd.DataFrame) -> str | int:
        if self.freq is not None:
            return self.freq
        if pd.api.types.is_integer_dtype(history["ds"]):
            return 1
        sizes = history.groupby("unique_id", sort=False).size()
        longest = history[history["unique_id"] == sizes.idxmax()]["ds"]
        freq = pd.infer_freq(pd.DatetimeIndex(longest)) if len(longest) >= 3 else None
        if freq is None:
            raise ContractError(
                "cannot infer the frequency of `ds`; pass freq= (e.g. 'D', 'W-SUN', 'h')",
                column=self.time_col,
            )
        return str(freq)

    def _candidates(self, series_class: str) -> tuple[str, ...]:
        if isinstance(self.models, str):
            if self.models != "auto":
                return (self.models,)
            return AUTO_INTERMITTENT if series_class == "intermittent" else AUTO_REGULAR
        return tuple(self.models)

    def _conformal(self, h: int) -> Any | None:
        if not self.levels:
            return None
        utils = statsforecast_module("utils")
        return utils.ConformalIntervals(h=h, n_windows=CONFORMAL_WINDOWS)

    def _mstl_seasons(self) -> list[int]:
        if self.mstl_seasons:
            return [int(m) for m in self.mstl_seasons]
        if season_length_for(self.freq_) == 24 and self.season_length_ == 24:
            return [24, 168]
        return [self.season_length_]

    def _eligible(self, names: Sequence[str], length: int, h: int) -> tuple[str, ...]:
        out = []
        for name in names:
            spec = MODELS[name]
            season = max(self._mstl_seasons()) if name == "mstl" else self.season_length_
            needed = spec.min_history(season)
            if not spec.native_intervals and self.levels:
                needed = max(needed, CONFORMAL_WINDOWS * h + 1)
            if length >= needed:
                out.append(name)
        return tuple(out)

    # -- selection ------------------------------------------------------------------------
    def _select(self, history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Classify every series, backtest its eligible candidates, pick its members."""
        h, windows = self.horizon, self.n_windows
        stats = history.groupby("unique_id", sort=False)["y"].agg(
            length="size", zeros=lambda y: float((y == 0).mean()), spread="std"
        )
        rows: list[dict[str, Any]] = []
        groups: dict[tuple[str, ...], list[str]] = {}
        for uid, length, zero_share, _ in stats.itertuples():
            length = int(length)
            if zero_share == 1.0:
                rows.append(self._row(uid, "all_zero", (ZERO,), (ZERO,)))
                continue
            series_class = "intermittent" if zero_share >= INTERMITTENT_ZERO_SHARE else "regular"
            train_length = length - windows * h
            eligible = self._eligible(self._candidates(series_class), train_length, h)
            if train_length < 3 or not eligible:
                fallback = self._eligible(("seasonal_naive", "naive"), length, h)
                choice = fallback[:1] if length >= 2 * self.season_length_ else ("naive",)
                rows.append(self._row(uid, "short", choice, choice))
                continue
            rows.append(self._row(uid, series_class, eligible, ()))
            groups.setdefault(eligible, []).append(uid)

        frames = []
        for names, ids in groups.items():
            part = history[history["unique_id"].isin(ids)]
            if len(names) == 1 and not self.levels:
                continue
            sf = self._statsforecast(names, h)
            cv = sf.cross_validation(
                h=h,
                df=part,
                n_windows=windows,
                step_size=h,
                level=list(self.levels) or None,
            )
            frames.append(cv.reset_index(drop="unique_id" in cv.columns))
        backtest = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        selection = pd.DataFrame(rows)
        if not backtest.empty:
            selection = self._rank(selection, history, backtest)
            backtest = self._score_intervals(selection, backtest)
        else:
            selection["cv_mase"] = np.nan
            selection["seasonal_naive_mase"] = np.nan
        unranked = selection["members"] == ""
        selection.loc[unranked, "members"] = (
            selection.loc[unranked, "candidates"].str.split(",").str[0]
        )
        selection.loc[unranked, "reason"] = "the only candidate"
        selection["gain_over_seasonal_naive"] = 1 - (
            selection["cv_mase"] / selection["seasonal_naive_mase"]
        )
        return selection, backtest

    @staticmethod
    def _row(
        uid: str, series_class: str, candidates: Sequence[str], members: Sequence[str]
    ) -> dict[str, Any]:
        return {
            "unique_id": uid,
            "series_class": series_class,
            "candidates": ",".join(candidates),
            "members": ",".join(members),
            "reason": {
                "all_zero": "every observation is zero: forecast zero",
                "short": f"too short to backtest: {','.join(members)} as a safe fallback",
            }.get(series_class, ""),
        }

    def _rank(
        self, selection: pd.DataFrame, history: pd.DataFrame, backtest: pd.DataFrame
    ) -> pd.DataFrame:
        first_cutoff = backtest.groupby("unique_id")["cutoff"].min()
        per_series = dict(list(backtest.groupby("unique_id", sort=False)))
        histories = dict(list(history.groupby("unique_id", sort=False)))
        selection = selection.set_index("unique_id")
        selection["cv_mase"] = np.nan
        selection["seasonal_naive_mase"] = np.nan
        for uid, cv in per_series.items():
            past = histories[uid]
            train = past.loc[past["ds"] <= first_cutoff[uid], "y"].to_numpy()
            names = [n for n in selection.at[uid, "candidates"].split(",") if n in cv.columns]
            scores = {
                n: mase(cv["y"], cv[n], train, self.season_length_)
                for n in names
                if cv[n].notna().all()
            }
            if not scores:
                scores = {names[0]: float("inf")}
            ranked = sorted(scores, key=lambda n: (scores[n], names.index(n)))
            k = self.top_k if self.selection == "ensemble" else 1
            members = ranked[:k]
            combined = cv[members].mean(axis=1)
            if self.nonnegative_:
                combined = combined.clip(lower=0)
            selection.at[uid, "members"] = ",".join(members)
            selection.at[uid, "cv_mase"] = mase(cv["y"], combined, train, self.season_length_)
            if "seasonal_naive" in cv.columns:
                selection.at[uid, "seasonal_naive_mase"] = mase(
                    cv["y"], cv["seasonal_naive"], train, self.season_length_
                )
            label = members[0] if len(members) == 1 else f"mean of {', '.join(members)}"
            selection.at[uid, "reason"] = (
                f"{label}: lowest backtest MASE ({selection.at[uid, 'cv_mase']:.3f}) of "
                f"{len(names)} candidates"
            )
        return selection.reset_index()

    def _score_intervals(self, selection: pd.DataFrame, backtest: pd.DataFrame) -> pd.DataFrame:
        """Add the chosen forecast and its interval hits at every level to the backtest."""
        members = dict(zip(selection["unique_id"], selection["members"], strict=True))
        pieces = []
        for uid, cv in backtest.groupby("unique_id", sort=False):
            names = [n for n in members[str(uid)].split(",") if n in cv.columns]
            part = cv.assign(chosen=cv[names].mean(axis=1))
            for level in self.levels:
                lo = cv[[f"{n}-lo-{level}" for n in names]].mean(axis=1)
                hi = cv[[f"{n}-hi-{level}" for n in names]].mean(axis=1)
                part[f"covered_{level}"] = (cv["y"] >= lo) & (cv["y"] <= hi)
            pieces.append(part)
        return pd.concat(pieces, ignore_index=True)

    # -- forecasting ----------------------------------------------------------------------
    def _statsforecast(self, names: Sequence[str], h: int) -> Any:
        core = statsforecast_module("core")
        conformal = self._conformal(h)
        models = [
            build_model(n, self._mstl_seasons() if n == "mstl" else self.season_length_, conformal)
            for n in names
        ]
        return core.StatsForecast(
            models=models,
            freq=self.freq_,
            n_jobs=self.n_jobs,
            fallback_model=statsforecast_module("models").Naive(),
        )

    def _forecast(self, h: int, levels: list[int]) -> pd.DataFrame:
        """Forecast every series with its members; returns the long output with ``step``."""
        sel = self.selection_
        pieces = []
        zero_ids = sel.loc[sel["members"] == ZERO, "unique_id"]
        if len(zero_ids):
            pieces.append(self._zero_forecast(zero_ids.tolist(), h, levels))
        groups: dict[tuple[str, ...], list[str]] = {}
        for uid, members in zip(sel["unique_id"], sel["members"], strict=True):
            if members != ZERO:
                groups.setdefault(tuple(sorted(members.split(","))), []).append(uid)
        for names, ids in groups.items():
            part = self.history_[self.history_["unique_id"].isin(ids)]
            out = self._statsforecast(names, h).forecast(h=h, df=part, level=levels or None)
            out = out.reset_index(drop="unique_id" in out.columns)
            result = out[["unique_id", "ds"]].copy()
            result["forecast"] = out[list(names)].mean(axis=1)
            for level in levels:
                for side in ("lo", "hi"):
                    bound = out[[f"{n}-{side}-{level}" for n in names]].mean(axis=1)
                    result[f"{side}_{level}"] = bound.fillna(result["forecast"])
            label = names[0] if len(names) == 1 else "ensemble(" + ",".join(names) + ")"
            result["model"] = label
            pieces.append(result)
        forecast = pd.concat(pieces, ignore_index=True)
        value_columns = [c for c in forecast.columns if c not in ("unique_id", "ds", "model")]
        if self.nonnegative_:
            forecast[value_columns] = forecast[value_columns].clip(lower=0)
        forecast = forecast.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
        forecast["step"] = forecast.groupby("unique_id", sort=False).cumcount() + 1
        return forecast

    def _zero_forecast(self, ids: list[str], h: int, levels: list[int]) -> pd.DataFrame:
        last = self.history_[self.history_["unique_id"].isin(ids)].groupby("unique_id")["ds"].max()
        rows = []
        for uid, end in last.items():
            if isinstance(self.freq_, int):
                future: Any = [int(end) + self.freq_ * (i + 1) for i in range(h)]
            else:
                future = pd.date_range(end, periods=h + 1, freq=self.freq_)[1:]
            rows.append(pd.DataFrame({"unique_id": uid, "ds": future}))
        out = pd.concat(rows, ignore_index=True)
        out["forecast"] = 0.0
        for level in levels:
            out[f"lo_{level}"] = 0.0
            out[f"hi_{level}"] = 0.0
        out["model"] = ZERO
        return out

    def _rename_out(self, out: pd.DataFrame) -> pd.DataFrame:
        return out.rename(columns={"unique_id": self.id_col, "ds": self.time_col})
