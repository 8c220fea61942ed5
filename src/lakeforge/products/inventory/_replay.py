"""Replay an ordering policy over known demand: fill rate, stock-out days, inventory, cost.

A daily replay per series: deliveries arrive in the morning, sales are ``min(demand, on
hand)`` (the rest is lost), and every ``review_days`` the buyer orders; the order arrives
``lead_time`` days later (drawn around its mean when a std is given, seeded). Two policies:
``order_up_to`` (top the position up to the plan's level, in case packs) and ``naive``
("order what sold last period", the baseline a plan must beat).

Example:
    >>> replay_policy(truth, plan, policy="order_up_to")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from lakeforge.errors import ContractError

__all__ = [
    "ReplayResult",
    "naive_at_inventory",
    "naive_at_total_inventory",
    "replay_policy",
    "replay_series",
    "total_average_inventory",
]

Policy = Literal["order_up_to", "naive"]


@dataclass(frozen=True)
class ReplayResult:
    """What one series' replay measured."""

    demand: float
    sales: float
    stockout_days: int
    days: int
    average_inventory: float
    cycles: int
    cycles_without_stockout: int
    cost: float

    @property
    def fill_rate(self) -> float:
        """Share of demand served from stock."""
        return self.sales / self.demand if self.demand else 1.0

    @property
    def cycle_service_level(self) -> float:
        """Share of review cycles that ended without a stock-out."""
        return self.cycles_without_stockout / self.cycles if self.cycles else 1.0


def replay_series(
    demand: npt.ArrayLike,
    *,
    policy: Policy,
    order_up_to: float | Sequence[float] = 0.0,
    on_hand: float = 0.0,
    review_days: int = 7,
    lead_time_days: float = 7.0,
    lead_time_std_days: float = 0.0,
    case_pack: int = 1,
    holding_cost: float = 1.0,
    stockout_cost: float = 10.0,
    warm_up_days: int = 0,
    last_period_sales: float | None = None,
    pipeline: Sequence[tuple[int, float]] = (),
    seed: int = 0,
) -> ReplayResult:
    """Replay one series day by day (a pure function of its inputs and ``seed``).

    Reviews happen at the start of days ``0, R, 2R, ...``: the buyer orders (whole case
    packs), the order arrives ``lead_time`` days later (drawn around its mean when a std is
    given), then the day's sales are ``min(demand, on hand)``. ``order_up_to`` is one level,
    or one per review (a plan re-sized from the forecast of each protection period).
    ``naive`` orders what sold in the previous review period (``last_period_sales`` for the
    first review, default none). Days before ``warm_up_days`` are replayed but not counted,
    so stock inherited from before the replay does not decide the score. ``pipeline`` lists
    orders already placed, as ``(arrival day, quantity)``.
    """
    if review_days < 1:
        raise ContractError(f"review_days must be at least 1, got {review_days}")
    need = np.asarray(demand, dtype=np.float64)
    levels = np.atleast_1d(np.asarray(order_up_to, dtype=np.float64))
    rng = np.random.default_rng(seed)
    arrivals = np.zeros(len(need) + int(lead_time_days + 6 * lead_time_std_days) + 2)
    stock, on_order = float(on_hand), 0.0
    for arrival, quantity in pipeline:
        if 0 <= int(arrival) < len(arrivals):
            arrivals[int(arrival)] += float(quantity)
            on_order += float(quantity)
    sold_since_review = 0.0 if last_period_sales is None else float(last_period_sales)
    stockout_days = cycles = clean_cycles = counted_days = 0
    cycle_clean, cycle_counted = True, False
    inventory_sum = sales_total = demand_total = 0.0
    review = 0
    for day, wanted in enumerate(need):
        if day % review_days == 0:
            if cycle_counted:
                cycles += 1
                clean_cycles += int(cycle_clean)
            cycle_clean, cycle_counted = True, day >= warm_up_days
            position = stock + on_order
            if policy == "order_up_to":
                target = levels[min(review, len(levels) - 1)] - position
            else:
                target = sold_since_review
            quantity = math.ceil(max(target, 0.0) / case_pack - 1e-9) * case_pack
            if quantity > 0:
                lead = lead_time_days + (
                    rng.normal(0, lead_time_std_days) if lead_time_std_days else 0
                )
                arrive = day + max(round(lead), 1)
                if arrive < len(arrivals):
                    arrivals[arrive] += quantity
                    on_order += quantity
            sold_since_review = 0.0
            review += 1
        stock += arrivals[day]
        on_order -= arrivals[day]
        sold = min(wanted, stock)
        stock -= sold
        sold_since_review += sold
        if day < warm_up_days:
            continue
        counted_days += 1
        sales_total += sold
        demand_total += wanted
        if wanted > sold:
            stockout_days += 1
            cycle_clean = False
        inventory_sum += stock
    if cycle_counted:
        cycles += 1
        clean_cycles += int(cycle_clean)
    average = inventory_sum / counted_days if counted_days else 0.0
    cost = holding_cost * inventory_sum + stockout_cost * (demand_total - sales_total)
    return ReplayResult(
        demand=demand_total,
        sales=sales_total,
        stockout_days=stockout_days,
        days=counted_days,
        average_inventory=average,
        cycles=cycles,
        cycles_without_stockout=clean_cycles,
        cost=cost,
    )


