"""Shared fixtures: an isolated environment, a fresh workspace, the shared datasets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import lakeforge as lf
from lakeforge.config import get_settings

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Where the real datasets live (LAKEFORGE_DATA, default ../shared/data)."""
    configured = os.environ.get("LAKEFORGE_DATA")
    return Path(configured) if configured else (REPO.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("LAKEFORGE_") and name not in (
            "LAKEFORGE_DATA",
            "LAKEFORGE_TEST_PG_URL",
        ):
            monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[lf.Workspace]:
    ws = lf.Workspace.init(tmp_path / "shop")
    yield ws
    ws.close()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set LAKEFORGE_DATA)")
    return path
