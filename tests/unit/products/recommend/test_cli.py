"""The `recommend` sub-app end to end on a small workspace (fit, for, similar, evaluate)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

import lakeforge as lf
from lakeforge.cli._recommend import recommend_app

from .conftest import item_table, planted_interactions


def shop(tmp_path: Path) -> Path:
    ws = lf.Workspace.init(tmp_path / "shop")
    lines = planted_interactions().with_row_index("n")
    orders = lines.select(
        pl.format("O{}", pl.col("n")).alias("order_id"),
        pl.col("user_id").alias("customer_id"),
        pl.col("ts").alias("ordered_at"),
    )
    items = lines.select(
        pl.format("O{}", pl.col("n")).alias("order_id"),
        pl.col("item_id").alias("product_id"),
        pl.lit(1).alias("quantity"),
    )
    products = item_table().rename({"item_id": "product_id"})
    for name, frame in (("orders", orders), ("order_items", items), ("products", products)):
        frame.write_csv(tmp_path / f"{name}.csv")
        ws.ingest(tmp_path / f"{name}.csv", table=name)
    ws.close()
    return tmp_path / "shop"


def test_fit_then_recommend_and_similar(tmp_path: Path):
    root = shop(tmp_path)
    runner = CliRunner()
    fitted = runner.invoke(
        recommend_app,
        [
            "fit",
            "--models",
            "itemknn,content",
            "--items",
            "products",
            "--weight",
            "quantity",
            "-w",
            str(root),
            "--json",
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    assert (root / "models" / "recommend" / "itemknn" / "model.json").is_file()

    answer = runner.invoke(
        recommend_app, ["for", "U001", "-k", "3", "--explain", "-w", str(root), "--json"]
    )
    assert answer.exit_code == 0, answer.output
    data = json.loads(answer.output)["data"]
    assert len(data) == 3 and data[0]["because"]

    alike = runner.invoke(
        recommend_app, ["similar", "I020", "-k", "3", "--model", "content", "-w", str(root)]
    )
    assert alike.exit_code == 0, alike.output
    assert "I0" in alike.output

    missing = runner.invoke(recommend_app, ["for", "U001", "--model", "nope", "-w", str(root)])
    assert missing.exit_code == 1


def test_evaluate_writes_a_report(tmp_path: Path):
    root = shop(tmp_path)
    result = CliRunner().invoke(
        recommend_app, ["evaluate", "--models", "itemknn", "-k", "5", "-w", str(root), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["models"]) == {"popular", "itemknn"}
    page = Path(report["report"]).read_text()
    # self-contained: charts drawn inline, nothing fetched
    assert page.count("<svg") >= 11  # 7 overall metrics + 4 by activity
    assert "<script" not in page and "src=" not in page and "href=" not in page
    for metric in ("ndcg@5", "recall@5", "hitrate@5", "map@5", "coverage@5", "novelty"):
        assert metric in page
    assert "popularity_bias" in page and "By user activity" in page
    assert "(baseline)" in page and 'class="baseline"' in page
    groups = report["models"]["itemknn"]["by_activity"]
    assert groups and all(f">{group}<" in page for group in groups)


def test_for_applies_stock_and_user_rules(tmp_path: Path):
    root = shop(tmp_path)
    stocked = [f"I{n:03d}" for n in range(0, 60, 3)]
    inventory = pl.DataFrame(
        {
            "date": ["2024-02-01"] * 60,
            "product_id": [f"I{n:03d}" for n in range(60)],
            "on_hand_close": [4 if f"I{n:03d}" in stocked else 0 for n in range(60)],
        }
    )
    inventory.write_csv(tmp_path / "inventory.csv")
    with lf.Workspace.open(root) as ws:
        ws.ingest(tmp_path / "inventory.csv", table="inventory")
    runner = CliRunner()
    fitted = runner.invoke(
        recommend_app, ["fit", "--models", "ease", "--items", "products", "-w", str(root)]
    )
    assert fitted.exit_code == 0, fitted.output
    answer = runner.invoke(
        recommend_app,
        [
            "for",
            "U001",
            "-k",
            "6",
            "--in-stock-table",
            "inventory",
            "--not-interested",
            "cat1",
            "--max-per-category",
            "2",
            "-w",
            str(root),
            "--json",
        ],
    )
    assert answer.exit_code == 0, answer.output
    items = [row["item_id"] for row in json.loads(answer.output)["data"]]
    categories = dict(item_table().select("item_id", "category").iter_rows())
    assert len(items) == 6 and set(items) <= set(stocked)
    assert "cat1" not in {categories[i] for i in items}
    assert max(Counter(categories[i] for i in items).values()) <= 2
