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
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from lakeforge.contracts import Column, Contract, ForeignKey
from lakeforge.errors import TableNotFoundError
from lakeforge.ingest._source import RawBatch, Source
from lakeforge.synth._multitable import SynthesisError, Synthesizer, _row_index
from lakeforge.workspace import Workspace

__all__ = [
    "SAMPLE_RECORD",
    "SyntheticSource",
    "fit_workspace",
    "measure_large_child",
    "read_tables",
    "report_twin",
    "sample_into",
    "sample_to_delta",
    "split_holdout",
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


def sample_to_delta(
    syn: Synthesizer,
    folder: str | Path,
    *,
    scale: float = 1.0,
    rows: Mapping[str, int] | None = None,
    conditions: Mapping[str, Any] | Sequence[str] | None = None,
    seed: int | None = None,
    chunk_rows: int | None = None,
) -> dict[str, int]:
    """Stream a sample straight into Delta tables ``<folder>/<table>`` (no validation, no catalog).

    The fastest way out; :func:`sample_into` is the checked one. Returns rows per table.
    """
    from lakeforge.lake import DeltaStore

    written: dict[str, int] = {}
    for name, chunks in syn.iter_sample(
        scale=scale, rows=rows, conditions=conditions, seed=seed, chunk_rows=chunk_rows
    ):
        counter = [0]

        def batches(
            source: Iterator[pa.Table] = chunks, seen: list[int] = counter
        ) -> Iterator[pa.RecordBatch]:
            for chunk in source:
                seen[0] += chunk.num_rows
                yield from chunk.to_batches()

        store = DeltaStore(Path(folder) / name, name=name)
        store.write(batches(), schema=syn.output_schema(name), mode="overwrite")
        written[name] = counter[0]
    return written


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
    sink: Literal["workspace", "delta", "none"] = "workspace",
) -> dict[str, Any]:
    """Sample a child table of ``child_rows`` rows into a Delta workspace; report peak memory.

    Fits customers -> orders on a small generated pair (``parents`` customers, about four
    orders each), then samples ``child_rows`` orders (the customers scale to match) into
    ``out``: a workspace through the validated ingest (``sink="workspace"``), plain Delta
    tables (``"delta"``), or nowhere (``"none"``, the sampler alone). Run it in a fresh
    process: the peak resident set (``ru_maxrss``) covers the whole process.

    Returns:
        rows per table, fit and sample seconds, peak RSS in MB, rows/s.
    """
    import resource

    started = time.perf_counter()
    tables, contracts = _large_child_world(parents, seed)
    syn = Synthesizer(contracts, method=method, seed=seed, chunk_rows=chunk_rows).fit(tables)
    fitted = time.perf_counter()
    quarantined: dict[str, int] = {}
    wanted = {"orders": child_rows}
    if sink == "workspace":
        summary = sample_into(syn, out, rows=wanted, chunk_rows=chunk_rows)
        written = {name: info["rows_written"] for name, info in summary["tables"].items()}
        quarantined = {n: i["rows_quarantined"] for n, i in summary["tables"].items()}
    elif sink == "delta":
        written = sample_to_delta(syn, out, rows=wanted, chunk_rows=chunk_rows)
    else:
        written = {}
        for name, chunks in syn.iter_sample(rows=wanted, chunk_rows=chunk_rows):
            written[name] = sum(chunk.num_rows for chunk in chunks)
    done = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "sink": sink,
        "child_rows": written.get("orders", 0),
        "rows": written,
        "quarantined": quarantined,
        "method": syn.method_,
        "chunk_rows": chunk_rows,
        "fit_s": round(fitted - started, 2),
        "sample_s": round(done - fitted, 2),
        "rows_per_s": round(written.get("orders", 0) / max(done - fitted, 1e-9)),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def split_holdout(
    syn: Synthesizer,
    tables: Mapping[str, pa.Table],
    fraction: float,
    *,
    unit: str | None = None,
    seed: int = 0,
) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """Train and holdout tables: ``fraction`` of the ``unit`` table's rows and their children.

    The unit (default: the largest table that drives children, such as orders or users)
    is split at random; its descendants follow their driving parent, so a held-out order's
    lines and payments are held out too. Every other table stays whole in training.
    Holdout tables of fewer than 2 rows are left out.
    """
    if not 0 < fraction < 1:
        raise SynthesisError(f"holdout must be between 0 and 1, got {fraction}")
    syn._check_fitted()
    if unit is None:
        drivers = [name for name in syn.order_ if syn.plans_[name].counts]
        if not drivers:
            drivers = list(syn.order_)
        unit = max(drivers, key=lambda name: tables[name].num_rows)
    elif unit not in syn.plans_:
        raise SynthesisError(f"holdout unit: unknown table `{unit}`", table=unit)
    rng = np.random.default_rng(seed)
    train: dict[str, pa.Table] = {}
    holdout: dict[str, pa.Table] = {}
    held: dict[str, np.ndarray] = {}
    for name in syn.order_:
        table = tables[name]
        driving = syn.plans_[name].driving
        if name == unit:
            mask = rng.random(table.num_rows) < fraction
        elif driving is not None and driving.parent in held:
            index = _row_index(table, driving.columns, tables[driving.parent], driving.ref_columns)
            mask = np.where(index >= 0, held[driving.parent][np.maximum(index, 0)], False)
        else:
            train[name] = table
            continue
        held[name] = mask
        train[name] = table.filter(pa.array(~mask))
        if int(mask.sum()) >= 2:
            holdout[name] = table.filter(pa.array(mask))
    return train, holdout


def report_twin(
    syn: Synthesizer,
    real: Mapping[str, pa.Table],
    out: str | Path,
    *,
    synthetic: Mapping[str, pa.Table] | None = None,
    holdout: float = 0.0,
    target: str | None = None,
    seed: int = 0,
) -> Any:
    """Score a synthetic twin and write ``report.html`` and ``report.json`` into ``out``.

    With ``holdout`` > 0 a fresh synthesizer with the same settings is fitted on the rest of
    the rows and its sample is scored against the held-out rows too (utility and privacy
    need rows the generator never saw); otherwise ``synthetic`` is scored against ``real``.
    """
    from lakeforge.synth._evaluate import evaluate_tables

    contracts = [syn.contracts[name] for name in syn.order_]
    targets: dict[str, str] = {}
    if target is not None:
        targets = {c.table: target for c in contracts if target in c.column_names}
        if not targets:
            raise SynthesisError(f"no synthesised table has a column `{target}`", column=target)
    held_tables: dict[str, pa.Table] | None = None
    if holdout > 0:
        train, held_tables = split_holdout(syn, real, holdout, seed=seed)
        fresh = Synthesizer(
            contracts,
            method=syn.method,
            seed=syn.seed,
            epsilon=syn.epsilon,
            constraints=syn.constraints,
            driving=syn.driving,
            max_context_columns=syn.max_context_columns,
            chunk_rows=syn.chunk_rows,
            generator_params=syn.generator_params,
        ).fit(train)
        synthetic = fresh.sample(seed=seed)
        real = train
    elif synthetic is None:
        synthetic = syn.sample(seed=seed)
    report = evaluate_tables(
        real, synthetic, contracts, holdout=held_tables, targets=targets or None, seed=seed
    )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    report.to_html(folder / "report.html")
    report.to_json(folder / "report.json")
    return report
