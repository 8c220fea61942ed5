"""Constraints: reversible transforms around the generator, and the repair pass."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeforge.contracts import (
    AllowedValuesCheck,
    Column,
    Contract,
    ExpressionCheck,
    RangeCheck,
    UniqueCheck,
)
from lakeforge.synth._constraints import (
    AllowedValues,
    ConstraintSet,
    FixedCombinations,
    Inequality,
    Range,
    Unique,
    constraints_from_contract,
    parse_inequality,
)
from lakeforge.synth._multitable import Synthesizer


@pytest.mark.parametrize(
    ("sql", "low", "high", "strict"),
    [
        ("ship_date >= order_date", "order_date", "ship_date", False),
        ("unit_cost < base_price", "unit_cost", "base_price", True),
        ("on_hand_close <= on_hand_open", "on_hand_close", "on_hand_open", False),
        ("arrival_date IS NULL OR arrival_date > order_date", "order_date", "arrival_date", True),
    ],
)
def test_row_expressions_become_inequalities(sql: str, low: str, high: str, strict: bool) -> None:
    assert parse_inequality(sql) == Inequality(low=low, high=high, strict=strict)


def test_expressions_that_are_not_inequalities_are_reported_not_enforced() -> None:
    assert parse_inequality("price * qty = total") is None
    contract = Contract(
        table="t",
        columns=[Column(name="a", type="integer"), Column(name="b", type="integer")],
        checks=[
            ExpressionCheck(sql="a + b > 3", name="odd_rule"),
            ExpressionCheck(sql="b >= a"),
            RangeCheck(column="a", min=0, max=10),
            AllowedValuesCheck(column="b", values=[1, 2, 3]),
            UniqueCheck(columns=["a", "b"]),
            RangeCheck(column="b", min=0, severity="warn"),
        ],
    )
    rules, skipped = constraints_from_contract(contract)
    assert skipped == ["odd_rule"]
    assert [type(r) for r in rules] == [Inequality, Range, AllowedValues, Unique]


def _orders(n: int = 300, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ordered = np.datetime64("2024-01-01") + rng.integers(0, 300, n).astype("timedelta64[D]")
    ship = ordered + rng.integers(0, 10, n).astype("timedelta64[D]")
    city = rng.choice(["Austin", "Dallas", "Portland"], size=n)
    state = np.where(city == "Portland", "OR", "TX")
    return pa.table(
        {
            "order_date": pa.array(ordered.astype("datetime64[D]").astype(dt.date), pa.date32()),
            "ship_date": pa.array(ship.astype("datetime64[D]").astype(dt.date), pa.date32()),
            "city": city,
            "state": state,
            "qty": rng.integers(1, 5, n),
            "price": np.round(rng.uniform(1, 50, n), 2),
        }
    )


def test_inequality_transform_round_trips_and_holds_for_any_gap() -> None:
    table = _orders()
    rules = ConstraintSet([Inequality(low="order_date", high="ship_date")]).fit(table)
    learned = rules.transform(table)
    assert "ship_date" not in learned.column_names
    assert pc.min(learned["__gap_ship_date"]).as_py() >= 0
    assert rules.reverse(learned).select(table.column_names).to_pylist() == table.to_pylist()
    broken = learned.set_column(
        learned.column_names.index("__gap_ship_date"),
        "__gap_ship_date",
        pa.array(np.full(table.num_rows, -5), pa.int64()),
    )
    rebuilt = rules.reverse(broken)
    assert pc.all(pc.greater_equal(rebuilt["ship_date"], rebuilt["order_date"])).as_py()


def test_fixed_combinations_only_give_combinations_seen_in_the_data() -> None:
    table = _orders()
    rules = ConstraintSet([FixedCombinations(columns=["city", "state"])]).fit(table)
    learned = rules.transform(table)
    assert "city" not in learned.column_names and "__combo_city__state" in learned.column_names
    shuffled = learned.take(pa.array(np.random.default_rng(1).permutation(table.num_rows)))
    rebuilt = rules.reverse(shuffled)
    pairs = set(zip(rebuilt["city"].to_pylist(), rebuilt["state"].to_pylist(), strict=True))
    assert pairs <= {("Austin", "TX"), ("Dallas", "TX"), ("Portland", "OR")}


def test_repair_clips_ranges_snaps_allowed_values_and_fixes_leftover_inequalities() -> None:
    table = pa.table(
        {
            "qty": pa.array([-3, 2, 99], pa.int64()),
            "price": pa.array([0.0, 5.0, 7.5]),
            "stars": pa.array([0, 3, 9], pa.int64()),
            "channel": ["store", "fax", "online"],
            "born": pa.array([dt.date(2030, 1, 1), dt.date(1980, 1, 1), dt.date(1990, 1, 1)]),
            "signup": pa.array([dt.date(2020, 1, 1), dt.date(2021, 1, 1), dt.date(2022, 1, 1)]),
        }
    )
    rules = ConstraintSet(
        [
            Range(column="qty", min=1, max=10),
            Range(column="price", min=0, min_inclusive=False),
            AllowedValues(column="stars", values=[1, 2, 3, 4, 5]),
            AllowedValues(column="channel", values=["store", "online"]),
            Inequality(low="born", high="signup", strict=True),
        ]
    ).fit(table, learnable=["qty", "price", "stars", "channel", "signup"])
    assert rules.gaps_ == []  # `born` is not learned (a PII fake), so it is repaired instead
    fixed = rules.repair(table, prefer={"born"})
    assert fixed["qty"].to_pylist() == [1, 2, 10]
    assert fixed["price"].to_pylist()[0] > 0
    assert fixed["stars"].to_pylist() == [1, 3, 5]
    assert fixed["channel"].to_pylist()[1] in ("store", "online")
    assert fixed["born"].to_pylist()[0] == dt.date(2019, 12, 31)
    assert fixed["signup"].to_pylist() == table["signup"].to_pylist()


def test_strict_integer_inequality_and_float_precision_survive_generation() -> None:
    rng = np.random.default_rng(2)
    cost = np.round(rng.uniform(1, 20, 200), 2)
    table = pa.table({"cost": cost, "price": np.round(cost + rng.uniform(0.01, 5, 200), 2)})
    contract = Contract(
        table="p",
        columns=[Column(name="cost", type="float"), Column(name="price", type="float")],
        checks=[ExpressionCheck(sql="cost < price")],
    )
    syn = Synthesizer([contract], method="independent", seed=3).fit({"p": table})
    twin = syn.sample(seed=4)["p"]
    assert pc.all(pc.less(twin["cost"], twin["price"])).as_py()
    assert all(round(v, 2) == v for v in twin["price"].to_pylist())


def test_constraint_sets_save_and_load() -> None:
    table = _orders()
    rules = ConstraintSet(
        [
            Inequality(low="order_date", high="ship_date"),
            FixedCombinations(columns=["city", "state"]),
        ]
    ).fit(table)
    again = ConstraintSet.from_dict(rules.to_dict())
    learned = rules.transform(table)
    assert again.transform(table).equals(learned)
    assert (
        again.reverse(learned)
        .select(table.column_names)
        .equals(rules.reverse(learned).select(table.column_names))
    )


def test_inequality_chains_rebuild_in_order_and_cycles_are_refused() -> None:
    table = pa.table({"a": [1, 2, 3], "b": [2, 4, 6], "c": [5, 9, 9]})
    rules = ConstraintSet(
        [
            Inequality(low="a", high="b"),
            Inequality(low="b", high="c"),
            Inequality(low="c", high="a"),
        ]
    ).fit(table)
    assert [(r.low, r.high) for r in rules.gaps_] == [("a", "b"), ("b", "c")]
    assert (
        rules.reverse(rules.transform(table)).select(["a", "b", "c"]).to_pylist()
        == table.to_pylist()
    )
