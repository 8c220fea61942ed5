# The events table reads best one event per line, so long lines are allowed in this module.
# ruff: noqa: E501
"""The trading calendar: holidays, events, paydays, the promotions plan and shelf prices.

Everything here is chain-wide and known in advance, so it is computed once as small
``product x day`` matrices that every store chunk reuses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._entities import ProductFrame, days_since_epoch, retail_price
from lakeforge.synth.simulator._keys import key_width, make_keys
from lakeforge.synth.simulator._taxonomy import DEPARTMENTS, SUBCATEGORIES

__all__ = [
    "EVENTS",
    "CalendarFrame",
    "Event",
    "PriceFrame",
    "build_calendar",
    "build_prices",
    "easter_sunday",
]


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th ``weekday`` (0 = Monday) of a month; ``n = -1`` for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _thanksgiving(year: int) -> dt.date:
    return _nth_weekday(year, 11, 3, 4)


@dataclass(frozen=True)
class Event:
    """A dated effect on demand; ``label`` names it in the calendar (``None``: unnamed)."""

    label: str | None
    kind: str  # holiday | event
    when: Callable[[int], dt.date]
    window: tuple[int, int]  # days relative to the date, inclusive; effect ramps up to the end
    effects: dict[str, float]  # department, category or subcategory name (or "*") -> multiplier
    closed: bool = False


EVENTS: tuple[Event, ...] = (
    Event("New Year's Day", "holiday", lambda y: dt.date(y, 1, 1), (0, 0), {"*": 0.7}),
    Event("Martin Luther King Jr. Day", "holiday", lambda y: _nth_weekday(y, 1, 0, 3), (0, 0), {"*": 1.05}),
    Event("Super Bowl Sunday", "event", lambda y: _nth_weekday(y, 2, 6, 2), (-2, 0), {"Snacks": 1.8, "Beverages": 1.6}),
    Event("Valentine's Day", "event", lambda y: dt.date(y, 2, 14), (-3, 0), {"Chocolate": 1.8, "Candles": 1.5, "Plants": 1.4}),
    Event("Presidents' Day", "holiday", lambda y: _nth_weekday(y, 2, 0, 3), (0, 0), {"Electronics": 1.3, "Home": 1.2}),
    Event("Easter", "event", easter_sunday, (-4, -1), {"Chocolate": 2.0, "Bakery": 1.3, "Produce": 1.15}),
    Event("Mother's Day", "event", lambda y: _nth_weekday(y, 5, 6, 2), (-4, 0), {"Plants": 2.0, "Candles": 1.5, "Chocolate": 1.3}),
    Event("Memorial Day", "holiday", lambda y: _nth_weekday(y, 5, 0, -1), (-3, 0), {"Garden": 1.8, "Beverages": 1.3, "Snacks": 1.2}),
    Event("Independence Day", "holiday", lambda y: dt.date(y, 7, 4), (-3, 0), {"Garden": 2.2, "Beverages": 1.5, "Snacks": 1.4, "Produce": 1.2}),
    Event("Back to School", "event", lambda y: dt.date(y, 8, 15), (-14, 7), {"Accessories": 1.5, "Audio": 1.3, "Breakfast": 1.2}),
    Event("Labor Day", "holiday", lambda y: _nth_weekday(y, 9, 0, 1), (-3, 0), {"Garden": 1.6, "Beverages": 1.3}),
    Event("Halloween", "event", lambda y: dt.date(y, 10, 31), (-7, 0), {"Chocolate": 2.5, "Snacks": 1.5, "Candles": 1.3}),
    Event(None, "event", _thanksgiving, (-5, -1), {"Fresh": 1.6, "Grocery": 1.35, "Dairy": 1.5}),
    Event("Thanksgiving", "holiday", _thanksgiving, (0, 0), {"*": 0.5}),
    Event("Black Friday", "event", lambda y: _thanksgiving(y) + dt.timedelta(days=1), (0, 2), {"Electronics": 3.0, "Toys": 2.2, "Home": 1.8, "*": 1.2}),
    Event("Cyber Monday", "event", lambda y: _thanksgiving(y) + dt.timedelta(days=4), (0, 0), {"Electronics": 1.8, "Toys": 1.4}),
    Event(None, "event", lambda y: dt.date(y, 12, 24), (-23, 0), {"Toys": 2.5, "Electronics": 2.0, "Decor": 2.0, "Chocolate": 1.8, "Fresh": 1.2, "*": 1.1}),
    Event("Christmas Day", "holiday", lambda y: dt.date(y, 12, 25), (0, 0), {"*": 0.0}, closed=True),
    Event("New Year's Eve", "event", lambda y: dt.date(y, 12, 31), (-1, 0), {"Beverages": 1.6, "Snacks": 1.4}),
)  # fmt: skip


@dataclass
class CalendarFrame:
    """Day-level facts: the calendar table and the chain-wide effect matrices."""

    table: pa.Table
    dates: np.ndarray  # date32 values
    day_of_week: np.ndarray  # 0 = Monday
    day_of_year: np.ndarray
    event_effect: np.ndarray  # (subcategory, day) multiplier
    payday: np.ndarray  # bool per day
    store_open: np.ndarray  # bool per day


def _effect_for(sub_index: int, effects: dict[str, float]) -> float | None:
    sub = SUBCATEGORIES[sub_index]
    for key in (sub.name, sub.category, sub.department, "*"):
        if key in effects:
            return effects[key]
    return None


def build_calendar(config: RetailConfig) -> CalendarFrame:
    """Calendar rows and event effects for every simulated day (``promotions_active`` added later)."""
    days = config.days
    start = config.start_date
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    dow = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates])
    effect = np.ones((len(SUBCATEGORIES), days))
    holiday_name: list[str | None] = [None] * days
    event_name: list[str | None] = [None] * days
    store_open = np.ones(days, dtype=bool)
    for event in EVENTS:
        for year in range(start.year - 1, config.end_date.year + 2):
            anchor = (event.when(year) - start).days
            first, last = anchor + event.window[0], anchor + event.window[1]
            if last < 0 or first >= days:
                continue
            span = last - first + 1
            for offset in range(span):
                t = first + offset
                if not 0 <= t < days:
                    continue
                ramp = 1.0 if span <= 1 else 0.5 + 0.5 * (offset + 1) / span
                for s in range(len(SUBCATEGORIES)):
                    m = _effect_for(s, event.effects)
                    if m is not None:
                        effect[s, t] *= m if m < 1 else 1 + (m - 1) * ramp
            if 0 <= anchor < days and event.label is not None:
                names = holiday_name if event.kind == "holiday" else event_name
                names[anchor] = event.label
                if event.closed:
                    store_open[anchor] = False

    payday = np.zeros(days, dtype=bool)
    for i, d in enumerate(dates):
        for pay_day in (1, 15):
            if d.day == pay_day and d.weekday() < 5:
                payday[i] = True
        # a payday on a weekend is paid the Friday before
        if d.weekday() == 4:
            for ahead in (1, 2):
                later = d + dt.timedelta(days=ahead)
                if later.day in (1, 15):
                    payday[i] = True

    epoch = np.arange(days, dtype=np.int32) + days_since_epoch(start)
    table = pa.table(
        {
            "date": pa.array(epoch).cast(pa.date32()),
            "day_of_week": pa.array(dow + 1, pa.int64()),
            "is_weekend": pa.array(dow >= 5),
            "week_of_year": pa.array([d.isocalendar()[1] for d in dates], pa.int64()),
            "month": pa.array([d.month for d in dates], pa.int64()),
            "quarter": pa.array([(d.month - 1) // 3 + 1 for d in dates], pa.int64()),
            "year": pa.array([d.year for d in dates], pa.int64()),
            "is_holiday": pa.array([n is not None for n in holiday_name]),
            "holiday_name": pa.array(holiday_name, pa.string()),
            "event_name": pa.array(event_name, pa.string()),
            "is_payday": pa.array(payday),
            "store_open": pa.array(store_open),
        }
    )
    return CalendarFrame(
        table=table,
        dates=epoch,
        day_of_week=dow,
        day_of_year=doy,
        event_effect=effect,
        payday=payday,
        store_open=store_open,
    )


@dataclass
class PriceFrame:
    """Chain-wide prices and the promotions plan, as ``product x day`` matrices."""

    regular: np.ndarray  # regular shelf price
    price: np.ndarray  # price paid (promotion discount applied)
    on_promo: np.ndarray  # bool
    after_promo: np.ndarray  # bool: within a week after a promotion ended
    promotions: pa.Table


def build_prices(config: RetailConfig, products: ProductFrame) -> PriceFrame:
    """Regular price changes (mostly increases) and a weekly promotions plan per product."""
    rng = rng_for(config.seed, Stream.PRICES)
    n, days = products.count, config.days
    years = days / 365.25

    # regular price changes: a step function per product
    changes = rng.poisson(config.price_changes_per_product_year * years, size=n)
    log_steps = np.zeros((n, days))
    rows = np.repeat(np.arange(n), changes)
    when = rng.integers(14, max(days - 14, 15), size=len(rows))
    np.add.at(log_steps, (rows, when), rng.normal(0.02, 0.09, size=len(rows)))
    regular = retail_price(products.base_price[:, None] * np.exp(np.cumsum(log_steps, axis=1)))
    regular[:, 0] = products.base_price

    # promotions: whole weeks, at most one running per product, with a cool-down between
    rng_promo = rng_for(config.seed, Stream.PROMOTIONS)
    weeks = -(-days // 7)
    weekly_rate = config.promos_per_product_year / 52.0 * products.promo_propensity
    on_promo = np.zeros((n, days), dtype=bool)
    discount = np.zeros((n, days))
    free_from = np.zeros(n, dtype=np.int64)
    promo_rows: list[tuple[int, int, int, float]] = []
    for week in range(weeks):
        start = week * 7
        length = np.where(rng_promo.random(n) < 0.7, 7, 14)
        draw = rng_promo.random(n)
        depth = (
            np.round(rng_promo.uniform(*config.promo_discount_range, size=n) * 20) / 20
        )  # whole 5% steps
        depth = np.clip(depth, 0.05, 0.9)
        eligible = (
            (week >= free_from)
            & (start >= products.launch_day + 28)
            & (start + length <= products.stop_day)
            & (start + length <= days)
        )
        chosen = np.flatnonzero(eligible & (draw < weekly_rate))
        for p in chosen:
            end = start + int(length[p])
            on_promo[p, start:end] = True
            discount[p, start:end] = depth[p]
            free_from[p] = week + int(length[p]) // 7 + 3
            promo_rows.append((start, int(p), end - 1, float(depth[p])))

    price = np.where(on_promo, np.round(regular * (1 - discount), 2), regular)

    ended = np.zeros((n, days), dtype=bool)
    stop_edges = on_promo[:, :-1] & ~on_promo[:, 1:]
    for lag in range(1, 8):
        ended[:, lag:] |= stop_edges[:, : days - lag]
    after = ended & ~on_promo
    storable = np.array(
        [DEPARTMENTS[SUBCATEGORIES[s].department].storable for s in products.subcategory]
    )
    after &= storable[:, None]

    promo_rows.sort()
    start_epoch = days_since_epoch(config.start_date)
    count = len(promo_rows)
    starts = np.array([r[0] for r in promo_rows], dtype=np.int32) + start_epoch
    ends = np.array([r[2] for r in promo_rows], dtype=np.int32) + start_epoch
    promotions = pa.table(
        {
            "promotion_id": make_keys("PR", np.arange(1, count + 1), key_width(count, 5)),
            "product_id": products.ids.take(pa.array([r[1] for r in promo_rows], pa.int64())),
            "start_date": pa.array(starts, pa.int32()).cast(pa.date32()),
            "end_date": pa.array(ends, pa.int32()).cast(pa.date32()),
            "discount_pct": pa.array([round(r[3] * 100, 1) for r in promo_rows], pa.float64()),
        }
    )
    return PriceFrame(
        regular=regular, price=price, on_promo=on_promo, after_promo=after, promotions=promotions
    )
