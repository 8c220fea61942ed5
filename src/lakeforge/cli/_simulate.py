"""``lakeforge simulate``: generate a simulated business (a thin shell over the Python API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from lakeforge.errors import LakeforgeError
from lakeforge.synth.simulator import (
    RetailConfig,
    SimulationResult,
    simulate_retail,
    simulate_retail_into,
)

__all__ = ["simulate_app"]

simulate_app = typer.Typer(
    help="Simulate a business with known ground truth (the embedded demo data).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_out = Console(soft_wrap=True)
_err = Console(stderr=True)


@simulate_app.callback()
def _group() -> None:
    """Simulate a business with known ground truth (the embedded demo data)."""


def _summary(result: SimulationResult) -> RichTable:
    view = RichTable(title="Simulated retail world", header_style="bold cyan")
    view.add_column("table")
    view.add_column("rows", justify="right")
    view.add_column("file", overflow="fold")
    if result.ingested:
        view.add_column("quarantined", justify="right")
    for name, rows in result.row_counts.items():
        cells = [name, f"{rows:,}", str(result.tables[name])]
        if result.ingested:
            cells.append(f"{result.ingested[name].get('rows_quarantined', 0):,}")
        view.add_row(*cells)
    return view


@simulate_app.command("retail")
def retail(
    preset: Annotated[
        str | None, typer.Option(help="small, medium or large (sizes below override it).")
    ] = None,
    stores: Annotated[int | None, typer.Option(help="Number of stores.")] = None,
    products: Annotated[int | None, typer.Option(help="Number of products.")] = None,
    customers: Annotated[int | None, typer.Option(help="Number of loyalty customers.")] = None,
    days: Annotated[int | None, typer.Option(help="Days of history.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed, same bytes.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default ./world, or <workspace>/world with --into)."),
    ] = None,
    into: Annotated[
        Path | None, typer.Option(help="Ingest the tables into this workspace (created if new).")
    ] = None,
    dirty: Annotated[
        float, typer.Option(help="Share of fact rows given a realistic fault, e.g. 0.01.")
    ] = 0.0,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Simulate a retail business: tables, contracts and ground truth.

    Example: ``lakeforge simulate retail --preset small --seed 7 --out ./world``
    """
    try:
        config = RetailConfig.preset(
            preset or "small",
            stores=stores,
            products=products,
            customers=customers,
            days=days,
            seed=seed,
        )
        show_progress = not (quiet or as_json)
        if into is not None:
            if file_format != "parquet":
                _err.print("--format applies to --out only; tables are ingested from Parquet")
            result = simulate_retail_into(
                into, config, dirty=dirty, out=out, progress=show_progress
            )
        else:
            result = simulate_retail(
                out or Path("world"),
                config,
                dirty=dirty,
                file_format=file_format,  # type: ignore[arg-type]  # validated by the API
                progress=show_progress,
            )
    except LakeforgeError as exc:
        if as_json:
            _out.print_json(json.dumps({"error": exc.to_dict()}))
        else:
            _err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        _out.print_json(json.dumps(result.to_dict(), default=str))
        return
    _out.print(_summary(result))
    _out.print(
        f"ground truth in [bold]{result.out / 'truth'}[/] (never ingested); contracts in "
        f"[bold]{result.out / 'contracts'}[/]"
    )
    if result.faults:
        _out.print(f"{result.faults:,} faults injected, listed in truth/faults.parquet")
    _out.print(
        f"{result.row_counts['daily_sales']:,} daily sales rows in {result.seconds:.1f} s "
        f"({result.daily_sales_rows_per_second:,.0f} rows/s)"
    )
