"""Constraints as reversible transforms around a generator, plus a final repair pass.

A generator learns columns one by one or in pairs; it does not know that ``ship_date >=
order_date`` must hold on every row. Rather than rejecting rows that break a rule (which can
fail), each rule is built into what the generator sees:

* :class:`Inequality` ``high >= low`` (or ``>``): ``high`` is replaced by the gap
  ``__gap_<high> = high - low`` (days for dates, the timestamp unit for timestamps), which is
  never negative in the training data; new rows get ``high = low + max(gap, 0)``.
* :class:`FixedCombinations`: the columns are learned as one categorical value, so only
  combinations seen in the data (``city``, ``state``) come out.
* :class:`Range` and :class:`AllowedValues`: clipped or snapped in the repair pass.
* :class:`Unique`: single columns become generated keys (see ``synth/_keys.py``); keys made
  of foreign keys are repaired by the multi-table sampler.

Rules come from the contract (range, allowed values, unique, and row expressions of the forms
``a >= b``, ``a < b``, ``a IS NULL OR a > b``) and from explicit arguments.

Example:
    >>> rules = ConstraintSet([Inequality(low="order_date", high="ship_date")])
    >>> learned = rules.fit(orders).transform(orders)  # doctest: +SKIP
    >>> rows = rules.repair(rules.reverse(generator.sample(100)))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.contracts import (
    AllowedValuesCheck,
    Contract,
    ExpressionCheck,
    RangeCheck,
    UniqueCheck,
)
from lakeforge.errors import ContractError
from lakeforge.synth._types import type_from_text

__all__ = [
    "AllowedValues",
    "Constraint",
    "ConstraintSet",
    "FixedCombinations",
    "Inequality",
    "Range",
    "Unique",
    "constraints_from_contract",
]

_SEPARATOR = "\x1f"
_IDENT = r"([A-Za-z_][A-Za-z0-9_]*)"
_COMPARISON = re.compile(rf"^\s*{_IDENT}\s*(>=|>|<=|<)\s*{_IDENT}\s*$")
_NULL_OR = re.compile(
    rf"^\s*{_IDENT}\s+IS\s+NULL\s+OR\s+{_IDENT}\s*(>=|>|<=|<)\s*{_IDENT}\s*$", re.IGNORECASE
)


@dataclass
class Inequality:
    """``high >= low`` on every row (``high > low`` when ``strict``); nulls are allowed."""

    low: str
    high: str
    strict: bool = False
    kind: Literal["inequality"] = "inequality"

    @property
    def columns(self) -> list[str]:
        """The columns the rule reads."""
        return [self.low, self.high]


@dataclass
class Range:
    """``min <= column <= max`` (either bound optional)."""

    column: str
    min: Any = None
    max: Any = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    kind: Literal["range"] = "range"

    @property
    def columns(self) -> list[str]:
        """The columns the rule reads."""
        return [self.column]


@dataclass
class AllowedValues:
    """The column only holds one of ``values``."""

    column: str
    values: list[Any]
    kind: Literal["allowed_values"] = "allowed_values"

    @property
    def columns(self) -> list[str]:
        """The columns the rule reads."""
        return [self.column]


@dataclass
class FixedCombinations:
    """Only combinations of these columns seen in the real data appear (city with state)."""

    columns: list[str]
    kind: Literal["fixed_combinations"] = "fixed_combinations"


@dataclass
class Unique:
    """The columns are unique together."""

    columns: list[str]
    kind: Literal["unique"] = "unique"


Constraint = Inequality | Range | AllowedValues | FixedCombinations | Unique
_KINDS: dict[str, type[Any]] = {
    "inequality": Inequality,
    "range": Range,
    "allowed_values": AllowedValues,
    "fixed_combinations": FixedCombinations,
    "unique": Unique,
}


def constraint_from_dict(data: dict[str, Any]) -> Constraint:
    """Rebuild a constraint written with ``asdict``."""
    try:
        cls = _KINDS[data["kind"]]
    except KeyError:
        raise ContractError(f"unknown constraint kind {data.get('kind')!r}") from None
    result: Constraint = cls(**data)
    return result


def constraints_from_contract(contract: Contract) -> tuple[list[Constraint], list[str]]:
    """The rules a contract's checks state, and the checks that could not be turned into one.

    Only ``error`` checks count; ``warn`` checks are advice, not rules.
    """
    rules: list[Constraint] = []
    skipped: list[str] = []
    for check in contract.checks:
        if check.severity != "error":
            continue
        if isinstance(check, RangeCheck):
            rules.append(
                Range(
                    column=check.column,
                    min=check.min,
                    max=check.max,
                    min_inclusive=check.min_inclusive,
                    max_inclusive=check.max_inclusive,
                )
            )
        elif isinstance(check, AllowedValuesCheck):
            rules.append(AllowedValues(column=check.column, values=list(check.values)))
        elif isinstance(check, UniqueCheck):
            rules.append(Unique(columns=list(check.columns)))
        elif isinstance(check, ExpressionCheck):
            parsed = parse_inequality(check.sql)
            if parsed is None:
                skipped.append(check.label())
            else:
                rules.append(parsed)
    return rules, skipped


def parse_inequality(sql: str) -> Inequality | None:
    """``a >= b``, ``a < b``, ``a IS NULL OR a > b`` as an :class:`Inequality`, else None."""
    match = _COMPARISON.match(sql)
    if match:
        left, op, right = match.groups()
    else:
        match = _NULL_OR.match(sql)
        if not match or match.group(1) not in (match.group(2), match.group(4)):
            return None
        _, left, op, right = match.groups()
    if op in (">=", ">"):
        return Inequality(low=right, high=left, strict=op == ">")
    return Inequality(low=left, high=right, strict=op == "<")


def _gap(column: str) -> str:
    return f"__gap_{column}"


def _combo(columns: Iterable[str]) -> str:
    return "__combo_" + "__".join(columns)


def _temporal_unit(kind: pa.DataType) -> pa.DataType | None:
    if pa.types.is_date(kind):
        return pa.int32()
    if pa.types.is_timestamp(kind):
        return pa.int64()
    return None


@dataclass
class ConstraintSet:
    """A table's rules: which become transforms (after :meth:`fit`), which are repaired."""

    constraints: list[Constraint] = field(default_factory=list)
    #: learned: inequalities applied as gaps, in the order they were chosen
    gaps_: list[Inequality] = field(default_factory=list)
    combos_: list[FixedCombinations] = field(default_factory=list)
    types_: dict[str, str] = field(default_factory=dict)
    #: the most common allowed value, for replacing values outside an allowed set
    fallback_: dict[str, Any] = field(default_factory=dict)
    #: decimals to round a rebuilt float column to (its real values' precision)
    decimals_: dict[str, int] = field(default_factory=dict)

    def fit(self, table: pa.Table, *, learnable: Collection[str] | None = None) -> ConstraintSet:
        """Choose the transforms for ``table`` (only among ``learnable`` columns)."""
        names = set(table.column_names)
        allowed = names if learnable is None else names & set(learnable)
        self.types_ = {f.name: str(f.type) for f in table.schema}
        self.gaps_, self.combos_ = [], []
        derived: dict[str, str] = {}  # high -> low
        used: set[str] = set()
        for rule in self.constraints:
            fits = isinstance(rule, FixedCombinations) and set(rule.columns) <= allowed
            if isinstance(rule, FixedCombinations) and fits and not used & set(rule.columns):
                self.combos_.append(rule)
                used.update(rule.columns)
        for rule in self.constraints:
            if not isinstance(rule, Inequality):
                continue
            if not {rule.low, rule.high} <= allowed or rule.high in derived:
                continue
            if {rule.low, rule.high} & used:
                continue
            low_type, high_type = (
                table.schema.field(rule.low).type,
                table.schema.field(rule.high).type,
            )
            if not _comparable(low_type, high_type):
                continue
            chain, cyclic = rule.low, False
            while chain in derived:
                chain = derived[chain]
                if chain == rule.high:
                    cyclic = True
                    break
            if cyclic or rule.low == rule.high:
                continue
            derived[rule.high] = rule.low
            self.gaps_.append(rule)
            if pa.types.is_floating(high_type):
                self.decimals_[rule.high] = _decimals(table.column(rule.high))
        for rule in self.constraints:
            if isinstance(rule, AllowedValues) and rule.column in names and rule.values:
                counts = pc.value_counts(table.column(rule.column).drop_null()).to_pylist()
                ranked = sorted(counts, key=lambda c: -c["counts"])
                known = [c["values"] for c in ranked if c["values"] in rule.values]
                self.fallback_[rule.column] = known[0] if known else rule.values[0]
        return self

    # -- forward ------------------------------------------------------------------------------
    def transform(self, table: pa.Table) -> pa.Table:
        """The table as the generator learns it: gaps instead of highs, combos merged."""
        out = table
        for rule in self.gaps_:
            gap = _difference(table.column(rule.high), table.column(rule.low))
            out = out.append_column(_gap(rule.high), gap)
        for combo in self.combos_:
            parts = [pc.cast(table.column(c), pa.string()) for c in combo.columns]
            joined = pc.binary_join_element_wise(
                *parts, pa.scalar(_SEPARATOR), null_handling="replace", null_replacement="\x00"
            )
            out = out.append_column(_combo(combo.columns), joined)
        dropped = {r.high for r in self.gaps_} | {c for k in self.combos_ for c in k.columns}
        return out.select([n for n in out.column_names if n not in dropped])

    def learned_names(self, columns: Iterable[str]) -> list[str]:
        """What ``columns`` become after :meth:`transform`."""
        dropped = {r.high for r in self.gaps_} | {c for k in self.combos_ for c in k.columns}
        out = [c for c in columns if c not in dropped]
        out += [_gap(r.high) for r in self.gaps_]
        out += [_combo(k.columns) for k in self.combos_]
        return out

    def derived_columns(self) -> set[str]:
        """Columns rebuilt by :meth:`reverse` (so they cannot be conditioned on directly)."""
        return {r.high for r in self.gaps_}

    # -- backward -----------------------------------------------------------------------------
    def reverse(self, table: pa.Table) -> pa.Table:
        """Undo :meth:`transform` on generated rows: split combos, rebuild highs from gaps."""
        out = table
        for combo in self.combos_:
            name = _combo(combo.columns)
            if name not in out.column_names:
                continue
            values = out.column(name).combine_chunks()
            split = pc.split_pattern(values, _SEPARATOR)
            for position, column in enumerate(combo.columns):
                part = pc.list_element(split, position)
                part = pc.if_else(pc.equal(part, "\x00"), pa.scalar(None, pa.string()), part)
                out = out.append_column(column, _cast(part, self.types_.get(column)))
            out = out.drop_columns([name])
        pending = [r for r in self.gaps_ if _gap(r.high) in out.column_names]
        while pending:
            progressed = False
            for rule in list(pending):
                if rule.low not in out.column_names:
                    continue
                gap = out.column(_gap(rule.high)).combine_chunks()
                high = _add(
                    out.column(rule.low).combine_chunks(),
                    gap,
                    rule.strict,
                    self.types_[rule.high],
                    self.decimals_.get(rule.high),
                )
                out = out.drop_columns([_gap(rule.high)]).append_column(rule.high, high)
                pending.remove(rule)
                progressed = True
            if not progressed:
                missing = ", ".join(sorted({r.low for r in pending}))
                raise ContractError(f"cannot rebuild inequality columns: {missing} not sampled")
        return out

    def repair(
        self,
        table: pa.Table,
        *,
        protected: Collection[str] = (),
        prefer: Collection[str] = (),
    ) -> pa.Table:
        """Clip ranges, snap allowed values and fix inequalities that are not transforms.

        ``protected`` columns (generated keys) are never changed; of the two sides of a
        broken inequality, a ``prefer`` column (a PII fake) is the one moved.
        """
        out = table
        for rule in self.constraints:
            if not isinstance(rule, Range | AllowedValues):
                continue
            if rule.column not in out.column_names or rule.column in protected:
                continue
            if isinstance(rule, Range):
                out = _set(out, rule.column, _clip(out.column(rule.column), rule))
            else:
                out = _set(out, rule.column, self._snap(out.column(rule.column), rule))
        for rule in self.constraints:
            if not isinstance(rule, Inequality) or rule in self.gaps_:
                continue
            if not {rule.low, rule.high} <= set(out.column_names):
                continue
            out = _repair_inequality(out, rule, protected, prefer)
        return out

    def _snap(self, column: pa.ChunkedArray | pa.Array, rule: AllowedValues) -> pa.Array:
        values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        kind = values.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            allowed = np.sort(np.asarray([v for v in rule.values if v is not None], dtype=float))
            if len(allowed) == 0:
                return values
            raw = values.to_numpy(zero_copy_only=False).astype(float)
            position = np.clip(np.searchsorted(allowed, raw), 1, max(len(allowed) - 1, 1))
            lower, upper = allowed[position - 1], allowed[np.minimum(position, len(allowed) - 1)]
            nearest = np.where(np.abs(raw - lower) <= np.abs(upper - raw), lower, upper)
            nearest = np.where(np.isnan(raw), np.nan, nearest)
            return pa.array(nearest, mask=np.isnan(raw)).cast(kind, safe=False)
        allowed_set = pa.array(rule.values).cast(kind, safe=False)
        inside = pc.or_kleene(pc.is_in(values, value_set=allowed_set), pc.is_null(values))
        fallback = pa.scalar(self.fallback_.get(rule.column, rule.values[0])).cast(kind)
        return pc.if_else(inside, values, fallback)

    # -- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "constraints": [asdict(c) for c in self.constraints],
            "gaps": [self.constraints.index(r) for r in self.gaps_],
            "combos": [self.constraints.index(r) for r in self.combos_],
            "types": self.types_,
            "fallback": self.fallback_,
            "decimals": self.decimals_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConstraintSet:
        """Inverse of :meth:`to_dict`."""
        rules = [constraint_from_dict(c) for c in data["constraints"]]
        out = cls(constraints=rules)
        out.gaps_ = [rules[i] for i in data["gaps"]]
        out.combos_ = [rules[i] for i in data["combos"]]
        out.types_ = dict(data["types"])
        out.fallback_ = dict(data["fallback"])
        out.decimals_ = {k: int(v) for k, v in data.get("decimals", {}).items()}
        return out


