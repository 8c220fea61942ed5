"""The contract of every simulated table: types, keys, foreign keys, checks and PII tags."""

from __future__ import annotations

from lakeforge.contracts import (
    AllowedValuesCheck,
    Check,
    Column,
    ColumnType,
    Contract,
    ExpressionCheck,
    ForeignKey,
    PiiTag,
    RangeCheck,
    ReadOptions,
    RegexCheck,
    UniqueCheck,
)
from lakeforge.synth.simulator._entities import FORMATS
from lakeforge.synth.simulator._geography import REGIONS
from lakeforge.synth.simulator._writer import FileFormat

__all__ = ["FACT_TABLES", "TABLE_ORDER", "build_contracts"]

#: Tables in parent-before-child order (the order to ingest them in).
TABLE_ORDER: tuple[str, ...] = (
    "stores",
    "products",
    "customers",
    "calendar",
    "promotions",
    "daily_sales",
    "inventory",
    "replenishment_orders",
    "orders",
    "order_items",
    "payments",
    "reviews",
)

#: Tables that ``dirty`` injects faults into.
FACT_TABLES: tuple[str, ...] = ("daily_sales", "orders", "order_items", "payments")

_DATE_FORMAT = "%Y-%m-%d"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def _col(
    name: str,
    kind: ColumnType = "string",
    description: str | None = None,
    *,
    nullable: bool = False,
    pii: PiiTag | None = None,
) -> Column:
    return Column(name=name, type=kind, nullable=nullable, description=description, pii=pii)


def _fk(column: str, table: str, ref: str | None = None) -> ForeignKey:
    return ForeignKey(columns=[column], ref_table=table, ref_columns=[ref or column])


def _at_least(column: str, low: float, *, inclusive: bool = True) -> RangeCheck:
    return RangeCheck(column=column, min=low, min_inclusive=inclusive)


