"""``lakeforge inventory``: order decisions from the forecasts (a thin shell over the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from lakeforge.cli._shared import JsonOpt, WorkspaceOpt
from lakeforge.cli._shared import fail as _fail
from lakeforge.cli._shared import out as _out
from lakeforge.errors import ContractError, LakeforgeError
from lakeforge.workspace import Workspace

__all__ = ["inventory_app"]

inventory_app = typer.Typer(
    help="Turn forecasts into order decisions (safety stock, reorder point, order quantity).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@inventory_app.callback()
def _group() -> None:
    """Turn forecasts into order decisions (safety stock, reorder point, order quantity)."""


@inventory_app.command("plan")
def plan(
    service_level: Annotated[
        float, typer.Option("--service-level", help="Target cycle service level, e.g. 0.95.")
    ] = 0.95,
    review_days: Annotated[
        int, typer.Option("--review-days", help="Days between stock reviews.")
    ] = 7,
    on_hand_table: Annotated[
        str, typer.Option("--on-hand-table", help="Stock table (on_hand_close, on_order).")
    ] = "inventory",
    forecasts: Annotated[
        str, typer.Option("--forecasts", help="Gold forecast table (lakeforge forecast fit).")
    ] = "forecasts",
    products_table: Annotated[
        str, typer.Option("--products-table", help="Lead times and case packs per product.")
    ] = "products",
    stockout_cost: Annotated[
        float | None,
        typer.Option("--stockout-cost", help="Cost per unit short (with --holding-cost)."),
    ] = None,
    holding_cost: Annotated[
        float | None,
        typer.Option("--holding-cost", help="Cost per unit held: newsvendor service level."),
    ] = None,
    min_order_qty: Annotated[
        int, typer.Option("--min-order-qty", help="Smallest order, in units.")
    ] = 0,
    out_table: Annotated[
        str, typer.Option("--out-table", help="Gold table for the plan.")
    ] = "inventory_plan",
    show: Annotated[int, typer.Option("--show", help="Largest orders to print.")] = 10,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Plan an order per store x product and write the plan as a gold table with lineage.

    Each row has the safety stock, reorder point, order-up-to level, the order quantity (in
    case packs) and a one-line reason.
    """
    from lakeforge.products.inventory import InventoryPolicy, plan_from_lake

    try:
        if (stockout_cost is None) != (holding_cost is None):
            raise ContractError("give both --stockout-cost and --holding-cost, or neither")
        policy = InventoryPolicy(
            service_level=service_level,
            review_days=review_days,
            min_order_qty=min_order_qty,
            stockout_cost=stockout_cost,
            holding_cost=holding_cost,
        )
        with Workspace.open(workspace) as ws:
            decisions = plan_from_lake(
                ws,
                policy=policy,
                forecasts=forecasts,
                on_hand_table=on_hand_table,
                products_table=products_table,
                out_table=out_table,
            )
            version = ws.table(out_table).version
    except LakeforgeError as exc:
        _fail(exc, as_json)
    largest = decisions.sort_values("order_qty", ascending=False).head(show)
    summary = {
        "table": out_table,
        "version": version,
        "series": len(decisions),
        "orders": int((decisions["order_qty"] > 0).sum()),
        "units": int(decisions["order_qty"].sum()),
        "service_level": policy.target_service_level(),
        "largest": largest[["unique_id", "order_qty", "reason"]].to_dict(orient="records"),
    }
    if as_json:
        _out.print_json(json.dumps(summary, default=str))
        return
    view = RichTable(
        title=f"{summary['orders']} orders of {summary['series']} series -> gold.{out_table}",
        header_style="bold cyan",
    )
    for column in ("series", "order", "reason"):
        view.add_column(column)
    for row in largest.itertuples(index=False):
        view.add_row(str(row.unique_id), str(row.order_qty), str(row.reason))
    _out.print(view)
