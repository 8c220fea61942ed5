"""Partial masks for PII columns, as DuckDB SQL expressions.

Callers without the ``see_pii`` permission never see a raw PII value: the SQL endpoint reads
views whose PII columns are these expressions (see :class:`lakeforge.lake.QueryEngine`), and
row pages and exports read snapshots masked once by the same expressions. Masked columns are
text. A mask keeps just enough to recognise a value:

==============  =========================  ==================
tag             example                    masked
==============  =========================  ==================
email           jane.doe@example.com       j***@example.com
phone           +1 555-010-7342            ***42
person_name     Jane Mary Doe              J. M. D.
address         12 High St, Leeds          ***
card_number     4111 1111 1111 1234        **** 1234
birth_date      1984-05-17                 1984
free_text       anything                   [redacted]
ip_address      192.168.10.7               192.168.*.*
national_id     AB123456C                  ***
other           anything                   ***
==============  =========================  ==================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import duckdb
import pyarrow as pa

from lakeforge.contracts import Contract

__all__ = ["MASKS", "mask_sql", "mask_table", "masked_columns", "quarantine_masks"]

MASKS: Final[dict[str, str]] = {
    "email": (
        "CASE WHEN strpos({v}, '@') > 1 THEN left({v}, 1) || '***' || substr({v}, strpos({v}, '@'))"
        " ELSE '***' END"
    ),
    "phone": "'***' || right(regexp_replace({v}, '[^0-9]', '', 'g'), 2)",
    "person_name": (
        "array_to_string(list_transform(list_filter(string_split(trim({v}), ' '), "
        "lambda w: w <> ''), lambda w: upper(left(w, 1)) || '.'), ' ')"
    ),
    "address": "'***'",
    "card_number": "'**** ' || right(regexp_replace({v}, '[^0-9]', '', 'g'), 4)",
    "birth_date": (
        "coalesce(CAST(year(TRY_CAST({v} AS DATE)) AS VARCHAR), "
        "CASE WHEN regexp_matches({v}, '^\\d{{4}}') THEN left({v}, 4) ELSE '***' END)"
    ),
    "free_text": "'[redacted]'",
    "ip_address": (
        "CASE WHEN regexp_matches({v}, '^\\d+\\.\\d+\\.\\d+\\.\\d+$') "
        "THEN split_part({v}, '.', 1) || '.' || split_part({v}, '.', 2) || '.*.*' ELSE '***' END"
    ),
    "national_id": "'***'",
    "other": "'***'",
}
"""PII tag -> DuckDB expression over ``{v}`` (the value as text)."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mask_sql(tag: str, column: str) -> str:
    """The SQL expression that masks ``column`` (a plain column name) tagged ``tag``.

    Nulls stay null; an unknown tag masks the whole value.
    """
    value = f"CAST({_quote(column)} AS VARCHAR)"
    body = MASKS.get(tag, MASKS["other"]).format(v=value)
    return f"CASE WHEN {_quote(column)} IS NULL THEN NULL ELSE ({body}) END"


def masked_columns(contract: Contract | None, columns: list[str] | None = None) -> dict[str, str]:
    """``{column: mask expression}`` for the PII columns of ``contract`` (present ones only)."""
    if contract is None:
        return {}
    present = set(columns) if columns is not None else None
    return {
        c.name: mask_sql(c.pii, c.name)
        for c in contract.columns
        if c.pii and (present is None or c.name in present)
    }


def quarantine_masks(contract: Contract | None, columns: list[str]) -> dict[str, str]:
    """Masks for a quarantine: its PII value columns, the raw line, and values in reasons."""
    masks = masked_columns(contract, columns)
    if not masks:
        return {}
    if "_raw" in columns:
        masks["_raw"] = "CASE WHEN \"_raw\" IS NULL THEN NULL ELSE '[redacted]' END"
    if "_reasons" in columns:
        pii = "|".join(sorted(c for c in masks if not c.startswith("_")))
        masks["_reasons"] = (
            f"list_transform(\"_reasons\", lambda r: CASE WHEN regexp_matches(r, '\\b({pii})\\b') "
            "THEN regexp_replace(regexp_replace(r, '''[^'']*''', '''***''', 'g'), "
            "'= \\([^)]*\\)', '= (***)', 'g') ELSE r END)"
        )
    return masks


def mask_table(table: pa.Table, masks: Mapping[str, str]) -> pa.Table:
    """Apply ``{column: expression}`` masks to an Arrow table (one DuckDB pass)."""
    wanted = {c: e for c, e in masks.items() if c in table.column_names}
    if not wanted:
        return table
    replace = ", ".join(f"{expr} AS {_quote(col)}" for col, expr in wanted.items())
    con = duckdb.connect(":memory:")
    try:
        con.register("snapshot", table)
        return con.sql(f"SELECT * REPLACE ({replace}) FROM snapshot").to_arrow_table()
    finally:
        con.close()
