"""Row pages over cached table snapshots: stable order, filters, cursors, masking.

A snapshot is one version of one table read into Arrow once, sorted by its primary key (or
kept in file order when it has none) and, for callers without PII access, masked once. Pages
are slices of it, so a paged read costs a dictionary lookup and a slice, not a Delta log
replay. Snapshots are immutable (a Delta version never changes), so the cursor of a page is
``(version, offset, filter fingerprint)``: paging stays consistent while new versions land.
For the same reason a row is turned into JSON once per snapshot, not once per request: an
unfiltered page is a byte slice of rows already encoded (:class:`EncodedRows`).
"""

from __future__ import annotations

import array
import base64
import binascii
import functools
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from pydantic_core import to_json

from lakeforge.errors import QueryError, TableNotFoundError
from lakeforge.serve._masking import mask_table, masked_columns
from lakeforge.workspace import Workspace

__all__ = [
    "FILTER_OPS",
    "EncodedRows",
    "Page",
    "RowFilter",
    "Snapshot",
    "SnapshotCache",
    "encode_rows",
    "parse_filter",
]

FILTER_OPS: Final = ("eq", "ne", "lt", "le", "gt", "ge", "in", "like")
_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "eq": pc.equal,
    "ne": pc.not_equal,
    "lt": pc.less,
    "le": pc.less_equal,
    "gt": pc.greater,
    "ge": pc.greater_equal,
}


@dataclass(frozen=True)
class RowFilter:
    """``column:op:value`` from a ``filter`` query parameter."""

    column: str
    op: str
    value: str

    def text(self) -> str:
        """The filter as written."""
        return f"{self.column}:{self.op}:{self.value}"


def parse_filter(text: str) -> RowFilter:
    """Parse ``column:op:value`` (``in`` takes comma-separated values).

    Raises:
        QueryError: the text is not in that form or the operator is unknown.
    """
    column, _, rest = text.partition(":")
    op, sep, value = rest.partition(":")
    if not column or not sep or op not in FILTER_OPS:
        raise QueryError(
            f"filter {text!r} is not `column:op:value` with op one of {', '.join(FILTER_OPS)}"
        )
    return RowFilter(column, op, value)


def encode_rows(rows: pa.Table) -> bytes:
    """Rows as a JSON array of objects (NaN and infinities as null), as the API sends them."""
    return to_json(rows.to_pylist(), inf_nan_mode="null")


