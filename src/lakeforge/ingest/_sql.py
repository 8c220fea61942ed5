"""A SQL query against any SQLAlchemy database, streamed with a server-side cursor.

Rows are fetched ``batch_rows`` at a time (``stream_results``/``yield_per``: a named cursor
on PostgreSQL), and each batch becomes Arrow typed from the values the driver returns (see
``_values``), so memory stays flat however large the result. Locations are 0-based offsets in
the result (``location_kind = "offset"``).

Incremental pulls: with ``incremental_by``, the query is wrapped as
``SELECT * FROM (<query>) AS src WHERE <col> > :since ORDER BY <col>`` (no WHERE on the first
pull) and :attr:`SqlSource.high_water` gives the largest cursor value read, to store and pass
as ``since`` next time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._source import RawBatch, Source
from lakeforge.ingest._values import arrow_column

__all__ = ["SqlSource", "parse_database_url"]

CursorValue = str | int | float | Decimal | dt.date | dt.datetime

_SECRET_PARAM = re.compile(r"pass|secret|token|key", re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_DRIVER_HINTS = {
    "postgresql": "pip install 'lakeforge[postgres]' (psycopg 3)",
    "mysql": "pip install pymysql and use a mysql+pymysql:// URL",
    "mariadb": "pip install pymysql and use a mariadb+pymysql:// URL",
    "mssql": "pip install pyodbc and use an mssql+pyodbc:// URL",
    "oracle": "pip install oracledb and use an oracle+oracledb:// URL",
}


def parse_database_url(url: str) -> URL:
    """Parse a database URL; plain ``postgresql://`` (and ``postgres://``) use psycopg 3.

    Raises:
        SourceError: the text is not a URL SQLAlchemy understands.
    """
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        raise SourceError(
            f"{_redact(url)} is not a database URL like "
            "postgresql://user@host/db or sqlite:///path/to.db",
            source=_redact(url),
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class SqlSource(Source):
    r"""The rows of a SQL query.

    Args:
        url: a SQLAlchemy URL (``postgresql://user@host/db``, ``sqlite:///shop.db``...).
        query: the SELECT to run (one statement; a trailing ``;`` is dropped). A literal
            ``:name`` inside it is read as a bind parameter: write it ``\:name``.
        batch_rows: rows fetched and yielded at a time.
        incremental_by: a column that grows with new rows (an id or an update time): only
            rows above ``since`` are read, in its order.
        since: the last cursor value read by the previous pull (``high_water``), or None.

    Example:
        >>> src = SqlSource("postgresql://app@db/shop", "select * from orders",
        ...                 incremental_by="updated_at", since="2024-05-01T00:00:00")
        >>> batches = list(src.batches())  # doctest: +SKIP
        >>> src.high_water  # doctest: +SKIP
        '2024-05-02T09:14:00'
    """

    kind = "sql"
    location_kind = "offset"

    def __init__(
        self,
        url: str | URL,
        query: str,
        *,
        batch_rows: int = 50_000,
        incremental_by: str | None = None,
        since: CursorValue | None = None,
    ) -> None:
        self.url = parse_database_url(url) if isinstance(url, str) else url
        given = sa.make_url(url) if isinstance(url, str) else url
        self._display_url = _safe_url(given)
        self.query = _strip_statement(query)
        if not self.query:
            raise SourceError("the SQL query is empty; pass the SELECT to run", source=self.uri)
        if batch_rows < 1:
            raise ValueError("batch_rows must be positive")
        self.batch_rows = batch_rows
        self.incremental_by = incremental_by or None
        self.since = since
        #: database strings are data: an empty string stays an empty string, not a null.
        self.options = ReadOptions(null_values=[])
        self._check_sqlite_file()
        self._engine: Engine | None = None
        self._columns: list[str] | None = None
        self._high: Any = None

    # -- Source --------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """``postgresql://user@host/db :: select ...`` (never the password)."""
        return f"{self._display_url} :: {self.query}"

    @property
    def high_water(self) -> str | None:
        """The largest ``incremental_by`` value read so far (ISO 8601 for dates and times).

        Before any row is read (or when none is newer) it is ``since``; None without one.
        """
        if self._high is not None:
            return _cursor_text(self._high)
        return None if self.since is None else _cursor_text(self.since)

    def columns(self) -> list[str]:
        """The query's column names (asks the database without fetching rows)."""
        if self._columns is None:
            self._columns = self._probe_columns()
        return list(self._columns)

    def describe_location(self, location: int) -> str:
        """``postgresql://app@db/shop result row 1,024 (0-based)``."""
        return f"{self._display_url} result row {location:,} (0-based)"

    def batches(self) -> Iterator[RawBatch]:
        """The result, ``batch_rows`` rows at a time, each batch typed from its values."""
        statement, params = self._statement()
        if self.incremental_by is not None and self.incremental_by not in self.columns():
            raise SourceError(
                f"incremental_by column `{self.incremental_by}` is not among the query's "
                f"columns ({', '.join(self.columns())}); name one of them",
                source=self.uri,
                column=self.incremental_by,
            )
        with self._connect() as conn:
            streaming = conn.execution_options(stream_results=True, yield_per=self.batch_rows)
            try:
                result = streaming.execute(sa.text(statement), params)
            except SQLAlchemyError as exc:
                raise self._query_error(exc) from None
            try:
                names = self._checked_names(list(result.keys()))
                self._columns = names
                cursor_index = names.index(self.incremental_by) if self.incremental_by else None
                offset = 0
                for rows in result.partitions(self.batch_rows):
                    columns = list(zip(*rows, strict=True))
                    table = pa.table([arrow_column(list(c)) for c in columns], names=names)
                    if cursor_index is not None:
                        self._advance(columns[cursor_index])
                    locations = pa.array(range(offset, offset + len(rows)), pa.int64())
                    offset += len(rows)
                    yield RawBatch(table, locations)
            except SQLAlchemyError as exc:
                raise self._query_error(exc) from None
            finally:
                result.close()

    def close(self) -> None:
        """Dispose of the engine (its connections are closed)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- SQL -------------------------------------------------------------------------------
    def _statement(self) -> tuple[str, dict[str, Any]]:
        if self.incremental_by is None:
            return self.query, {}
        column = self._get_engine().dialect.identifier_preparer.quote(self.incremental_by)
        where = "" if self.since is None else f" WHERE {column} > :since"
        statement = f"SELECT * FROM ({self.query}) AS src{where} ORDER BY {column}"
        return statement, ({} if self.since is None else {"since": self._since_param()})

    def _since_param(self) -> Any:
        """``since`` as bound to ``:since``.

        SQLite compares text and numbers by storage class, so a number-like cursor is passed
        as a number there; other databases convert the text to the column's type.
        """
        since = self.since
        if isinstance(since, str) and self.url.get_backend_name() == "sqlite":
            if _INT.fullmatch(since):
                return int(since)
            if _FLOAT.fullmatch(since):
                return float(since)
        return since

    def _probe_columns(self) -> list[str]:
        """Column names from ``SELECT * FROM (query) WHERE 1 = 0``, else from the query."""
        probe = f"SELECT * FROM ({self.query}) AS src WHERE 1 = 0"
        with self._connect() as conn:
            try:
                result = conn.execute(sa.text(probe))
            except SQLAlchemyError:
                result = None  # not every statement can be a subquery (PRAGMA, SHOW...)
            if result is not None:
                try:
                    return self._checked_names(list(result.keys()))
                finally:
                    result.close()
        with self._connect() as conn:
            streaming = conn.execution_options(stream_results=True, yield_per=1)
            try:
                result = streaming.execute(sa.text(self.query))
            except SQLAlchemyError as exc:
                raise self._query_error(exc) from None
            try:
                return self._checked_names(list(result.keys()))
            finally:
                result.close()

    def _checked_names(self, names: list[str]) -> list[str]:
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SourceError(
                f"the query returns more than one column named {', '.join(duplicates)}; give "
                "each a distinct name with AS",
                source=self.uri,
            )
        return names

    def _advance(self, values: tuple[Any, ...]) -> None:
        present = [v for v in values if v is not None]
        if not present:
            return
        try:
            top = max(present)
            if self._high is None or top > self._high:
                self._high = top
        except TypeError:  # values of mixed kinds (SQLite): compare as text
            top = max(present, key=_cursor_text)
            if self._high is None or _cursor_text(top) > _cursor_text(self._high):
                self._high = top

    # -- connections -------------------------------------------------------------------------
    def _get_engine(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            except (NoSuchModuleError, ImportError) as exc:
                backend = self.url.get_backend_name()
                hint = _DRIVER_HINTS.get(backend, f"install the Python driver for {backend}")
                raise SourceError(
                    f"no database driver for {self._display_url} ({exc}); {hint}",
                    source=self.uri,
                ) from None
        return self._engine

    def _connect(self) -> Connection:
        engine = self._get_engine()
        try:
            return engine.connect()
        except SQLAlchemyError as exc:
            raise SourceError(
                f"cannot connect to {self._display_url}: {_first_line(exc)}; check that the "
                "server is running and the host, port, database name and credentials in the "
                "URL are right",
                source=self.uri,
            ) from None

    def _query_error(self, exc: SQLAlchemyError) -> SourceError:
        return SourceError(
            f"the query failed on {self._display_url}: {_first_line(exc)}; check the SQL "
            "(table and column names, syntax of this database) and run it in a SQL client",
            source=self.uri,
        )

    def _check_sqlite_file(self) -> None:
        """SQLite would create a missing file silently and then find no tables."""
        if self.url.get_backend_name() != "sqlite":
            return
        database = self.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        if not Path(database).is_file():
            raise SourceError(
                f"SQLite database file not found: {database}; check the path (sqlite:///"
                "relative/path.db, sqlite:////absolute/path.db)",
                source=self.uri,
            )


def _strip_statement(query: str) -> str:
    text = query.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def _safe_url(url: URL) -> str:
    """The URL without its password or secret-looking query parameters."""
    safe = URL.create(
        url.drivername,
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query={k: v for k, v in url.query.items() if not _SECRET_PARAM.search(k)},
    )
    return safe.render_as_string(hide_password=False)


def _redact(text: str) -> str:
    """A URL-ish string with anything between ``:`` and ``@`` after the scheme removed."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1@", text)


def _cursor_text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
