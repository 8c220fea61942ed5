"""Seeded interaction data with a planted co-purchase structure."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

N_GROUPS, ITEMS_PER_GROUP, N_USERS = 4, 15, 240


def planted_interactions(seed: int = 0) -> pl.DataFrame:
    """Each user buys within one item group (their segment); items are popularity-skewed."""
    rng = np.random.default_rng(seed)
    rows = []
    skew = 1.0 / np.arange(1, ITEMS_PER_GROUP + 1) ** 0.7
    skew /= skew.sum()
    for user in range(N_USERS):
        group = user % N_GROUPS
        picks = rng.choice(ITEMS_PER_GROUP, size=7, replace=False, p=skew)
        for ts, pick in enumerate(picks):
            rows.append((f"U{user:03d}", f"I{group * ITEMS_PER_GROUP + pick:03d}", ts))
    # one loud, globally popular group-0 item bought by a third of everyone
    for user in range(0, N_USERS, 3):
        rows.append((f"U{user:03d}", "I000", 100))
    return pl.DataFrame(rows, schema=["user_id", "item_id", "ts"], orient="row")


def item_table() -> pl.DataFrame:
    """Metadata for every item plus one brand-new item I999 in group 1 (no interactions)."""
    ids = [f"I{n:03d}" for n in range(N_GROUPS * ITEMS_PER_GROUP)] + ["I999"]
    groups = [n // ITEMS_PER_GROUP for n in range(N_GROUPS * ITEMS_PER_GROUP)] + [1]
    words = ["garden", "kitchen", "sports", "office"]
    return pl.DataFrame(
        {
            "item_id": ids,
            "category": [f"cat{g}" for g in groups],
            "brand": [f"brand{g}" for g in groups],
            "name": [f"{words[g]} thing {n}" for n, g in enumerate(groups)],
        }
    )


def user_table() -> pl.DataFrame:
    """Segments for every user plus a new user per segment with no history."""
    users = [f"U{u:03d}" for u in range(N_USERS)] + [f"NEW{g}" for g in range(N_GROUPS)]
    segments = [f"seg{u % N_GROUPS}" for u in range(N_USERS)] + [f"seg{g}" for g in range(N_GROUPS)]
    return pl.DataFrame({"user_id": users, "segment": segments})


@pytest.fixture
def interactions() -> pl.DataFrame:
    return planted_interactions()


@pytest.fixture
def items() -> pl.DataFrame:
    return item_table()


@pytest.fixture
def users() -> pl.DataFrame:
    return user_table()
