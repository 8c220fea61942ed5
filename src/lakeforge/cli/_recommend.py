"""``lakeforge recommend``: fit, evaluate and query recommenders (a thin shell over the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from lakeforge.cli._shared import JsonOpt, WorkspaceOpt
from lakeforge.cli._shared import fail as _fail
from lakeforge.cli._shared import out as _out
from lakeforge.errors import LakeforgeError
from lakeforge.workspace import Workspace

__all__ = ["recommend_app"]

recommend_app = typer.Typer(
    help="Product recommendations: fit, evaluate, recommend and find similar items.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


InteractionsOpt = Annotated[str, typer.Option("--interactions", help="Interactions table.")]
UserOpt = Annotated[str, typer.Option("--user", help="User id column.")]
ItemOpt = Annotated[str, typer.Option("--item", help="Item id column.")]
TimeOpt = Annotated[str | None, typer.Option("--time", help="Timestamp column.")]
WeightOpt = Annotated[str | None, typer.Option("--weight", help="Weight column (e.g. quantity).")]
ItemsOpt = Annotated[str | None, typer.Option("--items", help="Item metadata table.")]
UsersOpt = Annotated[str | None, typer.Option("--users", help="User table with `segment`.")]
ModelsOpt = Annotated[
    str, typer.Option("--models", help="auto, or a list of popular,itemknn,als,ease,content,hybrid")
]


@recommend_app.callback()
def _group() -> None:
    """Product recommendations: fit, evaluate, recommend and find similar items."""


def _frames(ws: Workspace, **kwargs: Any) -> Any:
    from lakeforge.products.recommend._workspace import read_training_frames

    return read_training_frames(ws, **kwargs)


@recommend_app.command("fit")
def fit(
    interactions: InteractionsOpt = "order_items",
    user: UserOpt = "customer_id",
    item: ItemOpt = "product_id",
    time: TimeOpt = None,
    weight: WeightOpt = None,
    items: ItemsOpt = None,
    users: UsersOpt = None,
    models: ModelsOpt = "auto",
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Fit recommenders on a lake table and save them in the workspace."""
    from lakeforge.products.recommend._workspace import fit_and_save

    try:
        with Workspace.open(workspace) as ws:
            frames = _frames(
                ws,
                interactions=interactions,
                user=user,
                item=item,
                time=time or "ts",
                weight=weight,
                items=items,
                users=users,
            )
            saved = fit_and_save(ws, [m.strip() for m in models.split(",") if m.strip()], frames)
    except LakeforgeError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _out.print_json(json.dumps({name: str(path) for name, path in saved.items()}))
        return
    for name, path in saved.items():
        _out.print(
            f"fitted [bold]{name}[/] on {frames.interactions.height:,} interactions -> {path}"
        )


