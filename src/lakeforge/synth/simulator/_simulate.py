"""Run the whole simulation: entities, daily sales in store chunks, baskets, payments, reviews.

Output layout under ``out/`` (one file per table, written in chunks)::

    stores.parquet  products.parquet  customers.parquet  calendar.parquet  promotions.parquet
    daily_sales.parquet  inventory.parquet  replenishment_orders.parquet
    orders.parquet  order_items.parquet  payments.parquet  reviews.parquet
    contracts/<table>.yaml            the contract of every table
    truth/                            what the data products should find (never ingested)
        demand.parquet  product_parameters.parquet  segments.parquet
        customer_preferences.parquet  customer_favourites.parquet  product_affinities.parquet
        fraud_labels.parquet  review_sentiment.parquet  config.json  [faults.parquet]

With ``dirty > 0`` the fact tables (daily_sales, orders, order_items, payments) are CSV.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from lakeforge._version import __version__
from lakeforge.errors import ConfigError
from lakeforge.synth.simulator._baskets import (
    COMPLEMENT_RATE,
    build_behaviour,
    build_orders,
    order_tables,
    preference_tables,
)
from lakeforge.synth.simulator._calendar import (
    EVENTS,
    CalendarFrame,
    PriceFrame,
    build_calendar,
    build_prices,
)
from lakeforge.synth.simulator._config import RetailConfig, Stream, rng_for
from lakeforge.synth.simulator._contracts import FACT_TABLES, TABLE_ORDER, build_contracts
from lakeforge.synth.simulator._customers import CustomerFrame, build_customers
from lakeforge.synth.simulator._demand import DemandPlan, build_demand_plan, simulate_store_chunk
from lakeforge.synth.simulator._dirt import FaultInjector, fault_specs
from lakeforge.synth.simulator._entities import (
    ProductFrame,
    StoreFrame,
    build_products,
    build_stores,
)
from lakeforge.synth.simulator._keys import key_width, make_keys, pick
from lakeforge.synth.simulator._payments import build_fraud, build_instruments, build_payments
from lakeforge.synth.simulator._reviews import TEXT_NOISE, build_reviews
from lakeforge.synth.simulator._segments import SEGMENTS
from lakeforge.synth.simulator._taxonomy import DEPARTMENTS, SUBCATEGORIES
from lakeforge.synth.simulator._writer import BackgroundWriter, FileFormat, TableSink

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["SimulationResult", "simulate_retail", "simulate_retail_into"]


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation wrote: files, row counts and how long it took."""

    out: Path
    config: RetailConfig
    tables: dict[str, Path]
    row_counts: dict[str, int]
    truth: dict[str, Path]
    contracts: dict[str, Path]
    seconds: float
    dirty: float = 0.0
    faults: int = 0
    ingested: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def daily_sales_rows_per_second(self) -> float:
        """daily_sales rows generated and written per second, end to end."""
        return self.row_counts.get("daily_sales", 0) / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json``)."""
        return {
            "out": str(self.out),
            "config": self.config.model_dump(mode="json"),
            "tables": {k: str(v) for k, v in self.tables.items()},
            "row_counts": self.row_counts,
            "truth": {k: str(v) for k, v in self.truth.items()},
            "contracts": {k: str(v) for k, v in self.contracts.items()},
            "seconds": round(self.seconds, 3),
            "daily_sales_rows_per_second": round(self.daily_sales_rows_per_second),
            "dirty": self.dirty,
            "faults": self.faults,
            "ingested": self.ingested,
        }


class _Stages:
    """Rich progress bars, or nothing when progress is off."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def start(self, description: str, total: int) -> TaskID | None:
        if self.progress is None:
            return None
        return self.progress.add_task(description, total=total)

    def advance(self, task: TaskID | None, steps: int = 1) -> None:
        if self.progress is not None and task is not None:
            self.progress.advance(task, steps)


