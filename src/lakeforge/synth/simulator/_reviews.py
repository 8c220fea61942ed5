"""Product reviews: a star rating and a short English text that mostly agrees with it.

Ratings follow the product's hidden quality plus the reviewer's own leniency. The text is
assembled from phrase banks at a sentiment level equal to the rating most of the time and one
level off otherwise (realistic noise); the level used is kept in ``truth/``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lakeforge.synth.simulator._baskets import OrderBook
from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._customers import CustomerFrame
from lakeforge.synth.simulator._entities import ProductFrame, days_since_epoch
from lakeforge.synth.simulator._keys import key_width, make_keys, pick
from lakeforge.synth.simulator._phrases import ASPECTS, CLOSINGS, OPENINGS, TITLES
from lakeforge.synth.simulator._segments import SEGMENTS
from lakeforge.synth.simulator._taxonomy import DEPARTMENTS, SUBCATEGORIES

__all__ = ["TEXT_NOISE", "build_reviews"]

TEXT_NOISE = 0.15  # share of texts written one sentiment level away from their rating


def build_reviews(
    config: RetailConfig,
    products: ProductFrame,
    customers: CustomerFrame,
    book: OrderBook,
    order_ids: pa.Array,
) -> tuple[pa.Table, pa.Table]:
    """Reviews of genuinely bought products; returns (reviews, truth of text sentiment)."""
    rng = rng_for(config.seed, Stream.REVIEWS)
    propensity = np.array([s.review_propensity for s in SEGMENTS])[customers.segment]
    propensity = propensity * rng.lognormal(-0.3, 0.8, size=customers.count)
    leniency = rng.normal(0.0, 0.5, size=customers.count)

    item_customer = book.customer[book.item_order]
    genuine = book.pattern[book.item_order] == 0
    chance = np.clip(config.review_rate * propensity[item_customer], 0.0, 0.9)
    chosen = np.flatnonzero(genuine & (rng.random(len(item_customer)) < chance))
    # one review per customer and product: the first purchase's
    key = item_customer[chosen] * products.count + book.item_product[chosen]
    _, first = np.unique(key, return_index=True)
    chosen = np.sort(chosen[first])
    order = book.item_order[chosen]
    customer = item_customer[chosen]
    product = book.item_product[chosen]
    day = book.day[order] + 2 + rng.geometric(0.2, size=len(chosen)) - 1
    kept = day < config.days
    chosen, order, customer, product, day = (
        chosen[kept],
        order[kept],
        customer[kept],
        product[kept],
        day[kept],
    )
    n = len(chosen)

    latent = 3.7 + 1.1 * products.quality[product] + leniency[customer] + rng.normal(0, 0.85, n)
    rating = np.clip(np.rint(latent), 1, 5).astype(np.int64)
    shift = np.where(rng.random(n) < TEXT_NOISE, rng.choice([-1, 1], size=n), 0)
    level = np.clip(rating + shift, 1, 5)

    opening_pick = rng.integers(0, 1_000, size=n)
    aspect_pick = rng.integers(0, 1_000, size=n)
    closing_pick = rng.integers(0, 1_000, size=n)
    has_closing = rng.random(n) < 0.6
    title_pick = rng.integers(0, 1_000, size=n)
    dept_names = list(DEPARTMENTS)
    texts: list[str] = []
    titles: list[str] = []
    for i in range(n):
        lv = int(level[i])
        sub = SUBCATEGORIES[products.subcategory[product[i]]]
        aspect_bank = ASPECTS[DEPARTMENTS[dept_names[products.department[product[i]]]].aspect]
        polarity = 0 if lv <= 2 else (1 if lv == 3 else 2)
        openings, aspects = OPENINGS[lv], aspect_bank[polarity]
        parts = [
            openings[opening_pick[i] % len(openings)].format(noun=sub.noun),
            aspects[aspect_pick[i] % len(aspects)],
        ]
        if has_closing[i]:
            parts.append(CLOSINGS[lv][closing_pick[i] % len(CLOSINGS[lv])])
        texts.append(" ".join(parts))
        titles.append(TITLES[lv][title_pick[i] % len(TITLES[lv])])

    ordering = np.lexsort((chosen, day))
    ids = make_keys("RV", np.arange(1, n + 1), key_width(n, 7))
    start = days_since_epoch(config.start_date)
    reviews = pa.table(
        {
            "review_id": ids,
            "order_id": pick(order_ids, order[ordering]),
            "customer_id": pick(customers.ids, customer[ordering]),
            "product_id": pick(products.ids, product[ordering]),
            "review_date": pa.array((start + day[ordering]).astype(np.int32)).cast(pa.date32()),
            "rating": pa.array(rating[ordering], pa.int64()),
            "title": pa.array(titles, pa.string()).take(pa.array(ordering)),
            "text": pa.array(texts, pa.string()).take(pa.array(ordering)),
        }
    )
    truth = pa.table(
        {
            "review_id": ids,
            "text_sentiment": pa.array(level[ordering], pa.int64()),
            "product_quality": pa.array(np.round(products.quality[product[ordering]], 4)),
        }
    )
    return reviews, truth
