from __future__ import annotations

from pathlib import Path

import pytest

from lakeforge.contracts import ReadOptions, sniff_csv
from lakeforge.errors import SourceError

BOM = b"\xef\xbb\xbf"


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_olist_like_bom_crlf_quoted_header(tmp_path: Path) -> None:
    # Setup
    body = (
        '"product_id","product_category_name","product_name_lenght","product_photos_qty"\r\n'
        '"1e9e8ef04dbcff4541ed26657ea517e5",perfumaria,40,1\r\n'
        '"3aa071139cb16b67ca9e5dea641aaa2f",artes,44,1\r\n'
        "96bd76ec8810374ed1b65e291975717f,,46,\r\n"
    )
    path = _write(tmp_path, "products.csv", BOM + body.encode())

    # Run
    options = sniff_csv(path)

    # Assert
    assert options == ReadOptions(format="csv")  # utf-8, ",", '"', header, [""]


def test_movielens_like_latin1_pipe_without_header(tmp_path: Path) -> None:
    # Setup
    rows = [
        "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|1",
        "2|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Mis%E9rables|0|1|0",
        "3|Four Rooms (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Four%20Rooms|1|0|0",
        "267|unknown||||1|0|0",
    ]
    path = _write(tmp_path, "u.item", ("\n".join(rows) + "\n").encode("latin-1"))

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.delimiter == "|"
    assert options.header is False
    assert options.encoding == "latin-1"
    assert options.null_values == [""]
    assert options.trim is False


def test_cp1252_when_windows_punctuation_bytes_occur(tmp_path: Path) -> None:
    # Setup: 0x93 / 0x94 are curly quotes in cp1252, control codes in latin-1
    text = "id;quote\n1;\u201cHello\u201d\n2;caf\u00e9 \u20ac5\n"
    path = _write(tmp_path, "quotes.csv", text.encode("cp1252"))

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.encoding == "cp1252"
    assert options.delimiter == ";"


def test_adult_like_padded_values_and_question_marks(tmp_path: Path) -> None:
    # Setup
    rows = [
        "39, State-gov, 77516, Bachelors, Male, <=50K",
        "50, Self-emp-not-inc, 83311, Bachelors, Male, <=50K",
        "38, ?, 215646, HS-grad, Female, >50K",
        "53, Private, 234721, 11th, Male, ?",
    ]
    path = _write(tmp_path, "adult.data", "\n".join(rows) + "\n")

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.delimiter == ","
    assert options.header is False
    assert options.trim is True
    assert options.null_values == ["", "?"]


