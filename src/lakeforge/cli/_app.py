"""The ``lakeforge`` command: a thin Typer shell over the Python API.

Exit codes: 0 ok, 1 error, 2 usage, 3 data rejected above ``--max-reject-rate``.
Every command takes ``--json`` for scripts.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import pyarrow as pa
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from lakeforge.cli._shared import (
    EXIT_ERROR,
    EXIT_REJECTED,
    EXIT_USAGE,
    JsonOpt,
    WorkspaceOpt,
    err,
    fail,
    out,
)
from lakeforge.contracts import Contract, ReadOptions
from lakeforge.errors import LakeforgeError, RejectedDataError
from lakeforge.workspace import Workspace

__all__ = ["app", "main"]

app = typer.Typer(
    name="lakeforge",
    help="Lakeforge: a local-first lakehouse for data products.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
contract_app = typer.Typer(help="Detect, show and check contracts.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")

T = TypeVar("T")


_fail = fail


def _usage_error(message: str, as_json: bool) -> NoReturn:
    """A bad option value: exit 2, as a JSON error under ``--json``."""
    if as_json:
        out.print_json(json.dumps({"error": {"code": "usage_error", "message": message}}))
    else:
        err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


def _run(as_json: bool, action: Callable[[], T]) -> T:
    try:
        return action()
    except RejectedDataError as exc:
        if as_json and exc.result is not None:
            out.print_json(
                json.dumps({"error": exc.to_dict(), "result": exc.result.to_dict()}, default=str)
            )
            raise typer.Exit(EXIT_REJECTED) from None
        _fail(exc, as_json, EXIT_REJECTED)
    except LakeforgeError as exc:
        _fail(exc, as_json)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def _arrow_to_rich(table: pa.Table, *, title: str | None = None, max_rows: int = 50) -> RichTable:
    view = RichTable(title=title, header_style="bold cyan", show_lines=False)
    for name in table.column_names:
        view.add_column(name, overflow="fold")
    for row in table.slice(0, max_rows).to_pylist():
        view.add_row(*["" if v is None else str(v) for v in row.values()])
    if table.num_rows > max_rows:
        view.caption = f"{max_rows} of {table.num_rows:,} rows shown"
    return view


# -- init -------------------------------------------------------------------------------------
@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Directory for the new workspace.")] = Path("."),
    catalog_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the catalog.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: lakeforge.toml, lake/ and the catalog."""
    ws = _run(as_json, lambda: Workspace.init(path, catalog_url=catalog_url))
    if as_json:
        _print_json({"workspace": str(ws.root), "catalog": ws.catalog_url})
    else:
        out.print(f"[green]workspace ready[/] at {ws.root} (catalog: {ws.catalog_url})")
    ws.close()


# -- contract -----------------------------------------------------------------------------------
def _read_options(
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
    no_header: bool,
    null_values: list[str] | None,
    sheet: str | None,
) -> ReadOptions | None:
    if not any((fmt, delimiter, encoding, no_header, null_values, sheet)):
        return None
    values: dict[str, Any] = {}
    if fmt:
        values["format"] = fmt
    if delimiter:
        values["delimiter"] = "\t" if delimiter in ("\\t", "tab") else delimiter
    if encoding:
        values["encoding"] = encoding
    if no_header:
        values["header"] = False
    if null_values:
        values["null_values"] = null_values
    if sheet:
        values["sheet"] = sheet
    return ReadOptions(**values)


FormatOpt = Annotated[
    str | None, typer.Option("--format", help="csv, json, ndjson, parquet, xlsx.")
]
DelimOpt = Annotated[str | None, typer.Option("--delimiter", "-d", help="Field separator.")]
EncodingOpt = Annotated[str | None, typer.Option(help="File encoding, e.g. latin-1.")]
NoHeaderOpt = Annotated[bool, typer.Option("--no-header", help="The file has no header line.")]
NullOpt = Annotated[list[str] | None, typer.Option("--null", help="A token meaning missing.")]
SheetOpt = Annotated[str | None, typer.Option(help="Excel sheet name.")]


