"""Dependency aliases shared by every router (``WorkspaceDep``, ``CurrentUser``, ...).

Example:
    >>> @router.get("/things")  # doctest: +SKIP
    ... def things(ws: WorkspaceDep, caller: Annotated[Caller, require(Permission.READ_ROWS)]):
    ...     ...
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from lakeforge.errors import AuthenticationError
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._state import ServiceState
from lakeforge.workspace import Workspace

__all__ = [
    "COOKIE_NAME",
    "SECURITY",
    "CurrentUser",
    "OptionalUser",
    "StateDep",
    "WorkspaceDep",
    "authorize",
    "get_state",
    "require",
    "served_directly",
]

COOKIE_NAME = "lakeforge_token"
DIRECT_MARK: Final = "__lakeforge_direct__"
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Awaitable[Any]])
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


async def _identify(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Caller | None:
    return await _identify_token(request, _token(request, credentials, cookie))


async def _identify_token(request: Request, token: str | None) -> Caller | None:
    if token is None:
        return None
    state: ServiceState = request.app.state.lakeforge
    caller = await state.caller_for(token)
    entry = request.scope.get("state", {}).get("audit")
    if entry is not None:
        entry.user = caller.name
    request.state.caller = caller
    return caller


def _request_token(request: Request) -> str | None:
    """What ``_token(request, await _bearer(request), await _cookie(request))`` gives.

    The same rules as the two security schemes (``Authorization: Bearer <token>``, scheme
    in any case; else the sign-in cookie on GET and HEAD), reading the cookies only when
    there is no bearer token.
    """
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme and credentials and scheme.lower() == "bearer":
            return credentials
    if request.method in _SAFE_METHODS:
        return request.cookies.get(COOKIE_NAME) or None
    return None


def _signed_in(caller: Caller | None) -> Caller:
    if caller is None:
        raise AuthenticationError(
            "sign in: send `Authorization: Bearer <token>` (create one with "
            "`lakeforge users add NAME --role analyst`)"
        )
    return caller


async def optional_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller | None:
    """The caller, or None without a token; a bad token still fails."""
    return await _identify(request, credentials, cookie)


OptionalUser = Annotated[Caller | None, Depends(optional_user)]


async def current_user(caller: OptionalUser) -> Caller:
    """The authenticated caller.

    Raises:
        AuthenticationError: no token (header, or the sign-in cookie on GET).
    """
    return _signed_in(caller)


CurrentUser = Annotated[Caller, Depends(current_user)]


def require(permission: Permission) -> Any:
    """A dependency that returns the caller if their role grants ``permission``.

    Use as ``caller: Annotated[Caller, require(Permission.QUERY_SQL)]``. It reads the token
    itself rather than through :data:`CurrentUser`: each level of FastAPI dependencies costs
    several microseconds per request, which the hot read routes feel.
    """

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        cookie: Annotated[str | None, Depends(_cookie)],
    ) -> Caller:
        caller = _signed_in(await _identify(request, credentials, cookie))
        caller.require(permission)
        return caller

    return Depends(check)


SECURITY: Final[list[dict[str, list[str]]]] = [
    {_bearer.scheme_name: []},
    {_cookie.scheme_name: []},
]
"""The OpenAPI ``security`` of a route guarded by :func:`authorize` (what ``require`` adds)."""


async def authorize(request: Request, permission: Permission) -> Caller:
    """:func:`require` as a plain call, for the few routes where requests pour in.

    The same token sources, checks and errors as ``require(permission)``, without the three
    dependency levels FastAPI would resolve per request. Such a route declares
    ``openapi_extra={"security": SECURITY}`` so its documentation stays the same.

    Raises:
        AuthenticationError: no token, or an unknown, revoked or expired one.
        PermissionDeniedError: the caller's role does not grant ``permission``.
    """
    caller = _signed_in(await _identify_token(request, _request_token(request)))
    caller.require(permission)
    return caller


def served_directly(endpoint: _Endpoint) -> _Endpoint:
    """Mark a hot route's endpoint to be answered ahead of FastAPI's routing.

    For an ``async def endpoint(request: Request) -> Response`` that reads its caller with
    :func:`authorize` and its parameters with :func:`~lakeforge.serve._query_params.parse_query`:
    the app serves it through a :class:`~lakeforge.serve._app.DirectRoute` (same path,
    methods, name, audit, metrics and errors); its ``@router.get(...)`` documents it.
    Put this decorator below the route decorator.

    Raises:
        TypeError: the endpoint takes anything but the request.
    """
    if len(inspect.signature(endpoint).parameters) != 1:
        raise TypeError(f"{endpoint.__name__} must take only the request to be served directly")
    setattr(endpoint, DIRECT_MARK, True)
    return endpoint
