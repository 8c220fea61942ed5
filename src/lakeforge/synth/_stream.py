"""Synthetic twins in and out of workspaces: fit from the catalog, stream samples to Delta.

``fit_workspace`` reads tables and their contracts from a workspace's catalog;
``sample_into`` streams a fitted :class:`~lakeforge.synth._multitable.Synthesizer` into a
new workspace, table by table, chunk by chunk, through the normal validated ingest (so the
synthetic tables are checked against the same contracts, foreign keys included, and the
catalog records their versions and a ``synthetic_of`` lineage edge to the real tables).

:func:`measure_large_child` is the scale check the benchmark calls: a customers -> orders
pair with a child table of any length (ten million rows by default), sampled to Delta,
reporting the peak resident memory.

Example:
    >>> syn = fit_workspace(Workspace.open("shop"), ["customers", "orders"])  # doctest: +SKIP
    >>> sample_into(syn, "shop-synthetic", scale=2.0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lakeforge.contracts import Column, Contract, ForeignKey
from lakeforge.errors import TableNotFoundError
from lakeforge.ingest._source import RawBatch, Source
from lakeforge.synth._multitable import SynthesisError, Synthesizer
from lakeforge.workspace import Workspace

__all__ = [
    "SAMPLE_RECORD",
    "SyntheticSource",
    "fit_workspace",
    "measure_large_child",
    "read_tables",
    "sample_into",
]

#: written into a synthetic workspace: what it is a twin of, and how it was sampled
SAMPLE_RECORD = "synthetic.json"


class SyntheticSource(Source):
    """Sampled chunks of one table as an ingest source (rows numbered from 0)."""

    kind = "synthetic"
    location_kind = "row"

    def __init__(
        self, table: str, chunks: Iterator[pa.Table], *, schema: pa.Schema, origin: str
    ) -> None:
        self.table = table
        self._chunks = chunks
        self._origin = origin
        self.schema = schema
        self.rows = 0

    @property
    def uri(self) -> str:
        """``synthetic of <real workspace> :: <table>``."""
        return f"synthetic of {self._origin} :: {self.table}"

    def columns(self) -> list[str]:
        """The sampled table's columns (the real table's)."""
        return list(self.schema.names)

    def batches(self) -> Iterator[RawBatch]:
        """One batch per sampled chunk."""
        for chunk in self._chunks:
            n = chunk.num_rows
            yield RawBatch(chunk, pa.array(np.arange(self.rows, self.rows + n), pa.int64()))
            self.rows += n


def read_tables(ws: Workspace, tables: Sequence[str]) -> tuple[dict[str, pa.Table], list[Contract]]:
    """Tables and their contracts from a workspace; every unknown name reported at once."""
    problems = []
    data: dict[str, pa.Table] = {}
    contracts: list[Contract] = []
    for name in tables:
        try:
            handle = ws.table(name)
        except TableNotFoundError as exc:
            problems.append(exc.message)
            continue
        contract = handle.contract()
        if contract is None:
            problems.append(f"table `{name}` has no contract in the catalog")
            continue
        contracts.append(contract)
        data[name] = handle.read(columns=contract.column_names)
    if problems:
        raise SynthesisError("cannot read the tables to synthesise", problems=problems)
    return data, contracts


def fit_workspace(ws: Workspace, tables: Sequence[str], **params: Any) -> Synthesizer:
    """Fit a :class:`Synthesizer` on workspace tables under their catalog contracts."""
    data, contracts = read_tables(ws, tables)
    return Synthesizer(contracts, **params).fit(data)


def sample_into(
    syn: Synthesizer,
    path: str | Path,
    *,
    scale: float = 1.0,
    rows: Mapping[str, int] | None = None,
    conditions: Mapping[str, Any] | Sequence[str] | None = None,
    seed: int | None = None,
    origin: str | Path | None = None,
    chunk_rows: int | None = None,
    on_table: Any = None,
) -> dict[str, Any]:
    """Sample into the workspace at ``path`` (created if needed), tables overwritten.

    Returns a summary: per table the rows written and quarantined (0 when every synthetic
    row meets its contract), and the seconds taken.
    """
    started = time.perf_counter()
    origin_text = str(Path(origin).resolve()) if origin is not None else "a fitted synthesizer"
    target = Workspace.init(path)
    summary: dict[str, Any] = {"workspace": str(target.root), "origin": origin_text, "tables": {}}
    try:
        for name, chunks in syn.iter_sample(
            scale=scale, rows=rows, conditions=conditions, seed=seed, chunk_rows=chunk_rows
        ):
            source = SyntheticSource(
                name, chunks, schema=syn.output_schema(name), origin=origin_text
            )
            result = target.ingest(
                source,
                table=name,
                contract=syn.contracts[name],
                mode="overwrite",
                force=True,
                max_reject_rate=1.0,
            )
            target.catalog.add_lineage(
                f"workspace:{origin_text}#table:{name}",
                f"table:{name}",
                kind="synthetic_of",
                run_id=result.run_id,
            )
            summary["tables"][name] = {
                "rows_written": result.rows_written,
                "rows_quarantined": result.rows_quarantined,
                "version": result.version,
            }
            if on_table is not None:
                on_table(name, result.rows_written)
    finally:
        target.close()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary["seed"] = syn.seed if seed is None else seed
    summary["scale"] = scale
    summary["rows"] = dict(rows or {})
    (Path(path) / SAMPLE_RECORD).write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _large_child_world(parents: int, seed: int) -> tuple[dict[str, pa.Table], list[Contract]]:
    rng = np.random.default_rng(seed)
    segment = rng.choice(["retail", "business", "vip"], size=parents, p=[0.7, 0.25, 0.05])
    customers = pa.table(
        {
            "customer_id": [f"C{i:07d}" for i in range(1, parents + 1)],
            "segment": segment,
            "age": rng.integers(18, 90, size=parents),
        }
    )
    per_customer = rng.poisson(np.where(segment == "vip", 12, 4))
    owner = np.repeat(np.arange(parents), per_customer)
    n = len(owner)
    amount = np.round(rng.gamma(2.0, np.where(segment[owner] == "vip", 80, 25)), 2)
    orders = pa.table(
        {
            "order_id": [f"O{i:08d}" for i in range(1, n + 1)],
            "customer_id": customers.column("customer_id").take(pa.array(owner)),
            "channel": rng.choice(["store", "online"], size=n),
            "amount": amount + 0.01,
        }
    )
    contracts = [
        Contract(
            table="customers",
            columns=[
                Column(name="customer_id"),
                Column(name="segment"),
                Column(name="age", type="integer"),
            ],
            primary_key=["customer_id"],
        ),
        Contract(
            table="orders",
            columns=[
                Column(name="order_id"),
                Column(name="customer_id"),
                Column(name="channel"),
                Column(name="amount", type="float"),
            ],
            primary_key=["order_id"],
            foreign_keys=[
                ForeignKey(
                    columns=["customer_id"], ref_table="customers", ref_columns=["customer_id"]
                )
            ],
        ),
    ]
    return {"customers": customers, "orders": orders}, contracts


def measure_large_child(
    out: str | Path,
    *,
    child_rows: int = 10_000_000,
    parents: int = 2_000,
    method: str = "auto",
    chunk_rows: int = 250_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Sample a child table of ``child_rows`` rows into a Delta workspace; report peak memory.

    Fits customers -> orders on a small generated pair (``parents`` customers, about four
    orders each), then samples ``child_rows`` orders (the customers scale to match) into
    the workspace ``out`` through the validated ingest. Run it in a fresh process: the peak
    resident set (``ru_maxrss``) covers the whole process.

    Returns:
        rows per table, fit and sample seconds, peak RSS in MB, rows/s.
    """
    import resource

    started = time.perf_counter()
    tables, contracts = _large_child_world(parents, seed)
    syn = Synthesizer(contracts, method=method, seed=seed, chunk_rows=chunk_rows).fit(tables)
    fitted = time.perf_counter()
    summary = sample_into(syn, out, rows={"orders": child_rows}, chunk_rows=chunk_rows)
    done = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    written = {name: info["rows_written"] for name, info in summary["tables"].items()}
    return {
        "child_rows": written.get("orders", 0),
        "rows": written,
        "quarantined": {n: i["rows_quarantined"] for n, i in summary["tables"].items()},
        "method": syn.method_,
        "chunk_rows": chunk_rows,
        "fit_s": round(fitted - started, 2),
        "sample_s": round(done - fitted, 2),
        "rows_per_s": round(written.get("orders", 0) / max(done - fitted, 1e-9)),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
