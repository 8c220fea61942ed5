"""Latent customer segments: who shops how often, for what, at which price, and for how long.

The segment is hidden from the workspace (it is ground truth for the segmentation product);
what a customer buys, how often and through which channel all follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SEGMENTS", "Segment"]


@dataclass(frozen=True)
class Segment:
    """One latent segment's behaviour."""

    name: str
    share: float
    frequency: float  # purchase frequency relative to the configured mean
    basket: float  # mean items per basket relative to the configured mean
    price_sensitivity: float  # >0 prefers cheaper products, <0 premium ones
    favourite_share: float  # share of items that are the customer's staples
    online_share: float  # share of orders placed online
    churn: float  # churn hazard relative to the configured annual churn
    age: tuple[int, int]
    review_propensity: float
    departments: dict[str, float] = field(default_factory=dict)  # preference weights


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "loyal_family", 0.24, 2.0, 1.35, 0.3, 0.35, 0.25, 0.35, (28, 52), 1.0,
        {"Fresh": 5, "Grocery": 5, "Household": 3, "Personal Care": 2, "Pet": 2,
         "Toys & Garden": 1, "Electronics": 0.3, "Home": 0.6},
    ),
    Segment(
        "bargain_hunter", 0.26, 1.1, 1.1, 1.3, 0.2, 0.3, 1.0, (20, 75), 0.8,
        {"Fresh": 3, "Grocery": 5, "Household": 3, "Personal Care": 2, "Pet": 1,
         "Toys & Garden": 0.5, "Electronics": 0.5, "Home": 0.5},
    ),
    Segment(
        "premium_foodie", 0.14, 1.0, 0.9, -0.6, 0.3, 0.4, 0.5, (32, 68), 1.6,
        {"Fresh": 6, "Grocery": 4, "Household": 0.8, "Personal Care": 1.5, "Pet": 0.5,
         "Toys & Garden": 0.5, "Electronics": 0.5, "Home": 1.5},
    ),
    Segment(
        "tech_enthusiast", 0.11, 0.45, 0.6, -0.2, 0.1, 0.75, 1.2, (18, 42), 1.8,
        {"Fresh": 0.6, "Grocery": 1.5, "Household": 0.4, "Personal Care": 0.6, "Pet": 0.2,
         "Toys & Garden": 1.5, "Electronics": 6, "Home": 1},
    ),
    Segment(
        "occasional", 0.25, 0.3, 0.75, 0.5, 0.1, 0.35, 1.9, (18, 85), 0.6,
        {"Fresh": 2, "Grocery": 3, "Household": 1.5, "Personal Care": 1.5, "Pet": 0.7,
         "Toys & Garden": 1, "Electronics": 1, "Home": 1},
    ),
)  # fmt: skip
