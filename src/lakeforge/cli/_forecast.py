"""``lakeforge forecast``: fit, backtest and show forecasts (a thin shell over the Python API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from lakeforge.cli._shared import JsonOpt, WorkspaceOpt
from lakeforge.cli._shared import fail as _fail
from lakeforge.cli._shared import out as _out
from lakeforge.errors import LakeforgeError, NotFoundError
from lakeforge.workspace import Workspace

__all__ = ["forecast_app"]

forecast_app = typer.Typer(
    help="Forecast demand per series and write the forecasts as gold tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TableOpt = Annotated[str, typer.Option("--table", help="Lake table with the history.")]
IdOpt = Annotated[
    str, typer.Option("--id", help="Series id column(s), comma-separated (joined with '/').")
]
TimeOpt = Annotated[str, typer.Option("--time", help="Time column.")]
TargetOpt = Annotated[str, typer.Option("--target", help="Value column to forecast.")]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="Steps to forecast (and backtest).")]
ModelsOpt = Annotated[
    str, typer.Option("--models", help="auto, or model names, comma-separated (e.g. ets,theta).")
]
LevelsOpt = Annotated[str, typer.Option("--levels", help="Interval levels, e.g. 80,95.")]
SeasonOpt = Annotated[
    int | None, typer.Option("--season-length", help="Override the season (daily 7, ...).")
]
WindowsOpt = Annotated[int, typer.Option("--windows", help="Rolling-origin backtest windows.")]
StockoutOpt = Annotated[
    str | None,
    typer.Option("--stockout", help="Boolean stock-out column: correct censored sales."),
]
OutOpt = Annotated[str, typer.Option("--out-table", help="Gold table for the forecasts.")]
ExogOpt = Annotated[
    str,
    typer.Option("--exog", help="Exogenous columns for the lgbm model, e.g. price,on_promo."),
]
FutureOpt = Annotated[
    str | None,
    typer.Option(
        "--future-table",
        help="Table with the id, time and --exog columns for the forecast horizon.",
    ),
]


@forecast_app.callback()
def _group() -> None:
    """Forecast demand per series and write the forecasts as gold tables."""


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _lake_args(
    *,
    table: str,
    ids: str,
    time_col: str,
    target: str,
    horizon: int,
    models: str,
    levels: str,
    season_length: int | None,
    windows: int,
    stockout: str | None,
    exog: str,
    future_table: str | None,
) -> dict[str, Any]:
    """CLI options as keyword arguments of ``fit_from_lake`` / ``forecast_from_lake``."""
    names = _csv(models)
    return {
        "table": table,
        "ids": _csv(ids),
        "time_col": time_col,
        "target": target,
        "stockout": stockout,
        "exog": _csv(exog),
        "future_table": future_table,
        "models": "auto" if names in ([], ["auto"]) else names,
        "horizon": horizon,
        "levels": tuple(int(v) for v in _csv(levels)),
        "season_length": season_length,
        "n_windows": windows,
    }


def _summary_view(summary: dict[str, Any], title: str) -> RichTable:
    view = RichTable(title=title, header_style="bold cyan")
    view.add_column("measure")
    view.add_column("value", justify="right")
    for key, value in summary.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        view.add_row(key, shown)
    return view


@forecast_app.command("fit")
def fit(
    table: TableOpt = "daily_sales",
    ids: IdOpt = "store_id,product_id",
    time_col: TimeOpt = "date",
    target: TargetOpt = "units_sold",
    horizon: HorizonOpt = 28,
    models: ModelsOpt = "auto",
    levels: LevelsOpt = "80,95",
    season_length: SeasonOpt = None,
    windows: WindowsOpt = 1,
    stockout: StockoutOpt = None,
    exog: ExogOpt = "",
    future_table: FutureOpt = None,
    out_table: OutOpt = "forecasts",
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Fit per-series models chosen by backtest and write the forecasts as a gold table.

    Writes ``<out-table>`` (one row per series and step, with intervals and the model) and
    ``<out-table>_selection`` (the model chosen per series, why, and its gain over
    SeasonalNaive), with lineage from ``--table``.
    """
    from lakeforge.products.forecast import forecast_from_lake

    try:
        with Workspace.open(workspace) as ws:
            _, summary = forecast_from_lake(
                ws,
                out_table=out_table,
                **_lake_args(
                    table=table,
                    ids=ids,
                    time_col=time_col,
                    target=target,
                    horizon=horizon,
                    models=models,
                    levels=levels,
                    season_length=season_length,
                    windows=windows,
                    stockout=stockout,
                    exog=exog,
                    future_table=future_table,
                ),
            )
    except LakeforgeError as exc:
        _fail(exc, as_json)
    if as_json:
        _out.print_json(json.dumps(summary, default=str))
    else:
        _out.print(_summary_view(summary, f"forecast {table}.{target} -> gold.{out_table}"))