def _specs() -> dict[str, tuple[str, list[Column], list[str], list[ForeignKey], list[Check]]]:
    regions = [r.name for r in REGIONS]
    return {
        "stores": (
            "Stores of the retail chain.",
            [
                _col("store_id", description="store key, e.g. S001"),
                _col("name"),
                _col("region"),
                _col("city"),
                _col("state"),
                _col("format", description="hypermarket, supermarket, neighbourhood or express"),
                _col("size_sqm", "integer", "sales floor in square metres"),
                _col("opening_date", "date"),
            ],
            ["store_id"],
            [],
            [
                AllowedValuesCheck(column="region", values=regions),
                AllowedValuesCheck(column="format", values=[f[0] for f in FORMATS]),
                _at_least("size_sqm", 0, inclusive=False),
            ],
        ),
        "products": (
            "The product catalogue with its category hierarchy and supply terms.",
            [
                _col("product_id", description="product key, e.g. P0042"),
                _col("name"),
                _col("department"),
                _col("category"),
                _col("subcategory"),
                _col("brand"),
                _col("base_price", "float", "regular shelf price at the start of the history"),
                _col("unit_cost", "float"),
                _col("supplier_id"),
                _col("supplier_name"),
                _col("lead_time_mean_days", "integer", "supplier's mean lead time"),
                _col("lead_time_std_days", "float", "supplier's lead time variability"),
                _col("case_pack", "integer", "units per case; orders are whole cases"),
                _col("shelf_life_days", "integer", "empty for non-perishables", nullable=True),
                _col("launch_date", "date"),
                _col("discontinued_date", "date", nullable=True),
            ],
            ["product_id"],
            [],
            [
                _at_least("base_price", 0, inclusive=False),
                _at_least("unit_cost", 0, inclusive=False),
                ExpressionCheck(sql="unit_cost < base_price", name="cost_below_price"),
                _at_least("case_pack", 1),
                _at_least("lead_time_mean_days", 1),
                _at_least("lead_time_std_days", 0),
                _at_least("shelf_life_days", 1),
            ],
        ),
        "customers": (
            "Loyalty customers (fake but realistic PII).",
            [
                _col("customer_id", description="customer key, e.g. C00042"),
                _col("first_name", pii="person_name"),
                _col("last_name", pii="person_name"),
                _col("email", pii="email"),
                _col("phone", pii="phone"),
                _col("street_address", pii="address"),
                _col("city"),
                _col("state"),
                _col("postal_code", pii="address"),
                _col("birth_date", "date", pii="birth_date"),
                _col("signup_date", "date"),
                _col("home_store_id"),
            ],
            ["customer_id"],
            [_fk("home_store_id", "stores", "store_id")],
            [
                RegexCheck(column="email", pattern=r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]{2,}"),
                RegexCheck(column="phone", pattern=r"\(\d{3}\) \d{3}-\d{4}"),
                RegexCheck(column="postal_code", pattern=r"\d{5}"),
                UniqueCheck(columns=["email"]),
                ExpressionCheck(sql="birth_date < signup_date", name="born_before_signup"),
            ],
        ),
        "calendar": (
            "One row per day: holidays, events, paydays and how many promotions run.",
            [
                _col("date", "date"),
                _col("day_of_week", "integer", "1 = Monday ... 7 = Sunday"),
                _col("is_weekend", "boolean"),
                _col("week_of_year", "integer", "ISO week"),
                _col("month", "integer"),
                _col("quarter", "integer"),
                _col("year", "integer"),
                _col("is_holiday", "boolean"),
                _col("holiday_name", nullable=True),
                _col("event_name", nullable=True),
                _col("is_payday", "boolean"),
                _col("store_open", "boolean"),
                _col("promotions_active", "integer", "products on promotion that day"),
            ],
            ["date"],
            [],
            [
                RangeCheck(column="day_of_week", min=1, max=7),
                RangeCheck(column="month", min=1, max=12),
                _at_least("promotions_active", 0),
            ],
        ),
        "promotions": (
            "The chain-wide promotions plan (whole weeks, price cuts).",
            [
                _col("promotion_id"),
                _col("product_id"),
                _col("start_date", "date"),
                _col("end_date", "date", "last day of the promotion (inclusive)"),
                _col("discount_pct", "float"),
            ],
            ["promotion_id"],
            [_fk("product_id", "products")],
            [
                RangeCheck(column="discount_pct", min=0, max=90, min_inclusive=False),
                ExpressionCheck(sql="end_date >= start_date", name="ends_after_start"),
            ],
        ),
        "daily_sales": (
            "Units sold per store, product and day; censored by stock (see `stockout`).",
            [
                _col("date", "date"),
                _col("store_id"),
                _col("product_id"),
                _col("units_sold", "integer", "min(demand, stock on hand)"),
                _col("price", "float", "price paid that day (promotion included)"),
                _col("on_promo", "boolean"),
                _col("revenue", "float"),
                _col("stockout", "boolean", "demand exceeded the stock on hand"),
            ],
            ["store_id", "product_id", "date"],
            [_fk("store_id", "stores"), _fk("product_id", "products"), _fk("date", "calendar")],
            [
                _at_least("units_sold", 0),
                _at_least("price", 0, inclusive=False),
                _at_least("revenue", 0),
            ],
        ),
        "inventory": (
            "Stock per store, product and day.",
            [
                _col("date", "date"),
                _col("store_id"),
                _col("product_id"),
                _col("on_hand_open", "integer", "stock at opening, deliveries included"),
                _col("received", "integer", "units delivered that morning"),
                _col("on_hand_close", "integer"),
                _col("on_order", "integer", "units ordered and not yet delivered"),
            ],
            ["store_id", "product_id", "date"],
            [_fk("store_id", "stores"), _fk("product_id", "products"), _fk("date", "calendar")],
            [
                _at_least("on_hand_open", 0),
                _at_least("received", 0),
                _at_least("on_hand_close", 0),
                _at_least("on_order", 0),
                ExpressionCheck(sql="on_hand_close <= on_hand_open", name="close_within_open"),
            ],
        ),
        "replenishment_orders": (
            "Purchase orders the stores placed with suppliers.",
            [
                _col("replenishment_id"),
                _col("store_id"),
                _col("product_id"),
                _col("supplier_id"),
                _col("order_date", "date"),
                _col("quantity", "integer"),
                _col("expected_arrival_date", "date", "order date + the supplier's mean lead time"),
                _col("arrival_date", "date", "empty while in transit or cancelled", nullable=True),
                _col("status"),
            ],
            ["replenishment_id"],
            [_fk("store_id", "stores"), _fk("product_id", "products")],
            [
                _at_least("quantity", 1),
                AllowedValuesCheck(column="status", values=["received", "in_transit", "cancelled"]),
                ExpressionCheck(
                    sql="arrival_date IS NULL OR arrival_date > order_date",
                    name="arrives_after_order",
                ),
            ],
        ),
        "orders": (
            "Customer orders (loyalty-identified store trips and online orders).",
            [
                _col("order_id"),
                _col("customer_id"),
                _col("store_id", description="the store visited, or fulfilling an online order"),
                _col("channel", description="store or online"),
                _col("ordered_at", "timestamp"),
                _col("item_count", "integer", "number of order lines"),
                _col("total_amount", "float"),
            ],
            ["order_id"],
            [_fk("customer_id", "customers"), _fk("store_id", "stores")],
            [
                AllowedValuesCheck(column="channel", values=["store", "online"]),
                _at_least("item_count", 1),
                _at_least("total_amount", 0, inclusive=False),
            ],
        ),
        "order_items": (
            "Lines of customer orders.",
            [
                _col("order_id"),
                _col("line_number", "integer"),
                _col("product_id"),
                _col("quantity", "integer"),
                _col("unit_price", "float"),
                _col("line_total", "float"),
            ],
            ["order_id", "line_number"],
            [_fk("order_id", "orders"), _fk("product_id", "products")],
            [
                _at_least("quantity", 1),
                _at_least("unit_price", 0, inclusive=False),
                _at_least("line_total", 0, inclusive=False),
                UniqueCheck(columns=["order_id", "product_id"]),
            ],
        ),
        "payments": (
            "Payments for orders, plus guest payment attempts (some fraudulent).",
            [
                _col("payment_id"),
                _col("order_id", description="empty for guest attempts", nullable=True),
                _col("customer_id", description="empty for guest attempts", nullable=True),
                _col("card_number", pii="card_number"),
                _col("card_brand"),
                _col("amount", "float"),
                _col("channel", description="store or online"),
                _col("device_id", description="online only", nullable=True),
                _col("ip_address", description="online only", nullable=True, pii="ip_address"),
                _col("ip_region", description="region the IP address is in", nullable=True),
                _col("paid_at", "timestamp"),
                _col("status", description="approved or declined"),
            ],
            ["payment_id"],
            [_fk("order_id", "orders"), _fk("customer_id", "customers")],
            [
                _at_least("amount", 0, inclusive=False),
                AllowedValuesCheck(column="status", values=["approved", "declined"]),
                AllowedValuesCheck(column="channel", values=["store", "online"]),
                AllowedValuesCheck(column="card_brand", values=["visa", "mastercard", "discover"]),
                RegexCheck(column="card_number", pattern=r"\d{16}"),
            ],
        ),
        "reviews": (
            "Product reviews: a star rating and a short text.",
            [
                _col("review_id"),
                _col("order_id"),
                _col("customer_id"),
                _col("product_id"),
                _col("review_date", "date"),
                _col("rating", "integer", "1 to 5 stars"),
                _col("title"),
                _col("text"),
            ],
            ["review_id"],
            [
                _fk("order_id", "orders"),
                _fk("customer_id", "customers"),
                _fk("product_id", "products"),
            ],
            [RangeCheck(column="rating", min=1, max=5)],
        ),
    }


def build_contracts(formats: dict[str, FileFormat]) -> dict[str, Contract]:
    """Every table's contract; CSV tables get read options and explicit date formats."""
    contracts: dict[str, Contract] = {}
    for table, (description, columns, key, foreign_keys, checks) in _specs().items():
        csv = formats.get(table, "parquet") == "csv"
        if csv:
            columns = [
                c.model_copy(update={"format": _DATE_FORMAT})
                if c.type == "date"
                else c.model_copy(update={"format": _TIMESTAMP_FORMAT})
                if c.type == "timestamp"
                else c
                for c in columns
            ]
        contracts[table] = Contract(
            table=table,
            description=f"{description} Generated by the Lakeforge retail simulator.",
            columns=columns,
            primary_key=key,
            foreign_keys=foreign_keys,
            checks=checks,
            read=ReadOptions(format="csv") if csv else ReadOptions(format="parquet"),
        )
    return contracts
