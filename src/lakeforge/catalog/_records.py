"""Plain, frozen values the catalog hands out, detached from any database session."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AuditRecord",
    "ContractRecord",
    "LineageEdge",
    "LineageGraph",
    "RunRecord",
    "TableRecord",
    "TableVersionRecord",
    "UserRecord",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


class _Record:
    """Shared ``to_dict`` for the record dataclasses."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: datetimes become ISO 8601 strings."""
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }


@dataclass(frozen=True, slots=True)
class TableRecord(_Record):
    """A table Lakeforge manages: where its Delta files live and which layer it belongs to."""

    name: str
    layer: str
    path: str
    description: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ContractRecord(_Record):
    """One saved version of a table's contract, as YAML."""

    table: str
    version: int
    body_yaml: str
    fingerprint: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord(_Record):
    """One ingest, transform or model fit; ``status`` is running, succeeded, failed or skipped."""

    run_id: str
    kind: str
    table: str | None
    source: str | None
    source_hash: str | None
    mode: str | None
    user: str | None
    params: dict[str, Any] | None
    status: str
    stats: dict[str, Any] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish, or None while the run is still going."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class TableVersionRecord(_Record):
    """One Delta commit Lakeforge made, with where the rows came from and how checks went."""

    table: str
    delta_version: int
    run_id: str | None
    operation: str
    source_kind: str | None
    source: str | None
    source_hash: str | None
    rows_read: int
    rows_written: int
    rows_quarantined: int
    check_results: list[dict[str, Any]]
    duration_s: float
    user: str | None
    contract_version: int | None
    quarantine_version: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LineageEdge(_Record):
    """Data flowed from ``source`` to ``target`` (nodes such as ``file:/x.csv``, ``table:t``)."""

    source: str
    target: str
    kind: str
    created_at: datetime
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class LineageGraph(_Record):
    """The part of the lineage graph around one node: its nodes and the edges between them."""

    nodes: list[str] = field(default_factory=list)
    edges: list[LineageEdge] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"nodes": [...], "edges": [{"source", "target", "kind", ...}]}``."""
        return {"nodes": list(self.nodes), "edges": [edge.to_dict() for edge in self.edges]}


@dataclass(frozen=True, slots=True)
class UserRecord(_Record):
    """A user of the REST service; tokens are stored separately, as hashes."""

    name: str
    role: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord(_Record):
    """One entry of the append-only audit log."""

    id: int
    at: datetime
    user: str | None
    action: str
    endpoint: str | None
    table: str | None
    rows: int | None
    status: int | None
    detail: dict[str, Any] | None
