"""Inventory decisions from forecast distributions: safety stock, reorder points, orders.

:func:`plan_orders` turns forecasts into one order decision per series (with its reason),
:func:`plan_from_lake` does it from the lake's tables into a gold table, and
:func:`order_up_to_schedule` re-sizes the order-up-to level for each coming review, and
:func:`replay_policy` replays a plan over known demand against the naive policy.
"""

from lakeforge.products.inventory._lake import plan_from_lake
from lakeforge.products.inventory._plan import (
    InventoryPolicy,
    order_up_to_schedule,
    plan_orders,
    protection_demand,
)
from lakeforge.products.inventory._replay import (
    ReplayResult,
    naive_at_inventory,
    naive_at_total_inventory,
    replay_policy,
    replay_series,
    total_average_inventory,
)

__all__ = [
    "InventoryPolicy",
    "ReplayResult",
    "naive_at_inventory",
    "naive_at_total_inventory",
    "order_up_to_schedule",
    "plan_from_lake",
    "plan_orders",
    "protection_demand",
    "replay_policy",
    "replay_series",
    "total_average_inventory",
]
