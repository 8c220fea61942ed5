"""Forecasting benchmarks: M4 against statsforecast anchors, and the simulated retail world.

M4 Hourly (h=48) and Weekly (h=13): Lakeforge ``auto`` beside SeasonalNaive, AutoETS,
AutoTheta and MSTL, each alone; all systems run in their own process in the same benchmark
run and are scored on the official test sets by ``../shared/tools/m4_score.py`` (sMAPE, MASE
and OWA against Naive2, as M4 computed them).

Retail (simulator, medium preset, seed 7): the last 91 days of every store x product series
that runs to the end are held out. Lakeforge ``auto`` (with price and promotion as
exogenous columns and the stock-out correction) and statsforecast's SeasonalNaive forecast
28 days; both are scored against the held-out sales and against the simulator's true
demand (``truth/demand``). The stock-out correction is shown against true demand, and the
inventory plan is replayed over the held-out days against the naive policy "order what sold
last period"; the headline compares them at equal total inventory (the naive buyer's
starting stock scaled by one factor, bisected until it holds what the plan holds).

    python -m benchmarks.bench_forecast                  # M4 Hourly and Weekly, and retail
    python -m benchmarks.bench_forecast --freq Weekly    # one M4 frequency
    python -m benchmarks.bench_forecast --suite retail   # the simulated world only
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import RESULTS, WORK, machine, run_child, shared_data, write_results

CONFIG = {"Hourly": {"h": 48, "m": 24}, "Weekly": {"h": 13, "m": 52}}
"""Forecast horizon and the season the models use (M4 scores Weekly MASE with m=1)."""
SYSTEMS = ["SeasonalNaive", "AutoETS", "AutoTheta", "MSTL", "lakeforge"]
LAKEFORGE_SETTINGS: dict[str, dict[str, Any]] = {
    "Hourly": {"models": "auto", "n_windows": 1, "top_k": 3, "mstl_seasons": (24, 168)},
    "Weekly": {"models": "auto", "n_windows": 1, "top_k": 3, "max_history": 520},
}
"""Lakeforge ``auto`` per frequency (Weekly fits on the last ten years of each series)."""


def read_m4(freq: str) -> Any:
    """The training series as a long frame ``unique_id, ds (1..n), y``."""
    import pandas as pd

    frames = []
    with (shared_data() / "m4" / f"{freq}-train.csv").open(newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        for row in rows:
            values = np.array([float(v) for v in row[1:] if v != ""])
            frames.append(
                pd.DataFrame(
                    {"unique_id": row[0], "ds": np.arange(1, len(values) + 1), "y": values}
                )
            )
    return pd.concat(frames, ignore_index=True)


def _write_forecasts(frame: Any, column: str, name: str, path: Path) -> None:
    out = frame[["unique_id", column]].rename(columns={column: name}).copy()
    out.insert(1, "step", out.groupby("unique_id", sort=False).cumcount() + 1)
    out.to_csv(path, index=False)


# -- systems (each runs in its own process) ------------------------------------------------------
def run_anchor(name: str, freq: str, out: Path) -> dict[str, Any]:
    import statsforecast
    from statsforecast import StatsForecast
    from statsforecast import models as sf_models

    h, m = CONFIG[freq]["h"], CONFIG[freq]["m"]
    season: int | list[int] = [m, 168] if name == "MSTL" and freq == "Hourly" else m
    model = getattr(sf_models, name)(season_length=season)
    df = read_m4(freq)
    start = time.perf_counter()
    forecast = StatsForecast(models=[model], freq=1, n_jobs=-1).forecast(h=h, df=df)
    seconds = time.perf_counter() - start
    _write_forecasts(forecast.reset_index(drop="unique_id" in forecast.columns), name, name, out)
    return {
        "seconds": seconds,
        "version": f"statsforecast {statsforecast.__version__}",
        "settings": f"{name}(season_length={season}), n_jobs=-1",
    }


def run_lakeforge(freq: str, out: Path) -> dict[str, Any]:
    import lakeforge as lf
    from lakeforge.products.forecast import Forecaster

    h, m = CONFIG[freq]["h"], CONFIG[freq]["m"]
    settings = LAKEFORGE_SETTINGS[freq]
    df = read_m4(freq)
    start = time.perf_counter()
    model = Forecaster(
        horizon=h, levels=(), freq=1, season_length=m, nonnegative=False, **settings
    ).fit(df)
    forecast = model.predict()
    seconds = time.perf_counter() - start
    _write_forecasts(forecast, "forecast", "lakeforge", out)
    summary = model.backtest_summary()
    return {
        "seconds": seconds,
        "version": lf.__version__,
        "settings": f"Forecaster({settings}, season_length={m})",
        "backtest": summary,
        "chosen": model.selection_["members"].value_counts().head(10).to_dict(),
    }


def score(freq: str, forecasts: Path) -> dict[str, dict[str, Any]]:
    """Run the M4 scorer on one forecast file; returns its rows by model name."""
    scorer = shared_data().parent / "tools" / "m4_score.py"
    proc = subprocess.run(
        [
            sys.executable,
            str(scorer),
            "--freq",
            freq,
            "--forecasts",
            str(forecasts),
            "--data",
            str(shared_data()),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {row["model"]: row for row in rows}


# -- the simulated retail world ------------------------------------------------------------------
RETAIL_PRESET, RETAIL_SEED = "medium", 7
RETAIL_STORES = 10
"""Stores of the medium preset benchmarked (500 series each): all of them by default."""
RETAIL_H, RETAIL_HOLDOUT, RETAIL_REVIEW, RETAIL_REVIEWS = 28, 91, 7, 9
"""Forecast horizon; held-out days (the replay's reviews need their protection period
forecast: 9 weekly reviews x up to 24 + 7 days); review period; reviews replayed."""
RETAIL_EXOG = ("price", "on_promo")


def _retail_world() -> Path:
    """The medium world (simulated once, deterministic for its seed) under ``.work``."""
    from lakeforge.synth.simulator import RetailConfig, simulate_retail

    folder = WORK / f"retail_{RETAIL_PRESET}_{RETAIL_SEED}"
    if not (folder / "truth" / "demand.parquet").exists():
        config = RetailConfig.preset(RETAIL_PRESET, seed=RETAIL_SEED)
        simulate_retail(folder, config, progress=False)
    return folder


def _retail_frames(stores: int) -> dict[str, Any]:
    """Train / held-out frames of the first ``stores`` stores' series that run to the end."""
    import pandas as pd
    import pyarrow.parquet as pq

    world = _retail_world()
    wanted = [f"S{i:03d}" for i in range(1, stores + 1)]
    sales = pq.read_table(world / "daily_sales.parquet").to_pandas()
    sales = sales[sales["store_id"].isin(wanted)]
    truth = pq.read_table(world / "truth" / "demand.parquet").to_pandas()
    sales = sales.merge(truth, on=["date", "store_id", "product_id"], how="left")
    stock = pq.read_table(world / "inventory.parquet").to_pandas()
    stock = stock[stock["store_id"].isin(wanted)]
    products = pq.read_table(world / "products.parquet").to_pandas()
    orders = pq.read_table(world / "replenishment_orders.parquet").to_pandas()
    orders = orders[orders["store_id"].isin(wanted)]
    orders["unique_id"] = orders["store_id"] + "/" + orders["product_id"]
    for frame in (sales, stock):
        frame["unique_id"] = frame["store_id"] + "/" + frame["product_id"]
        frame["ds"] = pd.to_datetime(frame["date"])
    sales["on_promo"] = sales["on_promo"].astype(float)
    end = sales["ds"].max()
    cutoff = end - pd.Timedelta(days=RETAIL_HOLDOUT)
    span = sales.groupby("unique_id")["ds"].agg(["min", "max"])
    keep = span.index[(span["max"] == end) & (span["min"] <= cutoff - pd.Timedelta(days=120))]
    sales = sales[sales["unique_id"].isin(keep)].sort_values(["unique_id", "ds"])
    train = sales[sales["ds"] <= cutoff].reset_index(drop=True)
    test = sales[sales["ds"] > cutoff].reset_index(drop=True)
    return {
        "train": train,
        "test": test,
        "stock": stock,
        "products": products,
        "orders": orders,
        "cutoff": cutoff,
        "series": len(keep),
    }


