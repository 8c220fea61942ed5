"""The small seeded world is realistic: every check here fails if the simulation loses it."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeforge.contracts import (
    AllowedValuesCheck,
    Contract,
    ExpressionCheck,
    RangeCheck,
    RegexCheck,
    UniqueCheck,
)
from lakeforge.synth.simulator import (
    TABLE_ORDER,
    RetailConfig,
    SimulationResult,
    build_contracts,
    simulate_retail,
)
from lakeforge.synth.simulator._geography import REGIONS

CONFIG = RetailConfig.preset("small")

_ARROW_KINDS = {
    "string": pa.types.is_string,
    "integer": pa.types.is_integer,
    "float": pa.types.is_floating,
    "boolean": pa.types.is_boolean,
    "date": pa.types.is_date32,
    "timestamp": pa.types.is_timestamp,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate_retail(tmp_path_factory.mktemp("world"), CONFIG, progress=False)


@pytest.fixture(scope="module")
def frames(world: SimulationResult) -> dict[str, pl.DataFrame]:
    tables = {name: pl.read_parquet(path) for name, path in world.tables.items()}
    tables["demand"] = pl.read_parquet(world.truth["demand"])
    return tables


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return build_contracts(dict.fromkeys(TABLE_ORDER, "parquet"))


# -- files and contracts ------------------------------------------------------------------------
def test_every_table_truth_file_and_contract_is_written(world: SimulationResult) -> None:
    for name in TABLE_ORDER:
        assert world.tables[name].is_file()
        assert pq.read_metadata(world.tables[name]).num_rows == world.row_counts[name]
        assert (world.out / "contracts" / f"{name}.yaml").is_file()
    for name in (
        "demand",
        "customer_preferences",
        "segments",
        "fraud_labels",
        "product_parameters",
        "config",
    ):
        assert world.truth[name].is_file()
        assert world.truth[name].parent == world.out / "truth"
    truth = json.loads(world.truth["config"].read_text())
    assert all(v < 0 for v in truth["price_elasticity_by_category"].values())
    assert truth["config"]["seed"] == CONFIG.seed


def test_daily_sales_cover_almost_every_store_product_day(world: SimulationResult) -> None:
    # rows are missing only before a product's launch or after it is discontinued
    assert 0.85 * CONFIG.daily_sales_cells <= world.row_counts["daily_sales"]
    assert world.row_counts["daily_sales"] <= CONFIG.daily_sales_cells


def test_contract_files_round_trip(world: SimulationResult, contracts: dict[str, Contract]) -> None:
    for name, contract in contracts.items():
        text = (world.out / "contracts" / f"{name}.yaml").read_text()
        assert Contract.from_yaml(text) == contract


def test_pii_columns_are_tagged(contracts: dict[str, Contract]) -> None:
    assert contracts["customers"].pii_columns == {
        "first_name": "person_name",
        "last_name": "person_name",
        "email": "email",
        "phone": "phone",
        "street_address": "address",
        "postal_code": "address",
        "birth_date": "birth_date",
    }
    assert contracts["payments"].pii_columns == {
        "card_number": "card_number",
        "ip_address": "ip_address",
    }


def _assert_satisfies(frame: pl.DataFrame, schema: pa.Schema, contract: Contract) -> None:
    """Types, required columns, primary key and every check of the contract hold."""
    assert frame.columns == contract.column_names
    for column in contract.columns:
        assert _ARROW_KINDS[column.type](schema.field(column.name).type), column.name
        if not column.nullable:
            assert frame[column.name].null_count() == 0, column.name
    assert not frame.select(contract.primary_key).is_duplicated().any()
    con = duckdb.connect()
    con.register("t", frame.to_arrow())
    for check in contract.checks:
        if isinstance(check, RangeCheck):
            values = frame[check.column].drop_nulls()
            if check.min is not None:
                low = values >= check.min if check.min_inclusive else values > check.min
                assert low.all(), check.label()
            if check.max is not None:
                high = values <= check.max if check.max_inclusive else values < check.max
                assert high.all(), check.label()
        elif isinstance(check, AllowedValuesCheck):
            assert frame[check.column].drop_nulls().is_in(check.values).all(), check.label()
        elif isinstance(check, RegexCheck):
            pattern = f"^(?:{check.pattern})$"
            assert frame[check.column].drop_nulls().str.contains(pattern).all(), check.label()
        elif isinstance(check, UniqueCheck):
            assert not frame.select(check.columns).is_duplicated().any(), check.label()
        elif isinstance(check, ExpressionCheck):
            bad = con.execute(f"SELECT count(*) FROM t WHERE NOT ({check.sql})").fetchall()
            assert bad == [(0,)], check.label()


def _assert_foreign_keys_resolve(
    frames: dict[str, pl.DataFrame], contracts: dict[str, Contract]
) -> int:
    checked = 0
    for name, contract in contracts.items():
        for fk in contract.foreign_keys:
            child = frames[name].select(fk.columns).drop_nulls().unique()
            parent = frames[fk.ref_table].select(fk.ref_columns).unique()
            parent.columns = fk.columns
            orphans = child.join(parent, on=fk.columns, how="anti")
            assert orphans.height == 0, fk.label()
            checked += 1
    return checked


@pytest.mark.parametrize("name", TABLE_ORDER)
def test_table_satisfies_its_contract(
    name: str,
    world: SimulationResult,
    frames: dict[str, pl.DataFrame],
    contracts: dict[str, Contract],
) -> None:
    _assert_satisfies(frames[name], pq.read_schema(world.tables[name]), contracts[name])


def test_every_foreign_key_resolves(
    frames: dict[str, pl.DataFrame], contracts: dict[str, Contract]
) -> None:
    assert _assert_foreign_keys_resolve(frames, contracts) >= 18


@pytest.mark.parametrize(
    "config",
    [
        RetailConfig(stores=1, products=20, customers=50, days=56, seed=1),
        RetailConfig(
            stores=2,
            products=25,
            customers=60,
            days=60,
            fraud_rate=0,
            review_rate=0,
            promos_per_product_year=0,
            price_changes_per_product_year=0,
        ),
        RetailConfig(stores=2, products=40, customers=80, days=400, slow_mover_share=1.0),
    ],
    ids=["minimal", "no-fraud-reviews-promotions", "all-slow-movers"],
)
def test_edge_configs_still_satisfy_every_contract(
    config: RetailConfig, contracts: dict[str, Contract], tmp_path: Path
) -> None:
    result = simulate_retail(tmp_path, config, progress=False)
    frames = {name: pl.read_parquet(path) for name, path in result.tables.items()}
    for name, contract in contracts.items():
        _assert_satisfies(frames[name], pq.read_schema(result.tables[name]), contract)
    _assert_foreign_keys_resolve(frames, contracts)


# -- demand and stock -------------------------------------------------------------------------
def _weekly_acf(series: np.ndarray) -> np.ndarray:
    """Autocorrelation (lags 1..10) of sales relative to their centred 7-day average."""
    trend = np.convolve(series, np.ones(7) / 7, mode="valid")
    x = series[3:-3] / trend - 1
    x = x - x.mean()
    return np.array([np.dot(x[:-k], x[k:]) / np.dot(x, x) for k in range(1, 11)])


def test_weekly_seasonality_visible_in_store_sales(frames: dict[str, pl.DataFrame]) -> None:
    daily = (
        frames["daily_sales"]
        .group_by("store_id", "date")
        .agg(pl.col("units_sold").sum())
        .sort("store_id", "date")
    )
    for (_store,), rows in daily.group_by("store_id", maintain_order=True):
        acf = _weekly_acf(rows["units_sold"].to_numpy().astype(float))
        assert np.argmax(acf) == 6  # lag 7 is the strongest
        assert acf[6] > 0.2
    chain = daily.group_by("date").agg(pl.col("units_sold").sum()).sort("date")
    assert _weekly_acf(chain["units_sold"].to_numpy().astype(float))[6] > 0.5


def test_yearly_seasonality_and_holiday_peaks(frames: dict[str, pl.DataFrame]) -> None:
    categories = frames["products"].select("product_id", "category")
    demand = frames["demand"].join(categories, on="product_id")
    monthly = (
        demand.group_by(pl.col("date").dt.month().alias("month"), "category")
        .agg(pl.col("demand").sum())
        .pivot(on="category", index="month", values="demand")
        .sort("month")
    )
    toys = dict(zip(monthly["month"], monthly["Toys"], strict=True))
    assert toys[12] > 3 * toys[6]  # Christmas
    soup = dict(zip(monthly["month"], monthly["Pantry"], strict=True))
    assert soup[1] > soup[7]  # soup season
    # Black Friday weekend against the same weekend two weeks earlier (expected demand)
    black_friday = frames["calendar"].filter(pl.col("event_name") == "Black Friday")["date"][0]
    products = frames["products"].filter(pl.col("department") == "Electronics")["product_id"]
    electronics = frames["demand"].filter(pl.col("product_id").is_in(products.implode()))

    def weekend(first: dt.date) -> float:
        days = pl.col("date").is_between(first, first + dt.timedelta(days=2))
        return float(electronics.filter(days)["expected_demand"].sum())

    assert weekend(black_friday) > 1.5 * weekend(black_friday - dt.timedelta(days=14))


def test_sales_do_not_fade_at_the_end_of_the_history(frames: dict[str, pl.DataFrame]) -> None:
    daily = frames["daily_sales"].group_by("date").agg(pl.col("units_sold").sum()).sort("date")
    units = daily["units_sold"].to_numpy()
    assert units[-30:].mean() > 0.8 * units.mean()
    assert units[:30].mean() > 0.8 * units.mean()


def test_promotion_uplift_positive_and_in_configured_range(
    frames: dict[str, pl.DataFrame],
) -> None:
    joined = frames["daily_sales"].join(frames["demand"], on=["store_id", "product_id", "date"])
    by_promo = (
        joined.group_by("product_id", "on_promo")
        .agg(pl.col("demand").mean(), pl.col("units_sold").mean())
        .pivot(on="on_promo", index="product_id", values=["demand", "units_sold"])
        .drop_nulls()
    )
    assert by_promo.height >= 50
    demand_uplift = np.median(by_promo["demand_true"] / by_promo["demand_false"] - 1)
    sales_uplift = np.median(by_promo["units_sold_true"] / by_promo["units_sold_false"] - 1)
    low, high = CONFIG.promo_uplift_range
    assert low <= demand_uplift <= high
    assert 0 < sales_uplift <= demand_uplift  # stock-outs eat part of the lift


def _non_promo_demand(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Truth demand on days a product is not itself on promotion, with sibling promotions."""
    products = frames["products"].select("product_id", "subcategory", "department")
    promoted = (
        frames["daily_sales"]
        .select("date", "product_id", "on_promo")
        .unique()
        .join(products, on="product_id")
        .group_by("date", "subcategory")
        .agg(pl.col("on_promo").sum().alias("siblings_on_promo"))
    )
    return (
        frames["daily_sales"]
        .filter(~pl.col("on_promo"))
        .join(frames["demand"], on=["store_id", "product_id", "date"])
        .join(products, on="product_id")
        .join(promoted, on=["date", "subcategory"])
    )


