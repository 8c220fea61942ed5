"""Order decisions straight from the lake: forecasts + latest stock + product terms -> gold plan.

Example:
    >>> plan_from_lake(ws, policy=InventoryPolicy(service_level=0.95))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pyarrow as pa

from lakeforge.products._lake import write_gold_table
from lakeforge.products.forecast._lake import SEPARATOR
from lakeforge.products.inventory._plan import InventoryPolicy, plan_orders
from lakeforge.workspace import Workspace

__all__ = ["plan_from_lake"]


def plan_from_lake(
    ws: Workspace,
    *,
    policy: InventoryPolicy | None = None,
    forecasts: str = "forecasts",
    on_hand_table: str = "inventory",
    products_table: str = "products",
    out_table: str | None = "inventory_plan",
    store_id: str | None = None,
) -> pd.DataFrame:
    """Plan orders for every ``store_id/product_id`` series in ``forecasts``.

    Stock is each pair's latest ``on_hand_close`` and ``on_order`` in ``on_hand_table``;
    lead times and case packs come from ``products_table``. The plan is written as gold
    table ``out_table`` (unless None) with lineage from all three tables, and returned.
    """
    policy = policy or InventoryPolicy()
    forecast = ws.table(forecasts).read().to_pandas()
    stock = ws.query(
        f"select store_id, product_id, on_hand_close as on_hand, on_order from ("
        f"  select *, row_number() over (partition by store_id, product_id order by date desc)"
        f"  as newest from {on_hand_table}) where newest = 1"
    ).to_pandas()
    terms = ws.table(products_table).read(
        columns=["product_id", "lead_time_mean_days", "lead_time_std_days", "case_pack"]
    )
    stock = stock.merge(terms.to_pandas(), on="product_id", how="left").rename(
        columns={"lead_time_mean_days": "lead_time_days"}
    )
    stock["unique_id"] = stock["store_id"].astype(str) + SEPARATOR + stock["product_id"]
    if store_id is not None:
        stock = stock[stock["store_id"] == store_id]
    plan = plan_orders(forecast, stock, policy=policy)
    parts = plan["unique_id"].str.split(SEPARATOR, n=1, expand=True)
    plan.insert(1, "store_id", parts[0])
    plan.insert(2, "product_id", parts[1])
    if out_table is not None and store_id is None:
        params: dict[str, Any] = dict(vars(policy))
        write_gold_table(
            ws,
            out_table,
            pa.Table.from_pandas(plan, preserve_index=False),
            sources=[forecasts, on_hand_table, products_table],
            kind="inventory_plan",
            params=params,
            description="order decisions per store and product, each with its reason",
        )
    return plan