@contract_app.command("infer")
def contract_infer(
    source: Annotated[str, typer.Argument(help="A file (or database URL with --sql).")],
    table: Annotated[str, typer.Option("--table", "-t", help="Table name for the contract.")],
    sql: Annotated[str | None, typer.Option(help="Query, for a database source.")] = None,
    fmt: FormatOpt = None,
    delimiter: DelimOpt = None,
    encoding: EncodingOpt = None,
    no_header: NoHeaderOpt = False,
    null: NullOpt = None,
    sheet: SheetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Detect a contract (types, keys, PII, checks) from data and print it as YAML."""

    def infer() -> Contract:
        from lakeforge.contracts import infer_contract, sniff_csv
        from lakeforge.ingest._open import open_source

        options = _read_options(fmt, delimiter, encoding, no_header, null, sheet)
        if (
            options is None
            and "://" not in source
            and Path(source).suffix.lower()
            not in (".json", ".ndjson", ".jsonl", ".parquet", ".pq", ".xlsx")
        ):
            options = sniff_csv(Path(source))
        with open_source(source, options=options, sql=sql) as opened:
            return infer_contract(opened, table=table, read=getattr(opened, "options", options))

    contract = _run(as_json, infer)
    if as_json:
        out.print(contract.to_json(), highlight=False)
    else:
        sys.stdout.write(contract.to_yaml())


@contract_app.command("show")
def contract_show(
    table: str,
    version: Annotated[int | None, typer.Option(help="Contract version.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Print a table's registered contract."""
    with _run(as_json, lambda: Workspace.open(workspace)) as ws:
        contract = _run(as_json, lambda: ws.table(table).contract(version))
        if contract is None:
            err.print(f"table `{table}` has no contract")
            raise typer.Exit(EXIT_ERROR)
        if as_json:
            out.print(contract.to_json(), highlight=False)
        else:
            sys.stdout.write(contract.to_yaml())


# -- ingest --------------------------------------------------------------------------------------
@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="A file path, or a database URL with --sql.")],
    table: Annotated[str, typer.Option("--table", "-t", help="Target table.")],
    contract: Annotated[
        Path | None,
        typer.Option(help="Contract YAML (default: the table's registered one, or inferred)."),
    ] = None,
    mode: Annotated[str, typer.Option(help="append, overwrite or merge.")] = "append",
    key: Annotated[str | None, typer.Option(help="Merge key columns, comma separated.")] = None,
    sql: Annotated[str | None, typer.Option(help="Query, for a database source.")] = None,
    incremental_by: Annotated[
        str | None, typer.Option(help="Cursor column: pull only rows above the last value read.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Ingest again even if unchanged.")] = False,
    max_reject_rate: Annotated[
        float | None,
        typer.Option(help="Fail (exit 3, nothing written) above this share of bad rows."),
    ] = None,
    fmt: FormatOpt = None,
    delimiter: DelimOpt = None,
    encoding: EncodingOpt = None,
    no_header: NoHeaderOpt = False,
    null: NullOpt = None,
    sheet: SheetOpt = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Validate a source against its contract and write it; bad rows go to quarantine."""
    if mode not in ("append", "overwrite", "merge"):
        _usage_error(f"--mode must be append, overwrite or merge, not {mode!r}", as_json)
    ws = _run(as_json, lambda: Workspace.open(workspace))
    options = _read_options(fmt, delimiter, encoding, no_header, null, sheet)
    show_progress = not as_json and err.is_terminal
    with (
        ws,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            disable=not show_progress,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(f"ingesting into {table}", total=None)

        def report(read: int, quarantined: int) -> None:
            progress.update(
                task,
                description=(
                    f"ingesting into {table}: {read:,} rows read, {quarantined:,} quarantined"
                ),
            )

        result = _run(
            as_json,
            lambda: ws.ingest(
                source,
                table=table,
                contract=contract,
                mode=mode,  # type: ignore[arg-type]
                key=key.split(",") if key else None,
                sql=sql,
                incremental_by=incremental_by,
                read=options,
                force=force,
                max_reject_rate=max_reject_rate,
                on_progress=report,
            ),
        )
    if as_json:
        _print_json(result.to_dict())
        return
    if result.status == "skipped":
        out.print(f"[yellow]skipped[/]: {result.message}")
        return
    colour = "green" if result.rows_quarantined == 0 else "yellow"
    out.print(
        f"[{colour}]{table}[/] version {result.version}: {result.rows_read:,} read = "
        f"{result.rows_written:,} written + {result.rows_quarantined:,} quarantined "
        f"in {result.duration_s:.2f}s (quality: {result.quality_status})"
    )
    failing = [c for c in result.checks if c["failed"]]
    for check in failing:
        out.print(f"  {check['status']:>7}  {check['name']}: {check['failed']:,} rows")
    if result.rows_quarantined:
        out.print(f"  see the rejected rows with: lakeforge quarantine {table}")


# -- tables / show -------------------------------------------------------------------------------
@app.command()
def tables(workspace: WorkspaceOpt = Path("."), as_json: JsonOpt = False) -> None:
    """List tables: rows, version, last ingest, quality status."""
    with _run(as_json, lambda: Workspace.open(workspace)) as ws:
        infos = _run(as_json, ws.tables)
    if as_json:
        _print_json({"data": [i.to_dict() for i in infos], "count": len(infos)})
        return
    view = RichTable(header_style="bold cyan")
    for name in ("table", "layer", "rows", "version", "last ingest", "quality", "quarantined"):
        view.add_column(name, justify="right" if name in ("rows", "version") else "left")
    colours = {"passed": "green", "warned": "yellow", "failed": "red"}
    for info in infos:
        last = info.last_ingest.strftime("%Y-%m-%d %H:%M") if info.last_ingest else "-"
        colour = colours.get(info.quality_status, "white")
        view.add_row(
            info.name,
            info.layer,
            f"{info.rows:,}",
            str(info.version),
            last,
            f"[{colour}]{info.quality_status}[/]",
            f"{info.rows_quarantined:,}",
        )
    out.print(view)


@app.command()
def show(
    table: str,
    version: Annotated[int | None, typer.Option(help="Show the schema at this version.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """A table's schema, contract, history, quality and lineage."""
    with _run(as_json, lambda: Workspace.open(workspace)) as ws:
        handle = _run(as_json, lambda: ws.table(table))
        schema = _run(as_json, lambda: handle.schema(version))
        contract = handle.contract()
        history = handle.history()
        graph = handle.lineage()
    if as_json:
        _print_json(
            {
                "table": table,
                "layer": handle.layer,
                "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
                "contract": contract.to_dict() if contract else None,
                "history": history,
                "lineage": graph.to_dict(),
            }
        )
        return
    out.print(f"[bold]{table}[/] ({handle.layer}), version {handle.version}")
    cols = RichTable(title="schema", header_style="bold cyan")
    for name in ("column", "type", "nullable", "pii", "description"):
        cols.add_column(name)
    for field in schema:
        col = (
            next((c for c in contract.columns if c.name == field.name), None) if contract else None
        )
        cols.add_row(
            field.name,
            str(field.type),
            str(col.nullable if col else True),
            (col.pii or "") if col else "",
            (col.description or "") if col else "",
        )
    out.print(cols)
    if contract:
        keys = ", ".join(contract.primary_key) or "-"
        out.print(
            f"primary key: {keys}; checks: {', '.join(c.label() for c in contract.checks) or '-'}"
        )
    hist = RichTable(title="history", header_style="bold cyan")
    for name in (
        "version",
        "when",
        "operation",
        "read",
        "written",
        "quarantined",
        "failed checks",
        "source",
    ):
        hist.add_column(name)
    for h in history:
        failed = ", ".join(c["name"] for c in h["checks"] if c.get("failed")) or "-"
        hist.add_row(
            str(h["version"]),
            (h["created_at"] or "")[:16],
            h["operation"],
            f"{h['rows_read']:,}",
            f"{h['rows_written']:,}",
            f"{h['rows_quarantined']:,}",
            failed,
            str(h["source"]),
        )
    out.print(hist)
    upstream = [e.source for e in graph.edges if e.target == f"table:{table}"]
    downstream = [e.target for e in graph.edges if e.source == f"table:{table}"]
    out.print(f"upstream: {', '.join(upstream) or '-'}")
    out.print(f"downstream: {', '.join(downstream) or '-'}")


