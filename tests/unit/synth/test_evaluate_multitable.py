"""Foreign-key integrity, cardinality similarity and inter-table trends."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from lakeforge.contracts import Column, Contract, ForeignKey
from lakeforge.errors import ContractError
from lakeforge.synth import cardinality_similarity, foreign_key_integrity
from lakeforge.synth._eval_multitable import children_per_parent, inter_table_trends, relations

LABEL = "orders(customer_id)->customers(id)"


@pytest.fixture
def contracts() -> list[Contract]:
    customers = Contract(
        table="customers",
        columns=[Column(name="id", type="integer"), Column(name="segment")],
        primary_key=["id"],
    )
    orders = Contract(
        table="orders",
        columns=[
            Column(name="order_id", type="integer"),
            Column(name="customer_id", type="integer"),
            Column(name="amount", type="float"),
        ],
        primary_key=["order_id"],
        foreign_keys=[
            ForeignKey(columns=["customer_id"], ref_table="customers", ref_columns=["id"])
        ],
    )
    return [customers, orders]


def _shop(seed: int, n_customers: int = 3000, shuffle_amounts: bool = False) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    segment = rng.choice(["gold", "basic"], size=n_customers, p=[0.3, 0.7])
    per = np.where(segment == "gold", rng.poisson(6, n_customers), rng.poisson(1.5, n_customers))
    cust = np.repeat(np.arange(n_customers), per)
    gold = np.repeat(segment == "gold", per)
    amount = np.where(gold, rng.normal(200, 20, cust.size), rng.normal(50, 10, cust.size))
    if shuffle_amounts:
        amount = rng.permutation(amount)
    customers = pa.table({"id": np.arange(n_customers), "segment": segment})
    orders = pa.table({"order_id": np.arange(cust.size), "customer_id": cust, "amount": amount})
    return {"customers": customers, "orders": orders}


def test_relations_are_named_child_to_parent(contracts: list[Contract]) -> None:
    assert [r.label for r in relations(contracts)] == [LABEL]


def test_integrity_counts_orphans_and_ignores_null_keys(contracts: list[Contract]) -> None:
    # Setup: 4 non-null child keys, one orphan (9), one null
    tables = {
        "customers": pa.table({"id": [1, 2, 3], "segment": ["a", "b", "a"]}),
        "orders": pa.table(
            {
                "order_id": [1, 2, 3, 4, 5],
                "customer_id": pa.array([1, 1, 9, None, 3], type=pa.int32()),
                "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
            }
        ),
    }
    # Run
    result = foreign_key_integrity(tables, contracts)
    # Assert
    assert result == {LABEL: pytest.approx(0.75)}


def test_integrity_of_a_clean_sample_is_one(contracts: list[Contract]) -> None:
    assert foreign_key_integrity(_shop(0), contracts) == {LABEL: 1.0}


def test_integrity_names_a_missing_table(contracts: list[Contract]) -> None:
    with pytest.raises(ContractError, match="customers"):
        foreign_key_integrity({"orders": _shop(0)["orders"]}, contracts)


def test_children_per_parent_counts_childless_parents() -> None:
    tables = {
        "customers": pa.table({"id": [1, 2, 3], "segment": ["a", "b", "a"]}),
        "orders": pa.table({"order_id": [1, 2, 3], "customer_id": [3, 3, 1], "amount": [1.0] * 3}),
    }
    rel = relations(
        [
            Contract(
                table="orders",
                columns=[Column(name="customer_id", type="integer")],
                foreign_keys=[
                    ForeignKey(columns=["customer_id"], ref_table="customers", ref_columns=["id"])
                ],
            )
        ]
    )[0]
    assert children_per_parent(tables, rel).tolist() == [1.0, 0.0, 2.0]


def test_cardinality_matches_sdmetrics_definition(contracts: list[Contract]) -> None:
    # Setup: a same-distribution sample vs one where every customer has exactly one order
    real, twin = _shop(0), _shop(1)
    flat = dict(twin)
    n = twin["customers"].num_rows
    flat["orders"] = pa.table(
        {"order_id": np.arange(n), "customer_id": np.arange(n), "amount": np.ones(n)}
    )
    # Run
    good = cardinality_similarity(real, twin, contracts)[LABEL]
    bad = cardinality_similarity(real, flat, contracts)[LABEL]
    # Assert
    assert good > 0.9
    assert bad < 0.7
    sdmetrics = pytest.importorskip("sdmetrics")
    meta = {
        "tables": {
            "customers": {
                "primary_key": "id",
                "columns": {"id": {"sdtype": "id"}, "segment": {"sdtype": "categorical"}},
            },
            "orders": {
                "primary_key": "order_id",
                "columns": {
                    "order_id": {"sdtype": "id"},
                    "customer_id": {"sdtype": "id"},
                    "amount": {"sdtype": "numerical"},
                },
            },
        },
        "relationships": [
            {
                "parent_table_name": "customers",
                "parent_primary_key": "id",
                "child_table_name": "orders",
                "child_foreign_key": "customer_id",
            }
        ],
    }
    to_pd = lambda t: {k: v.to_pandas() for k, v in t.items()}  # noqa: E731
    expected = sdmetrics.multi_table.CardinalityShapeSimilarity.compute(
        to_pd(real), to_pd(flat), meta
    )
    assert bad == pytest.approx(expected)


def test_inter_table_trends_see_a_broken_parent_child_dependency(contracts: list[Contract]) -> None:
    # Setup: amounts depend on the parent's segment; the broken twin shuffles them
    real, twin, broken = _shop(0), _shop(1), _shop(1, shuffle_amounts=True)
    rel = relations(contracts)[0]
    # Run
    good = inter_table_trends(real, twin, rel, exclude={"orders": ["order_id"]})
    bad = inter_table_trends(real, broken, rel, exclude={"orders": ["order_id"]})
    # Assert
    assert [(p.column_1, p.column_2) for p in good] == [("parent.segment", "child.amount")]
    assert good[0].score > 0.9, good
    assert bad[0].score < good[0].score - 0.2, bad


def test_evaluate_tables_passes_a_twin_and_fails_orphans(
    tmp_path, contracts: list[Contract]
) -> None:  # type: ignore[no-untyped-def]
    # Setup: a same-distribution twin, and one whose orders point at unknown customers
    from lakeforge.synth import evaluate_tables

    real, twin = _shop(0, 800), _shop(1, 800)
    broken = dict(twin)
    ids = twin["orders"].column("customer_id").to_numpy() + 400
    broken["orders"] = twin["orders"].set_column(1, "customer_id", pa.array(ids))
    # Run
    good = evaluate_tables(real, twin, contracts, discriminator=False)
    bad = evaluate_tables(real, broken, contracts, discriminator=False)
    # Assert
    assert good.foreign_key_integrity == {LABEL: 1.0}
    assert good.cardinality[LABEL] > 0.9
    assert good.inter_table_score(LABEL) > 0.85
    assert good.passed, good.summary()
    # keys are identifiers, not compared as data
    assert set(good.tables["orders"].kinds) == {"amount"}
    assert set(good.tables["customers"].kinds) == {"segment"}
    assert bad.foreign_key_integrity[LABEL] < 0.6
    assert not bad.passed
    doc = json.loads(good.to_json(tmp_path / "multi.json"))
    assert doc["foreign_key_integrity"] == {LABEL: 1.0}
    page = good.to_html(tmp_path / "multi.html")
    assert "Children per parent" in page and page.count("<svg") >= 3


def test_evaluate_tables_skips_relations_to_absent_tables(contracts: list[Contract]) -> None:
    from lakeforge.synth import evaluate_tables

    only_orders = {"orders": _shop(0)["orders"]}
    report = evaluate_tables(only_orders, only_orders, contracts, discriminator=False)
    assert report.skipped == [LABEL]
    assert report.foreign_key_integrity == {}
    assert report.verdicts[0].status == "not judged"


def test_inter_table_trends_leave_out_a_parent_column_that_names_its_row(
    contracts: list[Contract],
) -> None:
    # Setup: each customer has a unique name; it repeats over the customer's orders
    def named(tables: dict[str, pa.Table], prefix: str) -> dict[str, pa.Table]:
        customers = tables["customers"]
        names = [f"{prefix}{i}" for i in range(customers.num_rows)]
        return {**tables, "customers": customers.append_column("name", pa.array(names))}

    real, twin = named(_shop(0), "real-"), named(_shop(1), "twin-")
    rel = relations(contracts)[0]
    # Run
    pairs = inter_table_trends(real, twin, rel, exclude={"orders": ["order_id"]})
    # Assert: the name is not paired with the order's amount (no twin could match it)
    assert [(p.column_1, p.column_2) for p in pairs] == [("parent.segment", "child.amount")]
    assert pairs[0].score > 0.9
