"""Delimited text files (CSV, TSV, pipe...) read in chunks with exact source line numbers.

The file is cut into chunks at record boundaries: a newline outside quoted values. As in
pyarrow, a quote opens a value only at the start of a field (``5" screen`` is text); NumPy
pairs the quotes, and from the first quote that pairing misreads they are read one by one
(see :func:`_quoted_spans`). Each chunk knows the physical line each record starts on, so
every row, and every record that cannot be split into the right number of fields, carries
its line number. Fields are read as text by pyarrow's CSV parser; typing happens later, in
validation, so a bad value quarantines one row instead of failing the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._background import in_background
from lakeforge.ingest._source import (
    INVALID_UTF8_REASON,
    RawBatch,
    RejectedRecord,
    Source,
    TypedRead,
    file_fingerprint,
    file_sha256,
)

__all__ = ["CsvSource"]

_BOM = codecs.BOM_UTF8
_NEWLINE = 10
_CARRIAGE_RETURN = 13
_UTF8_NAMES = {"utf-8", "utf8", "utf-8-sig", "utf_8"}
_EMPTY = pa.table({})
_BARE_CR = re.compile(rb"\r(?!\n|\Z)")  # a CR that ends neither a line nor the data
_BLANK_LINE = re.compile(rb"\n\r?\n")  # an empty line inside the data
_CR_STAND_IN_TEXT = "\ue000"  # a private-use character
_CR_STAND_IN = _CR_STAND_IN_TEXT.encode()


_RESOLVING = threading.Lock()  # chunks' first lines are resolved one chain at a time


class _Chunk:
    """Whole records of the file, with the physical line their first byte is on.

    The chunker only cuts; each parse task counts its own chunk's newlines (in parallel) and
    its first line is the previous chunk's first line plus that chunk's count, resolved on
    first use (the previous chunk is usually counted by then; if not, whoever needs it first
    counts it).
    """

    __slots__ = ("_first", "_lock", "_newlines", "_prev", "data", "last")

    def __init__(
        self, data: bytes, prev: _Chunk | None, first_line: int = 0, *, last: bool = False
    ) -> None:
        self.data = data
        self.last = last  # the file's last chunk
        self._prev = prev
        self._first: int | None = first_line if prev is None else None
        self._newlines: int | None = None
        self._lock = threading.Lock()

    @property
    def newlines(self) -> int:
        """How many newlines the chunk holds."""
        with self._lock:
            if self._newlines is None:
                self._newlines = self.data.count(b"\n")
            return self._newlines

    @property
    def first_line(self) -> int:
        """The physical line number of the chunk's first byte."""
        first = self._first
        if first is None:
            with _RESOLVING:
                chain: list[_Chunk] = []
                chunk: _Chunk | None = self
                while chunk is not None and chunk._first is None:  # back to a resolved one
                    chain.append(chunk)
                    chunk = chunk._prev
                for link in reversed(chain):
                    prev = link._prev
                    assert prev is not None and prev._first is not None
                    link._first = prev._first + prev.newlines
                    link._prev = None  # the previous chunk (and its bytes) can go
                first = self._first
                assert first is not None
        return first


