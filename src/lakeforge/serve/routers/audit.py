"""The audit log (admins): who read or changed what, when, and how it went."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from lakeforge.serve._audit import note
from lakeforge.serve._auth import Caller, Permission, parse_duration
from lakeforge.serve._models import AuditPublic, ErrorResponse, ListResponse
from lakeforge.serve.deps import StateDep, require

__all__ = ["router"]

router = APIRouter(
    tags=["audit"],
    responses={
        code: {"model": ErrorResponse, "description": text}
        for code, text in ((400, "bad `since`"), (401, "no valid token"), (403, "admins only"))
    },
)


@router.get("/audit", response_model=ListResponse[AuditPublic], name="audit.list")
async def audit_log(
    request: Request,
    state: StateDep,
    caller: Annotated[Caller, require(Permission.READ_AUDIT)],
    user: Annotated[str | None, Query(max_length=255)] = None,
    table: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[
        str | None, Query(max_length=32, description="a duration such as 1h or 7d")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Audit entries, newest first; entries are never changed or deleted."""
    start = dt.datetime.now(dt.UTC) - parse_duration(since) if since else None

    def read() -> list[dict[str, Any]]:
        state.audit.flush()
        entries = state.workspace.catalog.list_audit(
            user=user, since=start, table=table, limit=limit
        )
        return [e.to_dict() for e in entries]

    entries = await run_in_threadpool(read)
    note(request, rows=len(entries))
    return {"data": entries, "count": len(entries), "next": None}
