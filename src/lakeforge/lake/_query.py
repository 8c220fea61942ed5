"""Read-only SQL over the lake: DuckDB scanning Delta snapshots as Arrow datasets.

User queries run on a connection with external access disabled and the configuration
locked, so ``read_csv('/etc/passwd')``, ``COPY ... TO``, ``ATTACH`` and ``SET`` all fail;
only one read-only statement (SELECT, WITH ... SELECT, or a table function-free EXPLAIN)
is accepted.

In *strict* mode (the REST service) the statement must also be a plain SELECT whose every
table reference is an exposed lake table, a quarantine or a CTE in scope, checked on DuckDB's
own parse tree (``json_serialize_sql``); table functions other than ``range``,
``generate_series`` and ``unnest`` are refused. Masking (``masked_columns``) implies strict
mode: each table is then a view whose PII columns are already masked, over an Arrow dataset
registered under a random internal name that no accepted query can name.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import duckdb
import pyarrow as pa

from lakeforge.errors import ForbiddenQueryError, QueryError

__all__ = ["AsOf", "QueryEngine", "check_read_only"]

AsOf = int | str | dt.datetime | Mapping[str, int] | None
_ALLOWED = {"SELECT", "EXPLAIN"}
_INTERNAL_PREFIX: Final = "__lf_"
_SAFE_TABLE_FUNCTIONS: Final = frozenset({"range", "generate_series", "unnest"})
_SAFE_REF_TYPES: Final = frozenset(
    {"BASE_TABLE", "SUBQUERY", "JOIN", "TABLE_FUNCTION", "EXPRESSION_LIST", "EMPTY", "EMPTY_FROM"}
)
_REF_TYPES: Final = _SAFE_REF_TYPES | {
    "CTE",
    "PIVOT",
    "SHOW_REF",
    "COLUMN_DATA",
    "DELIM_GET",
    "BOUND_TABLE_REF",
    "INVALID",
}


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
        masked_columns: ``{table: {column: sql_expression}}``; the query sees each listed
            column replaced by the expression (written over the raw column). Keys
            ``quarantine.<name>`` mask a quarantine. Implies ``strict``.
        strict: accept only a SELECT whose tables are exposed tables, quarantines or CTEs.
    """

    def __init__(
        self,
        resolve: Callable[[str, int | None, dt.datetime | None, bool], Any],
        tables: list[str],
        *,
        quarantine: list[str] | None = None,
        memory_limit: str = "4GB",
        threads: int = 0,
        masked_columns: Mapping[str, Mapping[str, str]] | None = None,
        strict: bool = False,
    ) -> None:
        self._resolve = resolve
        self._tables = tables
        self._quarantine = quarantine or []
        self._memory_limit = memory_limit
        self._threads = threads
        self._masked = {k: dict(v) for k, v in (masked_columns or {}).items() if v}
        self._strict = strict or bool(self._masked)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, Any] = {"memory_limit": self._memory_limit}
        if self._threads:
            config["threads"] = self._threads
        return duckdb.connect(":memory:", config=config)

    def run(
        self,
        sql: str,
        *,
        as_of: AsOf = None,
        limit: int | None = None,
        timeout_s: float | None = None,
    ) -> pa.Table:
        """Run ``sql`` and return an Arrow table (at most ``limit`` rows).

        Raises:
            ForbiddenQueryError: the statement writes, has several statements, or (strict
                mode) reads anything but the exposed tables.
            QueryError: it does not parse, fails, or runs longer than ``timeout_s``.
        """
        statement = check_read_only(sql)
        if self._strict and duckdb.extract_statements(statement)[0].type.name != "SELECT":
            raise ForbiddenQueryError("only SELECT queries are allowed here")
        versions, when = self._versions(statement, as_of)
        con = self._connect()
        try:
            self._expose(con, versions, when)
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET python_enable_replacements = false")
            con.execute("SET lock_configuration = true")
            if self._strict:
                self._check_references(con, statement)
            return self._execute(con, statement, limit, timeout_s)
        finally:
            con.close()

    def _expose(
        self,
        con: duckdb.DuckDBPyConnection,
        versions: Mapping[str, int],
        when: dt.datetime | None,
    ) -> None:
        """Register every table (and quarantine) the query may read."""
        for name in self._tables:
            dataset = self._resolve(name, versions.get(name), when, False)
            if dataset is not None:
                self._register(con, dataset, name, schema=None)
        if self._quarantine:
            con.execute("CREATE SCHEMA quarantine")
            for name in self._quarantine:
                dataset = self._resolve(name, None, None, True)
                if dataset is not None:
                    self._register(con, dataset, name, schema="quarantine")

    def _register(
        self, con: duckdb.DuckDBPyConnection, dataset: Any, name: str, *, schema: str | None
    ) -> None:
        key = f"{schema}.{name}" if schema else name
        target = f"{_quote(schema)}.{_quote(name)}" if schema else _quote(name)
        masks = self._masked.get(key, {})
        if not self._strict and schema is None:
            con.register(name, dataset)
            return
        internal = f"{_INTERNAL_PREFIX}{secrets.token_hex(12)}"
        con.register(internal, dataset)
        replace = ", ".join(f"{expr} AS {_quote(col)}" for col, expr in masks.items())
        star = f"* REPLACE ({replace})" if replace else "*"
        con.execute(f"CREATE VIEW {target} AS SELECT {star} FROM {_quote(internal)}")

    def _check_references(self, con: duckdb.DuckDBPyConnection, statement: str) -> None:
        rows = con.execute("SELECT json_serialize_sql(?)", [statement]).fetchall()
        tree = json.loads(rows[0][0]) if rows else {"error": True}
        if tree.get("error"):
            raise ForbiddenQueryError(
                f"the query cannot be checked: {tree.get('error_message', 'unknown error')}"
            )
        exposed = {("", t.lower()) for t in self._tables}
        exposed |= {("quarantine", t.lower()) for t in self._quarantine}
        for problem in _reference_problems(tree, exposed):
            raise ForbiddenQueryError(
                f"{problem}; only the lake's tables can be read here "
                f"({', '.join(sorted(self._tables)) or 'none yet'})"
            )

    @staticmethod
    def _execute(
        con: duckdb.DuckDBPyConnection,
        statement: str,
        limit: int | None,
        timeout_s: float | None,
    ) -> pa.Table:
        timer = threading.Timer(timeout_s, con.interrupt) if timeout_s else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            relation = con.sql(statement)
            if relation is None:
                return pa.table({})
            if limit is not None:
                relation = relation.limit(limit)
            return relation.to_arrow_table()
        except duckdb.InterruptException:
            raise QueryError(
                f"the query ran longer than its {timeout_s:g} s limit and was stopped; "
                "narrow it with WHERE or aggregate it"
            ) from None
        except duckdb.PermissionException as exc:
            raise ForbiddenQueryError(
                f"the query tried to leave the sandbox: {exc}; only lake tables can be read"
            ) from None
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from None
        finally:
            if timer is not None:
                timer.cancel()

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


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _reference_problems(tree: Any, exposed: set[tuple[str, str]]) -> Iterator[str]:
    """Walk a ``json_serialize_sql`` tree; yield why each disallowed reference is refused."""

    def walk(node: Any, ctes: frozenset[str]) -> Iterator[str]:
        if isinstance(node, list):
            for item in node:
                yield from walk(item, ctes)
            return
        if not isinstance(node, dict):
            return
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict) and cte_map.get("map"):
            scope = set(ctes)
            for entry in cte_map["map"]:
                name = str(entry.get("key", "")).lower()
                if name.startswith(_INTERNAL_PREFIX):
                    yield f"the name `{name}` is reserved"
                scope.add(name)
                yield from walk(entry.get("value"), frozenset(scope))
            ctes = frozenset(scope)
        kind = node.get("type")
        if "class" not in node and kind in _REF_TYPES:
            yield from check_ref(node, str(kind), ctes)
        for key, value in node.items():
            if key != "cte_map" and isinstance(value, dict | list):
                yield from walk(value, ctes)

    def check_ref(node: dict[str, Any], kind: str, ctes: frozenset[str]) -> Iterator[str]:
        if kind not in _SAFE_REF_TYPES:
            yield f"{kind.lower().replace('_', ' ')} is not allowed"
        elif kind == "BASE_TABLE":
            schema = str(node.get("schema_name") or "").lower()
            name = str(node.get("table_name") or "").lower()
            catalog = str(node.get("catalog_name") or "").lower()
            if schema == "main" and catalog in ("", "memory"):
                schema = ""
            label = f"{schema}.{name}" if schema else name
            if name.startswith(_INTERNAL_PREFIX) or schema.startswith(_INTERNAL_PREFIX):
                yield f"the name `{label}` is reserved"
            elif catalog not in ("", "memory") or (
                (schema, name) not in exposed and not (schema == "" and name in ctes)
            ):
                yield f"`{label}` is not a lake table"
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name") or "").lower()
            if name not in _SAFE_TABLE_FUNCTIONS or function.get("schema"):
                yield f"the table function `{name}` is not allowed"

    seen: set[str] = set()
    for problem in walk(tree.get("statements", []), frozenset()):
        if problem not in seen:
            seen.add(problem)
            yield problem


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
