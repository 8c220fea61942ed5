"""Product recommendations: collaborative, content-based and hybrid models, explained.

Example:
    >>> from lakeforge.products.recommend import Auto
    >>> model = Auto().fit(interactions, items=products)  # doctest: +SKIP
    >>> model.recommend(["C00042"], k=10, explain=True)  # doctest: +SKIP
"""

from lakeforge.products.recommend._base import BusinessRules, Recommender, load_model
from lakeforge.products.recommend._hybrid import Auto, Hybrid, default_candidates
from lakeforge.products.recommend._metrics import (
    evaluate,
    evaluate_model,
    random_split,
    ranking_metrics,
    time_split,
)
from lakeforge.products.recommend._models import (
    ALS,
    EASE,
    BuyAgain,
    Content,
    ItemKNN,
    MostPopular,
)

__all__ = [
    "ALS",
    "EASE",
    "Auto",
    "BusinessRules",
    "BuyAgain",
    "Content",
    "Hybrid",
    "ItemKNN",
    "MostPopular",
    "Recommender",
    "default_candidates",
    "evaluate",
    "evaluate_model",
    "load_model",
    "random_split",
    "ranking_metrics",
    "time_split",
]
