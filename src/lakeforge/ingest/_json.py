"""JSON documents and NDJSON (JSON Lines) files, streamed with their source locations.

Two layouts:

* **JSON**: a top-level array of objects, or an object holding one array of objects (e.g.
  ``{"count": 2, "data": [{...}, {...}]}``; its other fields are skipped). Elements are
  decoded one at a time from a sliding text buffer, so memory holds a chunk of the file, not
  the document. Locations are the 0-based index in the array (``location_kind = "record"``).
  An element that is not an object is rejected; a document that is not valid JSON cannot be
  split into records at all and raises :class:`SourceError` with the line of the mistake.
* **NDJSON**: one object per line, read in byte chunks. Locations are physical line numbers;
  blank lines are skipped; a line that is not valid JSON, or not an object, is rejected with
  the parser's message.

Columns are the union of the objects' keys in order of first appearance. They come from a
first pass over the whole file (the file is read twice: once for keys and value kinds, once
for rows), so no later key is lost and every batch has the same schema: JSON integers ->
int64, numbers -> float64, booleans -> bool, strings -> string. A column whose values mix
kinds becomes text (``true``, ``1.5``...), and nested objects/arrays are kept as JSON text.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from lakeforge.contracts import ReadOptions
from lakeforge.errors import SourceError
from lakeforge.ingest._source import (
    INVALID_UTF8_REASON,
    RawBatch,
    RejectedRecord,
    Source,
    file_fingerprint,
    file_sha256,
)
from lakeforge.ingest._values import arrow_column

__all__ = ["JsonLayout", "JsonSource"]

JsonLayout = Literal["json", "ndjson"]

_BOM = codecs.BOM_UTF8
_BAD_BYTE = re.compile("[\udc80-\udcff]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_UTF8_NAMES = {"utf-8", "utf-8-sig"}
_NDJSON_SUFFIXES = {".ndjson", ".jsonl"}
_SNIFF_BYTES = 64 * 1024
_MAX_RAW = 2000
_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}

# One item read from the file: (location, object or None when rejected, problem, raw text).
# For a row the problem is its row error (or None); for a reject it is the reason.
_Item = tuple[int, dict[str, Any] | None, str | None, str | None]


class JsonSource(Source):
    """A JSON document (array of objects) or an NDJSON file (one object per line).

    Args:
        path: the file.
        options: ``format`` (``json`` or ``ndjson``; default: from the extension, ``.ndjson``
            and ``.jsonl`` are NDJSON, else sniffed from the content) and ``encoding``.
        batch_rows: records (rows plus rejects) per batch.
        chunk_bytes: bytes read from the file at a time.

    Example:
        >>> src = JsonSource(Path("events.ndjson"))  # doctest: +SKIP
        >>> src.columns()  # doctest: +SKIP
        ['id', 'kind', 'payload']
    """

    kind = "file"

    def __init__(
        self,
        path: Path | str,
        options: ReadOptions | None = None,
        *,
        batch_rows: int = 50_000,
        chunk_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"file not found: {self.path}", source=str(self.path))
        if batch_rows < 1 or chunk_bytes < 1:
            raise ValueError("batch_rows and chunk_bytes must be positive")
        options = options or ReadOptions()
        layout: JsonLayout | None
        if options.format in ("json", "ndjson"):
            layout = "json" if options.format == "json" else "ndjson"
        elif options.format is None:
            layout = None
        else:
            raise SourceError(
                f"{self.path.name}: JsonSource reads json or ndjson, not {options.format}",
                source=self.uri,
            )
        try:
            encoding = codecs.lookup(options.encoding).name
        except LookupError:
            raise SourceError(
                f"{self.path.name}: unknown encoding {options.encoding!r}", source=self.uri
            ) from None
        if encoding.startswith(("utf-16", "utf-32")):
            raise SourceError(
                f"{self.path.name}: {options.encoding} files are not read directly; convert to "
                "UTF-8 first (e.g. iconv -f UTF-16 -t UTF-8)",
                source=self.uri,
            )
        self._encoding = encoding
        self.batch_rows = batch_rows
        self.chunk_bytes = chunk_bytes
        self.layout: JsonLayout = layout or self._sniff_layout()
        self.options = options.model_copy(update={"format": self.layout})
        self.location_kind = "record" if self.layout == "json" else "line"
        self._kinds: dict[str, set[type]] | None = None

    # -- Source --------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The absolute file path."""
        return str(self.path.resolve())

    def columns(self) -> list[str]:
        """Every key of every object, in order of first appearance (reads the whole file)."""
        return list(self._column_kinds())

    def fingerprint(self) -> str:
        """XXH3-128 of the file's bytes."""
        return file_fingerprint(self.path)

    def legacy_fingerprint(self) -> str:
        """SHA-256 of the file's bytes (what earlier versions recorded)."""
        return file_sha256(self.path)

    def describe_location(self, location: int) -> str:
        """``events.ndjson line 4,031`` or ``orders.json record 12 (0-based ...)``."""
        if self.layout == "ndjson":
            return f"{self.path.name} line {location:,}"
        return f"{self.path.name} record {location:,} (0-based index in the array)"

    def batches(self) -> Iterator[RawBatch]:
        """Rows (objects) and rejects, ``batch_rows`` records at a time, in file order."""
        kinds = self._column_kinds()
        pending: list[_Item] = []
        for item in self._items():
            pending.append(item)
            if len(pending) >= self.batch_rows:
                yield self._batch(pending, kinds)
                pending = []
        if pending:
            yield self._batch(pending, kinds)

    # -- layout ----------------------------------------------------------------------------
    def _sniff_layout(self) -> JsonLayout:
        if self.path.suffix.lower() in _NDJSON_SUFFIXES:
            return "ndjson"
        with self.path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        text = head.removeprefix(_BOM).decode(self._text_encoding(), errors="replace")
        stripped = text.lstrip()
        if not stripped:
            return "ndjson"  # nothing to read either way
        if stripped[0] == "[":
            return "json"
        if stripped[0] != "{":
            raise SourceError(
                f"{self.path.name} is neither a JSON array or object nor JSON lines (it starts "
                f"with {stripped[:20]!r}); fix the file or pass --format",
                source=self.uri,
            )
        first_line, newline, rest = stripped.partition("\n")
        try:
            first = json.loads(first_line)
        except (json.JSONDecodeError, RecursionError):
            return "json"  # an object spread over several lines: a document
        has_array = isinstance(first, dict) and any(isinstance(v, list) for v in first.values())
        more = bool(newline and rest.strip())
        return "ndjson" if more or not has_array else "json"

    def _text_encoding(self) -> str:
        return "utf-8" if self._encoding in _UTF8_NAMES else self._encoding

    # -- reading -----------------------------------------------------------------------------
    def _column_kinds(self) -> dict[str, set[type]]:
        """First pass: each key (in order of first appearance) and the kinds of its values."""
        if self._kinds is None:
            kinds: dict[str, set[type]] = {}
            for _, record, _, _ in self._items():
                if record is None:
                    continue
                for key, value in record.items():
                    seen = kinds.get(key)
                    if seen is None:
                        kinds[key] = seen = set()
                    seen.add(type(value))
            for seen in kinds.values():
                seen.discard(type(None))
            self._kinds = kinds
        return self._kinds

    def _items(self) -> Iterator[_Item]:
        if self.layout == "ndjson":
            return self._ndjson_items()
        reader = _ArrayReader(self.path, self._text_encoding(), self.chunk_bytes, self.uri)
        return reader.items()

    def _ndjson_items(self) -> Iterator[_Item]:
        encoding = self._text_encoding()
        check_bytes = encoding == "utf-8"
        loads = json.loads
        line_no = 1
        with self.path.open("rb") as handle:
            carry = b""
            first = True
            while True:
                block = handle.read(self.chunk_bytes)
                buf = carry + block
                if not buf:
                    return
                if block:
                    cut = buf.rfind(b"\n")
                    if cut < 0:  # one line longer than a chunk: read on
                        carry = buf
                        continue
                    data, carry = buf[: cut + 1], buf[cut + 1 :]
                else:
                    data, carry = buf, b""
                if first and check_bytes:
                    data = data.removeprefix(_BOM)
                first = False
                text = data.decode(encoding, errors="surrogateescape")
                has_bad = check_bytes and _BAD_BYTE.search(text) is not None
                lines = text.split("\n")
                if not lines[-1]:
                    lines.pop()
                for offset, line in enumerate(lines):
                    if not line or line.isspace():
                        continue
                    location = line_no + offset
                    problem = None
                    if has_bad and _BAD_BYTE.search(line):
                        line, problem = _BAD_BYTE.sub("\ufffd", line), INVALID_UTF8_REASON
                    try:
                        value = loads(line)
                    except json.JSONDecodeError as exc:
                        reason = f"not valid JSON: {exc.msg} (column {exc.colno})"
                        yield location, None, reason, line.strip()[:_MAX_RAW]
                        continue
                    except RecursionError:
                        reason = "not valid JSON: nested too deeply"
                        yield location, None, reason, line.strip()[:_MAX_RAW]
                        continue
                    if isinstance(value, dict):
                        yield location, value, problem, None
                    else:
                        yield location, None, _not_object(value), line.strip()[:_MAX_RAW]
                line_no += len(lines)
                if not block:
                    return

    def _batch(self, items: list[_Item], kinds: dict[str, set[type]]) -> RawBatch:
        rows: list[dict[str, Any]] = []
        locations: list[int] = []
        problems: list[str | None] = []
        rejects: list[RejectedRecord] = []
        for location, record, problem, raw in items:
            if record is None:
                rejects.append(RejectedRecord(location, problem or "", raw or ""))
            else:
                rows.append(record)
                locations.append(location)
                problems.append(problem)
        if kinds:
            table = pa.table(
                {
                    name: arrow_column([row.get(name) for row in rows], column_kinds)
                    for name, column_kinds in kinds.items()
                }
            )
        else:  # objects without keys: rows with no columns
            table = pa.table({"_": pa.nulls(len(rows))}).select([])
        row_errors = None
        if any(p is not None for p in problems):
            row_errors = pa.array(problems, pa.string())
        return RawBatch(table, pa.array(locations, pa.int64()), row_errors, rejects)


