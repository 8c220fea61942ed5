"""The policy replay: arithmetic on a tiny case, and a plan meeting its service target."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lakeforge.errors import ContractError
from lakeforge.products.inventory import (
    InventoryPolicy,
    naive_at_inventory,
    naive_at_total_inventory,
    order_up_to_schedule,
    plan_orders,
    replay_policy,
    replay_series,
    total_average_inventory,
)


def test_replay_counts_sales_stockouts_and_deliveries() -> None:
    result = replay_series(
        [5, 5, 5, 5],
        policy="order_up_to",
        order_up_to=10,
        on_hand=6,
        review_days=2,
        lead_time_days=1,
    )
    # day 0 review: order 4 (arrives day 1), sell 5 (1 left); day 1: 5 on hand, sell 5;
    # day 2 review: order 10 (arrives day 3), nothing on hand: stock-out; day 3: sell 5
    assert result.stockout_days == 1
    assert result.sales == 5 + 5 + 0 + 5
    assert result.cycles == 2
    assert result.cycle_service_level == 0.5
    assert result.fill_rate == pytest.approx(15 / 20)


def test_pipeline_warm_up_and_naive_first_order() -> None:
    result = replay_series(
        [4, 4, 4, 4, 4, 4],
        policy="naive",
        on_hand=4,
        review_days=3,
        lead_time_days=2,
        last_period_sales=8,
        pipeline=[(1, 4)],
        warm_up_days=2,
    )
    # day 0: order 8 (arrives day 2), sell 4; day 1: +4 in the pipeline, sell 4; day 2: +8,
    # sell 4 (4 left); day 3: order the 12 sold, sell 4; day 4: sell 0 of 4; day 5: +12
    assert result.days == 4  # days 2-5 scored
    assert result.stockout_days == 1
    assert result.sales == 4 + 4 + 0 + 4
    assert result.cycles == 1  # the cycle starting on day 3 (day 0's is in the warm-up)


def test_naive_at_inventory_holds_at_least_the_target() -> None:
    rng = np.random.default_rng(2)
    demand = rng.poisson(6.0, 120).astype(float)
    settings = {"review_days": 7, "lead_time_days": 3.0}
    low = replay_series(demand, policy="naive", on_hand=30, **settings)
    high = replay_series(demand, policy="naive", on_hand=90, **settings)
    assert low.average_inventory < high.average_inventory
    target = (low.average_inventory + high.average_inventory) / 2
    result, start = naive_at_inventory(demand, average_inventory=target, **settings)
    assert 30 < start < 90
    assert target <= result.average_inventory < target + 1.0


def test_naive_at_total_inventory_scales_every_start_to_the_target() -> None:
    rng = np.random.default_rng(4)
    ids = ["A", "B", "C"]
    truth = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, 70),
            "ds": np.tile(np.arange(70), 3),
            "demand": rng.poisson(np.repeat([2.0, 8.0, 20.0], 70)).astype(float),
        }
    )
    plan = pd.DataFrame(
        {
            "unique_id": ids,
            "on_hand": [10.0, 40.0, 100.0],
            "order_up_to": 0.0,
            "review_days": 7,
            "lead_time_days": 3.0,
            "case_pack": [1, 1, 6],
        }
    )
    full = total_average_inventory(replay_policy(truth, plan, policy="naive"))
    target = 0.6 * full
    result, scale = naive_at_total_inventory(truth, plan, average_inventory=target)
    assert 0 < scale < 1
    assert target <= total_average_inventory(result) < target * 1.01
    assert set(result["unique_id"]) == set(ids)
    assert (result["policy"] == "naive").all()
    more, above = naive_at_total_inventory(truth, plan, average_inventory=2.5 * full)
    assert above > 1
    assert total_average_inventory(more) >= 2.5 * full
    with pytest.raises(ContractError, match="average_inventory"):
        naive_at_total_inventory(truth, plan, average_inventory=-1.0)


def test_schedule_raises_the_level_before_a_promotion() -> None:
    steps = 42
    mean = np.full(steps, 10.0)
    mean[21:28] = 30.0  # a promotion in the fourth week
    forecast = pd.DataFrame(
        {"unique_id": "A", "forecast": mean, "hi_95": mean + 1.96 * np.sqrt(mean)}
    )
    stock = pd.DataFrame({"unique_id": ["A"], "on_hand": [0.0], "lead_time_days": [7.0]})
    policy = InventoryPolicy(review_days=7)
    levels = order_up_to_schedule(forecast, stock, reviews=4, policy=policy)["A"]
    assert levels[0] == pytest.approx(levels[1])
    assert levels[2] > levels[1] + 100  # review 2 protects days 14-27, promotion included
    assert levels[3] > levels[0]


def test_rolling_plan_beats_naive_at_equal_inventory() -> None:
    rng = np.random.default_rng(11)
    series, days, reviews = 60, 84, 10
    ids = [f"S{i}" for i in range(series)]
    frames, truths = [], []
    for uid in ids:
        mean = np.full(days + 21, rng.uniform(4, 20))
        start = int(rng.integers(7, days - 14))
        mean[start : start + 7] *= rng.uniform(1.5, 2.5)  # a known promotion
        sigma = np.sqrt(mean)
        frames.append(
            pd.DataFrame({"unique_id": uid, "forecast": mean, "hi_95": mean + 1.96 * sigma})
        )
        truths.append(
            pd.DataFrame(
                {"unique_id": uid, "ds": np.arange(days), "demand": rng.poisson(mean[:days])}
            )
        )
    forecast = pd.concat(frames, ignore_index=True)
    truth = pd.concat(truths, ignore_index=True).astype({"demand": float})
    policy = InventoryPolicy(service_level=0.95, review_days=7, lead_time_days=4)
    stock = pd.DataFrame({"unique_id": ids, "on_hand": 0.0})
    schedule = order_up_to_schedule(forecast, stock, reviews=reviews, policy=policy)
    plan = plan_orders(forecast, stock, policy=policy)
    plan["on_hand"] = [math.ceil(schedule[u][0]) for u in plan["unique_id"]]
    planned = replay_policy(truth, plan, policy="order_up_to", schedule=schedule, warm_up=True)
    held = dict(zip(planned["unique_id"], planned["average_inventory"], strict=True))
    naive = replay_policy(truth, plan, policy="naive", match_inventory=held, warm_up=True)
    service = planned["cycles_without_stockout"].sum() / planned["cycles"].sum()
    assert abs(service - 0.95) < 0.03
    assert (naive["average_inventory"] >= planned["average_inventory"] - 1e-9).all()
    assert planned["stockout_days"].sum() < 0.85 * naive["stockout_days"].sum()


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
