"""Tables: list, schema and contract, history, quality, rows, exports, quarantine, lineage."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from lakeforge.errors import ContractError, TableNotFoundError
from lakeforge.serve import _service
from lakeforge.serve._audit import note
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._models import (
    ErrorResponse,
    LineagePublic,
    ListResponse,
    QualityPublic,
    RowsPage,
    RowsQuery,
    TableDetail,
    TablePublic,
    VersionPublic,
)
from lakeforge.serve._query_params import openapi_parameters, parse_query
from lakeforge.serve._state import ServiceState
from lakeforge.serve.deps import SECURITY, StateDep, authorize, require

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "bad input (filter, cursor, column, SQL)"),
        (401, "no token, or an unknown, revoked or expired one"),
        (403, "the role may not do this"),
        (404, "no such table or version"),
        (422, "the request does not validate"),
    )
}
router = APIRouter(prefix="/tables", tags=["tables"], responses=_ERRORS)
Reader = Annotated[Caller, require(Permission.READ_METADATA)]
RowReader = Annotated[Caller, require(Permission.READ_ROWS)]


def _next_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    return f"{request.url.path}?{urlencode(params)}"


@router.get(
    "/{name}/rows",
    response_model=RowsPage,
    name="tables.rows",
    openapi_extra={
        "parameters": openapi_parameters(RowsQuery, path=("name",)),
        "security": SECURITY,
    },
)
async def rows(request: Request) -> Response:
    """A page of rows in a stable order (primary key, else file order); PII masked per role."""
    # The hottest route, so it is the first one matched, it checks the caller and reads its
    # parameters with plain calls rather than per-parameter dependencies (the same checks and
    # OpenAPI; see deps.authorize and _query_params), and its rows come already encoded from
    # the snapshot (_snapshots.EncodedRows).
    caller = await authorize(request, Permission.READ_ROWS)
    name: str = request.path_params["name"]
    query = parse_query(request, RowsQuery)
    state: ServiceState = request.app.state.lakeforge
    columns = query.columns
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    result = await _service.read_page(
        state,
        caller,
        name,
        limit=query.limit,
        cursor=query.cursor,
        columns=wanted,
        filters=query.filter or (),
        as_of=query.as_of,
    )
    note(request, table=name, rows=result.rows.num_rows, version=result.version)
    rest = {
        "count": result.total,
        "next": _next_url(request, result.next_cursor),
        "version": result.version,
        "columns": result.columns,
        "masked": list(result.masked),
    }
    # {"data": <rows, already JSON>, ...rest}: the RowsPage shape, without re-encoding rows.
    body = b'{"data":' + result.data_json() + b"," + to_json(rest)[1:]
    return Response(body, media_type="application/json")


@router.get("", response_model=ListResponse[TablePublic], name="tables.list")
async def list_tables(request: Request, state: StateDep, caller: Reader) -> dict[str, Any]:
    """Every table: rows, version, last ingest, quality status, rows quarantined."""
    infos = await run_in_threadpool(state.workspace.tables)
    note(request, rows=len(infos))
    return {"data": [i.to_dict() for i in infos], "count": len(infos), "next": None}


@router.get("/{name}", response_model=TableDetail, name="tables.detail")
async def table_detail(request: Request, name: str, state: StateDep, caller: Reader) -> TableDetail:
    """A table's schema (with PII tags and what is masked for you) and its contract."""
    note(request, table=name)
    return await run_in_threadpool(_service.table_detail, state, name, caller)


@router.get("/{name}/history", response_model=ListResponse[VersionPublic], name="tables.history")
async def history(request: Request, name: str, state: StateDep, caller: Reader) -> dict[str, Any]:
    """Every version: source, rows read / written / quarantined, checks, who, when."""
    versions = await run_in_threadpool(lambda: state.workspace.table(name).history())
    note(request, table=name, rows=len(versions))
    return {"data": versions, "count": len(versions), "next": None}


@router.get("/{name}/quality", response_model=QualityPublic, name="tables.quality")
async def quality(request: Request, name: str, state: StateDep, caller: Reader) -> QualityPublic:
    """Check results of the latest version, and which checks failed in each version."""
    note(request, table=name)
    return await run_in_threadpool(_service.quality, state, name)


