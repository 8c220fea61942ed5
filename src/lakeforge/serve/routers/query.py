"""Read-only SQL over the lake, inside the sandbox, with a row and a time limit."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from lakeforge.serve._audit import note
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._models import ErrorResponse, QueryRequest, QueryResult
from lakeforge.serve.deps import StateDep, require
from lakeforge.serve.routers.tables import _encode

__all__ = ["router"]

router = APIRouter(
    tags=["query"],
    responses={
        400: {"model": ErrorResponse, "description": "the SQL fails or leaves the sandbox"},
        401: {"model": ErrorResponse, "description": "no valid token"},
        403: {"model": ErrorResponse, "description": "the role may not run SQL"},
        422: {"model": ErrorResponse, "description": "the request does not validate"},
    },
)


@router.post(
    "/query",
    response_model=QueryResult,
    name="query",
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def run_query(
    request: Request,
    body: QueryRequest,
    state: StateDep,
    caller: Annotated[Caller, require(Permission.QUERY_SQL)],
    format: Annotated[Literal["json", "csv", "ndjson", "parquet"], Query()] = "json",
) -> Response:
    """Run one read-only SELECT (DuckDB) over the lake's tables and quarantines.

    No writes, ATTACH, INSTALL, COPY, PRAGMA or SET; no file, network or system-catalog
    access; only lake tables, ``quarantine.<table>``, CTEs, ``range``/``generate_series``
    and ``unnest``. PII columns are masked for roles without PII access, whatever the query
    does with them. At most ``LAKEFORGE_SERVE__QUERY_MAX_ROWS`` rows and
    ``LAKEFORGE_SERVE__QUERY_TIMEOUT_S`` seconds.
    """
    note(request, sql=body.sql[:2000])
    start = time.perf_counter()
    table, truncated = await run_in_threadpool(
        lambda: state.query(caller, body.sql, as_of=body.as_of, limit=body.limit)
    )
    elapsed = (time.perf_counter() - start) * 1000
    note(request, rows=table.num_rows, truncated=truncated or None)
    if format != "json":
        return _encode(table, format, f"query.{format}")
    result: dict[str, Any] = {
        "data": table.to_pylist(),
        "count": table.num_rows,
        "next": None,
        "columns": table.column_names,
        "truncated": truncated,
        "masked": not caller.can(Permission.SEE_PII),
        "elapsed_ms": round(elapsed, 2),
    }
    return Response(to_json(result, inf_nan_mode="null"), media_type="application/json")
