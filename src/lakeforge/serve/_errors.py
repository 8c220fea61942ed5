"""One place that turns errors into HTTP responses.

Routes raise :class:`~lakeforge.errors.LakeforgeError` subclasses, never ``HTTPException``;
this module maps them to status codes. Every error body is
``{"error": {"code": ..., "message": ..., ...context}}``. Dashboard pages get an HTML page
instead, and a sign-in redirect on 401.

=========================================  ======
error                                      status
=========================================  ======
AuthenticationError                        401
PermissionDeniedError                      403
NotFoundError, TableNotFoundError          404
QueryError, ForbiddenQueryError            400 (the sandbox refusing SQL is bad input)
ConfigError, other LakeforgeError          400
ContractError, SourceError, RejectedData   422
IngestError, NotFittedError                409
CatalogError, WorkspaceError               503
request validation (FastAPI)               422, code ``invalid_request``
anything else (a bug)                      500, logged with its traceback
=========================================  ======
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic_core import to_jsonable_python
from starlette.exceptions import HTTPException as StarletteHTTPException

from lakeforge.errors import (
    AuthenticationError,
    CatalogError,
    ContractError,
    IngestError,
    LakeforgeError,
    NotFittedError,
    NotFoundError,
    PermissionDeniedError,
    RejectedDataError,
    SourceError,
    WorkspaceError,
)

__all__ = ["install_error_handlers", "status_for"]

log = logging.getLogger("lakeforge.serve")

_STATUS: list[tuple[type[LakeforgeError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (RejectedDataError, 422),
    (ContractError, 422),
    (SourceError, 422),
    (IngestError, 409),
    (NotFittedError, 409),
    (CatalogError, 503),
    (WorkspaceError, 503),
]


def status_for(exc: LakeforgeError) -> int:
    """The HTTP status for a Lakeforge error (400 unless listed above)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _html(request: Request, status: int, title: str, message: str) -> Response:
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status} {title}</h1>", status_code=status)
    response: Response = templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "caller": None},
        status_code=status,
    )
    return response


def _json(status: int, error: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers=headers)


async def _lakeforge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LakeforgeError)
    status = status_for(exc)
    if status >= 500:
        log.warning("service unavailable: %s", exc)
    if _wants_html(request):
        if status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return _html(request, status, exc.code.replace("_", " "), exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json(status, exc.to_dict(), headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = to_jsonable_python(exc.errors(), fallback=str)
    problems = [
        f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg', '')}" for item in detail
    ]
    message = "the request is not valid: " + "; ".join(problems)
    if _wants_html(request):
        return _html(request, 422, "invalid request", message)
    return _json(422, {"code": "invalid_request", "message": message, "detail": detail})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
    if _wants_html(request):
        return _html(request, exc.status_code, code.replace("_", " "), message)
    return _json(exc.status_code, {"code": code, "message": message}, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    message = "an internal error occurred; it has been logged"
    if _wants_html(request):
        return _html(request, 500, "internal error", message)
    return _json(500, {"code": "internal_error", "message": message})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(LakeforgeError, _lakeforge_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