@router.get(
    "/{name}/export",
    name="tables.export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def export(
    request: Request,
    name: str,
    state: StateDep,
    caller: RowReader,
    format: Annotated[Literal["csv", "ndjson", "parquet"], Query()] = "csv",
    as_of: Annotated[int | None, Query(ge=0, le=2**31)] = None,
) -> Response:
    """The whole table as CSV, NDJSON or Parquet, masked like every other read."""

    def run() -> pa.Table:
        if state.workspace.catalog.get_table(name) is None:
            state.workspace.table(name)
        engine = state.query_engine(caller)
        quoted = '"' + name.replace('"', '""') + '"'
        return engine.run(
            f"SELECT * FROM {quoted}",
            as_of={name: as_of} if as_of is not None else None,
            timeout_s=state.settings.serve.query_timeout_s * 6,
        )

    table = await run_in_threadpool(run)
    note(request, table=name, rows=table.num_rows, format=format)
    return _encode(table, format, f"{name}.{format}")


def _encode(table: pa.Table, fmt: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return Response(
            buffer.getvalue(), media_type="application/vnd.apache.parquet", headers=headers
        )
    if fmt == "ndjson":
        lines = b"".join(to_json(row) + b"\n" for row in table.to_pylist())
        return Response(lines, media_type="application/x-ndjson", headers=headers)
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return Response(buffer.getvalue(), media_type="text/csv", headers=headers)


@router.get(
    "/{name}/quarantine", response_model=ListResponse[dict[str, Any]], name="tables.quarantine"
)
async def quarantine(
    request: Request,
    name: str,
    state: StateDep,
    caller: Annotated[Caller, require(Permission.READ_QUARANTINE)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    """Rejected rows with their reasons and source locations (PII masked per role)."""
    rows, total = await run_in_threadpool(
        lambda: _service.quarantine_rows(state, name, caller, limit=limit, offset=offset)
    )
    note(request, table=name, rows=rows.num_rows)
    end = offset + rows.num_rows
    next_url = None
    if end < total:
        next_url = f"{request.url.path}?{urlencode({'limit': limit, 'offset': end})}"
    body = {"data": rows.to_pylist(), "count": total, "next": next_url}
    return Response(to_json(body, inf_nan_mode="null"), media_type="application/json")


@router.get("/{name}/lineage", response_model=LineagePublic, name="tables.lineage")
async def lineage(
    request: Request,
    name: str,
    state: StateDep,
    caller: Reader,
    direction: Annotated[Literal["upstream", "downstream", "both"], Query()] = "both",
) -> LineagePublic:
    """Where the table's data came from and where it goes."""
    note(request, table=name)
    return await run_in_threadpool(_service.full_lineage, state, name, direction)


@router.post(
    "/{name}/ingest",
    name="tables.ingest",
    response_model=dict[str, Any],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest(
    request: Request,
    name: str,
    state: StateDep,
    caller: Annotated[Caller, require(Permission.INGEST)],
    mode: Annotated[Literal["append", "overwrite", "merge"], Query()] = "append",
    max_reject_rate: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> dict[str, Any]:
    """Validate the body (CSV or NDJSON) against the table's contract and write it.

    Bad rows go to the table's quarantine, as with ``lakeforge ingest``.
    """
    body = await request.body()
    kind = request.headers.get("content-type", "text/csv").split(";")[0].strip()
    suffix = ".ndjson" if "json" in kind else ".csv"
    if not body:
        raise ContractError("the request body is empty; send the rows as CSV or NDJSON")

    def run() -> dict[str, Any]:
        if state.workspace.catalog.get_table(name) is None or state.contract(name) is None:
            raise TableNotFoundError(
                f"no table `{name}` with a contract; create it with `lakeforge ingest` first",
                table=name,
            )
        with tempfile.TemporaryDirectory(dir=state.workspace.state_dir) as tmp:
            path = Path(tmp) / f"upload-{caller.name}{suffix}"
            path.write_bytes(body)
            try:
                result = state.workspace.ingest(
                    path, table=name, mode=mode, max_reject_rate=max_reject_rate, user=caller.name
                )
            except Exception:
                state.metrics.ingests.labels(name, "failed").inc()
                raise
        state.snapshots.invalidate(name)
        state.metrics.ingests.labels(name, result.status).inc()
        state.metrics.ingest_rows.labels(name, "written").inc(result.rows_written)
        state.metrics.ingest_rows.labels(name, "quarantined").inc(result.rows_quarantined)
        return result.to_dict()

    result = await run_in_threadpool(run)
    note(request, table=name, rows=result.get("rows_written"), mode=mode)
    return result
