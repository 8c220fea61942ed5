"""The retailer's static entities: stores and products, with their hidden parameters.

Each builder returns the table the workspace sees and the latent arrays the simulation uses
(store traffic scale, product demand level, promotion uplift...), which end up in ``truth/``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._geography import REGIONS
from lakeforge.synth.simulator._keys import key_width, make_keys
from lakeforge.synth.simulator._taxonomy import DEPARTMENTS, SUBCATEGORIES

__all__ = [
    "FORMATS",
    "ProductFrame",
    "StoreFrame",
    "build_products",
    "build_stores",
    "days_since_epoch",
    "retail_price",
]

#: Store formats: (name, share, size band in m², traffic scale, weekly amplitude).
FORMATS: tuple[tuple[str, float, tuple[int, int], float, float], ...] = (
    ("hypermarket", 0.15, (8_000, 15_000), 2.2, 1.3),
    ("supermarket", 0.45, (2_000, 5_000), 1.0, 1.0),
    ("neighbourhood", 0.25, (800, 2_000), 0.6, 0.8),
    ("express", 0.15, (200, 600), 0.35, 0.65),
)

_EPOCH = dt.date(1970, 1, 1)


def days_since_epoch(day: dt.date) -> int:
    """Arrow's date32 value of ``day``."""
    return (day - _EPOCH).days


def retail_price(raw: np.ndarray) -> np.ndarray:
    """Round to shelf prices: ``x.x9`` under 20, ``x9.99``-style whole prices above."""
    small = np.round(raw, 1) - 0.01
    large = np.round(raw) - 0.01
    return np.round(np.maximum(np.where(raw < 20, small, large), 0.29), 2)


@dataclass
class StoreFrame:
    """Stores as a table plus the latent traffic parameters."""

    table: pa.Table
    ids: pa.Array
    region: np.ndarray  # index into REGIONS
    city: np.ndarray  # index into the region's cities
    scale: np.ndarray  # relative traffic
    growth: np.ndarray  # yearly log growth
    weekly_amplitude: np.ndarray
    review_phase: np.ndarray

    @property
    def count(self) -> int:
        """Number of stores."""
        return len(self.scale)


def build_stores(config: RetailConfig) -> StoreFrame:
    """Stores spread over the regions, each in a different city where possible."""
    rng = rng_for(config.seed, Stream.STORES)
    n = config.stores
    region_order = rng.permutation(len(REGIONS))
    region = region_order[np.arange(n) % len(REGIONS)]
    city = np.zeros(n, dtype=np.int64)
    for r in range(len(REGIONS)):
        members = np.flatnonzero(region == r)
        order = rng.permutation(len(REGIONS[r].cities))
        city[members] = order[np.arange(len(members)) % len(order)]
    shares = np.array([f[1] for f in FORMATS])
    fmt = rng.choice(len(FORMATS), size=n, p=shares / shares.sum())
    fmt[0] = 1  # the flagship is always a supermarket: a typical store for demos
    low = np.array([FORMATS[f][2][0] for f in fmt])
    high = np.array([FORMATS[f][2][1] for f in fmt])
    size = np.round(rng.uniform(low, high) / 10).astype(np.int64) * 10
    mid = np.array([(FORMATS[f][2][0] + FORMATS[f][2][1]) / 2 for f in fmt])
    scale = (
        np.array([FORMATS[f][3] for f in fmt])
        * (size / mid) ** 0.5
        * rng.lognormal(0.0, 0.15, size=n)
    )
    growth = rng.normal(0.02, 0.04, size=n)
    amplitude = np.array([FORMATS[f][4] for f in fmt]) * rng.uniform(0.85, 1.15, size=n)
    opening = days_since_epoch(config.start_date) - rng.integers(200, 9_000, size=n)
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(n):
        base = f"{REGIONS[region[i]].cities[city[i]].name} {FORMATS[fmt[i]][0].title()}"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base} {seen[base]}")
    ids = make_keys("S", np.arange(1, n + 1), key_width(n, 3))
    table = pa.table(
        {
            "store_id": ids,
            "name": pa.array(names),
            "region": pa.array([REGIONS[r].name for r in region]),
            "city": pa.array(
                [REGIONS[r].cities[c].name for r, c in zip(region, city, strict=True)]
            ),
            "state": pa.array(
                [REGIONS[r].cities[c].state for r, c in zip(region, city, strict=True)]
            ),
            "format": pa.array([FORMATS[f][0] for f in fmt]),
            "size_sqm": pa.array(size, pa.int64()),
            "opening_date": pa.array(opening.astype(np.int32), pa.int32()).cast(pa.date32()),
        }
    )
    return StoreFrame(
        table=table,
        ids=ids,
        region=region,
        city=city,
        scale=scale,
        growth=growth,
        weekly_amplitude=amplitude,
        review_phase=rng.integers(0, 21, size=n),
    )


