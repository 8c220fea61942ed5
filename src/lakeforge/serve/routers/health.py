"""Liveness, readiness and Prometheus metrics (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lakeforge._version import __version__
from lakeforge.serve._metrics import CONTENT_TYPE_LATEST
from lakeforge.serve._models import ErrorResponse, Health, Ready
from lakeforge.serve.deps import StateDep

__all__ = ["metrics_router", "router"]

router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, name="health")
async def health() -> Health:
    """The process is up."""
    return Health(status="ok", version=__version__)


@router.get(
    "/ready",
    response_model=Ready,
    name="ready",
    responses={503: {"model": ErrorResponse, "description": "the catalog is unreachable"}},
)
async def ready(state: StateDep) -> Ready:
    """The catalog answers: the service can take traffic."""
    tables = await run_in_threadpool(state.workspace.catalog.list_tables)
    return Ready(status="ready", tables=len(tables))


@metrics_router.get(
    "/metrics",
    name="metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(state: StateDep) -> Response:
    """Request counts, latency histograms and ingest counts, for Prometheus."""
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
