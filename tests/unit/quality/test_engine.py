from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from lakeforge.contracts import (
    AllowedValuesCheck,
    Column,
    Contract,
    ExpressionCheck,
    ForeignKey,
    RangeCheck,
    RegexCheck,
    UniqueCheck,
)
from lakeforge.errors import ContractError
from lakeforge.ingest._source import RawBatch, RejectedRecord
from lakeforge.quality import BatchValidator, KeyIndex, ParentKeys


def _batch(rows: dict[str, list[str | None]], first_line: int = 2, **kw: object) -> RawBatch:
    table = pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})
    lines = pa.array(range(first_line, first_line + table.num_rows), pa.int64())
    return RawBatch(table, lines, **kw)  # type: ignore[arg-type]


ORDERS = Contract(
    table="orders",
    columns=[
        Column(name="order_id", nullable=False),
        Column(name="customer_id"),
        Column(name="status"),
        Column(name="qty", type="integer"),
        Column(name="price", type="float"),
        Column(name="ordered", type="date", format="%Y-%m-%d"),
        Column(name="shipped", type="date", format="%Y-%m-%d"),
    ],
    primary_key=["order_id"],
    checks=[
        RangeCheck(column="qty", min=1, max=100),
        AllowedValuesCheck(column="status", values=["new", "paid"]),
        RegexCheck(column="order_id", pattern=r"O\d{3}"),
        ExpressionCheck(name="ships_after_order", sql="shipped >= ordered"),
        RangeCheck(column="price", min=0, severity="warn"),
    ],
)


def _validator(contract: Contract = ORDERS, **kw: object) -> BatchValidator:
    indexes = [KeyIndex(k) for k in contract.unique_keys()]
    return BatchValidator(
        contract,
        contract.column_names,
        key_indexes=indexes,  # type: ignore[arg-type]
        run_id="run1",
        source_uri="orders.csv",
        **kw,
    )


def _reasons(out_bad: pa.Table) -> dict[int, list[str]]:
    return dict(zip(out_bad["_location"].to_pylist(), out_bad["_reasons"].to_pylist(), strict=True))


def test_each_failed_check_is_named_with_its_value() -> None:
    # Setup
    v = _validator()
    batch = _batch(
        {
            "order_id": ["O001", "O002", "X3", None, "O005", "O006", "O007"],
            "customer_id": ["c", "c", "c", "c", "c", "c", "c"],
            "status": ["new", "lost", "new", "new", "paid", "new", "new"],
            "qty": ["1", "2", "3", "4", "0", "abc", "5"],
            "price": ["1.0", "2", "3", "4", "5", "6", "-1"],
            "ordered": ["2024-01-01"] * 6 + ["2024-01-05"],
            "shipped": ["2024-01-02"] * 6 + ["2024-01-04"],
        }
    )
    # Run
    out = v.validate(batch)
    reasons = _reasons(out.bad)
    # Assert
    assert out.good["order_id"].to_pylist() == ["O001"]
    assert reasons[3] == ["status: 'lost' is not an allowed value (new, paid)"]
    assert reasons[4] == ["order_id: 'X3' does not match /O\\d{3}/"]
    assert reasons[5] == ["order_id: missing value (the column is required)"]
    assert reasons[6] == ["qty: 0 is out of range (must be >= 1 and <= 100)"]
    assert reasons[7] == ["qty: 'abc' is not a whole number"]
    assert reasons[8] == [
        "warning: price: -1.0 is out of range (must be >= 0)",
        "fails ships_after_order",
    ]
    assert v.read == v.written + v.quarantined == 7
    assert v.results["range(price)"].failed == 1  # a warning, row 8 is bad for another reason


def test_reasons_keep_the_order_of_the_checks_in_a_large_batch(rng: np.random.Generator) -> None:
    # Setup: each row breaks a random subset of the status, qty and expression checks
    n = 30_000
    breaks = rng.integers(0, 8, size=n)
    status = np.where(breaks & 1, "lost", "new")
    qty = np.where(breaks & 2, "0", "5")
    shipped = np.where(breaks & 4, "2023-12-31", "2024-01-02")
    batch = _batch(
        {
            "order_id": [f"O{i % 1000:03d}" for i in range(n)],
            "customer_id": ["c"] * n,
            "status": status.tolist(),
            "qty": qty.tolist(),
            "price": ["1"] * n,
            "ordered": ["2024-01-01"] * n,
            "shipped": shipped.tolist(),
        }
    )
    v = _validator(Contract(**(ORDERS.model_dump() | {"primary_key": []})))

    # Run
    out = v.validate(batch)
    reasons = _reasons(out.bad)

    # Assert: one list per bad row, messages in the order the checks are declared
    expected: dict[int, list[str]] = {}
    for i, b in enumerate(breaks.tolist()):
        messages = []
        if b & 2:
            messages.append("qty: 0 is out of range (must be >= 1 and <= 100)")
        if b & 1:
            messages.append("status: 'lost' is not an allowed value (new, paid)")
        if b & 4:
            messages.append("fails ships_after_order")
        if messages:
            expected[i + 2] = messages
    assert reasons == expected
    assert v.read == v.written + v.quarantined == n


