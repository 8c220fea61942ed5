"""Multi-table synthesis: structure, integrity, cardinality, context, conditions, persistence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakeforge.contracts import Column, Contract, ForeignKey
from lakeforge.errors import ContractError, LakeforgeError, NotFittedError
from lakeforge.synth import cardinality_similarity, foreign_key_integrity
from lakeforge.synth._base import TableSynthesizer
from lakeforge.synth._multitable import SynthesisError, Synthesizer, topological_order
from lakeforge.synth.simulator import TABLE_ORDER, RetailConfig, build_contracts, simulate_retail

TINY = RetailConfig(stores=2, products=20, customers=60, days=56, seed=3)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, pa.Table], dict[str, Contract]]:
    result = simulate_retail(tmp_path_factory.mktemp("tiny"), TINY, progress=False)
    tables = {name: pq.read_table(path) for name, path in result.tables.items()}
    return tables, build_contracts(dict.fromkeys(TABLE_ORDER, "parquet"))


@pytest.fixture(scope="module")
def fitted(world: tuple[dict[str, pa.Table], dict[str, Contract]]) -> Synthesizer:
    tables, contracts = world
    return Synthesizer(contracts, method="independent", seed=1).fit(tables)


@pytest.fixture(scope="module")
def twin(fitted: Synthesizer) -> dict[str, pa.Table]:
    return fitted.sample(seed=2)


def _keys_of(table: pa.Table, columns: list[str]) -> list[tuple[Any, ...]]:
    return list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def test_every_foreign_key_of_the_world_resolves(
    world: tuple[dict[str, pa.Table], dict[str, Contract]], twin: dict[str, pa.Table]
) -> None:
    _, contracts = world
    integrity = foreign_key_integrity(twin, list(contracts.values()))
    assert len(integrity) == sum(len(c.foreign_keys) for c in contracts.values())
    assert all(score == 1.0 for score in integrity.values()), integrity


def test_primary_and_unique_keys_are_unique_and_in_the_real_format(
    world: tuple[dict[str, pa.Table], dict[str, Contract]], twin: dict[str, pa.Table]
) -> None:
    tables, contracts = world
    for name, contract in contracts.items():
        for key in contract.unique_keys():
            values = _keys_of(twin[name], key)
            assert len(values) == len(set(values)), (name, key)
    assert all(re.fullmatch(r"C\d{5}", v) for v in twin["customers"]["customer_id"].to_pylist())
    assert all(re.fullmatch(r"O\d{7}", v) for v in twin["orders"]["order_id"].to_pylist())
    assert twin["calendar"]["date"].to_pylist()[:3] == tables["calendar"]["date"].to_pylist()[:3]
    lines = twin["order_items"].group_by("order_id").aggregate([("line_number", "min")])
    assert set(lines["line_number_min"].to_pylist()) == {1}


def test_root_tables_keep_their_size_and_schema(
    world: tuple[dict[str, pa.Table], dict[str, Contract]], twin: dict[str, pa.Table]
) -> None:
    tables, _ = world
    for name in ("stores", "products", "calendar"):
        assert twin[name].num_rows == tables[name].num_rows
    for name in TABLE_ORDER:
        assert twin[name].schema.names == tables[name].schema.names
        assert twin[name].schema.types == tables[name].schema.types


def test_a_key_that_follows_the_driving_parent_is_inherited(twin: dict[str, pa.Table]) -> None:
    orders = dict(
        zip(
            twin["orders"]["order_id"].to_pylist(),
            twin["orders"]["customer_id"].to_pylist(),
            strict=True,
        )
    )
    payments = twin["payments"].filter(pc.is_valid(twin["payments"]["order_id"]))
    assert payments.num_rows > 0
    for order, customer in _keys_of(payments, ["order_id", "customer_id"]):
        assert orders[order] == customer


def test_guest_payments_keep_their_missing_keys(
    world: tuple[dict[str, pa.Table], dict[str, Contract]], twin: dict[str, pa.Table]
) -> None:
    tables, _ = world
    real_share = tables["payments"]["order_id"].null_count / tables["payments"].num_rows
    synthetic_share = twin["payments"]["order_id"].null_count / twin["payments"].num_rows
    assert real_share > 0
    assert abs(real_share - synthetic_share) < 0.1


def test_contract_checks_hold_on_synthetic_rows(twin: dict[str, pa.Table]) -> None:
    products = twin["products"]
    assert pc.all(pc.less(products["unit_cost"], products["base_price"])).as_py()
    promotions = twin["promotions"]
    assert pc.all(pc.greater_equal(promotions["end_date"], promotions["start_date"])).as_py()
    payments = twin["payments"]
    assert set(payments["status"].to_pylist()) <= {"approved", "declined"}


def _skewed(seed: int = 0) -> tuple[dict[str, pa.Table], list[Contract]]:
    """users -> ratings <- items, with skewed activity and popularity."""
    rng = np.random.default_rng(seed)
    users, items = 300, 120
    activity = rng.geometric(0.08, size=users)
    popularity = rng.pareto(1.2, size=items) + 0.05
    user_rows = np.repeat(np.arange(users), activity)
    item_rows = rng.choice(items, size=len(user_rows), p=popularity / popularity.sum())
    segment = rng.choice(["casual", "fan"], size=users, p=[0.8, 0.2])
    tables = {
        "users": pa.table({"user_id": np.arange(1, users + 1), "segment": segment}),
        "items": pa.table(
            {"item_id": np.arange(1, items + 1), "year": rng.integers(1950, 2000, items)}
        ),
        "ratings": pa.table(
            {
                "user_id": user_rows + 1,
                "item_id": item_rows + 1,
                "rating": rng.integers(1, 6, len(user_rows)),
            }
        ),
    }
    contracts = [
        Contract(
            table="users",
            columns=[Column(name="user_id", type="integer"), Column(name="segment")],
            primary_key=["user_id"],
        ),
        Contract(
            table="items",
            columns=[Column(name="item_id", type="integer"), Column(name="year", type="integer")],
            primary_key=["item_id"],
        ),
        Contract(
            table="ratings",
            columns=[
                Column(name="user_id", type="integer"),
                Column(name="item_id", type="integer"),
                Column(name="rating", type="integer"),
            ],
            foreign_keys=[
                ForeignKey(columns=["user_id"], ref_table="users", ref_columns=["user_id"]),
                ForeignKey(columns=["item_id"], ref_table="items", ref_columns=["item_id"]),
            ],
        ),
    ]
    return tables, contracts


def test_a_child_with_two_parents_keeps_both_cardinalities() -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent", seed=4).fit(tables)
    twin = syn.sample(seed=5)
    assert syn.plans_["ratings"].driving is not None
    assert foreign_key_integrity(twin, contracts) == {
        "ratings(user_id)->users(user_id)": 1.0,
        "ratings(item_id)->items(item_id)": 1.0,
    }
    similarity = cardinality_similarity(tables, twin, contracts)
    assert min(similarity.values()) >= 0.9, similarity


def test_the_driving_parent_can_be_chosen() -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent", driving={"ratings": "items"}).fit(tables)
    driving = syn.plans_["ratings"].driving
    assert driving is not None and driving.parent == "items"


def test_rows_for_a_child_are_exact_and_scale_its_root() -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent").fit(tables)
    twin = syn.sample(rows={"ratings": 2_000}, seed=1)
    assert twin["ratings"].num_rows == 2_000
    expected_users = round(300 * 2_000 / tables["ratings"].num_rows)
    assert twin["users"].num_rows == expected_users
    assert twin["items"].num_rows == 120
    assert foreign_key_integrity(twin, contracts)["ratings(item_id)->items(item_id)"] == 1.0


class _ContextLookup(TableSynthesizer):
    """A test generator that copies a random training row with the same context values."""

    method = "test_context_lookup"

    def _fit(self, data: pa.Table, rng: np.random.Generator) -> None:
        self.data_ = data

    def _sample(
        self, n: int, context: pa.Table | None, conditions: dict[str, Any], rng: np.random.Generator
    ) -> pa.Table:
        strings = [
            c for c in self.context_columns_ if pa.types.is_string(self.schema_.field(c).type)
        ]
        picks = rng.integers(0, self.data_.num_rows, size=n)
        if context is not None and strings:
            wanted = context.column(strings[0]).to_pylist()
            seen = self.data_.column(strings[0]).to_pylist()
            by_value: dict[Any, list[int]] = {}
            for row, value in enumerate(seen):
                by_value.setdefault(value, []).append(row)
            picks = np.asarray([rng.choice(by_value.get(v, [0])) for v in wanted])
        out = self.data_.take(pa.array(picks)).select(self.columns_)
        for column, value in conditions.items():
            index = out.column_names.index(column)
            out = out.set_column(
                index, column, pa.array([value] * n, out.schema.field(column).type)
            )
        return out

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}

    def _restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


def _segments(seed: int = 0) -> tuple[dict[str, pa.Table], list[Contract]]:
    rng = np.random.default_rng(seed)
    n = 400
    segment = rng.choice(["retail", "vip"], size=n, p=[0.8, 0.2])
    per = rng.poisson(np.where(segment == "vip", 6, 2)) + 1
    owner = np.repeat(np.arange(n), per)
    amount = np.round(
        np.where(segment[owner] == "vip", 200.0, 20.0) * rng.uniform(0.8, 1.2, len(owner)), 2
    )
    tables = {
        "customers": pa.table(
            {"customer_id": [f"C{i:05d}" for i in range(1, n + 1)], "segment": segment}
        ),
        "orders": pa.table(
            {
                "order_id": [f"O{i:06d}" for i in range(1, len(owner) + 1)],
                "customer_id": [f"C{i + 1:05d}" for i in owner],
                "amount": amount,
            }
        ),
    }
    contracts = [
        Contract(
            table="customers",
            columns=[Column(name="customer_id"), Column(name="segment")],
            primary_key=["customer_id"],
        ),
        Contract(
            table="orders",
            columns=[
                Column(name="order_id"),
                Column(name="customer_id"),
                Column(name="amount", type="float"),
            ],
            primary_key=["order_id"],
            foreign_keys=[
                ForeignKey(
                    columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
                )
            ],
        ),
    ]
    return tables, contracts


def test_child_rows_are_sampled_given_their_parents_attributes() -> None:
    tables, contracts = _segments()
    syn = Synthesizer(contracts, method=_ContextLookup, seed=2).fit(tables)
    assert syn.generators_["orders"] is not None
    assert any("segment" in c for c in syn.generators_["orders"].context_columns_)
    twin = syn.sample(seed=3)
    segment = dict(
        zip(
            twin["customers"]["customer_id"].to_pylist(),
            twin["customers"]["segment"].to_pylist(),
            strict=True,
        )
    )
    amounts: dict[str, list[float]] = {"retail": [], "vip": []}
    for customer, amount in _keys_of(twin["orders"], ["customer_id", "amount"]):
        amounts[segment[customer]].append(amount)
    assert np.mean(amounts["vip"]) > 5 * np.mean(amounts["retail"])
    customers = list(segment.values())
    vip_rate = len(amounts["vip"]) / max(1, customers.count("vip"))
    retail_rate = len(amounts["retail"]) / max(1, customers.count("retail"))
    assert vip_rate > 1.5 * retail_rate  # children per parent follow the parent's segment


def test_conditions_fix_values_without_rejection() -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent").fit(tables)
    twin = syn.sample(conditions=["ratings.rating=5"], rows={"ratings": 500}, seed=2)
    assert twin["ratings"].num_rows == 500
    assert set(twin["ratings"]["rating"].to_pylist()) == {5}
    twin = syn.sample(conditions={"users": {"segment": "fan"}}, seed=2)
    assert set(twin["users"]["segment"].to_pylist()) == {"fan"}


def test_bad_conditions_are_all_reported() -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent").fit(tables)
    with pytest.raises(SynthesisError) as caught:
        syn.sample(
            conditions=["ratings.nope=1", "nowhere.x=1", "ratings.user_id=3", "ratings.rating=abc"]
        )
    text = str(caught.value)
    assert "unknown column `ratings.nope`" in text
    assert "unknown table `nowhere`" in text
    assert "ratings.user_id" in text and "key" in text
    assert "rating=abc" in text
    assert isinstance(caught.value, LakeforgeError)


def test_unknown_tables_cycles_and_unfitted_use_are_clear_errors() -> None:
    tables, contracts = _skewed()
    with pytest.raises(SynthesisError, match="no contract"):
        Synthesizer(contracts[:2]).fit(tables)
    with pytest.raises(NotFittedError):
        Synthesizer(contracts).sample()
    a = Contract(
        table="a",
        columns=[Column(name="id"), Column(name="b_id")],
        primary_key=["id"],
        foreign_keys=[ForeignKey(columns=["b_id"], ref_table="b", ref_columns=["id"])],
    )
    b = Contract(
        table="b",
        columns=[Column(name="id"), Column(name="a_id")],
        primary_key=["id"],
        foreign_keys=[ForeignKey(columns=["a_id"], ref_table="a", ref_columns=["id"])],
    )
    with pytest.raises(SynthesisError, match="cycle: a -> b -> a"):
        topological_order({"a": a, "b": b})
    syn = Synthesizer(contracts, method="independent").fit(tables)
    with pytest.raises(SynthesisError, match="unknown table `nope`"):
        syn.sample(rows={"nope": 3})
    with pytest.raises(ContractError, match="unknown synthesizer method"):
        Synthesizer(contracts, method="no-such").fit(tables)


def test_save_load_round_trip_samples_the_same(tmp_path: Path) -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent", seed=3).fit(tables)
    before = syn.sample(seed=9)
    folder = syn.save(tmp_path / "syn")
    assert (folder / "synthesizer.json").is_file()
    loaded = Synthesizer.load(folder)
    after = loaded.sample(seed=9)
    for name in before:
        assert before[name].equals(after[name]), name


def test_same_seed_same_twin_and_small_chunks_keep_integrity() -> None:
    tables, contracts = _skewed()
    syn = Synthesizer(contracts, method="independent", seed=3).fit(tables)
    first, second = syn.sample(seed=4), syn.sample(seed=4)
    assert all(first[n].equals(second[n]) for n in first)
    collected: dict[str, list[pa.Table]] = {}
    for name, chunks in syn.iter_sample(seed=4, chunk_rows=50):
        collected[name] = list(chunks)
    sizes = [chunk.num_rows for chunk in collected["ratings"]]
    streamed = {name: pa.concat_tables(parts) for name, parts in collected.items()}
    per_user = streamed["ratings"].group_by("user_id").aggregate([("rating", "count")])
    busiest = max(per_user["rating_count"].to_pylist())
    assert len(sizes) > 3
    assert max(sizes) < 50 + busiest  # a chunk never splits one parent's children
    assert set(foreign_key_integrity(streamed, contracts).values()) == {1.0}
    assert len(set(streamed["users"]["user_id"].to_pylist())) == streamed["users"].num_rows


def test_streamed_twin_lands_in_a_workspace_with_no_rejects(
    tmp_path: Path, fitted: Synthesizer
) -> None:
    from lakeforge.synth._stream import sample_into
    from lakeforge.workspace import Workspace

    summary = sample_into(fitted, tmp_path / "twin", seed=2, chunk_rows=500, origin=tmp_path)
    assert {info["rows_quarantined"] for info in summary["tables"].values()} == {0}
    with Workspace.open(tmp_path / "twin") as ws:
        assert (
            ws.table("order_items").num_rows() == summary["tables"]["order_items"]["rows_written"]
        )
        edges = ws.lineage("customers", direction="upstream").edges
        assert any(edge.kind == "synthetic_of" for edge in edges)
        assert ws.table("customers").contract() is not None


def test_epsilon_picks_the_dp_generator_and_keeps_real_counts_out() -> None:
    tables, contracts = _skewed()
    with pytest.raises(SynthesisError, match="no differential-privacy mode"):
        Synthesizer(contracts, method="independent", epsilon=1.0).fit(tables)
    syn = Synthesizer(contracts, epsilon=1.0, seed=2).fit(tables)
    assert syn.method_ == "dp"
    assert all(not link.quantiles for plan in syn.plans_.values() for link in plan.links)
    twin = syn.sample(seed=3)
    assert set(foreign_key_integrity(twin, contracts).values()) == {1.0}


def test_a_column_that_equals_its_parents_is_copied_from_the_sampled_parent(
    fitted: Synthesizer, twin: dict[str, pa.Table]
) -> None:
    assert fitted.plans_["payments"].copied.get("amount") == "total_amount"
    totals = dict(
        zip(
            twin["orders"]["order_id"].to_pylist(),
            twin["orders"]["total_amount"].to_pylist(),
            strict=True,
        )
    )
    paid = twin["payments"].filter(pc.is_valid(twin["payments"]["order_id"]))
    for order, amount in _keys_of(paid, ["order_id", "amount"]):
        assert amount == totals[order]
    with pytest.raises(SynthesisError, match="copied from the parent"):
        fitted.sample(conditions=["payments.amount=3"])


def _stores_world(seed: int = 0) -> tuple[dict[str, pa.Table], list[Contract]]:
    """customers -> orders -> stores: 5 stores of very different sizes, some orders storeless."""
    rng = np.random.default_rng(seed)
    customers = 700
    per = rng.geometric(0.25, size=customers)
    owner = np.repeat(np.arange(customers), per)
    n = len(owner)
    store = rng.choice(5, size=n, p=[0.05, 0.1, 0.15, 0.3, 0.4]).astype(object)
    store[rng.random(n) < 0.1] = None
    tables = {
        "stores": pa.table(
            {"store_id": [f"S{i:03d}" for i in range(1, 6)], "size": [1, 2, 3, 4, 5]}
        ),
        "customers": pa.table(
            {
                "customer_id": [f"C{i:05d}" for i in range(customers)],
                "age": rng.integers(18, 80, customers),
            }
        ),
        "orders": pa.table(
            {
                "order_id": [f"O{i:06d}" for i in range(n)],
                "customer_id": [f"C{i:05d}" for i in owner],
                "store_id": [None if s is None else f"S{s + 1:03d}" for s in store],
                "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
            }
        ),
    }
    contracts = [
        Contract(
            table="stores",
            columns=[Column(name="store_id"), Column(name="size", type="integer")],
            primary_key=["store_id"],
        ),
        Contract(
            table="customers",
            columns=[Column(name="customer_id"), Column(name="age", type="integer")],
            primary_key=["customer_id"],
        ),
        Contract(
            table="orders",
            columns=[
                Column(name="order_id"),
                Column(name="customer_id"),
                Column(name="store_id"),
                Column(name="amount", type="float"),
            ],
            primary_key=["order_id"],
            foreign_keys=[
                ForeignKey(
                    columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
                ),
                ForeignKey(columns=["store_id"], ref_table="stores", ref_columns=["store_id"]),
            ],
        ),
    ]
    return tables, contracts


def _per_parent(table: pa.Table, column: str) -> list[int]:
    counts = (
        table.filter(pc.is_valid(table[column])).group_by(column).aggregate([(column, "count")])
    )
    return sorted(counts[f"{column}_count"].to_pylist())


@pytest.mark.parametrize("chunk_rows", [100_000, 97])
def test_a_small_secondary_parent_keeps_its_exact_count_profile(chunk_rows: int) -> None:
    tables, contracts = _stores_world()
    syn = Synthesizer(contracts, method="independent", seed=5, chunk_rows=chunk_rows).fit(tables)
    link = syn.plans_["orders"].link("store_id")
    assert link.role == "secondary" and syn.plans_["orders"].driving.parent == "customers"
    for seed in (1, 2, 3):
        twin = syn.sample(seed=seed)
        real, fake = tables["orders"], twin["orders"]
        assert fake.num_rows == real.num_rows  # scale 1: the real total
        # every store gets one of the real stores' counts, the empty keys are as many
        assert _per_parent(fake, "store_id") == _per_parent(real, "store_id")
        assert fake["store_id"].null_count == real["store_id"].null_count
        similarity = cardinality_similarity(tables, twin, contracts)
        assert similarity["orders(store_id)->stores(store_id)"] == 1.0
        assert set(foreign_key_integrity(twin, contracts).values()) == {1.0}


def test_long_driving_parents_are_read_and_matched_window_by_window(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import lakeforge.synth._multitable as mt

    monkeypatch.setattr(mt, "_COUNT_WINDOW", 64)  # 400 customers: 7 windows
    tables, contracts = _segments()
    syn = Synthesizer(contracts, method="independent", seed=2, chunk_rows=37).fit(tables)
    twin = syn.sample(seed=3)
    assert twin["orders"].num_rows == tables["orders"].num_rows  # the real total, exactly
    assert set(foreign_key_integrity(twin, contracts).values()) == {1.0}
    assert min(cardinality_similarity(tables, twin, contracts).values()) >= 0.9
    assert syn.sample(rows={"orders": 1_501}, seed=3)["orders"].num_rows == 1_501
    # the context a child row gets is its own parent's, read from the parent's window
    lookup = Synthesizer(contracts, method=_ContextLookup, seed=2, chunk_rows=37).fit(tables)
    sampled = lookup.sample(seed=3)
    segment = dict(
        zip(
            sampled["customers"]["customer_id"].to_pylist(),
            sampled["customers"]["segment"].to_pylist(),
            strict=True,
        )
    )
    amounts: dict[str, list[float]] = {"retail": [], "vip": []}
    for customer, amount in _keys_of(sampled["orders"], ["customer_id", "amount"]):
        amounts[segment[customer]].append(amount)
    assert min(amounts["vip"]) > max(amounts["retail"])  # 160-240 against 16-24

    run = mt._Run(
        syn,
        planned=syn.planned_rows(),
        conditions={},
        seed=1,
        chunk_rows=37,
        workdir=tmp_path,
    )
    try:
        assert sum(chunk.num_rows for chunk in run.table_chunks("customers")) == 400
        frame = run.frames["customers"]
        for first, last in [(0, 400), (10, 150), (36, 38), (399, 400), (50, 50)]:
            assert run._rows_of("customers", first, last).equals(frame.slice(first, last - first))
    finally:
        run.close()


def test_auto_gives_a_table_above_the_cell_budget_the_copula(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lakeforge.synth._multitable as mt

    tables, contracts = _skewed()
    assert tables["ratings"].num_rows * 3 > 2_000 > tables["users"].num_rows * 2
    monkeypatch.setattr(mt, "AUTO_MAX_CELLS", 2_000)
    syn = Synthesizer(contracts, seed=1).fit(tables)
    ratings, users = syn.generators_["ratings"], syn.generators_["users"]
    assert ratings is not None and users is not None
    assert getattr(ratings, "chosen_", None) == "copula"
    assert getattr(ratings, "scores_", None) == {}  # no validation round for the big table
    assert set(getattr(users, "scores_", {})) == {"autoregressive", "copula"}
    twin = syn.sample(seed=2)
    assert set(foreign_key_integrity(twin, contracts).values()) == {1.0}
    # an explicit budget wins over the multi-table default
    wide = Synthesizer(contracts, seed=1, generator_params={"max_cells": 10**9}).fit(tables)
    assert set(getattr(wide.generators_["ratings"], "scores_", {})) == {"autoregressive", "copula"}


def _reviewers(seed: int = 0) -> tuple[dict[str, pa.Table], list[Contract]]:
    """customers -> orders -> reviews; a review's customer is its order's (inherited).

    A third of the customers write reviews, on most of their orders; the rest never do:
    most orders have no review, and whether one has is a trait of its customer.
    """
    rng = np.random.default_rng(seed)
    customers = 600
    per = rng.geometric(0.2, size=customers)
    owner = np.repeat(np.arange(customers), per)
    writer = rng.random(customers) < 0.3
    reviewed = np.flatnonzero(writer[owner] & (rng.random(len(owner)) < 0.7))
    order_ids = np.array([f"O{i:06d}" for i in range(len(owner))])
    customer_ids = np.array([f"C{i:05d}" for i in range(customers)])
    tables = {
        "customers": pa.table(
            {"customer_id": customer_ids, "age": rng.integers(18, 80, customers)}
        ),
        "orders": pa.table(
            {
                "order_id": order_ids,
                "customer_id": customer_ids[owner],
                "amount": np.round(rng.gamma(2.0, 20.0, len(owner)), 2),
            }
        ),
        "reviews": pa.table(
            {
                "review_id": [f"R{i:06d}" for i in range(len(reviewed))],
                "order_id": order_ids[reviewed],
                "customer_id": customer_ids[owner[reviewed]],
                "rating": rng.integers(1, 6, len(reviewed)),
            }
        ),
    }
    key = [Column(name="customer_id")]
    contracts = [
        Contract(
            table="customers",
            columns=[*key, Column(name="age", type="integer")],
            primary_key=["customer_id"],
        ),
        Contract(
            table="orders",
            columns=[Column(name="order_id"), *key, Column(name="amount", type="float")],
            primary_key=["order_id"],
            foreign_keys=[
                ForeignKey(
                    columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
                )
            ],
        ),
        Contract(
            table="reviews",
            columns=[
                Column(name="review_id"),
                Column(name="order_id"),
                *key,
                Column(name="rating", type="integer"),
            ],
            primary_key=["review_id"],
            foreign_keys=[
                ForeignKey(columns=["order_id"], ref_table="orders", ref_columns=["order_id"]),
                ForeignKey(
                    columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
                ),
            ],
        ),
    ]
    return tables, contracts


def test_a_sparse_grandchild_gathers_on_the_grandparents_that_have_it() -> None:
    tables, contracts = _reviewers()
    # independent columns: nothing ties an order's review count to its customer but the
    # customers' learned review totals
    syn = Synthesizer(contracts, method="independent", seed=3).fit(tables)
    link = syn.plans_["reviews"].link("customer_id")
    assert link.role == "inherit" and link.popularity is not None
    similarity = {}
    for seed in (1, 2):
        twin = syn.sample(seed=seed)
        assert twin["reviews"].num_rows == tables["reviews"].num_rows
        assert set(foreign_key_integrity(twin, contracts).values()) == {1.0}
        similarity = cardinality_similarity(tables, twin, contracts)
        assert similarity["reviews(customer_id)->customers(customer_id)"] >= 0.95, similarity
        assert similarity["reviews(order_id)->orders(order_id)"] >= 0.92, similarity
        # a review's customer is still its order's
        customer_of = dict(_keys_of(twin["orders"], ["order_id", "customer_id"]))
        assert all(
            customer_of[order] == customer
            for order, customer in _keys_of(twin["reviews"], ["order_id", "customer_id"])
        )
    # with the totals ignored, the reviews spread over too many customers
    plain = Synthesizer(contracts, method="independent", seed=3).fit(tables)
    plain.plans_["reviews"].link("customer_id").quantiles = []
    spread = cardinality_similarity(tables, plain.sample(seed=2), contracts)
    label = "reviews(customer_id)->customers(customer_id)"
    assert spread[label] < similarity[label] - 0.1, (spread, similarity)