def _retail_scores(
    train: Any, test: Any, forecast: Any, intermittent: set[str] | None = None
) -> dict[str, Any]:
    """MASE, sMAPE, RMSSE, WAPE, bias, quantile loss and coverage against sales and demand."""
    from lakeforge.products.forecast import bias, mase, quantile_loss, rmsse, smape, wape

    joined = test.merge(forecast, on=["unique_id", "ds"], how="inner")
    history = {k: g["units_sold"].to_numpy(float) for k, g in train.groupby("unique_id")}
    zero_share = train.groupby("unique_id")["units_sold"].apply(lambda y: float((y == 0).mean()))
    intermittent = intermittent or set(zero_share.index[zero_share >= 0.3])
    out: dict[str, Any] = {"series": int(joined["unique_id"].nunique()), "points": len(joined)}
    for label, column in (("sales", "units_sold"), ("demand", "demand")):
        per = [
            (
                mase(g[column], g["forecast"], history[k], 7),
                rmsse(g[column], g["forecast"], history[k], 7),
                smape(g[column], g["forecast"]),
            )
            for k, g in joined.groupby("unique_id")
        ]
        values = np.asarray(per)
        actual = joined[column].to_numpy(float)
        scores = {
            "mase": float(values[:, 0].mean()),
            "rmsse": float(values[:, 1].mean()),
            "smape": float(values[:, 2].mean()),
            "wape": wape(actual, joined["forecast"]),
            "bias": bias(actual, joined["forecast"]),
        }
        if "lo_80" in joined:
            scores["quantile_loss_10"] = quantile_loss(actual, joined["lo_80"], 0.1)
            scores["quantile_loss_90"] = quantile_loss(actual, joined["hi_80"], 0.9)
            flagged = joined["unique_id"].isin(intermittent).to_numpy()
            for level in (80, 95):
                inside = (actual >= joined[f"lo_{level}"]) & (actual <= joined[f"hi_{level}"])
                inside = inside.to_numpy()
                scores[f"coverage_{level}"] = float(inside.mean())
                scores[f"coverage_{level}_intermittent"] = float(inside[flagged].mean())
                scores[f"coverage_{level}_regular"] = float(inside[~flagged].mean())
        out[f"vs_{label}"] = scores
    out["intermittent_series"] = int(
        joined["unique_id"].isin(intermittent).groupby(joined["unique_id"]).first().sum()
    )
    return out


