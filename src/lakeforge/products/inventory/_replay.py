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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from lakeforge.errors import ContractError

__all__ = ["ReplayResult", "replay_policy", "replay_series"]

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
    order_up_to: float = 0.0,
    on_hand: float = 0.0,
    review_days: int = 7,
    lead_time_days: float = 7.0,
    lead_time_std_days: float = 0.0,
    case_pack: int = 1,
    holding_cost: float = 1.0,
    stockout_cost: float = 10.0,
    seed: int = 0,
) -> ReplayResult:
    """Replay one series day by day (a pure function of its inputs and ``seed``)."""
    if review_days < 1:
        raise ContractError(f"review_days must be at least 1, got {review_days}")
    need = np.asarray(demand, dtype=np.float64)
    rng = np.random.default_rng(seed)
    arrivals = np.zeros(len(need) + int(lead_time_days + 6 * lead_time_std_days) + 2)
    stock, on_order = float(on_hand), 0.0
    sold_since_review = 0.0
    stockout_days = cycles = clean_cycles = 0
    cycle_clean = True
    inventory_sum = sales_total = 0.0
    for day, wanted in enumerate(need):
        stock += arrivals[day]
        on_order -= arrivals[day]
        sold = min(wanted, stock)
        stock -= sold
        sold_since_review += sold
        sales_total += sold
        if wanted > sold:
            stockout_days += 1
            cycle_clean = False
        inventory_sum += stock
        if (day + 1) % review_days == 0:
            cycles += 1
            clean_cycles += int(cycle_clean)
            cycle_clean = True
            position = stock + on_order
            target = order_up_to - position if policy == "order_up_to" else sold_since_review
            quantity = math.ceil(max(target, 0.0) / case_pack) * case_pack
            if quantity > 0:
                lead = lead_time_days + (
                    rng.normal(0, lead_time_std_days) if lead_time_std_days else 0
                )
                arrive = day + 1 + max(round(lead), 1)
                if arrive < len(arrivals):
                    arrivals[arrive] += quantity
                    on_order += quantity
            sold_since_review = 0.0
    total = float(need.sum())
    average = inventory_sum / len(need) if len(need) else 0.0
    cost = holding_cost * inventory_sum + stockout_cost * (total - sales_total)
    return ReplayResult(
        demand=total,
        sales=sales_total,
        stockout_days=stockout_days,
        days=len(need),
        average_inventory=average,
        cycles=cycles,
        cycles_without_stockout=clean_cycles,
        cost=cost,
    )


def replay_policy(
    truth: pd.DataFrame,
    plan: pd.DataFrame,
    *,
    policy: Policy,
    holding_cost: float = 1.0,
    stockout_cost: float = 10.0,
    seed: int = 0,
    id_col: str = "unique_id",
    demand_col: str = "demand",
) -> pd.DataFrame:
    """Replay every series of ``plan`` over ``truth`` (``id, ds, demand``); one row each.

    ``plan`` is :func:`plan_orders` output (``order_up_to``, ``on_hand``, ``review_days``,
    ``lead_time_days`` and optionally ``lead_time_std_days``/``case_pack``).
    """
    rows = []
    by_series = {str(k): g for k, g in truth.groupby(id_col, sort=False)}
    for index, item in enumerate(plan.itertuples(index=False)):
        uid = str(getattr(item, id_col))
        if uid not in by_series:
            continue
        demand = by_series[uid].sort_values(truth.columns[1])[demand_col].to_numpy()
        result = replay_series(
            demand,
            policy=policy,
            order_up_to=float(item.order_up_to),
            on_hand=float(item.on_hand),
            review_days=int(item.review_days),
            lead_time_days=float(item.lead_time_days),
            lead_time_std_days=float(getattr(item, "lead_time_std_days", 0.0) or 0.0),
            case_pack=int(getattr(item, "case_pack", 1) or 1),
            holding_cost=holding_cost,
            stockout_cost=stockout_cost,
            seed=seed + index,
        )
        rows.append(
            {
                id_col: uid,
                "policy": policy,
                "fill_rate": result.fill_rate,
                "cycle_service_level": result.cycle_service_level,
                "stockout_days": result.stockout_days,
                "average_inventory": result.average_inventory,
                "cost": result.cost,
            }
        )
    return pd.DataFrame(rows)
