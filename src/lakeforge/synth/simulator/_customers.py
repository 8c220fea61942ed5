"""Loyalty customers: fake but internally consistent PII, and their hidden segment.

A customer's email is derived from their name, their phone uses their city's area code in one
national format (``(617) 555-0142``, the fictional 555 exchange), and their address is in
their home store's region: mostly the store's own city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._entities import StoreFrame, days_since_epoch
from lakeforge.synth.simulator._geography import REGIONS
from lakeforge.synth.simulator._keys import key_width, make_keys
from lakeforge.synth.simulator._names import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    STREET_NAMES,
    STREET_SUFFIXES,
)
from lakeforge.synth.simulator._segments import SEGMENTS

__all__ = ["CustomerFrame", "build_customers"]

_NOT_EMAIL = re.compile(r"[^a-z0-9]")


@dataclass
class CustomerFrame:
    """Customers as a table plus the latent facts behaviour is drawn from."""

    table: pa.Table
    ids: pa.Array
    segment: np.ndarray  # index into SEGMENTS
    home_store: np.ndarray
    region: np.ndarray  # index into REGIONS (of the home store)
    signup_day: np.ndarray  # day index (negative: before the history starts)
    area_code: list[str]

    @property
    def count(self) -> int:
        """Number of customers."""
        return len(self.segment)


def _emails(
    first: list[str], last: list[str], pattern: np.ndarray, digits: np.ndarray, domain: np.ndarray
) -> list[str]:
    emails: list[str] = []
    seen: set[str] = set()
    for i, (f, la) in enumerate(zip(first, last, strict=True)):
        f_, l_ = _NOT_EMAIL.sub("", f.lower()), _NOT_EMAIL.sub("", la.lower())
        local = (
            f"{f_}.{l_}",
            f"{f_}{l_}",
            f"{f_[0]}{l_}",
            f"{f_}_{l_}{digits[i] % 100:02d}",
            f"{f_}.{l_}{digits[i]}",
            f"{l_}.{f_}",
        )[pattern[i]]
        email = f"{local}@{EMAIL_DOMAINS[domain[i]]}"
        if email in seen:
            email = f"{local}{i + 1}@{EMAIL_DOMAINS[domain[i]]}"
        seen.add(email)
        emails.append(email)
    return emails


def build_customers(config: RetailConfig, stores: StoreFrame) -> CustomerFrame:
    """Customers with names, contact details, birth and signup dates, and a home store."""
    rng = rng_for(config.seed, Stream.CUSTOMERS)
    n = config.customers
    shares = np.array([s.share for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=n, p=shares / shares.sum())
    home = rng.choice(stores.count, size=n, p=stores.scale / stores.scale.sum())
    region = stores.region[home]

    first_idx = rng.integers(0, len(FIRST_NAMES), size=n)
    last_idx = rng.integers(0, len(LAST_NAMES), size=n)
    first = [FIRST_NAMES[i] for i in first_idx]
    last = [LAST_NAMES[i] for i in last_idx]
    emails = _emails(
        first,
        last,
        rng.choice(6, size=n, p=[0.3, 0.15, 0.15, 0.15, 0.15, 0.1]),
        rng.integers(1, 100, size=n),
        rng.choice(len(EMAIL_DOMAINS), size=n, p=[0.4, 0.2, 0.15, 0.15, 0.1]),
    )

    # most customers live in their home store's city, the rest elsewhere in the region
    city = stores.city[home].copy()
    movers = rng.random(n) < 0.3
    other = rng.integers(0, 1_000, size=n)
    for r, spec in enumerate(REGIONS):
        sel = movers & (region == r)
        city[sel] = other[sel] % len(spec.cities)
    city_rows = [REGIONS[r].cities[c] for r, c in zip(region, city, strict=True)]
    area = [c.area_code for c in city_rows]
    line = rng.integers(0, 10_000, size=n)
    phones = [f"({a}) 555-{x:04d}" for a, x in zip(area, line, strict=True)]
    house = np.minimum(rng.zipf(1.6, size=n), 9_999) + rng.integers(0, 40, size=n) * (
        rng.random(n) < 0.5
    )
    street = rng.integers(0, len(STREET_NAMES), size=n)
    suffix = rng.integers(0, len(STREET_SUFFIXES), size=n)
    apartment = np.where(rng.random(n) < 0.18, rng.integers(1, 40, size=n), 0)
    addresses = [
        f"{h} {STREET_NAMES[s]} {STREET_SUFFIXES[x]}" + (f", Apt {a}" if a else "")
        for h, s, x, a in zip(house, street, suffix, apartment, strict=True)
    ]
    postcodes = [
        f"{c.zip3}{d:02d}" for c, d in zip(city_rows, rng.integers(0, 100, size=n), strict=True)
    ]

    start = days_since_epoch(config.start_date)
    low = np.array([SEGMENTS[s].age[0] for s in segment])
    high = np.array([SEGMENTS[s].age[1] for s in segment])
    age_days = (rng.uniform(low, high + 1) * 365.25).astype(np.int64)
    birth = start - age_days
    existing = rng.random(n) < 0.65
    signup = np.where(
        existing,
        -rng.integers(1, 3 * 365, size=n),
        # new customers arrive through the history, a little faster towards its end
        (np.sqrt(rng.random(n)) * (config.days - 1)).astype(np.int64),
    )
    # nobody signs up before they are 16
    signup = np.maximum(signup, birth - start + 16 * 366)

    ids = make_keys("C", np.arange(1, n + 1), key_width(n, 5))
    table = pa.table(
        {
            "customer_id": ids,
            "first_name": pa.array(first),
            "last_name": pa.array(last),
            "email": pa.array(emails),
            "phone": pa.array(phones),
            "street_address": pa.array(addresses),
            "city": pa.array([c.name for c in city_rows]),
            "state": pa.array([c.state for c in city_rows]),
            "postal_code": pa.array(postcodes),
            "birth_date": pa.array(birth.astype(np.int32)).cast(pa.date32()),
            "signup_date": pa.array((start + signup).astype(np.int32)).cast(pa.date32()),
            "home_store_id": pc.take(stores.ids, pa.array(home)),
        }
    )
    return CustomerFrame(
        table=table,
        ids=ids,
        segment=segment,
        home_store=home,
        region=region,
        signup_day=signup,
        area_code=area,
    )
