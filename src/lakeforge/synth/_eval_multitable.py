"""Multi-table checks: referential integrity, children-per-parent shapes, inter-table trends.

Relations come from the contracts' foreign keys; each is named
``"child(col)->parent(col)"`` (``"orders(customer_id)->customers(customer_id)"``; several key
columns are joined with commas). Definitions follow sdmetrics' multi-table metrics so the
figures compare: cardinality similarity is its ``CardinalityShapeSimilarity`` (``1 - KS``
of the children-per-parent counts, parents with no child counting 0), inter-table trends its
``InterTableTrends`` (column pair trends between a parent's columns and its children's columns
on the child rows joined to their parent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from lakeforge.contracts import Contract
from lakeforge.errors import ContractError
from lakeforge.synth._eval_fidelity import (
    PairTrend,
    identifier_like,
    ks_statistic,
    pair_trends,
    prepare_columns,
    resolve_kinds,
)

__all__ = [
    "Relation",
    "cardinality_similarity",
    "children_per_parent",
    "foreign_key_integrity",
    "inter_table_trends",
    "relation_integrity",
    "relations",
]


@dataclass(frozen=True)
class Relation:
    """One foreign key: ``child.columns`` reference ``parent.parent_columns``."""

    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]

    @property
    def label(self) -> str:
        """``"child(col)->parent(col)"``, the key of every per-relation result."""
        return (
            f"{self.child}({','.join(self.columns)})->"
            f"{self.parent}({','.join(self.parent_columns)})"
        )


def relations(contracts: Sequence[Contract]) -> list[Relation]:
    """Every foreign key of the contracts, in contract order."""
    return [
        Relation(c.table, tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns))
        for c in contracts
        for fk in c.foreign_keys
    ]


def _frame(tables: Mapping[str, pa.Table | pl.DataFrame], name: str, what: str) -> pl.DataFrame:
    try:
        table = tables[name]
    except KeyError:
        raise ContractError(
            f"{what} table `{name}` is not among the tables given "
            f"({', '.join(sorted(tables)) or 'none'})",
            table=name,
        ) from None
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _keys(
    tables: Mapping[str, pa.Table | pl.DataFrame], rel: Relation
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The child's key columns and the parent's, renamed alike and cast to one type."""
    child = _frame(tables, rel.child, "child")
    parent = _frame(tables, rel.parent, "parent")
    for frame, cols, table in (
        (child, rel.columns, rel.child),
        (parent, rel.parent_columns, rel.parent),
    ):
        absent = [c for c in cols if c not in frame.columns]
        if absent:
            raise ContractError(
                f"{rel.label}: table `{table}` lacks key columns {', '.join(absent)}", table=table
            )
    names = [f"__k{i}" for i in range(len(rel.columns))]
    c = child.select([pl.col(a).alias(n) for a, n in zip(rel.columns, names, strict=True)])
    p = parent.select([pl.col(a).alias(n) for a, n in zip(rel.parent_columns, names, strict=True)])
    casts = {}
    for n in names:
        if c[n].dtype != p[n].dtype:
            both_int = c[n].dtype.is_integer() and p[n].dtype.is_integer()
            casts[n] = pl.Int64 if both_int else pl.String
    if casts:
        c = c.cast(casts)  # type: ignore[arg-type]
        p = p.cast(casts)  # type: ignore[arg-type]
    return c, p


def foreign_key_integrity(
    tables: Mapping[str, pa.Table | pl.DataFrame], contracts: Sequence[Contract]
) -> dict[str, float]:
    """Per foreign key, the share of non-null child keys found in the parent (1.0 is perfect).

    A child row whose key has a null column is not counted; a relation with no non-null
    child key scores 1.0.

    Example:
        >>> foreign_key_integrity({"customers": c, "orders": o}, contracts)  # doctest: +SKIP
        {'orders(customer_id)->customers(customer_id)': 1.0}
    """
    return {rel.label: relation_integrity(tables, rel) for rel in relations(contracts)}


def relation_integrity(tables: Mapping[str, pa.Table | pl.DataFrame], rel: Relation) -> float:
    """The share of non-null child keys of one relation found in the parent."""
    child, parent = _keys(tables, rel)
    child = child.drop_nulls()
    if child.height == 0:
        return 1.0
    found = child.join(parent.unique(), on=child.columns, how="semi").height
    return found / child.height


