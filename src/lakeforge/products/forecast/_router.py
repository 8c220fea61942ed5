"""REST routes of the forecast product: a series' forecast with intervals and why its model.

Mounted under ``/api/v1`` by adding itself to :data:`lakeforge.serve._products.PRODUCTS` on
import: ``GET /api/v1/forecast/{series_id}?horizon=28&levels=80,95`` reads the gold tables
``lakeforge forecast fit`` wrote (``forecasts`` and ``forecasts_selection``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from lakeforge.errors import NotFoundError, QueryError
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._models import ErrorResponse
from lakeforge.serve._products import PRODUCTS
from lakeforge.serve.deps import WorkspaceDep, require
from lakeforge.workspace import Workspace

__all__ = ["router", "series_forecast"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "levels that were not forecast"),
        (401, "no token, or an unknown, revoked or expired one"),
        (403, "the role may not read rows"),
        (404, "no forecast table, or no such series in it"),
        (422, "the request does not validate"),
    )
}
router = APIRouter(prefix="/forecast", tags=["forecast"], responses=_ERRORS)
RowReader = Annotated[Caller, require(Permission.READ_ROWS)]


def series_forecast(
    ws: Workspace, series_id: str, *, horizon: int, levels: list[int], table: str = "forecasts"
) -> dict[str, Any]:
    """One series' forecast rows (first ``horizon`` steps, ``levels`` bounds) and its model."""
    forecast = ws.table(table).read().to_pandas()
    rows = forecast[forecast["unique_id"] == series_id].head(horizon)
    if rows.empty:
        raise NotFoundError(f"no series {series_id!r} in {table}", table=table)
    missing = [lv for lv in levels if f"lo_{lv}" not in rows.columns]
    if missing:
        raise QueryError(
            f"levels {missing} were not forecast; refit with --levels including them",
            table=table,
        )
    columns = ["ds", "forecast"] + [f"{s}_{lv}" for lv in levels for s in ("lo", "hi")]
    selection = ws.table(f"{table}_selection").read().to_pandas()
    chosen = selection[selection["unique_id"] == series_id]
    info = chosen.iloc[0].to_dict() if len(chosen) else {}
    return {
        "series_id": series_id,
        "model": str(rows["model"].iloc[0]),
        "reason": info.get("reason"),
        "backtest_mase": _number(info.get("cv_mase")),
        "gain_over_seasonal_naive": _number(info.get("gain_over_seasonal_naive")),
        "data": [
            {k: (str(v) if k == "ds" else float(v)) for k, v in record.items()}
            for record in rows[columns].to_dict(orient="records")
        ],
        "count": len(rows),
    }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if number != number else number


@router.get("/{series_id:path}", name="forecast.series")
async def get_series_forecast(
    series_id: str,
    ws: WorkspaceDep,
    caller: RowReader,
    horizon: Annotated[int, Query(ge=1, le=1000)] = 28,
    levels: Annotated[str, Query(pattern=r"^\d{1,2}(,\d{1,2})*$")] = "80,95",
) -> dict[str, Any]:
    """A series' forecast (``S001/P0042``) with intervals, its model and why it was chosen."""
    wanted = [int(v) for v in levels.split(",")]
    return await run_in_threadpool(series_forecast, ws, series_id, horizon=horizon, levels=wanted)


PRODUCTS.append((router, None))
