"""Dependency aliases shared by every router (``WorkspaceDep``, ``CurrentUser``, ...).

Example:
    >>> @router.get("/things")  # doctest: +SKIP
    ... def things(ws: WorkspaceDep, caller: Annotated[Caller, require(Permission.READ_ROWS)]):
    ...     ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from lakeforge.errors import AuthenticationError
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._state import ServiceState
from lakeforge.workspace import Workspace

__all__ = [
    "COOKIE_NAME",
    "CurrentUser",
    "OptionalUser",
    "StateDep",
    "WorkspaceDep",
    "get_state",
    "require",
]

COOKIE_NAME = "lakeforge_token"
_SAFE_METHODS = frozenset({"GET", "HEAD"})

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer lf_...`")
_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="set by the dashboard's sign-in (GET only)"
)


async def get_state(request: Request) -> ServiceState:
    """The service state of the running app (async: a plain ``def`` would cost a thread hop)."""
    state: ServiceState = request.app.state.lakeforge
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_workspace(state: StateDep) -> Workspace:
    """The workspace the service reads."""
    return state.workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def _token(
    request: Request, credentials: HTTPAuthorizationCredentials | None, cookie: str | None
) -> str | None:
    if credentials is not None and credentials.credentials:
        return credentials.credentials
    if cookie and request.method in _SAFE_METHODS:
        return cookie
    return None


async def optional_user(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller | None:
    """The caller, or None without a token; a bad token still fails."""
    token = _token(request, credentials, cookie)
    if token is None:
        return None
    caller = state.cached_caller(token)
    if caller is None:
        caller = await run_in_threadpool(state.authenticate, token)
    entry = getattr(request.state, "audit", None)
    if entry is not None:
        entry.user = caller.name
    request.state.caller = caller
    return caller


OptionalUser = Annotated[Caller | None, Depends(optional_user)]


async def current_user(caller: OptionalUser) -> Caller:
    """The authenticated caller.

    Raises:
        AuthenticationError: no token (header, or the sign-in cookie on GET).
    """
    if caller is None:
        raise AuthenticationError(
            "sign in: send `Authorization: Bearer <token>` (create one with "
            "`lakeforge users add NAME --role analyst`)"
        )
    return caller


CurrentUser = Annotated[Caller, Depends(current_user)]


def require(permission: Permission) -> Any:
    """A dependency that returns the caller if their role grants ``permission``.

    Use as ``caller: Annotated[Caller, require(Permission.QUERY_SQL)]``.
    """

    async def check(caller: CurrentUser) -> Caller:
        caller.require(permission)
        return caller

    return Depends(check)
