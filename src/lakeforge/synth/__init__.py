"""Synthetic data: synthesizers, multi-table synthesis, the retail world simulator, evaluation."""

from lakeforge.synth._auto import AutoSynthesizer, quick_fidelity
from lakeforge.synth._autoregressive import AutoregressiveSynthesizer
from lakeforge.synth._base import (
    DEFAULT_METHOD,
    SYNTHESIZERS,
    ColumnKind,
    TableSynthesizer,
    infer_kinds,
    load_synthesizer,
)
from lakeforge.synth._copula import CopulaSynthesizer
from lakeforge.synth._dp import DPSynthesizer
from lakeforge.synth._eval_multitable import cardinality_similarity, foreign_key_integrity
from lakeforge.synth._evaluate import (
    MultiTableReport,
    SynthesisReport,
    Thresholds,
    evaluate,
    evaluate_tables,
)
from lakeforge.synth._independent import IndependentSynthesizer
from lakeforge.synth._multitable import SynthesisError, Synthesizer

__all__ = [
    "DEFAULT_METHOD",
    "SYNTHESIZERS",
    "AutoSynthesizer",
    "AutoregressiveSynthesizer",
    "ColumnKind",
    "CopulaSynthesizer",
    "DPSynthesizer",
    "IndependentSynthesizer",
    "MultiTableReport",
    "SynthesisError",
    "SynthesisReport",
    "Synthesizer",
    "TableSynthesizer",
    "Thresholds",
    "cardinality_similarity",
    "evaluate",
    "evaluate_tables",
    "foreign_key_integrity",
    "infer_kinds",
    "load_synthesizer",
    "quick_fidelity",
]
