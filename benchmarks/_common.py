"""Shared benchmark plumbing: run a system in a child process, measure wall time and peak RSS."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
WORK = Path(__file__).parent / ".work"


def shared_data() -> Path:
    """LAKEFORGE_DATA or ../shared/data."""
    configured = os.environ.get("LAKEFORGE_DATA")
    return (
        Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"
    )


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_child(module: str, args: list[str], timeout: float = 1800) -> dict[str, Any]:
    """Run ``python -m module args`` and return its JSON line plus wall seconds and peak RSS."""
    WORK.mkdir(parents=True, exist_ok=True)
    peak_file = WORK / f"peak-{os.getpid()}-{time.monotonic_ns()}.kib"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._peak", str(peak_file), module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stdout = proc.stdout.read() if proc.stdout else ""
    stderr = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{stderr[-3000:]}")
    last = [line for line in stdout.splitlines() if line.startswith("{")][-1]
    result: dict[str, Any] = json.loads(last)
    result["process_wall_s"] = round(wall, 3)
    try:  # the child's own high-water mark (ru_maxrss also counts this process at spawn)
        peak_kib = int(peak_file.read_text())
    except (OSError, ValueError):
        peak_kib = usage.ru_maxrss
    finally:
        peak_file.unlink(missing_ok=True)
    result["peak_rss_mb"] = round(peak_kib / 1024, 1)  # KiB
    return result


def write_results(name: str, rows: list[dict[str, Any]]) -> Path:
    """Write ``benchmarks/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return path