def naive_at_inventory(
    demand: npt.ArrayLike, *, average_inventory: float, **settings: Any
) -> tuple[ReplayResult, float]:
    """The naive policy given a starting stock that makes it hold ``average_inventory``.

    "Order what sold last period" keeps the inventory position where it started, so its
    starting stock decides how much it holds; comparing policies at equal average inventory
    means searching that stock (bisection; average inventory rises with it). Returns the
    replay and the starting stock found. ``settings`` go to :func:`replay_series`.
    """
    settings = {k: v for k, v in settings.items() if k not in ("policy", "on_hand")}

    def run(start: float) -> ReplayResult:
        return replay_series(demand, policy="naive", on_hand=start, **settings)

    low, high = 0.0, max(average_inventory, 1.0)
    while run(high).average_inventory < average_inventory and high < 1e9:
        high *= 2
    for _ in range(30):
        middle = (low + high) / 2
        if run(middle).average_inventory < average_inventory:
            low = middle
        else:
            high = middle
    return run(high), high


def replay_policy(
    truth: pd.DataFrame,
    plan: pd.DataFrame,
    *,
    policy: Policy,
    schedule: Mapping[str, Sequence[float]] | None = None,
    warm_up: bool = False,
    match_inventory: Mapping[str, float] | None = None,
    holding_cost: float = 1.0,
    stockout_cost: float = 10.0,
    seed: int = 0,
    id_col: str = "unique_id",
    demand_col: str = "demand",
) -> pd.DataFrame:
    """Replay every series of ``plan`` over ``truth`` (``id, ds, demand``); one row each.

    ``plan`` is :func:`plan_orders` output (``order_up_to``, ``on_hand``, ``review_days``,
    ``lead_time_days`` and optionally ``lead_time_std_days``, ``case_pack``,
    ``last_period_sales`` and ``pipeline`` (open orders as ``(arrival day, quantity)``).
    ``schedule`` gives per series an order-up-to level per review (from
    :func:`~lakeforge.products.inventory.order_up_to_schedule`) instead of one level.
    With ``warm_up``, each series' first ``lead time + 1`` days are not scored (they sell
    stock inherited from before the replay, whatever the policy). ``match_inventory``
    (naive only) gives per series the average inventory the naive buyer may hold: its
    starting stock is searched to hold exactly that (see :func:`naive_at_inventory`).
    """
    rows = []
    by_series = {str(k): g for k, g in truth.groupby(id_col, sort=False)}
    for index, item in enumerate(plan.itertuples(index=False)):
        uid = str(getattr(item, id_col))
        if uid not in by_series:
            continue
        demand = by_series[uid].sort_values(truth.columns[1])[demand_col].to_numpy()
        lead = float(item.lead_time_days)
        levels: float | Sequence[float] = float(item.order_up_to)
        if schedule is not None and uid in schedule:
            levels = schedule[uid]
        last = getattr(item, "last_period_sales", None)
        pipeline = getattr(item, "pipeline", None)
        settings: dict[str, Any] = {
            "order_up_to": levels,
            "review_days": int(item.review_days),
            "lead_time_days": lead,
            "lead_time_std_days": float(getattr(item, "lead_time_std_days", 0.0) or 0.0),
            "case_pack": int(getattr(item, "case_pack", 1) or 1),
            "holding_cost": holding_cost,
            "stockout_cost": stockout_cost,
            "warm_up_days": math.ceil(lead) + 1 if warm_up else 0,
            "last_period_sales": None if last is None or pd.isna(last) else float(last),
            "pipeline": [] if pipeline is None else [(int(d), float(q)) for d, q in pipeline],
            "seed": seed + index,
        }
        if match_inventory is not None and uid in match_inventory:
            result, _ = naive_at_inventory(
                demand, average_inventory=match_inventory[uid], **settings
            )
        else:
            result = replay_series(demand, policy=policy, on_hand=float(item.on_hand), **settings)
        rows.append(
            {
                id_col: uid,
                "policy": policy,
                "fill_rate": result.fill_rate,
                "cycle_service_level": result.cycle_service_level,
                "cycles": result.cycles,
                "cycles_without_stockout": result.cycles_without_stockout,
                "stockout_days": result.stockout_days,
                "days": result.days,
                "average_inventory": result.average_inventory,
                "demand": result.demand,
                "sales": result.sales,
                "cost": result.cost,
            }
        )
    return pd.DataFrame(rows)