def _future(test: Any, steps: int) -> Any:
    first = test["ds"].min()
    part = test[test["ds"] < first + np.timedelta64(steps, "D")]
    return part[["unique_id", "ds", *RETAIL_EXOG]]


def run_retail(system: str, stores: int) -> dict[str, Any]:
    """One retail system, in its own process: fit, forecast, score (and replay, for ours)."""
    frames = _retail_frames(stores)
    train, test = frames["train"], frames["test"]
    first_days = test[test["ds"] < test["ds"].min() + np.timedelta64(RETAIL_H, "D")]
    if system == "retail-seasonal-naive":
        import statsforecast
        from statsforecast import StatsForecast
        from statsforecast.models import SeasonalNaive

        df = train[["unique_id", "ds", "units_sold"]].rename(columns={"units_sold": "y"})
        start = time.perf_counter()
        out = StatsForecast(models=[SeasonalNaive(season_length=7)], freq="D", n_jobs=-1).forecast(
            h=RETAIL_H, df=df, level=[80, 95]
        )
        seconds = time.perf_counter() - start
        out = out.reset_index(drop="unique_id" in out.columns)
        out = out.rename(columns={"SeasonalNaive": "forecast"})
        for level in (80, 95):
            for side in ("lo", "hi"):
                out[f"{side}_{level}"] = out[f"SeasonalNaive-{side}-{level}"].clip(lower=0)
        return {
            "seconds": seconds,
            "version": f"statsforecast {statsforecast.__version__}",
            "settings": "SeasonalNaive(season_length=7), level=[80, 95], raw sales",
            "scores": _retail_scores(train, first_days, out),
            "series": frames["series"],
        }
    if system == "retail-stockout":
        return _retail_stockout_effect(frames)
    return _retail_lakeforge(frames, first_days)


