"""Forecast M4 Hourly (h=48) and Weekly (h=13): Lakeforge ``auto`` beside statsforecast anchors.

Anchors: SeasonalNaive, AutoETS, AutoTheta and MSTL, each alone; all systems run in their own
process in the same benchmark run and are scored on the official test sets by
``../shared/tools/m4_score.py`` (sMAPE, MASE and OWA against Naive2, as M4 computed them).

    python -m benchmarks.bench_forecast                  # Hourly and Weekly
    python -m benchmarks.bench_forecast --freq Weekly    # one frequency
"""

from __future__ import annotations

import argparse
import csv
import json
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--freq", choices=sorted(CONFIG), action="append")
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.system:  # child mode
        freq, out = args.freq[0], Path(args.out)
        result = (
            run_lakeforge(freq, out)
            if args.system == "lakeforge"
            else run_anchor(args.system, freq, out)
        )
        print(json.dumps(result, default=str))
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
