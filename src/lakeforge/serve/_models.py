"""Request and response models of the REST API (they make the OpenAPI schema accurate)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditPublic",
    "ColumnPublic",
    "ErrorBody",
    "ErrorResponse",
    "Health",
    "LineageEdgePublic",
    "LineagePublic",
    "ListResponse",
    "Me",
    "QualityPublic",
    "QueryRequest",
    "QueryResult",
    "Ready",
    "RowsPage",
    "RowsQuery",
    "TableDetail",
    "TablePublic",
    "TokenIssued",
    "TokenRequest",
    "UserCreate",
    "UserPublic",
    "VersionPublic",
]

T = TypeVar("T")
Role = Literal["admin", "engineer", "analyst", "viewer"]


class ErrorBody(BaseModel):
    """What went wrong and what to do about it."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error response: ``{"error": {"code", "message", ...}}``."""

    error: ErrorBody


class ListResponse(BaseModel, Generic[T]):
    """A list: the items, how many there are in all, and the URL of the next page."""

    data: list[T]
    count: int
    next: str | None = None


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"]
    version: str


class Ready(BaseModel):
    """The catalog answers and the lake is readable."""

    status: Literal["ready"]
    tables: int


class TablePublic(BaseModel):
    """One table in the overview."""

    name: str
    layer: str
    rows: int
    version: int | None
    last_ingest: dt.datetime | None
    quality_status: str
    rows_quarantined: int


class ColumnPublic(BaseModel):
    """A column: its Arrow type and what the contract says about it."""

    name: str
    type: str
    nullable: bool
    pii: str | None = None
    masked: bool = False
    description: str | None = None


class TableDetail(BaseModel):
    """A table's schema and contract."""

    name: str
    layer: str
    version: int | None
    rows: int
    primary_key: list[str]
    columns: list[ColumnPublic]
    contract: dict[str, Any] | None


class VersionPublic(BaseModel):
    """One version of a table: where its rows came from and how the checks went."""

    version: int
    operation: str
    source: str | None
    rows_read: int
    rows_written: int
    rows_quarantined: int
    checks: list[dict[str, Any]]
    duration_s: float
    user: str | None
    run_id: str | None
    contract_version: int | None
    created_at: str | None


class QualityPublic(BaseModel):
    """The check results of a table's latest version, and the failures of every version."""

    table: str
    version: int | None
    status: str
    checks: list[dict[str, Any]]
    failed_by_version: dict[str, list[str]]


class RowsPage(BaseModel):
    """A page of rows; pass ``next`` back to get the following page."""

    data: list[dict[str, Any]]
    count: int = Field(description="rows matching the filters, across all pages")
    next: str | None = Field(description="URL of the next page, or null on the last page")
    version: int
    columns: list[str]
    masked: list[str] = Field(description="columns shown masked for this caller")


class RowsQuery(BaseModel):
    """The query parameters of a page of rows (``GET /tables/{name}/rows``)."""

    limit: int = Field(default=100, ge=1, le=10_000, description="rows per page")
    cursor: str | None = Field(default=None, max_length=2000, description="from `next`")
    columns: str | None = Field(
        default=None, max_length=10_000, description="comma-separated columns"
    )
    filter: list[str] | None = Field(
        default=None,
        max_length=50,
        description="`column:op:value`, op in eq, ne, lt, le, gt, ge, in (a,b), like",
    )
    as_of: int | None = Field(default=None, ge=0, le=2**31, description="table version")


class QueryRequest(BaseModel):
    """One read-only SELECT."""

    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, max_length=100_000)
    as_of: int | str | None = Field(
        default=None, description="version (one table), `t=3,u=2`, or an ISO timestamp"
    )
    limit: int | None = Field(default=None, ge=1, le=1_000_000)


class QueryResult(BaseModel):
    """Rows of a query (masked for roles without PII access)."""

    data: list[dict[str, Any]]
    count: int
    next: str | None = None
    columns: list[str]
    truncated: bool = Field(description="more rows exist than the row limit allowed")
    masked: bool = Field(description="PII columns were masked for this caller")
    elapsed_ms: float


class LineageEdgePublic(BaseModel):
    """Data flowed from ``source`` to ``target``."""

    source: str
    target: str
    kind: str
    created_at: dt.datetime
    run_id: str | None = None


class LineagePublic(BaseModel):
    """A lineage graph."""

    nodes: list[str]
    edges: list[LineageEdgePublic]


class AuditPublic(BaseModel):
    """One audit entry."""

    id: int
    at: dt.datetime
    user: str | None
    action: str
    endpoint: str | None
    table: str | None
    rows: int | None
    status: int | None
    detail: dict[str, Any] | None


class Me(BaseModel):
    """Who the token belongs to and what the role allows."""

    name: str
    role: str
    permissions: list[str]


class UserPublic(BaseModel):
    """A user (tokens are never shown after they are issued)."""

    name: str
    role: str
    created_at: dt.datetime


class UserCreate(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    role: Role
    expires_in: str | None = Field(
        default=None, pattern=r"^\d{1,6}[smhdw]$", description="token lifetime, e.g. 30d"
    )


class TokenRequest(BaseModel):
    """Options for a new token."""

    model_config = ConfigDict(extra="forbid")

    expires_in: str | None = Field(default=None, pattern=r"^\d{1,6}[smhdw]$")


class TokenIssued(BaseModel):
    """A token, shown this once; only its hash is kept."""

    user: UserPublic
    token: str
    expires_at: dt.datetime | None
