"""Read-only SQL over the lake: DuckDB scanning Delta snapshots as Arrow datasets.

User queries run on a connection with external access disabled and the configuration
locked, so ``read_csv('/etc/passwd')``, ``COPY ... TO``, ``ATTACH`` and ``SET`` all fail;
only one read-only statement (SELECT, WITH ... SELECT, or a table function-free EXPLAIN)
is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import pyarrow as pa

from lakeforge.errors import ForbiddenQueryError, QueryError

__all__ = ["AsOf", "QueryEngine", "check_read_only"]

AsOf = int | str | dt.datetime | Mapping[str, int] | None
_ALLOWED = {"SELECT", "EXPLAIN"}


def check_read_only(sql: str) -> str:
    """The one read-only statement in ``sql``; raise ForbiddenQueryError otherwise."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"the query does not parse: {exc}") from None
    if len(statements) != 1:
        raise ForbiddenQueryError(
            f"send exactly one statement (got {len(statements)}); separate queries are run "
            "one at a time"
        )
    kind = statements[0].type.name
    if kind not in _ALLOWED:
        raise ForbiddenQueryError(
            f"only read-only SELECT queries are allowed here (got {kind}); the lake is changed "
            "through `lakeforge ingest` and transforms"
        )
    return sql.strip().rstrip(";")


class QueryEngine:
    """Runs read-only SQL against named Arrow datasets (the lake's tables).

    Args:
        resolve: returns the Arrow dataset of a table at a version (None = current) or time.
        tables: names of the tables to expose.
        quarantine: names of tables whose quarantine is exposed as ``quarantine.<name>``.
        memory_limit, threads: DuckDB resource limits.
    """

    def __init__(
        self,
        resolve: Callable[[str, int | None, dt.datetime | None, bool], Any],
        tables: list[str],
        *,
        quarantine: list[str] | None = None,
        memory_limit: str = "4GB",
        threads: int = 0,
    ) -> None:
        self._resolve = resolve
        self._tables = tables
        self._quarantine = quarantine or []
        self._memory_limit = memory_limit
        self._threads = threads

    def _connect(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, Any] = {"memory_limit": self._memory_limit}
        if self._threads:
            config["threads"] = self._threads
        return duckdb.connect(":memory:", config=config)

    def run(self, sql: str, *, as_of: AsOf = None, limit: int | None = None) -> pa.Table:
        """Run ``sql`` and return an Arrow table (at most ``limit`` rows)."""
        statement = check_read_only(sql)
        versions, when = self._versions(statement, as_of)
        con = self._connect()
        try:
            for name in self._tables:
                dataset = self._resolve(name, versions.get(name), when, False)
                if dataset is not None:
                    con.register(name, dataset)
            if self._quarantine:
                con.execute("CREATE SCHEMA quarantine")
                for name in self._quarantine:
                    dataset = self._resolve(name, None, None, True)
                    if dataset is not None:
                        con.register(f"__quarantine_{name}", dataset)
                        con.execute(
                            f'CREATE VIEW quarantine."{name}" AS '
                            f'SELECT * FROM "__quarantine_{name}"'
                        )
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            try:
                relation = con.sql(statement)
                if relation is None:
                    return pa.table({})
                if limit is not None:
                    relation = relation.limit(limit)
                return relation.to_arrow_table()
            except duckdb.PermissionException as exc:
                raise ForbiddenQueryError(
                    f"the query tried to leave the sandbox: {exc}; only lake tables can be read"
                ) from None
            except duckdb.Error as exc:
                raise QueryError(f"query failed: {exc}") from None
        finally:
            con.close()

    def _versions(self, sql: str, as_of: AsOf) -> tuple[dict[str, int], dt.datetime | None]:
        if as_of is None:
            return {}, None
        if isinstance(as_of, Mapping):
            unknown = sorted(set(as_of) - set(self._tables))
            if unknown:
                raise QueryError(f"--as-of names unknown tables: {', '.join(unknown)}")
            return {k: int(v) for k, v in as_of.items()}, None
        if isinstance(as_of, dt.datetime):
            return {}, as_of
        if isinstance(as_of, str) and not as_of.strip().lstrip("-").isdigit():
            parsed = _parse_as_of(as_of)
            if isinstance(parsed, dt.datetime):
                return {}, parsed
            return self._versions(sql, parsed)
        version = int(as_of)
        mentioned = [
            t
            for t in self._tables
            if re.search(rf'(?<![\w."]){re.escape(t)}(?![\w"])', sql, re.IGNORECASE)
        ]
        if len(mentioned) != 1:
            raise QueryError(
                "a version number applies to one table; this query reads "
                f"{', '.join(mentioned) or 'no known table'}: name it, e.g. --as-of orders=3"
            )
        return {mentioned[0]: version}, None


def _parse_as_of(text: str) -> dt.datetime | dict[str, int]:
    """``orders=3,customers=2`` or an ISO timestamp."""
    if "=" in text:
        out: dict[str, int] = {}
        for part in text.split(","):
            name, _, value = part.partition("=")
            if not value.strip().isdigit():
                raise QueryError(f"--as-of {text!r}: expected table=version pairs")
            out[name.strip()] = int(value)
        return out
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"--as-of {text!r} is not a version, table=version pairs or an ISO timestamp"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
