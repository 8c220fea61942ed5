"""Payments, with three labelled fraud patterns injected among the genuine ones.

* **card testing**: bursts of small guest payments seconds apart from one unknown device,
  each with a different stolen card, mostly declined;
* **account takeover**: a customer's account used from a new device in another region (often
  abroad) for one to three expensive online orders within a few hours;
* **high-value spike**: a customer's card used at night for an order many times their usual
  spend.

Genuine online payments come from the customer's own devices and home-region IPs; in-store
payments carry no device or IP. Labels stay in ``truth/fraud_labels.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.synth.simulator._baskets import OrderBook, merge_lines
from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._customers import CustomerFrame
from lakeforge.synth.simulator._demand import DemandPlan
from lakeforge.synth.simulator._entities import ProductFrame, days_since_epoch
from lakeforge.synth.simulator._geography import FOREIGN_IP_FIRST_OCTETS, REGIONS
from lakeforge.synth.simulator._keys import key_width, make_keys, pick

__all__ = [
    "PATTERNS",
    "CardTests",
    "FraudPlan",
    "Instruments",
    "build_fraud",
    "build_instruments",
    "build_payments",
]

PATTERNS = ("genuine", "card_testing", "account_takeover", "high_value")
_ABROAD = len(REGIONS)  # region index used for foreign traffic
_REGION_NAMES = [r.name for r in REGIONS] + ["International"]
_HIGH_VALUE_DEPARTMENTS = (4, 5, 6)  # Electronics, Home, Toys & Garden (DEPARTMENTS order)


@dataclass
class Instruments:
    """Cards, devices and IP addresses: the customers' own plus the fraudsters'."""

    cards: pa.Array
    card_brand: list[str]
    customer_card: np.ndarray  # (customer, 2) card index, -1 for no second card
    devices: pa.Array
    customer_device: np.ndarray  # (customer, 3) device index, -1 for none
    ips: pa.Array
    ip_region: np.ndarray  # region index of each IP
    customer_ip: np.ndarray  # (customer, 2): home and mobile IP
    foreign_cards: np.ndarray  # stolen cards not held by any customer
    attacker_devices: np.ndarray
    attacker_ips: np.ndarray  # index into ips, one per region plus abroad, several each


def _luhn_cards(rng: np.random.Generator, n: int) -> tuple[pa.Array, list[str]]:
    """``n`` 16-digit card numbers with valid Luhn check digits (Visa, Mastercard, Discover)."""
    brand = rng.choice(3, size=n, p=[0.55, 0.35, 0.10])
    digits = rng.integers(0, 10, size=(n, 16))
    digits[brand == 0, 0] = 4
    digits[brand == 1, 0] = 5
    digits[brand == 1, 1] = rng.integers(1, 6, size=int((brand == 1).sum()))
    digits[brand == 2, :4] = [6, 0, 1, 1]
    payload = digits[:, :15].copy()
    doubled = payload[:, 0::2] * 2
    payload[:, 0::2] = np.where(doubled > 9, doubled - 9, doubled)
    digits[:, 15] = (10 - payload.sum(axis=1) % 10) % 10
    text = (digits.astype(np.uint8) + ord("0")).view("S16").ravel()
    names = ("visa", "mastercard", "discover")
    return pa.array(text, pa.binary(16)).cast(pa.string()), [names[b] for b in brand]


def _ip_strings(first: np.ndarray, rng: np.random.Generator) -> pa.Array:
    octets = [pa.array(first, pa.int64())] + [
        pa.array(rng.integers(lo, 255, size=len(first)), pa.int64()) for lo in (0, 0, 1)
    ]
    return pc.binary_join_element_wise(*[o.cast(pa.string()) for o in octets], ".")


def build_instruments(config: RetailConfig, customers: CustomerFrame) -> Instruments:
    """Each customer's one or two cards, one to three devices and a home and a mobile IP."""
    rng = rng_for(config.seed, Stream.PAYMENTS)
    n = customers.count
    n_foreign_cards = max(200, n // 10)
    cards, brands = _luhn_cards(rng, 2 * n + n_foreign_cards)
    customer_card = np.arange(2 * n).reshape(n, 2)
    customer_card[rng.random(n) < 0.7, 1] = -1
    n_attacker = max(50, n // 200)
    device_count = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    total_devices = 3 * n + n_attacker
    raw = rng.integers(0, 16**10, size=total_devices, dtype=np.int64)
    devices = pa.array([f"DV{x:010x}" for x in raw])
    customer_device = np.arange(3 * n).reshape(n, 3)
    customer_device[np.arange(3)[None, :] >= device_count[:, None]] = -1

    # home and mobile IPs in the customer's region, then a pool of fraudsters' IPs
    region_octets = np.array([r.ip_first_octets for r in REGIONS])  # (region, 3)
    home_first = region_octets[customers.region, rng.integers(0, 3, size=n)]
    mobile_first = region_octets[customers.region, rng.integers(0, 3, size=n)]
    per_region = 20
    attacker_region = np.repeat(np.arange(len(REGIONS) + 1), per_region)
    attacker_first = np.array(
        [
            (FOREIGN_IP_FIRST_OCTETS if r == _ABROAD else REGIONS[r].ip_first_octets)[i % 3]
            for r, i in zip(
                attacker_region, rng.integers(0, 6, size=len(attacker_region)), strict=True
            )
        ]
    )
    first = np.concatenate([home_first, mobile_first, attacker_first])
    ips = _ip_strings(first, rng)
    ip_region = np.concatenate([customers.region, customers.region, attacker_region])
    return Instruments(
        cards=cards,
        card_brand=brands,
        customer_card=customer_card,
        devices=devices,
        customer_device=customer_device,
        ips=ips,
        ip_region=ip_region,
        customer_ip=np.stack([np.arange(n), n + np.arange(n)], axis=1),
        foreign_cards=np.arange(2 * n, 2 * n + n_foreign_cards),
        attacker_devices=np.arange(3 * n, total_devices),
        attacker_ips=np.arange(2 * n, 2 * n + len(attacker_region)),
    )


@dataclass
class CardTests:
    """Card-testing attempts: guest payments with no order behind them."""

    day: np.ndarray
    second: np.ndarray
    card: np.ndarray
    device: np.ndarray
    ip: np.ndarray
    amount: np.ndarray
    approved: np.ndarray
    event: np.ndarray


@dataclass
class FraudPlan:
    """The fraudulent orders (account takeover, high value) and the card tests."""

    orders: OrderBook
    device: np.ndarray  # per fraud order: device used
    ip: np.ndarray  # per fraud order: IP used
    approved: np.ndarray
    card_tests: CardTests


def _expensive_pool(products: ProductFrame) -> np.ndarray:
    mask = np.isin(products.department, _HIGH_VALUE_DEPARTMENTS)
    if mask.sum() < 3:
        mask = np.ones(products.count, dtype=bool)
    cutoff = np.quantile(products.base_price[mask], 0.5)
    return np.flatnonzero(mask & (products.base_price >= cutoff))


def build_fraud(
    config: RetailConfig,
    products: ProductFrame,
    customers: CustomerFrame,
    plan: DemandPlan,
    genuine: OrderBook,
    instruments: Instruments,
) -> FraudPlan:
    """Plan every fraud event so fraud is about ``fraud_rate`` of all payments."""
    rng = rng_for(config.seed, Stream.FRAUD)
    days = config.days
    target = config.fraud_rate * genuine.count / max(1.0 - config.fraud_rate, 1e-9)
    on = config.fraud_rate > 0 and genuine.count > 0
    n_testing = max(round(0.45 * target / 11.5), 1) if on else 0
    n_takeover = max(round(0.35 * target / 2.0), 1) if on else 0
    n_spike = max(round(0.20 * target), 1) if on else 0
    event_base = 0

    # card testing: bursts of 5-18 attempts a few seconds apart, each with another stolen card
    burst = rng.integers(5, 19, size=n_testing)
    attempt_event = np.repeat(np.arange(n_testing), burst)
    k = len(attempt_event)
    start_day = rng.integers(0, days, size=n_testing)
    start_second = rng.integers(0, 86_400 - 3_600, size=n_testing)
    step = rng.integers(3, 40, size=k)
    first = np.cumsum(burst) - burst
    elapsed = np.cumsum(step) - np.repeat(np.cumsum(step)[first] - step[first], burst)
    customer_cards = instruments.customer_card[:, 0]
    stolen = np.where(
        rng.random(k) < 0.6,
        customer_cards[rng.integers(0, customers.count, size=k)],
        instruments.foreign_cards[rng.integers(0, len(instruments.foreign_cards), size=k)],
    )
    device = instruments.attacker_devices[
        rng.integers(0, len(instruments.attacker_devices), size=n_testing)
    ]
    ip = instruments.attacker_ips[rng.integers(0, len(instruments.attacker_ips), size=n_testing)]
    whole = rng.random(k) < 0.3
    amount = np.where(
        whole,
        rng.integers(1, 3, size=k).astype(np.float64),
        np.round(rng.uniform(0.5, 5.0, size=k), 2),
    )
    tests = CardTests(
        day=start_day[attempt_event],
        second=start_second[attempt_event] + elapsed,
        card=stolen,
        device=device[attempt_event],
        ip=ip[attempt_event],
        amount=amount,
        approved=rng.random(k) < 0.25,
        event=event_base + attempt_event,
    )
    event_base += n_testing

    pool = _expensive_pool(products)

    # account takeover: 1-3 orders within hours, new device, IP outside the home region
    anchor = rng.integers(0, max(genuine.count, 1), size=n_takeover)
    victim = genuine.customer[anchor]
    day = np.minimum(genuine.day[anchor] + rng.integers(1, 30, size=n_takeover), days - 1)
    per_event = rng.integers(1, 4, size=n_takeover)
    to_event = np.repeat(np.arange(n_takeover), per_event)
    abroad = rng.random(n_takeover) < 0.6
    # an attacker IP from abroad, or from a region other than the victim's
    ip_choice = rng.integers(0, 20, size=n_takeover)
    other_region = (
        customers.region[victim] + rng.integers(1, len(REGIONS), size=n_takeover)
    ) % len(REGIONS)
    takeover_region = np.where(abroad, _ABROAD, other_region)
    takeover_ip = instruments.attacker_ips[takeover_region * 20 + ip_choice]
    takeover_device = instruments.attacker_devices[
        rng.integers(0, len(instruments.attacker_devices), size=n_takeover)
    ]
    base_second = rng.integers(0, 86_400 - 4 * 3_600, size=n_takeover)
    m1 = len(to_event)
    takeover = _fraud_orders(
        rng,
        products,
        plan,
        pool,
        customers,
        victim[to_event],
        day[to_event],
        base_second[to_event] + rng.integers(0, 3 * 3_600, size=m1),
        2,
        event_base + to_event,
        items=(1, 4),
        quantity=(1, 3),
    )
    takeover_devices = takeover_device[to_event]
    takeover_ips = takeover_ip[to_event]
    event_base += n_takeover

    # high-value spikes: the customer's own card at night for many times their usual spend
    anchor = rng.integers(0, max(genuine.count, 1), size=n_spike)
    victim = genuine.customer[anchor]
    day = np.minimum(genuine.day[anchor] + rng.integers(0, 20, size=n_spike), days - 1)
    night = rng.integers(0, 5 * 3_600, size=n_spike)
    spike = _fraud_orders(
        rng,
        products,
        plan,
        pool,
        customers,
        victim,
        day,
        night,
        3,
        event_base + np.arange(n_spike),
        items=(2, 7),
        quantity=(2, 5),
    )
    own_device = instruments.customer_device[victim, 0]
    new_device = instruments.attacker_devices[
        rng.integers(0, len(instruments.attacker_devices), size=n_spike)
    ]
    spike_devices = np.where(rng.random(n_spike) < 0.5, own_device, new_device)
    spike_ips = instruments.customer_ip[victim, 0]

    return FraudPlan(
        orders=takeover.concat(spike),
        device=np.concatenate([takeover_devices, spike_devices]),
        ip=np.concatenate([takeover_ips, spike_ips]),
        approved=np.concatenate([rng.random(m1) < 0.85, rng.random(n_spike) < 0.9]),
        card_tests=tests,
    )


def _fraud_orders(
    rng: np.random.Generator,
    products: ProductFrame,
    plan: DemandPlan,
    pool: np.ndarray,
    customers: CustomerFrame,
    victim: np.ndarray,
    day: np.ndarray,
    second: np.ndarray,
    pattern: int,
    event: np.ndarray,
    *,
    items: tuple[int, int],
    quantity: tuple[int, int],
) -> OrderBook:
    m = len(victim)
    count = rng.integers(items[0], items[1] + 1, size=m)
    item_order = np.repeat(np.arange(m), count)
    product = pool[rng.integers(0, len(pool), size=len(item_order))]
    product = np.where(plan.ranged[product, day[item_order]], product, products.anchor[product])
    qty = rng.integers(quantity[0], quantity[1] + 1, size=len(item_order))
    item_order, product, qty = merge_lines(item_order, product, qty, products.count)
    return OrderBook(
        customer=victim,
        store=customers.home_store[victim],
        online=np.ones(m, dtype=bool),
        day=day,
        second=np.minimum(second, 86_399),
        pattern=np.full(m, pattern, dtype=np.int64),
        event=event,
        item_order=item_order,
        item_product=product,
        item_quantity=qty,
    )


def build_payments(
    config: RetailConfig,
    customers: CustomerFrame,
    book: OrderBook,
    order_ids: pa.Array,
    totals: np.ndarray,
    fraud: FraudPlan,
    fraud_index: np.ndarray,
    instruments: Instruments,
) -> tuple[pa.Table, pa.Table]:
    """One payment per order plus the card tests; returns (payments, fraud labels).

    ``fraud_index`` maps each order of ``book`` to its row in ``fraud.orders`` (-1: genuine).
    """
    rng = rng_for(config.seed, Stream.PAYMENTS, 1)
    m = book.count
    customer = book.customer
    genuine = fraud_index < 0
    second_card = instruments.customer_card[customer, 1]
    use_second = (second_card >= 0) & (rng.random(m) < 0.2)
    card = np.where(use_second, second_card, instruments.customer_card[customer, 0])
    # a high-value spike prefers the card the customer uses least
    spike = book.pattern == 3
    card = np.where(spike & (second_card >= 0), second_card, card)

    devices = instruments.customer_device[customer]
    owned = (devices >= 0).sum(axis=1)
    slot = np.minimum((rng.random(m) ** 2 * owned).astype(np.int64), owned - 1)
    device = devices[np.arange(m), slot]
    mobile = rng.random(m) < 0.3
    ip = instruments.customer_ip[customer, mobile.astype(np.int64)]
    travelling = rng.random(m) < 0.02
    travel_ip = instruments.attacker_ips[
        ((customers.region[customer] + rng.integers(1, len(REGIONS), size=m)) % len(REGIONS)) * 20
        + rng.integers(0, 20, size=m)
    ]
    ip = np.where(travelling, travel_ip, ip)
    fraud_rows = np.flatnonzero(~genuine)
    device[fraud_rows] = fraud.device[fraud_index[fraud_rows]]
    ip[fraud_rows] = fraud.ip[fraud_index[fraud_rows]]
    offline = ~book.online
    device = np.where(offline, -1, device)
    ip = np.where(offline, -1, ip)
    approved = rng.random(m) < 0.992
    approved[fraud_rows] = fraud.approved[fraud_index[fraud_rows]]
    delay = np.where(book.online, rng.integers(5, 120, size=m), rng.integers(30, 300, size=m))
    stamp = book.day * 86_400 + book.second + delay

    tests = fraud.card_tests
    k = len(tests.day)
    all_stamp = np.concatenate([stamp, tests.day * 86_400 + tests.second])
    all_order = np.concatenate([np.arange(m), np.full(k, -1)])
    all_customer = np.concatenate([customer, np.full(k, -1)])
    all_card = np.concatenate([card, tests.card])
    all_device = np.concatenate([device, tests.device])
    all_ip = np.concatenate([ip, tests.ip])
    all_amount = np.concatenate([totals, tests.amount])
    all_approved = np.concatenate([approved, tests.approved])
    all_pattern = np.concatenate([book.pattern, np.ones(k, dtype=np.int64)])
    all_event = np.concatenate([book.event, tests.event])
    all_online = np.concatenate([book.online, np.ones(k, dtype=bool)])
    tie = np.concatenate([np.arange(m), m + np.arange(k)])
    order = np.lexsort((tie, all_stamp))
    n = len(order)
    ids = make_keys("TX", np.arange(1, n + 1), key_width(n, 8))
    start = days_since_epoch(config.start_date) * 86_400
    ip_idx = all_ip[order]
    ip_region = np.where(ip_idx >= 0, instruments.ip_region[np.maximum(ip_idx, 0)], -1)
    region_names = pa.array(_REGION_NAMES)
    brands = pa.array(instruments.card_brand)
    payments = pa.table(
        {
            "payment_id": ids,
            "order_id": pick(order_ids, all_order[order]),
            "customer_id": pick(customers.ids, all_customer[order]),
            "card_number": pick(instruments.cards, all_card[order]),
            "card_brand": pick(brands, all_card[order]),
            "amount": pa.array(np.round(all_amount[order], 2), pa.float64()),
            "channel": pa.array(np.where(all_online[order], "online", "store")),
            "device_id": pick(instruments.devices, all_device[order]),
            "ip_address": pick(instruments.ips, ip_idx),
            "ip_region": pick(region_names, ip_region),
            "paid_at": pa.array((start + all_stamp[order]).astype(np.int64)).cast(
                pa.timestamp("s")
            ),
            "status": pa.array(np.where(all_approved[order], "approved", "declined")),
        }
    )
    pattern = all_pattern[order]
    labels = pa.table(
        {
            "payment_id": ids,
            "is_fraud": pa.array(pattern > 0),
            "pattern": pick(pa.array(list(PATTERNS)), pattern),
            "fraud_event": pa.array(all_event[order], pa.int64(), mask=all_event[order] < 0),
        }
    )
    return payments, labels