def _median_ratio(rows: pl.DataFrame, flag: str) -> float:
    by_flag = (
        rows.group_by("product_id", flag)
        .agg(pl.col("demand").mean())
        .pivot(on=flag, index="product_id", values="demand")
        .drop_nulls()
    )
    assert by_flag.height >= 30
    return float(np.median(by_flag["true"] / by_flag["false"]))


def test_cannibalisation_when_a_sibling_is_on_promotion(frames: dict[str, pl.DataFrame]) -> None:
    rows = _non_promo_demand(frames).with_columns(
        (pl.col("siblings_on_promo") > 0).alias("sibling_promo")
    )
    assert _median_ratio(rows, "sibling_promo") < 0.97


def test_demand_dips_after_a_promotion_of_storable_goods(frames: dict[str, pl.DataFrame]) -> None:
    week_after = (
        frames["promotions"]
        .select(
            "product_id",
            pl.date_ranges(
                pl.col("end_date") + pl.duration(days=1), pl.col("end_date") + pl.duration(days=7)
            ).alias("date"),
        )
        .explode("date")
        .unique()
        .with_columns(pl.lit(True).alias("after_promo"))
    )
    rows = (
        _non_promo_demand(frames)
        .filter(
            (pl.col("siblings_on_promo") == 0)
            & pl.col("department").is_in(["Grocery", "Household", "Personal Care", "Pet"])
        )
        .join(week_after, on=["product_id", "date"], how="left")
        .with_columns(pl.col("after_promo").fill_null(False))
    )
    assert _median_ratio(rows, "after_promo") < 0.95


