"""What one running service holds: the workspace, caches, the audit writer and metrics."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
from starlette.concurrency import run_in_threadpool

from lakeforge.config import Settings
from lakeforge.contracts import Contract
from lakeforge.errors import AuthenticationError
from lakeforge.lake import AsOf, QueryEngine
from lakeforge.serve._audit import AuditWriter
from lakeforge.serve._auth import Caller, Permission, hash_token
from lakeforge.serve._masking import masked_columns, quarantine_masks
from lakeforge.serve._metrics import Metrics
from lakeforge.serve._products import ProductPage
from lakeforge.serve._snapshots import SnapshotCache
from lakeforge.workspace import Workspace

__all__ = ["ServiceState"]

T = TypeVar("T")


class ServiceState:
    """The service's long-lived objects, created once per process by ``create_app``."""

    def __init__(self, workspace_path: str | Path, settings: Settings) -> None:
        self.settings = settings
        self.workspace = Workspace.open(workspace_path, settings=settings)
        self.workspace.catalog  # noqa: B018 - open (and migrate) the catalog now
        serve = settings.serve
        self.snapshots = SnapshotCache(
            self.workspace, ttl_s=serve.snapshot_ttl_s, budget_bytes=serve.cache_mb * 2**20
        )
        self.metrics = Metrics()
        self.audit = AuditWriter(self.workspace.catalog)
        self.products: list[ProductPage] = []
        self._tokens: dict[str, tuple[float, Caller]] = {}
        self._tokens_lock = threading.Lock()
        self._in_flight: dict[Hashable, asyncio.Future[Any]] = {}
        self._token_generation = 0  # bumped by forget_tokens: no reuse of an older check

    def close(self) -> None:
        """Flush the audit log and release the catalog."""
        self.audit.close()
        self.workspace.close()

    async def shared(self, key: Hashable, work: Callable[[], T]) -> T:
        """Run blocking ``work`` in the threadpool once for every concurrent caller of ``key``.

        When a cache entry expires under load, every request in flight misses it at once;
        without this, each would repeat the same catalog or Delta log read (32 clients: 32
        reads of ~2 ms CPU each, every ``snapshot_ttl_s``). Callers that arrive while the
        read runs wait for its result, or its error; one caller giving up does not cancel it.
        """
        future = self._in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(run_in_threadpool(work))
            self._in_flight[key] = future
            future.add_done_callback(lambda done: self._landed(key, done))
        result: T = await asyncio.shield(future)
        return result

    def _landed(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        self._in_flight.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: if every caller left, asyncio would log it as lost

    async def caller_for(self, token: str) -> Caller:
        """:meth:`authenticate` without blocking the event loop (one catalog read at a time).

        Raises:
            AuthenticationError: the token is unknown, revoked or expired.
        """
        cached = self.cached_caller(token)
        if cached is not None:
            return cached
        key = ("token", hash_token(token), self._token_generation)
        return await self.shared(key, lambda: self.authenticate(token))

    # -- authentication ----------------------------------------------------------------------
    def cached_caller(self, token: str) -> Caller | None:
        """The caller for ``token`` if it was checked less than ``auth_cache_s`` ago."""
        hit = self._tokens.get(hash_token(token))
        if hit is not None and time.monotonic() - hit[0] < self.settings.serve.auth_cache_s:
            return hit[1]
        return None

    def authenticate(self, token: str) -> Caller:
        """The caller owning ``token`` (blocking: may read the catalog).

        Raises:
            AuthenticationError: the token is unknown, revoked or expired.
        """
        cached = self.cached_caller(token)
        if cached is not None:
            return cached
        digest = hash_token(token)
        generation = self._token_generation
        user = self.workspace.catalog.get_user_by_token_hash(digest)
        if user is None:
            with self._tokens_lock:
                self._tokens.pop(digest, None)
            raise AuthenticationError(
                "the token is unknown, revoked or expired; ask an admin for a new one "
                "(`lakeforge users token NAME`)"
            )
        caller = Caller.from_user(user)
        with self._tokens_lock:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            if generation == self._token_generation:  # not if forget_tokens ran meanwhile
                self._tokens[digest] = (time.monotonic(), caller)
        return caller

    def forget_tokens(self) -> None:
        """Drop cached token checks (after a revocation through this process)."""
        with self._tokens_lock:
            self._tokens.clear()
            self._token_generation += 1

    # -- queries -----------------------------------------------------------------------------
    def query_engine(self, caller: Caller) -> QueryEngine:
        """A strict engine over every table; PII masked unless the caller may see it."""
        ws = self.workspace
        masks: dict[str, dict[str, str]] = {}
        if not caller.can(Permission.SEE_PII):
            for record in ws.catalog.list_tables():
                contract = self.contract(record.name)
                if contract is None:
                    continue
                masks[record.name] = masked_columns(contract)
                columns = [c.name for c in contract.columns] + ["_raw", "_reasons"]
                masks[f"quarantine.{record.name}"] = quarantine_masks(contract, columns)
        return ws.query_engine(
            quarantine=caller.can(Permission.READ_QUARANTINE), masked_columns=masks, strict=True
        )

    def contract(self, table: str) -> Contract | None:
        """The table's contract in force, or None."""
        record = self.workspace.catalog.get_contract(table)
        return Contract.from_yaml(record.body_yaml) if record else None

    def query(
        self, caller: Caller, sql: str, *, as_of: AsOf = None, limit: int | None = None
    ) -> tuple[pa.Table, bool]:
        """Run ``sql`` for ``caller`` within the service's limits; ``(rows, truncated)``."""
        cap = self.settings.serve.query_max_rows
        wanted = min(limit or cap, cap)
        table = self.query_engine(caller).run(
            sql, as_of=as_of, limit=wanted + 1, timeout_s=self.settings.serve.query_timeout_s
        )
        truncated = table.num_rows > wanted
        return (table.slice(0, wanted) if truncated else table), truncated
