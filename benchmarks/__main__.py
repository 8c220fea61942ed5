"""Run every benchmark: ``python -m benchmarks [ingest simulator ...]``."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["ingest", "simulator", "service", "forecast", "recommend", "synthetic"]


def main() -> int:
    wanted = sys.argv[1:] or BENCHMARKS
    failures = 0
    for name in wanted:
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
        except ModuleNotFoundError as exc:
            print(f"benchmark {name}: not available ({exc})")
            continue
        print(f"== benchmark: {name}")
        failures += int(module.main([]) != 0)
    from benchmarks._summary import main as write_summary

    write_summary()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