def test_price_elasticity_negative(frames: dict[str, pl.DataFrame]) -> None:
    # pooled slope of log sales on log regular price across consecutive price regimes
    regular = frames["daily_sales"].filter(~pl.col("on_promo") & ~pl.col("stockout"))
    series = ["store_id", "product_id"]
    regimes = (
        regular.sort("store_id", "product_id", "date")
        .with_columns(
            (pl.col("price") != pl.col("price").shift(1).over(series))
            .fill_null(False)
            .cum_sum()
            .over(series)
            .alias("regime")
        )
        .group_by(*series, "regime")
        .agg(pl.col("units_sold").mean().alias("units"), pl.col("price").first(), pl.len())
        .filter(pl.col("len") >= 14)
        .sort(*series, "regime")
        .with_columns(
            pl.col("units").log().diff().over(series).alias("dy"),
            pl.col("price").log().diff().over(series).alias("dx"),
        )
        .drop_nulls()
        .filter(pl.col("dy").is_finite() & (pl.col("dx").abs() > 0.01))
    )
    assert regimes.height >= 200
    dx, dy = regimes["dx"].to_numpy(), regimes["dy"].to_numpy()
    assert (dx * dy).sum() / (dx * dx).sum() < -0.3


def test_product_popularity_is_long_tailed(frames: dict[str, pl.DataFrame]) -> None:
    units = (
        frames["daily_sales"]
        .group_by("product_id")
        .agg(pl.col("units_sold").sum())
        .sort("units_sold", descending=True)["units_sold"]
        .to_numpy()
    )
    top = int(np.ceil(0.2 * len(units)))
    assert 0.60 <= units[:top].sum() / units.sum() <= 0.85


