"""PII columns are never learned: fakes follow the format, the row and the parent key."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeforge.contracts import Column, Contract, ForeignKey, UniqueCheck
from lakeforge.synth._multitable import Synthesizer
from lakeforge.synth._pii import fill_pii, null_flag, plan_pii, pseudonymize


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


def _people(n: int = 200, seed: int = 0) -> tuple[pa.Table, Contract]:
    rng = np.random.default_rng(seed)
    first = rng.choice(["Ann", "Bob", "Cleo", "Dan"], size=n)
    last = rng.choice(["Smith", "Ng", "Okafor"], size=n)
    table = pa.table(
        {
            "customer_id": [f"C{i:05d}" for i in range(1, n + 1)],
            "first_name": first,
            "last_name": last,
            "email": [
                f"{a.lower()}.{b.lower()}{i}@corp.example"
                for i, (a, b) in enumerate(zip(first, last, strict=True))
            ],
            "phone": [
                f"({rng.integers(200, 999)}) 555-{rng.integers(1000, 9999)}" for _ in range(n)
            ],
            "postal_code": [f"{rng.integers(10000, 99999)}" for _ in range(n)],
            "ip_address": pa.array(
                [None if i % 3 == 0 else f"10.0.{i % 250}.{i % 200}" for i in range(n)], pa.string()
            ),
            "note": [f"secret note {i}" for i in range(n)],
        }
    )
    contract = Contract(
        table="customers",
        columns=[
            Column(name="customer_id"),
            Column(name="first_name", pii="person_name"),
            Column(name="last_name", pii="person_name"),
            Column(name="email", pii="email"),
            Column(name="phone", pii="phone"),
            Column(name="postal_code", pii="address"),
            Column(name="ip_address", pii="ip_address"),
            Column(name="note", pii="free_text"),
        ],
        primary_key=["customer_id"],
        checks=[UniqueCheck(columns=["email"])],
    )
    return table, contract


def test_fakes_never_repeat_real_values_and_keep_the_format() -> None:
    table, contract = _people()
    syn = Synthesizer([contract], method="independent", seed=1).fit({"customers": table})
    assert syn.plans_["customers"].learned == []  # nothing personal reaches the generator
    fake = syn.sample(seed=2)["customers"]
    for column in ("email", "phone", "note"):
        real = set(table[column].to_pylist())
        assert not real & set(fake[column].to_pylist()), column
    assert all(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in fake["phone"].to_pylist())
    assert all(re.fullmatch(r"\d{5}", p) for p in fake["postal_code"].to_pylist())
    emails = fake["email"].to_pylist()
    assert len(set(emails)) == len(emails)  # the contract says unique
    for first, last, email in zip(
        fake["first_name"].to_pylist(), fake["last_name"].to_pylist(), emails, strict=True
    ):
        local = email.split("@")[0]
        assert local.startswith(re.sub(r"[^a-z0-9._]", "", f"{first}.{last}".lower()))
    assert {"Ann", "Bob", "Cleo", "Dan"} != set(fake["first_name"].to_pylist())


def test_missing_values_of_a_pii_column_follow_the_learned_flag() -> None:
    table, contract = _people(600)
    syn = Synthesizer([contract], method="independent", seed=1).fit({"customers": table})
    assert null_flag("ip_address") in syn.generators_["customers"].columns_
    fake = syn.sample(seed=3)["customers"]
    share = fake["ip_address"].null_count / fake.num_rows
    assert abs(share - 1 / 3) < 0.08
    valid = [ip for ip in fake["ip_address"].to_pylist() if ip is not None]
    assert all(re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", ip) for ip in valid)


def test_card_numbers_are_luhn_valid_with_the_brand_prefix_and_stay_with_their_customer() -> None:
    rng = np.random.default_rng(0)
    customers = pa.table({"customer_id": [f"C{i:03d}" for i in range(1, 101)]})
    owner = rng.integers(0, 100, size=600)
    cards = {i: "4" + "".join(str(d) for d in rng.integers(0, 10, 15)) for i in range(100)}
    payments = pa.table(
        {
            "payment_id": [f"TX{i:05d}" for i in range(600)],
            "customer_id": [f"C{i + 1:03d}" for i in owner],
            "card_brand": rng.choice(["visa", "mastercard"], size=600),
            "card_number": [cards[i] for i in owner],
        }
    )
    contracts = [
        Contract(
            table="customers", columns=[Column(name="customer_id")], primary_key=["customer_id"]
        ),
        Contract(
            table="payments",
            columns=[
                Column(name="payment_id"),
                Column(name="customer_id"),
                Column(name="card_brand"),
                Column(name="card_number", pii="card_number"),
            ],
            primary_key=["payment_id"],
            foreign_keys=[
                ForeignKey(
                    columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
                )
            ],
        ),
    ]
    syn = Synthesizer(contracts, method="independent", seed=5).fit(
        {"customers": customers, "payments": payments}
    )
    plan = syn.plans_["payments"].pii[0]
    assert plan["consistent_with"] == "customer_id"
    fake = syn.sample(seed=6)["payments"]
    numbers = fake["card_number"].to_pylist()
    assert all(len(n) == 16 and _luhn_ok(n) for n in numbers)
    for brand, number in zip(fake["card_brand"].to_pylist(), numbers, strict=True):
        assert number[0] == {"visa": "4", "mastercard": "5"}[brand]
    by_customer: dict[str, set[str]] = {}
    for customer, number in zip(fake["customer_id"].to_pylist(), numbers, strict=True):
        by_customer.setdefault(customer, set()).add(number[1:-1])
    assert max(len(v) for v in by_customer.values()) == 1  # same customer, same card body


def test_fakes_are_seeded() -> None:
    table, contract = _people(50)
    plans = plan_pii(table, contract)
    rows = pa.table({null_flag("ip_address"): pc.is_null(table["ip_address"])})
    ordinals = np.arange(50)
    first = fill_pii(plans, rows, ordinals=ordinals, seed=7)
    again = fill_pii(plans, rows, ordinals=ordinals, seed=7)
    other = fill_pii(plans, rows, ordinals=ordinals, seed=8)
    assert first["email"].equals(again["email"])
    assert not first["email"].equals(other["email"])


def test_pseudonymize_maps_the_same_real_value_to_the_same_fake() -> None:
    table, contract = _people(300)
    masked = pseudonymize(table, contract, seed=3)
    assert masked.column_names == table.column_names
    assert masked["customer_id"].equals(table["customer_id"])
    pairs: dict[str, set[str]] = {}
    for real, fake in zip(
        table["first_name"].to_pylist(), masked["first_name"].to_pylist(), strict=True
    ):
        pairs.setdefault(real, set()).add(fake)
    assert all(len(v) == 1 for v in pairs.values())
    assert not set(table["phone"].to_pylist()) & set(masked["phone"].to_pylist())
    assert masked["ip_address"].null_count == table["ip_address"].null_count


@pytest.mark.parametrize("tag", ["national_id", "other"])
def test_format_preserving_tokens_for_other_tags(tag: str) -> None:
    table = pa.table(
        {"id": [f"K{i}" for i in range(40)], "secret": [f"{i:03d}-{i % 7}X" for i in range(40)]}
    )
    contract = Contract(
        table="t",
        columns=[Column(name="id"), Column(name="secret", pii=tag)],  # type: ignore[arg-type]
        primary_key=["id"],
    )
    fake = Synthesizer([contract], method="independent").fit({"t": table}).sample()["t"]
    assert all(re.fullmatch(r"\d{3}-\d[A-Z]", s) for s in fake["secret"].to_pylist())
