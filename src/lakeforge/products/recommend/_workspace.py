"""Recommenders over lake tables: read interactions through a Workspace, save models inside it.

Example:
    >>> ws = lf.Workspace.open("shop")  # doctest: +SKIP
    >>> frames = read_training_frames(ws, "order_items", user="customer_id", item="product_id")
    >>> fit_and_save(ws, ["auto"], frames)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from lakeforge.errors import ContractError, NotFoundError
from lakeforge.products.recommend._base import MODEL_REGISTRY, Recommender, load_model
from lakeforge.products.recommend._frames import as_interactions
from lakeforge.products.recommend._metrics import evaluate, random_split, time_split
from lakeforge.products.recommend._report import render_evaluation_html
from lakeforge.workspace import Workspace

__all__ = [
    "MODEL_CHOICES",
    "TrainingFrames",
    "evaluate_models",
    "fit_and_save",
    "load_saved",
    "make_model",
    "models_dir",
    "read_training_frames",
    "write_evaluation_report",
]

MODEL_CHOICES: dict[str, tuple[str, dict[str, Any]]] = {
    "auto": ("Auto", {}),
    "popular": ("MostPopular", {}),
    "itemknn": ("ItemKNN", {}),
    "als": ("ALS", {}),
    "ease": ("EASE", {}),
    "content": ("Content", {}),
    "hybrid": (
        "Hybrid",
        {
            "components": [["ItemKNN", {}], ["Content", {}], ["MostPopular", {}]],
            "weights": [0.6, 0.3, 0.1],
        },
    ),
}


@dataclass(frozen=True)
class TrainingFrames:
    """What a recommender learns from: interactions and optional item / user tables."""

    interactions: pl.DataFrame
    items: pl.DataFrame | None = None
    users: pl.DataFrame | None = None


def _read(ws: Workspace, table: str) -> pl.DataFrame:
    out = pl.from_arrow(ws.table(table).read())
    assert isinstance(out, pl.DataFrame)
    return out


def read_training_frames(
    ws: Workspace,
    interactions: str,
    *,
    user: str = "user_id",
    item: str = "item_id",
    time: str | None = "ts",
    weight: str | None = None,
    items: str | None = None,
    users: str | None = None,
    orders: str = "orders",
) -> TrainingFrames:
    """Read the interactions table and the optional item and user tables.

    Order lines without the user or time (the simulated shop's ``order_items``) are joined to
    ``orders`` by ``order_id`` to get them.
    """
    frame = _read(ws, interactions)
    missing = [c for c in (user, time) if c and c not in frame.columns]
    if missing and "order_id" in frame.columns:
        head = _read(ws, orders)
        time_col = time if time in head.columns else "ordered_at"
        wanted = [c for c in ("order_id", user, time_col) if c in head.columns]
        frame = frame.join(head.select(wanted), on="order_id", how="left")
        if time and time not in frame.columns and time_col in frame.columns:
            time = time_col
    if user not in frame.columns or item not in frame.columns:
        raise ContractError(
            f"table `{interactions}` has no `{user}` or `{item}` column "
            f"(columns: {', '.join(frame.columns)}); pass --user/--item",
            table=interactions,
        )
    normal = as_interactions(
        frame,
        user_col=user,
        item_col=item,
        time_col=time or "ts",
        weight_col=weight,
    )
    item_frame = _read(ws, items) if items else None
    if (
        item_frame is not None
        and "item_id" not in item_frame.columns
        and item in item_frame.columns
    ):
        item_frame = item_frame.rename({item: "item_id"})
    user_frame = _read(ws, users) if users else None
    if (
        user_frame is not None
        and "user_id" not in user_frame.columns
        and user in user_frame.columns
    ):
        user_frame = user_frame.rename({user: "user_id"})
    return TrainingFrames(normal, item_frame, user_frame)


def models_dir(ws: Workspace) -> Path:
    """``<workspace>/models/recommend``."""
    return ws.root / "models" / "recommend"


def make_model(choice: str) -> Recommender:
    """A fresh model for a ``--models`` choice (auto, popular, itemknn, als, ease, ...)."""
    if choice not in MODEL_CHOICES:
        raise ContractError(f"unknown model {choice!r}; choose from {', '.join(MODEL_CHOICES)}")
    name, params = MODEL_CHOICES[choice]
    return MODEL_REGISTRY[name](**params)


def fit_and_save(ws: Workspace, choices: Sequence[str], frames: TrainingFrames) -> dict[str, Path]:
    """Fit each model, save it under the workspace; the first becomes the default."""
    saved: dict[str, Path] = {}
    for choice in choices:
        model = make_model(choice).fit(frames.interactions, items=frames.items, users=frames.users)
        saved[choice] = model.save(models_dir(ws) / choice)
    if saved:
        (models_dir(ws) / "DEFAULT").write_text(next(iter(saved)) + "\n")
    return saved


def load_saved(ws: Workspace, name: str | None = None) -> Recommender:
    """A model saved by :func:`fit_and_save` (the default one when ``name`` is None)."""
    folder = models_dir(ws)
    if name is None:
        marker = folder / "DEFAULT"
        if not marker.is_file():
            raise NotFoundError(
                "no recommender in this workspace yet; run `lakeforge recommend fit` first"
            )
        name = marker.read_text().strip()
    if not (folder / name / "model.json").is_file():
        known = sorted(p.name for p in folder.glob("*") if (p / "model.json").is_file())
        raise NotFoundError(f"no saved recommender {name!r} (saved: {', '.join(known) or 'none'})")
    return load_model(folder / name)


def evaluate_models(
    choices: Sequence[str],
    frames: TrainingFrames,
    *,
    k: int = 10,
    split: str = "time",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> dict[str, Any]:
    """Split (by time unless ``split="random"``), fit each model and MostPopular, score them."""
    if split == "random":
        train, test = random_split(frames.interactions, test_fraction=test_fraction, seed=seed)
    else:
        train, test = time_split(frames.interactions, test_fraction=test_fraction)
    results: dict[str, Any] = {}
    for choice in dict.fromkeys(["popular", *choices]):
        model = make_model(choice).fit(train, items=frames.items, users=frames.users)
        users = test["user_id"].unique().sort().to_list()
        recs = model.recommend(users, k=k)
        results[choice] = evaluate(recs, train, test, k=k, n_items=len(model.item_ids_))
    return {
        "split": split,
        "k": k,
        "train_rows": train.height,
        "test_rows": test.height,
        "models": results,
    }


def write_evaluation_report(report: dict[str, Any], path: Path) -> Path:
    """A self-contained HTML page (tables, inline SVG charts, model vs the baseline) + JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_evaluation_html(report))
    (path.with_suffix(".json")).write_text(json.dumps(report, indent=2))
    return path
