"""REST routes of the recommend product: top-K for a user, similar items, new events.

Mounted under ``/api/v1`` by adding itself to :data:`lakeforge.serve._products.PRODUCTS` on
import. The saved default model (``lakeforge recommend fit``) is loaded once per workspace and
answered in-process; ``POST /events`` updates that user's next answer at once (in memory).

    GET  /api/v1/recommend/{user_id}?k=10&explain=true&exclude_purchased=true
    GET  /api/v1/similar/{item_id}?k=10
    POST /api/v1/events   {"user_id": ..., "item_id": ..., "ts": ...}
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from lakeforge.products.recommend._base import Recommender
from lakeforge.products.recommend._workspace import load_saved, models_dir
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._models import ErrorResponse
from lakeforge.serve._products import PRODUCTS
from lakeforge.serve.deps import WorkspaceDep, require
from lakeforge.workspace import Workspace

__all__ = [
    "EventCreate",
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
_lock = threading.Lock()


def serving_model(ws: Workspace) -> Recommender:
    """The workspace's default recommender, loaded once (reloaded when a refit replaces it)."""
    marker = models_dir(ws) / "DEFAULT"
    stamp = marker.stat().st_mtime if marker.is_file() else -1.0
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
    cached = _models.get(ws.root)
    if cached is not None:
        marker = models_dir(ws) / "DEFAULT"
        if marker.is_file() and marker.stat().st_mtime == cached[0]:
            return cached[1]
    return await run_in_threadpool(serving_model, ws)


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


@router.get(
    "/recommend/{user_id}",
    name="recommend.user",
    response_model=RecommendationsPublic,
    response_class=Response,
    responses={200: {"model": RecommendationsPublic, "content": {"application/json": {}}}},
)
async def get_recommendations(
    user_id: str,
    ws: WorkspaceDep,
    caller: RowReader,
    k: Annotated[int, Query(ge=1, le=500)] = 10,
    explain: bool = False,
    exclude_purchased: bool = True,
) -> Response:
    """Top-``k`` items for a user, with why when ``explain=true``."""
    model = await _model(ws)
    columns = model.recommend_columns([user_id], k, exclude_purchased, explain)
    columns.pop("user_id")
    names = list(columns)
    data = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    body = {"user_id": user_id, "data": data, "count": len(data)}
    return Response(json.dumps(body).encode(), media_type="application/json")


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
