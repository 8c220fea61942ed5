"""One ingest: read a source, validate every row against the contract, commit atomically.

The flow (see docs/architecture.md):

1. Resolve the contract (given, registered for the table, or inferred from the source).
2. Skip if the same content was already ingested into this table (unless ``force``).
3. Stream batches: cast + check each one; good rows stream into the Delta writer, bad rows
   are staged as Parquet under ``.lakeforge/staging/<run>``.
4. One Delta commit for the table (nothing is visible before it; a kill leaves the previous
   version), then one for the quarantine, then the catalog records the version, counts,
   check results and lineage.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import socket
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from lakeforge.contracts import Contract, FreshnessCheck
from lakeforge.contracts._parse import polars_type
from lakeforge.errors import ContractError, IngestError, RejectedDataError
from lakeforge.ingest._background import in_background
from lakeforge.ingest._source import RawBatch, Source
from lakeforge.lake import DeltaStore, WriteMode
from lakeforge.quality import (
    BatchValidator,
    CheckResult,
    KeyIndex,
    ParentKeys,
    PreparedBatch,
    ValidatedBatch,
)

if TYPE_CHECKING:
    from lakeforge.catalog import Catalog, TableVersionRecord
    from lakeforge.workspace import Workspace

__all__ = ["IngestResult", "run_ingest"]

# a wrong estimate must not allocate much (the key index takes 24-34 bytes a key): past
# this, the index grows as keys arrive
_MAX_RESERVED_KEYS = 5_500_000


@dataclass
class IngestResult:
    """What an ingest did. ``rows_read == rows_written + rows_quarantined`` always holds."""

    table: str
    status: str  # succeeded | skipped | rejected
    run_id: str | None
    version: int | None
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    mode: str = "append"
    source: str = ""
    source_hash: str | None = None
    contract_version: int | None = None
    duration_s: float = 0.0
    checks: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    @property
    def reject_rate(self) -> float:
        """Share of rows read that went to quarantine."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def quality_status(self) -> str:
        """``passed`` / ``warned`` / ``failed`` over the checks."""
        states = {c["status"] for c in self.checks}
        if "failed" in states:
            return "failed"
        return "warned" if "warned" in states else "passed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's --json)."""
        return asdict(self) | {
            "reject_rate": self.reject_rate,
            "quality_status": self.quality_status,
        }


def run_ingest(
    ws: Workspace,
    source: Source,
    *,
    table: str,
    contract: Contract,
    mode: WriteMode = "append",
    key: list[str] | None = None,
    force: bool = False,
    max_reject_rate: float = 1.0,
    user: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    layer: str | None = None,
) -> IngestResult:
    """Ingest ``source`` into ``table`` under ``contract``; see the module docstring."""
    if contract.table != table:
        contract = contract.model_copy(update={"table": table})
    # A file is read and checked from the start, while the catalog is consulted: parsing
    # and the stateless checks need only the contract (results wait in a bounded queue).
    prefetch = _Prefetch.start(ws, source, contract)
    try:
        return _run_ingest(
            ws,
            source,
            table=table,
            contract=contract,
            mode=mode,
            key=key,
            force=force,
            max_reject_rate=max_reject_rate,
            user=user,
            on_progress=on_progress,
            layer=layer,
            prefetch=prefetch,
        )
    finally:
        if prefetch is not None:
            prefetch.close()


