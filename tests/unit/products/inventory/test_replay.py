"""The policy replay: arithmetic on a tiny case, and a plan meeting its service target."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lakeforge.products.inventory import InventoryPolicy, plan_orders, replay_policy, replay_series


def test_replay_counts_sales_stockouts_and_deliveries() -> None:
    result = replay_series(
        [5, 5, 5, 5],
        policy="order_up_to",
        order_up_to=10,
        on_hand=6,
        review_days=2,
        lead_time_days=1,
    )
    # day1 sell 5 (1 left); day2 sell 1 of 5 (stock-out), order 10 arrives day 4
    assert result.stockout_days == 2
    assert result.sales == 5 + 1 + 0 + 5
    assert result.cycles == 2
    assert result.cycle_service_level == 0.0
    assert result.fill_rate == pytest.approx(11 / 20)


def test_order_up_to_plan_meets_its_target_and_beats_naive() -> None:
    rng = np.random.default_rng(7)
    days, mean, series = 364, 10.0, 40
    z95 = 1.959963984540054
    sigma = math.sqrt(mean)
    ids = [f"S{i}" for i in range(series)]
    forecast = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, 28),
            "forecast": mean,
            "lo_95": mean - z95 * sigma,
            "hi_95": mean + z95 * sigma,
        }
    )
    stock = pd.DataFrame({"unique_id": ids, "on_hand": 7 * mean})  # one period's sales
    policy = InventoryPolicy(service_level=0.95, review_days=7, lead_time_days=3)
    plan = plan_orders(forecast, stock, policy=policy)
    truth = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, days),
            "ds": np.tile(np.arange(days), series),
            "demand": rng.poisson(mean, days * series).astype(float),
        }
    )
    planned = replay_policy(truth, plan, policy="order_up_to")
    naive = replay_policy(truth, plan, policy="naive")
    assert abs(planned["cycle_service_level"].mean() - 0.95) < 0.03
    assert planned["stockout_days"].sum() < 0.85 * naive["stockout_days"].sum()
    assert planned["fill_rate"].mean() > naive["fill_rate"].mean()
