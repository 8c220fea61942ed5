"""``lakeforge simulate retail``: the CLI shell over the simulator API."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lakeforge.cli._simulate import simulate_app

runner = CliRunner()
SIZE = ["--stores", "2", "--products", "30", "--customers", "200", "--days", "60"]


def test_retail_writes_the_world(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(simulate_app, ["retail", *SIZE, "--seed", "3", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "daily_sales.parquet").is_file()
    assert (out / "truth" / "demand.parquet").is_file()
    assert (out / "contracts" / "orders.yaml").is_file()
    assert "daily sales rows" in result.output


def test_retail_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["retail", *SIZE, "--out", str(out), "--format", "csv", "--json"]
    result = runner.invoke(simulate_app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["config"]["stores"] == 2
    assert summary["config"]["seed"] == 7
    assert summary["row_counts"]["daily_sales"] > 0
    assert summary["tables"]["orders"].endswith("orders.csv")


def test_retail_dirty_reports_faults(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(simulate_app, ["retail", *SIZE, "--out", str(out), "--dirty", "0.02"])
    assert result.exit_code == 0, result.output
    assert (out / "truth" / "faults.parquet").is_file()
    assert "faults injected" in result.output


def test_unknown_preset_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(simulate_app, ["retail", "--preset", "huge", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown preset" in result.output


def test_bad_dirty_fails_cleanly_as_json(tmp_path: Path) -> None:
    result = runner.invoke(
        simulate_app, ["retail", *SIZE, "--dirty", "2", "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["code"] == "config_error"