@forecast_app.command("backtest")
def backtest(
    table: TableOpt = "daily_sales",
    ids: IdOpt = "store_id,product_id",
    time_col: TimeOpt = "date",
    target: TargetOpt = "units_sold",
    horizon: HorizonOpt = 28,
    models: ModelsOpt = "auto",
    levels: LevelsOpt = "80,95",
    season_length: SeasonOpt = None,
    windows: WindowsOpt = 2,
    stockout: StockoutOpt = None,
    exog: ExogOpt = "",
    future_table: FutureOpt = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report here.")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Rolling-origin evaluation: MASE per series against SeasonalNaive, interval coverage."""
    from lakeforge.products.forecast import fit_from_lake

    try:
        with Workspace.open(workspace) as ws:
            model = fit_from_lake(
                ws,
                **_lake_args(
                    table=table,
                    ids=ids,
                    time_col=time_col,
                    target=target,
                    horizon=horizon,
                    models=models,
                    levels=levels,
                    season_length=season_length,
                    windows=windows,
                    stockout=stockout,
                    exog=exog,
                    future_table=future_table,
                ),
            )
    except LakeforgeError as exc:
        _fail(exc, as_json)
    summary = model.backtest_summary()
    if report is not None:
        from lakeforge.products.forecast._report import backtest_report

        report.write_text(backtest_report(model, f"{table}.{target}"))
        summary["report"] = str(report)
    if as_json:
        _out.print_json(json.dumps(summary, default=str))
    else:
        _out.print(_summary_view(summary, f"backtest {table}.{target} ({windows} windows)"))


@forecast_app.command("show")
def show(
    series_id: Annotated[str, typer.Argument(help="Series id, e.g. S001/P0042.")],
    table: Annotated[str, typer.Option("--table", help="Gold forecast table.")] = "forecasts",
    history_points: Annotated[
        int, typer.Option("--history", help="How many past observations to show.", min=0)
    ] = 28,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """A series' recent history, its forecast with intervals, the model chosen and why."""
    from lakeforge.products.forecast._lake import series_history

    try:
        with Workspace.open(workspace) as ws:
            forecast = ws.table(table).read().to_pandas()
            selection = ws.table(f"{table}_selection").read().to_pandas()
            history = (
                series_history(ws, series_id, table=table, points=history_points)
                if history_points
                else []
            )
    except LakeforgeError as exc:
        _fail(exc, as_json)
    rows = forecast[forecast["unique_id"] == series_id]
    chosen = selection[selection["unique_id"] == series_id]
    if rows.empty:
        _fail(
            NotFoundError(
                f"no series {series_id!r} in {table}; ids look like "
                f"{forecast['unique_id'].iloc[0]!r}"
                if len(forecast)
                else f"{table} is empty",
                table=table,
            ),
            as_json,
        )
    info = chosen.iloc[0].to_dict() if len(chosen) else {}
    if as_json:
        payload = {"series": info, "history": history, "forecast": rows.to_dict(orient="records")}
        _out.print_json(json.dumps(payload, default=str))
        return
    _out.print(f"[bold]{series_id}[/]: {info.get('reason', '')}")
    if history:
        values = [p["y"] for p in history]
        _out.print(
            f"history, last {len(history)} ({history[0]['ds'][:10]} to {history[-1]['ds'][:10]}): "
            f"{_sparkline(values)}  mean {_mean(values):.2f}, last {values[-1]}",
            highlight=False,
        )
    view = RichTable(header_style="bold cyan")
    for column in rows.columns:
        if column != "unique_id":
            view.add_column(column)
    for record in rows.drop(columns=["unique_id"]).itertuples(index=False):
        view.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in record])
    _out.print(view)


def _mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else float("nan")


def _sparkline(values: list[float | None]) -> str:
    """``▁▃▇`` bars scaled from the smallest to the largest value (a space where missing)."""
    bars = "▁▂▃▄▅▆▇█"
    kept = [v for v in values if v is not None]
    if not kept:
        return ""
    low, high = min(kept), max(kept)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else bars[min(int((v - low) / span * len(bars)), len(bars) - 1)]
        for v in values
    )
