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
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.contracts import (
    AllowedValuesCheck,
    Column,
    Contract,
    ExpressionCheck,
    ForeignKey,
    RangeCheck,
    RegexCheck,
)
from lakeforge.contracts._parse import arrow_type, cast_expr, type_noun
from lakeforge.errors import ContractError
from lakeforge.ingest._source import RawBatch

__all__ = [
    "QUARANTINE_META_COLUMNS",
    "BatchValidator",
    "CheckResult",
    "KeyIndex",
    "ParentKeys",
    "PreparedBatch",
    "SortedKeys",
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
# h1 keeps its top 40 bits (with h2: a 104-bit key); the low bits carry a row number in sorts
_ROW_BITS = 24
_ROW_LIMIT = 1 << _ROW_BITS
_ROW_MASK = np.uint64(_ROW_LIMIT - 1)
_HASH_MASK = ~_ROW_MASK
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
class SortedKeys:
    """A batch's candidate keys, sorted by hash, with their in-batch duplicate runs."""

    order: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    s_locs: np.ndarray
    same_prev: np.ndarray
    head: np.ndarray


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
    keys: list[tuple[np.ndarray | None, SortedKeys]]  # per key index: candidates (None: all)
    good: pa.Table  # rows that passed the row checks, typed (uniqueness still to apply)
    good_rows: np.ndarray | None  # their positions in the batch (None: all rows)


class KeyIndex:
    """Keys seen so far for one unique column set, as two independent 64-bit hashes.

    A key is a duplicate only when both hashes match an earlier key (a false match needs a
    104-bit collision: h1 keeps 40 bits, see ``hashes_of``). The keys live in an
    open-addressing hash table (linear probing, at most 70% full) of 24 bytes per slot,
    whatever the row width; a batch is probed and inserted in one vectorised pass, in hash
    order, so the table is walked nearly sequentially.
    """

    _MIN_BITS = 10
    _MAX_LOAD = 0.7

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._count = 0
        self._allocate(self._MIN_BITS)

    def __len__(self) -> int:
        return self._count

    def _allocate(self, bits: int) -> None:
        self._bits = bits
        size = 1 << bits
        # slot key: h1 | 1 (h1's low bits are zero, so 0 marks an empty slot), h2, first location.
        # Zeroed here, in order: np.zeros maps pages lazily, and the first writes, scattered
        # over the table, would then fault page by page (several times slower in all).
        self._k1, self._k2, self._where = (
            np.empty(size, dtype=np.uint64),
            np.empty(size, dtype=np.uint64),
            np.empty(size, dtype=np.int64),
        )
        for array in (self._k1, self._k2, self._where):
            array.fill(0)

    def reserve(self, keys: int) -> None:
        """Make room for ``keys`` more keys (one rebuild instead of several on the way)."""
        needed = self._count + keys
        if needed <= self._MAX_LOAD * (1 << self._bits):
            return
        bits = self._bits + 1
        while needed > self._MAX_LOAD * (1 << bits):
            bits += 1
        occupied = np.flatnonzero(self._k1)
        k1, k2, where = self._k1[occupied], self._k2[occupied], self._where[occupied]
        self._allocate(bits)
        self._count = 0
        self._fill(k1, k2, where)

    def _fill(self, k1: np.ndarray, k2: np.ndarray, where: np.ndarray) -> None:
        """Insert keys into an empty table in one pass (no lookups; duplicates are kept).

        In home-slot order, linear probing puts key i at max(home_i, slot_(i-1) + 1): a
        running maximum. Keys pushed past the end wrap around through the general path.
        """
        order = np.argsort(k1, kind="stable")  # nearly sorted already when rebuilding
        k1, k2, where = k1[order], k2[order], where[order]
        size = 1 << self._bits
        home = (k1 >> np.uint64(64 - self._bits)).astype(np.int64)
        rank = np.arange(len(k1), dtype=np.int64)
        slot = rank + np.maximum.accumulate(home - rank)
        fits = slot < size
        placed = slot[fits]
        self._k1[placed], self._k2[placed], self._where[placed] = k1[fits], k2[fits], where[fits]
        self._count = len(placed)
        if not fits.all():
            self._probe_insert(k1[~fits], k2[~fits], where[~fits])

    def seed(self, existing: pl.DataFrame) -> None:
        """Add the keys already in the table (they are never quarantined, only collided with)."""
        existing = existing.drop_nulls(self.columns)
        if existing.height:
            h1, h2, _ = self.hashes_of(existing, self.columns)
            where = np.full(len(h1), -1, dtype=np.int64)
            self.reserve(len(h1))
            if self._count:
                order = np.argsort(h1)
                self._probe_insert(h1[order] | 1, h2[order], where)
            else:
                self._fill(h1 | 1, h2, where)

    def _probe_insert(
        self, k1: np.ndarray, k2: np.ndarray, where: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Look keys up and insert the new ones; return (found, first location where found).

        ``k1`` values must be odd (``h1 | 1``). Among equal new keys the first one is
        inserted and the later ones are found (as duplicates of it).
        """
        n = len(k1)
        found = np.zeros(n, dtype=bool)
        first = np.full(n, -2, dtype=np.int64)
        if not n:
            return found, first
        self.reserve(n)
        t1, t2, tw = self._k1, self._k2, self._where
        mask = (1 << self._bits) - 1
        slot = (k1 >> np.uint64(64 - self._bits)).astype(np.intp)
        rows: np.ndarray | None = None  # the keys still probing (None: all of them)
        while len(slot):
            cur = t1[slot]
            same_h1 = cur == (k1 if rows is None else k1[rows])
            empty = cur == 0
            done = np.zeros(len(slot), dtype=bool)
            if same_h1.any():
                probe = np.flatnonzero(same_h1)
                keys = probe if rows is None else rows[probe]
                same = t2[slot[probe]] == k2[keys]
                hit, keys = probe[same], keys[same]
                found[keys] = True
                first[keys] = tw[slot[hit]]
                done[hit] = True
            if empty.any():
                claim = np.flatnonzero(empty)
                claimed = slot[claim]
                if len(claimed) > 1 and bool(np.all(claimed[1:] >= claimed[:-1])):
                    winners = claim[np.r_[True, claimed[1:] != claimed[:-1]]]
                else:  # the first claimant of each slot wins (rows are in batch order)
                    winners = claim[np.unique(claimed, return_index=True)[1]]
                keys = winners if rows is None else rows[winners]
                won = slot[winners]
                t1[won], t2[won], tw[won] = k1[keys], k2[keys], where[keys]
                self._count += len(winners)
                done[winners] = True
            # a slot holding another key: try the next one; losers of a claim look again
            slot = np.where(done | empty, slot, (slot + 1) & mask)
            keep = np.flatnonzero(~done)
            rows = keep if rows is None else rows[keep]
            slot = slot[keep]
        return found, first

    @staticmethod
    def hashes_of(
        frame: pl.DataFrame, columns: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(h1, h2, has_null) for every row of ``frame`` (stateless, thread-safe).

        The low ``_ROW_BITS`` bits of h1 are zero: :meth:`sort_batch` puts the row number
        there, so one plain sort orders keys by hash and, among equal hashes, by file order.
        """
        keys = frame.select(columns)
        h1 = keys.hash_rows(_HASH_SEEDS[0]).to_numpy() & _HASH_MASK
        h2 = keys.hash_rows(_HASH_SEEDS[1]).to_numpy()
        if keys.null_count().sum_horizontal().item():
            has_null = keys.select(pl.any_horizontal(pl.all().is_null())).to_series().to_numpy()
        else:
            has_null = np.zeros(keys.height, dtype=bool)
        return h1, h2, has_null

    def claim(self, frame: pl.DataFrame, locations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Register the batch's keys; return (is_duplicate, location of the first occurrence).

        Rows with a null in any key column are never duplicates (SQL semantics). Within a
        batch the first occurrence wins; later ones are duplicates of it.
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
        """:meth:`claim` for precomputed hashes of non-null keys."""
        return self.claim_sorted(self.sort_batch(h1, h2, locs))

    @staticmethod
    def sort_batch(h1: np.ndarray, h2: np.ndarray, locs: np.ndarray) -> SortedKeys:
        """Sort a batch's key hashes and find its internal duplicates (stateless).

        One sort serves three purposes: duplicates inside the batch are equal neighbours, the
        seen keys are probed with sorted queries (cache friendly), and new keys merge into the
        sorted index without a re-sort.
        """
        m = len(h1)
        if m <= _ROW_LIMIT:
            # the row number in h1's free low bits: a plain sort is then stable, and cheap
            # polars' sort is several times faster than NumPy's for uint64 (and drops the GIL)
            packed = pl.Series(h1 | np.arange(m, dtype=np.uint64)).sort().to_numpy()
            order = (packed & _ROW_MASK).view(np.intp)  # row numbers < 2**24: same values
            s1 = packed & _HASH_MASK
        else:
            order = np.argsort(h1, kind="stable")  # stable: file order inside equal hashes
            s1 = h1[order]
        s2 = h2[order]
        equal_h1 = s1[1:] == s1[:-1] if m > 1 else np.zeros(0, dtype=bool)
        if equal_h1.any() and bool(np.any(equal_h1 & (s2[1:] != s2[:-1]))):
            # equal h1, different h2 (a 40-bit collision, rare): inside those groups order by
            # h2, then file order, so equal keys are adjacent (groups keep their positions)
            members = np.flatnonzero(np.r_[equal_h1, False] | np.r_[False, equal_h1])
            rows = order[members]
            order[members] = rows[np.lexsort((rows, s2[members], s1[members]))]
            s2 = h2[order]
        same_prev = np.zeros(m, dtype=bool)
        if equal_h1.any():
            same_prev[1:] = equal_h1 & (s2[1:] == s2[:-1])
        if same_prev.any():
            head = np.maximum.accumulate(np.where(same_prev, 0, np.arange(m)))
        else:
            head = np.zeros(0, dtype=np.intp)  # no copies inside the batch: not needed
        return SortedKeys(order, s1, s2, locs[order], same_prev, head)

    def claim_sorted(self, keys: SortedKeys) -> tuple[np.ndarray, np.ndarray]:
        """Probe the seen keys with a sorted batch and add its new keys (stateful)."""
        m = len(keys.order)
        dup = np.zeros(m, dtype=bool)
        firsts = np.full(m, -2, dtype=np.int64)
        if not m:
            return dup, firsts
        s1, s2, s_locs = keys.s1, keys.s2, keys.s_locs
        if not len(keys.head):  # every key of the batch is distinct (the common case)
            found, where = self._probe_insert(s1 | 1, s2, s_locs)
            if found.any():
                dup[keys.order] = found
                firsts[keys.order] = where
            return dup, firsts
        s_dup = np.zeros(m, dtype=bool)
        s_first = np.full(m, -2, dtype=np.int64)
        heads = np.flatnonzero(~keys.same_prev)  # one probe per distinct key of the batch
        found, where = self._probe_insert(s1[heads] | 1, s2[heads], s_locs[heads])
        s_dup[heads] = found
        s_first[heads] = where
        # inside this batch: later copies point at the run's head (its first occurrence)
        same_prev, head = keys.same_prev, keys.head
        later = same_prev & ~s_dup[head]
        s_first[later] = s_locs[head[later]]
        also_known = same_prev & s_dup[head]  # head already in the table or an earlier batch
        s_first[also_known] = s_first[head[also_known]]
        s_dup |= same_prev
        dup[keys.order] = s_dup
        firsts[keys.order] = s_first
        return dup, firsts


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

    # -- per batch -------------------------------------------------------------------------
    def validate(self, batch: RawBatch) -> ValidatedBatch:
        """Cast and check one batch; update counters and check results."""
        return self.finish(self.prepare(batch))

    def prepare(self, batch: RawBatch) -> PreparedBatch:
        """The stateless part of validation (casts, row checks, key hashes).

        Safe to run for several batches at once in threads; :meth:`finish` must then be called
        for each prepared batch in source order.
        """
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
        flags = self._expression_flags(flags)
        fail_names += [f"__f_expr{i}" for i in range(len(self._expressions))]
        flags = self._foreign_key_flags(flags)
        fail_names += [f"__f_fk{i}" for i in range(len(self.parents))]
        error_flags = [f for f in fail_names if self._severity(f) == "error"]
        bad_mask = (
            flags.select(pl.any_horizontal(error_flags)).to_series().to_numpy()
            if error_flags
            else np.zeros(n, dtype=bool)
        )
        counts = flags.select(pl.col(fail_names).sum()).row(0) if fail_names and n else ()
        keys: list[tuple[np.ndarray | None, SortedKeys]] = []
        any_bad = bool(bad_mask.any())
        for index in self.key_indexes:
            h1, h2, has_null = KeyIndex.hashes_of(flags, index.columns)
            candidates = (
                np.flatnonzero(~bad_mask & ~has_null) if any_bad or has_null.any() else None
            )
            if candidates is None or len(candidates) == n:
                sorted_keys = KeyIndex.sort_batch(h1, h2, locations)
            else:
                sorted_keys = KeyIndex.sort_batch(
                    h1[candidates], h2[candidates], locations[candidates]
                )
            keys.append((candidates, sorted_keys))
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

    def finish(self, prepared: PreparedBatch) -> ValidatedBatch:
        """The stateful part: uniqueness across batches, counters, quarantine rows."""
        batch, raw, flags = prepared.batch, prepared.raw, prepared.flags
        locations, bad_mask = prepared.locations, prepared.bad_mask
        fail_names = list(prepared.fail_names)
        n = raw.height
        for name, count in prepared.counts.items():
            if count:
                self._result_for(name).failed += int(count)
        # uniqueness only among rows that would otherwise be written
        dup_info: list[tuple[str, np.ndarray, np.ndarray]] = []
        for i, index in enumerate(self.key_indexes):
            candidates, sorted_keys = prepared.keys[i]
            dup = np.zeros(n, dtype=bool)
            first = np.full(n, -2, dtype=np.int64)
            if candidates is None or len(candidates) == n:
                dup, first = index.claim_sorted(sorted_keys)
            elif len(candidates):
                d, f = index.claim_sorted(sorted_keys)
                dup[candidates] = d
                first[candidates] = f
            if dup.any():
                self._result_for(f"__f_unique{i}").failed += int(dup.sum())
                bad_mask = bad_mask | dup
            dup_info.append((f"__f_unique{i}", dup, first))
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
        for i, check in enumerate(self.contract.checks):
            expr = self._check_fail(check)
            if expr is not None:
                fails.append(expr.alias(f"__f_check{i}"))
        # typed values replace the raw ones under the contract names (raw kept as __r_)
        renames = [pl.col(c.name).alias(f"__r_{c.name}") for c in self.contract.columns]
        finals = [pl.col(f"__t_{c.name}").alias(c.name) for c in self.contract.columns]
        return typed, [*fails, *renames, *finals]

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
        parts: list[pl.Expr] = []
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
            parts.append(pl.when(pl.col(name)).then(msg))
        reasons = sub.select(pl.concat_list(parts).list.drop_nulls().alias("_reasons"))
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