@dataclass
class ProductFrame:
    """Products as a table plus every hidden parameter that drives their demand."""

    table: pa.Table
    ids: pa.Array
    subcategory: np.ndarray  # index into SUBCATEGORIES
    department: np.ndarray  # index into DEPARTMENTS (in insertion order)
    category: np.ndarray  # index into ``categories``
    categories: list[str]
    base_price: np.ndarray
    unit_cost: np.ndarray
    case_pack: np.ndarray
    lead_time_mean: np.ndarray
    lead_time_std: np.ndarray
    supplier: np.ndarray
    launch_day: np.ndarray  # day index of launch (negative: before the history starts)
    stop_day: np.ndarray  # day index of discontinuation (``days`` when still sold)
    level: np.ndarray  # mean daily units in an average store, before all effects
    slow_mover: np.ndarray
    dispersion: np.ndarray  # gamma shape of demand noise (small = lumpy)
    trend: np.ndarray  # yearly log trend
    promo_uplift: np.ndarray
    promo_propensity: np.ndarray
    quality: np.ndarray  # latent quality that drives review ratings
    partner: np.ndarray  # index of the co-purchased product (-1: none)
    elasticity: np.ndarray  # per category
    anchor: np.ndarray  # per product: its subcategory's best seller, always on the shelf

    @property
    def count(self) -> int:
        """Number of products."""
        return len(self.level)


def _assign_subcategories(rng: np.random.Generator, n: int) -> np.ndarray:
    weights = np.array([s.weight for s in SUBCATEGORIES])
    k = len(SUBCATEGORIES)
    if n >= 2 * k:
        extra = rng.choice(k, size=n - k, p=weights / weights.sum())
        sub = np.concatenate([np.arange(k), extra])
    else:
        sub = rng.choice(k, size=n, p=weights / weights.sum())
    return np.sort(sub, kind="stable")


