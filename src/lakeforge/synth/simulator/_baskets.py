"""Customer baskets: who buys what, when, and how often, until they churn.

Each customer has hidden category preferences (a Dirichlet draw around their segment's
profile), a few favourite staples they keep rebuying, a purchase rate with fairly regular
gaps between visits (gamma renewal process: repeat-purchase cycles) and a churn date. Items
are drawn from the customer's preferences, tilted by the segment's price sensitivity; a
product's complement joins the basket often (co-purchase affinity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakeforge.synth.simulator._calendar import CalendarFrame
from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._customers import CustomerFrame
from lakeforge.synth.simulator._demand import DemandPlan
from lakeforge.synth.simulator._entities import ProductFrame, StoreFrame, days_since_epoch
from lakeforge.synth.simulator._keys import key_width, make_keys, pick
from lakeforge.synth.simulator._segments import SEGMENTS
from lakeforge.synth.simulator._taxonomy import DEPARTMENTS, SUBCATEGORIES

__all__ = [
    "COMPLEMENT_RATE",
    "CustomerBehaviour",
    "OrderBook",
    "build_behaviour",
    "build_orders",
    "group_sample",
    "merge_lines",
    "order_seconds",
    "order_tables",
    "preference_tables",
]

COMPLEMENT_RATE = 0.3  # chance a product's complement joins the basket
_FAVOURITES = 8


@dataclass
class OrderBook:
    """Orders and their items as parallel arrays (``item_order`` indexes the orders)."""

    customer: np.ndarray
    store: np.ndarray
    online: np.ndarray
    day: np.ndarray
    second: np.ndarray
    pattern: np.ndarray  # 0 genuine, 2 account takeover, 3 high-value spike
    event: np.ndarray  # fraud event number (-1: genuine)
    item_order: np.ndarray
    item_product: np.ndarray
    item_quantity: np.ndarray

    @property
    def count(self) -> int:
        """Number of orders."""
        return len(self.customer)

    def concat(self, other: OrderBook) -> OrderBook:
        """Both books in one, ``other``'s orders after this one's."""
        offset = self.count
        return OrderBook(
            customer=np.concatenate([self.customer, other.customer]),
            store=np.concatenate([self.store, other.store]),
            online=np.concatenate([self.online, other.online]),
            day=np.concatenate([self.day, other.day]),
            second=np.concatenate([self.second, other.second]),
            pattern=np.concatenate([self.pattern, other.pattern]),
            event=np.concatenate([self.event, other.event]),
            item_order=np.concatenate([self.item_order, other.item_order + offset]),
            item_product=np.concatenate([self.item_product, other.item_product]),
            item_quantity=np.concatenate([self.item_quantity, other.item_quantity]),
        )

    def in_time_order(self) -> tuple[OrderBook, np.ndarray]:
        """Orders sorted by time (then customer), items by order then product.

        Returns the sorted book and, for each of its orders, the order's index in this one.
        """
        stamp = self.day * 86_400 + self.second
        width = int(self.customer.max()) + 1 if self.count else 1
        order = np.argsort(stamp * width + self.customer, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        item_order = rank[self.item_order]
        width = int(self.item_product.max()) + 1 if len(self.item_product) else 1
        items = np.argsort(item_order * width + self.item_product, kind="stable")
        book = OrderBook(
            customer=self.customer[order],
            store=self.store[order],
            online=self.online[order],
            day=self.day[order],
            second=self.second[order],
            pattern=self.pattern[order],
            event=self.event[order],
            item_order=item_order[items],
            item_product=self.item_product[items],
            item_quantity=self.item_quantity[items],
        )
        return book, order


@dataclass
class CustomerBehaviour:
    """The hidden drivers of each customer's purchases (written to ``truth/``)."""

    rate: np.ndarray  # orders per day while active
    basket: np.ndarray  # mean items per basket
    online_share: np.ndarray
    churn_day: np.ndarray  # day index the customer leaves (``days``: still active at the end)
    preference: np.ndarray  # (customer, category) affinity, rows sum to one
    favourites: np.ndarray  # (customer, _FAVOURITES) product indices
    favourite_count: np.ndarray
    choice_cdf: np.ndarray  # (segment, product): cumulative choice weight within category
    category_products: np.ndarray  # products ordered by category (rows of choice_cdf)
    category_start: np.ndarray  # first position of each category in category_products