def test_warning_checks_keep_the_row() -> None:
    v = _validator()
    out = v.validate(
        _batch(
            {
                "order_id": ["O001"],
                "customer_id": ["c"],
                "status": ["new"],
                "qty": ["1"],
                "price": ["-5"],
                "ordered": ["2024-01-01"],
                "shipped": ["2024-01-01"],
            }
        )
    )
    assert out.good.num_rows == 1
    assert v.results["range(price)"].failed == 1


def test_types_are_cast_to_the_contract() -> None:
    v = _validator()
    out = v.validate(
        _batch(
            {
                "order_id": ["O001"],
                "customer_id": [None],
                "status": [""],
                "qty": [" 7 "],
                "price": ["2.50"],
                "ordered": ["2024-02-29"],
                "shipped": [None],
            }
        )
    )
    row = out.good.to_pylist()[0]
    assert row["qty"] == 7 and row["price"] == 2.5
    assert str(row["ordered"]) == "2024-02-29"
    assert row["status"] is None  # the empty string is a null token
    assert out.good.schema.field("qty").type == pa.int64()


def test_duplicates_across_batches_keep_the_first_and_name_its_line() -> None:
    v = _validator()
    base = {
        "customer_id": ["c", "c"],
        "status": ["new", "new"],
        "qty": ["1", "1"],
        "price": ["1", "1"],
        "ordered": ["2024-01-01"] * 2,
        "shipped": [None, None],
    }
    first = v.validate(_batch({"order_id": ["O001", "O001"], **base}, first_line=2))
    second = v.validate(_batch({"order_id": ["O002", "O001"], **base}, first_line=10))
    assert first.good.num_rows == 1 and second.good.num_rows == 1
    assert _reasons(first.bad)[3] == ["duplicate key (order_id) = (O001), first at line 2"]
    assert _reasons(second.bad)[11] == ["duplicate key (order_id) = (O001), first at line 2"]


def test_a_rejected_row_does_not_claim_its_key() -> None:
    v = _validator()
    base = {
        "customer_id": ["c", "c"],
        "status": ["new", "new"],
        "price": ["1", "1"],
        "ordered": ["2024-01-01"] * 2,
        "shipped": [None, None],
    }
    out = v.validate(_batch({"order_id": ["O001", "O001"], "qty": ["bad", "2"], **base}))
    assert out.good["qty"].to_pylist() == [2]


def test_composite_key_against_existing_table() -> None:
    contract = Contract(
        table="prices",
        columns=[
            Column(name="store"),
            Column(name="week", type="integer"),
            Column(name="p", type="float"),
        ],
        checks=[UniqueCheck(columns=["store", "week"])],
    )
    index = KeyIndex(["store", "week"])
    index.seed(pl.DataFrame({"store": ["A"], "week": [1]}))
    v = BatchValidator(contract, contract.column_names, key_indexes=[index])
    out = v.validate(
        _batch(
            {
                "store": ["A", "A", "B", None],
                "week": ["1", "2", "1", "1"],
                "p": ["1", "1", "1", "1"],
            }
        )
    )
    assert out.good.num_rows == 3  # a null key never collides
    assert _reasons(out.bad)[2] == ["duplicate key (store, week) = (A, 1), already in the table"]