def build_products(config: RetailConfig) -> ProductFrame:
    """A catalogue over the taxonomy with a long-tailed popularity and hidden demand drivers."""
    rng = rng_for(config.seed, Stream.PRODUCTS)
    n = config.products
    sub = _assign_subcategories(rng, n)
    subs = [SUBCATEGORIES[i] for i in sub]
    dept_names = list(DEPARTMENTS)
    dept = np.array([dept_names.index(s.department) for s in subs])
    categories = sorted({s.category for s in SUBCATEGORIES}, key=lambda c: c.lower())
    cat = np.array([categories.index(s.category) for s in subs])

    low = np.array([s.price[0] for s in subs])
    high = np.array([s.price[1] for s in subs])
    base_price = retail_price(np.exp(rng.uniform(np.log(low), np.log(high))))
    unit_cost = np.round(base_price * rng.uniform(0.45, 0.75, size=n), 2)
    case_pack = np.select(
        [base_price < 3, base_price < 10, base_price < 40],
        [rng.choice([12, 24], size=n), rng.choice([6, 12], size=n), rng.choice([2, 4, 6], size=n)],
        rng.choice([1, 2], size=n),
    )

    supplier_names: list[str] = []
    supplier_dept: list[int] = []
    for d, name in enumerate(dept_names):
        for supplier_name in DEPARTMENTS[name].suppliers:
            supplier_names.append(supplier_name)
            supplier_dept.append(d)
    supplier_band = np.array([DEPARTMENTS[dept_names[d]].lead_time_days for d in supplier_dept])
    supplier_lead = rng.uniform(supplier_band[:, 0], supplier_band[:, 1] + 0.99)
    supplier_variability = rng.uniform(0.08, 0.3, size=len(supplier_names))
    candidates = [np.flatnonzero(np.array(supplier_dept) == d) for d in range(len(dept_names))]
    supplier = np.array([candidates[d][rng.integers(len(candidates[d]))] for d in dept])
    lead_mean = np.maximum(
        1, np.round(supplier_lead[supplier] + rng.uniform(-1, 1, size=n))
    ).astype(np.int64)
    lead_std = np.round(lead_mean * supplier_variability[supplier], 1)

    shelf = np.array(
        [
            rng.integers(s.shelf_life_days[0], s.shelf_life_days[1] + 1)
            if s.shelf_life_days
            else -1
            for s in subs
        ]
    )

    slow = rng.random(n) < config.slow_mover_share
    price_effect = np.clip((base_price / 4.0) ** -0.35, 0.25, 2.0)
    level = np.where(
        slow,
        rng.lognormal(np.log(0.12), 0.5, size=n),
        rng.lognormal(np.log(3.5), 1.0, size=n) * price_effect,
    )
    dispersion = np.where(slow, rng.uniform(0.3, 1.0, size=n), rng.uniform(2.0, 10.0, size=n))
    trend = rng.normal(0.0, 0.15, size=n)

    # the best seller of each subcategory is an "anchor": always on the shelf
    anchor = np.zeros(n, dtype=bool)
    anchor_of = np.zeros(n, dtype=np.int64)
    for leaf in np.unique(sub):
        members = np.flatnonzero(sub == leaf)
        best = members[np.argmax(level[members])]
        anchor[best] = True
        anchor_of[members] = best
    days = config.days
    is_new = (rng.random(n) < 0.08) & ~anchor
    launch = np.where(
        is_new,
        rng.integers(int(days * 0.05), max(int(days * 0.75), int(days * 0.05) + 1), size=n),
        -rng.integers(30, 2_000, size=n),
    )
    is_stopped = (rng.random(n) < 0.05) & ~anchor & ~is_new
    stop = np.where(
        is_stopped,
        rng.integers(int(days * 0.3), max(int(days * 0.95), int(days * 0.3) + 1), size=n),
        days,
    )

    uplift = rng.uniform(config.promo_uplift_range[0], config.promo_uplift_range[1], size=n)
    propensity = rng.lognormal(0.0, 0.4, size=n) * np.where(slow, 0.4, 1.0)
    quality = rng.normal(0.25, 0.7, size=n)
    elasticity = rng.uniform(
        config.elasticity_range[0], config.elasticity_range[1], size=len(categories)
    )

    partner = np.full(n, -1, dtype=np.int64)
    by_name = {s.name: i for i, s in enumerate(SUBCATEGORIES)}
    for leaf in np.unique(sub):
        complement = SUBCATEGORIES[leaf].complement
        if complement is None:
            continue
        targets = np.flatnonzero(sub == by_name[complement])
        if len(targets) == 0:
            continue
        members = np.flatnonzero(sub == leaf)
        weights = level[targets] / level[targets].sum()
        partner[members] = rng.choice(targets, size=len(members), p=weights)

    brand_pick = rng.integers(0, 1_000, size=n)
    adjective_pick = rng.integers(0, 1_000, size=n)
    size_pick = rng.integers(0, 1_000, size=n)
    names = []
    brands = []
    for i, s in enumerate(subs):
        department = DEPARTMENTS[s.department]
        brand = department.brands[brand_pick[i] % len(department.brands)]
        brands.append(brand)
        adjective = department.adjectives[adjective_pick[i] % len(department.adjectives)]
        names.append(f"{brand} {adjective} {s.noun.title()} {s.sizes[size_pick[i] % len(s.sizes)]}")

    ids = make_keys("P", np.arange(1, n + 1), key_width(n, 4))
    supplier_ids = make_keys("SUP", np.arange(1, len(supplier_names) + 1), 3)
    epoch_start = days_since_epoch(config.start_date)
    table = pa.table(
        {
            "product_id": ids,
            "name": pa.array(names),
            "department": pa.array([s.department for s in subs]),
            "category": pa.array([s.category for s in subs]),
            "subcategory": pa.array([s.name for s in subs]),
            "brand": pa.array(brands),
            "base_price": pa.array(base_price, pa.float64()),
            "unit_cost": pa.array(unit_cost, pa.float64()),
            "supplier_id": supplier_ids.take(pa.array(supplier)),
            "supplier_name": pa.array([supplier_names[i] for i in supplier]),
            "lead_time_mean_days": pa.array(lead_mean, pa.int64()),
            "lead_time_std_days": pa.array(lead_std, pa.float64()),
            "case_pack": pa.array(case_pack, pa.int64()),
            "shelf_life_days": pa.array(shelf, pa.int64(), mask=shelf < 0),
            "launch_date": pa.array((epoch_start + launch).astype(np.int32)).cast(pa.date32()),
            "discontinued_date": pa.array(
                (epoch_start + stop).astype(np.int32), mask=stop >= days
            ).cast(pa.date32()),
        }
    )
    return ProductFrame(
        table=table,
        ids=ids,
        subcategory=sub,
        department=dept,
        category=cat,
        categories=categories,
        base_price=base_price,
        unit_cost=unit_cost,
        case_pack=case_pack,
        lead_time_mean=lead_mean,
        lead_time_std=lead_std,
        supplier=supplier,
        launch_day=launch,
        stop_day=stop,
        level=level,
        slow_mover=slow,
        dispersion=dispersion,
        trend=trend,
        promo_uplift=uplift,
        promo_propensity=propensity,
        quality=quality,
        partner=partner,
        elasticity=elasticity,
        anchor=anchor_of,
    )
