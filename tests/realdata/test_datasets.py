"""Every real dataset in ../shared/data ingests with an inferred contract, nothing lost.

Each file is listed once in ``DATASETS`` with the read options it needs (one comment per
quirk). The tests check that ``sniff_csv`` finds exactly those options on its own, that a
contract inferred from the file (as ``lakeforge demo`` does) accepts every row, and a few
facts about the data that prove it was read correctly (encodings, nulls, keys, types).
Each file is ingested once per module into its own fresh workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import lakeforge as lf
from lakeforge.contracts import Contract, ReadOptions, infer_contract, sniff_csv
from lakeforge.demo import ADULT_COLUMNS
from lakeforge.ingest import open_source

pytestmark = pytest.mark.realdata

CSV = ReadOptions(format="csv")
MOVIE_GENRES = (
    "unknown",
    "action",
    "adventure",
    "animation",
    "children",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "fantasy",
    "film_noir",
    "horror",
    "musical",
    "mystery",
    "romance",
    "sci_fi",
    "thriller",
    "war",
    "western",
)


@dataclass(frozen=True)
class RealFile:
    """One file of the shared data, how to read it, and how many rows it holds."""

    path: str
    table: str
    read: ReadOptions | None  # None: not delimited text (the format comes from the extension)
    rows: int
    column_names: tuple[str, ...] = ()  # for files without a header line
    quarantined: int = 0

    @property
    def id(self) -> str:
        return self.path


DATASETS = (
    # -- olist (Brazilian e-commerce) ----------------------------------------------------
    # ids are "quoted" on some lines and bare on others; LF line ends
    RealFile("olist/olist_order_payments_dataset.csv", "olist_payments", CSV, 103_886),
    # misspelled header names (product_name_lenght) are kept as they are
    RealFile("olist/olist_products_dataset.csv", "olist_products", CSV, 32_951),
    # zip code prefixes are quoted text with leading zeros ("01222")
    RealFile("olist/olist_sellers_dataset.csv", "olist_sellers", CSV, 3_095),
    # UTF-8 byte-order mark before the first header name, CRLF line ends, no final newline
    RealFile("olist/product_category_name_translation.csv", "olist_categories", CSV, 71),
    # -- online retail (UCI) ---------------------------------------------------------------
    # CRLF; timestamps "2011-10-30 16:17:00"; 10,057 rows without CustomerID
    RealFile("online-retail/online_retail_sample40k.csv", "retail_csv", CSV, 40_000),
    # the same rows as an Excel workbook: typed cells (dates are datetimes), first sheet
    RealFile("online-retail/online_retail_sample40k.xlsx", "retail_xlsx", None, 40_000),
    # -- m5 (Walmart) ----------------------------------------------------------------------
    # ISO dates; empty event columns on most days
    RealFile("m5/calendar.csv", "m5_calendar", CSV, 1_969),
    # 1,048,576 lines = header + 1,048,575 rows (cut at Excel's row limit); CRLF, no final
    # newline
    RealFile("m5/sell_prices.truncated.csv", "sell_prices", CSV, 1_048_575),
    # -- MovieLens 100k ----------------------------------------------------------------------
    # Latin-1 titles ("Misérables"), `|` separated, no header, empty video_release_date
    RealFile(
        "ml-100k/u.item",
        "movielens_items",
        ReadOptions(format="csv", delimiter="|", header=False, encoding="latin-1"),
        1_682,
        ("movie_id", "title", "release_date", "video_release_date", "imdb_url", *MOVIE_GENRES),
    ),
    # tab separated, no header
    RealFile(
        "ml-100k/u.data",
        "movielens_ratings",
        ReadOptions(format="csv", delimiter="\t", header=False),
        100_000,
        ("user_id", "item_id", "rating", "timestamp"),
    ),
    # `|` separated, no header; some zip codes are Canadian ("T8H1N")
    RealFile(
        "ml-100k/u.user",
        "movielens_users",
        ReadOptions(format="csv", delimiter="|", header=False),
        943,
        ("user_id", "age", "gender", "occupation", "zip_code"),
    ),
    # -- adult (UCI census) ------------------------------------------------------------------
    # no header; `, ` separated (trim); `?` means missing. 32,562 physical lines: the file
    # ends with a blank line, which is not a record, so 32,561 rows
    RealFile(
        "adult/adult.data",
        "adult",
        ReadOptions(format="csv", header=False, trim=True, null_values=["", "?"]),
        32_561,
        ADULT_COLUMNS,
    ),
    # as adult.data, plus a first line "|1x3 Cross validator" (skip_rows=1) and labels that
    # end in "."; 16,283 lines = that line + 16,281 rows + a blank last line
    RealFile(
        "adult/adult.test",
        "adult_test",
        ReadOptions(format="csv", header=False, trim=True, null_values=["", "?"], skip_rows=1),
        16_281,
        ADULT_COLUMNS,
    ),
    # -- fraud (card transactions) ----------------------------------------------------------
    # the first header name is empty (a pandas index); 19 rows repeat another row's values
    RealFile("fraud/creditcard_sample.csv", "fraud", CSV, 1_722),
    # -- M4 (wide: one series per row, "V1".."Vn" quoted, shorter series padded with "") --
    RealFile("m4/Hourly-train.csv", "m4_hourly_train", CSV, 414),
    RealFile("m4/Hourly-test.csv", "m4_hourly_test", CSV, 414),
    # 2,598 columns: validation must stay linear in the column count
    RealFile("m4/Weekly-train.csv", "m4_weekly_train", CSV, 359),
    RealFile("m4/Weekly-test.csv", "m4_weekly_test", CSV, 359),
    # -- sentiment (UCI) ---------------------------------------------------------------------
    # sentence<TAB>label, no header; stray `"` inside sentences, so no quote character
    RealFile(
        "sentiment/amazon_cells_labelled.txt",
        "amazon_sentiment",
        ReadOptions(format="csv", delimiter="\t", header=False, quote_char=None),
        1_000,
        ("sentence", "label"),
    ),
    RealFile(
        "sentiment/yelp_labelled.txt",
        "yelp_sentiment",
        ReadOptions(format="csv", delimiter="\t", header=False, quote_char=None),
        1_000,
        ("sentence", "label"),
    ),
)
BY_TABLE = {case.table: case for case in DATASETS}

#: Files in the shared folder that are not datasets of this issue, and why.
NOT_COVERED = {
    "README.md": "documentation",
    "adult/adult.names": "documentation",
    "sentiment/readme.txt": "documentation",
    "ml-100k/README": "documentation",
    "ml-100k/u.info": "three summary lines",
    "ml-100k/u.genre": "lookup list of u.item's genre columns",
    "ml-100k/u.occupation": "lookup list of u.user's occupations",
    "ml-100k/u1.base": "a train split of u.data (same format)",
    "ml-100k/u1.test": "a test split of u.data (same format)",
}


@dataclass
class Ingested:
    """A file ingested into its own workspace, with the contract inferred for it."""

    workspace: lf.Workspace
    contract: Contract
    result: lf.IngestResult

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        table = self.workspace.query(sql)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*columns, strict=True))

    def scalar(self, sql: str) -> object:
        return self.rows(sql)[0][0]


@pytest.fixture(scope="module")
def ingest_real(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[RealFile], Ingested]]:
    """Ingest a file once per module (contract inferred as ``lakeforge demo`` does)."""
    done: dict[str, Ingested] = {}

    def ingest(case: RealFile) -> Ingested:
        if case.table not in done:
            path = shared_data / case.path
            names = list(case.column_names) or None
            with open_source(path, options=case.read, column_names=names) as source:
                contract = infer_contract(source, table=case.table, read=case.read)
            ws = lf.Workspace.init(tmp_path_factory.mktemp(case.table) / "lake")
            result = ws.ingest(path, table=case.table, contract=contract)
            done[case.table] = Ingested(ws, contract, result)
        return done[case.table]

    yield ingest
    for item in done.values():
        item.workspace.close()


def _present(shared_data: Path, case: RealFile) -> Path:
    path = shared_data / case.path
    if not path.is_file():
        pytest.skip(f"{case.path} is not in {shared_data}")
    return path


# -- every file ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in DATASETS if c.read is not None], ids=lambda c: c.id)
def test_sniffer_finds_the_options_the_file_needs(shared_data: Path, case: RealFile) -> None:
    path = _present(shared_data, case)
    assert case.read is not None
    assert sniff_csv(path).model_dump() == case.read.model_dump()


@pytest.mark.parametrize("case", DATASETS, ids=lambda c: c.id)
def test_ingests_every_row_with_an_inferred_contract(
    shared_data: Path, case: RealFile, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    # Setup
    _present(shared_data, case)
    # Run
    done = ingest_real(case)
    result = done.result
    # Assert: nothing lost, the expected rows, nothing (or the explained few) quarantined
    assert result.status == "succeeded"
    assert result.rows_read == result.rows_written + result.rows_quarantined
    assert result.rows_read == case.rows
    assert result.rows_quarantined == case.quarantined
    assert result.quality_status == "passed"
    table = done.workspace.table(case.table)
    assert table.num_rows() == case.rows - case.quarantined
    assert table.version == 0
    assert [h["rows_read"] for h in table.history()] == [case.rows]
    # the inferred contract is registered unchanged (a YAML round trip through the catalog)
    assert table.contract() == done.contract
    assert table.schema().names == done.contract.column_names
    if case.column_names:
        assert done.contract.column_names == list(case.column_names)


def test_every_data_file_of_the_shared_folder_has_a_case(shared_data: Path) -> None:
    files = {
        str(p.relative_to(shared_data))
        for p in shared_data.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    covered = {c.path for c in DATASETS}
    unexplained = files - covered - set(NOT_COVERED)
    assert unexplained == set(), "add a RealFile case (or a NOT_COVERED reason) for these"


# -- what each file teaches ----------------------------------------------------------------
def test_sell_prices_key_is_store_item_week(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["sell_prices"]
    _present(shared_data, case)
    done = ingest_real(case)
    assert done.contract.primary_key == ["store_id", "item_id", "wm_yr_wk"]
    schema = done.workspace.table("sell_prices").schema()
    assert schema.field("wm_yr_wk").type == pa.int64()
    assert schema.field("sell_price").type == pa.float64()
    # the README: store CA_1 is complete (3,049 items), CA_2 partial
    stores = dict(done.rows("select store_id, count(distinct item_id) from sell_prices group by 1"))
    assert set(stores) == {"CA_1", "CA_2"}
    assert stores["CA_1"] == 3_049
    duplicates = done.scalar(
        "select count(*) from (select store_id, item_id, wm_yr_wk from sell_prices "
        "group by all having count(*) > 1)"
    )
    assert duplicates == 0
    # the last line has no newline and still arrives whole (CRLF stripped everywhere)
    assert done.scalar("select count(*) from sell_prices where store_id like '%\r'") == 0
    last = done.rows(
        "select sell_price from sell_prices where store_id = 'CA_2' "
        "and item_id = 'HOUSEHOLD_2_446' and wm_yr_wk = 11531"
    )
    assert last == [(25.97,)]


def test_movielens_titles_decode_latin1(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["movielens_items"]
    _present(shared_data, case)
    done = ingest_real(case)
    title = done.scalar("select title from movielens_items where movie_id = 543")
    assert title == "Misérables, Les (1995)"
    assert done.scalar("select count(*) from movielens_items where title like '%\ufffd%'") == 0
    assert done.contract.primary_key == ["movie_id"]
    # a column that is empty on every line is kept, all null
    assert done.scalar("select count(video_release_date) from movielens_items") == 0


def test_movielens_ratings_and_users_keep_their_keys_and_codes(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    ratings_case, users_case = BY_TABLE["movielens_ratings"], BY_TABLE["movielens_users"]
    _present(shared_data, ratings_case)
    _present(shared_data, users_case)
    ratings, users = ingest_real(ratings_case), ingest_real(users_case)
    assert ratings.contract.primary_key == ["user_id", "item_id"]
    assert ratings.rows("select min(rating), max(rating) from movielens_ratings") == [(1, 5)]
    assert ratings.scalar("select count(distinct user_id) from movielens_ratings") == 943
    # zip codes stay text: Canadian codes and leading zeros survive
    assert users.contract.column("zip_code").type == "string"
    assert users.scalar("select count(*) from movielens_users where zip_code = 'T8H1N'") == 2
    assert users.scalar("select count(*) from movielens_users where zip_code like '0%'") == 96


@pytest.mark.parametrize(("table", "workclass_missing"), [("adult", 1_836), ("adult_test", 963)])
def test_adult_question_marks_are_nulls(
    shared_data: Path,
    ingest_real: Callable[[RealFile], Ingested],
    table: str,
    workclass_missing: int,
) -> None:
    case = BY_TABLE[table]
    _present(shared_data, case)
    done = ingest_real(case)
    assert done.scalar(f"select count(*) - count(workclass) from {table}") == workclass_missing
    text_columns = [c.name for c in done.contract.columns if c.type == "string"]
    for column in text_columns:
        # no `?` left, and no padding from the `, ` separator
        assert done.scalar(f"select count(*) from {table} where {column} = '?'") == 0
        assert done.scalar(f"select count(*) from {table} where {column} like ' %'") == 0
    assert done.contract.column("age").type == "integer"
    labels = {row[0] for row in done.rows(f"select distinct income from {table}")}
    assert labels == ({"<=50K", ">50K"} if table == "adult" else {"<=50K.", ">50K."})


def test_adult_missing_values_match_the_known_counts(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["adult"]
    _present(shared_data, case)
    done = ingest_real(case)
    missing = done.rows(
        "select count(*) - count(workclass), count(*) - count(occupation), "
        "count(*) - count(native_country) from adult"
    )
    assert missing == [(1_836, 1_843, 583)]


def test_olist_category_translation_has_no_bom_and_no_carriage_returns(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["olist_categories"]
    _present(shared_data, case)
    done = ingest_real(case)
    names = done.workspace.table("olist_categories").schema().names
    assert names[0] == "product_category_name"
    assert not any("\ufeff" in name for name in names)
    assert done.contract.primary_key == ["product_category_name"]
    assert (
        done.scalar(
            "select count(*) from olist_categories where product_category_name_english like '%\r'"
        )
        == 0
    )
    assert done.rows(
        "select product_category_name_english from olist_categories "
        "where product_category_name = 'beleza_saude'"
    ) == [("health_beauty",)]


def test_olist_keeps_misspelled_names_and_zip_code_text(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    products_case, sellers_case = BY_TABLE["olist_products"], BY_TABLE["olist_sellers"]
    _present(shared_data, products_case)
    _present(shared_data, sellers_case)
    products, sellers = ingest_real(products_case), ingest_real(sellers_case)
    assert "product_name_lenght" in products.contract.column_names
    assert products.contract.primary_key == ["product_id"]
    assert sellers.contract.column("seller_zip_code_prefix").type == "string"
    leading_zero = sellers.scalar(
        "select count(*) from olist_sellers where seller_zip_code_prefix like '0%'"
    )
    assert isinstance(leading_zero, int) and leading_zero > 0
    # "quoted" and bare ids read the same: no quote characters left in the values
    assert sellers.scalar("select count(*) from olist_sellers where seller_id like '%\"%'") == 0


@pytest.mark.parametrize("table", ["retail_csv", "retail_xlsx"])
def test_online_retail_invoice_date_is_a_timestamp(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested], table: str
) -> None:
    case = BY_TABLE[table]
    _present(shared_data, case)
    done = ingest_real(case)
    assert done.contract.column("InvoiceDate").type == "timestamp"
    schema = done.workspace.table(table).schema()
    assert pa.types.is_timestamp(schema.field("InvoiceDate").type)
    # the README's count of rows without a customer, and cancellations kept as rows
    assert done.scalar(f"select count(*) - count(CustomerID) from {table}") == 10_057
    assert done.scalar(f"select count(*) from {table} where InvoiceNo like 'C%'") > 0


def test_online_retail_csv_and_xlsx_give_the_same_rows(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    csv_case, xlsx_case = BY_TABLE["retail_csv"], BY_TABLE["retail_xlsx"]
    _present(shared_data, csv_case)
    _present(shared_data, xlsx_case)
    from_csv = ingest_real(csv_case).workspace.table("retail_csv").read()
    from_xlsx = ingest_real(xlsx_case).workspace.table("retail_xlsx").read()
    order = [(name, "ascending") for name in from_csv.column_names]
    assert from_csv.schema == from_xlsx.schema
    assert from_csv.sort_by(order).equals(from_xlsx.sort_by(order))


def test_m5_calendar_dates_are_dates(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["m5_calendar"]
    _present(shared_data, case)
    done = ingest_real(case)
    schema = done.workspace.table("m5_calendar").schema()
    assert schema.field("date").type == pa.date32()
    first, last = done.rows("select min(date), max(date) from m5_calendar")[0]
    assert (str(first), str(last)) == ("2011-01-29", "2016-06-19")
    assert done.contract.primary_key == ["date"]
    # event columns are empty on most days: nullable, not quarantined
    assert done.contract.column("event_name_1").nullable


def test_fraud_unnamed_index_column_and_duplicates(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["fraud"]
    _present(shared_data, case)
    done = ingest_real(case)
    index = done.contract.columns[0]
    assert index.source_name == ""  # the empty header name, mapped by position
    assert index.name == "column_1"
    assert done.contract.primary_key == [index.name]
    assert dict(done.rows("select Class, count(*) from fraud group by 1")) == {0: 1_230, 1: 492}
    values = ", ".join(f'"{c}"' for c in done.contract.column_names[1:])
    repeated = done.scalar(
        f"select count(*) - (select count(*) from (select distinct {values} from fraud)) from fraud"
    )
    assert repeated == 19  # the README's 19 duplicate rows are data, kept


@pytest.mark.parametrize("table", ["amazon_sentiment", "yelp_sentiment"])
def test_sentiment_keeps_stray_quotes_inside_sentences(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested], table: str
) -> None:
    case = BY_TABLE[table]
    _present(shared_data, case)
    done = ingest_real(case)
    assert dict(done.rows(f"select label, count(*) from {table} group by 1")) == {0: 500, 1: 500}
    quoted = done.scalar(f"select count(*) from {table} where sentence like '%\"%'")
    assert isinstance(quoted, int) and quoted > 0
    assert done.contract.column("sentence").pii == "free_text"


def test_every_ingest_recorded_its_lineage_and_contract(
    shared_data: Path, ingest_real: Callable[[RealFile], Ingested]
) -> None:
    case = BY_TABLE["movielens_users"]
    path = _present(shared_data, case)
    done = ingest_real(case)
    table = done.workspace.table(case.table)
    graph = table.lineage()
    assert [e.source for e in graph.edges] == [f"file:{path.resolve()}"]
    registered = table.contract()
    assert registered is not None
    assert registered.read == case.read
    assert pc.sum(table.read(columns=["user_id"]).column(0)).as_py() == sum(range(1, 944))