class CsvSource(Source):
    """A delimited text file.

    Args:
        path: the file.
        options: delimiter, header, encoding, quote character, skip_rows.
        column_names: names for a file without a header (defaults to ``column_1``...).
        chunk_bytes: size of the chunks parsed at a time (memory stays around a few chunks).
        threads: chunks parsed in parallel (0 = one per core).

    Example:
        >>> src = CsvSource(Path("orders.csv"), ReadOptions(delimiter=";"))  # doctest: +SKIP
        >>> for batch in src.batches(): ...  # doctest: +SKIP
    """

    kind = "file"
    location_kind = "line"

    def __init__(
        self,
        path: Path | str,
        options: ReadOptions | None = None,
        *,
        column_names: list[str] | None = None,
        chunk_bytes: int = 16 * 1024 * 1024,
        threads: int = 0,
    ) -> None:
        self.path = Path(path)
        self.options = options or ReadOptions()
        if not self.path.is_file():
            raise SourceError(f"file not found: {self.path}", source=str(self.path))
        if len(self.options.delimiter) != 1:
            raise SourceError(
                f"delimiter {self.options.delimiter!r} must be one character", source=self.uri
            )
        self._given_names = column_names
        self.chunk_bytes = chunk_bytes
        import os

        self.threads = threads or min(4, os.cpu_count() or 1)
        self._names: list[str] | None = None
        self._header_lines = 0
        self._data_offset = 0
        self._encoding = codecs.lookup(self.options.encoding).name
        self._read_header()

    # -- Source --------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The absolute file path."""
        return str(self.path.resolve())

    def columns(self) -> list[str]:
        """Column names from the header, the given names, or ``column_N``."""
        assert self._names is not None
        return list(self._names)

    def fingerprint(self) -> str:
        """XXH3-128 of the file's bytes."""
        return file_fingerprint(self.path)

    def legacy_fingerprint(self) -> str:
        """SHA-256 of the file's bytes (what earlier versions recorded)."""
        return file_sha256(self.path)

    def estimated_rows(self) -> int | None:
        """The file size over the mean record size of the first megabyte."""
        sample = self._head[self._data_offset :]
        records = sample.count(b"\n")
        if not records:
            return None
        data_bytes = self.path.stat().st_size - self._data_offset
        return int(data_bytes / (len(sample) / records))

    def describe_location(self, location: int) -> str:
        """``name.csv line 4,031``."""
        return f"{self.path.name} line {location:,}"

    def batches(self) -> Iterator[RawBatch]:
        """Parse chunks (in parallel threads, results in file order)."""
        chunks = self._chunks()
        if self.threads <= 1:
            for chunk in chunks:
                yield self._parse(chunk)
            return
        with ThreadPoolExecutor(self.threads) as pool:
            pending: list[Any] = []
            for chunk in chunks:
                pending.append(pool.submit(self._parse, chunk))
                if len(pending) > self.threads:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()

    def tasks(self, types: Sequence[TypedRead] | None = None) -> Iterator[Callable[[], RawBatch]]:
        """One parse task per chunk (the pipeline runs them in its thread pool).

        With ``types``, each chunk is first parsed by polars straight to them (see
        :meth:`_parse_typed`); a chunk that is not plainly clean is parsed as text.
        """
        schema = self._typed_schema(types)
        for chunk in in_background(self._chunks(), name="lakeforge-chunks"):
            if schema is None:
                yield partial(self._parse, chunk)
            else:
                yield partial(self._parse_typed, chunk, schema)

    # -- header ----------------------------------------------------------------------------
    def _read_header(self) -> None:
        opts = self.options
        if self._encoding.startswith("utf-16") or self._encoding.startswith("utf-32"):
            raise SourceError(
                f"{self.path.name}: {opts.encoding} files are not read directly; convert to "
                "UTF-8 first (e.g. iconv -f UTF-16 -t UTF-8)",
                source=self.uri,
            )
        with self.path.open("rb") as handle:
            head = handle.read(1024 * 1024)
        self._head = head
        if b"\r" in head and b"\n" not in head:
            raise SourceError(
                f"{self.path.name}: lines end in CR alone (classic Mac OS); convert them to "
                "LF first, e.g. tr '\\r' '\\n' < in.csv > out.csv",
                source=self.uri,
            )
        offset = len(_BOM) if head.startswith(_BOM) else 0
        line = 1
        for _ in range(opts.skip_rows):
            end = head.find(b"\n", offset)
            if end < 0:
                raise SourceError(f"{self.path.name}: fewer than skip_rows lines", source=self.uri)
            offset = end + 1
            line += 1
        first_end = self._record_end(head, offset)
        first = head[offset:first_end].rstrip(b"\r\n")
        first_text = first.decode(self._text_encoding(), errors="replace")
        fields = next(
            csv.reader(
                [first_text],
                delimiter=opts.delimiter,
                quotechar=opts.quote_char or '"',
                quoting=csv.QUOTE_MINIMAL if opts.quote_char else csv.QUOTE_NONE,
            ),
            [],
        )
        if opts.header:
            if not fields:
                raise SourceError(f"{self.path.name}: the header line is empty", source=self.uri)
            self._names = [f.strip() for f in fields]
            self._header_lines = head[offset:first_end].count(b"\n") or 1
            self._data_offset = (
                min(first_end + 1, len(head)) if first_end < len(head) else first_end
            )
            line += self._header_lines
        else:
            self._names = self._given_names or [f"column_{i + 1}" for i in range(len(fields))]
            self._data_offset = offset
        self._first_data_line = line
        if self._given_names and opts.header and len(self._given_names) == len(self._names):
            self._names = list(self._given_names)

    def _record_end(self, buf: bytes, start: int) -> int:
        """Index of the newline ending the record that starts at ``start`` (or len(buf))."""
        rest = buf[start:]
        newlines = np.flatnonzero(np.frombuffer(rest, dtype=np.uint8) == _NEWLINE)
        quote = self.options.quote_char
        if quote and rest.find(quote.encode()) >= 0:
            opens, closes = _quoted_spans(rest, ord(quote), ord(self.options.delimiter))
            newlines = newlines[~_inside(opens, closes, newlines)]
        return start + int(newlines[0]) if len(newlines) else len(buf)

    def _text_encoding(self) -> str:
        return "utf-8" if self._encoding in _UTF8_NAMES else self._encoding

    # -- chunking --------------------------------------------------------------------------
    def _chunks(self) -> Iterator[_Chunk]:
        """Cut the file into chunks of whole records, each read from the file exactly once.

        The cut is the last newline outside quotes: found in a small window at the end of
        the block, then the block is read up to it (no copy of a block to trim it). A
        record longer than a chunk makes the block grow until it ends.
        """
        quote = ord(self.options.quote_char) if self.options.quote_char else None
        delimiter = ord(self.options.delimiter)
        window = min(64 * 1024, self.chunk_bytes)
        with self.path.open("rb") as handle:
            pos = self._data_offset
            prev: _Chunk | None = None
            size = self.chunk_bytes
            while True:
                handle.seek(pos + size - window)
                tail = handle.read(window)
                if len(tail) < window:  # the rest of the file
                    handle.seek(pos)
                    data = handle.read()
                    if data:
                        yield _Chunk(data, prev, self._first_data_line, last=True)
                    return
                end = tail.rfind(b"\n")  # none near the end: the whole block, cut below
                handle.seek(pos)
                data = handle.read(size if end < 0 else size - window + end + 1)
                cut = _last_record_end(data, quote, delimiter)
                if cut < 0:  # one record longer than a chunk: read on
                    size *= 2
                    continue
                if cut < len(data) - 1:  # the last newline was inside quotes
                    data = data[: cut + 1]
                chunk = _Chunk(data, prev, self._first_data_line)
                yield chunk
                prev, pos, size = chunk, pos + len(data), self.chunk_bytes

    # -- parsing ---------------------------------------------------------------------------
    def _typed_schema(self, types: Sequence[TypedRead] | None) -> dict[str, pl.DataType] | None:
        """The polars schema for typed reads, or None where this file cannot have them."""
        names = self.columns()
        if types is None or len(types) != len(names) or self._encoding not in _UTF8_NAMES:
            return None
        if self.options.quote_char not in ('"', None):
            return None
        dtypes = {"string": pl.String(), "integer": pl.Int64(), "float": pl.Float64()}
        return {f"__s{i}": dtypes[t] for i, t in enumerate(types)}

    def _parse_typed(self, chunk: _Chunk, schema: dict[str, pl.DataType]) -> RawBatch:
        """Parse a chunk straight to ``schema``; fall back to :meth:`_parse` unless plainly clean.

        Clean means: polars reads it without error (no invalid UTF-8, no row with too many
        fields, no number it does not take), as many records as lines (none spans lines,
        none is blank, so line numbers are sequential), no carriage return but in CRLF, and
        no null in a number column nor in the last column (a row with too few fields ends in
        a null there). polars reads whitespace in a number field as null
        where the text path says "not a number", hence no nulls in number columns; NaN and
        infinity are never valid, hence finite floats. What is left parses to the values the
        text path gives (tests/unit/ingest/test_csv_typed.py holds the two side by side).
        """
        data = chunk.data
        quote = self.options.quote_char
        if not data or (chunk.last and quote and data.count(quote.encode()) % 2):
            # maybe a quote left open at the end of the file: polars would read it as text,
            # the text path says where it opened
            return self._parse(chunk)
        names = list(schema)
        last = names[-1]
        # a row with too few fields ends in a null in the last column: a number column must
        # hold no null anyway; a text one is read as is, and any null in it sends the chunk
        # to the text path (an empty field there is thus checked as text too)
        try:
            frame = pl.read_csv(
                data,
                has_header=False,
                schema=schema,
                separator=self.options.delimiter,
                quote_char=self.options.quote_char,
                encoding="utf8",
            )
        except (pl.exceptions.PolarsError, ValueError):
            return self._parse(chunk)
        newlines = chunk.newlines
        lines = newlines + (0 if data.endswith(b"\n") else 1)
        if frame.height != lines:
            return self._parse(chunk)
        # one pass for every condition: nulls in the last column (short rows) and in number
        # columns, non-finite floats, and a CR that is not part of a CRLF (polars drops
        # those; one anywhere else stays in a text value, where the text path ends a record)
        numbers = [n for n, t in schema.items() if t != pl.String()]
        floats = [n for n in numbers if schema[n] == pl.Float64()]
        unclean: list[pl.Expr] = [pl.col(last).null_count() > 0]
        if numbers:
            unclean.append(pl.sum_horizontal(pl.col(numbers).null_count()) > 0)
        if floats:
            unclean.append(~pl.all_horizontal(pl.col(floats).is_finite().all()))
        if b"\r" in data:
            texts = [n for n, t in schema.items() if t == pl.String()]
            unclean.append(pl.any_horizontal(pl.col(texts).str.contains("\r", literal=True).any()))
        if frame.select(pl.any_horizontal(unclean)).item():
            return self._parse(chunk)
        locations = pa.array(np.arange(chunk.first_line, chunk.first_line + lines))
        return RawBatch(_EMPTY, locations, reparse=partial(self._parse, chunk), frame=frame)

    def _parse(self, chunk: _Chunk) -> RawBatch:
        names = self.columns()
        data = chunk.data
        scanned: list[np.ndarray] = []

        def record_lines() -> np.ndarray:  # scanned only when needed (see below)
            if not scanned:
                scanned.append(
                    _record_start_lines(
                        chunk.data,
                        chunk.first_line,
                        self.options.quote_char,
                        self.options.delimiter,
                    )
                )
            return scanned[0]

        bad_records = np.zeros(0, dtype=np.int64)  # lines of records with invalid UTF-8
        if self._encoding in _UTF8_NAMES:
            data, bad_lines = _replace_invalid_utf8(data, chunk.first_line)
            if len(bad_lines):
                starts = record_lines()
                owner = np.maximum(np.searchsorted(starts, bad_lines, "right") - 1, 0)
                bad_records = np.unique(starts[owner])
        else:
            data = data.decode(self._encoding, errors="replace").encode("utf-8")
        # pyarrow ends a record at a lone CR; lines here end at LF (as in polars), so a CR
        # not followed by LF is data: it stands in as U+E000 through the parse
        stand_in = b"\r" in data and _CR_STAND_IN not in data and bool(_BARE_CR.search(data))
        if stand_in:
            data = _BARE_CR.sub(_CR_STAND_IN, data)

        rejects: list[RejectedRecord] = []
        rejected_ordinals: list[int] = []

        def on_invalid(row: Any) -> str:
            ordinal = int(row.number) - 1
            lines = record_lines()
            location = int(lines[ordinal]) if ordinal < len(lines) else -1
            rejected_ordinals.append(ordinal)
            rejects.append(
                RejectedRecord(
                    location=location,
                    reason=(
                        f"row has {row.actual_columns} fields, expected {row.expected_columns}"
                        f" (delimiter {self.options.delimiter!r})"
                    ),
                    raw=str(row.text).replace(_CR_STAND_IN_TEXT, "\r")[:2000],
                )
            )
            return "skip"

        opts = self.options
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=max(len(data) + 1, 1 << 20)
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=opts.delimiter,
                quote_char=opts.quote_char or False,
                double_quote=True,
                newlines_in_values=bool(opts.quote_char),
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        quote = opts.quote_char
        if chunk.last and quote and table.num_rows and data.count(quote.encode()) % 2:
            # a quote left open at the end of the file: the last record's quoted field ran
            # to the end, across lines (a stray quote inside a field, as in 5" screen, is
            # literal and leaves the record on its line); pandas and DuckDB refuse this too
            tail = data.rstrip(b"\r\n")
            last_row = table.slice(table.num_rows - 1).to_pylist()[0].values()
            if any(  # a value that spans lines and runs to the very end: no closing quote
                "\n" in value and tail.endswith(value.rstrip("\r\n").encode())
                for value in last_row
                if value
            ):
                starts = record_lines()
                line = int(starts[-1]) if len(starts) else chunk.first_line
                raise SourceError(
                    f"{self.path.name}: a quote ({quote}) opened in the record at line "
                    f"{line:,} never closes, so the rest of the file would be one field; fix "
                    "that line, or read the file with quote_char: null if it has no quoted "
                    "fields",
                    source=self.uri,
                )
        if stand_in:
            table = pa.table(
                [pc.replace_substring(column, _CR_STAND_IN_TEXT, "\r") for column in table.columns],
                names=table.column_names,
            )
        raw = chunk.data
        newlines = chunk.newlines
        lines_in_chunk = newlines + (0 if raw.endswith(b"\n") or not raw else 1)
        # a CR right before the end of the data still ends a record for pyarrow
        bare_cr = raw.endswith(b"\r")
        records = table.num_rows + len(rejects)
        shortcut = not scanned and not bare_cr and records == lines_in_chunk
        if shortcut:
            # as many records as lines: each record is one line (none spans lines, none is
            # blank), so no scan of quotes and newlines is needed
            good_lines = np.arange(chunk.first_line, chunk.first_line + lines_in_chunk)
        elif rejected_ordinals:
            all_lines = record_lines()
            keep = np.ones(len(all_lines), dtype=bool)
            keep[[o for o in rejected_ordinals if o < len(all_lines)]] = False
            good_lines = all_lines[keep]
        else:
            good_lines = record_lines()
        if len(good_lines) != table.num_rows:
            raise SourceError(
                f"{self.path.name}: could not align rows with lines near line "
                f"{chunk.first_line:,} ({table.num_rows} rows, {len(good_lines)} records); "
                "check the quote character and delimiter",
                source=self.uri,
            )
        errors = None
        if len(bad_records):
            errors = pc.if_else(
                pa.array(np.isin(good_lines, bad_records)),
                pa.scalar(INVALID_UTF8_REASON, pa.string()),
                pa.scalar(None, pa.string()),
            )
        return RawBatch(table, pa.array(good_lines, pa.int64()), errors, rejects)