def _retail_lakeforge(frames: dict[str, Any], first_days: Any) -> dict[str, Any]:
    import lakeforge as lf
    from lakeforge.products.forecast import Forecaster

    train, test = frames["train"], frames["test"]
    settings = {
        "models": "auto",
        "horizon": RETAIL_H,
        "levels": (80, 95),
        "exog": RETAIL_EXOG,
        "stockout_col": "stockout",
        "target_col": "units_sold",
    }
    start = time.perf_counter()
    model = Forecaster(**settings).fit(train, future=_future(test, RETAIL_H))  # type: ignore[arg-type]
    forecast = model.predict()
    seconds = time.perf_counter() - start
    classes = model.selection_.set_index("unique_id")["series_class"]
    intermittent = set(classes.index[classes == "intermittent"])
    scores = _retail_scores(train, first_days, forecast, intermittent)
    long = model.predict(RETAIL_HOLDOUT, future=_future(test, RETAIL_HOLDOUT))
    replay = _retail_replay(frames, long)
    chosen = model.selection_["members"].str.split(",").explode().value_counts()
    return {
        "seconds": seconds,
        "version": lf.__version__,
        "settings": f"Forecaster({settings})",
        "scores": scores,
        "backtest": model.backtest_summary(),
        "member_counts": chosen.to_dict(),
        "replay": replay,
        "series": frames["series"],
    }


def _retail_replay(frames: dict[str, Any], forecast: Any) -> dict[str, Any]:
    """Replay the rolling order-up-to plan and the naive policy over the held-out demand."""
    from lakeforge.products.inventory import (
        InventoryPolicy,
        naive_at_total_inventory,
        order_up_to_schedule,
        plan_orders,
        replay_policy,
        total_average_inventory,
    )

    train, test, cutoff = frames["train"], frames["test"], frames["cutoff"]
    stock = frames["stock"]
    at_cutoff = stock[stock["ds"] == cutoff][["unique_id", "product_id", "on_hand_close"]]
    terms = frames["products"][
        ["product_id", "lead_time_mean_days", "lead_time_std_days", "case_pack"]
    ]
    items = at_cutoff.merge(terms, on="product_id").rename(
        columns={
            "on_hand_close": "on_hand",
            "lead_time_mean_days": "lead_time_days",
        }
    )
    last_week = train[train["ds"] > cutoff - np.timedelta64(RETAIL_REVIEW, "D")]
    items = items.merge(
        last_week.groupby("unique_id")["units_sold"].sum().rename("last_period_sales"),
        on="unique_id",
    )
    open_orders = frames["orders"]
    order_date = pd_dates(open_orders["order_date"])
    arrival = pd_dates(open_orders["arrival_date"])
    pending = open_orders[(order_date <= cutoff) & (arrival > cutoff)].assign(
        day=(arrival - cutoff).dt.days - 1
    )
    pipelines = {
        uid: list(zip(g["day"], g["quantity"], strict=True))
        for uid, g in pending.groupby("unique_id")
    }
    policy = InventoryPolicy(service_level=0.95, review_days=RETAIL_REVIEW)
    schedule = order_up_to_schedule(forecast, items, reviews=RETAIL_REVIEWS, policy=policy)
    plan = plan_orders(forecast, items, policy=policy)
    days = RETAIL_REVIEWS * RETAIL_REVIEW
    truth = test[test["ds"] < test["ds"].min() + np.timedelta64(days, "D")]
    truth = truth[["unique_id", "ds", "demand"]]
    out: dict[str, Any] = {"series": len(plan), "days": days, "reviews": RETAIL_REVIEWS}
    # same start: both policies begin holding the plan's first order-up-to level, nothing on
    # order; from the simulator's state: its stock and open orders at the cut-off, and the
    # naive buyer's first order is the last week's sales. The headline, "naive at matched
    # total inventory": the naive buyer starts from the same-start stock times ONE scale,
    # bisected so that its mean inventory over all series equals the plan's; stock-out days
    # are then compared at equal total inventory. "naive at equal inventory" gives the naive
    # buyer, per series, the smallest starting stock with which it holds at least the plan's
    # average inventory of that series (case packs make an exact match impossible).
    same = plan.assign(
        on_hand=[math.ceil(schedule[u][0]) for u in plan["unique_id"]], last_period_sales=None
    )
    real = plan.merge(items[["unique_id", "last_period_sales"]], on="unique_id")
    real["pipeline"] = [pipelines.get(u, []) for u in real["unique_id"]]
    for start, frame in (("same_start", same), ("simulator_start", real)):
        part: dict[str, Any] = {}
        held: dict[str, float] = {}
        plan_rows = None
        for name, kwargs in (
            ("plan", {"policy": "order_up_to", "schedule": schedule}),
            ("naive", {"policy": "naive"}),
            ("naive_at_equal_inventory", {"policy": "naive", "match_inventory": held}),
        ):
            if start == "simulator_start" and name == "naive_at_equal_inventory":
                continue  # its open orders alone already exceed the plan's stock
            result = replay_policy(truth, frame, warm_up=True, **kwargs)  # type: ignore[arg-type]
            if name == "plan":
                plan_rows = result
                held.update(zip(result["unique_id"], result["average_inventory"], strict=True))
            part[name] = _replay_totals(result)
        if start == "same_start" and plan_rows is not None:
            matched, scale = naive_at_total_inventory(
                truth, frame, average_inventory=total_average_inventory(plan_rows), warm_up=True
            )
            part["naive_at_matched_total_inventory"] = {
                **_replay_totals(matched),
                "start_scale": scale,
            }
        for baseline in BASELINES:
            if baseline not in part:
                continue
            part[f"stockout_day_reduction_vs_{baseline}"] = 1 - part["plan"]["stockout_days"] / max(
                part[baseline]["stockout_days"], 1
            )
            part[f"inventory_ratio_vs_{baseline}"] = part["plan"]["average_inventory"] / max(
                part[baseline]["average_inventory"], 1e-9
            )
        out[start] = part
    return out