def test_share_of_intermittent_series_is_realistic(frames: dict[str, pl.DataFrame]) -> None:
    # Syntetos-Boylan: average demand interval above 1.32 days
    nonzero = (
        frames["daily_sales"]
        .group_by("store_id", "product_id")
        .agg((pl.col("units_sold") > 0).mean().alias("share"))["share"]
    )
    intermittent = (nonzero < 1 / 1.32).mean()
    assert 0.25 <= intermittent <= 0.75


def test_stockouts_censor_sales(frames: dict[str, pl.DataFrame]) -> None:
    keys = ["store_id", "product_id", "date"]
    rows = frames["daily_sales"].join(frames["inventory"], on=keys).join(frames["demand"], on=keys)
    out = rows.filter(pl.col("stockout"))
    fine = rows.filter(~pl.col("stockout"))
    assert 0.005 < out.height / rows.height < 0.15
    assert (out["units_sold"] == out["on_hand_open"]).all()
    assert (out["on_hand_close"] == 0).all()
    assert (out["demand"] > out["units_sold"]).all()
    assert (fine["units_sold"] == fine["demand"]).all()
    assert (rows["units_sold"] == rows["demand"].clip(upper_bound=rows["on_hand_open"])).all()


def test_inventory_balances_day_to_day(frames: dict[str, pl.DataFrame]) -> None:
    inventory = frames["inventory"].sort("store_id", "product_id", "date")
    previous = pl.col("on_hand_close").shift(1).over("store_id", "product_id")
    checked = inventory.with_columns(previous.alias("previous")).drop_nulls("previous")
    assert (checked["on_hand_open"] == checked["previous"] + checked["received"]).all()


