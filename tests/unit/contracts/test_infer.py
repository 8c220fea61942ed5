from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from lakeforge.contracts import (
    AllowedValuesCheck,
    Contract,
    RangeCheck,
    ReadOptions,
    UniqueCheck,
    infer_contract,
    sniff_csv,
)
from lakeforge.contracts._parse import cast_expr
from lakeforge.errors import SourceError
from lakeforge.ingest._csv import CsvSource

BOM = b"\xef\xbb\xbf"


# -- helpers -------------------------------------------------------------------------------
def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _infer_file(path: Path, **kwargs: object) -> tuple[Contract, CsvSource]:
    source = CsvSource(path, sniff_csv(path))
    return infer_contract(source, table=path.stem, **kwargs), source  # type: ignore[arg-type]


def _assert_accepts(contract: Contract, source: CsvSource) -> None:
    """Every raw value the contract reads parses (no new nulls); keys unique and non-null."""
    options = contract.read
    typed_parts: list[pl.DataFrame] = []
    for batch in source.batches():
        raw = pl.from_arrow(batch.data)
        assert isinstance(raw, pl.DataFrame)
        prepared: list[pl.Expr] = []
        for col in contract.columns:
            expr = pl.col(col.source_name if col.source_name is not None else col.name)
            if options.trim:
                expr = expr.str.strip_chars()
            expr = pl.when(expr.is_in(options.null_values)).then(None).otherwise(expr)
            prepared.append(expr.alias(col.name))
        frame = raw.select(prepared)
        typed = frame.select(
            cast_expr(c.name, c, pl.String()).alias(c.name) for c in contract.columns
        )
        for col in contract.columns:
            failed = frame.filter(pl.col(col.name).is_not_null() & typed[col.name].is_null())
            assert failed.height == 0, f"{col.name} ({col.type}): {failed[col.name].head(3)}"
            if not col.nullable:
                assert frame[col.name].null_count() == 0, f"{col.name} has nulls"
        typed_parts.append(typed)
    everything = pl.concat(typed_parts)
    for key in contract.unique_keys():
        assert not everything.select(key).is_duplicated().any(), key


