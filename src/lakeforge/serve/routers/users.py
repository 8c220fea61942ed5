"""Who am I, and user management (admins): users, tokens, revocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from lakeforge.errors import NotFoundError
from lakeforge.serve._audit import note
from lakeforge.serve._auth import (
    Caller,
    Permission,
    create_user,
    hash_token,
    new_token,
    token_expiry,
)
from lakeforge.serve._models import (
    ErrorResponse,
    ListResponse,
    Me,
    TokenIssued,
    TokenRequest,
    UserCreate,
    UserPublic,
)
from lakeforge.serve.deps import CurrentUser, StateDep, require

__all__ = ["router"]

router = APIRouter(
    tags=["users"],
    responses={
        code: {"model": ErrorResponse, "description": text}
        for code, text in (
            (400, "bad input"),
            (401, "no valid token"),
            (403, "admins only"),
            (404, "no such user"),
            (503, "the catalog refused the change (e.g. the user exists)"),
        )
    },
)
Admin = Annotated[Caller, require(Permission.MANAGE_USERS)]


@router.get("/me", response_model=Me, name="users.me")
async def me(caller: CurrentUser) -> Me:
    """Who the token belongs to and what the role may do."""
    return Me(name=caller.name, role=caller.role, permissions=sorted(caller.permissions))


@router.get("/users", response_model=ListResponse[UserPublic], name="users.list")
async def list_users(request: Request, state: StateDep, caller: Admin) -> dict[str, Any]:
    """Every user and their role."""
    users = await run_in_threadpool(state.workspace.catalog.list_users)
    note(request, rows=len(users))
    return {"data": [u.to_dict() for u in users], "count": len(users), "next": None}


@router.post("/users", response_model=TokenIssued, status_code=201, name="users.create")
async def add_user(
    request: Request, body: UserCreate, state: StateDep, caller: Admin
) -> TokenIssued:
    """Add a user; the response holds their token, shown only this once."""
    user, token = await run_in_threadpool(
        lambda: create_user(
            state.workspace.catalog, body.name, role=body.role, expires_in=body.expires_in
        )
    )
    note(request, target_user=body.name, role=body.role)
    return TokenIssued(
        user=UserPublic(**user.to_dict()),
        token=token,
        expires_at=token_expiry(body.expires_in),
    )


@router.post(
    "/users/{name}/tokens", response_model=TokenIssued, status_code=201, name="users.token"
)
async def add_token(
    request: Request, name: str, body: TokenRequest, state: StateDep, caller: Admin
) -> TokenIssued:
    """Issue another token for a user (shown only this once)."""
    token = new_token()
    expires_at = token_expiry(body.expires_in)
    user = await run_in_threadpool(
        lambda: state.workspace.catalog.add_token(name, hash_token(token), expires_at=expires_at)
    )
    note(request, target_user=name)
    return TokenIssued(user=UserPublic(**user.to_dict()), token=token, expires_at=expires_at)


@router.delete("/users/{name}/tokens", response_model=dict[str, int], name="users.revoke")
async def revoke(request: Request, name: str, state: StateDep, caller: Admin) -> dict[str, int]:
    """Revoke every token of a user; they can no longer sign in."""
    users = {u.name for u in await run_in_threadpool(state.workspace.catalog.list_users)}
    if name not in users:
        raise NotFoundError(f"no user `{name}`")
    revoked = await run_in_threadpool(state.workspace.catalog.revoke_user_tokens, name)
    state.forget_tokens()
    note(request, target_user=name, revoked=revoked)
    return {"revoked": revoked}
