"""Forecasting over lake tables: read the history, fit, write the gold tables with lineage.

The CLI (``lakeforge forecast fit``), the demo and scripts share these two functions, so the
CLI stays a thin shell.

Example:
    >>> model, summary = forecast_from_lake(ws, table="daily_sales", target="units_sold")
    ... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pyarrow as pa
import pyarrow.dataset as pads

from lakeforge.errors import ContractError
from lakeforge.products._lake import write_gold_table
from lakeforge.products.forecast._forecaster import Forecaster
from lakeforge.workspace import Workspace

__all__ = ["SEPARATOR", "fit_from_lake", "forecast_from_lake", "read_history", "series_history"]

SEPARATOR = "/"
"""How several id columns (``store_id``, ``product_id``) join into one series id."""


def read_history(
    ws: Workspace,
    table: str,
    *,
    ids: Sequence[str],
    time_col: str,
    target: str | None,
    stockout: str | None = None,
    exog: Sequence[str] = (),
) -> pd.DataFrame:
    """The table's series as ``unique_id, ds[, y][, stockout], *exog`` (statsforecast's frame)."""
    wanted = [target] if target else []
    extra = [stockout] if stockout else []
    frame = ws.table(table).read(columns=[*ids, time_col, *wanted, *extra, *exog]).to_pandas()
    unique_id = frame[ids[0]].astype(str)
    for column in ids[1:]:
        unique_id = unique_id + SEPARATOR + frame[column].astype(str)
    renamed = {time_col: "ds", **({target: "y"} if target else {})}
    renamed |= {stockout: "stockout"} if stockout else {}
    columns = ["unique_id", "ds", *(["y"] if target else [])]
    columns += [*(["stockout"] if stockout else []), *exog]
    return frame.assign(unique_id=unique_id).rename(columns=renamed)[columns]


def fit_from_lake(
    ws: Workspace,
    *,
    table: str,
    ids: Sequence[str] = ("store_id", "product_id"),
    time_col: str = "date",
    target: str = "units_sold",
    stockout: str | None = None,
    exog: Sequence[str] = (),
    future_table: str | None = None,
    **params: Any,
) -> Forecaster:
    """Fit a :class:`Forecaster` (``params`` are its hyperparameters) on a lake table.

    ``future_table`` holds the id, time and ``exog`` columns for the steps to forecast
    (future prices and promotions); a backtest needs none, a forecast does.
    """
    history = read_history(
        ws, table, ids=ids, time_col=time_col, target=target, stockout=stockout, exog=exog
    )
    future = None
    if future_table:
        future = read_history(ws, future_table, ids=ids, time_col=time_col, target=None, exog=exog)
    model = Forecaster(stockout_col="stockout" if stockout else None, exog=tuple(exog), **params)
    return model.fit(history, future=future)


def forecast_from_lake(
    ws: Workspace,
    *,
    table: str = "daily_sales",
    ids: Sequence[str] = ("store_id", "product_id"),
    time_col: str = "date",
    target: str = "units_sold",
    out_table: str = "forecasts",
    stockout: str | None = None,
    exog: Sequence[str] = (),
    future_table: str | None = None,
    **params: Any,
) -> tuple[Forecaster, dict[str, Any]]:
    """Fit, then write ``out_table`` and ``<out_table>_selection`` as gold tables.

    Returns the fitted model and its backtest summary (with the gold table and version).
    Exogenous columns need ``future_table``; the check comes before the (long) fit.
    """
    if exog and not future_table:
        raise ContractError(
            f"exogenous columns {', '.join(exog)} need a future table: one with "
            f"{', '.join(ids)}, {time_col} and {', '.join(exog)} for the steps to forecast "
            "(future prices and promotions); pass --future-table"
        )
    model = fit_from_lake(
        ws,
        table=table,
        ids=ids,
        time_col=time_col,
        target=target,
        stockout=stockout,
        exog=exog,
        future_table=future_table,
        **params,
    )
    run_params = {
        **model.get_params(),
        "table": table,
        "id": ",".join(ids),
        "time": time_col,
        "target": target,
    }
    sources = [table, *([future_table] if future_table else [])]
    forecast = pa.Table.from_pandas(model.predict(), preserve_index=False)
    selection = pa.Table.from_pandas(model.selection_, preserve_index=False)
    version = write_gold_table(
        ws,
        out_table,
        forecast,
        sources=sources,
        kind="forecast",
        params=run_params,
        description=f"forecasts of {table}.{target}, {model.horizon} steps",
    )
    write_gold_table(
        ws,
        f"{out_table}_selection",
        selection,
        sources=sources,
        kind="forecast",
        params=run_params,
        description=f"model chosen per series of {out_table}",
    )
    return model, {**model.backtest_summary(), "table": out_table, "version": version}


def _history_source(ws: Workspace, table: str) -> dict[str, Any] | None:
    """The table, id, time and target columns ``table``'s forecasts were fitted on."""
    version = ws.catalog.latest_version(table)
    run = ws.catalog.get_run(version.run_id) if version and version.run_id else None
    params = (run.params or {}) if run else {}
    source, ids, target = params.get("table"), params.get("id"), params.get("target")
    if not (source and ids and target and ws.catalog.get_table(str(source))):
        return None
    time_col = params.get("time")
    return {
        "table": str(source),
        "ids": str(ids).split(","),
        "time": str(time_col) if time_col else None,
        "target": str(target),
    }


def series_history(
    ws: Workspace, series_id: str, *, table: str = "forecasts", points: int = 120
) -> list[dict[str, Any]]:
    """The last ``points`` observations (``ds``, ``y``) of the series behind ``table``.

    The source table and columns come from the fit's catalog run; an empty list when they
    cannot be found (the source dropped, an id that does not split into its columns).
    """
    source = _history_source(ws, table)
    if source is None:
        return []
    ids: list[str] = source["ids"]
    parts = series_id.split(SEPARATOR)
    if len(parts) != len(ids):
        return []
    history = ws.table(source["table"])
    schema = history.schema()
    time_col = source["time"] or next(
        (
            f.name
            for f in schema
            if f.name not in ids and str(f.type).startswith(("date", "timestamp"))
        ),
        None,
    )
    if time_col is None or time_col not in schema.names or source["target"] not in schema.names:
        return []
    wanted: pads.Expression | None = None
    for column, text in zip(ids, parts, strict=True):
        kind = schema.field(column).type
        value: Any = text
        if pa.types.is_integer(kind):
            if not text.lstrip("-").isdigit():
                return []
            value = int(text)
        term = pads.field(column) == pads.scalar(value).cast(kind)
        wanted = term if wanted is None else wanted & term
    rows = history.store.read(columns=[time_col, source["target"]], filter=wanted)
    rows = rows.sort_by(time_col).slice(max(rows.num_rows - points, 0))
    return [
        {"ds": str(ds), "y": None if y is None else float(y)}
        for ds, y in zip(
            rows[time_col].to_pylist(), rows[source["target"]].to_pylist(), strict=True
        )
    ]
