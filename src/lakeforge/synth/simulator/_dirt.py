"""Realistic faults for ingestion's quarantine to catch, each one recorded with its CSV line.

With ``dirty > 0`` the fact tables are written as CSV (so a bad type such as ``12.5x`` can
exist) and about ``dirty`` of their rows get one fault each:

* ``duplicate``: the row is written twice, the copy on the next line;
* ``missing_key``: a key or required reference is empty;
* ``bad_type``: a number, date or timestamp that does not parse;
* ``out_of_range``: a negative quantity, price or amount;
* ``orphan_fk``: a reference to a store, product, customer or order that does not exist.

``truth/faults.parquet`` lists every injected fault: table, line (1-based, the header is line
1), kind, column, the original's line for a duplicate, and the injected text. Rows whose
parent was itself faulted (an order line of a quarantined order) are not listed: they are
consequences, not injections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultSpec", "fault_specs"]

FAULT_KINDS = ("duplicate", "missing_key", "bad_type", "out_of_range", "orphan_fk")


@dataclass(frozen=True)
class FaultSpec:
    """Where a table can be dirtied."""

    keys: tuple[str, ...]  # required columns that may be emptied
    bad_types: tuple[tuple[str, str], ...]  # (column, logical type) written as text
    out_of_range: tuple[str, ...]  # numeric columns that must not be negative
    orphans: tuple[tuple[str, str], ...]  # (column, a key that exists in no parent)


def fault_specs(widths: dict[str, int]) -> dict[str, FaultSpec]:
    """Fault locations per fact table; ``widths`` are the key widths (``{"P": 4, ...}``)."""

    def missing(prefix: str) -> str:
        return prefix + "9" * (widths[prefix] + 1)

    return {
        "daily_sales": FaultSpec(
            keys=("store_id", "product_id"),
            bad_types=(("units_sold", "integer"), ("price", "float"), ("date", "date")),
            out_of_range=("units_sold", "price"),
            orphans=(("store_id", missing("S")), ("product_id", missing("P"))),
        ),
        "orders": FaultSpec(
            keys=("order_id", "customer_id", "store_id"),
            bad_types=(("total_amount", "float"), ("ordered_at", "timestamp")),
            out_of_range=("total_amount", "item_count"),
            orphans=(("customer_id", missing("C")), ("store_id", missing("S"))),
        ),
        "order_items": FaultSpec(
            keys=("order_id", "product_id"),
            bad_types=(("quantity", "integer"), ("unit_price", "float")),
            out_of_range=("quantity", "unit_price"),
            orphans=(("order_id", missing("O")), ("product_id", missing("P"))),
        ),
        "payments": FaultSpec(
            keys=("payment_id", "card_number"),
            bad_types=(("amount", "float"), ("paid_at", "timestamp")),
            out_of_range=("amount",),
            orphans=(("order_id", missing("O")), ("customer_id", missing("C"))),
        ),
    }


def _bad_text(kind: str, original: list[str | None], rng: np.random.Generator) -> list[str]:
    out: list[str] = []
    for value in original:
        roll = rng.random()
        if kind == "date":
            out.append("2023-02-30" if roll < 0.5 else "31/31/2023")
        elif kind == "timestamp":
            out.append("yesterday 10am" if roll < 0.5 else "2023-13-01 25:61:00")
        elif roll < 0.6 and value is not None:
            out.append(f"{value}x")
        else:
            out.append("n/a" if roll < 0.8 else "#VALUE!")
    return out


class FaultInjector:
    """Dirties chunks of the fact tables and keeps the record of every fault."""

    def __init__(self, rate: float, specs: dict[str, FaultSpec], rng: np.random.Generator) -> None:
        self.rate = rate
        self.specs = specs
        self.rng = rng
        self._next_line: dict[str, int] = dict.fromkeys(specs, 2)
        self._records: dict[str, list[object]] = {
            "table": [],
            "line": [],
            "kind": [],
            "column": [],
            "original_line": [],
            "value": [],
        }

    def prepare(self, table_name: str, table: pa.Table) -> pa.Table:
        """Plain (not dictionary) columns, and those that may hold bad types as text.

        Every chunk of a table gets the same schema.
        """
        spec = self.specs[table_name]
        for i, field in enumerate(table.schema):
            if pa.types.is_dictionary(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
        for column, _ in spec.bad_types:
            i = table.schema.get_field_index(column)
            table = table.set_column(i, column, table.column(column).cast(pa.string()))
        return table

    def inject(self, table_name: str, table: pa.Table) -> pa.Table:
        """One fault in about ``rate`` of the rows; returns the dirtied chunk."""
        table = self.prepare(table_name, table)
        spec = self.specs[table_name]
        rng = self.rng
        n = table.num_rows
        first_line = self._next_line[table_name]
        count = int(rng.binomial(n, self.rate)) if n else 0
        rows = np.sort(rng.choice(n, size=count, replace=False)) if count else np.zeros(0, int)
        kinds = rng.integers(0, len(FAULT_KINDS), size=count)
        duplicates = rows[kinds == 0]
        logical_types = dict(spec.bad_types)

        def line_of(row: int) -> int:
            return first_line + row + int(np.searchsorted(duplicates, row, side="left"))

        edits: dict[str, tuple[list[int], list[object]]] = {}

        def edit(column: str, row: int, value: object, kind: str) -> None:
            rows_, values = edits.setdefault(column, ([], []))
            rows_.append(row)
            values.append(value)
            self._record(table_name, line_of(row), kind, column, None, value)

        for row, kind_index in zip(rows.tolist(), kinds.tolist(), strict=True):
            kind = FAULT_KINDS[kind_index]
            if kind == "duplicate":
                line = line_of(row)
                self._record(table_name, line + 1, kind, None, line, None)
            elif kind == "missing_key":
                edit(spec.keys[rng.integers(len(spec.keys))], row, None, kind)
            elif kind == "bad_type":
                column, logical = spec.bad_types[rng.integers(len(spec.bad_types))]
                original = table.column(column)[row].as_py()
                edit(column, row, _bad_text(logical, [original], rng)[0], kind)
            elif kind == "out_of_range":
                column = spec.out_of_range[rng.integers(len(spec.out_of_range))]
                value = float(table.column(column)[row].as_py() or 0)
                bad = -abs(value) - float(rng.integers(1, 5))
                integer = logical_types.get(column) == "integer" or pa.types.is_integer(
                    table.schema.field(column).type
                )
                edit(column, row, int(bad) if integer else round(bad, 2), kind)
            else:
                column, orphan = spec.orphans[rng.integers(len(spec.orphans))]
                edit(column, row, orphan, kind)

        for column, (edit_rows, values) in edits.items():
            i = table.schema.get_field_index(column)
            field_type = table.schema.field(column).type
            order = np.argsort(edit_rows, kind="stable")
            mask = np.zeros(n, dtype=bool)
            mask[np.asarray(edit_rows)[order]] = True
            ordered = [values[j] for j in order]
            if pa.types.is_string(field_type):
                ordered = [None if v is None else str(v) for v in ordered]
            replacement = pa.array(ordered, field_type)
            table = table.set_column(
                i,
                column,
                pc.replace_with_mask(
                    table.column(column).combine_chunks(), pa.array(mask), replacement
                ),
            )
        if len(duplicates):
            positions = np.sort(np.concatenate([np.arange(n), duplicates]), kind="stable")
            table = table.take(pa.array(positions))
        self._next_line[table_name] = first_line + table.num_rows
        return table

    def _record(
        self,
        table: str,
        line: int,
        kind: str,
        column: str | None,
        original_line: int | None,
        value: object,
    ) -> None:
        self._records["table"].append(table)
        self._records["line"].append(line)
        self._records["kind"].append(kind)
        self._records["column"].append(column)
        self._records["original_line"].append(original_line)
        self._records["value"].append(None if value is None else str(value))

    def faults(self) -> pa.Table:
        """Every injected fault, ordered by table and line."""
        table = pa.table(
            {
                "table": pa.array(self._records["table"], pa.string()),
                "line": pa.array(self._records["line"], pa.int64()),
                "kind": pa.array(self._records["kind"], pa.string()),
                "column": pa.array(self._records["column"], pa.string()),
                "original_line": pa.array(self._records["original_line"], pa.int64()),
                "value": pa.array(self._records["value"], pa.string()),
            }
        )
        return table.sort_by([("table", "ascending"), ("line", "ascending")])
