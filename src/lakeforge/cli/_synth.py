"""``lakeforge synth``: fit, sample and report synthetic twins (a thin shell over the API).

The fitted synthesizer lives in the workspace (``.lakeforge/synth/<name>/``); ``sample``
writes a new workspace (default ``<workspace>-synthetic`` beside it) and ``report`` scores
the last sample against the real tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from lakeforge.cli._shared import JsonOpt, WorkspaceOpt
from lakeforge.cli._shared import fail as _fail
from lakeforge.cli._shared import out as _out
from lakeforge.errors import LakeforgeError, NotFoundError
from lakeforge.workspace import Workspace

__all__ = ["synth_app"]

synth_app = typer.Typer(
    help="Synthetic twins of workspace tables: fit, sample, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

NameOpt = Annotated[str, typer.Option("--name", help="Name of the fitted synthesizer.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed.")]
LAST_SAMPLE = "last_sample.json"


@synth_app.callback()
def _group() -> None:
    """Synthetic twins of workspace tables: fit, sample, report."""


def _folder(ws: Workspace, name: str) -> Path:
    return ws.state_dir / "synth" / name


def _load(ws: Workspace, name: str) -> Any:
    from lakeforge.synth._multitable import Synthesizer

    folder = _folder(ws, name)
    if not (folder / "synthesizer.json").is_file():
        raise NotFoundError(
            f"no fitted synthesizer `{name}` in this workspace; run `lakeforge synth fit "
            "<tables...>` first"
        )
    return Synthesizer.load(folder)


def _print(as_json: bool, data: dict[str, Any], view: RichTable | None) -> None:
    if as_json:
        _out.print_json(json.dumps(data, default=str))
    elif view is not None:
        _out.print(view)


@synth_app.command("fit")
def fit(
    tables: Annotated[list[str], typer.Argument(help="Tables to synthesise, with their parents.")],
    workspace: WorkspaceOpt = Path("."),
    method: Annotated[
        str, typer.Option("--method", help="Generator: auto, copula, autoregressive, ...")
    ] = "auto",
    epsilon: Annotated[
        float | None, typer.Option("--epsilon", help="Differential-privacy budget.")
    ] = None,
    driving: Annotated[
        list[str] | None,
        typer.Option("--driving", help="child=parent: the parent that sets a child's count."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    name: NameOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Fit a synthesizer on workspace tables under their catalog contracts."""
    from lakeforge.synth._stream import fit_workspace

    try:
        chosen = dict(part.split("=", 1) for part in (driving or []) if "=" in part)
        with Workspace.open(workspace) as ws:
            syn = fit_workspace(
                ws,
                tables,
                method=method,
                epsilon=epsilon,
                seed=seed,
                driving=chosen,
                progress=not as_json,
            )
            folder = syn.save(_folder(ws, name))
    except LakeforgeError as exc:
        _fail(exc, as_json)
    described = syn.describe()
    view = RichTable(title=f"synthesizer `{name}` ({described['method']})", header_style="bold")
    for column in ("table", "rows", "driving parent", "generated keys", "PII faked"):
        view.add_column(column)
    for table, info in described["tables"].items():
        view.add_row(
            table,
            f"{info['real_rows']:,}",
            info["driving_parent"] or "-",
            ", ".join(info["generated_keys"]) or "-",
            ", ".join(info["pii_faked"]) or "-",
        )
    _print(as_json, {"saved": str(folder), **described}, view)


@synth_app.command("sample")
def sample(
    workspace: WorkspaceOpt = Path("."),
    scale: Annotated[float, typer.Option("--scale", help="Row factor for root tables.")] = 1.0,
    rows: Annotated[
        list[str] | None, typer.Option("--rows", help="table=count (repeatable).")
    ] = None,
    conditions: Annotated[
        list[str] | None,
        typer.Option("--conditions", help="table.column=value (repeatable, or comma-joined)."),
    ] = None,
    into: Annotated[
        Path | None, typer.Option("--into", help="Target workspace (default: <ws>-synthetic).")
    ] = None,
    seed: SeedOpt = None,
    name: NameOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Sample a synthetic twin into a new workspace (streamed to Delta in chunks)."""
    from lakeforge.synth._multitable import parse_rows
    from lakeforge.synth._stream import sample_into

    try:
        with Workspace.open(workspace) as ws:
            syn = _load(ws, name)
            target = into or ws.root.parent / f"{ws.root.name}-synthetic"
            syn.progress = not as_json
            summary = sample_into(
                syn,
                target,
                scale=scale,
                rows=parse_rows(rows or []),
                conditions=conditions or None,
                seed=seed,
                origin=ws.root,
            )
            record = {"synthetic": str(Path(target).resolve()), **summary}
            (_folder(ws, name) / LAST_SAMPLE).write_text(json.dumps(record, default=str))
    except LakeforgeError as exc:
        _fail(exc, as_json)
    view = RichTable(title=f"synthetic twin in {summary['workspace']}", header_style="bold")
    for column in ("table", "rows written", "quarantined"):
        view.add_column(column, justify="right" if column != "table" else "left")
    for table, info in summary["tables"].items():
        view.add_row(table, f"{info['rows_written']:,}", f"{info['rows_quarantined']:,}")
    _print(as_json, summary, view)


@synth_app.command("report")
def report(
    workspace: WorkspaceOpt = Path("."),
    holdout: Annotated[
        float,
        typer.Option("--holdout", help="Share of real rows held out (refits on the rest)."),
    ] = 0.0,
    target: Annotated[
        str | None, typer.Option("--target", help="Column for the utility score.")
    ] = None,
    synthetic: Annotated[
        Path | None, typer.Option("--synthetic", help="Synthetic workspace (default: last).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder (default: <synthetic>/report).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    name: NameOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Score the synthetic twin (fidelity, cardinality, utility, privacy): HTML + JSON."""
    from lakeforge.synth._stream import read_tables, report_twin

    try:
        with Workspace.open(workspace) as ws:
            syn = _load(ws, name)
            real, _ = read_tables(ws, syn.order_)
            twin_path = synthetic
            record = _folder(ws, name) / LAST_SAMPLE
            if twin_path is None and record.is_file():
                twin_path = Path(json.loads(record.read_text())["synthetic"])
            twin = None
            if holdout <= 0:
                if twin_path is None:
                    raise NotFoundError(
                        "no synthetic twin to score; run `lakeforge synth sample` first, "
                        "pass --synthetic, or use --holdout to refit and sample"
                    )
                with Workspace.open(twin_path) as synthetic_ws:
                    twin, _ = read_tables(synthetic_ws, syn.order_)
            folder = out or (
                twin_path / "report" if twin_path and holdout <= 0 else _folder(ws, name) / "report"
            )
            result = report_twin(
                syn, real, folder, synthetic=twin, holdout=holdout, target=target, seed=seed
            )
    except LakeforgeError as exc:
        _fail(exc, as_json)
    data = {
        "passed": result.passed,
        "html": str(Path(folder) / "report.html"),
        "json": str(Path(folder) / "report.json"),
        "foreign_key_integrity": result.foreign_key_integrity,
        "cardinality": result.cardinality,
        "verdict": result.summary(),
    }
    if as_json:
        _print(True, data, None)
        return
    _out.print(result.summary())
    _out.print(f"report: {data['html']} (+ report.json)")
