"""Ingest + validate M5 sell_prices with its contract, beside three anchors, in one run.

Checks in every system: types, not-null, regex on store_id, range on price and week,
composite uniqueness of (store_id, item_id, wm_yr_wk).

    python -m benchmarks.bench_ingest            # real file + 5M-row version, 3 runs each
    python -m benchmarks.bench_ingest --quick    # real file only

Each system runs ``--repeats`` times (interleaved); the row reports the median run's time and
the highest peak memory of its runs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import WORK, machine, run_child, shared_data, write_results

STORE_PATTERN = r"^[A-Z]{2}_\d+$"
WEEK_MIN, WEEK_MAX = 11101, 20000
KEY = ["store_id", "item_id", "wm_yr_wk"]


def contract() -> Any:
    import lakeforge as lf

    return lf.Contract(
        table="sell_prices",
        columns=[
            lf.Column(name="store_id", nullable=False),
            lf.Column(name="item_id", nullable=False),
            lf.Column(name="wm_yr_wk", type="integer", nullable=False),
            lf.Column(name="sell_price", type="float", nullable=False),
        ],
        checks=[
            lf.RegexCheck(column="store_id", pattern=STORE_PATTERN[1:-1]),
            lf.RangeCheck(column="sell_price", min=0, min_inclusive=False),
            lf.RangeCheck(column="wm_yr_wk", min=WEEK_MIN, max=WEEK_MAX),
            lf.UniqueCheck(columns=KEY),
        ],
        read=lf.ReadOptions(format="csv"),
    )


# -- systems (each runs in its own process) ------------------------------------------------------
def run_lakeforge(path: Path) -> dict[str, Any]:
    import lakeforge as lf

    with tempfile.TemporaryDirectory() as tmp:
        ws = lf.Workspace.init(Path(tmp) / "ws")
        start = time.perf_counter()
        result = ws.ingest(path, table="sell_prices", contract=contract())
        seconds = time.perf_counter() - start
        ws.close()
    return {
        "rows": result.rows_read,
        "bad_rows": result.rows_quarantined,
        "seconds": seconds,
        "version": lf.__version__,
        "settings": "CSV chunks -> polars checks -> Delta (deltalake)",
    }


def run_polars(path: Path) -> dict[str, Any]:
    import polars as pl

    start = time.perf_counter()
    df = pl.read_csv(
        path,
        schema={
            "store_id": pl.String,
            "item_id": pl.String,
            "wm_yr_wk": pl.Int64,
            "sell_price": pl.Float64,
        },
    )
    bad = (
        pl.any_horizontal(pl.all().is_null())
        | ~pl.col("store_id").str.contains(STORE_PATTERN)
        | (pl.col("sell_price") <= 0)
        | ~pl.col("wm_yr_wk").is_between(WEEK_MIN, WEEK_MAX)
        | pl.struct(KEY).is_duplicated()
    )
    flagged = df.with_columns(bad.alias("bad"))
    good = flagged.filter(~pl.col("bad"))
    seconds = time.perf_counter() - start
    return {
        "rows": df.height,
        "bad_rows": df.height - good.height,
        "seconds": seconds,
        "version": pl.__version__,
        "settings": "read_csv typed + checks as expressions (no write)",
    }


def run_pandera(path: Path) -> dict[str, Any]:
    import pandas as pd
    import pandera.pandas as pa

    schema = pa.DataFrameSchema(
        {
            "store_id": pa.Column(str, pa.Check.str_matches(STORE_PATTERN), nullable=False),
            "item_id": pa.Column(str, nullable=False),
            "wm_yr_wk": pa.Column(int, pa.Check.in_range(WEEK_MIN, WEEK_MAX), nullable=False),
            "sell_price": pa.Column(float, pa.Check.gt(0), nullable=False),
        },
        unique=KEY,
    )
    start = time.perf_counter()
    df = pd.read_csv(path)
    bad = 0
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        bad = int(exc.failure_cases["index"].nunique())
    seconds = time.perf_counter() - start
    return {
        "rows": len(df),
        "bad_rows": bad,
        "seconds": seconds,
        "version": f"pandas {pd.__version__}, pandera {importlib.metadata.version('pandera')}",
        "settings": "read_csv + DataFrameSchema.validate(lazy=True) (no write)",
    }


def run_duckdb(path: Path) -> dict[str, Any]:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * FROM read_csv('{path}')) TO '{tmp}/out.parquet' (FORMAT parquet)"
        )
        rows = con.execute(f"SELECT count(*) FROM '{tmp}/out.parquet'").fetchone()[0]  # type: ignore[index]
        seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "bad_rows": 0,
        "seconds": seconds,
        "version": duckdb.__version__,
        "settings": "read_csv -> Parquet, no checks (the floor)",
    }


SYSTEMS = {
    "lakeforge": run_lakeforge,
    "polars": run_polars,
    "pandas+pandera": run_pandera,
    "duckdb": run_duckdb,
}
ANCHOR_NAMES = {
    "lakeforge": "Lakeforge ingest (Delta + checks + quarantine + catalog)",
    "polars": "polars read + checks (anchor)",
    "pandas+pandera": "pandas.read_csv + pandera lazy (anchor)",
    "duckdb": "DuckDB read_csv -> Parquet, no checks (floor)",
}


# -- datasets ----------------------------------------------------------------------------------
def five_million(source: Path) -> Path:
    """The real file repeated with the week shifted per copy so keys stay unique (5M rows)."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    target = WORK / "sell_prices_5m.csv"
    if target.exists():
        return target
    WORK.mkdir(parents=True, exist_ok=True)
    table = pacsv.read_csv(source)
    copies = -(-5_000_000 // table.num_rows)
    tmp = target.with_suffix(".tmp")
    with pacsv.CSVWriter(tmp, table.schema) as writer:
        for copy in range(copies):
            part = table.set_column(2, "wm_yr_wk", pc.add(table["wm_yr_wk"], copy * 1000))
            remaining = 5_000_000 - copy * table.num_rows
            writer.write_table(part.slice(0, min(part.num_rows, remaining)))
    # pyarrow quotes strings; the real file does not. Both are valid CSV.
    tmp.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="real file only")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per system; the median is reported"
    )
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.system:  # child mode
        print(json.dumps(SYSTEMS[args.system](Path(args.file))))
        return 0

    real = shared_data() / "m5" / "sell_prices.truncated.csv"
    if not real.exists():
        print(f"skipped: {real} not found (set LAKEFORGE_DATA)")
        return 0
    datasets = [("m5 sell_prices (real file)", real)]
    if not args.quick:
        datasets.append(("m5 sell_prices x5 (5,000,000 rows, weeks shifted)", five_million(real)))
    rows: list[dict[str, Any]] = []
    from rich.console import Console
    from rich.table import Table

    console = Console()
    view = Table(title="ingest + validate sell_prices")
    for col in ("dataset", "system", "rows", "rows/s", "vs polars", "vs pandera", "peak MB", "s"):
        view.add_column(col)
    systems = ("pandas+pandera", "polars", "duckdb", "lakeforge")
    for label, path in datasets:
        runs: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
        for repeat in range(args.repeats):  # interleaved, so drift hits every system alike
            for system in systems:
                console.print(f"[dim]{label}: {system} ({repeat + 1}/{args.repeats})...[/]")
                runs[system].append(
                    run_child("benchmarks.bench_ingest", ["--system", system, "--file", str(path)])
                )
        measured: dict[str, dict[str, Any]] = {}
        for system, results in runs.items():
            ordered = sorted(results, key=lambda r: float(r["seconds"]))
            result = dict(ordered[len(ordered) // 2])  # the median run
            result["all_seconds"] = [round(float(r["seconds"]), 3) for r in results]
            result["peak_rss_mb"] = max(float(r["peak_rss_mb"]) for r in results)
            result["rows_per_s"] = result["rows"] / result["seconds"]
            measured[system] = result
        for system, result in measured.items():
            row = {
                "dataset": label,
                "file": str(path),
                "system": ANCHOR_NAMES[system],
                "system_version": result["version"],
                "settings": result["settings"],
                "rows": result["rows"],
                "bad_rows": result["bad_rows"],
                "rows_per_s": round(result["rows_per_s"]),
                "ratio_vs_polars": round(
                    result["rows_per_s"] / measured["polars"]["rows_per_s"], 3
                ),
                "ratio_vs_pandera": round(
                    result["rows_per_s"] / measured["pandas+pandera"]["rows_per_s"], 3
                ),
                "wall_s": round(result["seconds"], 3),
                "repeats": args.repeats,
                "all_wall_s": result["all_seconds"],
                "process_wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                "cores": machine()["cores"],
                "machine": machine(),
            }
            rows.append(row)
            view.add_row(
                label.split(" (")[0],
                system,
                f"{row['rows']:,}",
                f"{row['rows_per_s']:,}",
                f"{row['ratio_vs_polars']:.2f}",
                f"{row['ratio_vs_pandera']:.2f}",
                f"{row['peak_memory_mb']:,.0f}",
                f"{row['wall_s']:.2f}",
            )
    console.print(view)
    path = write_results("ingest", rows)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
