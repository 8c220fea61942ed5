"""Dashboard pages of the data products: forecasts, the inventory plan, recommendations.

Each page reads the product's gold tables (or, for recommendations, the saved model) through
the same permissions as its API route (``read_rows``), and shows the command to run when the
product has not been built yet. A page is listed in the navigation only when its product's
extra is installed.
"""

from __future__ import annotations

import importlib
import json
import math
import statistics
import sys
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from lakeforge.errors import LakeforgeError, NotFoundError
from lakeforge.serve._audit import note
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._products import ProductPage
from lakeforge.serve._state import ServiceState
from lakeforge.serve.dashboard._pages import _render, _signed_in
from lakeforge.serve.deps import OptionalUser, StateDep
from lakeforge.workspace import Workspace

__all__ = ["PRODUCT_PAGES", "install_product_pages", "router"]

router = APIRouter(include_in_schema=False)

PRODUCT_PAGES: tuple[tuple[str, ProductPage], ...] = (
    ("lakeforge.products.forecast._router", ProductPage("/forecast", "Forecast")),
    ("lakeforge.products.inventory._router", ProductPage("/inventory", "Inventory")),
    ("lakeforge.products.recommend._router", ProductPage("/recommend", "Recommend")),
)
"""(module whose import tells the product is installed, its page)."""

_FORECASTS = "forecasts"
_PLAN = "inventory_plan"
_LIST_ROWS = 200
_HISTORY_POINTS = 120


def install_product_pages(app: FastAPI) -> None:
    """Add the pages of the installed products to ``app`` and to its navigation."""
    state: ServiceState = app.state.lakeforge
    for module, page in PRODUCT_PAGES:
        try:
            importlib.import_module(module)
        except ImportError:  # the product's extra is not installed: no page
            continue
        if page not in state.products:
            state.products.append(page)
    app.include_router(router)


def _reader(caller: Caller | None) -> Caller:
    who = _signed_in(caller)
    who.require(Permission.READ_ROWS)
    return who


def _has(ws: Workspace, table: str) -> bool:
    return ws.catalog.get_table(table) is not None


def _num(value: Any) -> float | None:
    """A finite float, or None (NaN and missing alike)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


# --- forecasts ------------------------------------------------------------------------------


def forecast_overview(
    ws: Workspace, *, search: str = "", limit: int = _LIST_ROWS
) -> dict[str, Any]:
    """Counts, models chosen and the series list (filtered by ``search``) of ``forecasts``."""
    if not (_has(ws, _FORECASTS) and _has(ws, f"{_FORECASTS}_selection")):
        return {"built": False}
    selection = ws.table(f"{_FORECASTS}_selection").read().to_pandas()
    forecast = ws.table(_FORECASTS).read(columns=["unique_id", "model"]).to_pandas()
    per_series = forecast.drop_duplicates("unique_id").set_index("unique_id")["model"]
    selection = selection.assign(model=selection["unique_id"].map(per_series).astype(str))
    models = selection["model"].value_counts()
    gains = [_num(v) for v in selection.get("gain_over_seasonal_naive", [])]
    mases = [_num(v) for v in selection.get("cv_mase", [])]
    shown = selection
    if search:
        shown = selection[selection["unique_id"].astype(str).str.contains(search, regex=False)]
    rows = [
        {
            "unique_id": str(r["unique_id"]),
            "model": str(r["model"]),
            "cv_mase": _num(r.get("cv_mase")),
            "gain": _num(r.get("gain_over_seasonal_naive")),
            "reason": str(r.get("reason") or ""),
        }
        for r in shown.head(limit).to_dict(orient="records")
    ]
    horizon = int(forecast.groupby("unique_id").size().max()) if len(forecast) else 0
    version = ws.catalog.latest_version(_FORECASTS)
    return {
        "built": True,
        "series": len(selection),
        "matching": len(shown),
        "horizon": horizon,
        "median_mase": _median(mases),
        "median_gain": _median(gains),
        "version": version.delta_version if version else None,
        "rows": rows,
        "chart": {"labels": list(models.index), "rows": [int(v) for v in models.to_numpy()]},
    }


def forecast_series(ws: Workspace, series_id: str) -> dict[str, Any]:
    """One series: its recent history, its forecast with every interval, and its model."""
    from lakeforge.products.forecast._lake import series_history
    from lakeforge.products.forecast._router import series_forecast

    columns = ws.table(_FORECASTS).schema().names
    levels = sorted(int(c[3:]) for c in columns if c.startswith("lo_") and c[3:].isdigit())
    detail = series_forecast(ws, series_id, horizon=sys.maxsize, levels=levels)
    history = series_history(ws, series_id, table=_FORECASTS, points=_HISTORY_POINTS)
    chart = {
        "history": history,
        "forecast": detail["data"],
        "levels": levels,
    }
    return {**detail, "levels": levels, "history": history, "chart": chart}


@router.get("/forecast", response_class=HTMLResponse, name="page.forecast")
async def forecast_page(
    request: Request, state: StateDep, caller: OptionalUser, q: str = ""
) -> Response:
    """Forecasts: how many series, which models won, the gain over SeasonalNaive."""
    who = _reader(caller)
    view = await run_in_threadpool(forecast_overview, state.workspace, search=q.strip())
    note(request, table=_FORECASTS, rows=len(view.get("rows", [])))
    chart = view.pop("chart", {"labels": [], "rows": []})
    return _render(
        request,
        "forecast.html",
        who,
        view=view,
        search=q,
        chart_json=json.dumps(chart),
        active="/forecast",
    )


@router.get("/forecast/series/{series_id:path}", response_class=HTMLResponse, name="page.series")
async def series_page(
    request: Request, series_id: str, state: StateDep, caller: OptionalUser
) -> Response:
    """One series: history, forecast and intervals on one chart, and why its model."""
    who = _reader(caller)
    view = await run_in_threadpool(forecast_series, state.workspace, series_id)
    note(request, table=_FORECASTS, rows=view["count"])
    chart = view.pop("chart")
    return _render(
        request,
        "forecast_series.html",
        who,
        view=view,
        chart_json=json.dumps(chart),
        active="/forecast",
    )


# --- inventory ------------------------------------------------------------------------------


def inventory_overview(
    ws: Workspace, *, store_id: str = "", limit: int = _LIST_ROWS
) -> dict[str, Any]:
    """The order decisions (one store's, or all), with totals per store."""
    from lakeforge.products.inventory._router import store_plan

    if not (_has(ws, _PLAN) or _has(ws, _FORECASTS)):
        return {"built": False}
    everything = store_plan(ws, None, limit=10**9)
    stores: dict[str, dict[str, float]] = {}
    for row in everything["data"]:
        totals = stores.setdefault(str(row.get("store_id")), {"skus": 0, "orders": 0, "units": 0})
        totals["skus"] += 1
        totals["orders"] += 1 if (row.get("order_qty") or 0) > 0 else 0
        totals["units"] += float(row.get("order_qty") or 0)
    error = None
    rows = everything["data"]
    if store_id:
        rows = [r for r in rows if str(r.get("store_id")) == store_id]
        if not rows:
            error = f"no store {store_id!r} in {everything['source']}"
    rows = rows[:limit]
    levels = {r.get("service_level") for r in everything["data"]}
    return {
        "built": True,
        "source": everything["source"],
        "skus": len(everything["data"]),
        "orders": everything["orders"],
        "units": int(sum(t["units"] for t in stores.values())),
        "service_levels": sorted(float(v) for v in levels if _num(v) is not None),
        "stores": [{"store_id": k, **v} for k, v in sorted(stores.items())],
        "store_id": store_id,
        "error": error,
        "rows": rows,
        "shown_orders": sum(1 for r in rows if (r.get("order_qty") or 0) > 0),
        "chart": {
            "labels": sorted(stores),
            "rows": [int(stores[k]["units"]) for k in sorted(stores)],
        },
    }


@router.get("/inventory", response_class=HTMLResponse, name="page.inventory")
async def inventory_page(
    request: Request, state: StateDep, caller: OptionalUser, store_id: str = ""
) -> Response:
    """The inventory plan: what to order per store x product, each with its reason."""
    who = _reader(caller)
    view = await run_in_threadpool(inventory_overview, state.workspace, store_id=store_id.strip())
    note(request, table=_PLAN, rows=len(view.get("rows", [])))
    chart = view.pop("chart", {"labels": [], "rows": []})
    return _render(
        request,
        "inventory.html",
        who,
        view=view,
        chart_json=json.dumps(chart),
        active="/inventory",
    )


# --- recommendations ------------------------------------------------------------------------


def _component(component: Any) -> str:
    """``EASE(l2=250)`` from a component as ``auto`` stores it (name, params) or a plain name."""
    if isinstance(component, list | tuple) and len(component) == 2:
        name, params = component
        if isinstance(params, dict) and params:
            inner = ", ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
            )
            return f"{name}({inner})"
        return str(name)
    return str(component)


