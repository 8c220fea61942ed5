"""Order decisions: the order-up-to arithmetic, case packs, MOQ, newsvendor and reasons."""

from __future__ import annotations

import pandas as pd
import pytest

from lakeforge.errors import ContractError
from lakeforge.products.inventory import InventoryPolicy, plan_orders

Z95 = 1.959963984540054


def _forecast(mean: float = 10.0, sigma: float = 2.0, days: int = 28) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id": "A",
            "ds": pd.date_range("2026-01-01", periods=days, freq="D"),
            "forecast": mean,
            "lo_95": mean - Z95 * sigma,
            "hi_95": mean + Z95 * sigma,
        }
    )


def test_order_up_to_is_demand_plus_safety_stock() -> None:
    stock = pd.DataFrame({"unique_id": ["A"], "on_hand": [30], "on_order": [10]})
    policy = InventoryPolicy(service_level=0.95, review_days=7, lead_time_days=2)
    row = plan_orders(_forecast(), stock, policy=policy).iloc[0]
    assert row["demand_over_protection"] == pytest.approx(90.0)
    assert row["sigma_over_protection"] == pytest.approx(2.0 * 3.0)
    assert row["safety_stock"] == pytest.approx(1.6448536 * 6.0, rel=1e-5)
    assert row["order_up_to"] == pytest.approx(90 + 1.6448536 * 6.0, rel=1e-5)
    assert row["order_qty"] == 60  # 99.87 - 40, rounded up
    assert row["reason"].startswith("reorder 60 units")
    assert "forecast 90 +- 6 over the 9-day lead time" in row["reason"]


def test_case_pack_and_minimum_order() -> None:
    stock = pd.DataFrame(
        {"unique_id": ["A"], "on_hand": [80], "case_pack": [12], "min_order_qty": [48]}
    )
    row = plan_orders(_forecast(), stock, policy=InventoryPolicy(lead_time_days=2)).iloc[0]
    assert row["order_qty"] == 48
    assert row["order_qty"] % 12 == 0


def test_enough_stock_orders_nothing_and_says_why() -> None:
    stock = pd.DataFrame({"unique_id": ["A"], "on_hand": [500]})
    row = plan_orders(_forecast(), stock).iloc[0]
    assert row["order_qty"] == 0
    assert row["reason"].startswith("no order")


def test_higher_service_or_lead_time_variability_holds_more_stock() -> None:
    stock = pd.DataFrame({"unique_id": ["A"], "on_hand": [0]})
    low = plan_orders(_forecast(), stock, policy=InventoryPolicy(service_level=0.8)).iloc[0]
    high = plan_orders(_forecast(), stock, policy=InventoryPolicy(service_level=0.99)).iloc[0]
    shaky = plan_orders(
        _forecast(), stock, policy=InventoryPolicy(service_level=0.99, lead_time_std_days=2)
    ).iloc[0]
    assert low["safety_stock"] < high["safety_stock"] < shaky["safety_stock"]


def test_newsvendor_costs_set_the_service_level() -> None:
    stock = pd.DataFrame({"unique_id": ["A"], "on_hand": [0]})
    policy = InventoryPolicy(stockout_cost=9.0, holding_cost=1.0)
    assert plan_orders(_forecast(), stock, policy=policy).iloc[0]["service_level"] == 0.9


def test_forecast_without_intervals_is_rejected() -> None:
    stock = pd.DataFrame({"unique_id": ["A"], "on_hand": [0]})
    with pytest.raises(ContractError, match="intervals"):
        plan_orders(_forecast().drop(columns=["lo_95", "hi_95"]), stock)
