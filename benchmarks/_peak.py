"""Run ``python -m benchmarks._peak FILE MODULE ARGS...``: MODULE as ``__main__``, then write its
own peak resident memory (``VmHWM``, KiB) to FILE.

``getrusage``'s ``ru_maxrss`` of a child started by ``subprocess`` also counts the parent's
memory at the time of the fork/exec on Linux, so a small system run from a large benchmark
process would report the benchmark's size; ``VmHWM`` of the exec'd image does not.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def _write_peak(path: Path) -> None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            path.write_text(line.split()[1])
            return


def main() -> None:
    target, module, *args = sys.argv[1:]
    atexit.register(_write_peak, Path(target))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
