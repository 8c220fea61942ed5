"""The check engine: casts a raw batch to its contract and splits it into good and bad rows.

Every check becomes a vectorised boolean "this row fails" flag (polars expressions, DuckDB
for SQL expressions); reasons are formatted only for the rows that fail, so a clean batch
costs little more than the casts. Stateful checks (uniqueness across batches and against the
existing table, foreign keys against parent tables) keep their state in :class:`KeyIndex`
and :class:`ParentKeys`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pandas._libs.hashtable import (  # type: ignore[import-untyped,unused-ignore]
    UInt64HashTable,
    UInt64Vector,
)

from lakeforge.contracts import (
    AllowedValuesCheck,
    Column,
    Contract,
    ExpressionCheck,
    ForeignKey,
    RangeCheck,
    RegexCheck,
)
from lakeforge.contracts._parse import arrow_type, cast_expr, polars_type, type_noun
from lakeforge.errors import ContractError, IngestError
from lakeforge.ingest._source import RawBatch, TypedRead

__all__ = [
    "QUARANTINE_META_COLUMNS",
    "BatchKeys",
    "BatchValidator",
    "CheckResult",
    "KeyIndex",
    "ParentKeys",
    "PreparedBatch",
    "ValidatedBatch",
    "quarantine_schema",
    "table_schema",
]

QUARANTINE_META_COLUMNS = (
    "_run_id",
    "_source",
    "_location_kind",
    "_location",
    "_reasons",
    "_raw",
    "_quarantined_at",
)
_HASH_SEEDS = (0x5EED_1A4E, 0x0DDB_A11)
_MAX_VALUE_CHARS = 60


def table_schema(contract: Contract) -> pa.Schema:
    """The Arrow schema of a contract's table."""
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in contract.columns])


