"""The workspace: a directory with ``lakeforge.toml``, the lake and the catalog.

Example:
    >>> import lakeforge as lf
    >>> ws = lf.Workspace.init("./shop")  # doctest: +SKIP
    >>> ws.ingest("orders.csv", table="orders")  # doctest: +SKIP
    >>> ws.query("select count(*) from orders")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from lakeforge._version import __version__
from lakeforge.config import Settings, get_settings
from lakeforge.contracts import Contract, ReadOptions
from lakeforge.errors import (
    ContractError,
    TableNotFoundError,
    WorkspaceError,
)
from lakeforge.ingest._pipeline import IngestResult, run_ingest
from lakeforge.ingest._source import Source
from lakeforge.lake import AsOf, DeltaStore, QueryEngine, WriteMode

if TYPE_CHECKING:
    from lakeforge.catalog import Catalog, LineageGraph

__all__ = ["Table", "TableInfo", "Workspace"]

CONFIG_FILE = "lakeforge.toml"
_LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class TableInfo:
    """One line of ``lakeforge tables``."""

    name: str
    layer: str
    rows: int
    version: int | None
    last_ingest: dt.datetime | None
    quality_status: str
    rows_quarantined: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "layer": self.layer,
            "rows": self.rows,
            "version": self.version,
            "last_ingest": self.last_ingest.isoformat() if self.last_ingest else None,
            "quality_status": self.quality_status,
            "rows_quarantined": self.rows_quarantined,
        }


class Table:
    """A handle on one lake table: data, versions, contract, quarantine and lineage."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self._ws = ws
        self.name = name
        record = ws.catalog.get_table(name)
        if record is None:
            known = ", ".join(sorted(t.name for t in ws.catalog.list_tables())) or "none yet"
            raise TableNotFoundError(
                f"no table `{name}` in this workspace (tables: {known})", table=name
            )
        self.layer = record.layer
        self.store = DeltaStore(Path(record.path), name=name)

    @property
    def version(self) -> int | None:
        """The current Delta version."""
        return self.store.version()

    def read(self, version: int | None = None, *, columns: Sequence[str] | None = None) -> pa.Table:
        """The table's rows (optionally an older version, some columns)."""
        return self.store.read(version, columns=columns)

    def num_rows(self, version: int | None = None) -> int:
        """Row count without reading the data."""
        return self.store.num_rows(version)

    def schema(self, version: int | None = None) -> pa.Schema:
        """The Arrow schema."""
        return self.store.dataset(version).schema

    def contract(self, version: int | None = None) -> Contract | None:
        """The contract in force (or a given contract version)."""
        record = self._ws.catalog.get_contract(self.name, version)
        return Contract.from_yaml(record.body_yaml) if record else None

    def history(self) -> list[dict[str, Any]]:
        """Every version with its source, counts, checks and who ran it (oldest first)."""
        out = []
        for v in self._ws.catalog.list_versions(self.name):
            out.append(
                {
                    "version": v.delta_version,
                    "operation": v.operation,
                    "source": v.source,
                    "source_hash": v.source_hash,
                    "rows_read": v.rows_read,
                    "rows_written": v.rows_written,
                    "rows_quarantined": v.rows_quarantined,
                    "checks": v.check_results,
                    "duration_s": v.duration_s,
                    "user": v.user,
                    "run_id": v.run_id,
                    "contract_version": v.contract_version,
                    "created_at": v.created_at.isoformat() if v.created_at else None,
                }
            )
        return out

    def quarantine_dataset(self, *, run_id: str | None = None) -> pads.Dataset | None:
        """The quarantine as a lazy dataset of committed runs' rows (None when empty)."""
        store = self._ws.quarantine_store(self.name)
        if not store.exists():
            return None
        committed = self._ws.catalog.committed_run_ids(self.name)
        wanted = sorted({run_id} & committed if run_id else committed)
        return store.dataset().filter(pc.field("_run_id").isin(pa.array(wanted, pa.string())))

    def quarantine(self, *, run_id: str | None = None, limit: int | None = None) -> pa.Table:
        """Rejected rows with their reasons and source locations (committed runs only)."""
        dataset = self.quarantine_dataset(run_id=run_id)
        if dataset is None:
            return pa.table({})
        rows = dataset.to_table()
        rows = rows.sort_by([("_quarantined_at", "ascending"), ("_location", "ascending")])
        return rows.slice(0, limit) if limit is not None else rows

    def lineage(self, *, direction: str = "both") -> LineageGraph:
        """Upstream sources and downstream tables."""
        return self._ws.catalog.lineage(f"table:{self.name}", direction=direction)