def _comparable(a: pa.DataType, b: pa.DataType) -> bool:
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
    if any(f(a) for f in numeric) and any(f(b) for f in numeric):
        return True
    if pa.types.is_date(a) and pa.types.is_date(b):
        return True
    return bool(pa.types.is_timestamp(a) and pa.types.is_timestamp(b) and a.tz == b.tz)


def _numeric(values: pa.ChunkedArray | pa.Array, unit: pa.DataType | None) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if unit is not None:
        if pa.types.is_timestamp(array.type):
            return array.cast(pa.timestamp(array.type.unit)).cast(pa.int64())
        return array.cast(pa.int32()).cast(pa.int64())
    if pa.types.is_decimal(array.type):
        return array.cast(pa.float64())
    return array


def _difference(high: pa.ChunkedArray, low: pa.ChunkedArray) -> pa.Array:
    unit = _temporal_unit(high.type)
    if unit is not None and pa.types.is_timestamp(high.type) and high.type != low.type:
        low = low.cast(high.type)
    diff = pc.subtract(_numeric(high, unit), _numeric(low, unit))
    if pa.types.is_integer(diff.type):
        return diff.cast(pa.int64())
    return diff.cast(pa.float64())


def _decimals(column: pa.ChunkedArray) -> int:
    """The fewest decimals (up to 6) that every value is written with; -1 for more."""
    raw = column.drop_null().to_numpy()
    for decimals in range(7):
        scaled = raw * 10**decimals
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return decimals
    return -1