class EncodedRows:
    """A snapshot's rows as JSON, encoded a block of rows at a time on first read.

    Turning Arrow values into Python objects and then JSON is most of the cost of serving a
    page; a snapshot never changes, so each row is encoded once and pages are byte slices.
    Each block is one ``bytes`` of comma-joined objects plus where each row starts. Two
    threads racing on a block both encode it and one result wins (the results are equal).
    """

    BLOCK_ROWS: Final = 1024

    def __init__(self, data: pa.Table) -> None:
        self._data = data
        self._blocks: dict[int, tuple[bytes, array.array[int]]] = {}
        self.nbytes = 0
        """Bytes held by the blocks encoded so far."""

    def _block(self, number: int) -> tuple[bytes, array.array[int]]:
        block = self._blocks.get(number)
        if block is None:
            rows = self._data.slice(number * self.BLOCK_ROWS, self.BLOCK_ROWS).to_pylist()
            encoded = [to_json(row, inf_nan_mode="null") for row in rows]
            starts = array.array("q", [0])
            for item in encoded:
                starts.append(starts[-1] + len(item) + 1)  # each row plus its comma
            block = (b",".join(encoded), starts)
            self._blocks[number] = block
            self.nbytes += len(block[0]) + starts.itemsize * len(starts)
        return block

    def json_array(self, offset: int, limit: int) -> bytes:
        """Rows ``offset .. offset+limit`` as a JSON array, the bytes :func:`encode_rows` gives."""
        end = min(offset + limit, self._data.num_rows)
        if end <= offset:
            return b"[]"
        size = self.BLOCK_ROWS
        parts = []
        for number in range(offset // size, (end - 1) // size + 1):
            blob, starts = self._block(number)
            first = max(offset - number * size, 0)
            last = min(end - number * size, size)
            parts.append(blob[starts[first] : starts[last] - 1])
        return b"[" + b",".join(parts) + b"]"


@dataclass(frozen=True)
class Snapshot:
    """One version of one table, in a stable order, masked or not."""

    table: str
    version: int
    data: pa.Table
    order: tuple[str, ...]
    masked: tuple[str, ...]
    encoded: EncodedRows = field(init=False, repr=False, compare=False)
    columns: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The column names (read once: pyarrow builds the list on every access)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoded", EncodedRows(self.data))
        object.__setattr__(self, "columns", tuple(self.data.column_names))

    @property
    def nbytes(self) -> int:
        """Memory held: the Arrow data and the rows encoded so far."""
        return int(self.data.nbytes) + self.encoded.nbytes


@dataclass(frozen=True)
class Page:
    """A page of rows and where the next one starts."""

    rows: pa.Table
    total: int
    version: int
    next_cursor: str | None
    masked: tuple[str, ...]
    columns: tuple[str, ...] = ()
    """The names of ``rows``' columns."""
    encoded: EncodedRows | None = field(default=None, repr=False, compare=False)
    """The snapshot's encoded rows when the page is a plain slice of it (no filter)."""
    offset: int = 0

    def data_json(self) -> bytes:
        """The page's rows as a JSON array of objects."""
        if self.encoded is not None:
            return self.encoded.json_array(self.offset, self.rows.num_rows)
        return encode_rows(self.rows)


class SnapshotCache:
    """Per-process cache of table snapshots (LRU within a memory budget).

    Args:
        workspace: the workspace whose tables are read.
        ttl_s: how long the latest version of a table is trusted before it is re-checked.
        budget_bytes: memory the cached snapshots may hold together.
    """

    def __init__(self, workspace: Workspace, *, ttl_s: float, budget_bytes: int) -> None:
        self._ws = workspace
        self._ttl = ttl_s
        self._budget = budget_bytes
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, int, bool], threading.Lock] = {}
        self._snapshots: OrderedDict[tuple[str, int, bool], Snapshot] = OrderedDict()
        self._latest: dict[str, tuple[float, int]] = {}
        self.generation = 0
        """Bumped by :meth:`invalidate`: a version check begun before it is not reused after."""

    def invalidate(self, table: str | None = None) -> None:
        """Forget the latest-version check (after a write through the service)."""
        with self._lock:
            self.generation += 1
            if table is None:
                self._latest.clear()
            else:
                self._latest.pop(table, None)

    def peek_latest(self, table: str) -> int | None:
        """The latest version if checked within ``ttl_s`` (no I/O), else None."""
        seen = self._latest.get(table)
        if seen is not None and time.monotonic() - seen[0] < self._ttl:
            return seen[1]
        return None

    def latest_version(self, table: str) -> int:
        """The table's current version (re-checked at most every ``ttl_s``).

        Raises:
            TableNotFoundError: no such table, or it has no data yet.
        """
        seen = self.peek_latest(table)
        if seen is not None:
            return seen
        now = time.monotonic()
        version = self._ws.table(table).version
        if version is None:
            raise TableNotFoundError(f"table `{table}` has no data yet", table=table)
        with self._lock:
            self._latest[table] = (now, version)
        return version

    def peek(self, table: str, version: int, masked: bool) -> Snapshot | None:
        """The cached snapshot, or None (no I/O: safe on the event loop)."""
        key = (table, version, masked)
        with self._lock:
            snapshot = self._snapshots.get(key)
            if snapshot is not None:
                self._snapshots.move_to_end(key)
            return snapshot

    def get(self, table: str, version: int, masked: bool) -> Snapshot:
        """The snapshot of ``table`` at ``version``, loading it on a miss (blocking I/O)."""
        key = (table, version, masked)
        cached = self.peek(*key)
        if cached is not None:
            return cached
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            cached = self.peek(*key)
            if cached is not None:
                return cached
            snapshot = self._load(table, version, masked)
            with self._lock:
                self._snapshots[key] = snapshot
                self._loading.pop(key, None)
                self._evict()
            return snapshot

    def _evict(self) -> None:
        total = sum(s.nbytes for s in self._snapshots.values())
        while total > self._budget and len(self._snapshots) > 1:
            _, dropped = self._snapshots.popitem(last=False)
            total -= dropped.nbytes

    def _load(self, table: str, version: int, masked: bool) -> Snapshot:
        handle = self._ws.table(table)
        data = handle.read(version)
        contract = handle.contract()
        order = tuple(
            k for k in (contract.primary_key if contract else []) if k in data.column_names
        )
        if order:
            data = data.sort_by([(k, "ascending") for k in order])
        masks = masked_columns(contract, data.column_names) if masked else {}
        if masks:
            data = mask_table(data, masks)
        return Snapshot(table, version, data.combine_chunks(), order, tuple(masks))


