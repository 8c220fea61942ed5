"""Guess how a delimited text file is written: encoding, delimiter, quoting, header, nulls.

``sniff_csv`` reads the start of a file and returns the :class:`ReadOptions` that
``CsvSource`` needs to read it, so ``lakeforge contract infer`` works on a file nobody has
described. Every guess is a plain rule on the sample (no scoring model), so a wrong guess can be
explained and overridden in the contract's ``read`` section.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lakeforge.contracts._model import ReadOptions
from lakeforge.errors import SourceError

__all__ = ["NULL_TOKENS", "sniff_csv"]

#: Tokens that mean "missing" when a whole field equals them, in the order they are reported.
NULL_TOKENS = ("", "?", "NA", "N/A", "n/a", "#N/A", "NULL", "null", "None", "NaN", "nan", "-")

_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_RECORDS = 2_000
# tokens that could be real values ("NA" = Namibia / North America, "-" = a dash code): they
# count as nulls only where the rest of the column says so (see ``_is_null_token``)
_AMBIGUOUS_TOKENS = frozenset({"NA", "-"})
# cp1252 leaves these bytes undefined: a file holding them is not cp1252
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?.*)?$")
_TYPED_SHARE = 0.9
_CONSISTENT = 0.9
_MAX_PREAMBLE = 10


def sniff_csv(path: Path, *, sample_bytes: int = 1 << 20) -> ReadOptions:
    """Detect the read options of a delimited text file from its first ``sample_bytes``.

    Detects the encoding (UTF-8, else cp1252 or Latin-1), the delimiter among ``, ; TAB |``,
    values padded after the delimiter (``a, b`` sets ``trim``), the quote character, title lines
    above the records (``skip_rows``), whether the first row is a header, and which null tokens
    (``?``, ``NA``, ``NULL``...) the file uses.

    Args:
        path: the file to look at.
        sample_bytes: how much of the start of the file to read.

    Returns:
        ReadOptions with ``format="csv"``, ready for ``CsvSource`` and a contract's ``read``.

    Raises:
        SourceError: the file does not exist or is empty.

    Example:
        >>> options = sniff_csv(Path("adult.data"))  # doctest: +SKIP
        >>> options.delimiter, options.header, options.trim, options.null_values  # doctest: +SKIP
        (',', False, True, ['', '?'])
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"file not found: {path}", source=str(path))
    with path.open("rb") as handle:
        head = handle.read(max(1024, sample_bytes))
        complete = not handle.read(1)
    head = head.removeprefix(codecs.BOM_UTF8)
    if not head.strip():
        raise SourceError(f"{path.name} is empty; there is nothing to infer", source=str(path))
    encoding = _detect_encoding(head, complete=complete)
    text = head.decode(encoding, errors="replace")
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # drop the record cut by the sample's end
    delimiter = _detect_delimiter(text)
    quote_char = _detect_quote(text, delimiter)
    skip_rows = _preamble_lines(text, delimiter, quote_char)
    if skip_rows:
        text = "\n".join(text.split("\n")[skip_rows:])
    rows = _read_rows(text, delimiter, quote_char)
    trim = _detect_padding(rows)
    if trim:
        rows = [[value.strip() for value in row] for row in rows]
    header = _has_header(rows)
    return ReadOptions(
        format="csv",
        delimiter=delimiter,
        header=header,
        encoding=encoding,
        quote_char=quote_char,
        null_values=_null_tokens(rows[1:] if header else rows),
        skip_rows=skip_rows,
        trim=trim,
    )