@contextmanager
def _stages(enabled: bool) -> Iterator[_Stages]:
    if not enabled:
        yield _Stages(None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as progress:
        yield _Stages(progress)


def _check_arguments(dirty: float, file_format: str) -> None:
    if not 0.0 <= dirty <= 0.5:
        raise ConfigError(f"dirty must be between 0 and 0.5 (a share of rows), got {dirty}")
    if file_format not in ("parquet", "csv"):
        raise ConfigError(f"file format must be 'parquet' or 'csv', got {file_format!r}")


def simulate_retail(
    out: Path,
    config: RetailConfig,
    *,
    dirty: float = 0.0,
    file_format: Literal["parquet", "csv"] = "parquet",
    progress: bool = True,
) -> SimulationResult:
    """Simulate a retail business and write its tables, contracts and ground truth to ``out``.

    Args:
        out: the output folder (created; existing simulator files are replaced).
        config: the world's size and parameters; the same config gives byte-identical files.
        dirty: share of fact-table rows given a fault (duplicates, missing keys, bad types,
            out-of-range values, orphan foreign keys); those tables are then written as CSV
            and every fault is listed in ``truth/faults.parquet``.
        file_format: ``parquet`` (default) or ``csv`` for the tables.
        progress: show Rich progress bars.

    Returns:
        The paths written, row counts per table and the seconds it took.

    Example:
        >>> from lakeforge.synth.simulator import RetailConfig, simulate_retail
        >>> result = simulate_retail(Path("world"), RetailConfig.preset("small"))  # doctest: +SKIP
        >>> result.row_counts["daily_sales"]  # doctest: +SKIP
        354080
    """
    _check_arguments(dirty, file_format)
    began = time.perf_counter()
    out = Path(out)
    truth_dir = out / "truth"
    contract_dir = out / "contracts"
    for folder in (out, truth_dir, contract_dir):
        folder.mkdir(parents=True, exist_ok=True)
    formats: dict[str, FileFormat] = {
        t: ("csv" if dirty > 0 and t in FACT_TABLES else file_format) for t in TABLE_ORDER
    }
    contracts = build_contracts(formats)
    contract_paths: dict[str, Path] = {}
    for name, contract in contracts.items():
        contract_paths[name] = contract_dir / f"{name}.yaml"
        contract_paths[name].write_text(contract.to_yaml())

    _remove_stale_files(out, formats, dirty)
    sinks = {t: TableSink(out / f"{t}.{formats[t]}", formats[t]) for t in TABLE_ORDER}
    truth_sinks = {"demand": TableSink(truth_dir / "demand.parquet", "parquet")}
    injector = (
        FaultInjector(
            dirty,
            fault_specs(
                {
                    "S": key_width(config.stores, 3),
                    "P": key_width(config.products, 4),
                    "C": key_width(config.customers, 5),
                    "O": 7,
                }
            ),
            rng_for(config.seed, Stream.DIRT),
        )
        if dirty > 0
        else None
    )

    with ExitStack() as cleanup:
        # files are closed whatever happens, so a failed run leaves no open handles
        cleanup.callback(_close_all, sinks, truth_sinks)
        stages = cleanup.enter_context(_stages(progress))
        writer = cleanup.enter_context(BackgroundWriter())

        def emit(table_name: str, table: pa.Table) -> None:
            if injector is not None and table_name in FACT_TABLES:
                table = injector.inject(table_name, table)
            writer.submit(sinks[table_name], table)

        task = stages.start("World: stores, products", 5)
        stores = build_stores(config)
        products = build_products(config)
        stages.advance(task)
        calendar = build_calendar(config)
        prices = build_prices(config, products)
        stages.advance(task)
        customers = build_customers(config, stores)
        stages.advance(task)
        plan = build_demand_plan(config, stores, products, calendar, prices)
        stages.advance(task)
        calendar_table = calendar.table.append_column(
            "promotions_active", pa.array(prices.on_promo.sum(axis=0), pa.int64())
        )
        emit("stores", stores.table)
        emit("products", products.table)
        emit("customers", customers.table)
        emit("calendar", calendar_table)
        emit("promotions", prices.promotions)
        stages.advance(task)

        # customers' orders do not depend on the stores' stock: their steps run between
        # store chunks, while the writer thread encodes the chunk just simulated
        commerce_task = stages.start("Customers, baskets, fraud", _COMMERCE_STEPS)
        commerce = _Interleaved(
            _commerce(config, stores, products, customers, calendar, plan, prices),
            lambda: stages.advance(commerce_task),
        )
        per_chunk = max(1, config.chunk_cells // (config.products * config.days))
        chunks = [
            list(range(i, min(i + per_chunk, config.stores)))
            for i in range(0, config.stores, per_chunk)
        ]
        task = stages.start("Daily sales and stock (stores)", config.stores)
        replenished = 0
        for number, chunk in enumerate(chunks):
            result = simulate_store_chunk(config, plan, stores, products, calendar, prices, chunk)
            emit("daily_sales", result.daily_sales)
            emit("inventory", result.inventory)
            writer.submit(truth_sinks["demand"], result.demand)
            count = result.replenishment.num_rows
            ids = make_keys("RO", np.arange(replenished + 1, replenished + count + 1), 9)
            emit(
                "replenishment_orders", result.replenishment.add_column(0, "replenishment_id", ids)
            )
            replenished += count
            stages.advance(task, len(chunk))
            del result
            # spread the commerce steps evenly over the chunks (never the first: it has
            # nothing to overlap with yet)
            while (
                number
                and commerce.result is None
                and (commerce.steps_done < _COMMERCE_STEPS * number // max(len(chunks) - 1, 1))
            ):
                commerce.step()
        tables, truth_tables = commerce.finish()
        for name in ("orders", "order_items", "payments", "reviews"):
            emit(name, tables[name])

        task = stages.start("Ground truth", 1)
        truth_tables["product_parameters"] = _product_parameters(products, plan.review_period)
        if injector is not None:
            truth_tables["faults"] = injector.faults()
        for name, table in truth_tables.items():
            truth_sinks[name] = TableSink(truth_dir / f"{name}.parquet", "parquet")
            writer.submit(truth_sinks[name], table)
        stages.advance(task)

        task = stages.start("Writing files", 1)
        writer.flush()
        _close_all(sinks, truth_sinks)
        stages.advance(task)

    config_path = truth_dir / "config.json"
    config_path.write_text(
        json.dumps(_truth_config(config, products, dirty), indent=2, sort_keys=True) + "\n"
    )
    truth_paths = {name: sink.path for name, sink in truth_sinks.items()}
    truth_paths["config"] = config_path
    return SimulationResult(
        out=out,
        config=config,
        tables={t: sinks[t].path for t in TABLE_ORDER},
        row_counts={t: sinks[t].rows for t in TABLE_ORDER},
        truth=truth_paths,
        contracts=contract_paths,
        seconds=time.perf_counter() - began,
        dirty=dirty,
        faults=truth_tables["faults"].num_rows if "faults" in truth_tables else 0,
    )


_CommerceTables = tuple[dict[str, pa.Table], dict[str, pa.Table]]


def _commerce(
    config: RetailConfig,
    stores: StoreFrame,
    products: ProductFrame,
    customers: CustomerFrame,
    calendar: CalendarFrame,
    plan: DemandPlan,
    prices: PriceFrame,
) -> Generator[None, None, _CommerceTables]:
    """Orders, their lines, payments (with fraud) and reviews, in steps.

    Yields between steps so the caller can interleave them with the store chunks (the
    writer encodes a chunk while a step runs); returns (tables, truth).
    """
    behaviour = build_behaviour(config, products, customers)
    yield
    genuine = build_orders(config, stores, products, customers, calendar, plan, behaviour)
    yield
    instruments = build_instruments(config, customers)
    fraud = build_fraud(config, products, customers, plan, genuine, instruments)
    yield
    book, origin = genuine.concat(fraud.orders).in_time_order()
    fraud_index = np.where(origin >= genuine.count, origin - genuine.count, -1)
    del genuine
    yield
    orders, items, order_ids, totals = order_tables(
        config, stores, products, customers, prices.price, book
    )
    yield
    payments, fraud_labels = build_payments(
        config, customers, book, order_ids, totals, fraud, fraud_index, instruments
    )
    yield
    reviews, review_truth = build_reviews(config, products, customers, book, order_ids)
    yield
    truth = preference_tables(config, products, customers, behaviour)
    truth["fraud_labels"] = fraud_labels
    truth["review_sentiment"] = review_truth
    tables = {"orders": orders, "order_items": items, "payments": payments, "reviews": reviews}
    return tables, truth


_COMMERCE_STEPS = 8


class _Interleaved:
    """Runs a generator's steps on demand and keeps its return value."""

    def __init__(self, steps: Generator[None, None, _CommerceTables], on_step: Callable[[], None]):
        self._steps = steps
        self._on_step = on_step
        self.result: _CommerceTables | None = None
        self.steps_done = 0

    def step(self) -> None:
        if self.result is not None:
            return
        try:
            next(self._steps)
        except StopIteration as stop:
            self.result = stop.value
        self.steps_done += 1
        self._on_step()

    def finish(self) -> _CommerceTables:
        while self.result is None:
            self.step()
        return self.result


def _close_all(*groups: dict[str, TableSink]) -> None:
    for group in groups:
        for sink in group.values():
            sink.close()


def _remove_stale_files(out: Path, formats: dict[str, FileFormat], dirty: float) -> None:
    """Drop a previous run's files that this run will not overwrite (other format, faults)."""
    for table, file_format in formats.items():
        for suffix in ("parquet", "csv"):
            if suffix != file_format:
                (out / f"{table}.{suffix}").unlink(missing_ok=True)
    if dirty == 0:
        (out / "truth" / "faults.parquet").unlink(missing_ok=True)


def _product_parameters(products: ProductFrame, review_period: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "product_id": products.ids,
            "category": pa.array([products.categories[c] for c in products.category]),
            "base_level": pa.array(np.round(products.level, 5)),
            "slow_mover": pa.array(products.slow_mover),
            "dispersion": pa.array(np.round(products.dispersion, 4)),
            "yearly_trend": pa.array(np.round(products.trend, 5)),
            "promo_uplift": pa.array(np.round(products.promo_uplift, 5)),
            "price_elasticity": pa.array(np.round(products.elasticity[products.category], 5)),
            "quality": pa.array(np.round(products.quality, 5)),
            "review_period_days": pa.array(review_period, pa.int64()),
            "co_purchase_partner_id": pick(products.ids, products.partner),
        }
    )


def _truth_config(config: RetailConfig, products: ProductFrame, dirty: float) -> dict[str, Any]:
    """The generating parameters, for scoring products against the truth."""
    return {
        "generator": "lakeforge.synth.simulator",
        "lakeforge_version": __version__,
        "config": config.model_dump(mode="json"),
        "dirty": dirty,
        "price_elasticity_by_category": {
            name: round(float(products.elasticity[i]), 5)
            for i, name in enumerate(products.categories)
        },
        "promo_uplift_by_product": {
            pid: round(float(u), 5)
            for pid, u in zip(products.ids.to_pylist(), products.promo_uplift, strict=True)
        },
        "cannibalisation": config.cannibalisation,
        "post_promo_dip": config.post_promo_dip,
        "co_purchase_rate": COMPLEMENT_RATE,
        "review_text_noise": TEXT_NOISE,
        "segments": [
            {
                "name": s.name,
                "share": s.share,
                "relative_frequency": s.frequency,
                "relative_basket": s.basket,
                "price_sensitivity": s.price_sensitivity,
                "online_share": s.online_share,
                "relative_churn": s.churn,
            }
            for s in SEGMENTS
        ],
        "departments": {
            name: {
                "review_period_days": d.review_period_days,
                "lead_time_days": list(d.lead_time_days),
                "payday_lift": d.payday_lift,
                "storable": d.storable,
            }
            for name, d in DEPARTMENTS.items()
        },
        "events": [
            {"name": e.label, "kind": e.kind, "window": list(e.window), "effects": e.effects}
            for e in EVENTS
        ],
        "subcategories": [
            {
                "name": s.name,
                "category": s.category,
                "season_peak_month": s.season_peak_month,
                "season_strength": s.season_strength,
                "complement": s.complement,
            }
            for s in SUBCATEGORIES
        ],
        "fraud_patterns": {
            "card_testing": "bursts of small guest payments, one new device, many stolen cards",
            "account_takeover": "new device and foreign or other-region IP, expensive orders",
            "high_value": "night-time order many times the customer's usual spend",
        },
        "stockout_policy": (
            "periodic review, order-up-to; forecast = 28-day EWMA of censored sales; "
            "mean lead time assumed; whole cases; 5% of deliveries 3-14 days late"
        ),
    }


def simulate_retail_into(
    workspace: Path | str,
    config: RetailConfig,
    *,
    dirty: float = 0.0,
    out: Path | None = None,
    progress: bool = True,
) -> SimulationResult:
    """Simulate a world and ingest every table into a workspace through its contract.

    The files and the ground truth are written to ``out`` (default ``<workspace>/world``);
    only the tables are ingested, parents before children, so ``truth/`` stays apart.

    Args:
        workspace: the workspace folder (created when it does not exist yet).
        config: the world's size and parameters.
        dirty: share of fact-table rows given a fault; they end up in quarantine.
        out: where the generated files and the ground truth go.
        progress: show Rich progress bars.

    Returns:
        The simulation result, with each table's ingest outcome in ``ingested``.

    Example:
        >>> simulate_retail_into("./shop", RetailConfig.preset("small"))  # doctest: +SKIP
    """
    from lakeforge.workspace import Workspace

    ws = Workspace.init(workspace)
    try:
        target = Path(out) if out is not None else ws.root / "world"
        result = simulate_retail(target, config, dirty=dirty, progress=progress)
        contracts = build_contracts(
            {t: ("csv" if dirty > 0 and t in FACT_TABLES else "parquet") for t in TABLE_ORDER}
        )
        ingested: dict[str, dict[str, Any]] = {}
        with _stages(progress) as stages:
            task = stages.start("Ingesting into workspace", len(TABLE_ORDER))
            for table in TABLE_ORDER:
                outcome = ws.ingest(
                    str(result.tables[table]),
                    table=table,
                    contract=contracts[table],
                    mode="overwrite",
                    max_reject_rate=1.0 if dirty > 0 else None,
                )
                ingested[table] = outcome.to_dict()
                stages.advance(task)
    finally:
        ws.close()
    return SimulationResult(
        out=result.out,
        config=result.config,
        tables=result.tables,
        row_counts=result.row_counts,
        truth=result.truth,
        contracts=result.contracts,
        seconds=result.seconds,
        dirty=result.dirty,
        faults=result.faults,
        ingested=ingested,
    )
