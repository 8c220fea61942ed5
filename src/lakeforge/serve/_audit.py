"""The audit trail of the service: one catalog entry per API request.

Requests do not wait for the catalog: each entry goes on a queue that one writer thread
drains into the append-only ``audit_log`` in batches, one transaction each (the catalog's
triggers refuse UPDATE and DELETE, for admins too). The writer lets entries gather for up to
``linger_s`` after the first one arrives: a transaction per busy request would cost the
service more (in commits, and in the GIL the writer holds) than the request itself.
:meth:`AuditWriter.flush` waits for the queue to empty; shutdown flushes.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakeforge.catalog import Catalog
from lakeforge.catalog._models import AuditEntry as AuditLogRow
from lakeforge.catalog._models import utc_now

__all__ = ["AuditEntry", "AuditMiddleware", "AuditWriter", "note"]

log = logging.getLogger("lakeforge.serve.audit")
_BATCH = 500
_UNAUDITED = frozenset({"/api/v1/health", "/api/v1/ready", "/login", "/logout", "/favicon.ico"})
_UNAUDITED_PREFIXES = ("/static/", "/docs", "/openapi.json", "/metrics")


@dataclass
class AuditEntry:
    """What one request did, filled in by the route as it runs."""

    action: str = ""
    user: str | None = None
    table: str | None = None
    rows: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def note(
    request: Request,
    *,
    table: str | None = None,
    rows: int | None = None,
    **detail: Any,
) -> None:
    """Record what this request read or changed (table, rows returned, details)."""
    entry: AuditEntry | None = getattr(request.state, "audit", None)
    if entry is None:
        return
    if table is not None:
        entry.table = table
    if rows is not None:
        entry.rows = rows
    entry.detail.update({k: v for k, v in detail.items() if v is not None})


class AuditWriter:
    """A background thread appending queued entries to the catalog's audit log."""

    def __init__(self, catalog: Catalog, *, linger_s: float = 0.05) -> None:
        self._catalog = catalog
        self._linger_s = linger_s
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._hurry = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lakeforge-audit", daemon=True)
        self._thread.start()

    def submit(self, **entry: Any) -> None:
        """Queue one entry (never blocks the request); it keeps the time it was made."""
        entry["at"] = utc_now()
        self._queue.put(entry)

    def flush(self) -> None:
        """Wait until every queued entry is in the catalog."""
        self._hurry.set()
        self._queue.join()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self._queue.put(None)
        self._hurry.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        stop = False
        while not stop:
            batch = [self._queue.get()]
            if batch[0] is not None and self._queue.qsize() < _BATCH:
                self._hurry.wait(self._linger_s)  # let a batch gather (flush cuts it short)
            self._hurry.clear()
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [e for e in batch if e is not None]
            stop = len(entries) < len(batch)
            try:
                if entries:
                    self._write(entries)
            except Exception:  # lost entries are logged loudly; the writer keeps going
                log.exception("could not write %d audit entries: %s", len(entries), entries)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, entries: list[dict[str, Any]]) -> None:
        """Append a batch in one transaction (the catalog's table; INSERT only)."""
        now = utc_now()
        rows = [
            {
                "at": entry.pop("at", now),
                "user_name": entry["user"],
                "action": entry["action"],
                "endpoint": entry["endpoint"],
                "table_name": entry["table"],
                "row_count": entry["rows"],
                "status": entry["status"],
                "detail": entry["detail"],
            }
            for entry in entries
        ]
        with self._catalog.engine.begin() as conn:
            conn.execute(insert(AuditLogRow), rows)


class AuditMiddleware:
    """Pure ASGI middleware: one :class:`AuditEntry` per API call or dashboard page."""

    def __init__(self, app: ASGIApp, writer_of: Any) -> None:
        self.app = app
        self._writer_of = writer_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in _UNAUDITED or path.startswith(_UNAUDITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        entry = AuditEntry()
        scope.setdefault("state", {})["audit"] = entry
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            action = getattr(route, "name", None) or "unmatched"
            writer: AuditWriter | None = self._writer_of()
            if writer is not None:
                writer.submit(
                    user=entry.user,
                    action=entry.action or action,
                    endpoint=f"{scope.get('method', '')} {path}",
                    table=entry.table,
                    rows=entry.rows,
                    status=status,
                    detail=entry.detail or None,
                )