class Workspace:
    """A Lakeforge workspace: paths, the catalog and the query engine, passed down explicitly."""

    def __init__(self, root: Path, *, settings: Settings | None = None) -> None:
        self.root = root.resolve()
        self.settings = settings or get_settings()
        config_path = self.root / CONFIG_FILE
        if not config_path.is_file():
            raise WorkspaceError(
                f"no workspace at {self.root} ({CONFIG_FILE} not found); create one with "
                f"`lakeforge init {root}`"
            )
        try:
            self.config = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(f"{config_path} is not valid TOML: {exc}") from None
        self.lake_dir = self.root / "lake"
        self.state_dir = self.root / ".lakeforge"
        self._catalog: Catalog | None = None

    # -- creation ----------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        path: str | Path = ".",
        *,
        catalog_url: str | None = None,
        exist_ok: bool = True,
        settings: Settings | None = None,
    ) -> Workspace:
        """Create a workspace (or open it when it exists and ``exist_ok``)."""
        root = Path(path)
        config = root / CONFIG_FILE
        if config.exists():
            if not exist_ok:
                raise WorkspaceError(f"a workspace already exists at {root.resolve()}")
            return cls(root, settings=settings)
        root.mkdir(parents=True, exist_ok=True)
        for layer in (*_LAYERS, "quarantine"):
            (root / "lake" / layer).mkdir(parents=True, exist_ok=True)
        (root / ".lakeforge").mkdir(exist_ok=True)
        lines = [
            "# Lakeforge workspace",
            "[workspace]",
            f'name = "{root.resolve().name}"',
            f'created = "{dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}"',
            f'lakeforge_version = "{__version__}"',
            "",
            "[catalog]",
            '# url = "postgresql+psycopg://user@127.0.0.1/shop"  (default: SQLite in .lakeforge/)',
        ]
        if catalog_url:
            lines.append(f'url = "{catalog_url}"')
        config.write_text("\n".join(lines) + "\n")
        ws = cls(root, settings=settings)
        ws.catalog  # noqa: B018 - create the catalog schema now
        return ws

    @classmethod
    def open(cls, path: str | Path = ".", *, settings: Settings | None = None) -> Workspace:
        """Open the workspace at ``path`` or the nearest parent that has one."""
        start = Path(path).resolve()
        for candidate in (start, *start.parents):
            if (candidate / CONFIG_FILE).is_file():
                return cls(candidate, settings=settings)
        raise WorkspaceError(
            f"no workspace at {start} or above it ({CONFIG_FILE} not found); create one with "
            f"`lakeforge init {path}`"
        )

    # -- resources ---------------------------------------------------------------------------
    @property
    def catalog_url(self) -> str:
        """Settings first, then lakeforge.toml, then SQLite inside the workspace."""
        url = self.settings.catalog.url or self.config.get("catalog", {}).get("url")
        return str(url) if url else f"sqlite:///{self.state_dir / 'catalog.db'}"

    @property
    def catalog(self) -> Catalog:
        """The metadata catalog (opened on first use)."""
        if self._catalog is None:
            from lakeforge.catalog import Catalog

            self._catalog = Catalog.open(self.catalog_url, echo=self.settings.catalog.echo)
        return self._catalog

    def close(self) -> None:
        """Close the catalog connection."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def store(self, table: str, *, layer: str | None = None) -> DeltaStore:
        """The Delta store of a table (registered path, else ``lake/<layer>/<table>``)."""
        record = self.catalog.get_table(table)
        if record is not None:
            return DeltaStore(Path(record.path), name=table)
        return DeltaStore(self.lake_dir / (layer or "silver") / table, name=table)

    def quarantine_store(self, table: str) -> DeltaStore:
        """Where a table's rejected rows live."""
        return DeltaStore(self.lake_dir / "quarantine" / table, name=f"quarantine.{table}")

    @property
    def ingest_threads(self) -> int:
        """Threads for validation (settings.ingest.threads; 0 = one per core, at most 4)."""
        configured = self.settings.ingest.threads
        return configured if configured else min(4, os.cpu_count() or 1)

    def staging_dir(self, run_id: str) -> Path:
        """A scratch folder for one run (removed when the run ends)."""
        path = self.state_dir / "staging" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def source_node(source: Source) -> str:
        """The lineage node of a source: ``file:/path`` or ``sql:url#hash``."""
        if source.kind == "file":
            return f"file:{source.uri}"
        digest = hashlib.sha256(source.uri.encode()).hexdigest()[:12]
        return f"{source.kind}:{source.uri.split(' :: ')[0]}#{digest}"

    # -- operations ----------------------------------------------------------------------------
    def ingest(
        self,
        source: str | Path | Source,
        *,
        table: str,
        contract: Contract | str | Path | None = None,
        mode: WriteMode = "append",
        key: Sequence[str] | None = None,
        sql: str | None = None,
        incremental_by: str | None = None,
        read: ReadOptions | None = None,
        force: bool = False,
        max_reject_rate: float | None = None,
        user: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IngestResult:
        """Validate and write a source into ``table``; bad rows go to its quarantine.

        Args:
            source: a file path, a database URL (with ``sql``) or a :class:`Source`.
            table: the target table.
            contract: a Contract, a YAML path or text; default: the table's registered
                contract, or one inferred from the source for a new table.
            mode: ``append``, ``overwrite`` or ``merge`` (upsert by ``key``).
            key: merge key (default: the contract's primary key).
            sql: the query, for a database source.
            incremental_by: a cursor column; only rows above the last value read are pulled.
            read: how to read a file (default: the contract's read options, or sniffed).
            force: ingest again even if this exact file was ingested before.
            max_reject_rate: fail (writing nothing) when more rows than this share are bad.
            user: who runs it (default: settings.user or the OS user).
            on_progress: called with (rows read, rows quarantined) after each batch.
        """
        resolved = self._resolve_contract(contract, table)
        opened = (
            source
            if isinstance(source, Source)
            else self._open_source(
                source,
                table=table,
                contract=resolved,
                sql=sql,
                read=read,
                incremental_by=incremental_by,
            )
        )
        if resolved is None:
            from lakeforge.contracts import infer_contract

            resolved = infer_contract(opened, table=table, read=getattr(opened, "options", None))
        rate = self.settings.ingest.max_reject_rate if max_reject_rate is None else max_reject_rate
        result = run_ingest(
            self,
            opened,
            table=table,
            contract=resolved,
            mode=mode,
            key=list(key) if key else None,
            force=force,
            max_reject_rate=rate,
            user=user or self.settings.user or _os_user(),
            on_progress=on_progress,
        )
        high_water = getattr(opened, "high_water", None)
        if incremental_by and high_water is not None and result.status == "succeeded":
            self.catalog.set_cursor(
                table, self._cursor_key(opened, incremental_by), str(high_water)
            )
        opened.close()
        return result

    @staticmethod
    def _cursor_key(source: Source, column: str) -> str:
        """One cursor per (source URI with its query, cursor column)."""
        return hashlib.sha256(f"{source.uri}#{column}".encode()).hexdigest()[:32]

    def _resolve_contract(
        self, contract: Contract | str | Path | None, table: str
    ) -> Contract | None:
        if isinstance(contract, Contract):
            return contract
        if contract is not None:
            text = str(contract)
            path = Path(text)
            if "\n" not in text and path.suffix in (".yaml", ".yml", ".json"):
                if not path.is_file():
                    raise ContractError(f"contract file not found: {path}", source=text)
                return Contract.from_yaml(path.read_text(), source=str(path))
            return Contract.from_yaml(text)
        record = self.catalog.get_contract(table)
        return Contract.from_yaml(record.body_yaml) if record else None

    def _open_source(
        self,
        source: str | Path,
        *,
        table: str,
        contract: Contract | None,
        sql: str | None,
        read: ReadOptions | None,
        incremental_by: str | None,
    ) -> Source:
        from lakeforge.ingest._open import open_source

        text = str(source)
        options = read
        if options is None and contract is not None and contract.read.format is not None:
            options = contract.read
        if options is None and "://" not in text and _looks_delimited(Path(text)):
            from lakeforge.contracts import sniff_csv

            options = sniff_csv(Path(text))
        names = None
        if contract is not None and options is not None and not options.header:
            names = [c.source_name or c.name for c in contract.columns]
        since = None
        if incremental_by:
            probe = open_source(text, sql=sql, incremental_by=incremental_by, options=options)
            since = self.catalog.get_cursor(table, self._cursor_key(probe, incremental_by))
            probe.close()
        return open_source(
            text,
            options=options,
            sql=sql,
            incremental_by=incremental_by,
            since=since,
            column_names=names,
            chunk_bytes=self.settings.ingest.chunk_bytes,
        )

    def query(self, sql: str, *, as_of: AsOf = None, limit: int | None = None) -> pa.Table:
        """Run read-only SQL over the lake (DuckDB) and return Arrow.

        ``as_of`` takes a version (one table), ``{"orders": 3}``, ``"orders=3"`` or a
        timestamp. Quarantines are readable as ``quarantine.<table>``.
        """
        return self.query_engine().run(sql, as_of=as_of, limit=limit)

    def query_engine(
        self,
        *,
        quarantine: bool = True,
        masked_columns: Mapping[str, Mapping[str, str]] | None = None,
        strict: bool = False,
    ) -> QueryEngine:
        """A query engine over every table (and quarantine), optionally masked and strict.

        ``masked_columns`` maps a table (or ``quarantine.<table>``) to ``{column: SQL
        expression}`` replacing those columns; see :class:`lakeforge.lake.QueryEngine`.
        """
        names = [t.name for t in self.catalog.list_tables()]
        with_quarantine = (
            [n for n in names if self.quarantine_store(n).exists()] if quarantine else []
        )
        return QueryEngine(
            self._dataset_for,
            names,
            quarantine=with_quarantine,
            memory_limit=self.settings.query.memory_limit,
            threads=self.settings.query.threads,
            masked_columns=masked_columns,
            strict=strict,
        )

    def _dataset_for(
        self, name: str, version: int | None, when: dt.datetime | None, quarantine: bool
    ) -> Any:
        if quarantine:  # lazy: a query that never reads the quarantine never scans it
            return self.table(name).quarantine_dataset()
        store = self.store(name)
        if not store.exists():
            return None
        return store.dataset(version, as_of=when)

    def table(self, name: str) -> Table:
        """A handle on one table."""
        return Table(self, name)

    def tables(self) -> list[TableInfo]:
        """Every table with its rows, version, last ingest and quality status."""
        out = []
        for record in self.catalog.list_tables():
            store = DeltaStore(Path(record.path), name=record.name)
            latest = self.catalog.latest_version(record.name)
            states = {c.get("status") for c in (latest.check_results if latest else [])}
            quality = (
                "failed"
                if "failed" in states
                else "warned"
                if "warned" in states
                else ("passed" if latest else "unknown")
            )
            out.append(
                TableInfo(
                    name=record.name,
                    layer=record.layer,
                    rows=store.num_rows() if store.exists() else 0,
                    version=store.version() if store.exists() else None,
                    last_ingest=latest.created_at if latest else None,
                    quality_status=quality,
                    rows_quarantined=latest.rows_quarantined if latest else 0,
                )
            )
        return out

    def lineage(self, table: str, *, direction: str = "both") -> LineageGraph:
        """The lineage graph around a table."""
        return self.table(table).lineage(direction=direction)

    def reconcile(self, table: str) -> int:
        """Record Delta commits the catalog missed (a kill between commit and record).

        Returns how many versions were recovered.
        """
        self._close_interrupted_runs(table)
        store = self.store(table)
        if not store.exists() or self.catalog.get_table(table) is None:
            return 0
        known = {v.delta_version for v in self.catalog.list_versions(table)}
        recovered = 0
        for commit in store.history():
            version = int(commit.get("version", -1))
            run_id = commit.get("lakeforge.run_id")
            if version in known or not run_id:
                continue
            metrics = commit.get("operationMetrics", {}) or {}
            written = int(metrics.get("num_added_rows", metrics.get("num_target_rows_inserted", 0)))
            self.catalog.record_version(
                table,
                delta_version=version,
                run_id=str(run_id),
                operation=str(commit.get("operation", "WRITE")).lower(),
                source_kind=None,
                source=commit.get("lakeforge.source"),
                source_hash=commit.get("lakeforge.source_hash") or None,
                rows_read=written,
                rows_written=written,
                rows_quarantined=0,
                check_results=[
                    {
                        "name": "recovered",
                        "kind": "recovered",
                        "severity": "warn",
                        "failed": 0,
                        "status": "warned",
                        "detail": "recorded after an interrupted ingest; quarantine "
                        "rows of this run were not committed",
                    }
                ],
                duration_s=0.0,
                user=None,
                contract_version=None,
            )
            run = self.catalog.get_run(str(run_id))
            if run is not None and run.status == "running":
                self.catalog.finish_run(str(run_id), status="succeeded")
            recovered += 1
        return recovered

    def _close_interrupted_runs(self, table: str) -> None:
        """Mark runs whose process died (killed ingests) as failed and drop their staging."""
        host = socket.gethostname()
        for run in self.catalog.list_runs(table=table, kind="ingest"):
            params = run.params or {}
            pid = params.get("pid")
            if run.status != "running" or params.get("host") != host or not pid:
                continue
            if _process_alive(int(pid)):
                continue
            self.catalog.finish_run(
                run.run_id,
                status="failed",
                error=f"interrupted: process {pid} ended before the run finished; "
                "the table was left at its previous version",
            )
            shutil.rmtree(self.state_dir / "staging" / run.run_id, ignore_errors=True)

    def drop(self, table: str) -> None:
        """Delete a table, its quarantine and its catalog entries (lineage and audit stay)."""
        store = self.store(table)
        self.catalog.drop_table(table)
        shutil.rmtree(store.path, ignore_errors=True)
        shutil.rmtree(self.quarantine_store(table).path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _looks_delimited(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() not in (
        ".json",
        ".ndjson",
        ".jsonl",
        ".parquet",
        ".pq",
        ".xlsx",
    )


def _os_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
