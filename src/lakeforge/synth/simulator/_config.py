"""The simulator's parameters, its presets and the seeded random streams derived from them."""

from __future__ import annotations

import datetime as dt
from enum import IntEnum
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lakeforge.errors import ConfigError

__all__ = ["PRESETS", "PresetName", "RetailConfig", "Stream", "rng_for"]

PresetName = Literal["small", "medium", "large"]


class Stream(IntEnum):
    """One independent random stream per concern, so changing one table leaves the others."""

    STORES = 1
    PRODUCTS = 2
    CUSTOMERS = 3
    CALENDAR = 4
    PROMOTIONS = 5
    PRICES = 6
    DEMAND_PARAMETERS = 7
    DAILY_SALES = 8
    BASKETS = 9
    PAYMENTS = 10
    FRAUD = 11
    REVIEWS = 12
    DIRT = 13


def rng_for(seed: int, stream: Stream, chunk: int = 0) -> np.random.Generator:
    """The generator for one stream (and one chunk of it): a pure function of its arguments."""
    return np.random.default_rng([seed, int(stream), chunk])


class RetailConfig(BaseModel):
    """Everything that shapes a simulated retail world; the same config gives the same bytes.

    Example:
        >>> config = RetailConfig.preset("small", seed=11)
        >>> config.stores, config.days
        (5, 365)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    stores: int = Field(default=5, ge=1, le=999, description="number of stores")
    products: int = Field(default=200, ge=20, le=99_999, description="number of products")
    customers: int = Field(default=5_000, ge=50, le=9_999_999, description="loyalty customers")
    days: int = Field(default=365, ge=56, le=3_650, description="length of the history")
    start_date: dt.date = Field(default=dt.date(2023, 1, 2), description="first simulated day")
    seed: int = Field(default=7, ge=0, description="the one seed every stream derives from")

    elasticity_range: tuple[float, float] = Field(
        default=(-2.4, -0.6),
        description="own-price elasticity drawn per category (regular price changes)",
    )
    promo_uplift_range: tuple[float, float] = Field(
        default=(0.3, 1.5),
        description="demand lift on promotion days, per product (0.5 = +50%, discount included)",
    )
    promo_discount_range: tuple[float, float] = Field(
        default=(0.1, 0.35), description="price cut of a promotion"
    )
    promos_per_product_year: float = Field(default=3.0, ge=0.0, le=20.0)
    post_promo_dip: float = Field(
        default=0.2, ge=0.0, lt=1.0, description="demand loss the week after a promotion"
    )
    cannibalisation: float = Field(
        default=0.25, ge=0.0, lt=1.0, description="loss when every sibling is on promotion"
    )
    slow_mover_share: float = Field(
        default=0.3, ge=0.0, le=1.0, description="share of products that are slow movers"
    )
    price_changes_per_product_year: float = Field(default=1.5, ge=0.0, le=12.0)
    orders_per_customer_year: float = Field(
        default=14.0, gt=0.0, le=200.0, description="mean purchase frequency of active customers"
    )
    basket_mean_items: float = Field(default=3.6, ge=1.0, le=20.0)
    annual_churn: float = Field(default=0.25, ge=0.0, le=1.0)
    review_rate: float = Field(default=0.06, ge=0.0, le=1.0)
    fraud_rate: float = Field(
        default=0.008, ge=0.0, le=0.05, description="share of payments that are fraudulent"
    )
    chunk_cells: int = Field(
        default=1_500_000,
        ge=1_000,
        description="store x product x day cells generated per chunk (memory stays flat)",
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> RetailConfig:
        problems: list[str] = []
        for name in ("elasticity_range", "promo_uplift_range", "promo_discount_range"):
            low, high = getattr(self, name)
            if low > high:
                problems.append(f"{name}: the low end {low} is above the high end {high}")
        if self.elasticity_range[1] >= 0:
            problems.append("elasticity_range must be negative (demand falls as price rises)")
        if self.promo_uplift_range[0] < 0:
            problems.append("promo_uplift_range must not be negative")
        if not (self.promo_discount_range[0] > 0 and self.promo_discount_range[1] < 0.9):
            problems.append("promo_discount_range must lie in (0, 0.9)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def end_date(self) -> dt.date:
        """The last simulated day."""
        return self.start_date + dt.timedelta(days=self.days - 1)

    @property
    def daily_sales_cells(self) -> int:
        """Store x product x day cells (daily_sales rows before assortment gaps)."""
        return self.stores * self.products * self.days

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> RetailConfig:
        """A named preset (``small``, ``medium``, ``large``), with optional overrides.

        Raises:
            ConfigError: the name is not a preset or an override is invalid.
        """
        if name not in PRESETS:
            raise ConfigError(
                f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}"
            )
        base = PRESETS[name].model_dump()
        base.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(base)
        except ValueError as exc:
            raise ConfigError(f"invalid simulator settings: {exc}") from None


PRESETS: dict[str, RetailConfig] = {
    "small": RetailConfig(stores=5, products=200, customers=5_000, days=365),
    "medium": RetailConfig(stores=10, products=500, customers=20_000, days=730),
    "large": RetailConfig(stores=20, products=1_000, customers=50_000, days=730),
}
