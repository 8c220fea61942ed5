"""Render benchmarks/README.md from benchmarks/results/*.json, so the table is what was measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks._common import RESULTS

README = Path(__file__).parent / "README.md"

INTRO = """# Benchmarks

`make bench` (or `python -m benchmarks [ingest simulator service ...]`) runs each benchmark
with its anchors in the same run, each system in its own process (peak memory is that
process's maximum RSS), writes `results/<name>.json` and regenerates this page from them.
The machine is shared and noisy (2 cores): compare the ratios within one run, not absolute
times across runs.
"""

# per benchmark: (title, target line, columns as (header, key, format))
TABLES: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "ingest": (
        "Ingest + validate M5 sell_prices (types, not-null, regex, ranges, composite key)",
        "Target: faster than the polars anchor and at least 2x pandas + pandera; bounded memory.",
        [
            ("dataset", "dataset", "{}"),
            ("system", "system", "{}"),
            ("rows", "rows", "{:,}"),
            ("rows/s", "rows_per_s", "{:,}"),
            ("vs polars", "ratio_vs_polars", "{:.2f}"),
            ("vs pandera", "ratio_vs_pandera", "{:.2f}"),
            ("peak MB", "peak_memory_mb", "{:,.0f}"),
            ("wall s", "wall_s", "{:.2f}"),
        ],
    ),
    "simulator": (
        "Retail world simulator, large preset",
        "Target: at least 1,000,000 daily_sales rows/s end to end, peak memory under 4 GiB.",
        [
            ("dataset", "dataset", "{}"),
            ("system", "system", "{}"),
            ("rows/s", "rows_per_s", "{:,}"),
            ("peak MB", "peak_memory_mb", "{:,.0f}"),
            ("wall s", "wall_s", "{:.2f}"),
        ],
    ),
    "service": (
        "REST service: paged row reads (limit=100), 32 concurrent clients on loopback",
        "Target: p99 under 50 ms and at least 40% of the bare endpoint's throughput.",
        [
            ("dataset", "dataset", "{}"),
            ("system", "system", "{}"),
            ("req/s", "throughput_rps", "{:,.0f}"),
            ("vs bare", "ratio_vs_bare", "{:.2f}"),
            ("p50 ms", "p50_ms", "{:.1f}"),
            ("p99 ms", "p99_ms", "{:.1f}"),
            ("peak MB", "peak_memory_mb", "{:,.0f}"),
        ],
    ),
    "forecast": (
        "M4 Hourly (h=48) and Weekly (h=13), official test sets, scored by m4_score.py; "
        "the simulated retail world against its true demand; the inventory replay",
        "Target: Lakeforge auto beats the best single model by at least 3% OWA, in at most 3x "
        "the slowest one's time; retail: MASE >= 20% better than SeasonalNaive, 80%/95% "
        "intervals cover 76-84%/92-97%; replay at 95%: service level within 2 points, "
        "stock-out days -15% vs naive at equal or lower inventory.",
        [
            ("dataset", "dataset", "{}"),
            ("system", "system", "{}"),
            ("sMAPE", "smape", "{:.3f}"),
            ("MASE", "mase", "{:.3f}"),
            ("OWA", "owa", "{:.3f}"),
            ("cov 80", "coverage_80", "{:.3f}"),
            ("cov 95", "coverage_95", "{:.3f}"),
            ("service level", "cycle_service_level", "{:.3f}"),
            ("fewer stock-out days", "stockout_day_reduction", "{:.1%}"),
            ("inventory vs naive", "inventory_ratio", "{:.2f}"),
            ("wall s", "wall_s", "{:.1f}"),
            ("peak MB", "peak_memory_mb", "{:,.0f}"),
        ],
    ),
    "recommend": (
        "MovieLens 100K u1 (full ranking, K=10, scored by ml100k_score.py) and serving latency",
        "Target: auto NDCG@10 >= the best anchor, coverage@10 >= ALS's; in-process p99 < 5 ms "
        "(10,000 items), HTTP p99 < 30 ms.",
        [
            ("dataset", "dataset", "{}"),
            ("system", "system", "{}"),
            ("NDCG@10", "ndcg@10", "{:.4f}"),
            ("coverage@10", "coverage@10", "{:.3f}"),
            ("p50 ms", "p50_ms", "{:.2f}"),
            ("p99 ms", "p99_ms", "{:.2f}"),
            ("wall s", "wall_s", "{:.1f}"),
            ("peak MB", "peak_memory_mb", "{:,.0f}"),
        ],
    ),
    "synthetic": (
        "Synthetic data: Adult scored by adult_synth_score.py (+ Lakeforge's MIA AUC), "
        "multi-table twins, a 10M-row child table",
        "Target (Adult): default quality >= 0.98, pair trends >= 0.97, TSTR AUC >= 0.916, "
        "fit + sample <= 60 s, DCR share <= 0.52, copy rate <= 0.159, MIA AUC <= 0.55; "
        "multi-table: FK integrity 1.0, cardinality >= 0.9; 10M child rows in bounded memory.",
        [
            ("dataset", "dataset", "{}"),
            ("system", "system", "{}"),
            ("fit+sample s", "fit_sample_s", "{:.1f}"),
            ("quality", "quality_overall", "{:.3f}"),
            ("pair trends", "column_pair_trends", "{:.3f}"),
            ("TSTR AUC", "tstr_auc", "{:.3f}"),
            ("DCR share", "dcr_share", "{:.3f}"),
            ("copy rate", "copy_rate_no_fnlwgt", "{:.3f}"),
            ("MIA AUC", "mia_auc", "{:.3f}"),
            ("FK integrity", "fk_integrity_min", "{:.3f}"),
            ("cardinality", "cardinality_min", "{:.3f}"),
            ("wall s", "wall_s", "{:.1f}"),
            ("peak MB", "peak_memory_mb", "{:,.0f}"),
        ],
    ),
}


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    try:
        return fmt.format(value).replace("|", "/")
    except (ValueError, TypeError):
        return str(value)


def render(*, ours_only: bool = False, level: str = "##") -> str:
    """The benchmark tables for whatever results exist (``ours_only``: Lakeforge rows)."""
    parts = [] if ours_only else [INTRO]
    for name, (title, target, columns) in TABLES.items():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        rows: list[dict[str, Any]] = json.loads(path.read_text())
        cores = rows[0].get("cores", "?") if rows else "?"
        shown = [r for r in rows if _is_ours(r)] if ours_only else rows
        parts.append(f"{level} {name}: {title}\n\n{target} Cores: {cores}.\n")
        parts.append("| " + " | ".join(h for h, _, _ in columns) + " |")
        parts.append("|" + "---|" * len(columns))
        parts.extend(
            "| " + " | ".join(_cell(row, key, fmt) for _, key, fmt in columns) + " |"
            for row in shown
        )
        verdict = VERDICTS.get(name)
        if verdict is not None:
            parts.append("\n" + verdict(rows))
        parts.append("")
    return "\n".join(parts) + "\n"


def _is_ours(row: dict[str, Any]) -> bool:
    return str(row.get("system", "")).startswith("Lakeforge")


PROJECT_README = Path(__file__).parent.parent / "README.md"
_START, _END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_project_readme(path: Path = PROJECT_README) -> bool:
    """Put the Lakeforge rows of every table between the README's bench markers."""
    if not path.exists():
        return False
    text = path.read_text()
    if _START not in text or _END not in text:
        return False
    head, rest = text.split(_START, 1)
    _, tail = rest.split(_END, 1)
    body = render(ours_only=True, level="###").strip()
    path.write_text(f"{head}{_START}\n{body}\n{_END}{tail}")
    return True


def _ingest_verdict(rows: list[dict[str, Any]]) -> str:
    """Which parts of the ingest target the Lakeforge rows meet, from the numbers above."""
    ours = [r for r in rows if _is_ours(r)]
    if not ours:
        return "No Lakeforge row in this run."
    polars = [float(r["ratio_vs_polars"]) for r in ours]
    pandera = [float(r["ratio_vs_pandera"]) for r in ours]
    shown = " / ".join(f"{x:.2f}" for x in polars)
    return (
        f"Measured: vs polars {shown}: "
        + ("met" if min(polars) > 1 else "**not met** (Lakeforge is slower than the anchor)")
        + "; vs pandas + pandera "
        + " / ".join(f"{x:.2f}" for x in pandera)
        + (": met." if min(pandera) >= 2 else ": **not met**.")
    )


VERDICTS = {"ingest": _ingest_verdict}


def main() -> int:
    README.write_text(render())
    print(f"wrote {README}")
    if update_project_readme():
        print(f"updated the Lakeforge rows in {PROJECT_README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