def _add(
    low: pa.Array, gap: pa.Array, strict: bool, high_type: str, decimals: int | None = None
) -> pa.Array:
    target = type_from_text(high_type)
    unit = _temporal_unit(target)
    gap_values = gap.to_numpy(zero_copy_only=False).astype(float)
    missing = np.isnan(gap_values)
    integral = unit is not None or pa.types.is_integer(target)
    floor = 1.0 if strict and integral else 0.0
    gap_values = np.maximum(np.nan_to_num(gap_values, nan=0.0), floor)
    if pa.types.is_timestamp(target) and low.type != target:
        low = low.cast(target)
    base = _numeric(low, unit).to_numpy(zero_copy_only=False).astype(float)
    missing |= np.isnan(base)
    if integral:
        result = np.rint(np.nan_to_num(base)) + np.rint(gap_values)
        if strict:
            result = np.maximum(result, np.nan_to_num(base) + 1)
        array = pa.array(result.astype(np.int64), mask=missing)
    else:
        result = np.nan_to_num(base) + gap_values
        if decimals is not None and decimals >= 0:
            result = np.round(result, decimals)
        if strict:
            result = np.where(result <= base, np.nextafter(base, np.inf), result)
        array = pa.array(result, mask=missing)
    if unit is not None and pa.types.is_date(target):
        return array.cast(pa.int32()).cast(target)
    if unit is not None:
        return array.cast(pa.timestamp(target.unit)).cast(target)
    return array.cast(target, safe=False)


