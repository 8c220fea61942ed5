"""Small seeded series for the forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

DAYS = 182


@pytest.fixture(scope="session")
def series() -> pd.DataFrame:
    """Seasonal with trend, constant, intermittent, all-zero, short and one-point series."""
    rng = np.random.default_rng(0)
    ds = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    t = np.arange(DAYS)
    frames = [
        pd.DataFrame(
            {
                "unique_id": "seasonal",
                "ds": ds,
                "y": 50 + 0.2 * t + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, DAYS),
            }
        ),
        pd.DataFrame({"unique_id": "constant", "ds": ds, "y": 5.0}),
        pd.DataFrame(
            {"unique_id": "intermittent", "ds": ds, "y": rng.poisson(0.4, DAYS).astype(float)}
        ),
        pd.DataFrame({"unique_id": "zero", "ds": ds, "y": 0.0}),
        pd.DataFrame({"unique_id": "short", "ds": ds[-5:], "y": [1.0, 2.0, 3.0, 4.0, 5.0]}),
        pd.DataFrame({"unique_id": "one", "ds": ds[-1:], "y": [3.0]}),
    ]
    return pd.concat(frames, ignore_index=True)
