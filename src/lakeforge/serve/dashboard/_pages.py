"""Dashboard pages: sign-in, tables overview, table detail, lineage (products: _product_pages).

Pages read through the same service functions, permissions and masking as the API; the
sign-in page stores the token in an HttpOnly, SameSite=Strict cookie that the API also
accepts on GET requests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from lakeforge._version import __version__
from lakeforge.errors import AuthenticationError, LakeforgeError
from lakeforge.serve import _service
from lakeforge.serve._audit import note
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve.dashboard._layout import layout_lineage
from lakeforge.serve.deps import COOKIE_NAME, OptionalUser, StateDep

__all__ = ["install_dashboard", "router"]

_HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
_SAMPLE_ROWS = 20


def install_dashboard(app: FastAPI) -> None:
    """Mount the static files and the pages on ``app``."""
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.filters["ago"] = _ago
    templates.env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    templates.env.globals["version"] = __version__
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(router)
    from lakeforge.serve.dashboard._product_pages import install_product_pages

    install_product_pages(app)


def _ago(value: Any) -> str:
    if not value:
        return "never"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    seconds = (dt.datetime.now(dt.UTC) - value).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def _render(request: Request, name: str, caller: Caller | None, **context: Any) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    products = request.app.state.lakeforge.products
    return templates.TemplateResponse(
        request, name, {"caller": caller, "products": products, **context}
    )


def _signed_in(caller: Caller | None) -> Caller:
    if caller is None:
        raise AuthenticationError("sign in to see the dashboard")
    return caller


@router.get("/login", response_class=HTMLResponse, name="page.login")
async def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return _render(request, "login.html", None, next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", name="page.login_submit")
async def login(request: Request, state: StateDep) -> Response:
    """Check the token and keep it in an HttpOnly cookie."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = _safe_next((form.get("next") or ["/"])[0])
    try:
        if not token:
            raise AuthenticationError("paste your API token")
        caller = await run_in_threadpool(state.authenticate, token)
    except LakeforgeError as exc:
        response = _render(request, "login.html", None, next=target, error=exc.message)
        response.status_code = 401
        return response
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="strict",
        secure=state.settings.serve.cookie_secure,
        max_age=7 * 86400,
    )
    entry = getattr(request.state, "audit", None)
    if entry is not None:
        entry.user = caller.name
    return response


@router.get("/logout", name="page.logout")
async def logout() -> Response:
    """Forget the cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response


@router.get("/", response_class=HTMLResponse, name="page.tables")
async def tables_page(request: Request, state: StateDep, caller: OptionalUser) -> Response:
    """Every table: rows, freshness, quality, quarantine."""
    who = _signed_in(caller)
    who.require(Permission.READ_METADATA)
    infos = [i.to_dict() for i in await run_in_threadpool(state.workspace.tables)]
    note(request, rows=len(infos))
    totals = {
        "tables": len(infos),
        "rows": sum(i["rows"] for i in infos),
        "quarantined": sum(i["rows_quarantined"] for i in infos),
        "failing": sum(1 for i in infos if i["quality_status"] == "failed"),
    }
    chart = {"labels": [i["name"] for i in infos], "rows": [i["rows"] for i in infos]}
    return _render(
        request,
        "tables.html",
        who,
        tables=infos,
        totals=totals,
        chart_json=json.dumps(chart),
        active="tables",
    )


@router.get("/tables/{name}", response_class=HTMLResponse, name="page.table")
async def table_page(
    request: Request, name: str, state: StateDep, caller: OptionalUser
) -> Response:
    """Schema, history chart, failed checks, sample rows and quarantine of one table."""
    who = _signed_in(caller)
    who.require(Permission.READ_METADATA)

    def load() -> dict[str, Any]:
        detail = _service.table_detail(state, name, who)
        history = state.workspace.table(name).history()
        quality = _service.quality(state, name)
        quarantine = None
        if who.can(Permission.READ_QUARANTINE):
            rows, total = _service.quarantine_rows(state, name, who, limit=10)
            quarantine = {"rows": rows.to_pylist(), "total": total}
        return {"detail": detail, "history": history, "quality": quality, "quarantine": quarantine}

    loaded = await run_in_threadpool(load)
    sample = None
    if who.can(Permission.READ_ROWS) and loaded["detail"].version is not None:
        page = await _service.read_page(state, who, name, limit=_SAMPLE_ROWS)
        sample = {
            "rows": page.rows.to_pylist(),
            "columns": list(page.columns),
            "masked": set(page.masked),
            "total": page.total,
        }
    history = loaded["history"]
    chart = {
        "labels": [f"v{h['version']}" for h in history],
        "written": [h["rows_written"] for h in history],
        "quarantined": [h["rows_quarantined"] for h in history],
    }
    failed = [
        {"version": h["version"], "created_at": h["created_at"], **c}
        for h in reversed(history)
        for c in h["checks"]
        if c.get("failed")
    ]
    note(request, table=name, rows=len(sample["rows"]) if sample else 0)
    return _render(
        request,
        "table.html",
        who,
        detail=loaded["detail"],
        quality=loaded["quality"],
        history=list(reversed(history)),
        failed=failed[:50],
        sample=sample,
        quarantine=loaded["quarantine"],
        chart_json=json.dumps(chart),
        active="tables",
    )


@router.get("/lineage", response_class=HTMLResponse, name="page.lineage")
async def lineage_page(request: Request, state: StateDep, caller: OptionalUser) -> Response:
    """The lineage graph of the whole workspace."""
    who = _signed_in(caller)
    who.require(Permission.READ_METADATA)
    graph = await run_in_threadpool(_service.full_lineage, state)
    note(request, rows=len(graph.edges))
    layout = layout_lineage(graph.nodes, [(e.source, e.target, e.kind) for e in graph.edges])
    return _render(request, "lineage.html", who, layout=layout, active="lineage")