def _cast(values: pa.Array, type_name: str | None) -> pa.Array:
    if type_name is None:
        return values
    return values.cast(type_from_text(type_name), safe=False)


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, table.schema.field(name), values)


def _clip(column: pa.ChunkedArray, rule: Range) -> pa.Array:
    values = column.combine_chunks()
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        temporal = pa.types.is_date(kind) or pa.types.is_timestamp(kind)
        if not temporal:
            return values
    out = values
    integral = pa.types.is_integer(kind)
    if rule.min is not None:
        low = pa.scalar(rule.min).cast(kind, safe=False)
        if not rule.min_inclusive and integral:
            low = pa.scalar(int(rule.min) + 1).cast(kind)
        out = pc.max_element_wise(out, low)
        if not rule.min_inclusive and pa.types.is_floating(kind):
            bumped = float(np.nextafter(float(rule.min), np.inf))
            out = pc.if_else(pc.less_equal(out, low), pa.scalar(bumped, kind), out)
    if rule.max is not None:
        high = pa.scalar(rule.max).cast(kind, safe=False)
        if not rule.max_inclusive and integral:
            high = pa.scalar(int(rule.max) - 1).cast(kind)
        out = pc.min_element_wise(out, high)
        if not rule.max_inclusive and pa.types.is_floating(kind):
            lowered = float(np.nextafter(float(rule.max), -np.inf))
            out = pc.if_else(pc.greater_equal(out, high), pa.scalar(lowered, kind), out)
    return out