def _luhn(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


# -- the real datasets' quirks ----------------------------------------------------------------
def test_olist_like_bom_crlf_misspelled_columns(tmp_path: Path) -> None:
    # Setup
    rng = random.Random(0)
    cats = ["perfumaria", "artes", "esporte_lazer", "bebes", "utilidades_domesticas"]
    lines = [
        '"product_id","product_category_name","product_name_lenght","product_photos_qty",'
        '"product_weight_g"'
    ]
    for i in range(300):
        category = "" if i % 50 == 7 else rng.choice(cats)
        photos = "" if i % 50 == 7 else str(rng.randint(1, 6))
        lines.append(f'"{i:032x}",{category},{rng.randint(5, 60)},{photos},{rng.randint(0, 9000)}')
    path = _write(tmp_path, "products.csv", BOM + ("\r\n".join(lines) + "\r\n").encode())

    # Run
    contract, source = _infer_file(path)

    # Assert
    assert contract.column_names == [
        "product_id", "product_category_name", "product_name_lenght", "product_photos_qty",
        "product_weight_g",
    ]  # fmt: skip
    assert all(c.source_name is None for c in contract.columns)  # the BOM is not in a name
    types = {c.name: (c.type, c.nullable) for c in contract.columns}
    assert types == {
        "product_id": ("string", False),
        "product_category_name": ("string", True),
        "product_name_lenght": ("integer", False),
        "product_photos_qty": ("integer", True),
        "product_weight_g": ("integer", False),
    }
    assert contract.primary_key == ["product_id"]
    assert RangeCheck(column="product_photos_qty", min=0) in contract.checks
    assert RangeCheck(column="product_weight_g", min=0) in contract.checks
    assert contract.read.format == "csv"
    _assert_accepts(contract, source)


def test_movielens_like_latin1_pipe_file_without_header(tmp_path: Path) -> None:
    # Setup
    titles = ["Toy Story (1995)", "GoldenEye (1995)", "Misérables, Les (1995)", "Heat (1995)"]
    rows = []
    for i in range(1, 41):
        date = "" if i == 40 else f"{(i % 28) + 1:02d}-{['Jan', 'Feb', 'Mar'][i % 3]}-1995"
        url = "" if i == 40 else f"http://us.imdb.com/M/title-exact?item{i}"
        flags = "|".join(str((i >> b) & 1) for b in range(3))
        rows.append(f"{i}|{titles[i % 4]}|{date}||{url}|{flags}")
    path = _write(tmp_path, "u.item", ("\n".join(rows) + "\n").encode("latin-1"))

    # Run
    contract, source = _infer_file(path)

    # Assert
    assert contract.read.encoding == "latin-1"
    assert contract.read.header is False
    cols = {c.name: c for c in contract.columns}
    assert list(cols) == [f"column_{i}" for i in range(1, 9)]
    assert cols["column_1"].type == "integer"
    assert cols["column_3"].type == "date"
    assert cols["column_3"].format == "%d-%b-%Y"
    assert cols["column_3"].nullable
    assert cols["column_4"].type == "string"  # always empty
    assert cols["column_4"].nullable
    assert [cols[f"column_{i}"].type for i in (6, 7, 8)] == ["integer"] * 3  # 0/1, not boolean
    assert contract.primary_key == ["column_1"]
    _assert_accepts(contract, source)


def test_adult_like_no_header_padded_with_question_marks(tmp_path: Path) -> None:
    # Setup
    rng = random.Random(1)
    work = ["Private", "Self-emp-not-inc", "State-gov", "?"]
    rows = []
    for _ in range(1_200):
        rows.append(
            ", ".join(
                [
                    str(rng.randint(17, 90)),
                    rng.choice(work),
                    str(rng.randint(10_000, 900_000)),
                    rng.choice(["Male", "Female"]),
                    str(rng.choice([0, 0, 0, 2174, 14084])),
                    rng.choice(["<=50K", ">50K"]),
                ]
            )
        )
    path = _write(tmp_path, "adult.data", "\n".join(rows) + "\n")

    # Run
    contract, source = _infer_file(path)

    # Assert
    assert contract.read.trim is True
    assert contract.read.null_values == ["", "?"]
    cols = {c.name: c for c in contract.columns}
    assert [cols[f"column_{i}"].type for i in range(1, 7)] == [
        "integer", "string", "integer", "string", "integer", "string",
    ]  # fmt: skip
    assert cols["column_2"].nullable and not cols["column_4"].nullable
    allowed = {c.column: c.values for c in contract.checks if isinstance(c, AllowedValuesCheck)}
    assert allowed == {
        "column_2": ["Private", "Self-emp-not-inc", "State-gov"],
        "column_4": ["Female", "Male"],
        "column_6": ["<=50K", ">50K"],
    }
    _assert_accepts(contract, source)


def test_european_decimals_and_dates(tmp_path: Path) -> None:
    # Setup
    rows = ["sku;price;weight;sold_on;shipped;active"]
    for i in range(1, 60):
        price = f"{i},{i % 100:02d}" if i % 5 else f"{i}.000,50"
        rows.append(
            f"SKU{i};{price};{i * 3};{(i % 28) + 1:02d}/{(i % 12) + 1:02d}/2023;"
            f"2023-{(i % 12) + 1:02d}-{(i % 28) + 1:02d};{'ja' if i % 2 else 'nein'}"
        )
    rows.append("SKU99;3,50;;29/02/2024;2024-02-29;ja")
    path = _write(tmp_path, "prices.csv", "\n".join(rows) + "\n")

    # Run
    contract, source = _infer_file(path)

    # Assert
    assert contract.read.delimiter == ";"
    cols = {c.name: c for c in contract.columns}
    assert (cols["price"].type, cols["price"].decimal_comma) == ("float", True)
    assert cols["weight"].type == "integer" and cols["weight"].nullable
    assert (cols["sold_on"].type, cols["sold_on"].format) == ("date", "%d/%m/%Y")
    assert (cols["shipped"].type, cols["shipped"].format) == ("date", "%Y-%m-%d")
    assert cols["active"].type == "string"  # ja/nein are not boolean tokens
    assert RangeCheck(column="price", min=0) in contract.checks
    _assert_accepts(contract, source)


def test_us_timestamps_with_one_digit_month_day_and_hour(tmp_path: Path) -> None:
    # Setup: online retail's InvoiceDate
    start = dt.datetime(2010, 12, 1, 8, 26)
    rows = ["InvoiceNo,InvoiceDate,Quantity,UnitPrice"]
    for i in range(200):
        t = start + dt.timedelta(hours=7 * i, minutes=13 * i)
        stamp = f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"
        rows.append(f"{536365 + i // 3},{stamp},{(i % 7) - 1},{i % 9}.{i % 100:02d}")
    path = _write(tmp_path, "retail.csv", "\r\n".join(rows) + "\r\n")

    # Run
    contract, source = _infer_file(path)

    # Assert
    cols = {c.name: c for c in contract.columns}
    assert rows[1].split(",")[1] == "12/1/2010 8:26"
    assert (cols["InvoiceDate"].type, cols["InvoiceDate"].format) == (
        "timestamp", "%m/%d/%Y %H:%M",
    )  # fmt: skip
    assert not cols["InvoiceDate"].timezone
    assert cols["Quantity"].type == "integer"
    assert cols["UnitPrice"].type == "float"
    ranges = {c.column for c in contract.checks if isinstance(c, RangeCheck)}
    assert ranges == {"UnitPrice"}  # Quantity has negatives (cancellations)
    _assert_accepts(contract, source)


def test_iso_timestamps_with_offsets_are_instants(tmp_path: Path) -> None:
    rows = ["event_id,at"] + [f"{i},2024-03-{i:02d}T10:00:00+02:00" for i in range(1, 20)]
    contract, source = _infer_file(_write(tmp_path, "events.csv", "\n".join(rows) + "\n"))
    at = contract.column("at")
    assert (at.type, at.timezone) == ("timestamp", True)
    assert at.format is not None and "z" in at.format
    _assert_accepts(contract, source)


# -- PII ---------------------------------------------------------------------------------------
def test_pii_found_by_values(tmp_path: Path) -> None:
    # Setup: column names that say nothing
    rng = random.Random(7)
    words = ["the", "delivery", "arrived", "late", "and", "the", "box", "was", "crushed"]
    rows = ["k,a,b,c,d,e,f"]
    for i in range(100):
        rows.append(",".join([
            str(i),
            f"user{i}@example.com",
            f"+1 (555) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            _luhn(rng.choice(["4", "51", "37"]), 16, rng),
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            " ".join(rng.choice(words) for _ in range(rng.randint(6, 14))),
            f"{rng.randint(0, 99):05d}",
        ]))  # fmt: skip
    path = _write(tmp_path, "people.csv", "\n".join(rows) + "\n")

    # Run
    contract, source = _infer_file(path)

    # Assert
    assert contract.pii_columns == {
        "a": "email", "b": "phone", "c": "card_number", "d": "ip_address", "e": "free_text",
    }  # fmt: skip
    assert contract.column("c").type == "string"  # a card number is not a quantity
    assert contract.column("f").type == "string"  # 00042: a code with leading zeros
    assert contract.column("f").pii is None
    assert not [c for c in contract.checks if getattr(c, "column", None) == "e"]
    assert contract.primary_key == ["k"]
    _assert_accepts(contract, source)


def test_pii_found_by_names() -> None:
    # Setup
    frame = pl.DataFrame({
        "customer_id": ["1", "2", "3"],
        "e_mail": ["x", "y", "z"],
        "phone_number": ["5551234567", "5559876543", "5550000000"],
        "first_name": ["Ana", "Bo", "Cy"],
        "name": ["Ana Lee", "Bo Chan", "Cy Diaz"],
        "product_name": ["tea", "jam", "cup"],
        "street_address": ["1 Main St", "2 High St", "3 Low Rd"],
        "zip": ["02139", "10001", "94105"],
        "city": ["Boston", "New York", "San Francisco"],
        "dob": ["1980-01-02", "1975-05-06", "1990-07-08"],
        "cc_num": ["1", "2", "3"],
        "iban": ["DE89", "GB29", "FR14"],
        "SSN": ["a", "b", "c"],
        "ip": ["a", "b", "c"],
    })  # fmt: skip

    # Run
    contract = infer_contract(frame, table="customers")

    # Assert
    assert contract.pii_columns == {
        "e_mail": "email", "phone_number": "phone", "first_name": "person_name",
        "name": "person_name", "street_address": "address", "zip": "address",
        "dob": "birth_date", "cc_num": "card_number", "iban": "other", "SSN": "national_id",
        "ip": "ip_address",
    }  # fmt: skip
    assert contract.column("phone_number").type == "string"
    assert contract.column("zip").type == "string"
    assert contract.column("cc_num").type == "string"
    assert contract.column("dob").type == "date"
    assert contract.primary_key == ["customer_id"]


# -- keys ----------------------------------------------------------------------------------------
def test_composite_key_gets_a_unique_check(tmp_path: Path) -> None:
    # Setup: olist payments: (order_id, payment_sequential)
    rng = random.Random(3)
    rows = ["order_id,payment_sequential,payment_type,payment_value"]
    for order in range(400):
        for seq in range(1, rng.choice([1, 1, 1, 2, 3]) + 1):
            rows.append(f"o{order:05d},{seq},{rng.choice(['boleto', 'voucher'])},{order % 37}.5")
    path = _write(tmp_path, "payments.csv", "\n".join(rows) + "\n")

    # Run
    contract, source = _infer_file(path)

    # Assert
    assert contract.primary_key == ["order_id", "payment_sequential"]
    assert UniqueCheck(columns=["order_id", "payment_sequential"]) in contract.checks
    assert not contract.column("order_id").nullable
    _assert_accepts(contract, source)


def test_key_confirmed_over_rows_beyond_the_sample(tmp_path: Path) -> None:
    # Setup: m5 sell_prices: the first store alone makes (item_id, wm_yr_wk) unique
    rows = ["store_id,item_id,wm_yr_wk,sell_price"]
    for store in ("CA_1", "CA_2"):
        for item in range(40):
            for week in range(11325, 11350):
                rows.append(f"{store},HOBBIES_1_{item:03d},{week},{(item % 9) + 0.58:.2f}")
    path = _write(tmp_path, "sell_prices.csv", "\r\n".join(rows))  # no final newline

    # Run
    contract, source = _infer_file(path, sample_rows=1_000)
    sampled_only = infer_contract(source, table="p", sample_rows=1_000, full_scan_keys=False)

    # Assert
    assert contract.primary_key == ["store_id", "item_id", "wm_yr_wk"]
    assert sampled_only.primary_key == ["item_id", "wm_yr_wk"]
    types = [(c.name, c.type) for c in contract.columns]
    assert types == [("store_id", "string"), ("item_id", "string"), ("wm_yr_wk", "integer"),
                     ("sell_price", "float")]  # fmt: skip
    assert AllowedValuesCheck(column="store_id", values=["CA_1", "CA_2"]) in contract.checks
    assert RangeCheck(column="sell_price", min=0) in contract.checks
    _assert_accepts(contract, source)


def test_full_scan_widens_types_and_notes_late_nulls(tmp_path: Path) -> None:
    # Setup: the first rows say integer / not null / unique; later rows disagree
    rows = ["id,code,count,when"]
    rows += [f"{i},{i},{i % 4},2024-01-{(i % 28) + 1:02d}" for i in range(1, 101)]
    rows += [f"{i},X{i},,soon" for i in range(101, 151)]
    rows += [rows[100]]  # row 100 again: no column set is a key
    path = _write(tmp_path, "late.csv", "\n".join(rows) + "\n")

    # Run
    contract, source = _infer_file(path, sample_rows=100)

    # Assert
    cols = {c.name: c for c in contract.columns}
    assert cols["code"].type == "string"
    assert cols["when"].type == "string" and cols["when"].format is None
    assert cols["count"].type == "integer" and cols["count"].nullable
    assert rows[100].startswith("100,")
    assert contract.primary_key == []
    _assert_accepts(contract, source)


def test_no_key_when_every_row_can_repeat() -> None:
    frame = pl.DataFrame({"a": ["x", "x", "y"], "b": [1, 1, 2]})
    assert infer_contract(frame, table="t").primary_key == []


def test_id_like_names_win_over_earlier_columns() -> None:
    frame = pl.DataFrame({"title": ["a", "b", "c"], "movie_id": [3, 1, 2]})
    assert infer_contract(frame, table="t").primary_key == ["movie_id"]


# -- types -----------------------------------------------------------------------------------
def test_type_choices_on_text() -> None:
    # Setup
    frame = pl.DataFrame({
        "flag01": ["0", "1", "1", "0"],
        "yes_no": ["yes", "No", "YES", "no"],
        "tf": ["t", "f", "t", "t"],
        "zipcode_like": ["00123", "04567", "10001", "99999"],
        "huge": ["123456789012345678901", "2", "3", "4"],
        "ratio": ["0.5", "1", "2.25", "1e3"],
        "mixed_dates": ["2024-01-02", "02/01/2024", "x", "2024-01-03"],
        "words": ["a", "b", "c", "d"],
    })  # fmt: skip

    # Run
    contract = infer_contract(frame, table="t")

    # Assert
    assert [c.type for c in contract.columns] == [
        "integer", "boolean", "boolean", "string", "string", "float", "string", "string",
    ]  # fmt: skip


def test_two_bad_values_in_four_hundred_are_tolerated_but_three_are_not() -> None:
    # Setup: 99.5% of the non-null values must parse
    good = [str(i) for i in range(397)]
    frame = pl.DataFrame(
        {"two_bad": [*good, "1", "oops", "eek"], "three_bad": [*good, "a", "b", "c"]}
    )

    # Run
    contract = infer_contract(frame, table="t")

    # Assert
    assert contract.column("two_bad").type == "integer"
    assert contract.column("three_bad").type == "string"


def test_null_tokens_from_read_options_are_applied_before_typing() -> None:
    # Setup
    frame = pl.DataFrame({"score": ["1.5", "NA", " 2 ", "-"], "label": [" a", "b ", "NA", "c"]})
    read = ReadOptions(null_values=["", "NA", "-"], trim=True)

    # Run
    contract = infer_contract(frame, table="t", read=read)

    # Assert
    assert (contract.column("score").type, contract.column("score").nullable) == ("float", True)
    assert contract.column("label").nullable
    assert contract.read == read


def test_typed_sources_keep_their_types() -> None:
    # Setup
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int32()),
        "amount": pa.array([1.5, None, 2.0]),
        "paid": pa.array([True, False, True]),
        "day": pa.array([dt.date(2024, 1, d) for d in (1, 2, 3)]),
        "at": pa.array([dt.datetime(2024, 1, 1, h) for h in (1, 2, 3)], pa.timestamp("us", "UTC")),
        "price": pa.array([1, 2, 3], pa.decimal128(10, 2)),
        "kind": pa.array(["a", "b", "a"]).dictionary_encode(),
    })  # fmt: skip

    # Run
    contract = infer_contract(table, table="t")

    # Assert
    summary = [(c.name, c.type, c.nullable) for c in contract.columns]
    assert summary == [
        ("id", "integer", False), ("amount", "float", True), ("paid", "boolean", False),
        ("day", "date", False), ("at", "timestamp", False), ("price", "decimal", False),
        ("kind", "string", False),
    ]  # fmt: skip
    assert contract.column("at").timezone
    assert contract.column("price").scale == 2
    assert contract.primary_key == ["id"]
    assert RangeCheck(column="amount", min=0) in contract.checks
    assert RangeCheck(column="price", min=0) in contract.checks


