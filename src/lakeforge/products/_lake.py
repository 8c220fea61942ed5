"""How a data product writes its output: a gold Delta table, versioned, with lineage.

Example:
    >>> write_gold_table(ws, "forecasts", table, sources=["daily_sales"], kind="forecast")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from lakeforge.lake import DeltaStore
from lakeforge.workspace import Workspace

__all__ = ["write_gold_table"]


def write_gold_table(
    ws: Workspace,
    name: str,
    table: pa.Table,
    *,
    sources: Sequence[str],
    kind: str,
    params: dict[str, Any] | None = None,
    description: str | None = None,
) -> int:
    """Overwrite gold table ``name`` with ``table`` in one commit; returns the Delta version.

    The write is a catalog run of ``kind`` (e.g. ``forecast``); the version is recorded and
    every table in ``sources`` gets a lineage edge to ``name``.
    """
    started = time.perf_counter()
    user = _user()
    catalog = ws.catalog
    run_id = catalog.start_run(
        kind,
        table=name,
        source=",".join(f"table:{s}" for s in sources),
        mode="overwrite",
        user=user,
        params=params,
    )
    try:
        store = DeltaStore(ws.lake_dir / "gold" / name, name=name)
        version = store.write(
            table,
            schema=table.schema,
            mode="overwrite",
            metadata={"lakeforge.run_id": run_id, "lakeforge.kind": kind},
            description=description,
        )
        catalog.register_table(name, layer="gold", path=str(store.path), description=description)
        catalog.record_version(
            name,
            delta_version=version,
            run_id=run_id,
            operation="overwrite",
            source_kind=kind,
            source=",".join(f"table:{s}" for s in sources),
            source_hash=None,
            rows_read=table.num_rows,
            rows_written=table.num_rows,
            rows_quarantined=0,
            check_results=[],
            duration_s=time.perf_counter() - started,
            user=user,
            contract_version=None,
        )
        for source in sources:
            catalog.add_lineage(f"table:{source}", f"table:{name}", kind=kind, run_id=run_id)
    except Exception as exc:
        catalog.finish_run(run_id, status="failed", error=str(exc))
        raise
    catalog.finish_run(run_id, status="succeeded", stats={"rows": table.num_rows})
    return version


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
