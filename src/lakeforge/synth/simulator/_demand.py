"""Latent demand, censored sales, inventory and replenishment for every store x product x day.

Expected demand is a product of chain-wide factors (level, trend, yearly seasonality,
holidays and events, paydays, promotion uplift, post-promotion dip, cannibalisation inside a
subcategory, regular-price elasticity, launch and run-out) and store factors (traffic scale,
growth, weekly profile, local taste, daily traffic shocks). Realised demand is gamma-Poisson,
so slow movers come out intermittent and lumpy.

Stock follows a deliberately imperfect periodic-review, order-up-to policy: the buyer
forecasts with an exponentially weighted average of *sales* (censored by stock-outs, blind to
promotions and seasons), assumes the mean supplier lead time, and orders whole cases;
suppliers deliver late at random. ``sales = min(demand, on_hand)``, flagged as a stock-out.

The day loop is the only Python loop; every step is vectorised over all series of a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakeforge.synth.simulator._calendar import CalendarFrame, PriceFrame
from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._entities import ProductFrame, StoreFrame
from lakeforge.synth.simulator._keys import pick
from lakeforge.synth.simulator._taxonomy import DEPARTMENTS, SUBCATEGORIES

__all__ = ["DemandPlan", "StoreChunk", "build_demand_plan", "simulate_store_chunk"]

#: Chain weekly profile, Monday first (shoppers crowd in on Friday and Saturday).
_WEEKLY = np.array([0.86, 0.83, 0.88, 0.95, 1.10, 1.32, 1.06])
_REVIEW_CYCLE = 21  # lcm of the review periods (1, 3, 7 days)
_SMOOTHING = 2.0 / 29.0  # the buyer's 28-day exponentially weighted average
_LATE_SHARE = 0.05  # orders a supplier delivers late
_LATE_DAYS = (3, 15)


@dataclass
class DemandPlan:
    """Chain-wide demand factors shared by every store chunk."""

    chain: np.ndarray  # (product, day) expected units in an average store
    ranged: np.ndarray  # (product, day) bool: the product is on the shelf
    weekly: np.ndarray  # (store, department, weekday) multiplier
    region_taste: np.ndarray  # (region, category) multiplier
    safety_factor: np.ndarray  # per store: how cautious its buyer is
    review_period: np.ndarray  # per product, days between stock reviews


def _yearly(
    config: RetailConfig, products: ProductFrame, calendar: CalendarFrame, rng: np.random.Generator
) -> np.ndarray:
    strength = np.array([SUBCATEGORIES[s].season_strength for s in products.subcategory])
    peak = np.array([SUBCATEGORIES[s].season_peak_month for s in products.subcategory])
    peak_day = (peak - 0.5) * 30.44 + rng.normal(0, 6, size=products.count)
    strength = strength * rng.uniform(0.8, 1.2, size=products.count)
    angle = 2 * np.pi * (calendar.day_of_year[None, :] - peak_day[:, None]) / 365.25
    yearly: np.ndarray = np.exp(strength[:, None] * np.cos(angle))
    return yearly


def _cannibalisation(
    config: RetailConfig, products: ProductFrame, on_promo: np.ndarray
) -> np.ndarray:
    """``1 - c * (level-weighted share of siblings on promotion)``."""
    n_sub = len(SUBCATEGORIES)
    weight = products.level
    promo_weight = np.zeros((n_sub, on_promo.shape[1]))
    np.add.at(promo_weight, products.subcategory, weight[:, None] * on_promo)
    total = np.bincount(products.subcategory, weights=weight, minlength=n_sub)
    siblings = total[products.subcategory] - weight
    sibling_promo = promo_weight[products.subcategory] - weight[:, None] * on_promo
    share = np.divide(
        sibling_promo,
        siblings[:, None],
        out=np.zeros_like(sibling_promo),
        where=siblings[:, None] > 0,
    )
    result: np.ndarray = 1.0 - config.cannibalisation * share
    return result


def build_demand_plan(
    config: RetailConfig,
    stores: StoreFrame,
    products: ProductFrame,
    calendar: CalendarFrame,
    prices: PriceFrame,
) -> DemandPlan:
    """Combine every chain-wide factor into one ``product x day`` matrix of expected units."""
    rng = rng_for(config.seed, Stream.DEMAND_PARAMETERS)
    days = config.days
    t = np.arange(days)
    dept_names = list(DEPARTMENTS)
    departments = [DEPARTMENTS[name] for name in dept_names]

    trend = np.exp(products.trend[:, None] * t[None, :] / 365.25)
    yearly = _yearly(config, products, calendar, rng)
    events = calendar.event_effect[products.subcategory]
    lift = np.array([d.payday_lift for d in departments])[products.department]
    payday_window = calendar.payday | np.roll(calendar.payday, 1)
    payday = 1.0 + lift[:, None] * payday_window[None, :]
    promo = np.where(prices.on_promo, 1.0 + products.promo_uplift[:, None], 1.0)
    dip_depth = config.post_promo_dip * rng.uniform(0.5, 1.5, size=products.count)
    dip = np.where(prices.after_promo, 1.0 - np.minimum(dip_depth, 0.9)[:, None], 1.0)
    cannibal = _cannibalisation(config, products, prices.on_promo)
    elasticity = products.elasticity[products.category]
    price_effect = (prices.regular / products.base_price[:, None]) ** elasticity[:, None]

    age = t[None, :] - products.launch_day[:, None]
    to_go = products.stop_day[:, None] - t[None, :]
    ranged = (age >= 0) & (to_go > 0)
    lifecycle = np.where(age < 120, 1.0 - np.exp(-(age + 1) / 25.0), 1.0)
    # a product on its way out fades over its last two months
    leaving = products.stop_day[:, None] < days
    lifecycle *= np.where(leaving, np.clip(to_go / 60.0, 0.3, 1.0), 1.0)
    lifecycle = np.where(ranged, lifecycle, 0.0)

    chain = (
        products.level[:, None]
        * trend
        * yearly
        * events
        * payday
        * promo
        * dip
        * cannibal
        * price_effect
        * lifecycle
        * calendar.store_open[None, :]
    )

    strength = np.array([d.weekend_strength for d in departments])
    log_week = np.log(_WEEKLY)[None, None, :] * (
        stores.weekly_amplitude[:, None, None] * strength[None, :, None]
    )
    weekly = np.exp(log_week + rng.normal(0, 0.03, size=(stores.count, 1, 7)))
    weekly /= weekly.mean(axis=2, keepdims=True)

    review = np.array([d.review_period_days for d in departments])[products.department]
    return DemandPlan(
        chain=chain,
        ranged=ranged,
        weekly=weekly,
        region_taste=rng.lognormal(0.0, 0.2, size=(5, len(products.categories))),
        safety_factor=rng.uniform(0.6, 1.4, size=stores.count),
        review_period=review,
    )


@dataclass
class StoreChunk:
    """One chunk of stores, ready to write (rows ordered by store, product, date)."""

    daily_sales: pa.Table
    inventory: pa.Table
    demand: pa.Table
    replenishment: pa.Table  # without ids: the caller numbers them across chunks


@dataclass
class _StoreDraws:
    demand: np.ndarray  # (day, product) realised demand
    expected: np.ndarray  # (day, product)
    lead: np.ndarray  # (day, product) lead time of an order placed that day
    estimate_noise: np.ndarray  # (product,)


def _draw_store(
    config: RetailConfig,
    plan: DemandPlan,
    stores: StoreFrame,
    products: ProductFrame,
    calendar: CalendarFrame,
    store: int,
) -> _StoreDraws:
    """Every random draw of one store, from its own stream: chunking never changes them."""
    rng = rng_for(config.seed, Stream.DAILY_SALES, store)
    days, n = config.days, products.count
    affinity = (
        rng.lognormal(0.0, 0.35, size=n)
        * plan.region_taste[stores.region[store] % plan.region_taste.shape[0], products.category]
    )
    shock = rng.lognormal(0.0, 0.07, size=days)
    growth = np.exp(stores.growth[store] * np.arange(days) / 365.25)
    weekly = plan.weekly[store][products.department][:, calendar.day_of_week]  # (product, day)
    expected = (plan.chain * weekly * (stores.scale[store] * affinity)[:, None]).T * (
        growth * shock
    )[:, None]  # (day, product)
    shape = products.dispersion[None, :]
    rate = expected * rng.gamma(np.broadcast_to(shape, expected.shape), 1.0) / shape
    demand = rng.poisson(rate).astype(np.int32)
    noise = rng.standard_normal(size=(days, n), dtype=np.float32)
    # suppliers are rarely much early: at most 40% under their mean lead time
    earliest = np.maximum(np.ceil(0.6 * products.lead_time_mean), 1)
    lead = np.maximum(
        np.rint(products.lead_time_mean + noise * products.lead_time_std.astype(np.float32)),
        earliest,
    ).astype(np.int64)
    # one uniform decides both whether a delivery is late and by how many days
    late = rng.random(size=(days, n), dtype=np.float32)
    span = _LATE_DAYS[1] - _LATE_DAYS[0]
    late_days = _LATE_DAYS[0] + (late * (span / _LATE_SHARE)).astype(np.int64)
    lead += np.where(late < _LATE_SHARE, late_days, 0)
    return _StoreDraws(
        demand=demand,
        expected=expected,
        lead=lead,
        estimate_noise=rng.lognormal(0.0, 0.25, size=n),
    )


def _ceil_to_case(units: np.ndarray, case: np.ndarray) -> np.ndarray:
    cases: np.ndarray = np.maximum(np.ceil(units / case), 1) * case
    return cases


def simulate_store_chunk(
    config: RetailConfig,
    plan: DemandPlan,
    stores: StoreFrame,
    products: ProductFrame,
    calendar: CalendarFrame,
    prices: PriceFrame,
    store_indices: list[int],
) -> StoreChunk:
    """Simulate demand, stock and sales for a few stores, vectorised over all their series."""
    days, n_products = config.days, products.count
    draws = [_draw_store(config, plan, stores, products, calendar, s) for s in store_indices]
    demand = np.concatenate([d.demand for d in draws], axis=1)  # (day, series)
    expected = np.concatenate([d.expected for d in draws], axis=1)
    lead = np.concatenate([d.lead for d in draws], axis=1)
    k = len(store_indices)
    n = k * n_products
    product = np.tile(np.arange(n_products), k)
    store = np.repeat(np.asarray(store_indices), n_products)

    ranged = plan.ranged[product].T  # (day, series)
    launch = products.launch_day[product]
    review = plan.review_period[product]
    lead_mean = products.lead_time_mean[product]
    cover = (lead_mean + review).astype(np.float64)
    case = products.case_pack[product].astype(np.float64)
    safety = plan.safety_factor[store]
    phase = (stores.review_phase[store] + product) % review
    # a product being discontinued stops being ordered one lead time before it leaves
    stop = products.stop_day[product]
    order_until = np.where(stop < days, stop - lead_mean, days)
    can_order = (np.arange(days)[:, None] >= launch[None, :]) & (
        np.arange(days)[:, None] < order_until[None, :]
    )

    # the buyer's first estimate: the average expected demand over the series' life, give or take
    live_days = np.maximum(ranged.sum(axis=0), 1)
    estimate = (expected.sum(axis=0) / live_days) * np.concatenate(
        [d.estimate_noise for d in draws]
    )
    ema = estimate.copy()

    def order_level(e: np.ndarray, idx: np.ndarray | slice) -> np.ndarray:
        need = e * cover[idx]
        result: np.ndarray = need + safety[idx] * np.sqrt(need)
        return result

    horizon = days + int(lead.max()) + 2
    arrivals = np.zeros((horizon, n), dtype=np.int64)
    first_stock = _ceil_to_case(order_level(ema, slice(None)) + ema * review, case).astype(np.int64)
    on_hand = np.where(launch < 0, first_stock, 0)
    launching = np.flatnonzero((launch >= 0) & (launch < days))
    arrivals[launch[launching], launching] += first_stock[launching]
    on_order = np.zeros(n, dtype=np.int64)
    on_order[launching] = first_stock[launching]  # the launch delivery is on order already

    opening = np.empty((days, n), dtype=np.int64)
    sales = np.empty((days, n), dtype=np.int64)
    pipeline = np.empty((days, n), dtype=np.int64)
    due = [np.flatnonzero((t - phase) % review == 0) for t in range(_REVIEW_CYCLE)]
    log_day: list[np.ndarray] = []
    log_series: list[np.ndarray] = []
    log_qty: list[np.ndarray] = []
    log_lead: list[np.ndarray] = []

    for t in range(days):
        received = arrivals[t]
        on_hand += received
        on_order -= received
        opening[t] = on_hand
        sold = np.minimum(demand[t], on_hand)
        on_hand -= sold
        sales[t] = sold
        ema += _SMOOTHING * (sold - ema) * ranged[t]
        idx = due[t % _REVIEW_CYCLE]
        idx = idx[can_order[t, idx]]
        position = on_hand[idx] + on_order[idx]
        e = ema[idx]
        level = order_level(e, idx)
        place = position <= level
        chosen = idx[place]
        if len(chosen):
            target = level[place] + e[place] * review[chosen]
            qty = _ceil_to_case(target - position[place], case[chosen]).astype(np.int64)
            lt = lead[t, chosen]
            arrivals[t + lt, chosen] += qty
            on_order[chosen] += qty
            log_day.append(np.full(len(chosen), t, dtype=np.int64))
            log_series.append(chosen)
            log_qty.append(qty)
            log_lead.append(lt)
        pipeline[t] = on_order

    received_all = arrivals[:days]
    stockout = demand > opening

    # series-major rows (store, product, date), only while the product is on the shelf
    keep = ranged.T.ravel()
    row_series = np.repeat(np.arange(n), days)[keep]
    row_day = np.tile(np.arange(days), n)[keep]
    row_product = product[row_series]
    row_store = store[row_series]

    def col(matrix: np.ndarray) -> np.ndarray:
        flat: np.ndarray = matrix.T.ravel()[keep]
        return flat

    date = pa.array(calendar.dates[row_day]).cast(pa.date32())
    store_id = pick(stores.ids, row_store)
    product_id = pick(products.ids, row_product)
    units = col(sales)
    price = prices.price[row_product, row_day]
    daily_sales = pa.table(
        {
            "date": date,
            "store_id": store_id,
            "product_id": product_id,
            "units_sold": pa.array(units, pa.int64()),
            "price": pa.array(price, pa.float64()),
            "on_promo": pa.array(prices.on_promo[row_product, row_day]),
            "revenue": pa.array(np.round(units * price, 2), pa.float64()),
            "stockout": pa.array(col(stockout)),
        }
    )
    open_units = col(opening)
    inventory = pa.table(
        {
            "date": date,
            "store_id": store_id,
            "product_id": product_id,
            "on_hand_open": pa.array(open_units, pa.int64()),
            "received": pa.array(col(received_all), pa.int64()),
            "on_hand_close": pa.array(open_units - units, pa.int64()),
            "on_order": pa.array(col(pipeline), pa.int64()),
        }
    )
    truth = pa.table(
        {
            "date": date,
            "store_id": store_id,
            "product_id": product_id,
            "expected_demand": pa.array(np.round(col(expected), 4).astype(np.float32)),
            "demand": pa.array(col(demand), pa.int64()),
        }
    )
    return StoreChunk(
        daily_sales=daily_sales,
        inventory=inventory,
        demand=truth,
        replenishment=_replenishment_table(
            config,
            stores,
            products,
            calendar,
            product,
            store,
            log_day,
            log_series,
            log_qty,
            log_lead,
        ),
    )


def _replenishment_table(
    config: RetailConfig,
    stores: StoreFrame,
    products: ProductFrame,
    calendar: CalendarFrame,
    product: np.ndarray,
    store: np.ndarray,
    log_day: list[np.ndarray],
    log_series: list[np.ndarray],
    log_qty: list[np.ndarray],
    log_lead: list[np.ndarray],
) -> pa.Table:
    empty = np.zeros(0, dtype=np.int64)
    day = np.concatenate(log_day) if log_day else empty
    series = np.concatenate(log_series) if log_series else empty
    qty = np.concatenate(log_qty) if log_qty else empty
    lead = np.concatenate(log_lead) if log_lead else empty
    order = np.lexsort((day, series))
    day, series, qty, lead = day[order], series[order], qty[order], lead[order]
    p = product[series]
    first = int(calendar.dates[0])
    arrival = day + lead
    # a delivery due after the product left the range is cancelled; one due after the end
    # of the history is still in transit
    cancelled = (arrival >= products.stop_day[p]) & (products.stop_day[p] < config.days)
    in_transit = ~cancelled & (arrival >= config.days)
    status = np.where(cancelled, "cancelled", np.where(in_transit, "in_transit", "received"))
    return pa.table(
        {
            "store_id": pick(stores.ids, store[series]),
            "product_id": pick(products.ids, p),
            "supplier_id": pick(products.table.column("supplier_id").combine_chunks(), p),
            "order_date": pa.array((first + day).astype(np.int32)).cast(pa.date32()),
            "quantity": pa.array(qty, pa.int64()),
            "expected_arrival_date": pa.array(
                (first + day + products.lead_time_mean[p]).astype(np.int32)
            ).cast(pa.date32()),
            "arrival_date": pa.array(
                (first + arrival).astype(np.int32), mask=in_transit | cancelled
            ).cast(pa.date32()),
            "status": pa.array(status),
        }
    )