def test_names_that_are_not_identifiers_are_sanitised() -> None:
    # Setup
    frame = pl.DataFrame({
        "\ufeffOrder ID": ["1", "2"], "unit-price": ["1", "2"], "2nd address": ["a", "b"],
        "Café Name": ["x", "y"], "": ["p", "q"], "InvoiceNo": ["1", "2"], "unit price": ["3", "4"],
    })  # fmt: skip

    # Run
    contract = infer_contract(frame, table="t")

    # Assert
    names = [(c.name, c.source_name) for c in contract.columns]
    assert names == [
        ("order_id", "\ufeffOrder ID"), ("unit_price", "unit-price"),
        ("col_2nd_address", "2nd address"), ("cafe_name", "Café Name"), ("column_5", ""),
        ("InvoiceNo", None), ("unit_price_2", "unit price"),
    ]  # fmt: skip
    assert contract.problems() == []


# -- checks --------------------------------------------------------------------------------------
def test_allowed_values_need_a_sample_of_a_thousand_rows() -> None:
    # Setup
    statuses = ["open", "shipped", "returned"]
    small = pl.DataFrame({"status": [statuses[i % 3] for i in range(999)]})
    large = pl.DataFrame({"status": [statuses[i % 3] for i in range(1_000)]})
    many = pl.DataFrame({"status": [f"s{i % 13}" for i in range(2_000)]})

    # Run
    checks = [infer_contract(f, table="t").checks for f in (small, large, many)]

    # Assert
    assert checks[0] == []
    assert checks[1] == [AllowedValuesCheck(column="status", values=sorted(statuses))]
    assert checks[2] == []


