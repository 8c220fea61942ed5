"""REST routes of the recommend product: top-K for a user, similar items, new events.

Mounted under ``/api/v1`` by adding itself to :data:`lakeforge.serve._products.PRODUCTS` on
import. The saved default model (``lakeforge recommend fit``) is loaded once per workspace and
answered in-process; ``POST /events`` updates that user's next answer at once (in memory).

    GET  /api/v1/recommend/{user_id}?k=10&explain=true&exclude_purchased=true
         [&max_per_category=2&not_interested=garden&not_interested=toys]
    GET  /api/v1/similar/{item_id}?k=10
    POST /api/v1/events   {"user_id": ..., "item_id": ..., "ts": ...}
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lakeforge.products.recommend._base import BusinessRules, Recommender
from lakeforge.products.recommend._workspace import load_saved, models_dir
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._models import ErrorResponse
from lakeforge.serve._products import PRODUCTS
from lakeforge.serve._query_params import openapi_parameters, parse_query
from lakeforge.serve._state import ServiceState
from lakeforge.serve.deps import SECURITY, WorkspaceDep, authorize, require, served_directly
from lakeforge.workspace import Workspace

__all__ = [
    "EventCreate",
    "RecommendQuery",
    "RecommendationPublic",
    "RecommendationsPublic",
    "router",
    "serving_model",
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (401, "no token, or an unknown, revoked or expired one"),
        (403, "the role may not do this"),
        (404, "no recommender fitted yet, or an unknown item"),
        (422, "the request does not validate"),
    )
}
router = APIRouter(tags=["recommend"], responses=_ERRORS)
RowReader = Annotated[Caller, require(Permission.READ_ROWS)]
Writer = Annotated[Caller, require(Permission.INGEST)]

_models: dict[Path, tuple[float, Recommender]] = {}
_checked: dict[Path, float] = {}  # when each workspace's DEFAULT marker was last looked at
_lock = threading.Lock()
_RECHECK_S = 1.0  # a refit is picked up within this long
_QUERIES_KEPT = 256  # validated query strings kept (clients repeat a few parameter sets)


def _json_encoder() -> Callable[[Any], bytes]:
    """The response encoder: orjson when installed (a tenth of json's time), else json."""
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - orjson comes with lakeforge[recommend]
        return lambda body: json.dumps(body, separators=(",", ":")).encode()
    return orjson.dumps


_dumps = _json_encoder()


def _stamp(ws: Workspace) -> float:
    try:
        return (models_dir(ws) / "DEFAULT").stat().st_mtime
    except OSError:
        return -1.0


def serving_model(ws: Workspace) -> Recommender:
    """The workspace's default recommender, loaded once (reloaded when a refit replaces it)."""
    stamp = _stamp(ws)
    cached = _models.get(ws.root)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        cached = _models.get(ws.root)
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_saved(ws))
            _models[ws.root] = cached
    return cached[1]


async def _model(ws: Workspace) -> Recommender:
    """The serving model without a thread hop while it is loaded and its marker unchanged.

    The marker is looked at (one ``stat``) at most every ``_RECHECK_S`` per workspace.
    """
    cached = _models.get(ws.root)
    if cached is not None:
        now = time.monotonic()
        if now - _checked.get(ws.root, 0.0) < _RECHECK_S:
            return cached[1]
        if _stamp(ws) == cached[0]:
            _checked[ws.root] = now
            return cached[1]
    model = await run_in_threadpool(serving_model, ws)
    _checked[ws.root] = time.monotonic()
    return model


class RecommendationPublic(BaseModel):
    """One recommended item (``reason``, ``because`` and ``explanation`` with explain=true)."""

    item_id: str
    rank: int
    score: float
    reason: str | None = None
    because: list[str] | None = None
    explanation: str | None = None


class RecommendationsPublic(BaseModel):
    """A user's top-K (pre-serialised on the hot path; this documents its shape)."""

    user_id: str
    data: list[RecommendationPublic]
    count: int


class EventCreate(BaseModel):
    """A new interaction."""

    user_id: str
    item_id: str
    ts: str | int | float | None = None
    weight: float = 1.0


class RecommendQuery(BaseModel):
    """The query parameters of ``GET /recommend/{user_id}``."""

    k: int = Field(default=10, ge=1, le=500, description="how many items")
    explain: bool = Field(default=False, description="say why each item is recommended")
    exclude_purchased: bool = Field(
        default=True, description="leave out items the user already has"
    )
    max_per_category: int | None = Field(
        default=None, ge=1, le=500, description="at most this many items of one category"
    )
    not_interested: list[str] | None = Field(
        default=None, max_length=50, description="categories the user is not interested in"
    )


_queries: dict[bytes, RecommendQuery] = {}


def _query(request: Request) -> RecommendQuery:
    """The request's parameters, validated once per distinct query string (never mutated).

    Raises:
        RequestValidationError: they do not validate (a 422, every time).
    """
    raw: bytes = request.scope.get("query_string", b"")
    query = _queries.get(raw)
    if query is None:
        query = parse_query(request, RecommendQuery)
        if len(_queries) >= _QUERIES_KEPT:
            _queries.clear()
        _queries[raw] = query
    return query


@router.get(
    "/recommend/{user_id}",
    name="recommend.user",
    response_model=RecommendationsPublic,
    response_class=Response,
    responses={200: {"model": RecommendationsPublic, "content": {"application/json": {}}}},
    openapi_extra={
        "parameters": openapi_parameters(RecommendQuery, path=("user_id",)),
        "security": SECURITY,
    },
)
@served_directly
async def get_recommendations(request: Request) -> Response:
    """Top-``k`` items for a user, with why when ``explain=true``."""
    # A hot route: the caller and the parameters are read with plain calls rather than
    # per-parameter dependencies (same checks, errors and OpenAPI; see deps.authorize).
    await authorize(request, Permission.READ_ROWS)
    user_id: str = request.path_params["user_id"]
    query = _query(request)
    state: ServiceState = request.app.state.lakeforge
    model = await _model(state.workspace)
    rules = None
    if query.max_per_category is not None or query.not_interested:
        rules = BusinessRules(
            max_per_category=query.max_per_category,
            excluded_categories={user_id: set(query.not_interested or ())},
        )
    columns = model.recommend_columns(
        [user_id], query.k, query.exclude_purchased, query.explain, rules
    )
    columns.pop("user_id")
    names = list(columns)
    data = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    body = {"user_id": user_id, "data": data, "count": len(data)}
    return Response(_dumps(body), media_type="application/json")


@router.get("/similar/{item_id}", name="recommend.similar")
async def get_similar(
    item_id: str,
    ws: WorkspaceDep,
    caller: RowReader,
    k: Annotated[int, Query(ge=1, le=500)] = 10,
) -> dict[str, Any]:
    """Items most similar to an item."""
    model = await _model(ws)
    frame = model.similar(item_id, k=k)
    return {"item_id": item_id, "data": frame.drop("item_id").to_dicts(), "count": frame.height}


@router.post("/events", name="recommend.events", status_code=202)
async def post_event(event: EventCreate, ws: WorkspaceDep, caller: Writer) -> dict[str, Any]:
    """Record an interaction: the user's next recommendations use it (held in memory)."""
    model = await _model(ws)
    known = event.item_id in model.item_index_
    model.add_event(event.user_id, event.item_id, event.weight)
    return {"accepted": known, "user_id": event.user_id, "item_id": event.item_id}


PRODUCTS.append((router, None))
