"""REST route of the inventory product: a store's order decisions, each with its reason.

Mounted under ``/api/v1`` by adding itself to :data:`lakeforge.serve._products.PRODUCTS` on
import: ``GET /api/v1/inventory/plan?store_id=S001`` reads the gold table ``inventory_plan``
that ``lakeforge inventory plan`` wrote; without one it plans from the ``forecasts`` table
on the fly (nothing is written).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from lakeforge.errors import NotFoundError
from lakeforge.serve._auth import Caller, Permission
from lakeforge.serve._models import ErrorResponse
from lakeforge.serve._products import PRODUCTS
from lakeforge.serve.deps import WorkspaceDep, require
from lakeforge.workspace import Workspace

__all__ = ["router", "store_plan"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "a table the plan reads from cannot be queried"),
        (401, "no token, or an unknown, revoked or expired one"),
        (403, "the role may not read rows"),
        (404, "no plan or forecasts yet, or no such store in them"),
        (422, "the request does not validate"),
    )
}
router = APIRouter(prefix="/inventory", tags=["inventory"], responses=_ERRORS)
RowReader = Annotated[Caller, require(Permission.READ_ROWS)]
PLAN_TABLE = "inventory_plan"


def _has_table(ws: Workspace, name: str) -> bool:
    return ws.catalog.get_table(name) is not None


def store_plan(
    ws: Workspace, store_id: str | None = None, *, limit: int = 1000, table: str = PLAN_TABLE
) -> dict[str, Any]:
    """The order decisions of one store (or all), largest orders first, as ``{data, count}``."""
    from lakeforge.products.inventory._lake import plan_from_lake

    if _has_table(ws, table):
        plan = ws.table(table).read().to_pandas()
        source = table
    elif _has_table(ws, "forecasts"):
        plan = plan_from_lake(ws, out_table=None, store_id=store_id)
        source = "forecasts (planned on the fly)"
    else:
        raise NotFoundError(
            f"no {table} table and no forecasts to plan from; run `lakeforge forecast fit` "
            "then `lakeforge inventory plan`",
            table=table,
        )
    if store_id is not None:
        plan = plan[plan["store_id"] == store_id]
        if plan.empty:
            raise NotFoundError(f"no store {store_id!r} in {source}", table=table)
    plan = plan.sort_values(["order_qty", "unique_id"], ascending=[False, True]).head(limit)
    records = [{k: _plain(v) for k, v in row.items()} for row in plan.to_dict(orient="records")]
    return {
        "store_id": store_id,
        "source": source,
        "orders": int((plan["order_qty"] > 0).sum()),
        "data": records,
        "count": len(records),
    }


def _plain(value: Any) -> Any:
    """A JSON-safe Python value: numpy scalars unwrapped, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


@router.get("/plan", name="inventory.plan")
async def get_store_plan(
    ws: WorkspaceDep,
    caller: RowReader,
    store_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """Order decisions per product (``store_id=S001`` for one store), each with its reason."""
    return await run_in_threadpool(store_plan, ws, store_id, limit=limit)


PRODUCTS.append((router, None))