def children_per_parent(tables: Mapping[str, pa.Table | pl.DataFrame], rel: Relation) -> np.ndarray:
    """How many child rows each parent row has (0 included), in parent row order."""
    child, parent = _keys(tables, rel)
    counts = child.drop_nulls().group_by(child.columns).len(name="__n")
    joined = parent.join(counts, on=parent.columns, how="left", maintain_order="left")
    return joined["__n"].fill_null(0).to_numpy().astype(np.float64)


def cardinality_similarity(
    real: Mapping[str, pa.Table | pl.DataFrame],
    synthetic: Mapping[str, pa.Table | pl.DataFrame],
    contracts: Sequence[Contract],
) -> dict[str, float]:
    """Per foreign key, ``1 - KS statistic`` of the children-per-parent counts (1 is identical).

    Example:
        >>> cardinality_similarity(real, synthetic, contracts)  # doctest: +SKIP
        {'orders(customer_id)->customers(customer_id)': 0.97}
    """
    out: dict[str, float] = {}
    for rel in relations(contracts):
        counts_real = children_per_parent(real, rel)
        counts_syn = children_per_parent(synthetic, rel)
        out[rel.label] = 1.0 - ks_statistic(counts_real, counts_syn)
    return out


def _denormalize(
    tables: Mapping[str, pa.Table | pl.DataFrame],
    rel: Relation,
    parent_columns: Sequence[str],
    child_columns: Sequence[str],
) -> pl.DataFrame:
    """Child rows joined to their parent's attributes (``parent.x`` / ``child.y`` names)."""
    child = _frame(tables, rel.child, "child")
    parent = _frame(tables, rel.parent, "parent")
    names = [f"__k{i}" for i in range(len(rel.columns))]
    c_keys, p_keys = _keys(tables, rel)
    c = pl.concat(
        [c_keys, child.select([pl.col(x).alias(f"child.{x}") for x in child_columns])],
        how="horizontal",
    )
    p = pl.concat(
        [p_keys, parent.select([pl.col(x).alias(f"parent.{x}") for x in parent_columns])],
        how="horizontal",
    ).unique(subset=names, keep="first")
    return c.join(p, on=names, how="inner").drop(names)


def inter_table_trends(
    real: Mapping[str, pa.Table | pl.DataFrame],
    synthetic: Mapping[str, pa.Table | pl.DataFrame],
    rel: Relation,
    *,
    exclude: Mapping[str, Sequence[str]] | None = None,
) -> list[PairTrend]:
    """Pair trends between the parent's and the child's columns over joined child rows.

    ``exclude`` names columns per table to leave out (keys and PII tags, typically); the key
    columns of the relation are always left out, and so are columns that identify their
    row in their own table (:func:`identifier_like` on the real parent or child table: a
    product's unique ``name`` repeats over its reviews, but pairing it with a review's
    rating only asks which product it is, something a twin with new products cannot and
    should not reproduce). Column names in the result are ``parent.x`` and ``child.y``.
    """
    skip = {t: set(cols) for t, cols in (exclude or {}).items()}
    real_parent = _frame(real, rel.parent, "parent")
    real_child = _frame(real, rel.child, "child")
    parent_cols = [
        c
        for c in real_parent.columns
        if c not in rel.parent_columns and c not in skip.get(rel.parent, set())
    ]
    child_cols = [
        c
        for c in real_child.columns
        if c not in rel.columns and c not in skip.get(rel.child, set())
    ]
    parent_cols = _drop_identifiers(real_parent, parent_cols)
    child_cols = _drop_identifiers(real_child, child_cols)
    if not parent_cols or not child_cols:
        return []
    joined_real = _denormalize(real, rel, parent_cols, child_cols)
    joined_syn = _denormalize(synthetic, rel, parent_cols, child_cols)
    if joined_real.height == 0 or joined_syn.height == 0:
        return []
    kinds = resolve_kinds(joined_real.to_arrow(), joined_syn.to_arrow())
    for name in identifier_like(joined_real, kinds):
        del kinds[name]
    parent_cols = [c for c in parent_cols if f"parent.{c}" in kinds]
    child_cols = [c for c in child_cols if f"child.{c}" in kinds]
    prepared = prepare_columns(joined_real, joined_syn, kinds)
    pairs = [(f"parent.{p}", f"child.{c}") for p in parent_cols for c in child_cols]
    return pair_trends(prepared, pairs)


def _drop_identifiers(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """``columns`` less those whose values are mostly distinct within ``frame``'s own rows."""
    if not columns:
        return []
    table = frame.select(columns).to_arrow()
    kinds = resolve_kinds(table, table)
    unique = set(identifier_like(frame.select(columns), kinds))
    return [c for c in columns if c not in unique]