def _model_label(model: object) -> str:
    """The model's name, and for ``auto`` the blend it chose (``auto: EASE(l2=250)``)."""
    name = type(model).__name__.lower()
    chosen = getattr(model, "chosen_", None)
    if not chosen:
        return name
    weights = list(getattr(model, "chosen_weights_", None) or [])
    parts = [_component(c) for c in chosen]
    if len(parts) > 1 and len(weights) == len(parts):
        parts = [f"{w:.2g} x {p}" for p, w in zip(parts, weights, strict=True)]
    return f"{name}: {' + '.join(parts)}"


def recommend_view(
    ws: Workspace, *, user_id: str = "", item_id: str = "", k: int = 10
) -> dict[str, Any]:
    """A user's top-``k`` with explanations and/or an item's neighbours, from the saved model."""
    from lakeforge.products.recommend._router import serving_model

    try:
        model = serving_model(ws)
    except LakeforgeError as exc:
        return {"built": False, "message": str(exc)}
    view: dict[str, Any] = {
        "built": True,
        "model": _model_label(model),
        "user_count": len(getattr(model, "user_index_", {}) or {}),
        "item_count": len(getattr(model, "item_index_", {}) or {}),
        "user_id": user_id,
        "item_id": item_id,
        "k": k,
        "recommendations": None,
        "similar": None,
        "examples": list(getattr(model, "user_index_", {}) or {})[:5],
        "error": None,
    }
    if user_id:
        columns = model.recommend_columns([user_id], k, True, True, None)
        columns.pop("user_id", None)
        names = list(columns)
        view["recommendations"] = [
            dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]
    if item_id:
        try:
            frame = model.similar(item_id, k=k)
        except NotFoundError as exc:
            view["error"] = str(exc)
        else:
            view["similar"] = frame.drop("item_id").to_dicts()
    return view


@router.get("/recommend", response_class=HTMLResponse, name="page.recommend")
async def recommend_page(
    request: Request,
    state: StateDep,
    caller: OptionalUser,
    user_id: str = "",
    item_id: str = "",
    k: int = 10,
) -> Response:
    """Recommendations for a user (each with why) and items similar to an item."""
    who = _reader(caller)
    k = min(max(k, 1), 100)
    view = await run_in_threadpool(
        recommend_view, state.workspace, user_id=user_id.strip(), item_id=item_id.strip(), k=k
    )
    note(request, rows=len(view.get("recommendations") or []) + len(view.get("similar") or []))
    return _render(request, "recommend.html", who, view=view, active="/recommend")