def test_foreign_keys_are_checked_against_the_parent() -> None:
    contract = Contract(
        table="orders",
        columns=[Column(name="order_id"), Column(name="customer_id")],
        foreign_keys=[
            ForeignKey(columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"])
        ],
    )
    parent = ParentKeys(contract.foreign_keys[0], pl.DataFrame({"customer_id": ["C1", "C2"]}))
    v = BatchValidator(contract, contract.column_names, parents=[parent])
    out = v.validate(_batch({"order_id": ["1", "2", "3"], "customer_id": ["C1", "C9", None]}))
    assert out.good["order_id"].to_pylist() == ["1", "3"]
    assert _reasons(out.bad)[3] == ["(customer_id) = (C9) not found in customers.customer_id"]


def test_parse_rejects_and_row_errors_land_in_quarantine() -> None:
    contract = Contract(table="t", columns=[Column(name="a"), Column(name="b")])
    v = BatchValidator(contract, ["a", "b"])
    batch = _batch(
        {"a": ["1", "2"], "b": ["x", "\ufffd"]},
        row_errors=pa.array([None, "invalid UTF-8 bytes"]),
        rejects=[RejectedRecord(location=9, reason="row has 3 fields, expected 2", raw="1,2,3")],
    )
    out = v.validate(batch)
    reasons = _reasons(out.bad)
    assert reasons[3] == ["invalid UTF-8 bytes"]
    assert reasons[9] == ["row has 3 fields, expected 2"]
    assert out.bad.filter(pa.compute.equal(out.bad["_location"], 9))["_raw"].to_pylist() == [
        "1,2,3"
    ]
    assert (v.read, v.written, v.quarantined) == (3, 1, 2)


def test_source_must_match_the_contract() -> None:
    contract = Contract(table="t", columns=[Column(name="a", nullable=False), Column(name="b")])
    with pytest.raises(ContractError) as info:
        BatchValidator(contract, ["b", "zzz"])
    assert any("`a` is not in the source" in p for p in info.value.problems)
    assert any("zzz" in p for p in info.value.problems)


def test_source_columns_match_case_insensitively_and_by_source_name() -> None:
    contract = Contract(
        table="t",
        columns=[
            Column(name="product_name_length", source_name="product_name_lenght"),
            Column(name="price"),
        ],
    )
    v = BatchValidator(contract, ["product_name_lenght", "PRICE"])
    out = v.validate(_batch({"product_name_lenght": ["4"], "PRICE": ["1"]}))
    assert out.good.column_names == ["product_name_length", "price"]


def test_invalid_expression_is_a_contract_error() -> None:
    contract = Contract(
        table="t", columns=[Column(name="a")], checks=[ExpressionCheck(sql="nosuchcol > 1")]
    )
    v = BatchValidator(contract, ["a"])
    with pytest.raises(ContractError, match="not a valid SQL expression"):
        v.validate(_batch({"a": ["1"]}))


def test_key_index_handles_many_batches(rng: np.random.Generator) -> None:
    index = KeyIndex(["k"])
    keys = rng.integers(0, 5_000, size=20_000)
    seen: set[int] = set()
    for start in range(0, len(keys), 1_000):
        part = keys[start : start + 1_000]
        dup, _ = index.claim(pl.DataFrame({"k": part}), np.arange(start, start + len(part)))
        expected = []
        for k in part:
            expected.append(int(k) in seen)
            seen.add(int(k))
        assert dup.tolist() == expected
    assert len(index) == len(seen)


def _reference_claims(
    batches: list[tuple[np.ndarray, np.ndarray]],
    seeded: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> list[tuple[list[bool], list[int]]]:
    """Duplicates and first locations, the slow obvious way (location = running row number)."""
    first: dict[tuple[int, int], int] = dict.fromkeys(seeded, -1)
    out, row = [], 0
    for h1, h2 in batches:
        dup, where = [], []
        for key in zip(h1.tolist(), h2.tolist(), strict=True):
            if key in first:
                dup.append(True)
                where.append(first[key])
            else:
                first[key] = row
                dup.append(False)
                where.append(-2)
            row += 1
        out.append((dup, where))
    return out


def _claim_all(
    index: KeyIndex, batches: list[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[list[bool], list[int]]]:
    out, row = [], 0
    for h1, h2 in batches:
        locs = np.arange(row, row + len(h1), dtype=np.int64)
        dup, first = index.claim_hashed(h1, h2, locs)
        out.append((dup.tolist(), first.tolist()))
        row += len(h1)
    return out


def test_key_index_equal_h1_different_h2_interleaved() -> None:
    # h1 keeps its top 40 bits only: keys A and B share h1 and differ in h2, in file order
    # A, B, A, B, A: each later copy is a duplicate of its own first occurrence
    h1 = np.full(5, 7 << 24, dtype=np.uint64)
    h2 = np.array([1, 2, 1, 2, 1], dtype=np.uint64)
    index = KeyIndex(["k"])
    dup, first = index.claim_hashed(h1, h2, np.array([10, 11, 12, 13, 14]))
    assert dup.tolist() == [False, False, True, True, True]
    assert first.tolist() == [-2, -2, 10, 11, 10]
    # the next batch collides with both, and brings a third key with the same h1
    dup, first = index.claim_hashed(h1[:3], np.array([2, 3, 3], dtype=np.uint64), np.arange(3))
    assert dup.tolist() == [True, False, True]
    assert first.tolist() == [11, -2, 1]
    assert len(index) == 3


def test_key_index_matches_a_reference_through_growth(rng: np.random.Generator) -> None:
    # few distinct h1 values (each with several h2: same-slot claims) and many rebuilds
    pool = rng.integers(0, 1 << 40, size=30_000).astype(np.uint64) << np.uint64(24)
    batches = []
    for size in (1, 700, 3_000, 20_000, 5, 60_000):
        h1 = pool[rng.integers(0, len(pool), size=size)]
        h2 = rng.integers(0, 3, size=size).astype(np.uint64)
        batches.append((h1, h2))
    index = KeyIndex(["k"])
    assert _claim_all(index, batches) == _reference_claims(batches)
    distinct = {k for h1, h2 in batches for k in zip(h1.tolist(), h2.tolist(), strict=True)}
    assert len(index) == len(distinct)


def test_key_index_reserve_and_wrap_around() -> None:
    # keys whose home slots are all at the end of the table wrap around to its start
    top = np.uint64(0xFFFF_FFFF_FF) << np.uint64(24)
    h1 = top - (np.arange(50, dtype=np.uint64) % np.uint64(5) << np.uint64(24))
    h2 = np.arange(50, dtype=np.uint64)
    index = KeyIndex(["k"])
    index.reserve(10)
    first = _claim_all(index, [(h1, h2)])
    index.reserve(5_000)  # rebuilds with the wrapped keys in place
    again = _claim_all(index, [(h1, h2 + np.uint64(25))])
    assert first == _reference_claims([(h1, h2)])
    assert again[0][0] == [i < 25 for i in range(50)]  # (h1, i + 25) was row i + 25
    assert again[0][1][:25] == list(range(25, 50))
    assert len(index) == 75


def test_key_index_seed_with_duplicates_in_the_table() -> None:
    index = KeyIndex(["k"])
    index.seed(pl.DataFrame({"k": [1, 1, 2, None]}))
    dup, first = index.claim(pl.DataFrame({"k": [2, 3, 3, 1]}), np.array([5, 6, 7, 8]))
    assert dup.tolist() == [True, False, True, True]
    assert first.tolist() == [-1, -2, 6, -1]


@pytest.mark.parametrize(
    ("ints", "floats"),
    [
        (["1", "-2", "00012", "9223372036854775807"], ["1.5", "-.5", "1e5", "3"]),  # fast
        (["1", " 2", "+3", "0x10"], ["1.5", "2.5 ", "+.5", "1e400"]),  # spaces, "+", hex, inf
        (["1", "", "x", "9223372036854775808"], ["nan", "", "inf", "1,5"]),  # nulls, typos
    ],
)
def test_arrow_number_fast_path_matches_the_polars_path(ints: list[str], floats: list[str]) -> None:
    contract = Contract(
        table="t",
        columns=[Column(name="i", type="integer"), Column(name="f", type="float")],
        checks=[RangeCheck(column="f", min=0)],
    )
    fast, slow = BatchValidator(contract, ["i", "f"]), BatchValidator(contract, ["i", "f"])
    slow._fast_columns = {}
    batch = _batch({"i": ints, "f": floats})
    if ints[1] == "-2":
        assert set(fast._fast_numbers(batch.data)) == {"__t_i", "__t_f"}
    a, b = fast.validate(batch), slow.validate(batch)
    assert a.good.equals(b.good)
    assert _reasons(a.bad) == _reasons(b.bad)


def test_null_tokens_that_are_numbers_keep_the_polars_path() -> None:
    contract = Contract(table="t", columns=[Column(name="i", type="integer")])
    v = BatchValidator(contract, ["i"], null_values=["", "-1"])
    assert v._fast_columns == {}
    out = v.validate(_batch({"i": ["-1", "2"]}))
    assert out.good["i"].to_pylist() == [None, 2]