def _last_record_end(buf: bytes, quote: int | None, delimiter: int) -> int:
    """Byte index of the last newline in ``buf`` outside quoted values, or -1."""
    if quote is None or buf.find(quote) < 0:  # no quotes: the last newline (a memchr)
        return buf.rfind(b"\n")
    opens, closes = _quoted_spans(buf, quote, delimiter)
    end = buf.rfind(b"\n")
    for _ in range(8):  # usually the last newline is outside quotes
        if end < 0 or not _inside(opens, closes, np.asarray([end]))[0]:
            return end
        end = buf.rfind(b"\n", 0, end)
    newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == _NEWLINE)
    ends = newlines[~_inside(opens, closes, newlines)]
    return int(ends[-1]) if len(ends) else -1


def _quoted_spans(buf: bytes, quote: int, delimiter: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each quoted value opens and closes in ``buf``, read as pyarrow reads quotes.

    A quote opens a value only at the start of a field (the start of ``buf``, or right
    after a delimiter or a newline); inside a value a doubled quote is a quote and a single
    one closes it; any other quote is a character (``5" screen``, ``ab",c``). Returns the
    index of each opening quote and of its closing one (``len(buf)`` if it never closes);
    a newline between the two is inside a value.

    Pairing quotes in order (the count's parity) gives this answer unless a quote the count
    takes as opening is not at a field start nor doubles the quote before it: from the
    first such quote on, the quotes are read one by one.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    quotes = np.flatnonzero(arr == quote)
    opens, closes = quotes[0::2], quotes[1::2]
    if len(closes) < len(opens):
        closes = np.append(closes, len(buf))
    if not len(opens):
        return opens, closes
    before = arr[np.maximum(opens - 1, 0)]
    ok = (before == delimiter) | (before == _NEWLINE) | (opens == 0)
    ok[1:] |= closes[:-1] == opens[1:] - 1  # "" inside a value: closes and opens again
    bad = np.flatnonzero(~ok)
    if not len(bad):
        return opens, closes
    first = int(bad[0])
    rest_opens, rest_closes = _read_quotes(buf, quotes[2 * first :].tolist(), delimiter)
    return (
        np.concatenate((opens[:first], np.asarray(rest_opens, dtype=np.int64))),
        np.concatenate((closes[:first], np.asarray(rest_closes, dtype=np.int64))),
    )


def _read_quotes(buf: bytes, quotes: list[int], delimiter: int) -> tuple[list[int], list[int]]:
    """:func:`_quoted_spans` for ``quotes`` (positions in order; the first outside a value)."""
    opens: list[int] = []
    closes: list[int] = []
    i, n = 0, len(quotes)
    while i < n:
        at = quotes[i]
        if at and buf[at - 1] != delimiter and buf[at - 1] != _NEWLINE:
            i += 1  # not at a field start: a character
            continue
        j = i + 1
        while j + 1 < n and quotes[j + 1] == quotes[j] + 1:  # a doubled quote in the value
            j += 2
        opens.append(at)
        closes.append(quotes[j] if j < n else len(buf))
        i = j + 1
    return opens, closes


def _inside(opens: np.ndarray, closes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Whether each position lies inside a quoted value (see :func:`_quoted_spans`)."""
    if not len(opens):
        return np.zeros(len(positions), dtype=bool)
    span = np.searchsorted(opens, positions, side="right") - 1
    return (span >= 0) & (positions < closes[np.maximum(span, 0)])


def _record_start_lines(
    data: bytes, first_line: int, quote_char: str | None, delimiter: str
) -> np.ndarray:
    """The physical line each non-blank record in ``data`` starts on (as pyarrow counts)."""
    if _plain_lines(data, quote_char):  # one record per line: no scan needed
        records = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        return np.arange(first_line, first_line + records, dtype=np.int64)
    return _scan_record_start_lines(data, first_line, quote_char, delimiter)


def _scan_record_start_lines(
    data: bytes, first_line: int, quote_char: str | None, delimiter: str
) -> np.ndarray:
    """:func:`_record_start_lines` by scanning every newline and quote."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NEWLINE)
    if quote_char and data.find(quote_char.encode()) >= 0:
        opens, closes = _quoted_spans(data, ord(quote_char), ord(delimiter))
        ends_idx = np.flatnonzero(~_inside(opens, closes, newlines))
    else:
        ends_idx = np.arange(len(newlines))
    ends = newlines[ends_idx]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(arr)]))
    lines = first_line + np.concatenate(([0], ends_idx + 1))
    length = stops - starts
    blank = length == 0
    one = length == 1
    if one.any():
        blank |= one & (arr[np.minimum(starts, len(arr) - 1)] == _CARRIAGE_RETURN)
    result: np.ndarray = lines[~blank].astype(np.int64)
    return result