def test_title_line_above_the_records_is_skipped(tmp_path: Path) -> None:
    # Setup: adult.test starts with "|1x3 Cross validator"
    rows = ["|1x3 Cross validator", "25, Private, 226802, <=50K.", "38, Private, 89814, >50K."]
    path = _write(tmp_path, "adult.test", "\n".join(rows) + "\n")

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.skip_rows == 1
    assert options.header is False
    assert options.trim is True


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semi"), ("\t", "tab"), ("|", "pipe")])
def test_delimiters(tmp_path: Path, delimiter: str, name: str) -> None:
    # Setup: commas inside values must not win
    rows = [["name", "price", "note"], ["tea", "3,50", "hot, sweet"], ["jam", "2,10", "a, b, c"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    path = _write(tmp_path, f"{name}.csv", text)

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.delimiter == delimiter
    assert options.header is True


def test_quoted_commas_keep_the_comma_delimiter(tmp_path: Path) -> None:
    text = 'id,title\n1,"Usual Suspects, The (1995)"\n2,"Birdcage, The (1996)"\n3,Heat\n'
    options = sniff_csv(_write(tmp_path, "t.csv", text))
    assert options.delimiter == ","
    assert options.quote_char == '"'


def test_stray_double_quotes_turn_quoting_off(tmp_path: Path) -> None:
    # Setup: a 12" vinyl: reading '"' as a quote would glue lines together
    text = 'sku\tdescription\n1\t12" vinyl record\n2\tsleeve for 7" single\n3\tneedle\n'
    path = _write(tmp_path, "vinyl.tsv", text)

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.delimiter == "\t"
    assert options.quote_char is None


def test_single_quote_as_quote_character(tmp_path: Path) -> None:
    text = "id,city\n1,'Paris, France'\n2,'Rome, Italy'\n3,'Oslo, Norway'\n"
    options = sniff_csv(_write(tmp_path, "q.csv", text))
    assert options.quote_char == "'"
    assert options.delimiter == ","


def test_header_detected_over_numeric_columns(tmp_path: Path) -> None:
    text = (
        "store_id,item_id,wm_yr_wk,sell_price\nCA_1,HOBBIES_1_001,11325,9.58\nCA_1,H2,11326,9.58\n"
    )
    assert sniff_csv(_write(tmp_path, "p.csv", text)).header is True


def test_no_header_when_first_row_values_repeat(tmp_path: Path) -> None:
    # Setup: all text, but the first row's values reappear below: it is data
    rows = ["red,small", "blue,large", "red,large", "blue,small", "red,small"]
    path = _write(tmp_path, "pairs.csv", "\n".join(rows) + "\n")

    # Run / Assert
    assert sniff_csv(path).header is False


def test_all_text_without_evidence_assumes_a_header(tmp_path: Path) -> None:
    text = "product_category_name,product_category_name_english\nbeleza_saude,health_beauty\n"
    assert sniff_csv(_write(tmp_path, "t.csv", text)).header is True


def test_null_tokens_in_numeric_columns(tmp_path: Path) -> None:
    # Setup
    text = "id,score,grade,note\n1,NA,-,NULL\n2,3.5,4,None\n3,N/A,5,ok\n4,2.0,6,fine\n"
    path = _write(tmp_path, "scores.csv", text)

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.null_values == ["", "NA", "N/A", "NULL", "None", "-"]


def test_na_among_short_codes_is_a_value_not_a_null(tmp_path: Path) -> None:
    # Setup: NA = North America in a region-code column; "-" in a column of one-letter codes
    text = "id,region,flag\n1,EU,A\n2,NA,-\n3,AS,B\n4,NA,C\n"
    path = _write(tmp_path, "regions.csv", text)

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.null_values == [""]


def test_na_in_a_text_column_of_long_values_is_a_null(tmp_path: Path) -> None:
    text = "id,country\n1,Portugal\n2,NA\n3,Brazil\n"
    assert sniff_csv(_write(tmp_path, "c.csv", text)).null_values == ["", "NA"]


def test_only_the_sample_is_read(tmp_path: Path) -> None:
    # Setup: a Latin-1 byte far beyond the sample does not change the guess
    head = "a,b\n" + "".join(f"{i},x{i}\n" for i in range(5000))
    path = _write(tmp_path, "big.csv", head.encode() + b"9,caf\xe9\n")

    # Run
    options = sniff_csv(path, sample_bytes=4096)

    # Assert
    assert options.encoding == "utf-8"
    assert options.header is True


def test_missing_and_empty_files_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        sniff_csv(tmp_path / "nope.csv")
    with pytest.raises(SourceError, match="empty"):
        sniff_csv(_write(tmp_path, "empty.csv", BOM + b"\r\n"))


@pytest.mark.parametrize(
    "value",
    ['"two\nlines"', '"say ""hi"""', '"a ""b""\nc"'],
    ids=["multi-line", "doubled quotes", "both"],
)
def test_quoting_found_where_only_some_values_need_it(tmp_path: Path, value: str) -> None:
    # Setup: quotes only where needed (csv.QUOTE_MINIMAL), beside stray inch marks
    text = f'id,desc\n1,plain\n2,{value}\n3,55" TV\n4,size 5"\n'
    path = _write(tmp_path, "minimal.csv", text)

    # Run
    options = sniff_csv(path)

    # Assert
    assert options.quote_char == '"'
    assert options.delimiter == ","