def test_range_checks_only_for_quantities_without_negatives() -> None:
    frame = pl.DataFrame({
        "quantity": [1, 0, 5], "refund_amount": [-1.0, 2.0, 3.0], "temperature": [1, 2, 3],
        "unit_cost": ["1.5", "0", "2"],
    })  # fmt: skip
    checks = infer_contract(frame, table="t").checks
    assert checks == [RangeCheck(column="quantity", min=0), RangeCheck(column="unit_cost", min=0)]


# -- edges ---------------------------------------------------------------------------------------
def test_empty_source_gives_nullable_text_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.csv", "a,b\n")
    contract = infer_contract(CsvSource(path), table="t")
    assert [(c.name, c.type, c.nullable) for c in contract.columns] == [
        ("a", "string", True), ("b", "string", True),
    ]  # fmt: skip
    assert contract.primary_key == []


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sample_rows"):
        infer_contract(pl.DataFrame({"a": [1]}), table="t", sample_rows=0)
    with pytest.raises(SourceError, match="no columns"):
        infer_contract(pl.DataFrame(), table="t")


def test_inferred_contract_round_trips_through_yaml(tmp_path: Path) -> None:
    rows = ["id;price;day"] + [f"{i};{i},25;0{(i % 9) + 1}.01.2024" for i in range(30)]
    contract, _ = _infer_file(_write(tmp_path, "r.csv", "\n".join(rows) + "\n"))
    assert Contract.from_yaml(contract.to_yaml()) == contract
