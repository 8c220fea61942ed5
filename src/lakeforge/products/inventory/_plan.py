"""Order decisions from forecast distributions: safety stock, reorder point, order-up-to level.

A periodic-review order-up-to policy per series: every ``review_days`` the buyer tops the
inventory position (on hand + on order) up to ``S = mean demand over lead time + review`` plus
``safety stock = z * sigma``. The daily sigma comes from the forecast's widest interval (read
as a normal band); lead-time variability adds ``(mean daily demand * lead-time std)^2`` to the
variance. The service level is a target, or the newsvendor critical ratio
``stockout_cost / (stockout_cost + holding_cost)`` when costs are given. Orders round up to
whole case packs and at least the minimum order quantity.

Example:
    >>> plan = plan_orders(forecaster.predict(), stock, service_level=0.95)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from lakeforge.errors import ContractError

__all__ = ["InventoryPolicy", "order_up_to_schedule", "plan_orders", "protection_demand"]

STOCK_COLUMNS = ("unique_id", "on_hand")
"""Columns the stock frame must have; the others default (see :class:`InventoryPolicy`)."""


@dataclass(frozen=True)
class InventoryPolicy:
    """How decisions are made, for every series without its own value in the stock frame."""

    service_level: float = 0.95
    review_days: int = 7
    lead_time_days: float = 7.0
    lead_time_std_days: float = 0.0
    case_pack: int = 1
    min_order_qty: int = 0
    stockout_cost: float | None = None
    holding_cost: float | None = None

    def target_service_level(self) -> float:
        """The cycle service level aimed at: the newsvendor ratio when costs are given."""
        if self.stockout_cost is not None and self.holding_cost is not None:
            total = self.stockout_cost + self.holding_cost
            if total <= 0:
                raise ContractError("stockout_cost + holding_cost must be positive")
            return self.stockout_cost / total
        return self.service_level


def _daily_sigma(forecast: pd.DataFrame) -> pd.Series:
    """Daily demand spread read from the widest interval's upper half as a normal band.

    The upper half, because count demand is skewed and its lower bound is often cut at
    zero; the upper tail is what safety stock protects against.
    """
    levels = sorted(
        int(c.split("_")[1]) for c in forecast.columns if c.startswith("hi_") and c[3:].isdigit()
    )
    if not levels:
        raise ContractError(
            "the forecast has no intervals (hi_<level>/lo_<level>); predict with levels=[95]"
        )
    level = levels[-1]
    z = NormalDist().inv_cdf(0.5 + level / 200)
    return (forecast[f"hi_{level}"] - forecast["forecast"]) / z


def _expected(forecast: pd.DataFrame) -> str:
    """The column of expected demand: ``mean`` if the forecast has one, else ``forecast``.

    A median point forecast understates the demand to stock for.
    """
    return "mean" if "mean" in forecast.columns else "forecast"


def protection_demand(
    mean: npt.NDArray[np.float64],
    var: npt.NDArray[np.float64],
    *,
    start: int,
    lead: float,
    lead_std: float,
    review_days: int,
) -> tuple[float, float, int]:
    """Mean and spread of demand over the protection period ``lead + review`` from ``start``.

    Daily errors add as independent variances; lead-time variability adds
    ``(mean daily demand * lead std)^2``. Returns (mean, sigma, days covered).
    """
    days = max(math.ceil(lead + review_days), 1)
    stop = min(start + days, len(mean))
    window_mean, window_var = mean[start:stop], var[start:stop]
    daily = float(window_mean.mean()) if len(window_mean) else 0.0
    total = float(window_mean.sum())
    sigma = math.sqrt(float(window_var.sum()) + (daily * lead_std) ** 2)
    return total, sigma, stop - start


def order_up_to_schedule(
    forecast: pd.DataFrame,
    stock: pd.DataFrame,
    *,
    reviews: int,
    policy: InventoryPolicy | None = None,
    id_col: str = "unique_id",
) -> dict[str, list[float]]:
    """Order-up-to levels for the next ``reviews`` reviews of every series (a rolling plan).

    Review ``k`` happens at forecast step ``k * review_days`` and protects the
    ``lead + review`` days after it; the forecast must reach that far.
    """
    policy = policy or InventoryPolicy()
    z = NormalDist().inv_cdf(policy.target_service_level())
    fc = forecast.rename(columns={id_col: "unique_id"}).copy()
    fc["sigma"] = _daily_sigma(fc).clip(lower=0)
    stock = stock.rename(columns={id_col: "unique_id"}).set_index("unique_id")
    out: dict[str, list[float]] = {}
    for uid, part in fc.groupby("unique_id", sort=False):
        if uid not in stock.index:
            continue
        item = stock.loc[uid]
        lead = _value(item, "lead_time_days", policy.lead_time_days)
        lead_std = _value(item, "lead_time_std_days", policy.lead_time_std_days)
        mean = part[_expected(part)].to_numpy(dtype=np.float64)
        var = part["sigma"].to_numpy(dtype=np.float64) ** 2
        levels = []
        for review in range(reviews):
            total, sigma, _ = protection_demand(
                mean,
                var,
                start=review * policy.review_days,
                lead=lead,
                lead_std=lead_std,
                review_days=policy.review_days,
            )
            levels.append(total + z * sigma)
        out[str(uid)] = levels
    return out


def plan_orders(
    forecast: pd.DataFrame,
    stock: pd.DataFrame,
    *,
    policy: InventoryPolicy | None = None,
    id_col: str = "unique_id",
) -> pd.DataFrame:
    """One order decision per series, each with a one-line reason.

    Args:
        forecast: ``Forecaster.predict()`` output (daily steps, with ``lo_/hi_`` intervals).
        stock: One row per series: ``unique_id, on_hand`` and optionally ``on_order``,
            ``lead_time_days``, ``lead_time_std_days``, ``case_pack``, ``min_order_qty``.
        policy: Defaults for what ``stock`` leaves out, and the service level or costs.
        id_col: The series id column of both frames.
    """
    policy = policy or InventoryPolicy()
    missing = [c for c in STOCK_COLUMNS if c.replace("unique_id", id_col) not in stock.columns]
    if missing:
        raise ContractError(f"the stock frame lacks columns {missing}")
    service = policy.target_service_level()
    if not 0 < service < 1:
        raise ContractError(f"service level must be between 0 and 1, got {service}")
    z = NormalDist().inv_cdf(service)
    fc = forecast.rename(columns={id_col: "unique_id"}).copy()
    fc["sigma"] = _daily_sigma(fc).clip(lower=0)
    fc["step"] = fc.groupby("unique_id", sort=False).cumcount() + 1
    stock = stock.rename(columns={id_col: "unique_id"}).set_index("unique_id")
    rows: list[dict[str, Any]] = []
    for uid, part in fc.groupby("unique_id", sort=False):
        if uid not in stock.index:
            continue
        item = stock.loc[uid]
        rows.append(_decide(str(uid), part, item, policy, z, service))
    return pd.DataFrame(rows).rename(columns={"unique_id": id_col})


def _value(item: pd.Series, name: str, default: float) -> float:
    value = item.get(name, default)
    return default if value is None or pd.isna(value) else float(value)


def _decide(
    uid: str,
    part: pd.DataFrame,
    item: pd.Series,
    policy: InventoryPolicy,
    z: float,
    service: float,
) -> dict[str, Any]:
    lead = _value(item, "lead_time_days", policy.lead_time_days)
    lead_std = _value(item, "lead_time_std_days", policy.lead_time_std_days)
    case = max(int(_value(item, "case_pack", policy.case_pack)), 1)
    moq = int(_value(item, "min_order_qty", policy.min_order_qty))
    on_hand = _value(item, "on_hand", 0.0)
    on_order = _value(item, "on_order", 0.0)
    mean = part[_expected(part)].to_numpy(dtype=np.float64)
    var = part["sigma"].to_numpy(dtype=np.float64) ** 2
    demand_protection, sigma_protection, protection = protection_demand(
        mean, var, start=0, lead=lead, lead_std=lead_std, review_days=policy.review_days
    )
    demand_lead, sigma_lead, _ = protection_demand(
        mean, var, start=0, lead=lead, lead_std=lead_std, review_days=0
    )
    safety = z * sigma_protection
    order_up_to = demand_protection + safety
    reorder_point = demand_lead + z * sigma_lead
    position = on_hand + on_order
    need = max(order_up_to - position, 0.0)
    order = 0
    if need > 0:
        order = max(math.ceil(need / case) * case, math.ceil(moq / case) * case if moq else 0)
    window = f"the {protection}-day lead time + review"
    if order:
        reason = (
            f"reorder {order} units ({order // case} x {case}): forecast "
            f"{demand_protection:.0f} +- {sigma_protection:.0f} over {window}, "
            f"{service:.0%} service level; position {position:g} is below order-up-to "
            f"{order_up_to:.0f}"
        )
    else:
        reason = (
            f"no order: position {position:g} covers order-up-to {order_up_to:.0f} (forecast "
            f"{demand_protection:.0f} +- {sigma_protection:.0f} over {window}, "
            f"{service:.0%} service level)"
        )
    return {
        "unique_id": uid,
        "service_level": service,
        "lead_time_days": lead,
        "lead_time_std_days": lead_std,
        "case_pack": case,
        "review_days": policy.review_days,
        "demand_over_protection": demand_protection,
        "sigma_over_protection": sigma_protection,
        "safety_stock": safety,
        "reorder_point": reorder_point,
        "order_up_to": order_up_to,
        "on_hand": on_hand,
        "on_order": on_order,
        "inventory_position": position,
        "order_qty": order,
        "reason": reason,
    }