def total_average_inventory(result: pd.DataFrame) -> float:
    """Mean units held per scored series-day over all series of a :func:`replay_policy` result."""
    days = float(result["days"].sum())
    if not days:
        return 0.0
    return float((result["average_inventory"] * result["days"]).sum() / days)


def naive_at_total_inventory(
    truth: pd.DataFrame,
    plan: pd.DataFrame,
    *,
    average_inventory: float,
    iterations: int = 25,
    **settings: Any,
) -> tuple[pd.DataFrame, float]:
    """The naive policy from ``plan``'s ``on_hand`` times one scale, holding ``average_inventory``.

    "Order what sold last period" keeps its inventory position near its starting stock, so
    that stock decides how much it holds. One scale for every series' starting stock is
    bisected until the naive buyer's mean inventory over all series (per scored series-day,
    :func:`total_average_inventory`) equals ``average_inventory``, e.g. the plan's: the two
    policies are then compared at equal total inventory, each free to spread it over the
    series its own way from there. Returns the naive replay (:func:`replay_policy` rows) and
    the scale; ``settings`` go to :func:`replay_policy`.
    """
    if average_inventory < 0:
        raise ContractError(f"average_inventory must be >= 0, got {average_inventory}")
    settings = {k: v for k, v in settings.items() if k not in ("policy", "match_inventory")}
    start = plan["on_hand"].astype("float64")

    def run(scale: float) -> pd.DataFrame:
        return replay_policy(truth, plan.assign(on_hand=start * scale), policy="naive", **settings)

    low, high = 0.0, 1.0
    result = run(high)
    while total_average_inventory(result) < average_inventory and high < 1e6:
        low, high = high, high * 2
        result = run(high)
    for _ in range(iterations):
        middle = (low + high) / 2
        trial = run(middle)
        if total_average_inventory(trial) < average_inventory:
            low = middle
        else:
            high, result = middle, trial
    return result, high