def test_replenishment_orders_explain_every_delivery(frames: dict[str, pl.DataFrame]) -> None:
    series = ["store_id", "product_id"]
    received = frames["inventory"].group_by(series).agg(pl.col("received").sum())
    orders = frames["replenishment_orders"]
    delivered = (
        orders.filter(pl.col("status") == "received").group_by(series).agg(pl.col("quantity").sum())
    )
    start = frames["calendar"]["date"].min()
    launched = frames["products"].filter(pl.col("launch_date") >= start)["product_id"]
    joined = received.join(delivered, on=series, how="left").fill_null(0)
    existing = joined.filter(~pl.col("product_id").is_in(launched.implode()))
    new = joined.filter(pl.col("product_id").is_in(launched.implode()))
    assert (existing["received"] == existing["quantity"]).all()
    assert (new["received"] > new["quantity"]).all()  # plus the launch delivery
    arrived = orders.filter(pl.col("status") == "received")
    lead = (arrived["arrival_date"] - arrived["order_date"]).dt.total_days()
    assert lead.min() >= 1
    late = (arrived["arrival_date"] - arrived["expected_arrival_date"]).dt.total_days()
    assert 0.02 < (late >= 3).mean() < 0.3  # random supplier delays
    assert set(orders["status"].unique().to_list()) <= {"received", "in_transit", "cancelled"}


def test_stores_close_on_christmas_day(frames: dict[str, pl.DataFrame]) -> None:
    closed = frames["calendar"].filter(~pl.col("store_open"))
    assert closed["holiday_name"].to_list() == ["Christmas Day"]
    sales = frames["daily_sales"].filter(pl.col("date").is_in(closed["date"].implode()))
    assert sales.height > 0
    assert sales["units_sold"].sum() == 0


# -- customers, baskets, payments, reviews --------------------------------------------------------
def test_customer_pii_is_internally_consistent(frames: dict[str, pl.DataFrame]) -> None:
    customers = frames["customers"].join(
        frames["stores"].select("store_id", "region"), left_on="home_store_id", right_on="store_id"
    )
    cities = {(c.name, c.state): (r.name, c.area_code) for r in REGIONS for c in r.cities}
    zip3 = {(c.name, c.state): c.zip3 for r in REGIONS for c in r.cities}
    for row in customers.head(500).iter_rows(named=True):
        region, area = cities[(row["city"], row["state"])]
        assert region == row["region"]
        assert row["phone"].startswith(f"({area}) ")
        assert row["postal_code"].startswith(zip3[(row["city"], row["state"])])
        last = re.sub("[^a-z]", "", row["last_name"].lower())
        assert last in row["email"]
        age = (row["signup_date"] - row["birth_date"]).days / 365.25
        assert 16 <= age <= 95
    assert frames["customers"]["email"].n_unique() == frames["customers"].height


def test_basket_size_distribution(frames: dict[str, pl.DataFrame]) -> None:
    sizes = frames["orders"]["item_count"]
    assert 2 <= sizes.mean() <= 6
    assert sizes.min() == 1
    assert (sizes == 1).mean() > 0.05  # some quick single-item trips
    assert sizes.quantile(0.99) <= 20


def test_orders_add_up(frames: dict[str, pl.DataFrame]) -> None:
    lines = (
        frames["order_items"]
        .group_by("order_id")
        .agg(pl.col("line_total").sum().alias("lines_total"), pl.len().alias("lines"))
    )
    orders = frames["orders"].join(lines, on="order_id")
    assert orders.height == frames["orders"].height
    assert (orders["item_count"] == orders["lines"]).all()
    assert ((orders["total_amount"] - orders["lines_total"]).abs() < 0.011).all()
    paid = frames["payments"].drop_nulls("order_id").join(orders, on="order_id")
    assert paid.height == frames["orders"].height
    assert ((paid["amount"] - paid["total_amount"]).abs() < 0.011).all()


