"""What one running service holds: the workspace, caches, the audit writer and metrics."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa

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

    def close(self) -> None:
        """Flush the audit log and release the catalog."""
        self.audit.close()
        self.workspace.close()

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
            self._tokens[digest] = (time.monotonic(), caller)
        return caller

    def forget_tokens(self) -> None:
        """Drop cached token checks (after a revocation through this process)."""
        with self._tokens_lock:
            self._tokens.clear()

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