BASELINES = ("naive", "naive_at_equal_inventory", "naive_at_matched_total_inventory")
"""The naive policy's variants the replay reports (see ``_retail_replay``)."""


def _replay_totals(result: Any) -> dict[str, Any]:
    """Service level, fill rate, stock-out days, inventory and cost over every series."""
    from lakeforge.products.inventory import total_average_inventory

    return {
        "cycle_service_level": float(
            result["cycles_without_stockout"].sum() / max(result["cycles"].sum(), 1)
        ),
        "fill_rate": float(result["sales"].sum() / max(result["demand"].sum(), 1e-9)),
        "stockout_days": int(result["stockout_days"].sum()),
        "scored_days": int(result["days"].sum()),
        "average_inventory": total_average_inventory(result),
        "cost": float(result["cost"].sum()),
    }


def pd_dates(values: Any) -> Any:
    import pandas as pd

    return pd.to_datetime(values)


def _retail_stockout_effect(frames: dict[str, Any]) -> dict[str, Any]:
    """The correction of censored sales, measured against the simulator's true demand."""
    from lakeforge.products.forecast import Forecaster

    train, test = frames["train"], frames["test"]
    first_days = test[test["ds"] < test["ds"].min() + np.timedelta64(RETAIL_H, "D")]
    settings = {"models": ["lgbm"], "horizon": RETAIL_H, "levels": (), "exog": RETAIL_EXOG}
    out: dict[str, Any] = {}
    flagged = train["stockout"].astype(bool)
    start = time.perf_counter()
    for label, stockout in (("raw", None), ("corrected", "stockout")):
        model = Forecaster(stockout_col=stockout, target_col="units_sold", **settings)  # type: ignore[arg-type]
        model.fit(train, future=_future(test, RETAIL_H))
        target = model.history_.set_index(["unique_id", "ds"])["y"]
        keys = pd_index(train[flagged])
        gap = train.loc[flagged, "demand"].to_numpy(float) - target.reindex(keys).to_numpy()
        scores = _retail_scores(train, first_days, model.predict())
        out[label] = {
            "target_gap_on_stockout_days": float(gap.mean()),
            "forecast_bias_vs_demand": scores["vs_demand"]["bias"],
            "forecast_mase_vs_demand": scores["vs_demand"]["mase"],
            "forecast_wape_vs_demand": scores["vs_demand"]["wape"],
        }
    out["stockout_days_in_history"] = int(flagged.sum())
    out["seconds"] = time.perf_counter() - start
    out["version"] = "lakeforge"
    out["settings"] = f"Forecaster({settings}), stockout_col None vs 'stockout'"
    return out