def _detect_encoding(data: bytes, *, complete: bool) -> str:
    """``utf-8`` when the bytes decode as UTF-8, else ``cp1252`` or ``latin-1``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    has_c1 = bool(counts[0x80:0xA0].any())
    if has_c1 and not counts[list(_CP1252_UNDEFINED)].any():
        # 0x80-0x9F are printable in cp1252 (curly quotes, euro), control codes in latin-1
        return "cp1252"
    return "latin-1"


def _field_counts(text: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    counts: list[int] = []
    try:
        for row in reader:
            if row:
                counts.append(len(row))
            if len(counts) >= _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    return counts


def _detect_delimiter(text: str) -> str:
    """The candidate that splits records into the same number (> 1) of fields most often."""
    best: tuple[bool, int, float] = (False, 0, 0.0)
    chosen = ","
    for delimiter in _DELIMITERS:
        counts = _field_counts(text, delimiter)
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        consistency = freq / len(counts)
        consistent = consistency >= _CONSISTENT
        # a consistent split wins; among consistent ones, the one giving more fields
        score = (consistent, mode if consistent else 0, consistency)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def _detect_quote(text: str, delimiter: str) -> str | None:
    """``"`` when fields are quoted with it, ``'`` likewise, None when stray quotes only."""
    sep = re.escape(delimiter)
    # a '"' value may hold doubled quotes and newlines (writers quote only the values that
    # need it: a multi-line comment, a "" inside); a "'" one stays on its line, so that
    # apostrophes in text do not read as quotes
    double = re.compile(rf'(?:^|{sep})"(?:[^"]|"")*"(?={sep}|\r?$)', re.M)
    if double.search(text):
        return '"'
    single = re.compile(rf"(?:^|{sep})'[^'\n]*'(?={sep}|\r?$)", re.M)
    if len(single.findall(text)) >= 2:
        return "'"
    # a '"' that never opens a field is text: reading it as a quote would glue lines together
    return None if '"' in text else '"'


def _preamble_lines(text: str, delimiter: str, quote_char: str | None) -> int:
    """Leading blank or one-field lines above multi-field records (a title, a note)."""
    counts = _field_counts(text, delimiter)
    if not counts or Counter(counts).most_common(1)[0][0] < 2:
        return 0
    for skipped, line in enumerate(text.split("\n")[:_MAX_PREAMBLE]):  # physical lines
        fields = _read_rows(line, delimiter, quote_char) if line.strip() else []
        if fields and len(fields[0]) > 1:
            return skipped
    return 0  # no record within the first lines: not a preamble


def _read_rows(text: str, delimiter: str, quote_char: str | None) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text),
        delimiter=delimiter,
        quotechar=quote_char or '"',
        quoting=csv.QUOTE_MINIMAL if quote_char else csv.QUOTE_NONE,
    )
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) > _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    return rows


def _detect_padding(rows: Sequence[Sequence[str]]) -> bool:
    """True when values after the first column start with a space (``a, b, c``)."""
    padded = total = 0
    for row in rows:
        for value in row[1:]:
            if value:
                total += 1
                padded += value[0].isspace()
    return total > 0 and padded / total >= _CONSISTENT


def _is_typed(value: str) -> bool:
    """A number or a date: what a header name never looks like."""
    return bool(_NUMBER.match(value) or _DATE_LIKE.match(value))


def _has_header(rows: Sequence[Sequence[str]]) -> bool:
    """Whether the first row names the columns.

    A first-row value that is a number, or that reappears below it in its column, is data; a
    text first-row value above a column of numbers or dates is a name. With no evidence either
    way (all-text columns whose values never repeat) the file is taken to have a header, as
    most files do.
    """
    if not rows:
        return True
    first, rest = rows[0], rows[1 : _SAMPLE_RECORDS + 1]
    header_votes = data_votes = 0
    for index, raw in enumerate(first):
        value = raw.strip()
        if not value:
            continue
        if _is_typed(value):
            data_votes += 1
            continue
        column = [
            row[index].strip()
            for row in rest
            if len(row) > index and row[index].strip() not in NULL_TOKENS
        ]
        if not column:
            continue
        typed = sum(_is_typed(v) for v in column) / len(column)
        if typed >= _TYPED_SHARE:
            header_votes += 1
        elif value in set(column):
            data_votes += 1
    return header_votes >= data_votes if header_votes or data_votes else True


def _null_tokens(rows: Sequence[Sequence[str]]) -> list[str]:
    """The null tokens found in the data rows; ``""`` is always one."""
    found: set[str] = {""}
    width = max((len(row) for row in rows), default=0)
    for index in range(width):
        values = [row[index] for row in rows if len(row) > index]
        present = {v for v in values if v in NULL_TOKENS} - found
        if not present:
            continue
        others = [v for v in values if v not in NULL_TOKENS]
        found |= {token for token in present if _is_null_token(token, others)}
    return [token for token in NULL_TOKENS if token in found]


def _is_null_token(token: str, others: Sequence[str]) -> bool:
    """Whether ``token`` means "missing" in a column whose other values are ``others``."""
    if token not in _AMBIGUOUS_TOKENS:
        return True
    if others and sum(_is_typed(v.strip()) for v in others) / len(others) >= _TYPED_SHARE:
        return True  # "NA" or "-" among numbers or dates
    short = 3 if token == "NA" else 1  # a column of short codes may hold "NA" or "-" as a code
    return bool(others) and all(len(v) > short for v in others)
