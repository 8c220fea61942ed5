# Data tables read best one row per line, so long lines are allowed in this module.
# ruff: noqa: E501
"""The product taxonomy the simulated retailer sells: departments, categories, subcategories.

Each subcategory carries what the simulation needs to make its products behave plausibly:
a price band, shelf life, yearly seasonality, the noun reviews talk about, and the
subcategory it is bought with (co-purchase affinity).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEPARTMENTS", "SUBCATEGORIES", "Department", "Subcategory"]


@dataclass(frozen=True)
class Department:
    """How a department's products are supplied, replenished and talked about."""

    name: str
    lead_time_days: tuple[int, int]  # supplier mean lead time band
    review_period_days: int  # how often the store checks stock
    storable: bool  # customers stock up on promotion (post-promotion dip)
    payday_lift: float  # demand lift on paydays
    weekend_strength: float  # how much stronger weekends are than the chain profile
    aspect: str  # which review aspect bank to use
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    suppliers: tuple[str, ...]


@dataclass(frozen=True)
class Subcategory:
    """A leaf of the taxonomy; every product belongs to exactly one."""

    department: str
    category: str
    name: str
    noun: str
    price: tuple[float, float]
    shelf_life_days: tuple[int, int] | None
    season_peak_month: int
    season_strength: float  # log amplitude of the yearly cycle
    weight: float  # relative number of products
    sizes: tuple[str, ...]
    complement: str | None = None


DEPARTMENTS: dict[str, Department] = {
    d.name: d
    for d in (
        Department(
            "Fresh", (1, 3), 1, False, 0.08, 1.0, "food",
            ("Green Valley", "Morning Farm", "Lakeforge Fresh", "Riverside Dairy"),
            ("Organic", "Farm", "Classic", "Local", "Premium"),
            ("Green Valley Co-op", "Riverside Farms", "Sunny Acres Produce"),
        ),
        Department(
            "Grocery", (3, 7), 3, True, 0.06, 1.0, "food",
            ("Lakeforge Basics", "Bella Cucina", "Golden Harvest", "Northwind", "Crunchy Co"),
            ("Classic", "Organic", "Premium", "Everyday", "Family Size", "Light"),
            ("Northwind Foods", "Golden Harvest Ltd", "Bella Imports", "Summit Wholesale"),
        ),
        Department(
            "Household", (4, 9), 7, True, 0.03, 1.1, "household",
            ("Lakeforge Basics", "SparkleHome", "PureNest", "Softex"),
            ("Ultra", "Eco", "Fresh Scent", "Sensitive", "Value Pack"),
            ("CleanCo Supply", "PureNest Industries"),
        ),
        Department(
            "Personal Care", (4, 10), 7, True, 0.03, 1.1, "care",
            ("Lumina", "Dentiva", "Lakeforge Care", "Aqua Silk", "SunShield"),
            ("Gentle", "Daily", "Sensitive", "Intense", "Natural"),
            ("Lumina Beauty", "Dentiva Labs", "CarePlus Distribution"),
        ),
        Department(
            "Electronics", (7, 21), 7, False, 0.0, 1.4, "electronics",
            ("Voltix", "SoundCore", "Pixelon", "Lakeforge Tech"),
            ("Wireless", "Pro", "Compact", "Fast", "Ultra"),
            ("Voltix Electronics", "Pacific Gadgets", "SoundCore Audio"),
        ),
        Department(
            "Home", (10, 24), 7, False, 0.0, 1.3, "home",
            ("Casa Nova", "HearthStone", "Lakeforge Home"),
            ("Nonstick", "Classic", "Modern", "Rustic", "Scented"),
            ("HearthStone Goods", "Casa Nova Trading"),
        ),
        Department(
            "Toys & Garden", (10, 28), 7, False, 0.0, 1.5, "toys",
            ("BrickWorks", "PlayJoy", "GreenThumb", "FlameMaster"),
            ("Deluxe", "Classic", "Junior", "Family", "Giant"),
            ("PlayJoy Toys", "GreenThumb Garden Supply"),
        ),
        Department(
            "Pet", (4, 10), 7, True, 0.04, 1.0, "pet",
            ("Happy Paws", "Whisker", "Lakeforge Pet"),
            ("Adult", "Puppy", "Grain Free", "Senior", "Chicken"),
            ("Happy Paws Supply", "Whisker Foods"),
        ),
    )
}  # fmt: skip


def _s(
    department: str,
    category: str,
    name: str,
    noun: str,
    price: tuple[float, float],
    shelf: tuple[int, int] | None,
    peak: int,
    strength: float,
    weight: float,
    sizes: tuple[str, ...],
    complement: str | None = None,
) -> Subcategory:
    return Subcategory(
        department, category, name, noun, price, shelf, peak, strength, weight, sizes, complement
    )