def test_customers_repeat_purchases_and_churn(world: SimulationResult) -> None:
    orders = pl.read_parquet(world.tables["orders"])
    per_customer = orders.group_by("customer_id").len()
    assert per_customer["len"].median() >= 3
    segments = pl.read_parquet(world.truth["segments"])
    churned = segments.filter(pl.col("churned"))
    assert 0.05 < churned.height / segments.height < 0.6
    last = orders.group_by("customer_id").agg(pl.col("ordered_at").max().dt.date().alias("last"))
    late = churned.join(last, on="customer_id").filter(pl.col("last") >= pl.col("churn_date"))
    fraud = pl.read_parquet(world.truth["fraud_labels"]).filter(pl.col("is_fraud"))
    assert late.height <= fraud.height  # only fraudsters use an account after its owner left


def test_baskets_follow_customer_preferences(world: SimulationResult) -> None:
    items = pl.read_parquet(world.tables["order_items"]).join(
        pl.read_parquet(world.tables["orders"]).select("order_id", "customer_id"), on="order_id"
    )
    products = pl.read_parquet(world.tables["products"]).select("product_id", "category")
    bought = (
        items.join(products, on="product_id")
        .group_by("customer_id", "category")
        .agg(pl.col("quantity").sum())
    )
    preferences = pl.read_parquet(world.truth["customer_preferences"])
    joined = preferences.join(bought, on=["customer_id", "category"], how="left").fill_null(0)
    corr = np.corrcoef(joined["affinity"].to_numpy(), joined["quantity"].to_numpy())[0, 1]
    assert corr > 0.3


def test_co_purchase_affinity_is_visible(world: SimulationResult) -> None:
    items = pl.read_parquet(world.tables["order_items"]).select("order_id", "product_id")
    pairs = pl.read_parquet(world.truth["product_affinities"])
    together = items.join(items, on="order_id", suffix="_other").filter(
        pl.col("product_id") != pl.col("product_id_other")
    )
    hit = together.join(
        pairs,
        left_on=["product_id", "product_id_other"],
        right_on=["product_id", "partner_product_id"],
    )
    buyers = items.join(pairs, on="product_id")
    # partners appear in far more baskets than a random product would
    assert hit.height / buyers.height > 0.15


def test_fraud_rate_and_every_pattern_present(world: SimulationResult) -> None:
    labels = pl.read_parquet(world.truth["fraud_labels"])
    payments = pl.read_parquet(world.tables["payments"])
    assert labels["payment_id"].to_list() == payments["payment_id"].to_list()
    assert 0.002 <= labels["is_fraud"].mean() <= 0.02
    patterns = set(labels.filter(pl.col("is_fraud"))["pattern"].unique().to_list())
    assert patterns == {"card_testing", "account_takeover", "high_value"}
    joined = payments.join(labels, on="payment_id")
    testing = joined.filter(pl.col("pattern") == "card_testing")
    assert testing["order_id"].null_count() == testing.height
    assert testing["amount"].max() <= 5
    assert (testing["status"] == "declined").mean() > 0.5
    takeover = joined.filter(pl.col("pattern") == "account_takeover")
    genuine = joined.filter(pl.col("pattern") == "genuine")
    known_devices = set(genuine["device_id"].drop_nulls().to_list())
    assert not set(takeover["device_id"].to_list()) & known_devices
    spikes = joined.filter(pl.col("pattern") == "high_value")
    assert spikes["amount"].median() > 5 * genuine["amount"].median()


def test_review_sentiment_correlated_with_rating(world: SimulationResult) -> None:
    reviews = pl.read_parquet(world.tables["reviews"])
    assert reviews.height > 1_000
    text = reviews["text"].str.to_lowercase()
    positive = ("love", "excellent", "great", "fantastic", "amazing", "good", "happy", "best")
    negative = ("terrible", "awful", "worst", "bad", "disappointed", "waste", "poor", "not")

    def hits(words: tuple[str, ...]) -> np.ndarray:
        counts = [text.str.count_matches(rf"\b{w}\b").cast(pl.Int64) for w in words]
        return np.sum([c.to_numpy() for c in counts], axis=0)

    score = hits(positive) - hits(negative)
    assert np.corrcoef(score, reviews["rating"].to_numpy())[0, 1] > 0.5
    assert set(reviews["rating"].unique().to_list()) == {1, 2, 3, 4, 5}
    assert reviews["rating"].mean() > 3.3  # reviews skew positive, as they do