def _repair_inequality(
    table: pa.Table, rule: Inequality, protected: Collection[str], prefer: Collection[str]
) -> pa.Table:
    low, high = table.column(rule.low), table.column(rule.high)
    if not _comparable(low.type, high.type):
        return table
    compare = pc.less_equal if rule.strict else pc.less
    broken = pc.fill_null(compare(high, low), False)
    if not pc.any(broken).as_py():
        return table
    move_low = rule.low not in protected and (rule.low in prefer or rule.high in protected)
    if move_low:
        target, source, direction = rule.low, high, -1
    elif rule.high not in protected:
        target, source, direction = rule.high, low, 1
    else:
        return table
    current = table.column(target).combine_chunks()
    fixed = _shift(source, direction, rule.strict, current.type)
    return _set(table, target, pc.if_else(broken, fixed, current))


def _shift(values: pa.ChunkedArray, direction: int, strict: bool, target: pa.DataType) -> pa.Array:
    """``values`` moved just past themselves (one unit when strict) in ``target``'s type."""
    unit = _temporal_unit(values.type)
    numbers = _numeric(values, unit)
    if pa.types.is_floating(numbers.type):
        raw = numbers.to_numpy(zero_copy_only=False)
        moved = pa.array(np.nextafter(raw, direction * np.inf) if strict else raw)
    else:
        moved = pc.add(numbers, pa.scalar(direction * int(strict), numbers.type))
    if unit is not None and pa.types.is_date(target):
        return moved.cast(pa.int32()).cast(target)
    if unit is not None:
        return moved.cast(pa.timestamp(target.unit)).cast(target)
    return moved.cast(target, safe=False)