# -- query ---------------------------------------------------------------------------------------
@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One read-only SELECT.")],
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv, json or parquet.")
    ] = "table",
    as_of: Annotated[
        str | None,
        typer.Option(help="A version (one table), table=version pairs, or an ISO timestamp."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many rows.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Run read-only SQL (DuckDB) over the lake."""
    if output_format not in ("table", "csv", "json", "parquet"):
        _usage_error(
            f"--format must be table, csv, json or parquet, not {output_format!r}", as_json
        )
    fmt = "json" if as_json else output_format
    with _run(as_json, lambda: Workspace.open(workspace)) as ws:
        result = _run(as_json, lambda: ws.query(sql, as_of=as_of, limit=limit))
    _emit(result, fmt, output)


def _emit(result: pa.Table, fmt: str, output: Path | None) -> None:
    if fmt == "table" and output is None:
        out.print(_arrow_to_rich(result))
        return
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if output is None:
            buffer = io.BytesIO()
            pq.write_table(result, buffer)
            sys.stdout.buffer.write(buffer.getvalue())
        else:
            pq.write_table(result, output)
        return
    if fmt == "csv" or fmt == "table":
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(result, buffer)
        text = buffer.getvalue().decode()
    else:
        text = json.dumps({"data": result.to_pylist(), "count": result.num_rows}, default=str)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text)


# -- quarantine / lineage ------------------------------------------------------------------------
@app.command()
def quarantine(
    table: str,
    run: Annotated[str | None, typer.Option(help="Only rows from this ingest run.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv, json or parquet.")
    ] = "table",
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Rejected rows, each with its reasons and source location."""
    if output_format not in ("table", "csv", "json", "parquet"):
        _usage_error(
            f"--format must be table, csv, json or parquet, not {output_format!r}", as_json
        )
    with _run(as_json, lambda: Workspace.open(workspace)) as ws:
        rows = _run(as_json, lambda: ws.table(table).quarantine(run_id=run))
    total = rows.num_rows
    rows = rows.slice(0, limit) if total else rows
    if as_json or output_format == "json":
        data = rows.to_pylist()
        for row in data:
            if isinstance(row.get("_quarantined_at"), dt.datetime):
                row["_quarantined_at"] = row["_quarantined_at"].isoformat()
        _print_json({"data": data, "count": total})
        return
    if output_format != "table":
        _emit(rows, output_format, None)
        return
    if not total:
        out.print(f"[green]no quarantined rows[/] for `{table}`")
        return
    view = RichTable(title=f"quarantine of {table}: {total:,} rows", header_style="bold cyan")
    view.add_column("source")
    view.add_column("where", justify="right")
    view.add_column("reasons")
    view.add_column("raw values")
    value_cols = [c for c in rows.column_names if not c.startswith("_")]
    for row in rows.to_pylist():
        raw = row["_raw"] or ", ".join(f"{c}={row[c]!r}" for c in value_cols if row[c] is not None)
        view.add_row(
            Path(str(row["_source"])).name,
            f"{row['_location_kind']} {row['_location']:,}",
            "\n".join(row["_reasons"]),
            raw,
        )
    if total > limit:
        view.caption = f"{limit} of {total:,} shown (--limit)"
    out.print(view)


@app.command()
def lineage(
    table: str,
    direction: Annotated[str, typer.Option(help="upstream, downstream or both.")] = "both",
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Where a table's data came from and where it goes."""
    if direction not in ("upstream", "downstream", "both"):
        _usage_error(
            f"--direction must be upstream, downstream or both, not {direction!r}", as_json
        )
    with _run(as_json, lambda: Workspace.open(workspace)) as ws:
        graph = _run(as_json, lambda: ws.lineage(table, direction=direction))
    if as_json:
        _print_json(graph.to_dict())
        return
    from rich.tree import Tree

    root = Tree(f"[bold]table:{table}[/]")
    ups = root.add("upstream")
    downs = root.add("downstream")
    for edge in graph.edges:
        if edge.target == f"table:{table}":
            ups.add(f"{edge.source} [dim]({edge.kind})[/]")
        elif edge.source == f"table:{table}":
            downs.add(f"{edge.target} [dim]({edge.kind})[/]")
        else:
            (ups if edge.target != f"table:{table}" else downs).add(
                f"{edge.source} -> {edge.target} [dim]({edge.kind})[/]"
            )
    out.print(root)


@app.command()
def demo(
    path: Annotated[Path, typer.Option(help="Where to build the demo workspace.")] = Path(
        "demo-workspace"
    ),
    preset: Annotated[
        str, typer.Option(help="Simulator preset: small, medium or large.")
    ] = "small",
    dirty: Annotated[float, typer.Option(help="Share of faulty rows injected.")] = 0.01,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API and dashboard at the end.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port for the service.")] = 8000,
    products: Annotated[
        bool,
        typer.Option(
            "--products/--no-products", help="Build forecasts, the plan and recommendations."
        ),
    ] = True,
    twin: Annotated[
        bool, typer.Option("--twin/--no-twin", help="Write a synthetic twin and its report.")
    ] = True,
) -> None:
    """Build a demo lakehouse end to end, then serve it (the main job behind `make demo`)."""
    from lakeforge.demo import create_demo_users, run_demo

    ws = _run(
        False,
        lambda: run_demo(
            path, preset=preset, dirty=dirty, seed=seed, console=out, products=products, twin=twin
        ),
    )
    tokens = create_demo_users(ws)
    root = ws.root
    ws.close()
    out.print("\nsign in to the dashboard with one of these tokens (shown once):")
    for name, token in tokens.items():
        out.print(f"  {name:<8} {token}")
    if not serve_after:
        out.print(f"serve it any time with: [bold]lakeforge serve -w {root}[/]")
        return
    from lakeforge.config import get_settings
    from lakeforge.serve import serve as run_server

    settings = get_settings()
    chosen = _free_port(port)
    settings = settings.model_copy(
        update={"serve": settings.serve.model_copy(update={"host": "127.0.0.1", "port": chosen})}
    )
    out.print(
        f"\n[bold green]open http://127.0.0.1:{chosen}/[/] (dashboard), "
        f"http://127.0.0.1:{chosen}/docs (API); Ctrl-C stops the server"
    )
    run_server(root, settings)


def _free_port(preferred: int) -> int:
    import socket

    for candidate in (preferred, *range(preferred + 1, preferred + 50)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(candidate)
    return preferred


def _register_optional() -> None:
    """Sub-commands that live in their own modules."""
    from lakeforge.cli._serve import audit, serve, users_app
    from lakeforge.cli._simulate import simulate_app

    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.command("audit")(audit)
    app.add_typer(simulate_app, name="simulate")
    try:
        from lakeforge.cli._forecast import forecast_app
    except ImportError as exc:
        forecast_app = _missing_extra("forecast", exc)
    app.add_typer(forecast_app, name="forecast")
    try:
        from lakeforge.cli._inventory import inventory_app
    except ImportError as exc:
        inventory_app = _missing_extra("forecast", exc)
    app.add_typer(inventory_app, name="inventory")
    try:
        from lakeforge.cli._recommend import recommend_app
    except ImportError as exc:
        recommend_app = _missing_extra("recommend", exc)
    app.add_typer(recommend_app, name="recommend")
    try:
        from lakeforge.cli._synth import synth_app
    except ImportError as exc:
        synth_app = _missing_extra("synth", exc)
    app.add_typer(synth_app, name="synth")


def _missing_extra(extra: str, exc: ImportError) -> typer.Typer:
    """A command group that explains how to install an optional product."""
    missing = typer.Typer(help=f"(needs: pip install 'lakeforge[{extra}]')")

    @missing.callback(invoke_without_command=True)
    def explain() -> None:
        err.print(
            f"`lakeforge {extra}` needs extra packages ({exc.name or exc}): "
            f"pip install 'lakeforge[{extra}]'"
        )
        raise typer.Exit(EXIT_ERROR)

    return missing


_register_optional()


def main() -> None:
    """Console-script entry point."""
    app()
