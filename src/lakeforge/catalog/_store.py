"""The :class:`Catalog`: Lakeforge's metadata store on SQLite or PostgreSQL.

One small relational database records the tables, their contracts, the runs that wrote them,
one row per Delta commit, lineage, incremental cursors, users and an append-only audit log.
Every method opens a short transaction of its own and returns plain frozen records.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, delete, event, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, CursorResult, Result, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from lakeforge.catalog._models import (
    ApiToken,
    AuditEntry,
    Base,
    ContractVersion,
    IncrementalCursor,
    LineageEdgeRow,
    Run,
    Table,
    TableVersion,
    User,
    utc_now,
)
from lakeforge.catalog._records import (
    AuditRecord,
    ContractRecord,
    LineageEdge,
    LineageGraph,
    RunRecord,
    TableRecord,
    TableVersionRecord,
    UserRecord,
)
from lakeforge.errors import CatalogError, NotFoundError, TableNotFoundError

__all__ = ["RUN_STATUSES", "Catalog", "alembic_config"]

RUN_STATUSES: Final = frozenset({"succeeded", "failed", "skipped"})
"""The statuses ``finish_run`` accepts; a run is ``running`` until then."""

_MIGRATIONS = Path(__file__).with_name("migrations")
_SQLITE_BUSY_TIMEOUT_S: Final = 30
_SQLITE_BEGIN: Final = "lakeforge_sqlite_begin"
_MIGRATION_LOCK_KEY: Final = 0x1A4EF0_CA7A_1060  # any constant bigint shared by all processes
_TABLE_LOCK_SCOPE: Final = 0x1AFE  # first key of the two-key advisory lock on a table name
_URL_HINT: Final = "check LAKEFORGE_CATALOG__URL"


def alembic_config() -> Config:
    """An Alembic config for the migrations shipped inside the package (no alembic.ini).

    Example:
        >>> from alembic import command
        >>> config = alembic_config()
        >>> config.set_main_option("sqlalchemy.url", "sqlite:///scratch.db")
        >>> command.upgrade(config, "head")  # doctest: +SKIP
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


