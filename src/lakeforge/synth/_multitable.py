"""Multi-table synthesis: any number of related tables, any depth, from the contracts.

The orchestrator layer over the single-table generators (``synth/_base.py``). It reads the
contracts' primary keys, foreign keys, checks and PII tags and:

* orders the tables parents first (a foreign-key cycle is an error) and gives each child one
  *driving* parent, the deepest (ties: the first declared, or ``driving={"ratings":
  "users"}``). The number of children of each parent row is learned as a column of the
  parent (``__n_<child>``), so it depends on the parent's attributes and comes out in the
  real distribution;
* fits each child's generator with selected parent columns joined in as context, so child
  rows depend on their parent (order value on customer segment); new child rows are sampled
  with ``context=`` from the synthetic parent rows;
* draws every other foreign key (``ratings.item_id`` when users drive) from the other
  parent's learned popularity (``__p_<child>__<column>``), by exact slots: each synthetic
  item gets as many ratings as its sampled popularity says, shared out over chunks with a
  multivariate hypergeometric draw, so memory never holds a whole child table. A key that
  in the real data always equals the driving parent's own key (``reviews.customer_id`` is
  the order's customer) is copied through the driving parent instead;
* writes primary keys in the real keys' format (``C00042``), numbers composite-key
  columns within their parent (``order_items.line_number``), repairs keys made of foreign
  keys (``order_items (order_id, product_id)``), fakes PII columns (``synth/_pii.py``) and
  keeps the contract's rules (``synth/_constraints.py``).

Every sampled foreign key is taken from a sampled parent row, so referential integrity is
100% by construction. Sampling runs table by table in chunks (:meth:`Synthesizer.iter_sample`);
what a child needs of its parents (keys, context columns, counts) is spilled to an Arrow
file. A child reads its driving parent from it window by window (its counts are matched to
the real distribution per window of 500,000 parent rows), other parents through a memory
map, so a table of any length streams in bounded memory: 8 bytes per driving parent row
for the counts, plus one chunk.

Example:
    >>> tables = {"users": users, "items": items, "ratings": ratings}  # doctest: +SKIP
    >>> syn = Synthesizer(contracts, seed=3).fit(tables)  # doctest: +SKIP
    >>> twin = syn.sample(scale=0.5)  # doctest: +SKIP
    >>> twin["ratings"].num_rows  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge._artefacts import warn_if_other_version
from lakeforge._version import __version__
from lakeforge.contracts import Contract
from lakeforge.errors import NotFittedError, SynthesisError
from lakeforge.synth._base import SYNTHESIZERS, TableSynthesizer, load_synthesizer
from lakeforge.synth._constraints import (
    Constraint,
    ConstraintSet,
    constraint_from_dict,
    constraints_from_contract,
)
from lakeforge.synth._keys import KeyFormat, detect_key_format
from lakeforge.synth._pii import PiiColumnPlan, fill_pii, null_flag, plan_pii
from lakeforge.synth._types import (
    schema_from_text,
    schema_to_text,
    table_from_text,
    table_to_text,
)

__all__ = ["SynthesisError", "Synthesizer", "parse_conditions", "parse_rows"]

FORMAT_VERSION = 1
_MAX_CONTEXT_CATEGORIES = 50
_REPAIR_ROUNDS = 8
#: parent rows whose child counts are matched to the real distribution at once
_COUNT_WINDOW = 500_000
#: a child is sparse when at least this share of its driving parent's rows have none
_SPARSE_SHARE = 0.5
#: ``auto`` in a multi-table fit: a table of more cells than this (context columns
#: included) gets the copula without the validation round. The autoregressive model's
#: sampling cost grows with rows times trees; on the large child tables measured
#: (ml-100k ratings, the world's orders and order lines) the copula scored as well or
#: better in the report in a hundredth of the time. ``generator_params={"max_cells": n}``
#: overrides it.
AUTO_MAX_CELLS = 500_000
_EXHAUSTIVE_LIMIT = 200_000

LinkRole = Literal["driving", "secondary", "inherit"]
Progress = Callable[[str, int, int], None]


# -- plans (what fit learned about each table; JSON-ready) --------------------------------------


@dataclass
class Link:
    """One foreign key of a child table and how its values are drawn."""

    columns: list[str]
    parent: str
    ref_columns: list[str]
    role: LinkRole = "secondary"
    #: inherit: the driving parent's link whose parent row is copied
    via: str | None = None
    #: secondary: the parent's popularity column (children per parent row)
    popularity: str | None = None
    null_share: float = 0.0
    orphan_null_share: float = 0.0
    #: the real children-per-parent distribution (sorted, or quantiles of it)
    quantiles: list[float] = field(default_factory=list)
    #: real child rows and parent rows of this link (the mean is kept exactly)
    total: int = 0
    parents: int = 0

    @property
    def label(self) -> str:
        """The child's key columns, comma-joined (unique within the child)."""
        return ",".join(self.columns)


