"""Child process of ``bench_synthetic --part large``: one streamed sample, measured alone.

``python -m benchmarks._synth_large OUT CHILD_ROWS SINK`` prints one JSON line (the result of
``lakeforge.synth._stream.measure_large_child``); the parent reads the peak resident set of
this process, so each size and sink runs in a fresh one.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from lakeforge.synth._stream import measure_large_child

    out, child_rows, sink = Path(argv[0]), int(argv[1]), argv[2]
    try:
        if sink not in ("none", "delta", "workspace"):
            raise SystemExit(f"unknown sink {sink!r}")
        result = measure_large_child(out, child_rows=child_rows, sink=sink)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