def group_sample(cdf_rows: np.ndarray, row: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling of one column per draw from row-wise CDFs, without a 2-D temporary.

    ``cdf_rows`` is ``(rows, k)`` with each row ending at 1; returns column indices.
    """
    k = cdf_rows.shape[1]
    flat = (cdf_rows + np.arange(cdf_rows.shape[0])[:, None]).ravel()
    position = np.searchsorted(flat, row + draws, side="right")
    column: np.ndarray = np.minimum(position - row * k, k - 1)
    return column


def _choice_weights(config: RetailConfig, products: ProductFrame) -> np.ndarray:
    """(segment, product) choice weight: popularity tilted by the segment's price sensitivity."""
    on_shelf = np.minimum(products.stop_day, config.days) - np.maximum(products.launch_day, 0)
    popularity = products.level * np.clip(on_shelf / config.days, 0.0, 1.0) + 1e-9
    relative_price = np.ones(products.count)
    for c in np.unique(products.category):
        members = products.category == c
        relative_price[members] = products.base_price[members] / np.median(
            products.base_price[members]
        )
    sensitivity = np.array([s.price_sensitivity for s in SEGMENTS])
    weights: np.ndarray = popularity[None, :] * relative_price[None, :] ** -sensitivity[:, None]
    return weights


def build_behaviour(
    config: RetailConfig,
    products: ProductFrame,
    customers: CustomerFrame,
) -> CustomerBehaviour:
    """Draw every customer's hidden preferences, rhythm and churn date."""
    rng = rng_for(config.seed, Stream.BASKETS)
    n = customers.count
    seg = customers.segment
    shares = np.array([s.share for s in SEGMENTS])
    frequency = np.array([s.frequency for s in SEGMENTS])
    frequency = frequency / (shares @ frequency)
    basket = np.array([s.basket for s in SEGMENTS])
    basket = basket / ((shares * frequency) @ basket / (shares @ frequency))
    rate = config.orders_per_customer_year / 365.25 * frequency[seg] * rng.lognormal(-0.125, 0.5, n)
    basket_mean = config.basket_mean_items * basket[seg] * rng.lognormal(-0.03, 0.25, n)
    online = np.clip(
        np.array([s.online_share for s in SEGMENTS])[seg] * rng.lognormal(0, 0.4, n), 0, 0.98
    )

    churn_hazard = config.annual_churn * np.array([s.churn for s in SEGMENTS])[seg] / 365.25
    lifetime = rng.exponential(1.0 / np.maximum(churn_hazard, 1e-9))
    active_from = np.maximum(customers.signup_day, 0)
    churn_day = np.minimum(active_from + np.ceil(lifetime).astype(np.int64), config.days)

    # category preferences: the segment's department profile, each category with its own pull
    n_cat = len(products.categories)
    cat_dept = np.zeros(n_cat, dtype=np.int64)
    cat_dept[products.category] = products.department
    dept_names = list(DEPARTMENTS)
    profile = np.array(
        [[s.departments.get(dept_names[d], 1.0) for d in cat_dept] for s in SEGMENTS]
    )
    present = np.bincount(products.category, minlength=n_cat) > 0
    profile = profile * rng.lognormal(0, 0.3, size=(1, n_cat)) * present[None, :]
    profile /= profile.sum(axis=1, keepdims=True)
    alpha = 10.0 * profile[seg] + 0.05 * present[None, :]
    preference = rng.gamma(np.maximum(alpha, 1e-3)) * present[None, :]
    preference /= preference.sum(axis=1, keepdims=True)

    weights = _choice_weights(config, products)
    category_products = np.argsort(products.category, kind="stable")
    sorted_cat = products.category[category_products]
    category_start = np.searchsorted(sorted_cat, np.arange(n_cat))
    w = weights[:, category_products]
    cum = np.zeros_like(w)
    for c in range(n_cat):
        lo = category_start[c]
        hi = category_start[c + 1] if c + 1 < n_cat else len(category_products)
        if hi > lo:
            block = np.cumsum(w[:, lo:hi], axis=1)
            cum[:, lo:hi] = block / block[:, -1:]
    behaviour = CustomerBehaviour(
        rate=rate,
        basket=basket_mean,
        online_share=online,
        churn_day=churn_day,
        preference=preference,
        favourites=np.zeros((n, _FAVOURITES), dtype=np.int64),
        favourite_count=rng.integers(3, _FAVOURITES + 1, size=n),
        choice_cdf=cum,
        category_products=category_products,
        category_start=category_start,
    )
    flat_customer = np.repeat(np.arange(n), _FAVOURITES)
    behaviour.favourites = _pick_products(behaviour, seg, flat_customer, rng).reshape(
        n, _FAVOURITES
    )
    return behaviour


def _pick_products(
    behaviour: CustomerBehaviour,
    segment: np.ndarray,
    customer: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One product per entry of ``customer``: category by preference, then product by weight."""
    cum_pref = np.cumsum(behaviour.preference, axis=1)
    cum_pref /= cum_pref[:, -1:]
    category = group_sample(cum_pref, customer, rng.random(len(customer)))
    n_segments, n_products = behaviour.choice_cdf.shape
    n_cat = cum_pref.shape[1]
    # one monotone array: each (segment, category) block's CDF lifted by its block number
    block_category = np.repeat(
        np.arange(n_cat), np.diff(np.r_[behaviour.category_start, n_products])
    )
    block = np.arange(n_segments)[:, None] * n_cat + block_category[None, :]
    flat = (behaviour.choice_cdf + block).ravel()
    seg = segment[customer]
    group = seg * n_cat + category
    position = np.searchsorted(flat, group + rng.random(len(customer)), side="right")
    position = np.minimum(position, (seg + 1) * n_products - 1) - seg * n_products
    picked: np.ndarray = behaviour.category_products[position]
    return picked


def order_seconds(rng: np.random.Generator, online: np.ndarray) -> np.ndarray:
    """Seconds after midnight: store trips peak at lunch and after work, online in the evening."""
    n = len(online)
    lunch = rng.random(n) < 0.4
    store_hour = np.where(lunch, rng.normal(12.3, 1.3, n), rng.normal(17.3, 2.0, n))
    store_hour = np.clip(store_hour, 7.0, 21.9)
    online_hour = np.where(rng.random(n) < 0.3, rng.normal(12.5, 2.5, n), rng.normal(20.5, 2.2, n))
    online_hour = np.mod(online_hour, 24.0)
    hour = np.where(online, online_hour, store_hour)
    return np.minimum((hour * 3600).astype(np.int64), 86_399)


def build_orders(
    config: RetailConfig,
    stores: StoreFrame,
    products: ProductFrame,
    customers: CustomerFrame,
    calendar: CalendarFrame,
    plan: DemandPlan,
    behaviour: CustomerBehaviour,
) -> OrderBook:
    """Genuine orders of every customer between signup and churn, with their items."""
    rng = rng_for(config.seed, Stream.BASKETS, 1)
    days = config.days
    n = customers.count
    start = np.maximum(customers.signup_day, 0).astype(np.float64)
    end = behaviour.churn_day.astype(np.float64)
    window = np.maximum(end - start, 0.0)
    rate = behaviour.rate
    shape = 2.5  # gamma gaps: more regular than Poisson visits (repeat-purchase cycles)
    capacity = np.ceil(rate * window * 1.8 + 6).astype(np.int64) * (window > 0)
    owner = np.repeat(np.arange(n), capacity)
    gaps = rng.gamma(shape, 1.0, size=len(owner)) / (shape * rate[owner])
    first = np.cumsum(capacity) - capacity
    is_first = np.zeros(len(owner), dtype=bool)
    is_first[first[capacity > 0]] = True  # (first is past the end for empty blocks)
    # existing customers are met mid-cycle; new ones buy on (or just after) signing up
    new = customers.signup_day[owner] >= 0
    gaps = np.where(
        is_first,
        np.where(new, rng.exponential(0.6, len(owner)), gaps * rng.random(len(owner))),
        gaps,
    )
    total = np.cumsum(gaps)
    has = capacity > 0
    offset = np.repeat(total[first[has]] - gaps[first[has]], capacity[has])
    when = start[owner] + (total - offset)
    keep = when < end[owner]
    customer = owner[keep]
    day = when[keep].astype(np.int64)

    online = rng.random(len(customer)) < behaviour.online_share[customer]
    # store trips cannot happen on days the stores are closed: go the next day instead
    closed = ~online & ~calendar.store_open[day]
    day = np.where(closed, day + 1, day)
    valid = day < days
    customer, day, online = customer[valid], day[valid], online[valid]
    m = len(customer)
    wander = (~online) & (rng.random(m) < 0.15)
    store = np.where(
        wander,
        rng.choice(stores.count, size=m, p=stores.scale / stores.scale.sum()),
        customers.home_store[customer],
    )
    second = order_seconds(rng, online)

    # items: favourites, preference-driven picks, then complements
    core = 1 + rng.poisson(np.maximum(behaviour.basket[customer] * 0.82 - 1.0, 0.05))
    item_order = np.repeat(np.arange(m), core)
    item_customer = customer[item_order]
    seg = customers.segment[item_customer]
    product = _pick_products(behaviour, customers.segment, item_customer, rng)
    favourite_share = np.array([s.favourite_share for s in SEGMENTS])[seg]
    use_favourite = rng.random(len(item_order)) < favourite_share
    slot = (rng.random(len(item_order)) * behaviour.favourite_count[item_customer]).astype(np.int64)
    product = np.where(use_favourite, behaviour.favourites[item_customer, slot], product)

    partner = products.partner[product]
    add = (partner >= 0) & (rng.random(len(product)) < COMPLEMENT_RATE)
    item_order = np.concatenate([item_order, item_order[add]])
    product = np.concatenate([product, partner[add]])
    item_day = day[item_order]
    # a product off the shelf that day is swapped for its subcategory's staple
    product = np.where(plan.ranged[product, item_day], product, products.anchor[product])

    price = products.base_price[product]
    quantity = 1 + rng.poisson(np.where(price < 5, 0.35, 0.08))
    item_order, product, quantity = merge_lines(item_order, product, quantity, products.count)
    none = np.full(m, -1, dtype=np.int64)
    return OrderBook(
        customer=customer,
        store=store,
        online=online,
        day=day,
        second=second,
        pattern=np.zeros(m, dtype=np.int64),
        event=none,
        item_order=item_order,
        item_product=product,
        item_quantity=quantity,
    )


def merge_lines(
    order: np.ndarray, product: np.ndarray, quantity: np.ndarray, n_products: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One line per (order, product), quantities summed."""
    key = order.astype(np.int64) * n_products + product
    unique, inverse = np.unique(key, return_inverse=True)
    summed = np.bincount(inverse, weights=quantity).astype(np.int64)
    return unique // n_products, unique % n_products, summed


def preference_tables(
    config: RetailConfig,
    products: ProductFrame,
    customers: CustomerFrame,
    behaviour: CustomerBehaviour,
) -> dict[str, pa.Table]:
    """Ground truth of customer behaviour: segments, preferences, favourites, affinities."""
    n, n_cat = behaviour.preference.shape
    churned = behaviour.churn_day < config.days
    start = days_since_epoch(config.start_date)
    segments = pa.table(
        {
            "customer_id": customers.ids,
            "segment": pa.array([SEGMENTS[s].name for s in customers.segment]),
            "orders_per_year": pa.array(np.round(behaviour.rate * 365.25, 3)),
            "basket_mean_items": pa.array(np.round(behaviour.basket, 3)),
            "online_share": pa.array(np.round(behaviour.online_share, 3)),
            "price_sensitivity": pa.array(
                [SEGMENTS[s].price_sensitivity for s in customers.segment], pa.float64()
            ),
            "churned": pa.array(churned),
            "churn_date": pa.array(
                (start + behaviour.churn_day).astype(np.int32), mask=~churned
            ).cast(pa.date32()),
        }
    )
    categories = pa.array(products.categories)
    preferences = pa.table(
        {
            "customer_id": pick(customers.ids, np.repeat(np.arange(n), n_cat)),
            "category": pick(categories, np.tile(np.arange(n_cat), n)),
            "affinity": pa.array(np.round(behaviour.preference.ravel(), 5)),
        }
    )
    rank = np.tile(np.arange(_FAVOURITES), n)
    keep = rank < np.repeat(behaviour.favourite_count, _FAVOURITES)
    favourites = pa.table(
        {
            "customer_id": pick(customers.ids, np.repeat(np.arange(n), _FAVOURITES)[keep]),
            "product_id": pick(products.ids, behaviour.favourites.ravel()[keep]),
            "rank": pa.array(rank[keep] + 1, pa.int64()),
        }
    )
    has_partner = np.flatnonzero(products.partner >= 0)
    affinities = pa.table(
        {
            "product_id": pick(products.ids, has_partner),
            "partner_product_id": pick(products.ids, products.partner[has_partner]),
            "subcategory": pa.array(
                [SUBCATEGORIES[products.subcategory[i]].name for i in has_partner]
            ),
            "co_purchase_rate": pa.array(np.full(len(has_partner), COMPLEMENT_RATE)),
        }
    )
    return {
        "segments": segments,
        "customer_preferences": preferences,
        "customer_favourites": favourites,
        "product_affinities": affinities,
    }


def order_tables(
    config: RetailConfig,
    stores: StoreFrame,
    products: ProductFrame,
    customers: CustomerFrame,
    price: np.ndarray,
    book: OrderBook,
) -> tuple[pa.Table, pa.Table, pa.Array, np.ndarray]:
    """The ``orders`` and ``order_items`` tables of a time-ordered book.

    Returns (orders, order_items, order ids, order totals).
    """
    m = book.count
    unit_price = price[book.item_product, book.day[book.item_order]]
    line_total = np.round(book.item_quantity * unit_price, 2)
    totals = np.round(np.bincount(book.item_order, weights=line_total, minlength=m), 2)
    lines = np.bincount(book.item_order, minlength=m)
    first_line = np.cumsum(lines) - lines
    line_number = np.arange(len(book.item_order)) - first_line[book.item_order] + 1
    order_ids = make_keys("O", np.arange(1, m + 1), key_width(m, 7))
    start = days_since_epoch(config.start_date) * 86_400
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": pick(customers.ids, book.customer),
            "store_id": pick(stores.ids, book.store),
            "channel": pa.array(np.where(book.online, "online", "store")),
            "ordered_at": pa.array(start + book.day * 86_400 + book.second, pa.int64()).cast(
                pa.timestamp("s")
            ),
            "item_count": pa.array(lines, pa.int64()),
            "total_amount": pa.array(totals, pa.float64()),
        }
    )
    items = pa.table(
        {
            "order_id": pick(order_ids, book.item_order),
            "line_number": pa.array(line_number, pa.int64()),
            "product_id": pick(products.ids, book.item_product),
            "quantity": pa.array(book.item_quantity, pa.int64()),
            "unit_price": pa.array(unit_price, pa.float64()),
            "line_total": pa.array(line_total, pa.float64()),
        }
    )
    return orders, items, order_ids, totals
