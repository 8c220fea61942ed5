"""``lakeforge serve``, ``lakeforge users`` and ``lakeforge audit``: the service from the shell.

``users add`` prints a token once (only its hash is stored); ``serve`` runs the REST API and
dashboard with uvicorn; ``audit`` reads the append-only log of every API call.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from lakeforge.cli._shared import JsonOpt, WorkspaceOpt, out
from lakeforge.cli._shared import fail as _fail
from lakeforge.errors import LakeforgeError
from lakeforge.workspace import Workspace

__all__ = ["audit", "serve", "users_app"]

users_app = typer.Typer(
    help="Users of the REST service and their tokens (roles: viewer, analyst, engineer, admin).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ExpiresOpt = Annotated[
    str | None,
    typer.Option("--expires", help="Token lifetime, e.g. 30d, 12h or 15m (default: never)."),
]


@users_app.callback()
def _group() -> None:
    """Users of the REST service and their tokens (roles: viewer, analyst, engineer, admin)."""


def _token_out(name: str, role: str, token: str, expires: str | None, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps({"user": name, "role": role, "token": token, "expires": expires}))
        return
    lifetime = f", expires in {expires}" if expires else ""
    out.print(f"user [bold]{name}[/] ({role}{lifetime}); token, shown only now:")
    out.print(token, highlight=False)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, _ . @ -).")],
    role: Annotated[
        str, typer.Option("--role", help="viewer, analyst, engineer or admin.")
    ] = "analyst",
    expires: ExpiresOpt = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Add a user and print their first token (only its hash is kept)."""
    from lakeforge.serve import create_user

    try:
        with Workspace.open(workspace) as ws:
            user, token = create_user(ws.catalog, name, role=role, expires_in=expires)
    except LakeforgeError as exc:
        _fail(exc, as_json)
    _token_out(user.name, user.role, token, expires, as_json)


@users_app.command("list")
def list_users(workspace: WorkspaceOpt = Path("."), as_json: JsonOpt = False) -> None:
    """Every user with their role."""
    try:
        with Workspace.open(workspace) as ws:
            users = ws.catalog.list_users()
    except LakeforgeError as exc:
        _fail(exc, as_json)
    if as_json:
        rows = [{"user": u.name, "role": u.role, "created_at": str(u.created_at)} for u in users]
        out.print_json(json.dumps({"data": rows, "count": len(rows)}))
        return
    view = RichTable(header_style="bold cyan")
    for column in ("user", "role", "created"):
        view.add_column(column)
    for u in users:
        view.add_row(u.name, u.role, f"{u.created_at:%Y-%m-%d %H:%M}")
    out.print(view)


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="An existing user.")],
    expires: ExpiresOpt = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Give a user another token (their other tokens stay valid)."""
    from lakeforge.serve import issue_token

    try:
        with Workspace.open(workspace) as ws:
            role = next((u.role for u in ws.catalog.list_users() if u.name == name), None)
            issued = issue_token(ws.catalog, name, expires_in=expires)
    except LakeforgeError as exc:
        _fail(exc, as_json)
    _token_out(name, role or "?", issued, expires, as_json)


@users_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="An existing user.")],
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Revoke every token of a user (a running service stops accepting them within seconds)."""
    try:
        with Workspace.open(workspace) as ws:
            revoked = ws.catalog.revoke_user_tokens(name)
    except LakeforgeError as exc:
        _fail(exc, as_json)
    if as_json:
        out.print_json(json.dumps({"user": name, "revoked": revoked}))
    else:
        out.print(f"revoked {revoked} token(s) of [bold]{name}[/]")


def serve(
    workspace: WorkspaceOpt = Path("."),
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default 8000).", min=0, max=65535)
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default 1).", min=1)
    ] = None,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the dashboard (/) of a workspace."""
    from lakeforge.config import get_settings
    from lakeforge.serve import serve as run_server

    settings = get_settings()
    chosen = {"host": host, "port": port, "workers": workers}
    update = {k: v for k, v in chosen.items() if v is not None}
    settings = settings.model_copy(update={"serve": settings.serve.model_copy(update=update)})
    try:
        with Workspace.open(workspace) as ws:
            root = ws.root
            users = len(ws.catalog.list_users())
    except LakeforgeError as exc:
        _fail(exc, False)
    where = f"http://{settings.serve.host}:{settings.serve.port}"
    out.print(f"[bold green]serving {root}[/] at {where}/ (dashboard) and {where}/docs (API)")
    if not users:
        out.print("no users yet: add one with [bold]lakeforge users add NAME --role analyst[/]")
    run_server(root, settings)


def audit(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's calls.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only calls this recent, e.g. 1h, 7d, 15m.")
    ] = None,
    table: Annotated[str | None, typer.Option("--table", help="Only calls on this table.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many entries.", min=1)] = 100,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """The REST service's audit log: who called what, when, on which table, with what result."""
    from lakeforge.serve import parse_duration

    try:
        after = None if since is None else dt.datetime.now(dt.UTC) - parse_duration(since)
        with Workspace.open(workspace) as ws:
            entries = ws.catalog.list_audit(user=user, since=after, table=table, limit=limit)
    except LakeforgeError as exc:
        _fail(exc, as_json)
    if as_json:
        rows = [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "user": e.user,
                "action": e.action,
                "endpoint": e.endpoint,
                "table": e.table,
                "rows": e.rows,
                "status": e.status,
                "detail": e.detail,
            }
            for e in entries
        ]
        out.print_json(json.dumps({"data": rows, "count": len(rows)}, default=str))
        return
    view = RichTable(header_style="bold cyan")
    for column in ("at", "user", "action", "endpoint", "table", "rows", "status"):
        view.add_column(column)
    for e in entries:
        view.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.user or "-",
            e.action,
            e.endpoint or "",
            e.table or "",
            "" if e.rows is None else str(e.rows),
            "" if e.status is None else str(e.status),
        )
    out.print(view)
