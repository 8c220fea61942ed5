"""The benchmark pages are rendered from the results, with what the numbers meet."""

from __future__ import annotations

from pathlib import Path

from benchmarks._summary import _ingest_verdict, update_project_readme


def _row(system: str, polars: float, pandera: float) -> dict[str, object]:
    return {"system": system, "ratio_vs_polars": polars, "ratio_vs_pandera": pandera}


def test_the_ingest_verdict_follows_the_ratios() -> None:
    anchor = _row("polars read + checks (anchor)", 1.0, 4.0)
    slow = [anchor, _row("Lakeforge ingest", 0.63, 2.8), _row("Lakeforge ingest", 1.2, 4.0)]
    fast = [anchor, _row("Lakeforge ingest", 1.1, 2.1)]
    assert "0.63 / 1.20: **not met**" in _ingest_verdict(slow)
    assert _ingest_verdict(fast).endswith("2.10: met.")
    assert "not met" not in _ingest_verdict(fast)
    assert "1.90: **not met**" in _ingest_verdict([_row("Lakeforge ingest", 1.1, 1.9)])


def test_the_project_readme_gets_only_lakeforge_rows(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- bench:start -->\nSTALE-ROWS\n<!-- bench:end -->\n\ntail\n")
    assert update_project_readme(readme)
    text = readme.read_text()
    between = text.split("<!-- bench:start -->")[1].split("<!-- bench:end -->")[0]
    assert "STALE-ROWS" not in between
    assert "| Lakeforge ingest" in between
    assert "(anchor)" not in between
    assert text.endswith("\n\ntail\n")
    assert not update_project_readme(tmp_path / "missing.md")