@dataclass
class TablePlan:
    """Everything the sampler needs to rebuild one table from its generator's rows."""

    name: str
    schema: str
    real_rows: int
    columns: list[str]
    learned: list[str] = field(default_factory=list)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    pii: list[dict[str, Any]] = field(default_factory=list)
    constraints: dict[str, Any] = field(default_factory=dict)
    skipped_checks: list[str] = field(default_factory=list)
    #: context column -> (link label, parent column)
    context: dict[str, list[str]] = field(default_factory=dict)
    #: children driven by this table: child -> count column
    counts: dict[str, str] = field(default_factory=dict)
    #: popularity columns this table holds for other tables' secondary links
    popularity: list[str] = field(default_factory=list)
    frame_columns: list[str] = field(default_factory=list)
    orphan_share: float = 0.0
    max_children: int | None = None
    unique_sets: list[list[str]] = field(default_factory=list)
    #: a dense panel (store x product x day): sampled as its parents' cross product, thinned
    dense: bool = False
    #: columns with one value in the training rows, kept aside (base64 Arrow, one row)
    constants: str | None = None
    #: columns equal to a driving-parent column in the real data: column -> parent column
    copied: dict[str, str] = field(default_factory=dict)
    has_generator: bool = True
    has_orphans: bool = False

    @property
    def driving(self) -> Link | None:
        """The link whose parent decides how many rows this table gets."""
        return next((link for link in self.links if link.role == "driving"), None)

    def link(self, label: str) -> Link:
        """The link with this label."""
        return next(link for link in self.links if link.label == label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TablePlan:
        """Inverse of :meth:`to_dict`."""
        body = dict(data)
        body["links"] = [Link(**link) for link in body["links"]]
        return cls(**body)


def _count_column(child: str) -> str:
    return f"__n_{child}"


def _popularity_column(child: str, link: Link) -> str:
    return f"__p_{child}__{link.label.replace(',', '__')}"


def _index_column(link_label: str) -> str:
    return f"__idx_{link_label.replace(',', '__')}"


def _context_column(link: Link, column: str) -> str:
    return f"__ctx_{link.label.replace(',', '__')}__{column}"


# -- the public object ---------------------------------------------------------------------------


class Synthesizer:
    """Fit related tables under their contracts and sample a synthetic twin of them.

    Args:
        contracts: one contract per table (a list, or a mapping by table name).
        method: the single-table generator for every table (``auto``, ``copula``,
            ``autoregressive``, ``independent``...; see ``lakeforge.synth.SYNTHESIZERS``), or
            a :class:`TableSynthesizer` subclass. ``auto`` chooses per table: the copula for
            a table above :data:`AUTO_MAX_CELLS` cells, else the better of the two on a
            quick validation.
        seed: the seed of fitting and of sampling unless ``sample(seed=)`` is given.
        epsilon: a differential-privacy budget passed to generators that have one.
        constraints: extra rules per table (``{"orders": [Inequality(...)]}``) on top of the
            contract's checks.
        driving: which parent drives each child's row count (``{"ratings": "users"}``).
        max_context_columns: parent columns given to a child's generator as context.
        chunk_rows: rows per sampled chunk (memory grows with it).
        generator_params: extra keyword hyperparameters for the generators.
        progress: show Rich progress bars while fitting and sampling.

    Example:
        >>> syn = Synthesizer(contracts).fit(tables)  # doctest: +SKIP
        >>> twin = syn.sample(rows={"customers": 1000}, seed=3)  # doctest: +SKIP
    """

    def __init__(
        self,
        contracts: Sequence[Contract] | Mapping[str, Contract],
        *,
        method: str | type[TableSynthesizer] = "auto",
        seed: int = 0,
        epsilon: float | None = None,
        constraints: Mapping[str, Sequence[Constraint]] | None = None,
        driving: Mapping[str, str] | None = None,
        max_context_columns: int = 5,
        chunk_rows: int = 100_000,
        generator_params: Mapping[str, Any] | None = None,
        progress: bool = False,
    ) -> None:
        listed = list(contracts.values()) if isinstance(contracts, Mapping) else list(contracts)
        self.contracts = {c.table: c for c in listed}
        self.method = method
        self.seed = seed
        self.epsilon = epsilon
        self.constraints = {k: list(v) for k, v in (constraints or {}).items()}
        self.driving = dict(driving or {})
        self.max_context_columns = max_context_columns
        self.chunk_rows = chunk_rows
        self.generator_params = dict(generator_params or {})
        self.progress = progress

    # learned state
    order_: list[str]
    plans_: dict[str, TablePlan]
    generators_: dict[str, TableSynthesizer | None]
    orphan_generators_: dict[str, TableSynthesizer | None]
    method_: str

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, tables: Mapping[str, pa.Table]) -> Self:
        """Learn every table (an Arrow table per name) and the relations between them."""
        self._validate(tables)
        self.method_ = (
            resolve_method(self.method) if isinstance(self.method, str) else self.method.method
        )
        if self.epsilon is not None and self.method_ == "auto" and "dp" in SYNTHESIZERS:
            self.method_ = "dp"  # the one generator with an epsilon budget
        self.order_ = topological_order({name: self.contracts[name] for name in tables})
        real = {name: _plain(tables[name]) for name in self.order_}
        plans = {name: self._base_plan(name, real[name]) for name in self.order_}
        indices = self._resolve_links(plans, real)
        self._add_counts(plans, real, indices)
        self.generators_, self.orphan_generators_ = {}, {}
        with _progress_bar(self.progress) as bar:
            task = bar("Fitting synthesizers", len(self.order_))
            for name in self.order_:
                self._fit_table(plans[name], plans, real, indices)
                task(1)
        self._choose_frame_columns(plans)
        self.plans_ = plans
        del self._extra
        return self

    def _validate(self, tables: Mapping[str, pa.Table]) -> None:
        problems = []
        for name, table in tables.items():
            contract = self.contracts.get(name)
            if contract is None:
                problems.append(f"table `{name}` has no contract (known: {_names(self.contracts)})")
                continue
            if table.num_rows == 0:
                problems.append(f"table `{name}` is empty")
            absent = [c for c in contract.column_names if c not in table.column_names]
            if absent:
                problems.append(f"table `{name}` lacks contract columns: {', '.join(absent)}")
        for child, parent in self.driving.items():
            if child not in tables:
                problems.append(f"driving: unknown table `{child}`")
            elif child in self.contracts and parent not in {
                fk.ref_table for fk in self.contracts[child].foreign_keys
            }:
                problems.append(f"driving: `{child}` has no foreign key to `{parent}`")
        for name in self.constraints:
            if name not in tables:
                problems.append(f"constraints given for unknown table `{name}`")
        if not tables:
            problems.append("no tables given")
        if problems:
            raise SynthesisError("cannot fit the synthesizer", problems=problems)

    def _base_plan(self, name: str, table: pa.Table) -> TablePlan:
        contract = self.contracts[name]
        table = table.select(contract.column_names)
        fk_columns = {c for fk in contract.foreign_keys for c in fk.columns}
        pii = set(contract.pii_columns)
        plan = TablePlan(
            name=name,
            schema=schema_to_text(table.schema),
            real_rows=table.num_rows,
            columns=list(contract.column_names),
        )
        salt = sum(ord(ch) * 31**i for i, ch in enumerate(name)) % (1 << 30)
        pk = list(contract.primary_key)
        single_unique = [keys[0] for keys in contract.unique_keys() if len(keys) == 1]
        for column in single_unique:
            if column not in fk_columns and column not in pii:
                plan.keys[column] = detect_key_format(table.column(column), salt=salt).to_dict()
        if len(pk) > 1:
            for column in pk:
                kind = table.schema.field(column).type
                if column not in fk_columns and pa.types.is_integer(kind):
                    plan.sequences[column] = int(pc.min(table.column(column)).as_py() or 0)
        for keys in contract.unique_keys():
            if len(keys) > 1 and set(keys) <= fk_columns | set(plan.sequences):
                plan.unique_sets.append(list(keys))
        return plan

    def _resolve_links(
        self, plans: dict[str, TablePlan], real: dict[str, pa.Table]
    ) -> dict[tuple[str, str], np.ndarray]:
        """Each foreign key's parent row per child row (-1: null or not found)."""
        indices: dict[tuple[str, str], np.ndarray] = {}
        depth: dict[str, int] = {}
        for name in self.order_:
            contract = self.contracts[name]
            plan = plans[name]
            for fk in contract.foreign_keys:
                if fk.ref_table not in plans or fk.ref_table == name:
                    continue
                link = Link(
                    columns=list(fk.columns), parent=fk.ref_table, ref_columns=list(fk.ref_columns)
                )
                index = _row_index(real[name], fk.columns, real[fk.ref_table], fk.ref_columns)
                indices[(name, link.label)] = index
                plan.links.append(link)
            depth[name] = 1 + max((depth[link.parent] for link in plan.links), default=-1)
            if not plan.links:
                continue
            wanted = self.driving.get(name)
            candidates = [link for link in plan.links if wanted in (None, link.parent)]
            chosen = max(
                candidates,
                key=lambda link: (
                    depth[link.parent],
                    float(np.mean(indices[(name, link.label)] >= 0)),
                    -plan.links.index(link),
                ),
            )
            chosen.role = "driving"
            driving_index = indices[(name, chosen.label)]
            plan.orphan_share = float(np.mean(driving_index < 0))
            for link in plan.links:
                if link is chosen:
                    continue
                mine = indices[(name, link.label)]
                link.null_share = _share(mine[driving_index >= 0] < 0)
                link.orphan_null_share = _share(mine[driving_index < 0] < 0)
                via = self._inherit_via(plans[chosen.parent], link, indices, mine, driving_index)
                if via is not None:
                    link.role, link.via = "inherit", via
            if set(chosen.columns) in [set(k) for k in self.contracts[name].unique_keys()]:
                plan.max_children = 1
            plan.dense = _is_dense_panel(plan, real, self.contracts[name])
        return indices

    @staticmethod
    def _inherit_via(
        parent_plan: TablePlan,
        link: Link,
        indices: dict[tuple[str, str], np.ndarray],
        mine: np.ndarray,
        driving_index: np.ndarray,
    ) -> str | None:
        """The driving parent's own link to the same table, if this key always follows it."""
        for candidate in parent_plan.links:
            if candidate.parent != link.parent or candidate.ref_columns != link.ref_columns:
                continue
            through = indices[(parent_plan.name, candidate.label)]
            rows = (driving_index >= 0) & (mine >= 0)
            if not rows.any():
                continue
            same = through[driving_index[rows]] == mine[rows]
            if float(np.mean(same)) >= 0.98:
                return candidate.label
        return None

    def _add_counts(
        self,
        plans: dict[str, TablePlan],
        real: dict[str, pa.Table],
        indices: dict[tuple[str, str], np.ndarray],
    ) -> None:
        """Children per parent row, as columns the parents' generators learn."""
        self._extra: dict[str, dict[str, np.ndarray]] = {name: {} for name in plans}
        for name in self.order_:
            for link in plans[name].links:
                index = indices[(name, link.label)]
                parent_rows = real[link.parent].num_rows
                counts = np.bincount(index[index >= 0], minlength=parent_rows).astype(np.int64)
                if link.role == "driving":
                    column = _count_column(name)
                    plans[link.parent].counts[name] = column
                elif link.role == "secondary":
                    column = _popularity_column(name, link)
                    link.popularity = column
                    plans[link.parent].popularity.append(column)
                else:
                    continue
                self._extra[link.parent][column] = counts
                if self.epsilon is None:  # the real count distribution is not private
                    link.quantiles = _quantiles(counts)
                    link.total, link.parents = int(counts.sum()), parent_rows
        for name in self.order_:
            for link in plans[name].links:
                if through_driving(plans, plans[name], link) is None:
                    continue
                # reviews -> orders -> customers: reviews per customer, learned by the
                # customers' generator, shared out over each customer's sampled orders
                index = indices[(name, link.label)]
                parent_rows = real[link.parent].num_rows
                counts = np.bincount(index[index >= 0], minlength=parent_rows).astype(np.int64)
                link.popularity = _popularity_column(name, link)
                plans[link.parent].popularity.append(link.popularity)
                self._extra[link.parent][link.popularity] = counts
                if self.epsilon is None:
                    link.quantiles = _quantiles(counts)
                    link.total, link.parents = int(counts.sum()), parent_rows

    def _fit_table(
        self,
        plan: TablePlan,
        plans: dict[str, TablePlan],
        real: dict[str, pa.Table],
        indices: dict[tuple[str, str], np.ndarray],
    ) -> None:
        contract = self.contracts[plan.name]
        table = real[plan.name].select(contract.column_names)
        fk_columns = {c for link in plan.links for c in link.columns}
        pii_columns = set(contract.pii_columns)
        excluded = set(plan.keys) | set(plan.sequences) | fk_columns | pii_columns
        learned = [c for c in plan.columns if c not in excluded]
        plan.learned = [c for c in learned if _learnable(table.column(c))]
        foreign = {
            link.columns[0]: pa.array(indices[(plan.name, link.label)], pa.int64())
            for link in plan.links
        }
        pii_plans = plan_pii(table, contract, foreign_keys=foreign)
        plan.pii = [p.to_dict() for p in pii_plans]
        rules, skipped = constraints_from_contract(contract)
        rules += self.constraints.get(plan.name, [])
        plan.skipped_checks = skipped
        rule_set = ConstraintSet(rules).fit(table, learnable=plan.learned)
        plan.constraints = rule_set.to_dict()
        frame = rule_set.transform(table.select(plan.learned))
        for pii in pii_plans:
            if pii.nullable:
                frame = frame.append_column(
                    null_flag(pii.column), pc.is_null(table.column(pii.column))
                )
        for column, values in self._extra[plan.name].items():
            frame = frame.append_column(column, pa.array(values, pa.int64()))
        driving = plan.driving
        context_names: list[str] = []
        if driving is not None:
            main_rows = indices[(plan.name, driving.label)] >= 0
            context = self._context(plan, plans, real, indices)
            for name, values in context.items():
                frame = frame.append_column(name, values)
            context_names = list(context)
            main = frame.filter(pa.array(main_rows))
            orphans = frame.filter(pa.array(~main_rows)).drop_columns(context_names)
        else:
            main, orphans = frame, frame.slice(0, 0)
        if driving is not None:
            plan.copied = _copied_columns(
                plan, plans[driving.parent], real, indices, rule_set, set(frame.column_names)
            )
            main = main.drop_columns(list(plan.copied))
        fixed = [c for c in frame.column_names if c not in context_names and _constant(frame[c])]
        if fixed:
            plan.constants = table_to_text(frame.select(fixed).slice(0, 1))
            main = main.drop_columns([c for c in fixed if c in main.column_names])
            orphans = orphans.drop_columns(fixed)
        flat = [c for c in context_names if _constant(main[c])]
        if flat:
            main = main.drop_columns(flat)
            context_names = [c for c in context_names if c not in flat]
            plan.context = {k: v for k, v in plan.context.items() if k not in flat}
        if main.num_columns - len(context_names) == 0:
            plan.has_generator = False
            self.generators_[plan.name] = None
        else:
            self.generators_[plan.name] = self._generator(main).fit(
                main, context_columns=context_names
            )
        plan.has_orphans = orphans.num_rows > 0 and orphans.num_columns > 0
        self.orphan_generators_[plan.name] = (
            self._generator(orphans).fit(orphans) if plan.has_orphans else None
        )

    def _context(
        self,
        plan: TablePlan,
        plans: dict[str, TablePlan],
        real: dict[str, pa.Table],
        indices: dict[tuple[str, str], np.ndarray],
    ) -> dict[str, pa.Array]:
        out: dict[str, pa.Array] = {}
        for link in plan.links:
            if link.role == "inherit":
                continue
            parent = plans[link.parent]
            limit = (
                self.max_context_columns
                if link.role == "driving"
                else max(1, self.max_context_columns // 2)
            )
            index = indices[(plan.name, link.label)]
            candidates = [c for c in parent.learned if _good_context(real[link.parent].column(c))]
            columns = _most_informative(
                {c: _take(real[link.parent].column(c), index) for c in candidates},
                [real[plan.name].column(c) for c in plan.learned],
                limit,
            )
            for column in columns:
                name = _context_column(link, column)
                out[name] = _take(real[link.parent].column(column), index)
                plan.context[name] = [link.label, column]
            count = _count_column(plan.name) if link.role == "driving" else link.popularity
            if count is not None:
                name = _context_column(link, count)
                values = self._extra[link.parent][count]
                out[name] = _take(pa.chunked_array([pa.array(values, pa.int64())]), index)
                plan.context[name] = [link.label, count]
        return out

    def _choose_frame_columns(self, plans: dict[str, TablePlan]) -> None:
        """What each table keeps of its sampled rows for its children (keys, context, counts)."""
        for plan in plans.values():
            for link in plan.links:
                parent = plans[link.parent]
                wanted = [*link.ref_columns]
                wanted += [col for lab, col in plan.context.values() if lab == link.label]
                if link.role == "driving":
                    wanted.append(_count_column(plan.name))
                if link.popularity:
                    wanted.append(link.popularity)
                if link.role == "driving":
                    wanted += list(plan.copied.values())
                if link.via and plan.driving is not None:
                    carrier = plans[plan.driving.parent]
                    if _index_column(link.via) not in carrier.frame_columns:
                        carrier.frame_columns.append(_index_column(link.via))
                for column in wanted:
                    if column not in parent.frame_columns:
                        parent.frame_columns.append(column)

    def _generator(self, data: pa.Table | None = None) -> TableSynthesizer:
        cls = self.method if isinstance(self.method, type) else SYNTHESIZERS[self.method_]
        params = dict(self.generator_params)
        accepted = _keyword_params(cls)
        if self.method_ == "auto" and "max_cells" in accepted and data is not None:
            params.setdefault("max_cells", AUTO_MAX_CELLS)
        if self.epsilon is not None:
            if "epsilon" not in accepted:
                raise SynthesisError(
                    f"method `{self.method_}` has no differential-privacy mode; choose a method "
                    "that takes epsilon or leave --epsilon out"
                )
            params["epsilon"] = self.epsilon
        if "seed" in accepted:
            params.setdefault("seed", self.seed)
        unknown = [p for p in params if p not in accepted]
        if unknown:
            raise SynthesisError(f"method `{self.method_}` does not take: {', '.join(unknown)}")
        return cls(**params)

    # -- sampling ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "plans_"):
            raise NotFittedError("Synthesizer is not fitted yet; call fit() first")

    def sample(
        self,
        *,
        scale: float = 1.0,
        rows: Mapping[str, int] | None = None,
        conditions: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
    ) -> dict[str, pa.Table]:
        """Sample every table into memory (see :meth:`iter_sample` for large outputs).

        Args:
            scale: row-count factor for tables without a parent (children follow).
            rows: exact rows for some tables (``{"customers": 1000}``); a child's count sets
                its root ancestors' scale to match.
            conditions: fixed values, ``{"payments.is_fraud": 1}`` or ``["payments.is_fraud=1"]``.
            seed: the sampling seed (default: the synthesizer's).
        """
        out = {}
        for name, chunks in self.iter_sample(
            scale=scale, rows=rows, conditions=conditions, seed=seed
        ):
            parts = list(chunks)
            schema = self.output_schema(name)
            out[name] = pa.Table.from_batches(
                [b for part in parts for b in part.to_batches()], schema=schema
            )
        return out

    def output_schema(self, table: str) -> pa.Schema:
        """The Arrow schema of a sampled table (the real table's)."""
        self._check_fitted()
        return schema_from_text(self._plan(table).schema)

    def _plan(self, table: str) -> TablePlan:
        try:
            return self.plans_[table]
        except KeyError:
            raise SynthesisError(
                f"unknown table `{table}` (fitted: {_names(self.plans_)})", table=table
            ) from None

    def planned_rows(
        self, *, scale: float = 1.0, rows: Mapping[str, int] | None = None
    ) -> dict[str, int | None]:
        """Rows of each root table (exact) and of requested tables; None: follows parents."""
        self._check_fitted()
        requested = dict(rows or {})
        for name, count in requested.items():
            self._plan(name)
            if int(count) < 0:
                raise SynthesisError(f"rows for `{name}` must be >= 0, got {count}", table=name)
        if scale < 0:
            raise SynthesisError(f"scale must be >= 0, got {scale}")
        out: dict[str, int | None] = {}
        for name in self.order_:
            plan = self.plans_[name]
            if plan.driving is None:
                out[name] = int(requested.get(name, round(plan.real_rows * scale)))
            else:
                out[name] = int(requested[name]) if name in requested else None
        following: dict[str, int] = {}
        for name, count in requested.items():
            plan = self.plans_[name]
            ancestor = plan
            while ancestor.driving is not None:
                ancestor = self.plans_[ancestor.driving.parent]
            if ancestor.name != name and ancestor.name not in requested:
                wanted = max(1, round(ancestor.real_rows * int(count) / max(plan.real_rows, 1)))
                following[ancestor.name] = max(following.get(ancestor.name, 0), wanted)
        out.update(following)
        return out

    def iter_sample(
        self,
        *,
        scale: float = 1.0,
        rows: Mapping[str, int] | None = None,
        conditions: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
        chunk_rows: int | None = None,
        workdir: str | Path | None = None,
    ) -> Iterator[tuple[str, Iterator[pa.Table]]]:
        """Yield ``(table, chunks)`` parents first; each table's chunks stream lazily.

        Consume a table's chunks before moving on (the sampler drains what is left, since
        its children need the whole parent). Parent columns that children need are kept in
        a memory-mapped Arrow file under ``workdir`` (default: a temporary folder).
        """
        self._check_fitted()
        planned = self.planned_rows(scale=scale, rows=rows)
        fixed = self.resolve_conditions(conditions)
        run = _Run(
            self,
            planned=planned,
            conditions=fixed,
            seed=self.seed if seed is None else int(seed),
            chunk_rows=chunk_rows or self.chunk_rows,
            workdir=Path(tempfile.mkdtemp(prefix="lakeforge-synth-", dir=workdir)),
        )
        try:
            with _progress_bar(self.progress) as bar:
                for name in self.order_:
                    advance = bar(f"Sampling {name}", planned.get(name))
                    chunks = _counted(run.table_chunks(name), advance)
                    yield name, chunks
                    for _ in chunks:  # drain what the caller did not read
                        pass
        finally:
            run.close()

    def resolve_conditions(
        self, conditions: Mapping[str, Any] | Sequence[str] | None
    ) -> dict[str, dict[str, Any]]:
        """Conditions by table, values cast to the columns' types; every problem at once."""
        self._check_fitted()
        if conditions is None:
            return {}
        pairs = parse_conditions(conditions)
        problems: list[str] = []
        out: dict[str, dict[str, Any]] = {}
        for qualified, value in pairs.items():
            table, _, column = qualified.partition(".")
            if not column:
                problems.append(f"condition `{qualified}` must name table.column")
                continue
            plan = self.plans_.get(table)
            if plan is None:
                problems.append(
                    f"condition on unknown table `{table}` (fitted: {_names(self.plans_)})"
                )
                continue
            rules = ConstraintSet.from_dict(plan.constraints)
            if column not in plan.columns:
                problems.append(f"condition on unknown column `{table}.{column}`")
            elif column in plan.copied:
                problems.append(
                    f"cannot condition on `{table}.{column}`: it is copied from the parent's "
                    f"`{plan.copied[column]}`; condition on that column of the parent table"
                )
            elif column not in plan.learned:
                problems.append(
                    f"cannot condition on `{table}.{column}`: it is a key, a foreign key or a "
                    "PII column, generated rather than learned"
                )
            elif column in rules.derived_columns() or any(
                column in combo.columns for combo in rules.combos_
            ):
                problems.append(
                    f"cannot condition on `{table}.{column}`: it is rebuilt from a constraint; "
                    "condition on the column it is derived from"
                )
            else:
                kind = schema_from_text(plan.schema).field(column).type
                try:
                    out.setdefault(table, {})[column] = _coerce(value, kind)
                except (pa.ArrowInvalid, ValueError, TypeError) as exc:
                    problems.append(f"condition `{qualified}={value}`: not a {kind} ({exc})")
        if problems:
            raise SynthesisError("invalid sampling conditions", problems=problems)
        return out

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save as ``synthesizer.json`` plus one folder per table generator (JSON + npz)."""
        self._check_fitted()
        folder = Path(path)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name in self.order_:
            generator = self.generators_[name]
            if generator is not None:
                generator.save(folder / "tables" / name)
            orphan = self.orphan_generators_[name]
            if orphan is not None:
                orphan.save(folder / "tables" / f"{name}.orphans")
        doc = {
            "format": FORMAT_VERSION,
            "lakeforge_version": __version__,
            "params": {
                "method": self.method if isinstance(self.method, str) else self.method_,
                "seed": self.seed,
                "epsilon": self.epsilon,
                "driving": self.driving,
                "max_context_columns": self.max_context_columns,
                "chunk_rows": self.chunk_rows,
                "generator_params": self.generator_params,
            },
            "constraints": {k: [asdict(c) for c in v] for k, v in self.constraints.items()},
            "method": self.method_,
            "order": self.order_,
            "contracts": {name: self.contracts[name].to_dict() for name in self.order_},
            "plans": {name: self.plans_[name].to_dict() for name in self.order_},
        }
        (folder / "synthesizer.json").write_text(json.dumps(doc, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Load a synthesizer saved with :meth:`save` (warns when the Lakeforge version differs)."""
        folder = Path(path)
        document = folder / "synthesizer.json"
        if not document.is_file():
            raise SynthesisError(f"no saved synthesizer at {folder} (synthesizer.json not found)")
        doc = json.loads(document.read_text())
        warn_if_other_version(
            doc.get("lakeforge_version"), "synthesizer", folder, symptom="samples"
        )
        resolve_method(doc["method"])
        contracts = [Contract.from_dict(body) for body in doc["contracts"].values()]
        params = doc["params"]
        syn = cls(
            contracts,
            constraints={
                k: [constraint_from_dict(c) for c in v] for k, v in doc["constraints"].items()
            },
            **params,
        )
        syn.method_ = doc["method"]
        syn.order_ = list(doc["order"])
        syn.plans_ = {name: TablePlan.from_dict(body) for name, body in doc["plans"].items()}
        syn.generators_, syn.orphan_generators_ = {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the version was checked above
            for name in syn.order_:
                plan = syn.plans_[name]
                syn.generators_[name] = (
                    load_synthesizer(folder / "tables" / name) if plan.has_generator else None
                )
                syn.orphan_generators_[name] = (
                    load_synthesizer(folder / "tables" / f"{name}.orphans")
                    if plan.has_orphans
                    else None
                )
        return syn

    def describe(self) -> dict[str, Any]:
        """The fitted structure: per table its driving parent, links, keys, PII and rules."""
        self._check_fitted()
        out: dict[str, Any] = {"method": self.method_, "tables": {}}
        for name in self.order_:
            plan = self.plans_[name]
            out["tables"][name] = {
                "real_rows": plan.real_rows,
                "driving_parent": plan.driving.parent if plan.driving else None,
                "links": {link.label: f"{link.role} -> {link.parent}" for link in plan.links},
                "generated_keys": sorted(plan.keys) + sorted(plan.sequences),
                "pii_faked": [p["column"] for p in plan.pii],
                "context_columns": [col for _, col in plan.context.values()],
                "learned_columns": plan.learned,
                "checks_not_enforced": plan.skipped_checks,
            }
        return out


# -- one sampling run ---------------------------------------------------------------------------


@dataclass
class _NullBudget:
    """Rows still to draw for one secondary key in one phase, and how many stay empty."""

    rows: int
    empty: int

    def __post_init__(self) -> None:
        self.empty = min(max(self.empty, 0), max(self.rows, 0))
        self.keys = self.rows - self.empty  # rows of this phase that carry a key

    def take(self, n: int, rng: np.random.Generator) -> int:
        """How many of the next ``n`` rows are empty (all ``empty`` used by the last row)."""
        if n <= 0:
            return 0
        if n >= self.rows:
            empty = min(self.empty, n)
        elif self.empty == 0:
            empty = 0
        else:
            empty = int(rng.hypergeometric(self.empty, self.rows - self.empty, n))
        self.rows = max(self.rows - n, 0)
        self.empty -= empty
        return empty


class _Run:
    """State of one sampling run: the parents' frames and the row counts decided so far."""

    def __init__(
        self,
        syn: Synthesizer,
        *,
        planned: dict[str, int | None],
        conditions: dict[str, dict[str, Any]],
        seed: int,
        chunk_rows: int,
        workdir: Path,
    ) -> None:
        self.syn = syn
        self.planned = planned
        self.conditions = conditions
        self.seed = seed
        self.chunk_rows = max(1, chunk_rows)
        self.workdir = workdir
        self.frames: dict[str, pa.Table] = {}
        self.rows: dict[str, int] = {}
        self._maps: list[pa.MemoryMappedFile] = []
        #: per table, the frame file read batch by batch and its batches' first rows
        self._readers: dict[str, tuple[pa.ipc.RecordBatchFileReader, np.ndarray]] = {}
        self._files: list[pa.NativeFile] = []
        #: the driving parent's rows of the block being sampled: (table, first row, rows)
        self._window: tuple[str, int, pa.Table] | None = None
        self._batch_cache: dict[str, tuple[int, pa.RecordBatch]] = {}

    def close(self) -> None:
        self.frames.clear()
        self._readers.clear()
        for handle in [*self._maps, *self._files]:
            handle.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _rows_of(self, name: str, first: int, last: int) -> pa.Table:
        """Frame rows ``first:last`` of a sampled table, read from its file, not mapped.

        A driving parent is read window by window this way, so its pages never pile up in
        the resident set however long it is (the memory map serves random access only).
        """
        if name not in self._readers:
            return self.frames[name].slice(first, last - first)
        reader, starts = self._readers[name]
        lo = max(int(np.searchsorted(starts, first, side="right")) - 1, 0)
        hi = int(np.searchsorted(starts, last, side="left"))
        batches = [self._batch(name, i) for i in range(lo, min(hi, reader.num_record_batches))]
        if not batches:
            return self.frames[name].schema.empty_table()
        window = pa.Table.from_batches(batches, schema=reader.schema)
        return window.slice(first - int(starts[lo]), last - first)

    def _seed(self, *parts: int) -> int:
        return int(np.random.SeedSequence([self.seed, *parts]).generate_state(1)[0])

    def _batch(self, name: str, number: int) -> pa.RecordBatch:
        cached = self._batch_cache.get(name)
        if cached is None or cached[0] != number:
            cached = (number, self._readers[name][0].get_batch(number))
            self._batch_cache[name] = cached
        return cached[1]

    def _parent_values(self, parent: str, column: str, index: np.ndarray) -> pa.Array:
        """``column`` of the sampled ``parent`` rows at ``index`` (-1: null).

        Rows inside the current block's window of the driving parent are taken from it;
        anything else from the memory-mapped frame.
        """
        window = self._window
        if window is not None and window[0] == parent:
            _, first, rows = window
            valid = index >= 0
            inside = not valid.any() or (
                int(index[valid].min()) >= first and int(index[valid].max()) < first + rows.num_rows
            )
            if inside:
                return _take(rows.column(column), np.where(valid, index - first, -1))
        return _take(self.frames[parent].column(column), index)

    def table_chunks(self, name: str) -> Iterator[pa.Table]:
        plan = self.syn.plans_[name]
        index = self.syn.order_.index(name)
        writer: pa.RecordBatchFileWriter | None = None
        path = self.workdir / f"{index}.arrow"
        produced = 0
        starts: list[int] = []
        try:
            for chunk, frame_part in self._chunks(plan, index):
                if plan.frame_columns:
                    if writer is None:
                        writer = pa.ipc.new_file(str(path), frame_part.schema)
                    for batch in frame_part.combine_chunks().to_batches():
                        starts.append(produced)
                        writer.write_batch(batch)
                produced += chunk.num_rows
                yield chunk
        finally:
            self._window = None
            if writer is not None:
                writer.close()
        self.rows[name] = produced
        if plan.frame_columns:
            if writer is None:
                self.frames[name] = pa.table(
                    {c: pa.array([], pa.int64()) for c in plan.frame_columns}
                )
            else:
                mapped = pa.memory_map(str(path))
                self._maps.append(mapped)
                self.frames[name] = pa.ipc.open_file(mapped).read_all()
                handle = pa.OSFile(str(path))
                self._files.append(handle)
                self._readers[name] = (pa.ipc.open_file(handle), np.asarray(starts, np.int64))

    def _chunks(self, plan: TablePlan, index: int) -> Iterator[tuple[pa.Table, pa.Table]]:
        driving = plan.driving
        generator = self.syn.generators_[plan.name]
        conditions = self.conditions.get(plan.name, {})
        ordinal = 0
        if driving is None:
            total = int(self.planned[plan.name] or 0)
            for number, start in enumerate(range(0, total, self.chunk_rows)):
                n = min(self.chunk_rows, total - start)
                raw = _draw(generator, n, None, conditions, self._seed(index, number, 0))
                yield self._finish(plan, raw, ordinal, {}, number)
                ordinal += n
            return
        rng = np.random.default_rng(self._seed(index, 0, 1))
        requested = self.planned.get(plan.name)
        orphan_total = 0
        if requested is not None and plan.has_orphans:
            orphan_total = round(requested * plan.orphan_share)
        counts = self._driven_counts(
            plan, None if requested is None else int(requested) - orphan_total, rng
        )
        if requested is None and plan.has_orphans and plan.orphan_share < 1:
            orphan_total = round(counts.sum() * plan.orphan_share / (1 - plan.orphan_share))
        main_total = int(counts.sum())
        budgets = self._null_budgets(plan, main_total, orphan_total)
        slots = self._slots(plan, budgets, rng)  # orphans use slots too
        number = 0
        blocks = (
            self._dense_blocks(plan, counts, slots, rng)
            if plan.dense
            else self._slot_blocks(plan, counts, slots, budgets, rng)
        )
        for links in blocks:
            parent_rows = links[driving.label]
            context = self._context(plan, links, len(parent_rows))
            raw = _draw(
                generator, len(parent_rows), context, conditions, self._seed(index, number, 0)
            )
            yield self._finish(plan, raw, ordinal, links, number)
            ordinal += len(parent_rows)
            number += 1
        orphans = self.syn.orphan_generators_[plan.name]
        for start in range(0, orphan_total, self.chunk_rows):
            n = min(self.chunk_rows, orphan_total - start)
            links = {driving.label: np.full(n, -1, dtype=np.int64)}
            for link in plan.links:
                if link is driving:
                    continue
                if link.role == "secondary":
                    links[link.label] = self._draw_secondary(
                        slots[link.label], n, rng, budgets[link.label][1]
                    )
                else:
                    weights = self._popularity(link)
                    links[link.label] = _draw_weighted(weights, n, rng, link.orphan_null_share)
            raw = _draw(orphans, n, None, conditions, self._seed(index, number, 0))
            yield self._finish(plan, raw, ordinal, links, number)
            ordinal += n
            number += 1

    def _driven_counts(
        self, plan: TablePlan, requested: int | None, rng: np.random.Generator
    ) -> np.ndarray:
        """Children of every driving parent row, window by window of parent rows.

        Each window's sampled counts keep their ranking but take the real distribution
        (:func:`_match_quantiles`), then add up to the window's share of the total: the
        real mean times the parents (scale 1: the real total), or ``requested``. Only the
        counts themselves are held for the whole parent table (8 bytes a parent row).
        """
        driving = plan.driving
        assert driving is not None
        column = _count_column(plan.name)
        parents = self.rows.get(driving.parent, self.frames[driving.parent].num_rows)
        target: int | None = requested
        if target is None and driving.parents:  # quantiles round; keep the real mean exactly
            target = round(driving.total * parents / driving.parents)
        counts = np.zeros(parents, dtype=np.int64)
        for first in range(0, parents, _COUNT_WINDOW):
            last = min(first + _COUNT_WINDOW, parents)
            window = self._rows_of(driving.parent, first, last)
            part = _counts(window, column, None)
            part = _match_quantiles(part, driving.quantiles, rng)
            if target is not None:
                share = round(target * last / parents) - round(target * first / parents)
                part = _rescale(part, share)
            counts[first:last] = part
        counts = self._share_out(plan, counts, rng)
        if plan.max_children is not None:
            counts = np.minimum(counts, plan.max_children)
            if requested is not None:
                counts = _rescale(counts, requested)
        return counts

    def _share_out(
        self, plan: TablePlan, counts: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Children per driving row, regrouped so each grandparent gets its real-like total.

        Reviews are driven by orders and inherit the order's customer. Each sampled customer
        gets a number of reviews from the real reviews-per-customer distribution (ranked by
        its generator's ``__p_reviews__customer_id``), which is then shared out over the
        customer's sampled orders in proportion to one plus the orders' own counts (largest
        remainder: spread rather than piled on one order). The total stays; a customer
        without orders gets none.

        Only for a sparse child, where most driving rows have none in the real data (most
        orders have no review): which customers have reviews is then a trait of the customer
        the orders' counts cannot carry. Where nearly every row has some (a payment per
        order), the customer's total follows from its orders and is left to them.
        """
        driving = plan.driving
        if driving is None or not driving.quantiles:
            return counts
        if float(np.mean(np.asarray(driving.quantiles) == 0)) < _SPARSE_SHARE:
            return counts
        link = next(
            (
                link
                for link in plan.links
                if link.popularity
                and link.quantiles
                and through_driving(self.syn.plans_, plan, link)
            ),
            None,
        )
        if driving is None or link is None or link.via is None:
            return counts
        parents = len(counts)
        owner = np.zeros(parents, dtype=np.int64)
        column = _index_column(link.via)
        for first in range(0, parents, _COUNT_WINDOW):
            last = min(first + _COUNT_WINDOW, parents)
            window = self._rows_of(driving.parent, first, last).column(column)
            owner[first:last] = np.asarray(window.to_numpy(zero_copy_only=False), np.int64)
        valid = owner >= 0
        if not valid.any():
            return counts
        group = owner[valid]
        sizes = np.bincount(group, minlength=len(self._popularity(link)))
        # ranked by the learned totals, ties by the sampled driving rows (more orders,
        # more reviews), then given the real distribution
        learned = np.rint(self._popularity(link)).astype(np.int64)
        wanted = _match_quantiles(learned * (int(sizes.max()) + 1) + sizes, link.quantiles, rng)
        wanted = np.where(sizes > 0, wanted, 0)
        total = int(counts[valid].sum())
        if wanted.sum() <= 0:
            return counts
        wanted = np.where(sizes > 0, _rescale(wanted, total), 0)
        if int(wanted.sum()) != total:
            return counts
        weights = counts[valid].astype(np.float64) + 1.0
        exact = (
            weights
            * wanted[group]
            / np.bincount(group, weights=weights, minlength=len(sizes))[group]
        )
        base = np.floor(exact).astype(np.int64)
        short = wanted - np.bincount(group, weights=base, minlength=len(sizes)).astype(np.int64)
        order = np.lexsort((-(exact - base), group))
        ordered = group[order]
        rank = np.arange(len(order)) - np.searchsorted(ordered, ordered, side="left")
        base[order[rank < short[ordered]]] += 1
        out = counts.copy()
        out[valid] = base
        return out

    def _slot_blocks(
        self,
        plan: TablePlan,
        counts: np.ndarray,
        slots: dict[str, np.ndarray],
        budgets: dict[str, tuple[_NullBudget, _NullBudget]],
        rng: np.random.Generator,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Parent rows per child row, block by block: driving repeated, others by slots."""
        driving = plan.driving
        assert driving is not None
        for first, last in _blocks(counts, self.chunk_rows):
            parent_rows = np.repeat(np.arange(first, last, dtype=np.int64), counts[first:last])
            if len(parent_rows) == 0:
                continue
            self._window = (driving.parent, first, self._rows_of(driving.parent, first, last))
            links = {driving.label: parent_rows}
            for link in plan.links:
                if link.role == "secondary":
                    links[link.label] = self._draw_secondary(
                        slots[link.label], len(parent_rows), rng, budgets[link.label][0]
                    )
                elif link.role == "inherit" and link.via:
                    through = self._parent_values(
                        driving.parent, _index_column(link.via), parent_rows
                    )
                    links[link.label] = np.asarray(
                        through.to_numpy(zero_copy_only=False), dtype=np.int64
                    )
            keep = self._repair_unique(plan, links, rng)
            if keep is not None:
                links = {k: v[keep] for k, v in links.items()}
            yield links
        self._window = None

    def _dense_blocks(
        self,
        plan: TablePlan,
        counts: np.ndarray,
        slots: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> Iterator[dict[str, np.ndarray]]:
        """A dense panel: each driving row gets its parents' grid minus some cells.

        Which cells go is chosen so every secondary parent keeps its sampled number of rows
        (the deficits of the full grid are shared out over the driving rows, then removed
        greedily, largest deficits first, as in the Gale-Ryser construction).
        """
        driving = plan.driving
        assert driving is not None
        others = [link for link in plan.links if link is not driving]
        sizes = [len(slots[link.label]) for link in others]
        grid = int(np.prod(sizes))
        counts = np.minimum(counts, grid)
        rows = len(counts)
        remaining = []
        for link, size in zip(others, sizes, strict=True):
            capacity = rows * grid // max(size, 1)
            deficit = np.clip(capacity - slots[link.label], 0, None)
            remaining.append(
                _proportional(deficit.astype(np.float64) + 1e-9, rows * grid - int(counts.sum()))
            )
        pending: list[dict[str, np.ndarray]] = []
        pending_rows = 0
        for row in range(rows):
            removal = grid - int(counts[row])
            left = rows - row
            shares = []
            for deficit, size in zip(remaining, sizes, strict=True):
                cap = grid // max(size, 1)
                wanted = _proportional(deficit / left + 1e-9, removal)
                share = np.minimum(np.minimum(wanted, cap), deficit)
                shares.append(share)
            keep = _thin_grid(sizes, shares, removal, rng)
            for deficit, share, axis in zip(remaining, shares, range(len(sizes)), strict=True):
                removed = np.bincount(
                    np.unravel_index(np.flatnonzero(~keep), sizes)[axis], minlength=sizes[axis]
                )
                deficit -= np.minimum(removed, deficit)
                del share
            cells = np.unravel_index(np.flatnonzero(keep), sizes)
            block = {driving.label: np.full(len(cells[0]), row, dtype=np.int64)}
            for link, values in zip(others, cells, strict=True):
                block[link.label] = values.astype(np.int64)
            pending.append(block)
            pending_rows += len(cells[0])
            if pending_rows >= self.chunk_rows:
                yield {k: np.concatenate([b[k] for b in pending]) for k in pending[0]}
                pending, pending_rows = [], 0
        if pending:
            yield {k: np.concatenate([b[k] for b in pending]) for k in pending[0]}

    def _popularity(self, link: Link) -> np.ndarray:
        frame = self.frames[link.parent]
        rows = frame.num_rows
        if link.popularity and link.popularity in frame.column_names:
            values = frame.column(link.popularity).to_numpy(zero_copy_only=False)
            weights = np.clip(np.nan_to_num(values.astype(np.float64)), 0, None)
            if weights.sum() > 0:
                return np.asarray(weights, dtype=np.float64)
        return np.ones(rows, dtype=np.float64)

    @staticmethod
    def _null_budgets(
        plan: TablePlan, main: int, orphans: int
    ) -> dict[str, tuple[_NullBudget, _NullBudget]]:
        """Per secondary link, exactly how many driven and orphan rows leave the key empty."""
        return {
            link.label: (
                _NullBudget(main, round(main * link.null_share)),
                _NullBudget(orphans, round(orphans * link.orphan_null_share)),
            )
            for link in plan.links
            if link.role == "secondary"
        }

    def _slots(
        self,
        plan: TablePlan,
        budgets: dict[str, tuple[_NullBudget, _NullBudget]],
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        """Per secondary link, how many child rows each parent row receives in all.

        The sampled popularity ranks the parent rows; the counts themselves follow the real
        children-per-parent distribution, then add up to exactly the rows that carry this
        key (driven and orphan rows, less the ones ``budgets`` leaves empty). When the
        sampled parents are as many as the real ones and the total is the real total (scale
        1), every parent row gets one of the real counts: a permutation of them.
        """
        out = {}
        for link in plan.links:
            if link.role == "secondary":
                popularity = np.rint(self._popularity(link)).astype(np.int64)
                matched = _match_quantiles(popularity, link.quantiles, rng)
                main, orphans = budgets[link.label]
                out[link.label] = _rescale(matched, main.keys + orphans.keys)
        return out

    @staticmethod
    def _draw_secondary(
        remaining: np.ndarray, n: int, rng: np.random.Generator, budget: _NullBudget
    ) -> np.ndarray:
        """Parent rows for ``n`` child rows, taken from the slots left; ``budget`` empties some.

        The empty keys of the chunk are a hypergeometric share of the budget's, so over the
        whole table exactly the budgeted rows are empty and every slot is used.
        """
        empty = budget.take(n, rng)
        missing = np.zeros(n, dtype=bool)
        if empty:
            missing[rng.choice(n, size=empty, replace=False)] = True
        wanted = n - empty
        picked = np.full(n, -1, dtype=np.int64)
        if len(remaining) == 0:
            return picked
        if remaining.sum() < wanted:
            drawn = _draw_weighted(remaining.astype(np.float64) + 1e-9, wanted, rng, 0.0)
        else:
            taken = rng.multivariate_hypergeometric(remaining, wanted, method="marginals")
            remaining -= taken
            drawn = np.repeat(np.arange(len(remaining), dtype=np.int64), taken)
            rng.shuffle(drawn)
        picked[~missing] = drawn
        return picked

    def _repair_unique(
        self, plan: TablePlan, links: dict[str, np.ndarray], rng: np.random.Generator
    ) -> np.ndarray | None:
        """Re-draw secondary keys that repeat a unique key made of foreign keys.

        Returns the rows to keep (None: all) when a duplicate cannot be repaired.
        """
        keep: np.ndarray | None = None
        for unique in plan.unique_sets:
            members = [link for link in plan.links if set(link.columns) <= set(unique)]
            covered = {c for link in members for c in link.columns}
            if covered != set(unique) - set(plan.sequences) or set(plan.sequences) & set(unique):
                continue
            movable = [link for link in members if link.role == "secondary"]
            arrays = [links[link.label] for link in members]
            duplicated = _duplicated(arrays)
            if not duplicated.any():
                continue
            for target in reversed(movable):  # swaps keep every parent's slot count
                others = [links[link.label] for link in members if link is not target]
                _swap_repair(others, links[target.label], duplicated, rng)
                duplicated = _duplicated(arrays)
                if not duplicated.any():
                    break
            if movable and duplicated.any():
                target = movable[-1]
                weights = self._popularity(target)
                values = links[target.label]
                for _ in range(_REPAIR_ROUNDS):
                    rows = np.flatnonzero(duplicated)
                    if len(rows) == 0:
                        break
                    values[rows] = _draw_weighted(weights, len(rows), rng, 0.0)
                    duplicated = _duplicated(arrays)
                if duplicated.any():
                    fixed = [link for link in members if link.role != "secondary"]
                    _exhaustive_repair(
                        [links[link.label] for link in fixed],
                        [links[link.label] for link in movable],
                        [self._popularity(link) for link in movable],
                        duplicated,
                        rng,
                    )
                    duplicated = _duplicated(arrays)
            if duplicated.any():
                keep = ~duplicated if keep is None else keep & ~duplicated
        return keep

    def _context(self, plan: TablePlan, links: dict[str, np.ndarray], n: int) -> pa.Table | None:
        if not plan.context:
            return None
        columns = {}
        for name, (label, column) in plan.context.items():
            link = plan.link(label)
            columns[name] = self._parent_values(link.parent, column, links[label])
        return pa.table(columns) if columns else pa.table({"__rows": pa.nulls(n)})

    def _finish(
        self,
        plan: TablePlan,
        raw: pa.Table,
        ordinal: int,
        links: dict[str, np.ndarray],
        number: int,
    ) -> tuple[pa.Table, pa.Table]:
        """Generator rows -> final rows (keys, foreign keys, PII, rules) and the frame part."""
        schema = schema_from_text(plan.schema)
        n = raw.num_rows
        rules = ConstraintSet.from_dict(plan.constraints)
        if plan.constants:
            for field_ in (fixed := table_from_text(plan.constants)).schema:
                if field_.name not in raw.column_names:
                    value = fixed.column(field_.name)[0]
                    raw = raw.append_column(field_, pa.array([value.as_py()] * n, field_.type))
        rows = rules.reverse(raw)
        columns: dict[str, pa.Array] = {}
        for column in plan.learned:
            if column in rows.column_names:
                columns[column] = rows.column(column).combine_chunks()
        if plan.copied and driving_rows(plan, links) is not None:
            parent_rows = driving_rows(plan, links)
            assert parent_rows is not None and plan.driving is not None
            for column, source in plan.copied.items():
                if column not in rows.column_names:  # orphan rows learn it themselves
                    columns[column] = self._parent_values(plan.driving.parent, source, parent_rows)
        for column, fmt in plan.keys.items():
            columns[column] = KeyFormat.from_dict(fmt).generate(ordinal, n)
        driving = plan.driving
        for column, start in plan.sequences.items():
            group = links[driving.label] if driving is not None else np.zeros(n, dtype=np.int64)
            columns[column] = pa.array(start + _rank_within(group), pa.int64())
        for link in plan.links:
            index = links.get(link.label, np.full(n, -1, dtype=np.int64))
            for column, ref in zip(link.columns, link.ref_columns, strict=True):
                columns[column] = self._parent_values(link.parent, ref, index)
        pii_plans = [PiiColumnPlan.from_dict(p) for p in plan.pii]
        if pii_plans:
            entity = {
                link.columns[0]: links[link.label] for link in plan.links if link.label in links
            }
            flags = {c: rows.column(c) for c in rows.column_names if c.startswith("__null_")}
            context_rows = pa.table({**columns, **flags}) if columns or flags else rows
            fakes = fill_pii(
                pii_plans,
                context_rows,
                ordinals=np.arange(ordinal, ordinal + n, dtype=np.int64),
                seed=self.seed,
                entity_rows=entity,
            )
            columns.update(fakes)
        table = pa.table(
            {name: _cast(columns.get(name), schema.field(name).type, n) for name in plan.columns}
        )
        protected = (
            set(plan.keys) | set(plan.sequences) | {c for link in plan.links for c in link.columns}
        )
        table = rules.repair(table, protected=protected, prefer={p.column for p in pii_plans})
        table = pa.Table.from_arrays(
            [_cast(table.column(name), schema.field(name).type, n) for name in plan.columns],
            schema=schema,
        )
        frame_columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        for column in plan.frame_columns:
            if column in table.column_names:
                frame_columns[column] = table.column(column)
            elif column in raw.column_names:
                frame_columns[column] = raw.column(column)
            elif column.startswith("__idx_"):
                label = next(
                    link.label for link in plan.links if _index_column(link.label) == column
                )
                frame_columns[column] = pa.array(links.get(label, np.full(n, -1)), pa.int64())
            else:
                frame_columns[column] = pa.array(np.zeros(n, dtype=np.int64))
        return table, pa.table(frame_columns) if frame_columns else pa.table({})


# -- helpers ------------------------------------------------------------------------------------


def resolve_method(method: str) -> str:
    """The generator name for ``method`` (``auto``: the package's default when not registered)."""
    import importlib

    for module in ("_copula", "_autoregressive", "_auto", "_dp"):
        with contextlib.suppress(ImportError):
            importlib.import_module(f"lakeforge.synth.{module}")
    if method in SYNTHESIZERS:
        return method
    if method == "auto":
        default = getattr(importlib.import_module("lakeforge.synth._base"), "DEFAULT_METHOD", None)
        for name in (default, "copula", "autoregressive", "independent"):
            if name and name in SYNTHESIZERS:
                return str(name)
    raise SynthesisError(
        f"unknown synthesizer method `{method}` (known: auto, {', '.join(sorted(SYNTHESIZERS))})"
    )


def _keyword_params(cls: type[TableSynthesizer]) -> set[str]:
    import inspect

    return {
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def topological_order(contracts: Mapping[str, Contract]) -> list[str]:
    """Tables parents first (declaration order among equals); a cycle is an error."""
    parents = {
        name: {
            fk.ref_table
            for fk in c.foreign_keys
            if fk.ref_table in contracts and fk.ref_table != name
        }
        for name, c in contracts.items()
    }
    order: list[str] = []
    remaining = list(contracts)
    while remaining:
        ready = [name for name in remaining if parents[name] <= set(order)]
        if not ready:
            cycle = _find_cycle(parents, remaining)
            raise SynthesisError(
                "the foreign keys form a cycle: "
                + " -> ".join(cycle)
                + "; drop one of these foreign keys from the contracts to synthesise them",
                table=cycle[0],
            )
        order.extend(ready)
        remaining = [name for name in remaining if name not in ready]
    return order


def _find_cycle(parents: dict[str, set[str]], remaining: list[str]) -> list[str]:
    start = remaining[0]
    path = [start]
    seen = {start}
    current = start
    while True:
        nxt = sorted(p for p in parents[current] if p in remaining)[0]
        if nxt in seen:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)
        seen.add(nxt)
        current = nxt


def parse_conditions(conditions: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """``["payments.is_fraud=1"]`` or ``{"payments.is_fraud": 1}`` as ``{qualified: value}``."""
    if isinstance(conditions, Mapping):
        out: dict[str, Any] = {}
        for key, value in conditions.items():
            if isinstance(value, Mapping):
                out.update({f"{key}.{col}": v for col, v in value.items()})
            else:
                out[str(key)] = value
        return out
    out = {}
    for text in conditions:
        for part in str(text).split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            if not sep:
                raise SynthesisError(f"condition `{part}` is not like table.column=value")
            out[name.strip()] = value.strip()
    return out


def parse_rows(values: Sequence[str]) -> dict[str, int]:
    """``["customers=1000", "orders=5000"]`` as ``{"customers": 1000, ...}``."""
    out: dict[str, int] = {}
    for text in values:
        for part in str(text).split(","):
            if not part.strip():
                continue
            name, sep, count = part.partition("=")
            try:
                out[name.strip()] = int(count.replace("_", ""))
            except ValueError:
                sep = ""
            if not sep:
                raise SynthesisError(f"rows `{part}` is not like table=count")
    return out


def _coerce(value: Any, kind: pa.DataType) -> Any:
    if pa.types.is_boolean(kind) and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "t", "y"):
            return True
        if lowered in ("0", "false", "no", "f", "n"):
            return False
        raise ValueError(f"{value!r} is not a boolean")
    if pa.types.is_boolean(kind) and isinstance(value, int | np.integer):
        return bool(value)
    return pa.scalar(value).cast(kind).as_py()


def _names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(sorted(mapping)) or "none"


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, chunks combined (joins and generators see plain arrays)."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


_MI_ROWS = 50_000
_MI_BINS = 16


def _codes(values: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """Small integer codes of a column (quantile bins, or the most common values + other)."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    array = array.take(pa.array(rows))
    kind = array.type
    if pa.types.is_boolean(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        encoded = pc.dictionary_encode(array.cast(pa.string()))
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        counts = np.bincount(codes[codes >= 0], minlength=1)
        top = np.argsort(-counts)[: _MI_BINS - 2]
        remap = np.full(max(len(counts), 1), _MI_BINS - 2)
        remap[top] = np.arange(len(top))
        return np.where(codes >= 0, remap[np.maximum(codes, 0)], _MI_BINS - 1)
    if pa.types.is_date(kind):
        array = array.cast(pa.int32())
    elif pa.types.is_timestamp(kind):
        array = array.cast(pa.int64())
    numbers = np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    valid = ~np.isnan(numbers)
    if not valid.any():
        return np.zeros(len(numbers), dtype=np.int64)
    edges = np.unique(np.quantile(numbers[valid], np.linspace(0, 1, _MI_BINS - 1)[1:-1]))
    binned = np.searchsorted(edges, np.nan_to_num(numbers), side="right")
    return np.where(valid, binned, _MI_BINS - 1).astype(np.int64)


def _normalised_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information of two code arrays over the smaller of their entropies (0..1)."""
    joint = np.bincount(a * _MI_BINS + b, minlength=_MI_BINS * _MI_BINS).astype(float)
    joint = joint.reshape(_MI_BINS, _MI_BINS) / max(len(a), 1)
    pa_, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa_, pb)[nz])).sum())
    entropy = min(
        float(-(pa_[pa_ > 0] * np.log(pa_[pa_ > 0])).sum()),
        float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum()),
    )
    return mi / entropy if entropy > 0 else 0.0


def _most_informative(
    candidates: Mapping[str, pa.Array], child: Sequence[pa.ChunkedArray], limit: int
) -> list[str]:
    """The ``limit`` parent columns that tell most about some child column (normalised MI).

    Scored on the child rows that have this parent (at most 50,000, evenly spread).
    """
    if len(candidates) <= limit or not child:
        return list(candidates)[:limit]
    first = next(iter(candidates.values()))
    usable = np.flatnonzero(np.asarray(pc.is_valid(first).to_numpy(zero_copy_only=False)))
    if len(usable) == 0:
        return list(candidates)[:limit]
    rows = usable[:: max(1, len(usable) // _MI_ROWS)]
    targets = [_codes(column, rows) for column in child]
    scores = {}
    for name, values in candidates.items():
        codes = _codes(values, rows)
        scores[name] = max(_normalised_mi(codes, target) for target in targets)
    ranked = sorted(candidates, key=lambda name: -scores[name])
    return [name for name in candidates if name in ranked[:limit]]


def through_driving(plans: Mapping[str, TablePlan], plan: TablePlan, link: Link) -> Link | None:
    """The middle table's driving link an inherited key follows (orders -> customers)."""
    if link.role != "inherit" or link.via is None or plan.driving is None:
        return None
    carrier = plans[plan.driving.parent].link(link.via)
    return carrier if carrier.role == "driving" and carrier.parent == link.parent else None


def driving_rows(plan: TablePlan, links: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The driving parent row of each row of a chunk (None for a table without one)."""
    driving = plan.driving
    return None if driving is None else links.get(driving.label)


def _copied_columns(
    plan: TablePlan,
    parent: TablePlan,
    real: Mapping[str, pa.Table],
    indices: Mapping[tuple[str, str], np.ndarray],
    rules: ConstraintSet,
    in_frame: set[str],
) -> dict[str, str]:
    """Child columns that equal a column of their driving parent on 99% of rows or more.

    ``payments.amount`` is its order's ``total_amount``: copied from the sampled parent row
    rather than learned, so the exact link survives. Columns that constraints rebuild or
    lean on are left to the generator.
    """
    driving = plan.driving
    if driving is None:
        return {}
    index = indices[(plan.name, driving.label)]
    rows = index >= 0
    if rows.sum() < 2:
        return {}
    busy = {r.low for r in rules.gaps_} | {c for k in rules.combos_ for c in k.columns}
    child, source = real[plan.name], real[parent.name]
    out: dict[str, str] = {}
    for column in plan.learned:
        if column not in in_frame or column in busy:
            continue
        kind = child.schema.field(column).type
        for candidate in parent.learned:
            if candidate in out.values() or source.schema.field(candidate).type != kind:
                continue
            mine = child.column(column).combine_chunks().filter(pa.array(rows))
            theirs = _take(source.column(candidate), index[rows])
            same = pc.fill_null(pc.equal(mine, theirs), False)
            both_null = pc.and_(pc.is_null(mine), pc.is_null(theirs))
            share = pc.mean(pc.or_(same, both_null).cast(pa.float64())).as_py() or 0.0
            if share >= 0.99:
                out[column] = candidate
                break
    return out


def _constant(column: pa.ChunkedArray) -> bool:
    """One value and no nulls (nothing for a generator to learn; some cannot take it)."""
    return column.null_count == 0 and bool(pc.count_distinct(column).as_py() == 1)


def _learnable(column: pa.ChunkedArray) -> bool:
    """A column a generator can learn (not entirely null)."""
    return bool(column.null_count < len(column))


def _good_context(column: pa.ChunkedArray) -> bool:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return bool(pc.count_distinct(column).as_py() <= _MAX_CONTEXT_CATEGORIES)
    return bool(column.null_count < len(column))


def _key_text(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    parts = [pc.cast(table.column(c).combine_chunks(), pa.string()) for c in columns]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, pa.scalar("\x1f"))


def _row_index(
    child: pa.Table, columns: Sequence[str], parent: pa.Table, ref_columns: Sequence[str]
) -> np.ndarray:
    """The parent row of every child row by key (-1 when null or not in the parent)."""
    if len(columns) == 1:
        left = child.column(columns[0]).combine_chunks()
        right = parent.column(ref_columns[0]).combine_chunks()
        if left.type != right.type:
            left, right = left.cast(pa.string()), right.cast(pa.string())
    else:
        left, right = _key_text(child, columns), _key_text(parent, ref_columns)
    found = pc.index_in(left, value_set=right)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _take(column: pa.ChunkedArray | pa.Array, index: np.ndarray) -> pa.Array:
    """``column[index]`` with null where ``index < 0``."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    missing = index < 0
    if len(array) == 0:
        return pa.nulls(len(index), array.type)
    taken = array.take(pa.array(np.where(missing, 0, index), pa.int64()))
    if missing.any():
        taken = pc.if_else(pa.array(missing), pa.scalar(None, array.type), taken)
    return taken


def _cast(values: pa.Array | pa.ChunkedArray | None, kind: pa.DataType, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, kind)
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if array.type == kind:
        return array
    if pa.types.is_integer(kind) and pa.types.is_floating(array.type):
        array = pc.round(array)
    return array.cast(kind, safe=False)


def _draw(
    generator: TableSynthesizer | None,
    n: int,
    context: pa.Table | None,
    conditions: dict[str, Any],
    seed: int,
) -> pa.Table:
    if generator is None or n == 0:
        return pa.table({"__rows": pa.nulls(n)})
    usable = {k: v for k, v in conditions.items() if k in generator.columns_}
    if generator.context_columns_:
        return generator.sample(context=context, conditions=usable or None, seed=seed)
    return generator.sample(n, conditions=usable or None, seed=seed)


def _counts(frame: pa.Table, column: str, max_children: int | None) -> np.ndarray:
    values = frame.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    counts = np.clip(np.rint(np.nan_to_num(values)), 0, None).astype(np.int64)
    if max_children is not None:
        counts = np.minimum(counts, max_children)
    return np.asarray(counts, dtype=np.int64)


def _quantiles(counts: np.ndarray, points: int = 2001) -> list[float]:
    """The sorted counts, or ``points`` quantiles of them for long tables."""
    ordered = np.sort(counts.astype(np.float64))
    if len(ordered) > points:
        ordered = np.quantile(ordered, np.linspace(0, 1, points))
    return [float(v) for v in ordered]


def _match_quantiles(
    values: np.ndarray, quantiles: Sequence[float], rng: np.random.Generator
) -> np.ndarray:
    """Keep the sampled ranking of ``values`` but give them the real distribution.

    Rank ``i`` of ``n`` gets the real quantile at ``(i + 0.5) / n`` (ties broken at
    random), so sampled counts keep their dependence on the parent's attributes while their
    distribution is the real one: a permutation of the real counts when sizes match.
    """
    n = len(values)
    if n == 0 or not quantiles:
        return np.asarray(values, dtype=np.int64)
    reference = np.asarray(quantiles, dtype=np.float64)
    order = np.lexsort((rng.random(n), values))
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n)
    positions = (ranks + 0.5) / n * len(reference) - 0.5
    matched = np.interp(positions, np.arange(len(reference)), reference)
    return np.asarray(np.rint(matched), dtype=np.int64)


def _rescale(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts that follow ``weights`` and sum to ``total``.

    Close to the sampled total (within -33%..+50%), the difference is spread in proportion
    to the square of each count, so the many small counts that shape the distribution stay
    as sampled and the heavy tail absorbs it; further off, every count is scaled.
    """
    w = np.clip(np.rint(np.nan_to_num(weights.astype(np.float64))), 0, None)
    if len(w) == 0:
        return w.astype(np.int64)
    current = w.sum()
    if current <= 0:
        return _proportional(np.ones_like(w), total)
    ratio = total / current
    if not 0.67 <= ratio <= 1.5:
        return _proportional(w, total)
    counts = w.astype(np.int64)
    for _ in range(4):
        gap = int(total - counts.sum())
        if gap == 0:
            break
        pull = counts.astype(np.float64) ** 2
        if gap < 0:
            pull = np.where(counts > 1, pull, 0.0)
            if pull.sum() <= 0:
                pull = np.where(counts > 0, 1.0, 0.0)
        if pull.sum() <= 0:
            pull = np.ones_like(pull)
        change = _proportional(pull, abs(gap))
        counts = counts + change if gap > 0 else np.maximum(counts - change, 0)
    gap = int(total - counts.sum())
    if gap != 0:
        return _proportional(np.maximum(counts, 0).astype(np.float64) + 1e-9, total)
    return np.asarray(counts, dtype=np.int64)


def _proportional(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to ``weights`` that sum to ``total`` (largest remainder)."""
    w = np.clip(weights.astype(np.float64), 0, None)
    if len(w) == 0:
        return w.astype(np.int64)
    if w.sum() <= 0:
        w = np.ones_like(w)
    exact = w * (total / w.sum())
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(exact - base), kind="stable")[:short]
        base[order] += 1
    return np.asarray(base, dtype=np.int64)


def _blocks(counts: np.ndarray, chunk_rows: int) -> Iterator[tuple[int, int]]:
    """Parent row ranges whose children add up to about ``chunk_rows`` (never split a parent)."""
    if len(counts) == 0:
        return
    cumulative = np.cumsum(counts)
    first = 0
    while first < len(counts):
        base = cumulative[first - 1] if first else 0
        last = int(np.searchsorted(cumulative, base + chunk_rows, side="right"))
        last = max(last, first + 1)
        yield first, min(last, len(counts))
        first = last


def _draw_weighted(
    weights: np.ndarray, n: int, rng: np.random.Generator, null_share: float
) -> np.ndarray:
    if len(weights) == 0:
        return np.full(n, -1, dtype=np.int64)
    cumulative = np.cumsum(weights.astype(np.float64))
    picked = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    picked = np.minimum(picked, len(weights) - 1).astype(np.int64)
    if null_share > 0:
        picked = np.where(rng.random(n) < null_share, -1, picked)
    return np.asarray(picked, dtype=np.int64)


def _duplicated(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """True for every row whose combination of values appeared in an earlier row."""
    if not arrays or len(arrays[0]) == 0:
        return np.zeros(0 if not arrays else len(arrays[0]), dtype=bool)
    stacked = np.stack(arrays, axis=1)
    valid = (stacked >= 0).all(axis=1)
    _, first = np.unique(stacked, axis=0, return_index=True)
    duplicated = np.ones(len(stacked), dtype=bool)
    duplicated[first] = False
    return duplicated & valid


def _is_dense_panel(plan: TablePlan, real: Mapping[str, pa.Table], contract: Contract) -> bool:
    """A table whose rows cover most of its parents' cross product (store x product x day)."""
    driving = plan.driving
    others = [link for link in plan.links if link is not driving]
    if driving is None or not 1 <= len(others) <= 2 or plan.orphan_share > 0:
        return False
    if any(link.role != "secondary" or link.null_share > 0 for link in others):
        return False
    key = {c for link in plan.links for c in link.columns}
    if key not in [set(k) for k in contract.unique_keys()] or plan.sequences:
        return False
    cells = float(np.prod([real[link.parent].num_rows for link in plan.links]))
    return cells > 0 and plan.real_rows / cells >= 0.5


def _thin_grid(
    sizes: Sequence[int], shares: Sequence[np.ndarray], removal: int, rng: np.random.Generator
) -> np.ndarray:
    """A keep-mask over the grid with ``removal`` cells dropped, ``shares[axis][v]`` per value."""
    total = int(np.prod(sizes))
    keep = np.ones(total, dtype=bool)
    if removal <= 0:
        return keep
    if len(sizes) == 1:
        weights = shares[0].astype(np.float64) + 1e-12
        drop = rng.choice(total, size=min(removal, total), replace=False, p=weights / weights.sum())
        keep[drop] = False
        return keep
    rows_left = shares[0].astype(np.int64).copy()
    cols_left = shares[1].astype(np.int64).copy()
    matrix = keep.reshape(sizes[0], sizes[1])
    dropped = 0
    for p in np.argsort(-rows_left, kind="stable"):
        need = int(rows_left[p])
        if need <= 0 or dropped >= removal:
            continue
        order = np.lexsort((rng.random(sizes[1]), -cols_left))
        chosen = order[: min(need, removal - dropped)]
        matrix[p, chosen] = False
        cols_left[chosen] -= 1
        dropped += len(chosen)
    if dropped < removal:
        extra = rng.choice(
            np.flatnonzero(keep), size=min(removal - dropped, int(keep.sum())), replace=False
        )
        keep[extra] = False
    return keep


def _swap_repair(
    others: Sequence[np.ndarray],
    values: np.ndarray,
    duplicated: np.ndarray,
    rng: np.random.Generator,
    tries: int = 64,
) -> None:
    """Swap ``values`` between a duplicated row and another row when both become unique."""
    n = len(values)
    if n < 2:
        return
    keys = [tuple(int(a[row]) for a in others) for row in range(n)]
    used: dict[tuple[int, ...], int] = {}
    for row in range(n):
        combo = (*keys[row], int(values[row]))
        used[combo] = used.get(combo, 0) + 1
    partners = rng.integers(0, n, size=(int(duplicated.sum()), tries))
    for position, candidates in zip(np.flatnonzero(duplicated), partners, strict=True):
        row = int(position)
        mine = (*keys[row], int(values[row]))
        if used[mine] <= 1:
            continue
        for other in candidates:
            theirs_value, my_value = int(values[other]), int(values[row])
            if theirs_value == my_value:
                continue
            new_mine = (*keys[row], theirs_value)
            new_theirs = (*keys[other], my_value)
            if used.get(new_mine, 0) or used.get(new_theirs, 0):
                continue
            theirs = (*keys[other], theirs_value)
            used[mine] -= 1
            used[theirs] -= 1
            used[new_mine] = 1
            used[new_theirs] = 1
            values[row], values[other] = theirs_value, my_value
            break


def _exhaustive_repair(
    fixed: Sequence[np.ndarray],
    movable: Sequence[np.ndarray],
    weights: Sequence[np.ndarray],
    duplicated: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Give each remaining duplicate a combination of movable keys its group has not used.

    Tries popular combinations first, then every combination when there are few enough.
    """
    used: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
    for row in np.flatnonzero(~duplicated):
        group = tuple(int(a[row]) for a in fixed)
        used.setdefault(group, set()).add(tuple(int(a[row]) for a in movable))
    sizes = [len(w) for w in weights]
    total = int(np.prod(sizes)) if sizes else 0
    everything: np.ndarray | None = None
    for row in np.flatnonzero(duplicated):
        group = tuple(int(a[row]) for a in fixed)
        taken = used.setdefault(group, set())
        choice: tuple[int, ...] | None = None
        for _ in range(64):
            candidate = tuple(int(_draw_weighted(w, 1, rng, 0.0)[0]) for w in weights)
            if candidate not in taken:
                choice = candidate
                break
        if choice is None and 0 < total <= _EXHAUSTIVE_LIMIT:
            if everything is None:
                grids = np.meshgrid(*[np.arange(size) for size in sizes], indexing="ij")
                everything = np.stack([g.ravel() for g in grids], axis=1)
            start = int(rng.integers(total))
            for offset in range(total):
                candidate = tuple(int(v) for v in everything[(start + offset) % total])
                if candidate not in taken:
                    choice = candidate
                    break
        if choice is None:
            continue
        for array, value in zip(movable, choice, strict=True):
            array[row] = value
        taken.add(choice)


def _rank_within(group: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each run of equal consecutive values."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, group[1:] != group[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.asarray(np.arange(n) - run_start, dtype=np.int64)


def _counted(chunks: Iterator[pa.Table], advance: Callable[[int], None]) -> Iterator[pa.Table]:
    for chunk in chunks:
        advance(chunk.num_rows)
        yield chunk


@contextlib.contextmanager
def _progress_bar(
    enabled: bool,
) -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """``bar(description, total)`` returns ``advance(steps)``; a no-op when disabled."""
    if not enabled:
        yield lambda description, total: lambda steps: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as progress:

        def bar(description: str, total: int | None) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda steps: progress.advance(task, steps)

        yield bar