def _plain_lines(data: bytes, quote_char: str | None) -> bool:
    """Whether every line of ``data`` is one record: no quotes, no blank lines."""
    if quote_char and data.find(quote_char.encode()) >= 0:
        return False
    return not (
        data.startswith((b"\n", b"\r\n"))
        or data.endswith(b"\n\r")
        or data == b"\r"
        or _BLANK_LINE.search(data) is not None  # one pass for both (twice as fast)
    )


def _replace_invalid_utf8(data: bytes, first_line: int) -> tuple[bytes, np.ndarray]:
    """Replace invalid UTF-8 bytes with U+FFFD; return the physical lines that had them."""
    _DECODING.bad = []
    text = data.decode("utf-8", errors=_NOTE_INVALID_UTF8)
    if not _DECODING.bad:  # valid UTF-8 (the usual case): the bytes as they are
        return data, np.zeros(0, dtype=np.int64)
    bad = np.asarray(_DECODING.bad, dtype=np.int64)
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    lines = np.unique(first_line + np.searchsorted(newlines, bad))
    return text.encode("utf-8"), lines


def _note_invalid_utf8(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: one U+FFFD per invalid byte; notes where they start."""
    assert isinstance(exc, UnicodeDecodeError)
    _DECODING.bad.append(exc.start)
    return "\ufffd" * (exc.end - exc.start), exc.end


_DECODING = threading.local()  # the invalid bytes' offsets, per decoding thread
_NOTE_INVALID_UTF8 = "lakeforge-note-invalid-utf8"
codecs.register_error(_NOTE_INVALID_UTF8, _note_invalid_utf8)