def quarantine_schema(contract: Contract) -> pa.Schema:
    """Quarantine rows: where they came from, why they failed, and their raw values."""
    meta = [
        pa.field("_run_id", pa.string()),
        pa.field("_source", pa.string()),
        pa.field("_location_kind", pa.string()),
        pa.field("_location", pa.int64()),
        pa.field("_reasons", pa.list_(pa.string())),
        pa.field("_raw", pa.string()),
        pa.field("_quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(meta + [pa.field(c.name, pa.string()) for c in contract.columns])


@dataclass
class CheckResult:
    """How many rows one check failed, for the catalog and the report."""

    name: str
    kind: str
    severity: str
    failed: int = 0
    status: str = "passed"
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "severity": self.severity,
            "failed": self.failed,
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class ValidatedBatch:
    """The outcome of one batch: typed good rows and quarantine rows."""

    good: pa.Table
    bad: pa.Table
    read: int


@dataclass
class BatchKeys:
    """A batch's candidate keys as two 64-bit hashes, with their source locations."""

    h1: np.ndarray
    h2: np.ndarray
    locs: np.ndarray


@dataclass
class PreparedBatch:
    """A batch after the stateless checks, waiting for :meth:`BatchValidator.finish`."""

    batch: RawBatch
    raw: pl.DataFrame
    flags: pl.DataFrame
    locations: np.ndarray
    fail_names: list[str]
    bad_mask: np.ndarray
    counts: dict[str, int]
    keys: list[tuple[np.ndarray | None, BatchKeys]]  # per key index: candidates (None: all)
    good: pa.Table  # rows that passed the row checks, typed (uniqueness still to apply)
    good_rows: np.ndarray | None  # their positions in the batch (None: all rows)


class _KeyTable:
    """One partition of a :class:`KeyIndex`: h1 -> key number (khash), h2 and first location."""

    def __init__(self, size: int = 1024) -> None:
        self.table = UInt64HashTable(size)
        self.count = 0  # keys numbered by the table
        self.h2 = np.zeros(size, dtype=np.uint64)
        self.where = np.zeros(size, dtype=np.int64)
        self.extra: dict[tuple[int, int], int] = {}  # (h1, h2) -> first location

    def __len__(self) -> int:
        return self.count + len(self.extra)

    def reserve(self, keys: int) -> None:
        if not self.count and keys > len(self.h2):
            self.table = UInt64HashTable(keys)
        self.grow(self.count + keys)

    def grow(self, needed: int) -> None:
        if needed <= len(self.h2):
            return
        size = max(needed, 2 * len(self.h2))
        for name in ("h2", "where"):
            old = getattr(self, name)
            grown = np.zeros(size, dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def claim(
        self, h1: np.ndarray, h2: np.ndarray, locs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(h1)
        dup = np.zeros(n, dtype=bool)
        first = np.full(n, -2, dtype=np.int64)
        prior = self.count
        labels = self.table.get_labels(h1, UInt64Vector(), prior, -1)
        self.count = len(self.table)
        # new keys are numbered prior, prior + 1, ... in order of first sight, so a row is a
        # key's first occurrence exactly where its number exceeds every number before it
        if self.count > prior:
            new = labels >= prior
            running = np.maximum.accumulate(np.where(new, labels, prior - 1))
            head = new & (labels > np.r_[prior - 1, running[:-1]])
            self.grow(self.count)
            self.h2[prior : self.count] = h2[head]
            self.where[prior : self.count] = locs[head]
            rows = np.flatnonzero(~head)
        else:
            rows = np.arange(n)
        if not len(rows):
            return dup, first
        label = labels[rows]
        same = self.h2[label] == h2[rows]
        dup[rows] = same
        first[rows[same]] = self.where[label[same]]
        for row in rows[~same].tolist():  # same h1 as an earlier key, different h2
            key = (int(h1[row]), int(h2[row]))
            seen = self.extra.get(key)
            if seen is None:
                self.extra[key] = int(locs[row])
            else:
                dup[row], first[row] = True, seen
        return dup, first


class KeyIndex:
    """Keys seen so far for one unique column set, as two independent 64-bit hashes.

    A key is a duplicate only when both hashes match an earlier key (a false match needs a
    128-bit collision). h1 is the key of a compiled hash table (pandas' khash
    ``UInt64HashTable``, which numbers keys in order of first sight); h2 and the location
    of each key's first occurrence live in arrays indexed by that number. Keys whose h1
    equals an earlier key's but whose h2 differs (about one in 10^7 at 5M keys) are kept
    exactly, in a small dict. The keys are split by h1's top bits into 16 tables: each
    batch is claimed partition by partition, so each table is smaller and stays in cache
    (1.5x faster at 5M keys than one table).
    """

    _PART_BITS = 4

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._parts = [_KeyTable() for _ in range(1 << self._PART_BITS)]

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def reserve(self, keys: int) -> None:
        """Make room for ``keys`` more keys (one allocation instead of several on the way)."""
        # an even share each (the partitions differ by about the square root of a share);
        # a larger hint would round the table up to the next power of two
        share = keys // len(self._parts) + keys // (256 * len(self._parts)) + 1024
        for part in self._parts:
            part.reserve(share)

    def seed(self, existing: pl.DataFrame) -> None:
        """Add the keys already in the table (they are never quarantined, only collided with)."""
        existing = existing.drop_nulls(self.columns)
        if existing.height:
            h1, h2, _ = self.hashes_of(existing, self.columns)
            self.reserve(len(h1))
            self.claim_hashed(h1, h2, np.full(len(h1), -1, dtype=np.int64))

    @staticmethod
    def hashes_of(
        frame: pl.DataFrame, columns: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(h1, h2, has_null) for every row of ``frame`` (stateless, thread-safe)."""
        keys = frame.select(columns)
        h1 = keys.hash_rows(_HASH_SEEDS[0]).to_numpy()
        h2 = keys.hash_rows(_HASH_SEEDS[1]).to_numpy()
        if keys.null_count().sum_horizontal().item():
            has_null = keys.select(pl.any_horizontal(pl.all().is_null())).to_series().to_numpy()
        else:
            has_null = np.zeros(keys.height, dtype=bool)
        return h1, h2, has_null

    def claim(self, frame: pl.DataFrame, locations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Register the batch's keys; return (is_duplicate, location of the first occurrence).

        Rows with a null in any key column are never duplicates (SQL semantics). Within a
        batch the first occurrence wins; later ones are duplicates of it. The location of a
        key already in the table (from :meth:`seed`) is -1; a row that is not a duplicate
        gets -2.
        """
        h1, h2, has_null = self.hashes_of(frame, self.columns)
        keep = np.flatnonzero(~has_null)
        duplicate = np.zeros(frame.height, dtype=bool)
        first = np.full(frame.height, -2, dtype=np.int64)
        if len(keep):
            d, f = self.claim_hashed(h1[keep], h2[keep], locations[keep])
            duplicate[keep], first[keep] = d, f
        return duplicate, first

    def claim_hashed(
        self, h1: np.ndarray, h2: np.ndarray, locs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`claim` for precomputed hashes of non-null keys (in batch order)."""
        n = len(h1)
        if not n:
            return np.zeros(0, dtype=bool), np.full(0, -2, dtype=np.int64)
        h1 = np.ascontiguousarray(h1, dtype=np.uint64)
        part = (h1 >> np.uint64(64 - self._PART_BITS)).astype(np.uint8)
        order = np.argsort(part, kind="stable")  # batch order within each partition
        bounds = np.searchsorted(part[order], np.arange(len(self._parts) + 1))
        dup = np.zeros(n, dtype=bool)
        first = np.full(n, -2, dtype=np.int64)

        def claim_parts(parts: range) -> None:  # each table is touched by one thread only
            for p in parts:
                lo, hi = int(bounds[p]), int(bounds[p + 1])
                if lo < hi:
                    rows = order[lo:hi]
                    table = self._parts[p]
                    dup[rows], first[rows] = table.claim(h1[rows], h2[rows], locs[rows])

        half = len(self._parts) // 2
        if n < _PARALLEL_CLAIM_ROWS:
            claim_parts(range(len(self._parts)))
        else:  # khash releases the GIL: half the tables on a helper thread
            other = _claim_pool().submit(claim_parts, range(half))
            try:
                claim_parts(range(half, len(self._parts)))
            finally:
                wait([other])  # the helper is done with the tables before anything else
            other.result()
        return dup, first


# batches this large claim their keys on two threads (the tables split in halves)
_PARALLEL_CLAIM_ROWS = 32_768
_CLAIM_POOL: list[ThreadPoolExecutor] = []
_CLAIM_POOL_LOCK = threading.Lock()


def _claim_pool() -> ThreadPoolExecutor:
    """The helper thread that claims half of a batch's keys (made on first use)."""
    with _CLAIM_POOL_LOCK:
        if not _CLAIM_POOL:
            _CLAIM_POOL.append(ThreadPoolExecutor(1, thread_name_prefix="lakeforge-keys"))
        return _CLAIM_POOL[0]


@dataclass
class ParentKeys:
    """The keys of a parent table, for one foreign key."""

    foreign_key: ForeignKey
    keys: pl.DataFrame = field(default_factory=pl.DataFrame)

    def missing(self, frame: pl.DataFrame) -> pl.Series:
        """True where the row's foreign key is set and not found in the parent."""
        cols = self.foreign_key.columns
        any_null = frame.select(pl.any_horizontal(pl.col(cols).is_null())).to_series()
        if len(cols) == 1:
            found = frame[cols[0]].is_in(self.keys.to_series(0).implode())
        else:
            parent = self.keys.rename(dict(zip(self.keys.columns, cols, strict=True)))
            parent = parent.unique().with_columns(pl.lit(True).alias("__found"))
            joined = frame.select(cols).join(parent, on=cols, how="left", maintain_order="left")
            found = joined["__found"].fill_null(False)
        return (~any_null) & (~found)


def _parses(token: str, target: pa.DataType) -> bool:
    """Whether Arrow reads ``token`` as a number of type ``target``."""
    try:
        pc.cast(pa.array([token], pa.string()), target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _has_hex_marker(chunk: pa.Array) -> bool:
    """Whether a string array's bytes hold an ``x`` or ``X`` (Arrow reads "0x10" as 16)."""
    values = chunk.buffers()[2]
    if values is None:
        return False
    text = values.to_pybytes()
    return b"x" in text or b"X" in text


def _short(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String)
    return (
        pl.when(text.str.len_chars() > _MAX_VALUE_CHARS)
        .then(text.str.slice(0, _MAX_VALUE_CHARS) + pl.lit("…"))
        .otherwise(text)
    )


def _msg(*parts: str | pl.Expr) -> pl.Expr:
    """Concatenate literal text and value expressions into one message."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def _literal(value: Any, column: Column) -> Any:
    """A check bound converted to the column's Python type (dates from ISO text)."""
    if isinstance(value, str) and column.type == "date":
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and column.type == "timestamp":
        stamp = dt.datetime.fromisoformat(value)
        return stamp if column.timezone else stamp.replace(tzinfo=None)
    return value


class BatchValidator:
    """Validates batches from one source against one contract.

    Args:
        contract: the table's contract.
        source_columns: the source's column names.
        null_values: raw tokens that mean "missing" in text sources.
        key_indexes: one per unique key set (seeded with the table's keys for appends).
        parents: one per foreign key, with the parent table's keys.
        run_id, source_uri, location_kind: stamped on quarantine rows.
    """

    def __init__(
        self,
        contract: Contract,
        source_columns: Sequence[str],
        *,
        null_values: Sequence[str] = ("",),
        trim: bool = False,
        key_indexes: Sequence[KeyIndex] = (),
        parents: Sequence[ParentKeys] = (),
        run_id: str = "",
        source_uri: str = "",
        location_kind: str = "line",
    ) -> None:
        self.contract = contract
        self.source_columns = list(source_columns)
        self.mapping = self._map_columns(contract, self.source_columns)
        self.null_values = list(null_values)
        self.trim = trim
        self.key_indexes = list(key_indexes)
        self.parents = list(parents)
        self.run_id = run_id
        self.source_uri = source_uri
        self.location_kind = location_kind
        self.schema = table_schema(contract)
        self.qschema = quarantine_schema(contract)
        self.results = self._make_results()
        self.read = 0
        self.written = 0
        self.quarantined = 0
        self._fast_columns = self._fast_number_columns()
        self._messages = dict(self._fail_messages())
        self._message_names = list(self._messages)
        self._typed_by_schema: dict[
            tuple[tuple[str, pl.DataType], ...], tuple[list[pl.Expr], list[pl.Expr]]
        ] = {}
        self._typed_plan = self._make_typed_plan()
        self._local = threading.local()
        self._connections: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    # -- setup -----------------------------------------------------------------------------
    @property
    def _expressions(self) -> list[ExpressionCheck]:
        return [c for c in self.contract.checks if isinstance(c, ExpressionCheck)]

    @staticmethod
    def _map_columns(contract: Contract, source_columns: list[str]) -> dict[str, int]:
        """Contract column -> source column position (-1: absent, read as null).

        Matches ``source_name`` (which may be empty, for a nameless column), then the name,
        then case-insensitively. Positions, not names, so empty or repeated source names work.
        """
        exact: dict[str, int] = {}
        folded: dict[str, int] = {}
        for i, name in enumerate(source_columns):
            exact.setdefault(name, i)
            folded.setdefault(name.casefold().strip(), i)
        mapping: dict[str, int] = {}
        missing: list[str] = []
        for col in contract.columns:
            wanted = col.source_name if col.source_name is not None else col.name
            if wanted in exact:
                mapping[col.name] = exact[wanted]
            elif wanted.casefold().strip() in folded:
                mapping[col.name] = folded[wanted.casefold().strip()]
            elif col.nullable:
                mapping[col.name] = -1
            else:
                missing.append(wanted or "(unnamed)")
        problems = [f"required column `{m}` is not in the source" for m in missing]
        used = set(mapping.values())
        extra = [name or "(unnamed)" for i, name in enumerate(source_columns) if i not in used]
        if extra and not contract.allow_extra_columns:
            problems.append(
                f"the source has columns the contract does not declare: {', '.join(extra)} "
                "(add them to the contract, or set allow_extra_columns: true to ignore them)"
            )
        if problems:
            raise ContractError(
                f"the source does not match contract `{contract.table}`",
                table=contract.table,
                problems=problems,
            )
        return mapping

    def _make_results(self) -> dict[str, CheckResult]:
        results: dict[str, CheckResult] = {
            "parse": CheckResult("parse", "parse", "error"),
        }
        for col in self.contract.columns:
            results[f"type({col.name})"] = CheckResult(f"type({col.name})", "type", "error")
            if not col.nullable or col.name in self.contract.primary_key:
                name = f"not_null({col.name})"
                results[name] = CheckResult(name, "not_null", "error")
        for check in self.contract.checks:
            results[check.label()] = CheckResult(check.label(), check.type, check.severity)
        for index in self.key_indexes:
            name = f"unique({', '.join(index.columns)})"
            results.setdefault(name, CheckResult(name, "unique", "error"))
        for parent in self.parents:
            fk = parent.foreign_key
            results[fk.label()] = CheckResult(fk.label(), "foreign_key", fk.severity)
        return results

    def typed_read_types(self) -> list[TypedRead] | None:
        """Types a text source may parse straight to, one per source column, or None.

        Offered where reading a number as a number cannot differ from parsing its text
        (integer and float columns without a decimal comma, whose null tokens are not
        numbers, no trimming); other columns are read as text (see ``Source.tasks``).
        """
        if self.trim:
            return None
        types: list[TypedRead] = ["string"] * len(self.source_columns)
        used: set[int] = set()
        for col in self.contract.columns:
            position = self.mapping[col.name]
            if position < 0:
                continue
            if position in used:
                return None  # one source column feeds two contract columns
            used.add(position)
            if col.type == "string":
                continue
            if col.type not in ("integer", "float") or col.decimal_comma or col.format:
                return None
            target = pa.int64() if col.type == "integer" else pa.float64()
            if any(_parses(token, target) for token in self.null_values):
                return None
            types[position] = col.type
        return types

    # -- per batch -------------------------------------------------------------------------
    def validate(self, batch: RawBatch) -> ValidatedBatch:
        """Cast and check one batch; update counters and check results."""
        return self.finish(self.prepare(batch))

    def prepare(self, batch: RawBatch) -> PreparedBatch:
        """The stateless part of validation (casts, row checks, key hashes).

        Safe to run for several batches at once in threads; :meth:`finish` must then be called
        for each prepared batch in source order.
        """
        if batch.frame is not None:
            return self._prepare_typed(batch, batch.frame)
        n = batch.data.num_rows
        locations = np.asarray(batch.locations.to_numpy(zero_copy_only=False), dtype=np.int64)
        raw = self._raw_frame(batch.data)
        typed, fail_exprs = self._typed_cached(raw)
        fast = self._fast_numbers(batch.data)
        if fast:
            names = [f"__t_{c.name}" for c in self.contract.columns]
            typed = [
                pl.lit(fast[n]).alias(n) if n in fast else e
                for n, e in zip(names, typed, strict=True)
            ]
        flags = raw.with_columns(typed).with_columns(fail_exprs)
        fail_names = list(self._message_names)
        if batch.row_errors is not None:
            errors = pl.Series("__f_parse", batch.row_errors, dtype=pl.String)
            flags = flags.with_columns(
                errors.is_not_null().alias("__f_parse"), errors.alias("__parse_msg")
            )
            fail_names = ["__f_parse", *fail_names]
        flags, fail_names, error_flags = self._table_flags(flags, fail_names)
        bad_mask = (
            flags.select(pl.any_horizontal(error_flags)).to_series().to_numpy()
            if error_flags
            else np.zeros(n, dtype=bool)
        )
        if batch.reparse is not None and bad_mask.any():
            return self.prepare(batch.reparse())  # quarantined rows carry the source's text
        counts = flags.select(pl.col(fail_names).sum()).row(0) if fail_names and n else ()
        return self._prepared(batch, raw, flags, locations, fail_names, bad_mask, counts)

    def _prepared(
        self,
        batch: RawBatch,
        raw: pl.DataFrame,
        flags: pl.DataFrame,
        locations: np.ndarray,
        fail_names: list[str],
        bad_mask: np.ndarray,
        counts: Sequence[int],
    ) -> PreparedBatch:
        """Key hashes and typed good rows of a checked batch."""
        n = raw.height
        keys: list[tuple[np.ndarray | None, BatchKeys]] = []
        any_bad = bool(bad_mask.any())
        for index in self.key_indexes:
            h1, h2, has_null = KeyIndex.hashes_of(flags, index.columns)
            candidates = (
                np.flatnonzero(~bad_mask & ~has_null) if any_bad or has_null.any() else None
            )
            if candidates is None or len(candidates) == n:
                keys.append((None, BatchKeys(h1, h2, locations)))
            else:
                keys.append(
                    (candidates, BatchKeys(h1[candidates], h2[candidates], locations[candidates]))
                )
        typed_frame = flags.select(self.contract.column_names)
        good_rows = np.flatnonzero(~bad_mask) if any_bad else None
        if good_rows is not None and len(good_rows) != n:
            typed_frame = typed_frame.filter(pl.Series(~bad_mask))
        good = typed_frame.to_arrow()
        good = good.cast(self.schema) if good.schema != self.schema else good
        return PreparedBatch(
            batch,
            raw,
            flags,
            locations,
            fail_names,
            bad_mask,
            dict(zip(fail_names, counts, strict=False)),
            keys,
            good,
            good_rows,
        )

    def _prepare_typed(self, batch: RawBatch, frame: pl.DataFrame) -> PreparedBatch:
        """:meth:`prepare` for a typed text batch: its values already have their types.

        Only the row checks run (no casts, no type checks: the source only types what
        parses cleanly). A row they reject sends the whole batch back through
        :meth:`prepare` as text, so quarantined rows always carry the source's text.
        """
        assert batch.reparse is not None
        n = frame.height
        locations = np.asarray(batch.locations.to_numpy(zero_copy_only=False), dtype=np.int64)
        columns, rest, fail_names = self._typed_plan
        flags = frame.select(columns).with_columns(rest)
        flags, fail_names, error_flags = self._table_flags(flags, fail_names)
        summary: tuple[Any, ...] = ()
        if n and fail_names:
            bad = pl.any_horizontal(error_flags).any() if error_flags else pl.lit(False)
            summary = flags.select(bad.alias("__bad"), *[pl.col(f).sum() for f in fail_names]).row(
                0
            )
            if summary[0]:
                return self.prepare(batch.reparse())
        counts = summary[1:]
        raw = flags.select(self.contract.column_names)
        bad_mask = np.zeros(n, dtype=bool)
        return self._prepared(batch, raw, flags, locations, fail_names, bad_mask, counts)

    def _table_flags(
        self, flags: pl.DataFrame, fail_names: list[str]
    ) -> tuple[pl.DataFrame, list[str], list[str]]:
        """Add the SQL expression and foreign key flags to ``flags``.

        Returns the flags, every flag name, and the names of those that send a row to
        quarantine (severity error).
        """
        flags = self._foreign_key_flags(self._expression_flags(flags))
        names = [
            *fail_names,
            *[f"__f_expr{i}" for i in range(len(self._expressions))],
            *[f"__f_fk{i}" for i in range(len(self.parents))],
        ]
        return flags, names, [f for f in names if self._severity(f) == "error"]

    def _make_typed_plan(self) -> tuple[list[pl.Expr], list[pl.Expr], list[str]]:
        """Expressions of :meth:`_prepare_typed`: typed columns, then row checks and names."""
        columns: list[pl.Expr] = []
        for col in self.contract.columns:
            position = self.mapping[col.name]
            if position < 0:
                columns.append(pl.lit(None, dtype=polars_type(col)).alias(f"__t_{col.name}"))
                continue
            value = pl.col(f"__s{position}")
            if col.type == "string" and self.null_values == [""]:
                value = pl.when(value.str.len_bytes() == 0).then(None).otherwise(value)
            elif col.type == "string" and self.null_values:
                value = pl.when(value.is_in(self.null_values)).then(None).otherwise(value)
            columns.append(value.alias(f"__t_{col.name}"))
        fails: list[pl.Expr] = []
        fail_names: list[str] = []
        for col in self.contract.columns:
            if not col.nullable or col.name in self.contract.primary_key:
                fail_names.append(f"__f_null_{col.name}")
                fails.append(pl.col(f"__t_{col.name}").is_null().alias(fail_names[-1]))
        for name, expr in self._check_flags():
            fail_names.append(name)
            fails.append(expr)
        names = [pl.col(f"__t_{c.name}").alias(c.name) for c in self.contract.columns]
        return columns, [*fails, *names], fail_names

    def finish(self, prepared: PreparedBatch) -> ValidatedBatch:
        """The stateful part: uniqueness across batches, counters, quarantine rows."""
        n = prepared.raw.height
        # uniqueness only among rows that would otherwise be written
        dup_info: list[tuple[str, np.ndarray, np.ndarray]] = []
        for i, index in enumerate(self.key_indexes):
            candidates, batch_keys = prepared.keys[i]
            dup = np.zeros(n, dtype=bool)
            first = np.full(n, -2, dtype=np.int64)
            if candidates is None:
                dup, first = index.claim_hashed(batch_keys.h1, batch_keys.h2, batch_keys.locs)
            elif len(candidates):
                d, f = index.claim_hashed(batch_keys.h1, batch_keys.h2, batch_keys.locs)
                dup[candidates] = d
                first[candidates] = f
            dup_info.append((f"__f_unique{i}", dup, first))
        reparse = prepared.batch.reparse
        if reparse is not None and any(dup.any() for _, dup, _ in dup_info):
            # a typed batch (no bad rows so far) with duplicates: its quarantine rows carry
            # the source's text, so the stateless part is redone from the text
            text = self.prepare(reparse())
            if text.raw.height != n:
                raise IngestError(
                    f"{self.source_uri}: the text of the batch at {self.location_kind} "
                    f"{int(prepared.locations[0]):,} has {text.raw.height} rows, its typed "
                    f"read {n}; ingest it again with --force (and report this, please)",
                    table=self.contract.table,
                )
            prepared = text
        batch, raw, flags = prepared.batch, prepared.raw, prepared.flags
        locations, bad_mask = prepared.locations, prepared.bad_mask
        fail_names = list(prepared.fail_names)
        for name, count in prepared.counts.items():
            if count:
                self._result_for(name).failed += int(count)
        for name, dup, _ in dup_info:
            if dup.any():
                self._result_for(name).failed += int(dup.sum())
                bad_mask = bad_mask | dup
        if bad_mask.any():
            for name, dup, first in dup_info:
                flags = flags.with_columns(pl.Series(name, dup), pl.Series(name + "_first", first))
            fail_names += [name for name, _, _ in dup_info]

        good, good_rows = prepared.good, prepared.good_rows
        if good_rows is None:  # every row passed the row checks
            if bad_mask.any():  # duplicates found
                good = good.filter(pa.array(~bad_mask))
        elif len(good_rows) and bad_mask[good_rows].any():
            good = good.filter(pa.array(~bad_mask[good_rows]))
        bad = self._quarantine_rows(raw, flags, np.flatnonzero(bad_mask), locations, fail_names)
        if batch.rejects:
            bad = pa.concat_tables([bad, self._rejected_rows(batch)])
            self.results["parse"].failed += len(batch.rejects)
        self.read += batch.num_records
        self.written += good.num_rows
        self.quarantined += bad.num_rows
        return ValidatedBatch(good, bad, batch.num_records)

    def _fast_number_columns(self) -> dict[str, tuple[int, pa.DataType]]:
        """Integer and float columns Arrow can parse: name -> (source position, type).

        Arrow's text-to-number cast accepts a subset of what the polars path accepts (no
        surrounding spaces, no "+" on integers), with the same values, except hex integers
        ("0x10"), which are ruled out per batch. A column whose null tokens parse as numbers
        (e.g. "-1") keeps the polars path.
        """
        out: dict[str, tuple[int, pa.DataType]] = {}
        for col in self.contract.columns:
            if col.type not in ("integer", "float") or col.decimal_comma:
                continue
            position = self.mapping[col.name]
            if position < 0:
                continue
            target = pa.int64() if col.type == "integer" else pa.float64()
            if any(_parses(token, target) for token in self.null_values):
                continue
            out[col.name] = (position, target)
        return out

    def _fast_numbers(self, data: pa.Table) -> dict[str, pl.Series]:
        """``__t_`` columns parsed by Arrow where every value of the batch parses cleanly.

        A batch with any value Arrow does not take (a space, a null token, a typo, NaN)
        leaves that column to the polars expressions, so results never differ.
        """
        out: dict[str, pl.Series] = {}
        if data.column_names != self.source_columns:
            return out
        for name, (position, target) in self._fast_columns.items():
            column = data.column(position)
            if not pa.types.is_string(column.type) or column.null_count:
                continue
            if any(_has_hex_marker(chunk) for chunk in column.chunks):
                continue
            try:
                number = pc.cast(column, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            if target == pa.float64() and not pc.all(pc.is_finite(number)).as_py():
                continue
            series = pl.from_arrow(number)
            assert isinstance(series, pl.Series)
            out[f"__t_{name}"] = series
        return out

    def _raw_frame(self, data: pa.Table) -> pl.DataFrame:
        """Source columns (by position) renamed to contract names, null tokens applied."""
        if data.column_names != self.source_columns and sorted(data.column_names) == sorted(
            self.source_columns
        ):
            data = data.select(self.source_columns)
        positional = data.rename_columns([f"__s{i}" for i in range(data.num_columns)])
        for i, source_field in enumerate(positional.schema):
            if pa.types.is_nested(source_field.type):  # lists / structs arrive as JSON text
                texts = [
                    None if v is None else json.dumps(v, default=str)
                    for v in positional.column(i).to_pylist()
                ]
                positional = positional.set_column(
                    i, source_field.name, pa.array(texts, pa.string())
                )
        raw = pl.from_arrow(positional)
        assert isinstance(raw, pl.DataFrame)
        exprs: list[pl.Expr] = []
        schema = raw.schema  # built once: each .schema call is O(columns)
        for col in self.contract.columns:
            position = self.mapping[col.name]
            if position < 0:
                exprs.append(pl.lit(None, dtype=pl.String).alias(col.name))
                continue
            source = f"__s{position}"
            expr = pl.col(source)
            if schema[source] == pl.String:
                if self.trim:
                    expr = expr.str.strip_chars()
                if self.null_values:
                    expr = pl.when(expr.is_in(self.null_values)).then(None).otherwise(expr)
            exprs.append(expr.alias(col.name))
        return raw.select(exprs)

    def _typed_cached(self, raw: pl.DataFrame) -> tuple[list[pl.Expr], list[pl.Expr]]:
        """:meth:`_typed`, built once per raw schema (wide tables have thousands of exprs)."""
        key = tuple(raw.schema.items())
        cached = self._typed_by_schema.get(key)
        if cached is None:
            cached = self._typed(raw)
            with self._lock:
                self._typed_by_schema[key] = cached
        return cached

    def _typed(self, raw: pl.DataFrame) -> tuple[list[pl.Expr], list[pl.Expr]]:
        typed: list[pl.Expr] = []
        schema = raw.schema
        for col in self.contract.columns:
            typed.append(cast_expr(col.name, col, schema[col.name]).alias(f"__t_{col.name}"))
        fails: list[pl.Expr] = []
        for col in self.contract.columns:
            t = pl.col(f"__t_{col.name}")
            fails.append(
                (pl.col(col.name).is_not_null() & t.is_null()).alias(f"__f_type_{col.name}")
            )
            if not col.nullable or col.name in self.contract.primary_key:
                fails.append((pl.col(col.name).is_null()).alias(f"__f_null_{col.name}"))
        fails += [expr for _, expr in self._check_flags()]
        # typed values replace the raw ones under the contract names (raw kept as __r_)
        renames = [pl.col(c.name).alias(f"__r_{c.name}") for c in self.contract.columns]
        finals = [pl.col(f"__t_{c.name}").alias(c.name) for c in self.contract.columns]
        return typed, [*fails, *renames, *finals]

    def _check_flags(self) -> list[tuple[str, pl.Expr]]:
        """(flag column, "this row fails" expression) for each vectorised contract check."""
        flags: list[tuple[str, pl.Expr]] = []
        for i, check in enumerate(self.contract.checks):
            expr = self._check_fail(check)
            if expr is not None:
                flags.append((f"__f_check{i}", expr.alias(f"__f_check{i}")))
        return flags

    def _check_fail(self, check: Any) -> pl.Expr | None:
        if isinstance(check, RangeCheck):
            column = self.contract.column(check.column)
            t = pl.col(f"__t_{check.column}")
            fail = pl.lit(False)
            if check.min is not None:
                low = _literal(check.min, column)
                fail = fail | (t < low if check.min_inclusive else t <= low)
            if check.max is not None:
                high = _literal(check.max, column)
                fail = fail | (t > high if check.max_inclusive else t >= high)
            return fail.fill_null(False)
        if isinstance(check, AllowedValuesCheck):
            column = self.contract.column(check.column)
            values = [_literal(v, column) for v in check.values]
            t = pl.col(f"__t_{check.column}")
            return (t.is_not_null() & ~t.is_in(values)).fill_null(False)
        if isinstance(check, RegexCheck):
            t = pl.col(f"__t_{check.column}").cast(pl.String)
            return (t.is_not_null() & ~t.str.contains(f"^(?:{check.pattern})$")).fill_null(False)
        return None  # unique / expression / freshness are handled elsewhere

    def _fail_messages(self) -> list[tuple[str, pl.Expr]]:
        """(flag column, message expression) for every vectorised check, in report order."""
        out: list[tuple[str, pl.Expr]] = []
        for col in self.contract.columns:
            raw = _short(pl.col(f"__r_{col.name}"))
            noun = type_noun(col.type)
            hint = f" (format {col.format})" if col.format else ""
            out.append(
                (
                    f"__f_type_{col.name}",
                    _msg(f"{col.name}: '", raw, f"' is not a {noun}{hint}"),
                )
            )
            if not col.nullable or col.name in self.contract.primary_key:
                out.append(
                    (
                        f"__f_null_{col.name}",
                        pl.lit(f"{col.name}: missing value (the column is required)"),
                    )
                )
        for i, check in enumerate(self.contract.checks):
            name = f"__f_check{i}"
            if isinstance(check, RangeCheck):
                bounds = []
                if check.min is not None:
                    bounds.append(f"{'>=' if check.min_inclusive else '>'} {check.min}")
                if check.max is not None:
                    bounds.append(f"{'<=' if check.max_inclusive else '<'} {check.max}")
                msg = _msg(
                    f"{check.column}: ",
                    _short(pl.col(check.column)),
                    f" is out of range (must be {' and '.join(bounds)})",
                )
                out.append((name, msg))
            elif isinstance(check, AllowedValuesCheck):
                shown = ", ".join(map(str, check.values[:10]))
                more = ", ..." if len(check.values) > 10 else ""
                out.append(
                    (
                        name,
                        _msg(
                            f"{check.column}: '",
                            _short(pl.col(check.column)),
                            f"' is not an allowed value ({shown}{more})",
                        ),
                    )
                )
            elif isinstance(check, RegexCheck):
                out.append(
                    (
                        name,
                        _msg(
                            f"{check.column}: '",
                            _short(pl.col(check.column)),
                            f"' does not match /{check.pattern}/",
                        ),
                    )
                )
        return out

    def _severity(self, flag: str) -> str:
        return self._result_for(flag).severity

    def _result_for(self, flag: str) -> CheckResult:
        if flag == "__f_parse":
            return self.results["parse"]
        if flag.startswith("__f_type_"):
            return self.results[f"type({flag.removeprefix('__f_type_')})"]
        if flag.startswith("__f_null_"):
            return self.results[f"not_null({flag.removeprefix('__f_null_')})"]
        if flag.startswith("__f_check"):
            return self.results[self.contract.checks[int(flag.removeprefix("__f_check"))].label()]
        if flag.startswith("__f_expr"):
            return self.results[self._expressions[int(flag.removeprefix("__f_expr"))].label()]
        if flag.startswith("__f_fk"):
            return self.results[self.parents[int(flag.removeprefix("__f_fk"))].foreign_key.label()]
        index = self.key_indexes[int(flag.removeprefix("__f_unique"))]
        return self.results[f"unique({', '.join(index.columns)})"]

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """One DuckDB connection per thread (connections are not shared across threads)."""
        con: duckdb.DuckDBPyConnection | None = getattr(self._local, "con", None)
        if con is None:
            con = duckdb.connect(config={"threads": 1})
            con.execute("SET enable_external_access=false")
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    def _expression_flags(self, flags: pl.DataFrame) -> pl.DataFrame:
        if not self._expressions:
            return flags
        con = self._connection()
        typed = flags.select(self.contract.column_names).to_arrow()
        con.register("batch", typed)
        try:
            for i, check in enumerate(self._expressions):
                try:
                    result = con.sql(
                        f"SELECT NOT coalesce(({check.sql}), TRUE) AS f FROM batch"
                    ).to_arrow_table()
                except duckdb.Error as exc:
                    raise ContractError(
                        f"check {check.label()} is not a valid SQL expression: {exc}",
                        table=self.contract.table,
                    ) from None
                flags = flags.with_columns(
                    pl.Series(f"__f_expr{i}", result.column(0).to_numpy(zero_copy_only=False))
                )
        finally:
            con.unregister("batch")
        return flags

    def _foreign_key_flags(self, flags: pl.DataFrame) -> pl.DataFrame:
        for i, parent in enumerate(self.parents):
            missing = parent.missing(flags.select(parent.foreign_key.columns))
            flags = flags.with_columns(missing.alias(f"__f_fk{i}"))
        return flags

    def _quarantine_rows(
        self,
        raw: pl.DataFrame,
        flags: pl.DataFrame,
        rows: np.ndarray,
        locations: np.ndarray,
        fail_names: list[str],
    ) -> pa.Table:
        if not len(rows):
            return self.qschema.empty_table()
        sub = flags[rows]
        messages = self._messages
        parts: list[pl.LazyFrame] = []
        for name in fail_names:
            if name == "__f_parse":
                msg: pl.Expr = pl.col("__parse_msg")
            elif name.startswith("__f_expr"):
                check = self._expressions[int(name.removeprefix("__f_expr"))]
                msg = pl.lit(f"fails {check.label()}")
            elif name.startswith("__f_fk"):
                fk = self.parents[int(name.removeprefix("__f_fk"))].foreign_key
                key = pl.concat_str([_short(pl.col(c)) for c in fk.columns], separator=", ")
                msg = _msg(
                    f"({', '.join(fk.columns)}) = (",
                    key,
                    f") not found in {fk.ref_table}.{', '.join(fk.ref_columns)}",
                )
            elif name.startswith("__f_unique"):
                index = self.key_indexes[int(name.removeprefix("__f_unique"))]
                key = pl.concat_str([_short(pl.col(c)) for c in index.columns], separator=", ")
                first = pl.col(name + "_first")
                where = (
                    pl.when(first == -1)
                    .then(pl.lit("already in the table"))
                    .otherwise(_msg(f"first at {self.location_kind} ", first.cast(pl.String)))
                )
                msg = _msg(f"duplicate key ({', '.join(index.columns)}) = (", key, "), ", where)
            else:
                msg = messages[name]
            if self._severity(name) == "warn":
                msg = pl.lit("warning: ") + msg
            # each check's message only where it failed, row by row (a list of every
            # message per row, then dropping the nulls, is ten times slower)
            parts.append(
                sub.lazy()
                .with_row_index("__row")
                .filter(pl.col(name))
                .select("__row", msg.alias("__reason"))
            )
        failed = (
            pl.concat(pl.collect_all(parts))
            if parts
            else pl.DataFrame(schema={"__row": pl.UInt32, "__reason": pl.String})
        )
        grouped = failed.group_by("__row").agg(pl.col("__reason"))  # in the checks' order
        per_row = pl.DataFrame(
            {"__row": pl.int_range(sub.height, eager=True, dtype=pl.UInt32)}
        ).join(grouped, on="__row", how="left", maintain_order="left")
        reasons = per_row.select(
            pl.col("__reason").fill_null(pl.lit([], dtype=pl.List(pl.String))).alias("_reasons")
        )
        now = dt.datetime.now(dt.UTC)
        out = pl.DataFrame(
            {
                "_run_id": [self.run_id] * len(rows),
                "_source": [self.source_uri] * len(rows),
                "_location_kind": [self.location_kind] * len(rows),
                "_location": locations[rows],
            }
        ).with_columns(
            reasons["_reasons"],
            pl.lit(None, dtype=pl.String).alias("_raw"),
            pl.lit(now)
            .dt.replace_time_zone("UTC")
            .cast(pl.Datetime("us", "UTC"))
            .alias("_quarantined_at"),
            *[pl.Series(c, sub[f"__r_{c}"].cast(pl.String)) for c in self.contract.column_names],
        )
        return out.to_arrow().cast(self.qschema)

    def _rejected_rows(self, batch: RawBatch) -> pa.Table:
        n = len(batch.rejects)
        now = dt.datetime.now(dt.UTC)
        columns: dict[str, Any] = {
            "_run_id": [self.run_id] * n,
            "_source": [self.source_uri] * n,
            "_location_kind": [self.location_kind] * n,
            "_location": [r.location for r in batch.rejects],
            "_reasons": [[r.reason] for r in batch.rejects],
            "_raw": [r.raw for r in batch.rejects],
            "_quarantined_at": [now] * n,
        }
        for name in self.contract.column_names:
            columns[name] = [None] * n
        return pa.table(columns, schema=self.qschema)

    def close(self) -> None:
        """Release the SQL connections used for expression checks."""
        with self._lock:
            for con in self._connections:
                con.close()
            self._connections.clear()