def _run_ingest(
    ws: Workspace,
    source: Source,
    *,
    table: str,
    contract: Contract,
    mode: WriteMode,
    key: list[str] | None,
    force: bool,
    max_reject_rate: float,
    user: str | None,
    on_progress: Callable[[int, int], None] | None,
    layer: str | None,
    prefetch: _Prefetch | None,
) -> IngestResult:
    started = time.perf_counter()
    catalog = ws.catalog
    if mode == "merge":
        key = list(key or contract.primary_key)
        if not key:
            raise ContractError(
                f"merge into `{table}` needs a key: pass --key or declare a primary key",
                table=table,
            )
        unknown = [k for k in key if k not in contract.column_names]
        if unknown:
            raise ContractError(
                f"merge key columns not in the contract: {', '.join(unknown)}", table=table
            )
    with ThreadPoolExecutor(1, thread_name_prefix="lakeforge-hash") as hasher:
        hashing = hasher.submit(source.fingerprint)  # hashlib drops the GIL: overlaps the catalog
        store = ws.store(table, layer=layer or contract.layer)
        ws.reconcile(table)
        fingerprint = hashing.result()
    if fingerprint and not force:
        previous = catalog.find_version_by_hash(table, fingerprint)
        if previous is None:
            previous = _legacy_version(catalog, table, source)
        if previous is not None and store.exists():
            return IngestResult(
                table=table,
                status="skipped",
                run_id=None,
                version=store.version(),
                mode=mode,
                source=source.uri,
                source_hash=fingerprint,
                duration_s=time.perf_counter() - started,
                message=(
                    f"{source.uri} was already ingested into `{table}` (version "
                    f"{previous.delta_version}); nothing to do. Use --force to ingest it again."
                ),
            )

    contract_version = catalog.save_contract(table, contract.to_yaml(), contract.fingerprint())
    run_id = catalog.start_run(
        "ingest",
        table=table,
        source=source.uri,
        source_hash=fingerprint,
        mode=mode,
        user=user,
        params={
            "force": force,
            "max_reject_rate": max_reject_rate,
            "key": key,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        },
    )
    staging = ws.staging_dir(run_id)
    try:
        validator = _validator(
            ws,
            source,
            contract,
            table,
            mode,
            store,
            run_id,
            prefetch.validator if prefetch else None,
        )
        quarantine_files: list[Path] = []
        raised: list[BaseException] = []

        def good_batches() -> Generator[pa.RecordBatch, None, None]:
            try:
                if ws.ingest_threads > 1:  # check batch N+1 while the writer encodes batch N
                    yield from in_background(validated_batches(), name="lakeforge-checks")
                else:
                    yield from validated_batches()
            except BaseException as exc:  # deltalake wraps what a generator raises: keep it
                raised.append(exc)
                raise

        outcomes = (
            iter(prefetch)
            if prefetch is not None
            else _validated(
                validator, source.tasks(validator.typed_read_types()), threads=ws.ingest_threads
            )
        )
        primed: list[ValidatedBatch] = []
        for outcome in outcomes:  # look ahead to the first batch that read something
            primed.append(outcome)
            if outcome.read:
                break
        if mode != "overwrite" and store.exists() and validator.read == 0:
            message = f"{source.uri} has no rows (no new rows since the last pull); nothing to do"
            catalog.finish_run(run_id, status="skipped", stats={"message": message})
            return IngestResult(
                table=table,
                status="skipped",
                run_id=run_id,
                version=store.version(),
                mode=mode,
                source=source.uri,
                source_hash=fingerprint,
                duration_s=time.perf_counter() - started,
                message=message,
            )

        def validated_batches() -> Iterator[pa.RecordBatch]:
            for outcome in itertools.chain(primed, outcomes):
                if outcome.bad.num_rows:
                    path = staging / f"quarantine-{len(quarantine_files):05d}.parquet"
                    pq.write_table(outcome.bad, path)
                    quarantine_files.append(path)
                if on_progress is not None:
                    on_progress(validator.read, validator.quarantined)
                yield from outcome.good.to_batches()
            rate = validator.quarantined / validator.read if validator.read else 0.0
            if rate > max_reject_rate:
                raise RejectedDataError(
                    f"{validator.quarantined:,} of {validator.read:,} rows "
                    f"({rate:.1%}) failed checks, above the allowed {max_reject_rate:.1%}; "
                    f"nothing was written to `{table}`. Fix the source, or raise "
                    "--max-reject-rate to keep the good rows and quarantine the rest. "
                    "First problems:",
                    table=table,
                    problems=_first_problems(quarantine_files),
                )

        metadata = {
            "lakeforge.run_id": run_id,
            "lakeforge.source": source.uri[:500],
            "lakeforge.source_hash": fingerprint or "",
        }
        feed = good_batches()
        try:
            version = store.write(
                feed,
                schema=validator.schema,
                mode=mode,
                key=key or (),
                metadata=metadata,
                description=contract.description,
                schema_mode="merge" if mode == "append" else None,
            )
        except Exception as exc:
            if raised:
                raise raised[0] from None
            raise IngestError(
                f"writing `{table}` failed; the table is unchanged: {exc}", table=table
            ) from exc
        finally:
            feed.close()  # stops the background checks if the writer gave up early
        catalog.register_table(
            table,
            layer=layer or contract.layer,
            path=str(store.path),
            description=contract.description,
        )
        quarantine_version = _commit_quarantine(ws, table, validator, quarantine_files, metadata)
        checks = _finish_checks(validator, store, contract)
        duration = time.perf_counter() - started
        catalog.record_version(
            table,
            delta_version=version,
            run_id=run_id,
            operation=mode,
            source_kind=source.kind,
            source=source.uri,
            source_hash=fingerprint,
            rows_read=validator.read,
            rows_written=validator.written,
            rows_quarantined=validator.quarantined,
            check_results=checks,
            duration_s=duration,
            user=user,
            contract_version=contract_version,
            quarantine_version=quarantine_version,
        )
        catalog.add_lineage(ws.source_node(source), f"table:{table}", kind="ingest", run_id=run_id)
        for fk in contract.foreign_keys:
            catalog.add_lineage(
                f"table:{fk.ref_table}", f"table:{table}", kind="foreign_key", run_id=run_id
            )
        result = IngestResult(
            table=table,
            status="succeeded",
            run_id=run_id,
            version=version,
            rows_read=validator.read,
            rows_written=validator.written,
            rows_quarantined=validator.quarantined,
            mode=mode,
            source=source.uri,
            source_hash=fingerprint,
            contract_version=contract_version,
            duration_s=duration,
            checks=checks,
        )
        catalog.finish_run(run_id, status="succeeded", stats=result.to_dict())
        return result
    except RejectedDataError as exc:
        rejected = IngestResult(
            table=table,
            status="rejected",
            run_id=run_id,
            version=store.version(),
            rows_read=validator.read,
            rows_written=0,
            rows_quarantined=validator.quarantined,
            mode=mode,
            source=source.uri,
            source_hash=fingerprint,
            duration_s=time.perf_counter() - started,
            checks=_statuses(list(validator.results.values())),
            message=exc.message,
        )
        exc.result = rejected
        catalog.finish_run(run_id, status="failed", stats=rejected.to_dict(), error=exc.message)
        raise
    except BaseException as exc:
        catalog.finish_run(run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if "outcomes" in locals():
            _close(outcomes)  # stops any reading ahead before the validator goes
        if "validator" in locals():
            validator.close()
        shutil.rmtree(staging, ignore_errors=True)
        if not store.exists():  # a first write that never committed leaves only data files
            shutil.rmtree(store.path, ignore_errors=True)


def _legacy_version(catalog: Catalog, table: str, source: Source) -> TableVersionRecord | None:
    """A version loaded from this content when earlier versions hashed it with SHA-256."""
    legacy = {h for h in catalog.source_hashes(table, source.uri) if ":" not in h}
    if not legacy:
        return None
    digest = source.legacy_fingerprint()
    if digest is None or digest not in legacy:
        return None
    return catalog.find_version_by_hash(table, digest)


def _validated(
    validator: BatchValidator, tasks: Iterator[Callable[[], RawBatch]], *, threads: int
) -> Iterator[ValidatedBatch]:
    """Read and check batches; the stateful part runs in source order on this thread.

    Parsing and the stateless checks run in a thread pool; uniqueness, counters and
    quarantine rows are finished in source order on the calling thread.
    """
    try:
        yield from _run_tasks(validator, tasks, threads=threads)
    finally:
        _close(tasks)  # a source reading ahead on a thread of its own stops it


def _close(items: Iterator[Any]) -> None:
    close = getattr(items, "close", None)
    if close is not None:
        close()


def _run_tasks(
    validator: BatchValidator, tasks: Iterator[Callable[[], RawBatch]], *, threads: int
) -> Iterator[ValidatedBatch]:
    if threads <= 1:
        for task in tasks:
            yield validator.validate(task())
        return

    def read_and_prepare(task: Callable[[], RawBatch]) -> PreparedBatch:
        return validator.prepare(task())

    with ThreadPoolExecutor(threads, thread_name_prefix="lakeforge-ingest") as pool:
        pending: deque[Future[PreparedBatch]] = deque()
        for task in tasks:
            pending.append(pool.submit(read_and_prepare, task))
            while len(pending) > threads:
                yield validator.finish(pending.popleft().result())
        while pending:
            yield validator.finish(pending.popleft().result())


class _Prefetch:
    """Parse and prepare a file's batches in a thread pool, ahead of the stateful checks.

    Started before the catalog work of an ingest. At most ``2 * threads`` batches wait, so
    memory stays bounded. Only for files (reading them has no side effect) and contracts
    without foreign keys to other tables (their parent keys are loaded later).
    """

    def __init__(
        self, validator: BatchValidator, tasks: Iterator[Callable[[], RawBatch]], threads: int
    ) -> None:
        self.validator = validator
        self._tasks = tasks
        self._depth = 2 * threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="lakeforge-ingest")
        self._pending: deque[Future[PreparedBatch]] = deque()
        self._fill()

    @classmethod
    def start(cls, ws: Workspace, source: Source, contract: Contract) -> _Prefetch | None:
        """A running prefetch, or None where it does not apply (then batches stream later)."""
        threads = ws.ingest_threads
        if threads <= 1 or source.kind != "file":
            return None
        if any(fk.ref_table != contract.table for fk in contract.foreign_keys):
            return None
        try:
            validator = _base_validator(source, contract, run_id="")
        except ContractError:
            return None  # raised again, in its place, once the run is recorded
        return cls(validator, source.tasks(validator.typed_read_types()), threads)

    def _prepare(self, task: Callable[[], RawBatch]) -> PreparedBatch:
        return self.validator.prepare(task())

    def _fill(self) -> None:
        while len(self._pending) < self._depth:
            task = next(self._tasks, None)
            if task is None:
                return
            self._pending.append(self._pool.submit(self._prepare, task))

    def __iter__(self) -> Iterator[ValidatedBatch]:
        while self._pending:
            prepared = self._pending.popleft().result()
            self._fill()
            yield self.validator.finish(prepared)

    def close(self) -> None:
        """Stop reading; wait for the running tasks (none is left holding the file)."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        _close(self._tasks)
        self.validator.close()


def _base_validator(
    source: Source,
    contract: Contract,
    *,
    run_id: str,
    parents: Sequence[ParentKeys] = (),
) -> BatchValidator:
    """A validator with empty key indexes (and the given parent keys)."""
    read = getattr(source, "options", None)
    null_values = list(read.null_values) if read is not None else [""]
    trim = bool(read.trim) if read is not None else False
    return BatchValidator(
        contract,
        source.columns(),
        null_values=null_values,
        trim=trim,
        key_indexes=[KeyIndex(cols) for cols in contract.unique_keys()],
        parents=parents,
        run_id=run_id,
        source_uri=source.uri,
        location_kind=source.location_kind,
    )


def _validator(
    ws: Workspace,
    source: Source,
    contract: Contract,
    table: str,
    mode: WriteMode,
    store: DeltaStore,
    run_id: str,
    prefetched: BatchValidator | None = None,
) -> BatchValidator:
    if prefetched is not None:  # same contract and source; no parents (see _Prefetch)
        prefetched.run_id = run_id
        _seed_keys(prefetched.key_indexes, source, mode, store)
        return prefetched
    parents: list[ParentKeys] = []
    for fk in contract.foreign_keys:
        if fk.ref_table == table:
            continue  # self references are checked after the write, not row by row
        try:
            parent_store = ws.store(fk.ref_table)
            parent_rows = parent_store.read(columns=fk.ref_columns)
        except Exception as exc:
            raise IngestError(
                f"{fk.label()}: parent table `{fk.ref_table}` cannot be read ({exc}); "
                "ingest the parent first",
                table=table,
            ) from None
        keys = pl.from_arrow(parent_rows)
        assert isinstance(keys, pl.DataFrame)
        cast = {
            ref: contract.column(col) for col, ref in zip(fk.columns, fk.ref_columns, strict=True)
        }
        keys = keys.with_columns(
            pl.col(ref).cast(polars_type(col), strict=False) for ref, col in cast.items()
        ).unique()
        parents.append(ParentKeys(fk, keys))
    validator = _base_validator(source, contract, run_id=run_id, parents=parents)
    _seed_keys(validator.key_indexes, source, mode, store)
    return validator


def _seed_keys(
    key_indexes: list[KeyIndex], source: Source, mode: WriteMode, store: DeltaStore
) -> None:
    """Load the table's keys (appends collide with them) and size the indexes."""
    if mode == "append" and store.exists() and key_indexes:
        needed = sorted({c for index in key_indexes for c in index.columns})
        existing = pl.from_arrow(store.read(columns=needed))
        assert isinstance(existing, pl.DataFrame)
        for index in key_indexes:
            index.seed(existing.select(index.columns))
    expected = min(source.estimated_rows() or 0, _MAX_RESERVED_KEYS)
    if expected:  # one allocation instead of a rebuild at each doubling
        for index in key_indexes:
            index.reserve(expected + expected // 16)


def _commit_quarantine(
    ws: Workspace,
    table: str,
    validator: BatchValidator,
    files: list[Path],
    metadata: dict[str, str],
) -> int | None:
    if not files:
        return None
    store = ws.quarantine_store(table)

    def batches() -> Iterator[pa.RecordBatch]:
        for path in files:
            yield from pq.ParquetFile(path).iter_batches()

    # quarantine columns are all text, so a changed contract only adds columns: merge them
    return store.write(
        batches(), schema=validator.qschema, mode="append", metadata=metadata, schema_mode="merge"
    )


def _finish_checks(
    validator: BatchValidator, store: DeltaStore, contract: Contract
) -> list[dict[str, Any]]:
    results: list[CheckResult] = list(validator.results.values())
    for check in contract.checks:
        if isinstance(check, FreshnessCheck):
            result = validator.results[check.label()]
            newest = store.read(columns=[check.column]).column(0)
            latest = pa.compute.max(newest).as_py()
            if latest is None:
                result.failed, result.detail = 1, "the table has no values"
            else:
                stamp = (
                    latest
                    if isinstance(latest, dt.datetime)
                    else dt.datetime.combine(latest, dt.time.max)
                )
                if stamp.tzinfo is None:
                    stamp = stamp.replace(tzinfo=dt.UTC)
                age = (dt.datetime.now(dt.UTC) - stamp).total_seconds()
                result.detail = f"newest value {latest} is {age / 3600:.1f} h old"
                if age > check.max_age_seconds():
                    result.failed = 1
    return _statuses(results)


def _statuses(results: list[CheckResult]) -> list[dict[str, Any]]:
    """Check results with their final status: failed (errors), warned, or passed."""
    for result in results:
        if result.failed:
            result.status = "failed" if result.severity == "error" else "warned"
    return [r.as_dict() for r in results]


def _first_problems(files: list[Path], limit: int = 5) -> list[str]:
    """The first quarantined rows' locations and reasons, for an error message."""
    problems: list[str] = []
    for path in files:
        for row in pq.read_table(
            path, columns=["_location_kind", "_location", "_reasons"]
        ).to_pylist():
            problems.append(
                f"{row['_location_kind']} {row['_location']:,}: {'; '.join(row['_reasons'])}"
            )
            if len(problems) >= limit:
                return problems
    return problems