def pd_index(frame: Any) -> Any:
    import pandas as pd

    return pd.MultiIndex.from_frame(frame[["unique_id", "ds"]])


def flatten_retail(row: dict[str, Any]) -> dict[str, Any]:
    """Copy a retail row's headline figures to top-level keys (for the results table)."""
    if not row["dataset"].startswith("retail"):
        return row
    out = dict(row)
    if "scores" in row:
        demand = row["scores"]["vs_demand"]
        out.update(
            {
                "smape": round(demand["smape"], 3),
                "mase": round(demand["mase"], 4),
                "coverage_80": round(demand.get("coverage_80", float("nan")), 4),
                "coverage_95": round(demand.get("coverage_95", float("nan")), 4),
            }
        )
        if "gain_over_seasonal_naive" in row:
            out["mase_gain_vs_seasonal_naive"] = round(row["gain_over_seasonal_naive"]["demand"], 4)
    if "same_start" in row:
        same = row["same_start"]
        out.update(
            {
                "cycle_service_level": round(same["plan"]["cycle_service_level"], 4),
                "stockout_day_reduction": round(
                    same["stockout_day_reduction_vs_naive_at_matched_total_inventory"], 4
                ),
                "inventory_ratio": round(
                    same["inventory_ratio_vs_naive_at_matched_total_inventory"], 4
                ),
            }
        )
    return out