def _fingerprint(filters: Sequence[RowFilter]) -> str:
    if not filters:
        return _NO_FILTERS
    text = "\n".join(sorted(f.text() for f in filters))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_NO_FILTERS: Final = hashlib.sha256(b"").hexdigest()[:16]


def encode_cursor(table: str, version: int, offset: int, filters: Sequence[RowFilter]) -> str:
    """An opaque cursor for the page starting at ``offset``."""
    payload = {"t": table, "v": version, "o": offset, "f": _fingerprint(filters)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@functools.lru_cache(maxsize=4096)
def _read_cursor(cursor: str) -> tuple[Any, int, int, Any]:
    """``(table, version, offset, fingerprint)`` of a cursor, remembered (errors are not).

    Clients page through the same cursors, so most are decoded many times.
    """
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return payload["t"], int(payload["v"]), int(payload["o"]), payload["f"]


def decode_cursor(cursor: str, table: str, filters: Sequence[RowFilter]) -> tuple[int, int]:
    """``(version, offset)`` from a cursor made by :func:`encode_cursor` for this query.

    Raises:
        QueryError: the cursor is damaged or belongs to another table or filter set.
    """
    try:
        cursor_table, version, offset, fingerprint = _read_cursor(cursor)
        same = cursor_table == table and fingerprint == _fingerprint(filters)
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise QueryError("the cursor is not valid; start again without `cursor`") from None
    if not same or version < 0 or offset < 0:
        raise QueryError(
            "the cursor belongs to another table or other filters; pass the same `filter` "
            "values as the first page, or start again without `cursor`"
        )
    return version, offset


def _filter_mask(data: pa.Table, item: RowFilter) -> pa.ChunkedArray:
    if item.column not in data.column_names:
        raise QueryError(
            f"filter column `{item.column}` is not a column of this table "
            f"(columns: {', '.join(data.column_names)})",
            column=item.column,
        )
    column = data[item.column]
    if item.op == "like":
        return pc.match_like(pc.cast(column, pa.string()), item.value)
    values = item.value.split(",") if item.op == "in" else [item.value]
    try:
        typed = pc.cast(pa.array(values, pa.string()), column.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise QueryError(
            f"filter {item.text()!r}: {item.value!r} is not a valid {column.type} value",
            column=item.column,
        ) from None
    if item.op == "in":
        return pc.is_in(column, value_set=typed)
    return _COMPARE[item.op](column, typed[0])


def page(
    snapshot: Snapshot,
    *,
    offset: int,
    limit: int,
    columns: Sequence[str] | None,
    filters: Sequence[RowFilter],
) -> Page:
    """Rows ``offset .. offset+limit`` of the filtered snapshot, with the next cursor.

    Raises:
        QueryError: an unknown column, a filter that does not fit the column's type.
    """
    data = snapshot.data
    names = snapshot.columns
    if columns:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise QueryError(f"unknown columns: {', '.join(unknown)} (columns: {', '.join(names)})")
        names = tuple(columns)
    if filters:
        keep = _filter_mask(data, filters[0])
        for item in filters[1:]:
            keep = pc.and_kleene(keep, _filter_mask(data, item))
        data = data.filter(pc.fill_null(keep, False))
    total = data.num_rows
    rows = data.slice(offset, limit)
    if columns:
        rows = rows.select(list(columns))
    end = offset + rows.num_rows
    cursor = encode_cursor(snapshot.table, snapshot.version, end, filters) if end < total else None
    masked = tuple(c for c in snapshot.masked if c in names)
    plain = not filters and names == snapshot.columns
    encoded = snapshot.encoded if plain else None
    return Page(rows, total, snapshot.version, cursor, masked, names, encoded, offset)