SUBCATEGORIES: tuple[Subcategory, ...] = (
    _s("Fresh", "Dairy", "Milk", "milk", (0.99, 4.49), (7, 14), 1, 0.03, 1.0, ("1 L", "2 L"), "Cereal"),
    _s("Fresh", "Dairy", "Yogurt", "yogurt", (0.79, 4.99), (14, 30), 6, 0.08, 1.0, ("150 g", "500 g")),
    _s("Fresh", "Dairy", "Cheese", "cheese", (2.49, 11.99), (30, 90), 12, 0.10, 1.0, ("200 g", "400 g"), "Bread"),
    _s("Fresh", "Bakery", "Bread", "bread", (1.29, 4.99), (3, 6), 1, 0.03, 1.0, ("400 g", "800 g"), "Cheese"),
    _s("Fresh", "Bakery", "Pastries", "croissants", (1.99, 6.99), (2, 4), 12, 0.08, 0.7, ("4 pack", "6 pack")),
    _s("Fresh", "Produce", "Fruit", "apples", (0.99, 5.99), (7, 21), 8, 0.25, 1.0, ("1 kg", "6 pack")),
    _s("Fresh", "Produce", "Vegetables", "tomatoes", (0.99, 4.99), (5, 14), 7, 0.30, 1.0, ("500 g", "1 kg")),
    _s("Fresh", "Produce", "Salad", "salad", (1.49, 4.49), (4, 8), 7, 0.40, 0.7, ("150 g", "300 g"), "Olive Oil"),
    _s("Grocery", "Coffee & Tea", "Coffee", "coffee", (3.99, 17.99), (180, 365), 12, 0.10, 1.0, ("250 g", "500 g", "1 kg"), "Milk"),
    _s("Grocery", "Coffee & Tea", "Tea", "tea", (1.99, 8.99), (365, 720), 1, 0.20, 0.8, ("20 bags", "80 bags"), "Biscuits"),
    _s("Grocery", "Snacks", "Crisps", "crisps", (1.29, 4.49), (90, 180), 7, 0.12, 1.0, ("150 g", "300 g"), "Soft Drinks"),
    _s("Grocery", "Snacks", "Chocolate", "chocolate", (0.99, 7.99), (180, 365), 12, 0.30, 1.0, ("100 g", "200 g")),
    _s("Grocery", "Snacks", "Biscuits", "biscuits", (1.19, 4.49), (120, 240), 12, 0.08, 0.8, ("200 g", "400 g"), "Tea"),
    _s("Grocery", "Pantry", "Pasta", "pasta", (0.89, 3.99), (365, 720), 1, 0.05, 1.0, ("500 g", "1 kg"), "Pasta Sauce"),
    _s("Grocery", "Pantry", "Pasta Sauce", "pasta sauce", (1.49, 5.99), (365, 540), 1, 0.05, 0.8, ("400 g", "680 g"), "Pasta"),
    _s("Grocery", "Pantry", "Rice", "rice", (1.49, 7.99), (365, 720), 1, 0.03, 0.7, ("1 kg", "2 kg")),
    _s("Grocery", "Pantry", "Olive Oil", "olive oil", (3.99, 15.99), (365, 540), 1, 0.03, 0.6, ("500 ml", "1 L"), "Salad"),
    _s("Grocery", "Pantry", "Soup", "soup", (0.99, 3.99), (365, 720), 1, 0.45, 0.8, ("400 g", "4 pack")),
    _s("Grocery", "Breakfast", "Cereal", "cereal", (2.49, 6.99), (180, 365), 9, 0.05, 0.9, ("375 g", "750 g"), "Milk"),
    _s("Grocery", "Beverages", "Sparkling Water", "sparkling water", (0.79, 2.99), (270, 365), 7, 0.35, 0.8, ("1 L", "6 x 500 ml")),
    _s("Grocery", "Beverages", "Juice", "juice", (1.49, 4.99), (30, 120), 6, 0.20, 0.8, ("1 L", "2 L")),
    _s("Grocery", "Beverages", "Soft Drinks", "soda", (0.99, 5.99), (180, 365), 7, 0.30, 0.9, ("2 L", "12 x 330 ml"), "Crisps"),
    _s("Household", "Cleaning", "Laundry Detergent", "laundry detergent", (4.99, 21.99), None, 1, 0.03, 0.8, ("1.5 L", "3 L")),
    _s("Household", "Cleaning", "Dish Soap", "dish soap", (1.49, 4.99), None, 1, 0.03, 0.6, ("500 ml", "1 L")),
    _s("Household", "Cleaning", "Surface Cleaner", "cleaner", (1.99, 6.99), None, 4, 0.10, 0.6, ("500 ml", "750 ml")),
    _s("Household", "Paper", "Toilet Paper", "toilet paper", (2.99, 14.99), None, 1, 0.03, 0.6, ("9 rolls", "24 rolls")),
    _s("Household", "Paper", "Kitchen Towels", "kitchen towels", (1.99, 7.99), None, 1, 0.03, 0.5, ("2 rolls", "6 rolls")),
    _s("Personal Care", "Hair Care", "Shampoo", "shampoo", (2.99, 13.99), None, 1, 0.03, 0.8, ("250 ml", "400 ml"), "Conditioner"),
    _s("Personal Care", "Hair Care", "Conditioner", "conditioner", (2.99, 13.99), None, 1, 0.03, 0.6, ("250 ml", "400 ml"), "Shampoo"),
    _s("Personal Care", "Oral Care", "Toothpaste", "toothpaste", (1.49, 6.99), None, 1, 0.03, 0.7, ("75 ml", "2 x 75 ml"), "Toothbrushes"),
    _s("Personal Care", "Oral Care", "Toothbrushes", "toothbrush", (1.99, 24.99), None, 1, 0.03, 0.5, ("single", "2 pack"), "Toothpaste"),
    _s("Personal Care", "Skin Care", "Sunscreen", "sunscreen", (5.99, 19.99), None, 7, 0.90, 0.4, ("100 ml", "200 ml")),
    _s("Personal Care", "Skin Care", "Moisturiser", "moisturiser", (4.99, 29.99), None, 1, 0.20, 0.5, ("50 ml", "200 ml")),
    _s("Electronics", "Audio", "Headphones", "headphones", (14.99, 249.99), None, 12, 0.45, 0.5, ("black", "white")),
    _s("Electronics", "Audio", "Speakers", "speaker", (24.99, 299.99), None, 12, 0.45, 0.4, ("mini", "large")),
    _s("Electronics", "Accessories", "Chargers", "charger", (9.99, 44.99), None, 12, 0.20, 0.5, ("20 W", "65 W"), "Cables"),
    _s("Electronics", "Accessories", "Cables", "cable", (5.99, 24.99), None, 9, 0.15, 0.5, ("1 m", "2 m"), "Chargers"),
    _s("Electronics", "Accessories", "Batteries", "batteries", (3.99, 17.99), None, 12, 0.30, 0.5, ("4 pack", "12 pack")),
    _s("Home", "Kitchen", "Cookware", "frying pan", (14.99, 89.99), None, 11, 0.25, 0.4, ("24 cm", "28 cm"), "Knives"),
    _s("Home", "Kitchen", "Knives", "knife", (9.99, 79.99), None, 11, 0.25, 0.3, ("chef", "paring"), "Cookware"),
    _s("Home", "Decor", "Candles", "candle", (3.99, 29.99), None, 12, 0.50, 0.5, ("small", "large"), "Picture Frames"),
    _s("Home", "Decor", "Picture Frames", "picture frame", (5.99, 34.99), None, 12, 0.30, 0.3, ("A4", "A3"), "Candles"),
    _s("Toys & Garden", "Toys", "Building Sets", "building set", (9.99, 119.99), None, 12, 1.10, 0.4, ("small", "large")),
    _s("Toys & Garden", "Toys", "Board Games", "board game", (11.99, 59.99), None, 12, 0.90, 0.4, ("standard", "deluxe")),
    _s("Toys & Garden", "Toys", "Plush Toys", "plush toy", (7.99, 34.99), None, 12, 0.80, 0.3, ("small", "large")),
    _s("Toys & Garden", "Garden", "Charcoal", "charcoal", (4.99, 24.99), None, 6, 1.00, 0.3, ("3 kg", "8 kg"), "Soft Drinks"),
    _s("Toys & Garden", "Garden", "Plants", "potted plant", (3.99, 29.99), (14, 30), 5, 0.80, 0.3, ("small", "large")),
    _s("Pet", "Pet Food", "Dog Food", "dog food", (2.99, 44.99), (365, 540), 1, 0.03, 0.6, ("1 kg", "10 kg"), "Pet Treats"),
    _s("Pet", "Pet Food", "Cat Food", "cat food", (0.99, 34.99), (365, 540), 1, 0.03, 0.6, ("85 g", "4 kg"), "Pet Treats"),
    _s("Pet", "Pet Food", "Pet Treats", "pet treats", (1.99, 11.99), (180, 365), 12, 0.15, 0.5, ("100 g", "500 g")),
)  # fmt: skip
