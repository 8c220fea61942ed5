"""The main job behind ``make demo``: build a small lakehouse end to end and say what to open.

1. Simulate a small retail business with a little dirt (1% faulty rows in the fact tables).
2. Ingest every table through its contract: bad rows land in quarantine with their reasons.
3. Ingest the real public datasets found under ``LAKEFORGE_DATA`` with inferred contracts.
4. Build the data products: demand forecasts, the inventory plan, recommendations (gold
   tables and saved models, with lineage).
5. Fit a synthetic twin of the commerce tables, sample it into ``<root>-synthetic`` and
   write its fidelity / utility / privacy report.
6. Print what was built and the commands to explore it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from lakeforge.config import get_settings
from lakeforge.contracts import ReadOptions
from lakeforge.errors import LakeforgeError
from lakeforge.workspace import Workspace

__all__ = ["REAL_DATASETS", "RealDataset", "create_demo_users", "run_demo"]


@dataclass(frozen=True)
class RealDataset:
    """A real file from the shared data folder and the options it needs."""

    table: str
    relative_path: str
    read: ReadOptions | None = None
    column_names: tuple[str, ...] = ()


ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)

#: The real datasets the demo ingests when present (see tests/realdata for all of them).
REAL_DATASETS = (
    RealDataset("m5_calendar", "m5/calendar.csv"),
    RealDataset("olist_products", "olist/olist_products_dataset.csv"),
    RealDataset(
        "movielens_items",
        "ml-100k/u.item",
        ReadOptions(format="csv", delimiter="|", header=False, encoding="latin-1"),
    ),
    RealDataset(
        "adult",
        "adult/adult.data",
        ReadOptions(format="csv", header=False, trim=True, null_values=["", "?"]),
        ADULT_COLUMNS,
    ),
)


def run_demo(
    root: Path = Path("demo-workspace"),
    *,
    preset: str = "small",
    dirty: float = 0.01,
    seed: int = 7,
    console: Console | None = None,
    real_data: bool = True,
    products: bool = True,
    twin: bool = True,
) -> Workspace:
    """Build the demo workspace at ``root`` (replacing an earlier demo) and return it."""
    console = console or Console()
    started = time.perf_counter()
    if (root / "lakeforge.toml").is_file():
        shutil.rmtree(root)
    ws = Workspace.init(root)
    console.rule("[bold]Lakeforge demo")
    console.print(f"workspace: {ws.root}")
    _simulated(ws, root, preset=preset, dirty=dirty, seed=seed, console=console)
    if real_data:
        _real(ws, console)
    if products:
        _products(ws, console)
    if twin:
        _synthetic_twin(ws, root, console, seed=seed)
    _summary(ws, console, time.perf_counter() - started)
    return ws


def _simulated(
    ws: Workspace, root: Path, *, preset: str, dirty: float, seed: int, console: Console
) -> None:
    from lakeforge.synth.simulator import RetailConfig, simulate_retail_into

    config = RetailConfig.preset(preset).model_copy(update={"seed": seed})
    console.print(
        f"simulating a {preset} retail business (seed {seed}, {dirty:.0%} faulty fact rows) "
        "and ingesting it through its contracts..."
    )
    result = simulate_retail_into(ws.root, config, dirty=dirty, out=root / "world")
    for outcome in result.ingested.values():
        _report(console, outcome)
    console.print(f"  ground truth kept apart in {result.out / 'truth'}")


def _real(ws: Workspace, console: Console) -> None:
    data = get_settings().data
    if not data.is_dir():
        console.print(f"[dim]no real datasets at {data} (set LAKEFORGE_DATA); skipping them[/]")
        return
    console.print(f"ingesting real public datasets from {data.resolve()} (contracts inferred)...")
    for item in REAL_DATASETS:
        path = data / item.relative_path
        if not path.is_file():
            continue
        try:
            with console.status(f"ingesting {item.table}..."):
                outcome = _ingest_real(ws, path, item)
        except LakeforgeError as exc:
            console.print(f"[red]{item.table}: {exc}")
            continue
        _report(console, outcome)


#: Forecast candidates for the demo: fast, and still well ahead of SeasonalNaive on the
#: simulated shop (``lakeforge forecast fit --models auto`` tries more and takes longer).
DEMO_FORECAST_MODELS = ("seasonal_naive", "ses", "theta", "croston", "tsb", "lgbm")


def _products(ws: Workspace, console: Console) -> None:
    """Forecasts -> inventory plan -> recommendations, as gold tables and saved models."""
    names = {info.name for info in ws.tables()}
    if not {"daily_sales", "order_items", "inventory"} <= names:
        return
    try:
        from lakeforge.products.forecast import forecast_from_lake
        from lakeforge.products.inventory import plan_from_lake
        from lakeforge.products.recommend._workspace import fit_and_save, read_training_frames
    except ImportError as exc:
        console.print(
            f"[dim]data products skipped ({exc.name} missing): "
            "pip install 'lakeforge[forecast,recommend]'[/]"
        )
        return
    with console.status("forecasting demand per store x product (backtest, intervals)..."):
        _, summary = forecast_from_lake(
            ws,
            table="daily_sales",
            target="units_sold",
            stockout="stockout",
            horizon=28,
            models=list(DEMO_FORECAST_MODELS),
        )
    console.print(
        f"  [green]ok[/] forecasts: {summary['series']:,} series, 28 days ahead; backtest MASE "
        f"{summary['mase']:.3f} vs SeasonalNaive {summary['seasonal_naive_mase']:.3f} "
        f"({summary['gain_over_seasonal_naive']:.0%} better), 80%/95% intervals"
    )
    with console.status("planning orders from the forecast distributions..."):
        plan = plan_from_lake(ws)
    ordering = plan[plan["order_qty"] > 0]
    console.print(
        f"  [green]ok[/] inventory_plan: {len(ordering):,} of {len(plan):,} store x product "
        f"pairs to reorder, e.g. {ordering['unique_id'].iloc[0]}: {ordering['reason'].iloc[0]}"
        if len(ordering)
        else f"  [green]ok[/] inventory_plan: {len(plan):,} pairs, nothing to reorder"
    )
    with console.status("fitting recommendations (auto: item-kNN / ALS / EASE / content)..."):
        frames = read_training_frames(
            ws,
            "order_items",
            user="customer_id",
            item="product_id",
            items="products",
            users="customers",
        )
        fit_and_save(ws, ["auto"], frames)
    console.print(
        f"  [green]ok[/] recommender: {frames.interactions.height:,} interactions, saved in "
        f"{ws.root / 'models' / 'recommend'}"
    )


#: The commerce tables of the simulated shop that the demo's synthetic twin covers.
TWIN_TABLES = ("stores", "products", "customers", "orders", "order_items", "payments", "reviews")


def _synthetic_twin(ws: Workspace, root: Path, console: Console, *, seed: int) -> None:
    """A synthetic twin of the commerce tables (PII faked, keys regenerated) and its report."""
    if not set(TWIN_TABLES) <= {info.name for info in ws.tables()}:
        return
    try:
        import faker  # noqa: F401  (the synth extra)

        from lakeforge.synth import Synthesizer
        from lakeforge.synth._stream import read_tables, report_twin, sample_into
    except ImportError as exc:
        console.print(
            f"[dim]synthetic twin skipped ({exc.name} missing): pip install 'lakeforge[synth]'[/]"
        )
        return
    twin_root = root.parent / f"{root.name}-synthetic"
    console.print(
        f"fitting a synthetic twin of {len(TWIN_TABLES)} related tables "
        "(PII faked, keys regenerated, contracts kept)..."
    )
    data, contracts = read_tables(ws, list(TWIN_TABLES))
    syn = Synthesizer(contracts, method="copula", seed=seed).fit(data)
    syn.save(ws.state_dir / "synth" / "default")  # `lakeforge synth sample/report` reuse it
    if (twin_root / "lakeforge.toml").is_file():
        shutil.rmtree(twin_root)
    summary = sample_into(syn, twin_root, seed=seed, origin=ws.root)
    with Workspace.open(twin_root) as twin_ws:
        twin, _ = read_tables(twin_ws, list(TWIN_TABLES))
    report = report_twin(syn, data, twin_root / "report", synthetic=twin, seed=seed)
    written = sum(t["rows_written"] for t in summary["tables"].values())
    rejected = sum(t["rows_quarantined"] for t in summary["tables"].values())
    console.print(
        f"  [green]ok[/] synthetic twin: {written:,} rows in {twin_root}, {rejected:,} rejected by "
        f"the contracts; foreign keys {min(report.foreign_key_integrity.values()):.0%} intact, "
        f"cardinality >= {min(report.cardinality.values()):.2f}"
    )
    console.print(f"  report: {twin_root / 'report' / 'report.html'}")


def _ingest_real(ws: Workspace, path: Path, item: RealDataset) -> Any:
    from lakeforge.contracts import infer_contract, sniff_csv
    from lakeforge.ingest._open import open_source

    read = item.read or sniff_csv(path)
    names = list(item.column_names) or None
    with open_source(path, options=read, column_names=names) as source:
        contract = infer_contract(source, table=item.table, read=read)
    return ws.ingest(path, table=item.table, contract=contract)


def _report(console: Console, outcome: Any) -> None:
    data = outcome if isinstance(outcome, dict) else outcome.to_dict()
    mark = "[green]ok[/]" if not data["rows_quarantined"] else "[yellow]ok[/]"
    console.print(
        f"  {mark} {data['table']:<22} {data['rows_read']:>10,} read = "
        f"{data['rows_written']:>10,} written + {data['rows_quarantined']:>7,} quarantined"
    )


def _summary(ws: Workspace, console: Console, seconds: float) -> None:
    infos = ws.tables()
    view = RichTable(title="tables in the lake", header_style="bold cyan")
    for name in ("table", "rows", "version", "quality", "quarantined"):
        view.add_column(name, justify="right" if name in ("rows", "quarantined") else "left")
    for info in infos:
        view.add_row(
            info.name,
            f"{info.rows:,}",
            str(info.version),
            info.quality_status,
            f"{info.rows_quarantined:,}",
        )
    console.print(view)
    rel = ws.root
    console.print(f"done in {seconds:.0f}s. Try:")
    hints = [f"lakeforge tables -w {rel}"]
    names = {i.name for i in infos}
    if "daily_sales" in names:
        hints += [
            f"lakeforge quarantine daily_sales -w {rel}",
            f"lakeforge show daily_sales -w {rel}",
            f'lakeforge query "select store_id, sum(units_sold) as units from daily_sales '
            f'group by 1 order by 2 desc" -w {rel}',
            f"lakeforge lineage order_items -w {rel}",
        ]
    if "forecasts" in names:
        hints += [
            f"lakeforge forecast show S001/P0001 -w {rel}",
            f"lakeforge inventory plan --service-level 0.95 -w {rel}",
        ]
    if (rel / "models" / "recommend" / "DEFAULT").is_file():
        hints.append(f"lakeforge recommend for C00001 -k 10 --explain -w {rel}")
    if (rel / ".lakeforge" / "synth" / "default").is_dir():
        hints.append(f"lakeforge synth sample --scale 2 -w {rel}")
    elif infos:
        first = infos[0].name
        hints += [
            f"lakeforge show {first} -w {rel}",
            f'lakeforge query "select * from {first} limit 5" -w {rel}',
        ]
    for hint in hints:
        console.print(f"  [bold]{hint}[/]")


def create_demo_users(ws: Workspace) -> dict[str, str]:
    """An admin and an analyst (PII masked) with fresh tokens, for the dashboard and API."""
    from lakeforge.serve import create_user

    tokens: dict[str, str] = {}
    for name, role in (("admin", "admin"), ("analyst", "analyst")):
        _, token = create_user(ws.catalog, name, role=role)
        tokens[name] = token
    return tokens
