"""The retail world simulator: a seeded, agent-based retail business with its ground truth.

It writes every table of a small retailer (stores, products, customers, calendar,
promotions, daily sales censored by stock, inventory, replenishment orders, customer
orders and their lines, payments with labelled fraud, reviews), each with its contract,
and keeps the hidden truth (uncensored demand, preferences, segments, fraud labels) apart
so data products can be scored against it::

    from pathlib import Path
    from lakeforge.synth.simulator import RetailConfig, simulate_retail

    result = simulate_retail(Path("world"), RetailConfig.preset("small", seed=7))
    result.row_counts["daily_sales"]
"""

from lakeforge.synth.simulator._config import PRESETS, PresetName, RetailConfig
from lakeforge.synth.simulator._contracts import FACT_TABLES, TABLE_ORDER, build_contracts
from lakeforge.synth.simulator._dirt import FAULT_KINDS
from lakeforge.synth.simulator._simulate import (
    SimulationResult,
    simulate_retail,
    simulate_retail_into,
)

__all__ = [
    "FACT_TABLES",
    "FAULT_KINDS",
    "PRESETS",
    "TABLE_ORDER",
    "PresetName",
    "RetailConfig",
    "SimulationResult",
    "build_contracts",
    "simulate_retail",
    "simulate_retail_into",
]
