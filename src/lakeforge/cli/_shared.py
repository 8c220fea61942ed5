"""What every CLI command group shares: consoles, exit codes, common options, error output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from lakeforge.errors import LakeforgeError

__all__ = [
    "EXIT_ERROR",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "JsonOpt",
    "WorkspaceOpt",
    "err",
    "fail",
    "out",
]

out = Console(soft_wrap=True)
err = Console(stderr=True)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="LAKEFORGE_WORKSPACE",
        help="Workspace directory (or any folder inside it).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(exc: LakeforgeError, as_json: bool, code: int = EXIT_ERROR) -> NoReturn:
    """Print a Lakeforge error (JSON under ``--json``) and exit with ``code``."""
    if as_json:
        out.print_json(json.dumps({"error": exc.to_dict()}))
    else:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