def retail_main(stores: int) -> None:
    """Run the retail systems (each in its own process) and write their rows."""
    previous = RESULTS / "forecast.json"
    rows: list[dict[str, Any]] = [
        row
        for row in (json.loads(previous.read_text()) if previous.exists() else [])
        if not row["dataset"].startswith("retail")
    ]
    WORK.mkdir(parents=True, exist_ok=True)
    _retail_world()
    results = {}
    for system in ("retail-seasonal-naive", "retail-lakeforge", "retail-stockout"):
        print(f"retail {RETAIL_PRESET}: {system}...", flush=True)
        results[system] = run_child(
            "benchmarks.bench_forecast", ["--system", system, "--stores", str(stores)], 7200
        )
    series = results["retail-lakeforge"]["series"]
    dataset = (
        f"retail {RETAIL_PRESET} (seed {RETAIL_SEED}, stores S001-S{stores:03d}: {series} "
        f"store x product series, h={RETAIL_H}, last {RETAIL_HOLDOUT} days held out)"
    )
    base = {"cores": machine()["cores"], "machine": machine()}
    naive, ours = results["retail-seasonal-naive"], results["retail-lakeforge"]
    for system, result, label in (
        ("SeasonalNaive (anchor)", naive, "anchor"),
        ("Lakeforge auto", ours, "auto"),
    ):
        rows.append(
            {
                "dataset": dataset,
                "system": system,
                "system_version": result["version"],
                "settings": result["settings"],
                "mase": round(result["scores"]["vs_demand"]["mase"], 4),
                "scores": result["scores"],
                "wall_s": round(result["seconds"], 2),
                "process_wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                **(
                    {"backtest": result["backtest"], "member_counts": result["member_counts"]}
                    if label == "auto"
                    else {}
                ),
                **base,
            }
        )
    gain = {
        actual: 1 - ours["scores"][f"vs_{actual}"]["mase"] / naive["scores"][f"vs_{actual}"]["mase"]
        for actual in ("sales", "demand")
    }
    rows[-1]["gain_over_seasonal_naive"] = gain
    replay = ours["replay"]
    rows.append(
        {
            "dataset": dataset.replace("retail", "retail inventory replay", 1),
            "system": "Lakeforge order-up-to plan vs naive 'order what sold last period'",
            "system_version": ours["version"],
            "settings": "service level 0.95, weekly review, case packs, simulated lead times; "
            "first lead time + 1 days of each series not scored. Headline (top-level keys): "
            "same_start.naive_at_matched_total_inventory: the plan starts at its first "
            "order-up-to level, the naive buyer at that stock times one scale for all series, "
            "bisected so its mean inventory over all series equals the plan's; then stock-out "
            "days at equal total inventory. Also reported: same_start.naive (the plan's "
            "starting stock unscaled), same_start.naive_at_equal_inventory (per series, the "
            "smallest start holding at least the plan's inventory), simulator_start (both "
            "from the simulator's stock and open orders at the cut-off; naive's first order "
            "is last week's sales)",
            **replay,
            "wall_s": round(ours["seconds"], 2),
            "process_wall_s": ours["process_wall_s"],
            "peak_memory_mb": ours["peak_rss_mb"],
            **base,
        }
    )
    effect = results["retail-stockout"]
    rows.append(
        {
            "dataset": dataset.replace("retail", "retail stock-out correction", 1),
            "system": "Lakeforge lgbm, censored sales raw vs corrected",
            "system_version": ours["version"],
            "settings": effect["settings"],
            "raw": effect["raw"],
            "corrected": effect["corrected"],
            "stockout_days_in_history": effect["stockout_days_in_history"],
            "wall_s": round(effect["seconds"], 2),
            "process_wall_s": effect["process_wall_s"],
            "peak_memory_mb": effect["peak_rss_mb"],
            **base,
        }
    )
    path = write_results("forecast", [flatten_retail(row) for row in rows])
    print(json.dumps({"gain": gain, "replay": replay, "effect": effect}, indent=1, default=str))
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--freq", choices=sorted(CONFIG), action="append")
    parser.add_argument("--suite", choices=["m4", "retail"], action="append")
    parser.add_argument("--stores", type=int, default=RETAIL_STORES, help=argparse.SUPPRESS)
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.system and args.system.startswith("retail"):  # child mode, simulated world
        print(json.dumps(run_retail(args.system, args.stores), default=str))
        return 0
    if args.system:  # child mode
        freq, out = args.freq[0], Path(args.out)
        result = (
            run_lakeforge(freq, out)
            if args.system == "lakeforge"
            else run_anchor(args.system, freq, out)
        )
        print(json.dumps(result, default=str))
        return 0

    suites = args.suite or (["m4"] if args.freq else ["m4", "retail"])
    if "retail" in suites:
        retail_main(args.stores)
    if "m4" not in suites:
        return 0
    if not (shared_data() / "m4" / "Weekly-train.csv").exists():
        print(f"skipped: {shared_data() / 'm4'} not found (set LAKEFORGE_DATA)")
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    view = Table(title="M4 forecasting (official test sets)")
    for col in ("dataset", "system", "sMAPE", "MASE", "OWA", "s", "peak MB"):
        view.add_column(col)
    freqs = args.freq or ["Weekly", "Hourly"]
    previous = RESULTS / "forecast.json"
    rows: list[dict[str, Any]] = [  # keep the other frequency's rows when running one
        row
        for row in (json.loads(previous.read_text()) if previous.exists() else [])
        if not any(row["dataset"].startswith(f"M4 {freq}") for freq in freqs)
    ]
    WORK.mkdir(parents=True, exist_ok=True)
    for freq in freqs:
        for system in SYSTEMS:
            console.print(f"[dim]M4 {freq}: {system}...[/]")
            path = WORK / f"m4_{freq}_{system}.csv"
            child = ["--system", system, "--freq", freq, "--out", str(path)]
            result = run_child("benchmarks.bench_forecast", child, timeout=7200)
            scored = score(freq, path)
            metrics = scored["lakeforge" if system == "lakeforge" else system]
            row = {
                "dataset": f"M4 {freq} (h={CONFIG[freq]['h']}, {metrics['series']} series)",
                "system": "Lakeforge auto" if system == "lakeforge" else f"{system} (anchor)",
                "system_version": result["version"],
                "settings": result["settings"],
                "smape": round(metrics["smape"], 3),
                "mase": round(metrics["mase"], 3),
                "owa": round(metrics["owa"], 3),
                "wall_s": round(result["seconds"], 2),
                "process_wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                "cores": machine()["cores"],
                "machine": machine(),
            }
            if "backtest" in result:
                row["backtest"] = result["backtest"]
                row["chosen"] = result["chosen"]
            rows.append(row)
            write_results("forecast", rows)  # after every system, so a cut-off run keeps its rows
            view.add_row(
                freq,
                row["system"],
                f"{row['smape']:.3f}",
                f"{row['mase']:.3f}",
                f"{row['owa']:.3f}",
                f"{row['wall_s']:.1f}",
                f"{row['peak_memory_mb']:,.0f}",
            )
    console.print(view)
    path = write_results("forecast", rows)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
