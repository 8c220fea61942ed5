"""What the API routes and the dashboard pages both need, over the workspace."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from lakeforge.catalog import LineageEdge
from lakeforge.errors import QueryError
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._masking import mask_table, quarantine_masks
from lakeforge.serve._models import (
    ColumnPublic,
    LineageEdgePublic,
    LineagePublic,
    QualityPublic,
    TableDetail,
)
from lakeforge.serve._snapshots import Page, RowFilter, decode_cursor, page, parse_filter
from lakeforge.serve._state import ServiceState

__all__ = [
    "full_lineage",
    "quality",
    "quarantine_rows",
    "read_page",
    "table_detail",
]


def table_detail(state: ServiceState, name: str, caller: Caller) -> TableDetail:
    """Schema, PII tags and contract of a table."""
    handle = state.workspace.table(name)
    contract = state.contract(name)
    version = handle.version
    schema = handle.schema() if version is not None else pa.schema([])
    by_name = {c.name: c for c in contract.columns} if contract else {}
    hide = not caller.can(Permission.SEE_PII)
    columns = []
    for field in schema:
        col = by_name.get(field.name)
        pii = col.pii if col else None
        columns.append(
            ColumnPublic(
                name=field.name,
                type=str(field.type),
                nullable=col.nullable if col else field.nullable,
                pii=pii,
                masked=bool(pii and hide),
                description=col.description if col else None,
            )
        )
    return TableDetail(
        name=name,
        layer=handle.layer,
        version=version,
        rows=handle.num_rows() if version is not None else 0,
        primary_key=list(contract.primary_key) if contract else [],
        columns=columns,
        contract=contract.to_dict() if contract else None,
    )


def quality(state: ServiceState, name: str) -> QualityPublic:
    """The latest version's checks and, per version, the names of the checks that failed."""
    history = state.workspace.table(name).history()
    latest = history[-1] if history else None
    checks = list(latest["checks"]) if latest else []
    statuses = {c.get("status") for c in checks}
    status = (
        "failed"
        if "failed" in statuses
        else "warned"
        if "warned" in statuses
        else ("passed" if latest else "unknown")
    )
    failed = {
        str(h["version"]): [str(c.get("name")) for c in h["checks"] if c.get("failed")]
        for h in history
    }
    return QualityPublic(
        table=name,
        version=latest["version"] if latest else None,
        status=status,
        checks=checks,
        failed_by_version={k: v for k, v in failed.items() if v},
    )


def quarantine_rows(
    state: ServiceState, name: str, caller: Caller, *, limit: int, offset: int = 0
) -> tuple[pa.Table, int]:
    """Rejected rows (masked for roles without PII access) and how many there are in all."""
    rows = state.workspace.table(name).quarantine()
    total = rows.num_rows
    rows = rows.slice(offset, limit)
    if not caller.can(Permission.SEE_PII) and rows.num_rows:
        rows = mask_table(rows, quarantine_masks(state.contract(name), rows.column_names))
    return rows, total


def _edge(edge: LineageEdge) -> LineageEdgePublic:
    return LineageEdgePublic(
        source=edge.source,
        target=edge.target,
        kind=edge.kind,
        created_at=edge.created_at,
        run_id=edge.run_id,
    )


def full_lineage(
    state: ServiceState, table: str | None = None, direction: str = "both"
) -> LineagePublic:
    """The lineage graph around ``table``, or of the whole workspace."""
    ws = state.workspace
    if table is not None:
        if direction not in ("upstream", "downstream", "both"):
            raise QueryError("direction must be upstream, downstream or both")
        graph = ws.lineage(table, direction=direction)
        return LineagePublic(nodes=list(graph.nodes), edges=[_edge(e) for e in graph.edges])
    nodes: dict[str, None] = {}
    edges: dict[tuple[str, str, str], LineageEdge] = {}
    for record in ws.catalog.list_tables():
        graph = ws.catalog.lineage(f"table:{record.name}")
        nodes.update(dict.fromkeys(graph.nodes))
        nodes[f"table:{record.name}"] = None
        for edge in graph.edges:
            edges[(edge.source, edge.target, edge.kind)] = edge
    return LineagePublic(nodes=list(nodes), edges=[_edge(e) for e in edges.values()])


async def read_page(
    state: ServiceState,
    caller: Caller,
    table: str,
    *,
    limit: int,
    cursor: str | None = None,
    columns: Sequence[str] | None = None,
    filters: Sequence[str] = (),
    as_of: int | None = None,
) -> Page:
    """A page of a table's rows for ``caller`` (masked unless they may see PII).

    Served from the snapshot cache without leaving the event loop when it is warm.

    Raises:
        QueryError: a bad cursor, filter, column or limit.
        TableNotFoundError: no such table or version.
    """
    maximum = state.settings.serve.page_max_rows
    if limit > maximum:
        raise QueryError(f"limit {limit} is above the largest page, {maximum}")
    parsed: list[RowFilter] = [parse_filter(text) for text in filters]
    offset = 0
    version = as_of
    if cursor:
        version_in_cursor, offset = decode_cursor(cursor, table, parsed)
        if as_of is not None and as_of != version_in_cursor:
            raise QueryError("`as_of` differs from the version the cursor was made for")
        version = version_in_cursor
    cache = state.snapshots
    if version is None:
        version = cache.peek_latest(table)
        if version is None:
            key = ("latest", table, cache.generation)
            version = await state.shared(key, lambda: cache.latest_version(table))
    masked = not caller.can(Permission.SEE_PII)
    snapshot = cache.peek(table, version, masked)
    if snapshot is None:
        snapshot = await state.shared(
            ("snapshot", table, version, masked), lambda: cache.get(table, version, masked)
        )
    return page(snapshot, offset=offset, limit=limit, columns=columns, filters=parsed)