class Catalog:
    """Lakeforge's metadata catalog: tables, contracts, runs, versions, lineage and audit.

    Open it with :meth:`open`, which creates or upgrades the schema; close it (or use it as a
    context manager) to release its connections.

    Example:
        >>> with Catalog.open("sqlite:///workspace/.lakeforge/catalog.db") as catalog:
        ...     catalog.register_table("orders", layer="bronze", path="/lake/bronze/orders")
        ...     run_id = catalog.start_run("ingest", table="orders", source="file:/in/o.csv")
        ...     catalog.finish_run(run_id, status="succeeded", stats={"rows": 10})
    """

    def __init__(self, engine: Engine, *, url: str) -> None:
        """Wrap an engine that already points at a migrated catalog; prefer :meth:`open`."""
        self.url = url
        self._engine = engine
        self._write_engine = (
            engine.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            if engine.dialect.name == "sqlite"
            else engine
        )
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, url: str, *, echo: bool = False) -> Catalog:
        """Connect to the catalog at ``url`` and migrate its schema to the latest version.

        Safe to call again on an up-to-date catalog, and from several processes at once: on
        SQLite the migration holds the write lock (WAL mode, 30 s busy timeout); on
        PostgreSQL it holds an advisory lock.

        Args:
            url: A SQLAlchemy URL, such as ``sqlite:///path/catalog.db`` or
                ``postgresql+psycopg://user@host/db`` (plain ``postgresql://`` uses psycopg 3).
            echo: Log every SQL statement (for debugging).

        Raises:
            CatalogError: The URL is invalid, the database cannot be reached, or it holds a
                catalog from a newer Lakeforge.
        """
        sa_url = _normalise_url(url)
        engine = _create_engine(sa_url, echo=echo)
        catalog = cls(engine, url=url)
        try:
            catalog._migrate()
        except BaseException:
            engine.dispose()
            raise
        return catalog

    def close(self) -> None:
        """Release every connection; the catalog cannot be used afterwards."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL with any password replaced by ``***``, safe for logs and messages."""
        return _redact(self.url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for callers that need raw SQL (reports, tests)."""
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def _migrate(self) -> None:
        config = alembic_config()
        with (
            self._translate_errors("open", connecting=True),
            self._write_engine.connect() as conn,
            conn.begin(),
        ):
            if self.dialect == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = conn
            try:
                command.upgrade(config, "head")
            except CommandError as exc:
                raise CatalogError(
                    f"the catalog at {self.display_url} cannot be upgraded: {exc}; it was "
                    "probably written by a newer Lakeforge, so upgrade lakeforge or point "
                    "LAKEFORGE_CATALOG__URL at another catalog"
                ) from exc

    @contextmanager
    def _translate_errors(self, action: str, *, connecting: bool = False) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            reason = _reason(exc)
            if "database is locked" in reason:
                message = (
                    f"the catalog at {self.display_url} stayed locked by another process for "
                    f"{_SQLITE_BUSY_TIMEOUT_S} s during {action}; retry, or look for a stuck "
                    "lakeforge process"
                )
            elif connecting or exc.connection_invalidated:
                message = f"cannot reach the catalog at {self.display_url}: {reason}; {_URL_HINT}"
            else:
                message = (
                    f"catalog {action} failed at {self.display_url}: {reason}; check that the "
                    f"database is up and writable ({_URL_HINT})"
                )
            raise CatalogError(message) from exc
        except IntegrityError as exc:
            raise CatalogError(
                f"catalog {action} conflicts with data already in {self.display_url}: "
                f"{_reason(exc)}"
            ) from exc
        except SQLAlchemyError as exc:
            raise CatalogError(
                f"catalog {action} failed at {self.display_url}: {_reason(exc)}; the catalog "
                "may be damaged or changed by hand, reopen it to re-run migrations"
            ) from exc

    def _lock_table(self, session: Session, table: str) -> None:
        """Serialise read-then-write steps on one table's rows across processes.

        SQLite writers already hold the database lock (BEGIN IMMEDIATE); PostgreSQL takes a
        transaction-scoped advisory lock on the table's name.
        """
        if self.dialect == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(:scope, hashtext(:table))"),
                {"scope": _TABLE_LOCK_SCOPE, "table": table},
            )

    def _insert(self, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that supports ON CONFLICT, which both backends speak."""
        if self.dialect == "postgresql":
            return postgresql.insert(model)
        return sqlite.insert(model)

    @contextmanager
    def _session(self, action: str, *, write: bool = False) -> Iterator[Session]:
        if self._closed:
            raise CatalogError(f"the catalog at {self.display_url} is closed; open it again")
        engine = self._write_engine if write else self._engine
        with (
            self._translate_errors(action),
            Session(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    # ------------------------------------------------------------------ tables

    def register_table(
        self, name: str, *, layer: str, path: str, description: str | None = None
    ) -> TableRecord:
        """Add a table, or update its layer and path (and description, when given).

        Args:
            name: The table's name, unique in the catalog.
            layer: Its layer, such as ``bronze``, ``silver`` or ``gold``.
            path: Where its Delta table lives.
            description: What the table holds; None keeps the current description.
        """
        now = utc_now()
        statement = self._insert(Table).values(
            name=name,
            layer=layer,
            path=path,
            description=description,
            created_at=now,
            updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[Table.name],
            set_={
                "layer": layer,
                "path": path,
                "description": func.coalesce(statement.excluded.description, Table.description),
                "updated_at": now,
            },
        )
        with self._session("register_table", write=True) as session:
            session.execute(statement)
            row = session.scalars(select(Table).where(Table.name == name)).one()
            return _table_record(row)

    def get_table(self, name: str) -> TableRecord | None:
        """The table called ``name``, or None."""
        with self._session("get_table") as session:
            row = session.scalars(select(Table).where(Table.name == name)).one_or_none()
            return None if row is None else _table_record(row)

    def list_tables(self) -> list[TableRecord]:
        """Every registered table, by name."""
        with self._session("list_tables") as session:
            return [
                _table_record(row) for row in session.scalars(select(Table).order_by(Table.name))
            ]

    def drop_table(self, name: str, *, missing_ok: bool = False) -> None:
        """Forget a table: its row, contracts, versions and incremental cursors.

        Runs, lineage and the audit log keep their history. Cursors go too, so a table that
        is created again under the same name loads its sources from the start.

        Raises:
            TableNotFoundError: No table has that name (unless ``missing_ok``).
        """
        with self._session("drop_table", write=True) as session:
            deleted = _rowcount(session.execute(delete(Table).where(Table.name == name)))
            for model in (ContractVersion, TableVersion, IncrementalCursor):
                session.execute(delete(model).where(model.table_name == name))
            if not deleted and not missing_ok:
                raise TableNotFoundError(
                    f"no table `{name}` in the catalog; `lakeforge tables` lists them", table=name
                )

    # ------------------------------------------------------------------ contracts

    def save_contract(self, table: str, body_yaml: str, fingerprint: str) -> int:
        """Store a new contract version and return its number (1, 2, ...).

        When ``fingerprint`` equals the latest version's, nothing is added and that
        version's number is returned.
        """
        with self._session("save_contract", write=True) as session:
            self._lock_table(session, table)
            latest = session.scalars(
                select(ContractVersion)
                .where(ContractVersion.table_name == table)
                .order_by(ContractVersion.version.desc())
                .limit(1)
            ).one_or_none()
            if latest is not None and latest.fingerprint == fingerprint:
                return latest.version
            version = 1 if latest is None else latest.version + 1
            session.add(
                ContractVersion(
                    table_name=table,
                    version=version,
                    body_yaml=body_yaml,
                    fingerprint=fingerprint,
                    created_at=utc_now(),
                )
            )
            return version

    def get_contract(self, table: str, version: int | None = None) -> ContractRecord | None:
        """A contract version of ``table`` (the latest when ``version`` is None), or None."""
        query = select(ContractVersion).where(ContractVersion.table_name == table)
        if version is None:
            query = query.order_by(ContractVersion.version.desc()).limit(1)
        else:
            query = query.where(ContractVersion.version == version)
        with self._session("get_contract") as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else _contract_record(row)

    def list_contracts(self, table: str) -> list[ContractRecord]:
        """Every contract version of ``table``, oldest first."""
        query = (
            select(ContractVersion)
            .where(ContractVersion.table_name == table)
            .order_by(ContractVersion.version)
        )
        with self._session("list_contracts") as session:
            return [_contract_record(row) for row in session.scalars(query)]

    # ------------------------------------------------------------------ runs

    def start_run(
        self,
        kind: str,
        *,
        table: str | None,
        source: str | None = None,
        source_hash: str | None = None,
        mode: str | None = None,
        user: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> str:
        """Record that a run (ingest, transform, fit, ...) has started; returns its run_id.

        Args:
            kind: What sort of run, such as ``ingest`` or ``transform``.
            table: The table it writes, if any.
            source: The lineage node it reads, such as ``file:/abs/orders.csv``.
            source_hash: A fingerprint of the source's content.
            mode: How it writes, such as ``append`` or ``overwrite``.
            user: Who started it.
            params: JSON-ready parameters worth keeping.
        """
        _require_json_ready(params, "params")
        run_id = uuid.uuid4().hex
        with self._session("start_run", write=True) as session:
            session.add(
                Run(
                    run_id=run_id,
                    kind=kind,
                    table_name=table,
                    source=source,
                    source_hash=source_hash,
                    mode=mode,
                    user_name=user,
                    params=params,
                    status="running",
                    started_at=utc_now(),
                )
            )
        return run_id

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a run ended: ``succeeded``, ``failed`` or ``skipped``.

        Raises:
            CatalogError: ``status`` is not one of those, or the run has already finished.
            NotFoundError: No run has that id.
        """
        if status not in RUN_STATUSES:
            raise CatalogError(
                f"run status {status!r} is not one of {', '.join(sorted(RUN_STATUSES))}"
            )
        _require_json_ready(stats, "stats")
        with self._session("finish_run", write=True) as session:
            row = session.scalars(select(Run).where(Run.run_id == run_id)).one_or_none()
            if row is None:
                raise NotFoundError(f"no run {run_id} in the catalog; check the run id")
            if row.status != "running":
                raise CatalogError(
                    f"run {run_id} already finished ({row.status}); start a new run instead"
                )
            row.status = status
            row.stats = stats
            row.error = error
            row.finished_at = utc_now()

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._session("get_run") as session:
            row = session.scalars(select(Run).where(Run.run_id == run_id)).one_or_none()
            return None if row is None else _run_record(row)

    def list_runs(
        self, *, table: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[RunRecord]:
        """The latest runs, newest first, optionally only those of one table or kind."""
        query = select(Run).order_by(Run.id.desc()).limit(limit)
        if table is not None:
            query = query.where(Run.table_name == table)
        if kind is not None:
            query = query.where(Run.kind == kind)
        with self._session("list_runs") as session:
            return [_run_record(row) for row in session.scalars(query)]

    # ------------------------------------------------------------------ table versions

    def record_version(
        self,
        table: str,
        *,
        delta_version: int,
        run_id: str | None,
        operation: str,
        source_kind: str | None,
        source: str | None,
        source_hash: str | None,
        rows_read: int,
        rows_written: int,
        rows_quarantined: int,
        check_results: list[dict[str, Any]],
        duration_s: float,
        user: str | None,
        contract_version: int | None,
        quarantine_version: int | None = None,
    ) -> TableVersionRecord:
        """Record one Delta commit Lakeforge made to ``table``.

        Args:
            table: The table written.
            delta_version: The Delta log version the commit produced.
            run_id: The run that made it.
            operation: ``append``, ``overwrite``, ``merge``, ...
            source_kind: ``csv``, ``parquet``, ``sql``, ...
            source: The lineage node read, such as ``file:/abs/orders.csv``.
            source_hash: A fingerprint of the source's content, to skip repeated loads.
            rows_read: Rows read from the source.
            rows_written: Rows committed to the table.
            rows_quarantined: Rows sent to quarantine instead.
            check_results: One JSON-ready dict per quality check.
            duration_s: How long the load took.
            user: Who ran it.
            contract_version: The contract version the rows were validated against.
            quarantine_version: The quarantine table's Delta version written alongside.
        """
        _require_json_ready(check_results, "check_results")
        row = TableVersion(
            table_name=table,
            delta_version=delta_version,
            run_id=run_id,
            operation=operation,
            source_kind=source_kind,
            source=source,
            source_hash=source_hash,
            rows_read=rows_read,
            rows_written=rows_written,
            rows_quarantined=rows_quarantined,
            check_results=list(check_results),
            duration_s=duration_s,
            user_name=user,
            contract_version=contract_version,
            quarantine_version=quarantine_version,
            created_at=utc_now(),
        )
        with self._session("record_version", write=True) as session:
            session.add(row)
            session.flush()
            return _version_record(row)

    def list_versions(self, table: str) -> list[TableVersionRecord]:
        """Every recorded commit of ``table``, oldest first."""
        query = (
            select(TableVersion).where(TableVersion.table_name == table).order_by(TableVersion.id)
        )
        with self._session("list_versions") as session:
            return [_version_record(row) for row in session.scalars(query)]

    def latest_version(self, table: str) -> TableVersionRecord | None:
        """The most recent recorded commit of ``table``, or None."""
        query = (
            select(TableVersion)
            .where(TableVersion.table_name == table)
            .order_by(TableVersion.id.desc())
            .limit(1)
        )
        with self._session("latest_version") as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else _version_record(row)

    def find_version_by_hash(self, table: str, source_hash: str) -> TableVersionRecord | None:
        """The latest commit of ``table`` loaded from a source with this content hash."""
        query = (
            select(TableVersion)
            .where(TableVersion.table_name == table, TableVersion.source_hash == source_hash)
            .order_by(TableVersion.id.desc())
            .limit(1)
        )
        with self._session("find_version_by_hash") as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else _version_record(row)

    def source_hashes(self, table: str, source: str) -> set[str]:
        """The content hashes recorded for the versions of ``table`` loaded from ``source``."""
        query = select(TableVersion.source_hash).where(
            TableVersion.table_name == table,
            TableVersion.source == source,
            TableVersion.source_hash.is_not(None),
        )
        with self._session("source_hashes") as session:
            return {h for h in session.scalars(query) if h is not None}

    def committed_run_ids(self, table: str) -> set[str]:
        """The ids of every run that committed a version of ``table``."""
        query = select(TableVersion.run_id).where(
            TableVersion.table_name == table, TableVersion.run_id.is_not(None)
        )
        with self._session("committed_run_ids") as session:
            return {run_id for run_id in session.scalars(query) if run_id is not None}

    # ------------------------------------------------------------------ lineage

    def add_lineage(
        self, source: str, target: str, *, kind: str, run_id: str | None = None
    ) -> None:
        """Record that data flows from ``source`` to ``target``; repeating it changes nothing.

        Nodes are strings such as ``file:/abs/path.csv``, ``sql:postgresql://u@h/db#<sha>``
        or ``table:orders``; ``kind`` says how (``ingest``, ``transform``, ...).
        """
        values = {
            "source": source,
            "target": target,
            "kind": kind,
            "run_id": run_id,
            "created_at": utc_now(),
        }
        statement = self._insert(LineageEdgeRow).values(**values).on_conflict_do_nothing()
        with self._session("add_lineage", write=True) as session:
            session.execute(statement)

    def lineage(self, node: str, *, direction: str = "both", depth: int = 10) -> LineageGraph:
        """The lineage around ``node``, up to ``depth`` hops away.

        Args:
            node: The node to start from, such as ``table:orders``.
            direction: ``upstream`` (where its data came from), ``downstream`` (where it went)
                or ``both`` (each of those, not siblings reached through a shared parent).
            depth: The most hops to follow; 0 returns the node alone.

        Raises:
            CatalogError: ``direction`` is not one of the three above.
        """
        if direction not in ("upstream", "downstream", "both"):
            raise CatalogError(
                f"lineage direction {direction!r} is not upstream, downstream or both"
            )
        nodes = [node]
        edges: dict[tuple[str, str, str], LineageEdge] = {}
        with self._session("lineage") as session:
            for walk in ("upstream", "downstream"):
                if direction not in (walk, "both"):
                    continue
                for edge in self._walk(session, node, upstream=walk == "upstream", depth=depth):
                    edges.setdefault((edge.source, edge.target, edge.kind), edge)
                    for name in (edge.source, edge.target):
                        if name not in nodes:
                            nodes.append(name)
        return LineageGraph(nodes=nodes, edges=list(edges.values()))

    @staticmethod
    def _walk(session: Session, node: str, *, upstream: bool, depth: int) -> Iterator[LineageEdge]:
        seen = {node}
        frontier = {node}
        near = LineageEdgeRow.target if upstream else LineageEdgeRow.source
        for _ in range(depth):
            if not frontier:
                return
            rows = session.scalars(
                select(LineageEdgeRow).where(near.in_(frontier)).order_by(LineageEdgeRow.id)
            ).all()
            frontier = set()
            for row in rows:
                yield _edge(row)
                reached = row.source if upstream else row.target
                if reached not in seen:
                    seen.add(reached)
                    frontier.add(reached)

    # ------------------------------------------------------------------ incremental cursors

    def get_cursor(self, table: str, source: str) -> str | None:
        """How far incremental loads of ``source`` into ``table`` have got, or None."""
        query = select(IncrementalCursor.value).where(
            IncrementalCursor.table_name == table, IncrementalCursor.source == source
        )
        with self._session("get_cursor") as session:
            return session.scalars(query).one_or_none()

    def set_cursor(self, table: str, source: str, value: str) -> None:
        """Remember how far incremental loads of ``source`` into ``table`` have got."""
        now = utc_now()
        statement = self._insert(IncrementalCursor).values(
            table_name=table, source=source, value=value, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[IncrementalCursor.table_name, IncrementalCursor.source],
            set_={"value": value, "updated_at": now},
        )
        with self._session("set_cursor", write=True) as session:
            session.execute(statement)

    # ------------------------------------------------------------------ users and tokens

    def add_user(
        self, name: str, *, role: str, token_hash: str, expires_at: datetime | None = None
    ) -> UserRecord:
        """Create a user together with their first API token (stored only as its hash).

        Raises:
            CatalogError: A user with that name, or a token with that hash, already exists.
        """
        now = utc_now()
        try:
            with self._session("add_user", write=True) as session:
                user = User(name=name, role=role, created_at=now)
                session.add(user)
                session.flush()
                session.add(
                    ApiToken(
                        user_id=user.id,
                        token_hash=token_hash,
                        created_at=now,
                        expires_at=expires_at,
                    )
                )
                session.flush()
                return _user_record(user)
        except CatalogError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise CatalogError(
                    f"user `{name}` or that token already exists; use add_token to give an "
                    "existing user another token"
                ) from exc.__cause__
            raise

    def add_token(
        self, name: str, token_hash: str, expires_at: datetime | None = None
    ) -> UserRecord:
        """Give the existing user ``name`` another API token.

        Raises:
            NotFoundError: No user has that name.
            CatalogError: A token with that hash already exists.
        """
        try:
            with self._session("add_token", write=True) as session:
                user = session.scalars(select(User).where(User.name == name)).one_or_none()
                if user is None:
                    raise NotFoundError(f"no user `{name}`; create them with add_user first")
                session.add(
                    ApiToken(
                        user_id=user.id,
                        token_hash=token_hash,
                        created_at=utc_now(),
                        expires_at=expires_at,
                    )
                )
                session.flush()
                return _user_record(user)
        except CatalogError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise CatalogError(
                    "that token already exists; generate a new random token"
                ) from exc.__cause__
            raise

    def get_user_by_token_hash(self, token_hash: str) -> UserRecord | None:
        """The user owning this token, or None when it is unknown, revoked or expired."""
        query = (
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_hash == token_hash,
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utc_now()),
            )
        )
        with self._session("get_user_by_token_hash") as session:
            user = session.scalars(query).one_or_none()
            return None if user is None else _user_record(user)

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self._session("list_users") as session:
            return [
                _user_record(user) for user in session.scalars(select(User).order_by(User.name))
            ]

    def revoke_user_tokens(self, name: str) -> int:
        """Revoke every live token of user ``name``; returns how many were revoked.

        Raises:
            NotFoundError: No user has that name.
        """
        with self._session("revoke_user_tokens", write=True) as session:
            user_id = session.scalars(select(User.id).where(User.name == name)).one_or_none()
            if user_id is None:
                raise NotFoundError(f"no user `{name}`; `lakeforge users list` shows them")
            result = session.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
            return _rowcount(result)

    # ------------------------------------------------------------------ audit log

    def append_audit(
        self,
        *,
        user: str | None,
        action: str,
        endpoint: str | None = None,
        table: str | None = None,
        rows: int | None = None,
        status: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit log, which nobody can change or delete afterwards."""
        _require_json_ready(detail, "detail")
        with self._session("append_audit", write=True) as session:
            session.add(
                AuditEntry(
                    at=utc_now(),
                    user_name=user,
                    action=action,
                    endpoint=endpoint,
                    table_name=table,
                    row_count=rows,
                    status=status,
                    detail=detail,
                )
            )

    def list_audit(
        self,
        *,
        user: str | None = None,
        since: datetime | None = None,
        table: str | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Audit entries, newest first, optionally by user, table and time (``since`` included)."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if user is not None:
            query = query.where(AuditEntry.user_name == user)
        if table is not None:
            query = query.where(AuditEntry.table_name == table)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        with self._session("list_audit") as session:
            return [_audit_record(row) for row in session.scalars(query)]


# ---------------------------------------------------------------------- engine set-up


def _normalise_url(url: str) -> URL:
    try:
        sa_url = make_url(url)
    except ArgumentError as exc:
        raise CatalogError(
            f"{_redact(url)!r} is not a database URL; use sqlite:///path/catalog.db or "
            f"postgresql+psycopg://user@host/db ({_URL_HINT})"
        ) from exc
    backend = sa_url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if sa_url.drivername in ("postgresql", "postgres"):
            sa_url = sa_url.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        database = sa_url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        raise CatalogError(
            f"the catalog runs on SQLite or PostgreSQL, not {backend!r} ({_redact(url)}); "
            f"{_URL_HINT}"
        )
    return sa_url


def _create_engine(sa_url: URL, *, echo: bool) -> Engine:
    try:
        if sa_url.get_backend_name() == "sqlite":
            engine = create_engine(
                sa_url, echo=echo, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S}
            )
            _configure_sqlite(engine, in_memory=sa_url.database in (None, "", ":memory:"))
            return engine
        connect_args = {} if "connect_timeout" in sa_url.query else {"connect_timeout": 10}
        return create_engine(sa_url, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        raise CatalogError(
            f"no database driver for {sa_url.drivername} ({exc}); for PostgreSQL install "
            "lakeforge[postgres]"
        ) from exc


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN issued by us so writers take the lock early.

    pysqlite normally defers BEGIN until the first write, which lets two processes both read
    and then fail to upgrade to a write lock; writes here start with BEGIN IMMEDIATE instead
    (SQLAlchemy's documented "serializable isolation / savepoints" recipe).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_S * 1000}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def _require_json_ready(value: Any, name: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CatalogError(
            f"{name} cannot be stored: {exc}; it must be JSON-ready (str, finite numbers, "
            "bools, None, lists and dicts), so convert dates and other objects to strings first"
        ) from exc


def _rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (Session.execute is typed as a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def _reason(exc: SQLAlchemyError) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    return " ".join(str(original).split()) or type(original).__name__


# ---------------------------------------------------------------------- row -> record


def _table_record(row: Table) -> TableRecord:
    return TableRecord(
        name=row.name,
        layer=row.layer,
        path=row.path,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _contract_record(row: ContractVersion) -> ContractRecord:
    return ContractRecord(
        table=row.table_name,
        version=row.version,
        body_yaml=row.body_yaml,
        fingerprint=row.fingerprint,
        created_at=row.created_at,
    )


def _run_record(row: Run) -> RunRecord:
    return RunRecord(
        run_id=row.run_id,
        kind=row.kind,
        table=row.table_name,
        source=row.source,
        source_hash=row.source_hash,
        mode=row.mode,
        user=row.user_name,
        params=row.params,
        status=row.status,
        stats=row.stats,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _version_record(row: TableVersion) -> TableVersionRecord:
    return TableVersionRecord(
        table=row.table_name,
        delta_version=row.delta_version,
        run_id=row.run_id,
        operation=row.operation,
        source_kind=row.source_kind,
        source=row.source,
        source_hash=row.source_hash,
        rows_read=row.rows_read,
        rows_written=row.rows_written,
        rows_quarantined=row.rows_quarantined,
        check_results=list(row.check_results or []),
        duration_s=row.duration_s,
        user=row.user_name,
        contract_version=row.contract_version,
        quarantine_version=row.quarantine_version,
        created_at=row.created_at,
    )


def _edge(row: LineageEdgeRow) -> LineageEdge:
    return LineageEdge(
        source=row.source,
        target=row.target,
        kind=row.kind,
        created_at=row.created_at,
        run_id=row.run_id,
    )


def _user_record(row: User) -> UserRecord:
    return UserRecord(name=row.name, role=row.role, created_at=row.created_at)


def _audit_record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        user=row.user_name,
        action=row.action,
        endpoint=row.endpoint,
        table=row.table_name,
        rows=row.row_count,
        status=row.status,
        detail=row.detail,
    )
