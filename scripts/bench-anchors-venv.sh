#!/usr/bin/env bash
# Create .venv-anchors: Lakeforge (with the bench extra) beside the benchmark-only anchors of
# the synthetic-data benchmark (SDV GaussianCopula / CTGAN / TVAE, mostlyai-engine TabularARGN).
# SDV and ctgan are BSL-licensed: they live only in this separate virtualenv, never in .venv.
#
#   scripts/bench-anchors-venv.sh            # create or update .venv-anchors
#   nice -n 5 .venv-anchors/bin/python -m benchmarks.bench_synthetic --part adult --slow-anchors
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv-anchors}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# one command, torch pinned in it, so pip never swaps in another torch build
"$VENV/bin/python" -m pip install -e '.[bench]' -r benchmarks/anchors-requirements.txt
# mostlyai-engine pulls torchvision/torchaudio built for another torch: importing transformers
# (and so mostlyai.engine) then fails with "operator torchvision::nms does not exist"
"$VENV/bin/python" -m pip uninstall --yes torchvision torchaudio
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md

import torch
from mostlyai import engine  # noqa: F401
from sdv.single_table import CTGANSynthesizer  # noqa: F401

assert torch.__version__.startswith("2.13.0"), torch.__version__
names = ("torch", "sdv", "ctgan", "rdt", "copulas", "mostlyai-engine", "sdmetrics", "lakeforge")
print("anchors venv ready:", ", ".join(f"{n} {md.version(n)}" for n in names))
PY
