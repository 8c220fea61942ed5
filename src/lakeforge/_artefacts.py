"""Saved artefacts (models, synthesizers) record the Lakeforge version that wrote them."""

from __future__ import annotations

import warnings
from pathlib import Path

from lakeforge._version import __version__

__all__ = ["warn_if_other_version"]


def warn_if_other_version(saved: object, what: str, folder: Path, *, symptom: str) -> None:
    """Warn when the artefact in ``folder`` was saved by another Lakeforge version.

    ``what`` names the artefact ("synthesizer"), ``symptom`` what would look wrong
    ("samples"); the warning points at the caller of the ``load`` that called this.
    """
    if saved != __version__:
        warnings.warn(
            f"{what} at {folder} was saved by Lakeforge {saved}, this is {__version__}; "
            f"refit if {symptom} look wrong",
            UserWarning,
            stacklevel=3,
        )
