from __future__ import annotations

import pytest

from lakeforge.contracts import (
    AllowedValuesCheck,
    Column,
    Contract,
    ExpressionCheck,
    ForeignKey,
    FreshnessCheck,
    RangeCheck,
    ReadOptions,
    RegexCheck,
    UniqueCheck,
)
from lakeforge.errors import ContractError


def _orders() -> Contract:
    return Contract(
        table="orders",
        description="one row per order line",
        layer="silver",
        columns=[
            Column(name="order_id", type="string", nullable=False),
            Column(name="line_no", type="integer", nullable=False),
            Column(name="customer_email", pii="email"),
            Column(name="amount", type="decimal", scale=2),
            Column(name="ordered_at", type="timestamp", format="%Y-%m-%d %H:%M", timezone=True),
            Column(name="ship_date", type="date", format="%d/%m/%Y"),
            Column(name="unit_price", type="float", decimal_comma=True, source_name="Unit Price"),
            Column(name="status"),
        ],
        primary_key=["order_id", "line_no"],
        foreign_keys=[
            ForeignKey(columns=["customer_email"], ref_table="customers", ref_columns=["email"])
        ],
        checks=[
            UniqueCheck(columns=["order_id", "line_no"]),
            RangeCheck(column="amount", min=0, max=10_000, max_inclusive=False),
            AllowedValuesCheck(column="status", values=["open", "shipped"]),
            RegexCheck(column="order_id", pattern=r"O-\d+", severity="warn"),
            ExpressionCheck(sql="ship_date >= CAST(ordered_at AS DATE)", name="ships_after"),
            FreshnessCheck(column="ordered_at", max_age="2d"),
        ],
        read=ReadOptions(format="csv", delimiter=";", null_values=["", "NA"], trim=True),
    )


def test_yaml_round_trip_gives_an_equal_contract() -> None:
    # Setup
    contract = _orders()

    # Run
    text = contract.to_yaml()
    again = Contract.from_yaml(text)

    # Assert
    assert again == contract
    assert again.to_yaml() == text
    assert "Unit Price" in text
    assert again.fingerprint() == contract.fingerprint()


def test_yaml_leaves_out_defaults() -> None:
    # Setup
    contract = Contract(table="t", columns=[Column(name="a")])

    # Run
    data = contract.to_dict()

    # Assert
    assert data == {"table": "t", "columns": [{"name": "a"}]}


def test_yaml_keeps_a_none_that_is_not_the_default() -> None:
    # Setup: a file read without a quote character (stray quotes inside tab-separated text)
    contract = Contract(
        table="t",
        columns=[Column(name="a")],
        read=ReadOptions(format="csv", delimiter="\t", quote_char=None),
    )

    # Run
    again = Contract.from_yaml(contract.to_yaml())

    # Assert
    assert again.read.quote_char is None
    assert again == contract


def test_every_problem_is_reported_at_once() -> None:
    # Setup
    data = {
        "table": "orders",
        "columns": [{"name": "id"}, {"name": "id"}, {"name": "unit price"}],
        "primary_key": ["order_id"],
        "checks": [
            {"type": "regex", "column": "id", "pattern": "("},
            {"type": "range", "column": "amount", "min": 0},
        ],
    }

    # Run
    with pytest.raises(ContractError) as caught:
        Contract.from_dict(data, source="orders.yaml")

    # Assert
    problems = caught.value.problems
    text = "\n".join(problems)
    assert len(problems) >= 5
    assert "`id` is declared more than once" in text
    assert "`unit price` is not a plain identifier" in text
    assert "primary key column `order_id`" in text
    assert "invalid regex" in text
    assert "range(amount): `amount` is not a column" in text
    assert caught.value.source == "orders.yaml"
    assert "orders.yaml" in str(caught.value)


def test_field_errors_are_reported_together() -> None:
    # Setup
    data = {
        "table": "t",
        "columns": [{"name": "a", "type": "text"}, {"name": "b", "nullable": "sometimes"}],
    }

    # Run
    with pytest.raises(ContractError) as caught:
        Contract.from_dict(data)

    # Assert
    assert len(caught.value.problems) == 2
    assert any(p.startswith("columns.0.type") for p in caught.value.problems)
    assert any(p.startswith("columns.1.nullable") for p in caught.value.problems)


def test_fingerprint_ignores_the_version_but_not_the_content() -> None:
    # Setup
    first = _orders()
    bumped = first.model_copy(update={"version": 7})
    changed = first.with_columns([*first.columns, Column(name="note")])

    # Run
    prints = [c.fingerprint() for c in (first, bumped, changed)]

    # Assert
    assert prints[0] == prints[1]
    assert prints[0] != prints[2]


def test_unknown_check_type_is_refused() -> None:
    # Setup
    text = """
table: t
columns: [{name: a}]
checks:
  - {type: mystery, column: a}
"""

    # Run
    with pytest.raises(ContractError) as caught:
        Contract.from_yaml(text)

    # Assert
    assert "mystery" in str(caught.value)


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ContractError, match="colums"):
        Contract.from_yaml("table: t\ncolumns: [{name: a}]\ncolums: []\n")


@pytest.mark.parametrize("text", ["[1, 2]", "table: [unclosed"])
def test_text_that_is_not_a_contract_mapping_is_refused(text: str) -> None:
    with pytest.raises(ContractError):
        Contract.from_yaml(text)


def test_unique_keys_lists_primary_key_and_error_unique_checks_once() -> None:
    # Setup
    contract = Contract(
        table="t",
        columns=[Column(name="a"), Column(name="b"), Column(name="c")],
        primary_key=["a"],
        checks=[
            UniqueCheck(columns=["a"]),
            UniqueCheck(columns=["b", "c"]),
            UniqueCheck(columns=["c"], severity="warn"),
        ],
    )

    # Run
    keys = contract.unique_keys()

    # Assert
    assert keys == [["a"], ["b", "c"]]


def test_column_lookup_and_pii_columns() -> None:
    # Setup
    contract = _orders()

    # Run / Assert
    assert contract.column("status").type == "string"
    assert contract.pii_columns == {"customer_email": "email"}
    with pytest.raises(ContractError, match="no column `nope`"):
        contract.column("nope")


@pytest.mark.parametrize(
    ("max_age", "seconds"),
    [("36h", 129_600.0), ("2d", 172_800.0), ("90 s", 90.0), ("1w", 604_800.0)],
)
def test_freshness_max_age_units(max_age: str, seconds: float) -> None:
    assert FreshnessCheck(column="ts", max_age=max_age).max_age_seconds() == seconds


def test_freshness_max_age_that_is_not_a_duration_is_an_error() -> None:
    with pytest.raises(ContractError, match="36h"):
        FreshnessCheck(column="ts", max_age="soon").max_age_seconds()