def _not_object(value: Any) -> str:
    kind = _JSON_KINDS.get(type(value), type(value).__name__)
    return f"a JSON {kind}, not an object"


class _ArrayReader:
    """Decodes the record array of a JSON document one element at a time.

    The text sits in a buffer that is refilled (and its consumed prefix dropped) as decoding
    moves on; an element cut by the end of the buffer is decoded again once more text is in.
    """

    def __init__(self, path: Path, encoding: str, chunk_chars: int, uri: str) -> None:
        self.path = path
        self.encoding = encoding
        self.chunk_chars = chunk_chars
        self.uri = uri
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in text already dropped from the buffer
        self.check_bytes = encoding == "utf-8"
        self._decode = json.JSONDecoder().raw_decode
        self._handle: Any = None

    def items(self) -> Iterator[_Item]:
        encoding = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        with self.path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
            self._handle = handle
            first = self._skip_whitespace()
            if first == "[":
                self.pos += 1
                yield from self._elements(keep=True)
            elif first == "{":
                self.pos += 1
                yield from self._object_fields()
            elif not first:
                raise SourceError(f"{self.path.name} is empty", source=self.uri)
            else:
                raise self._error(
                    "the document is not an array or object of records; for one object per "
                    "line use --format ndjson"
                )
            if self._skip_whitespace():
                raise self._error("unexpected text after the end of the JSON document")

    # -- structure ---------------------------------------------------------------------------
    def _elements(self, *, keep: bool) -> Iterator[_Item]:
        """The elements of the array whose ``[`` was just consumed; yielded when ``keep``."""
        if self._skip_whitespace() == "]":
            self.pos += 1
            return
        index = 0
        while True:
            value, start, end = self._value()
            if keep:
                yield self._item(index, value, start, end)
            index += 1
            following = self._skip_whitespace()
            self.pos += 1
            if following == "]":
                return
            if following != ",":
                self.pos -= 1
                raise self._error("expected ',' or ']' after an array element")
            self._skip_whitespace()

    def _object_fields(self) -> Iterator[_Item]:
        """The records of an object holding one array of objects; other fields are skipped."""
        records_field: str | None = None
        empty_field: str | None = None
        while True:
            following = self._skip_whitespace()
            if following == "}":
                self.pos += 1
                break
            key, _, _ = self._value()
            if not isinstance(key, str):
                raise self._error("expected a field name")
            if self._skip_whitespace() != ":":
                raise self._error("expected ':' after a field name")
            self.pos += 1
            if self._skip_whitespace() == "[":
                self.pos += 1
                head = self._skip_whitespace()
                if head == "{":
                    if records_field is not None:
                        raise SourceError(
                            f"{self.path.name}: the document holds more than one array of "
                            f"objects (`{records_field}`, `{key}`); extract the one to ingest "
                            "into its own file (e.g. jq '.field' file.json)",
                            source=self.uri,
                        )
                    records_field = key
                    yield from self._elements(keep=True)
                else:
                    if head == "]":
                        empty_field = empty_field or key
                    for _ in self._elements(keep=False):
                        pass  # an array of scalars: metadata, skipped
            else:
                self._value()
            following = self._skip_whitespace()
            self.pos += 1
            if following == "}":
                break
            if following != ",":
                self.pos -= 1
                raise self._error("expected ',' or '}' after an object field")
        if records_field is None and empty_field is None:
            raise SourceError(
                f"{self.path.name} holds one object with no array of records; expected "
                'an array of objects, or an object like {"data": [{...}, ...]}. For one '
                "object per line use --format ndjson",
                source=self.uri,
            )

    def _item(self, index: int, value: Any, start: int, end: int) -> _Item:
        problem = None
        if self.check_bytes and _BAD_BYTE.search(self.buf, start, end):
            value = json.loads(_BAD_BYTE.sub("\ufffd", self.buf[start:end]))
            problem = INVALID_UTF8_REASON
        if isinstance(value, dict):
            return index, value, problem, None
        raw = _BAD_BYTE.sub("\ufffd", self.buf[start : min(end, start + _MAX_RAW)])
        return index, None, _not_object(value), raw

    # -- buffer --------------------------------------------------------------------------------
    def _fill(self, at_least: int = 0) -> bool:
        """Drop the consumed text and read more; False at the end of the file."""
        if self.eof:
            return False
        if self.pos:
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        chunk = self._handle.read(max(self.chunk_chars, at_least))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _skip_whitespace(self) -> str:
        """Move past whitespace; the next character, or '' at the end of the file."""
        while True:
            match = _WHITESPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def _value(self) -> tuple[Any, int, int]:
        """Decode the JSON value at the current position; (value, start, end) in the buffer."""
        while True:
            start = self.pos
            try:
                value, end = self._decode(self.buf, start)
            except json.JSONDecodeError as exc:
                cut_short = exc.msg.startswith("Unterminated") or exc.pos >= len(self.buf) - 16
                if cut_short and self._fill(len(self.buf)):
                    continue
                self.pos += exc.pos - start  # the buffer may have been compacted by _fill
                raise self._error(exc.msg) from None
            except RecursionError:
                raise self._error("nested too deeply") from None
            if end == len(self.buf) and self._fill(len(self.buf)):
                continue  # a number may go on in the next chunk
            self.pos = end
            return value, start, end

    def _error(self, message: str) -> SourceError:
        line = self.lines_before + self.buf.count("\n", 0, self.pos) + 1
        return SourceError(
            f"{self.path.name} is not valid JSON at line {line:,}: {message}; fix the file "
            "(or, for one object per line, use --format ndjson)",
            source=self.uri,
            row=line,
        )