@recommend_app.command("evaluate")
def evaluate(
    interactions: InteractionsOpt = "order_items",
    user: UserOpt = "customer_id",
    item: ItemOpt = "product_id",
    time: TimeOpt = None,
    weight: WeightOpt = None,
    items: ItemsOpt = None,
    users: UsersOpt = None,
    models: ModelsOpt = "itemknn,ease,als",
    split: Annotated[str, typer.Option(help="time (default) or random")] = "time",
    k: Annotated[int, typer.Option("-k", help="Cut-off K.")] = 10,
    report: Annotated[Path | None, typer.Option(help="HTML report path.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Evaluate models against MostPopular on a time-based split; write an HTML report."""
    from lakeforge.products.recommend._workspace import evaluate_models, write_evaluation_report

    try:
        with Workspace.open(workspace) as ws:
            frames = _frames(
                ws,
                interactions=interactions,
                user=user,
                item=item,
                time=time or "ts",
                weight=weight,
                items=items,
                users=users,
            )
            result = evaluate_models(
                [m.strip() for m in models.split(",") if m.strip()], frames, k=k, split=split
            )
            path = write_evaluation_report(
                result, report or ws.root / "reports" / "recommend-evaluation.html"
            )
    except LakeforgeError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _out.print_json(json.dumps(result | {"report": str(path)}))
        return
    view = RichTable(title=f"Recommenders ({split} split, K={k})", header_style="bold cyan")
    metrics = [f"ndcg@{k}", f"recall@{k}", f"hitrate@{k}", f"map@{k}", f"coverage@{k}", "novelty"]
    view.add_column("model")
    for metric in metrics:
        view.add_column(metric, justify="right")
    for name, scores in result["models"].items():
        view.add_row(name, *(f"{scores['overall'][m]:.4f}" for m in metrics))
    _out.print(view)
    _out.print(f"report: {path}")


@recommend_app.command("for")
def recommend_for(
    user_id: Annotated[str, typer.Argument(help="The user (e.g. C00042).")],
    k: Annotated[int, typer.Option("-k", help="How many items.")] = 10,
    explain: Annotated[bool, typer.Option("--explain", help="Say why.")] = False,
    include_purchased: Annotated[
        bool, typer.Option("--include-purchased", help="Allow items the user already has.")
    ] = False,
    in_stock_table: Annotated[
        str | None,
        typer.Option(help="Inventory table: only items with stock on hand (latest date)."),
    ] = None,
    max_per_category: Annotated[
        int | None, typer.Option(help="At most this many items of one category (diversity).")
    ] = None,
    not_interested: Annotated[
        list[str] | None,
        typer.Option("--not-interested", help="A category this user is not interested in."),
    ] = None,
    pin: Annotated[list[str] | None, typer.Option(help="An item to place first.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Saved model (default: the first fitted).")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Top-K recommendations for a user (business rules: stock, diversity, exclusions, pins)."""
    from lakeforge.products.recommend import BusinessRules
    from lakeforge.products.recommend._workspace import load_saved

    try:
        with Workspace.open(workspace) as ws:
            fitted = load_saved(ws, model)
            options: dict[str, Any] = {
                "max_per_category": max_per_category,
                "pinned": tuple(pin or ()),
                "excluded_categories": {user_id: set(not_interested)} if not_interested else {},
            }
            rules = (
                BusinessRules.from_inventory(ws.table(in_stock_table).read(), **options)
                if in_stock_table
                else BusinessRules(**options)
            )
        frame = fitted.recommend(
            [user_id], k=k, exclude_seen=not include_purchased, explain=explain, rules=rules
        )
    except LakeforgeError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _out.print_json(json.dumps({"data": frame.to_dicts(), "count": frame.height}))
        return
    view = RichTable(title=f"Recommendations for {user_id}", header_style="bold cyan")
    for col in ("rank", "item_id", "score", *(["explanation"] if explain else [])):
        view.add_column(col)
    for row in frame.iter_rows(named=True):
        cells = [str(row["rank"]), row["item_id"], f"{row['score']:.4f}"]
        view.add_row(*cells, *([row["explanation"]] if explain else []))
    _out.print(view)


@recommend_app.command("similar")
def similar(
    item_id: Annotated[str, typer.Argument(help="The item (e.g. P0042).")],
    k: Annotated[int, typer.Option("-k", help="How many items.")] = 10,
    model: Annotated[
        str | None, typer.Option(help="Saved model (default: the first fitted).")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Items most similar to an item ("customers who bought this also bought")."""
    from lakeforge.products.recommend._workspace import load_saved

    try:
        with Workspace.open(workspace) as ws:
            fitted = load_saved(ws, model)
        frame = fitted.similar(item_id, k=k)
    except LakeforgeError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _out.print_json(json.dumps({"data": frame.to_dicts(), "count": frame.height}))
        return
    view = RichTable(title=f"Similar to {item_id}", header_style="bold cyan")
    for col in ("rank", "similar_item_id", "score"):
        view.add_column(col)
    for row in frame.iter_rows(named=True):
        view.add_row(str(row["rank"]), row["similar_item_id"], f"{row['score']:.4f}")
    _out.print(view)
