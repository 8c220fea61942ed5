"""Generate and write the retail world (default: the large preset) beside an I/O floor anchor.

Each system runs in its own child process (peak RSS is its own) into a temporary folder:

* **Lakeforge**: ``simulate_retail``: all 12 tables, their contracts and the ground truth;
* **anchor (floor)**: i.i.d. Poisson ``daily_sales`` of the same shape made with NumPy and
  written with the same Parquet writer and chunks, with none of the realism (no seasonality,
  promotions, stock, baskets, payments or reviews). The gap is the price of realism.

    python -m benchmarks.bench_simulator                  # large preset
    python -m benchmarks.bench_simulator --preset small   # a quick run

Writes ``benchmarks/results/simulator.json``: one row per (dataset, system).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import WORK, machine, run_child, write_results

TARGET_ROWS_PER_S = 1_000_000
TARGET_PEAK_MB = 4 * 1024
NAMES = {
    "lakeforge": "Lakeforge simulate_retail (all tables + contracts + truth)",
    "floor": "NumPy i.i.d. Poisson + pyarrow Parquet, daily_sales only (floor)",
}


def _config(preset: str, seed: int) -> Any:
    from lakeforge.synth.simulator import RetailConfig

    return RetailConfig.preset(preset, seed=seed)


def run_lakeforge(preset: str, seed: int, out: Path) -> dict[str, Any]:
    import lakeforge as lf
    from lakeforge.synth.simulator import simulate_retail

    config = _config(preset, seed)
    start = time.perf_counter()
    result = simulate_retail(out, config, progress=False)
    seconds = time.perf_counter() - start
    return {
        "daily_sales_rows": result.row_counts["daily_sales"],
        "rows_written": sum(result.row_counts.values()),
        "row_counts": result.row_counts,
        "bytes_written": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
        "seconds": seconds,
        "version": lf.__version__,
        "settings": f"preset={preset} seed={seed} parquet zstd, chunk_cells={config.chunk_cells}",
    }


def run_floor(preset: str, seed: int, out: Path) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    config = _config(preset, seed)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_products, days = config.products, config.days
    store_ids = pa.array([f"S{i + 1:03d}" for i in range(config.stores)])
    product_ids = pa.array([f"P{i + 1:04d}" for i in range(n_products)])
    price = np.round(rng.uniform(0.5, 50.0, size=n_products), 2)
    first_day = (config.start_date - dt.date(1970, 1, 1)).days
    per_chunk = max(1, config.chunk_cells // (n_products * days))
    rows = 0
    writer: Any = None
    for first in range(0, config.stores, per_chunk):
        stores = np.arange(first, min(first + per_chunk, config.stores))
        n = len(stores) * n_products * days
        product = np.tile(np.repeat(np.arange(n_products), days), len(stores))
        units = rng.poisson(2.0, size=n)
        dates = first_day + np.tile(np.arange(days), len(stores) * n_products)
        table = pa.table(
            {
                "date": pa.array(dates.astype(np.int32)).cast(pa.date32()),
                "store_id": store_ids.take(pa.array(np.repeat(stores, n_products * days))),
                "product_id": product_ids.take(pa.array(product)),
                "units_sold": pa.array(units, pa.int64()),
                "price": pa.array(price[product]),
                "on_promo": pa.array(np.zeros(n, dtype=bool)),
                "revenue": pa.array(np.round(units * price[product], 2)),
                "stockout": pa.array(np.zeros(n, dtype=bool)),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(out / "daily_sales.parquet", table.schema, compression="zstd")
        writer.write_table(table)
        rows += n
    if writer is not None:
        writer.close()
    seconds = time.perf_counter() - start
    return {
        "daily_sales_rows": rows,
        "rows_written": rows,
        "row_counts": {"daily_sales": rows},
        "bytes_written": (out / "daily_sales.parquet").stat().st_size,
        "seconds": seconds,
        "version": f"numpy {np.__version__}, pyarrow {pa.__version__}",
        "settings": "i.i.d. Poisson(2), same columns, parquet zstd, same chunks",
    }


SYSTEMS = {"lakeforge": run_lakeforge, "floor": run_floor}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, help="write here instead of results/simulator.json")
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.system:  # child mode
        print(json.dumps(SYSTEMS[args.system](args.preset, args.seed, Path(args.out))))
        return 0

    from rich.console import Console
    from rich.table import Table

    config = _config(args.preset, args.seed)
    dataset = (
        f"retail {args.preset} ({config.stores} stores x {config.products} products x "
        f"{config.days} days, {config.customers:,} customers, seed {args.seed})"
    )
    console = Console()
    rows: list[dict[str, Any]] = []
    WORK.mkdir(parents=True, exist_ok=True)
    for system in ("floor", "lakeforge"):
        console.print(f"[dim]{dataset}: {system}...[/]")
        with tempfile.TemporaryDirectory(dir=WORK, prefix=f"simulator-{system}-") as tmp:
            child_args = ["--system", system, "--preset", args.preset, "--seed", str(args.seed)]
            result = run_child("benchmarks.bench_simulator", [*child_args, "--out", tmp])
        rate = result["daily_sales_rows"] / result["seconds"]
        rows.append(
            {
                "dataset": dataset,
                "system": NAMES[system],
                "system_version": result["version"],
                "settings": result["settings"],
                "rows": result["daily_sales_rows"],
                "rows_per_s": round(rate),
                "rows_written": result["rows_written"],
                "rows_written_per_s": round(result["rows_written"] / result["seconds"]),
                "row_counts": result["row_counts"],
                "bytes_written": result["bytes_written"],
                "wall_s": round(result["seconds"], 3),
                "process_wall_s": result["process_wall_s"],
                "peak_memory_mb": result["peak_rss_mb"],
                "target_rows_per_s": TARGET_ROWS_PER_S,
                "target_peak_memory_mb": TARGET_PEAK_MB,
                "meets_targets": rate >= TARGET_ROWS_PER_S
                and result["peak_rss_mb"] <= TARGET_PEAK_MB,
                "cores": machine()["cores"],
                "machine": machine(),
            }
        )

    view = Table(title=f"simulate + write: {dataset}")
    for col in ("system", "daily_sales rows", "rows/s", "table rows", "peak MB", "s", "targets"):
        view.add_column(col)
    for row in rows:
        view.add_row(
            row["system"],
            f"{row['rows']:,}",
            f"{row['rows_per_s']:,}",
            f"{row['rows_written']:,}",
            f"{row['peak_memory_mb']:,.0f}",
            f"{row['wall_s']:.2f}",
            "met" if row["meets_targets"] else "missed",
        )
    view.caption = (
        f"{machine()['cores']} cores; targets: >= {TARGET_ROWS_PER_S:,} daily_sales rows/s "
        f"end to end, peak memory < {TARGET_PEAK_MB:,} MB"
    )
    console.print(view)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(rows, indent=2, default=str) + "\n")
        path = args.output
    else:
        path = write_results("simulator", rows)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
