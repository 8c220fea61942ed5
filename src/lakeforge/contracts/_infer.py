"""Detect a contract from data: types, nullability, keys, PII tags and first checks.

Inference uses the same cast rules as validation (:func:`lakeforge.contracts._parse.cast_expr`),
so a contract inferred from a source accepts that source. The steps:

1. Read up to ``sample_rows`` rows; apply the read options' ``trim`` and null tokens exactly as
   the ingest pipeline does.
2. Per column, pick the narrowest type that parses at least 99.5% of the non-null values:
   boolean (true/false/yes/no words only, never 0/1), integer, float (also with a decimal
   comma), date, timestamp (the format parsing the most values), else string. Codes with
   leading zeros, zip codes, phone and card numbers stay text.
3. Tag likely PII by column name and by values (emails, phones, Luhn-valid card numbers, IPv4
   addresses, long free text).
4. Look for a key: one column, else two, else three, unique and never null.
5. When the sample did not hold the whole source (and ``full_scan_keys``), read it all once
   more to confirm the keys, nullability, types and allowed-value sets, so nothing inferred
   from the first rows rejects the later ones.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from lakeforge.contracts._model import (
    AllowedValuesCheck,
    Check,
    Column,
    ColumnType,
    Contract,
    PiiTag,
    RangeCheck,
    ReadOptions,
    UniqueCheck,
)
from lakeforge.contracts._parse import DATE_FORMATS, TIMESTAMP_FORMATS, cast_expr
from lakeforge.errors import SourceError

if TYPE_CHECKING:
    from lakeforge.ingest._source import Source

__all__ = ["PARSE_SHARE", "infer_contract"]

#: Share of non-null values that must parse for a column to get a type narrower than string.
PARSE_SHARE = 0.995

_SCAN_ROWS = 500_000  # rows per slice when the source is an in-memory table
_PROBE_ROWS = 500  # values tried against every date / timestamp format before the full sample
_PII_ROWS = 20_000  # values looked at for PII patterns
_PII_SHARE = 0.8
_FREE_TEXT_WORDS = 6.0
_ALLOWED_MAX = 12
_ALLOWED_MIN_ROWS = 1_000
_KEY_MAX_SIZE = 3
_KEY_COLUMNS = {2: 20, 3: 12}  # most columns combined into pairs / triples
_KEY_COMBOS = 400  # most combinations tried on the sample per size
_KEY_VERIFY = 6  # most sample keys confirmed by a full scan per size
_HASH_SEED = 20_240_601

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_ZERO = r"^[+-]?0\d"
_INTEGER_TEXT = r"^[+-]?\d+$"
_DECIMAL_COMMA = r"^[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+$"
_EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
_IPV4 = r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
_PHONE = r"^\+?[\d\s().-]{7,24}$"
_PHONE_SEPARATOR = r"[\s().+-]"
_DATE_TEXT = r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$"

_BOOL_WORDS = ("true", "false", "yes", "no")
_BOOL_LETTERS = ("t", "f", "y", "n")

_QUANTITY_WORDS = frozenset({
    "amount", "amt", "cnt", "cost", "costs", "count", "counts", "fee", "fees", "price",
    "prices", "qty", "quantity", "quantities", "revenue", "sales", "total", "units", "weight",
})  # fmt: skip
_ID_WORDS = frozenset({"id", "key", "code", "uuid", "guid"})
_POSTAL_WORDS = frozenset({"zip", "zipcode", "postcode", "postal", "postalcode", "cep", "plz"})
_NAME_QUALIFIERS = frozenset({
    "first", "last", "full", "middle", "given", "family", "maiden", "customer", "client",
    "contact", "person", "employee", "patient", "user", "holder", "cardholder",
})  # fmt: skip
_PERSON_NAMES = frozenset({"name", "surname", "firstname", "lastname", "fullname", "username"})


@dataclass
class _Guess:
    """What inference concluded about one column, plus what later steps need."""

    source: str
    slot: str
    column: Column
    dtype: pl.DataType
    rows: int = 0
    nulls: int = 0
    minimum: float | None = None
    allowed: list[Any] | None = None
    position: int = 0
    tokens: list[str] = field(default_factory=list)


def infer_contract(
    source: Source | pa.Table | pl.DataFrame,
    *,
    table: str,
    read: ReadOptions | None = None,
    sample_rows: int = 200_000,
    full_scan_keys: bool = True,
) -> Contract:
    """Detect a contract (types, nullability, key, PII tags, simple checks) from data.

    Args:
        source: a :class:`~lakeforge.ingest._source.Source` (e.g. ``CsvSource``), an Arrow
            table or a polars frame.
        table: the table the contract is for.
        read: how the source was read; defaults to the source's own ``options`` (a
            ``CsvSource``'s) or plain defaults. Its ``trim`` and ``null_values`` are applied
            before typing, as ingestion applies them. Stored as the contract's ``read``.
        sample_rows: rows read to choose types, PII tags and candidate keys.
        full_scan_keys: when the source has more rows than the sample, read all of it to
            confirm keys (and, in the same pass, nullability, types and allowed values).

    Returns:
        A validated :class:`Contract` that accepts the rows it was inferred from.

    Raises:
        SourceError: the source has no columns.
        ValueError: ``sample_rows`` is below 1.

    Example:
        >>> options = sniff_csv(Path("sell_prices.csv"))  # doctest: +SKIP
        >>> source = CsvSource(Path("sell_prices.csv"), options)  # doctest: +SKIP
        >>> contract = infer_contract(source, table="sell_prices")  # doctest: +SKIP
        >>> contract.primary_key  # doctest: +SKIP
        ['store_id', 'item_id', 'wm_yr_wk']
    """
    if sample_rows < 1:
        raise ValueError("sample_rows must be at least 1")
    options = read or _options_of(source) or ReadOptions()
    names = _columns_of(source)
    if not names:
        raise SourceError(f"`{table}`: the source has no columns", table=table)
    parts, complete = _take_sample(_frames(source), sample_rows)
    raw = pl.concat(parts, how="vertical_relaxed") if parts else _empty_frame(source, names)
    sample = _prepare(raw, options)
    text_kinds = _text_types(
        sample, [slot for slot, dtype in sample.schema.items() if dtype == pl.String], options
    )
    guesses = [
        _guess_column(sample, src, target, position, text_kinds.get(_slot(position)))
        for position, (src, target) in enumerate(zip(names, _target_names(names), strict=True))
    ]
    confirmed = not full_scan_keys or complete
    if not confirmed:
        _confirm_columns(source, guesses, options)
    typed = _typed_frame(sample, [g for g in guesses if not g.dtype.is_nested()])
    key = _find_key(typed, guesses, None if confirmed else (source, options))
    columns = [
        g.column.model_copy(update={"nullable": False}) if g.column.name in key else g.column
        for g in guesses
    ]
    checks: list[Check] = []
    if len(key) > 1:
        checks.append(UniqueCheck(columns=list(key)))
    checks.extend(_column_checks(guesses))
    return Contract(
        table=table, columns=columns, primary_key=list(key), checks=checks, read=options
    )


# -- reading ---------------------------------------------------------------------------------
def _options_of(source: object) -> ReadOptions | None:
    if isinstance(source, pl.DataFrame | pa.Table):
        return None
    options = getattr(source, "options", None)
    return options if isinstance(options, ReadOptions) else None


def _columns_of(source: Source | pa.Table | pl.DataFrame) -> list[str]:
    if isinstance(source, pl.DataFrame):
        return list(source.columns)
    if isinstance(source, pa.Table):
        return list(source.column_names)
    return list(source.columns())


def _as_polars(table: pa.Table) -> pl.DataFrame:
    """An Arrow table as a polars frame with positional names (empty or repeated names are fine)."""
    frame = pl.from_arrow(table.rename_columns([_slot(i) for i in range(table.num_columns)]))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _slot(position: int) -> str:
    """The name a source column goes by inside inference (any source name is safe then)."""
    return f"c{position}"


def _positional(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({name: _slot(i) for i, name in enumerate(frame.columns)})


def _frames(source: Source | pa.Table | pl.DataFrame) -> Generator[pl.DataFrame, None, None]:
    """The source's rows as polars frames, in order, with columns named by position."""
    if isinstance(source, pl.DataFrame):
        for piece in source.iter_slices(_SCAN_ROWS):
            yield _positional(piece)
    elif isinstance(source, pa.Table):
        for start in range(0, source.num_rows, _SCAN_ROWS):
            yield _as_polars(source.slice(start, _SCAN_ROWS))
    else:
        batches = source.batches()
        try:
            for batch in batches:
                yield _as_polars(batch.data)
        finally:  # stop the source's reader threads when the sample is complete
            close = getattr(batches, "close", None)
            if close is not None:
                close()


def _take_sample(
    frames: Generator[pl.DataFrame, None, None], rows: int
) -> tuple[list[pl.DataFrame], bool]:
    """The first ``rows`` rows, and whether they are all the source has."""
    parts: list[pl.DataFrame] = []
    count = 0
    with closing(frames):
        for frame in frames:
            if count >= rows:
                if frame.height:
                    return parts, False
                continue
            need = rows - count
            parts.append(frame.head(need))
            count += min(need, frame.height)
            if frame.height > need:
                return parts, False
    return parts, True


def _empty_frame(source: Source | pa.Table | pl.DataFrame, names: list[str]) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return _positional(source.head(0))
    if isinstance(source, pa.Table):
        return _as_polars(source.slice(0, 0))
    return pl.DataFrame(schema={_slot(i): pl.String for i in range(len(names))})


def _prepare(frame: pl.DataFrame, options: ReadOptions) -> pl.DataFrame:
    """Trim and null tokens on text columns, as the ingest validator applies them."""
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        expr = pl.col(name)
        if dtype == pl.String:
            if options.trim:
                expr = expr.str.strip_chars()
            if options.null_values:
                expr = pl.when(expr.is_in(options.null_values)).then(None).otherwise(expr)
        exprs.append(expr.alias(name))
    return frame.select(exprs)


def _typed_frame(frame: pl.DataFrame, guesses: Sequence[_Guess]) -> pl.DataFrame:
    """The frame cast to the guessed types, under the contract's column names."""
    schema = frame.schema
    return frame.select(
        cast_expr(g.slot, g.column, schema[g.slot]).alias(g.column.name) for g in guesses
    )


# -- names -----------------------------------------------------------------------------------
def _target_names(names: Sequence[str]) -> list[str]:
    """Plain identifiers for the source's names, unique (``_2``, ``_3``... on clashes)."""
    out: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(names):
        base = _identifier(name, position)
        candidate, n = base, 1
        while candidate in seen:
            n += 1
            candidate = f"{base}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _identifier(name: str, position: int) -> str:
    """``name`` itself when it is an identifier, else its snake_case form."""
    if _IDENTIFIER.match(name):
        return name
    text = unicodedata.normalize("NFKD", name.replace("\ufeff", ""))
    text = text.encode("ascii", "ignore").decode("ascii")
    text = "_".join(_split_words(text))
    if not text:
        return f"column_{position + 1}"
    return f"col_{text}" if text[0].isdigit() else text


def _split_words(name: str) -> list[str]:
    """Lower-case words of a name: ``CustomerID`` -> customer, id; ``e-mail`` -> e, mail."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [word for word in re.split(r"[^0-9A-Za-z]+", text.lower()) if word]


# -- types -----------------------------------------------------------------------------------
def _guess_column(
    sample: pl.DataFrame, source: str, name: str, position: int, text_kind: dict[str, Any] | None
) -> _Guess:
    series = sample.get_column(_slot(position))
    dtype = series.dtype
    tokens = _split_words(source)
    values = series.drop_nulls()
    kind = text_kind if text_kind is not None else _dtype_type(dtype)
    pii = _pii_from_name(tokens)
    if dtype == pl.String and kind["type"] in ("string", "integer") and values.len():
        found = _pii_from_values(values.str.strip_chars())
        # a pattern in the values (emails, cards...) beats the name; "long text" does not
        if found is not None and (found != "free_text" or pii is None):
            pii = found
    if (
        dtype == pl.String
        and kind["type"] != "string"
        and (pii in ("phone", "card_number") or _POSTAL_WORDS.intersection(tokens))
    ):
        kind = {"type": "string"}  # numbers to read, not to add up; keeps leading zeros
    column = Column(
        name=name,
        nullable=series.null_count() > 0 or series.len() == 0,
        pii=pii,
        source_name=source if source != name else None,
        **kind,
    )
    guess = _Guess(
        source=source,
        slot=series.name,
        column=column,
        dtype=dtype,
        rows=series.len(),
        nulls=series.null_count(),
        position=position,
        tokens=tokens,
    )
    if not dtype.is_nested():  # lists and structs: no numbers to bound, no codes to list
        _profile(guess, sample.select(cast_expr(series.name, column, dtype)).to_series(), values)
    return guess


def _dtype_type(dtype: pl.DataType) -> dict[str, Any]:
    """The contract type of an already typed column (Parquet, Arrow, SQL sources)."""
    if dtype.is_integer():
        return {"type": "integer"}
    if dtype.is_float():
        return {"type": "float"}
    if isinstance(dtype, pl.Decimal):
        return {"type": "decimal", "scale": dtype.scale or 0}
    if dtype == pl.Boolean:
        return {"type": "boolean"}
    if dtype == pl.Date:
        return {"type": "date"}
    if isinstance(dtype, pl.Datetime):
        return {"type": "timestamp", "timezone": dtype.time_zone is not None}
    return {"type": "string"}


def _parse_count(slot: str, column: Column) -> pl.Expr:
    """How many values of text column ``slot`` parse as ``column``'s type."""
    return cast_expr(slot, column, pl.String()).count()


def _text_types(
    sample: pl.DataFrame, slots: Sequence[str], options: ReadOptions
) -> dict[str, dict[str, Any]]:
    """For each text column, the narrowest type that parses ``PARSE_SHARE`` of its values.

    All columns are measured in one pass per stage (numbers, then dates, then timestamps), so
    a wide file costs a few polars queries, not a few per column.
    """
    if not slots:
        return {}
    exprs: list[pl.Expr] = []
    for slot in slots:
        text = pl.col(slot).str.strip_chars()
        lowered = text.str.to_lowercase()
        exprs += [
            pl.col(slot).count().alias(f"{slot}:values"),
            lowered.is_in(_BOOL_WORDS).sum().alias(f"{slot}:words"),
            lowered.is_in(_BOOL_LETTERS).sum().alias(f"{slot}:letters"),
            text.str.contains(_LEADING_ZERO).any().alias(f"{slot}:zero"),
            _parse_count(slot, Column(name="v", type="integer")).alias(f"{slot}:integer"),
            text.str.contains(_INTEGER_TEXT).sum().alias(f"{slot}:digits"),
            _parse_count(slot, Column(name="v", type="float")).alias(f"{slot}:float"),
        ]
    stats = sample.select(exprs).row(0, named=True)
    kinds: dict[str, dict[str, Any]] = {}
    undecided: dict[str, int] = {}
    for slot in slots:
        total = int(stats[f"{slot}:values"])
        need = math.ceil(total * PARSE_SHARE - 1e-9)
        values = sample.get_column(slot)
        if total == 0:
            kinds[slot] = {"type": "string"}
        elif stats[f"{slot}:words"] + stats[f"{slot}:letters"] >= need and _is_boolean(
            values, has_words=stats[f"{slot}:words"] > 0
        ):
            kinds[slot] = {"type": "boolean"}
        elif stats[f"{slot}:zero"]:  # 00123 is a code, not 123
            undecided[slot] = need
        elif stats[f"{slot}:integer"] >= need:
            kinds[slot] = {"type": "integer"}
        elif stats[f"{slot}:digits"] >= need:
            kinds[slot] = {"type": "string"}  # digits too long for int64: never a lossy float
        elif stats[f"{slot}:float"] >= need:
            kinds[slot] = {"type": "float"}
        elif _decimal_comma_likely(values.drop_nulls().str.strip_chars(), options) and (
            sample.select(
                _parse_count(slot, Column(name="v", type="float", decimal_comma=True))
            ).item()
            >= need
        ):
            kinds[slot] = {"type": "float", "decimal_comma": True}
        else:
            undecided[slot] = need
    for kind, formats in (("date", DATE_FORMATS), ("timestamp", TIMESTAMP_FORMATS)):
        found = _best_formats(sample, undecided, kind, formats)  # type: ignore[arg-type]
        for slot, fmt in found.items():
            kinds[slot] = {"type": kind, "format": fmt}
            if kind == "timestamp":
                kinds[slot]["timezone"] = _has_offset(fmt)
            del undecided[slot]
    kinds.update({slot: {"type": "string"} for slot in undecided})
    return kinds


def _is_boolean(values: pl.Series, *, has_words: bool) -> bool:
    """Words like true/no, or both t and f letters; a 0/1 column stays an integer."""
    if has_words:
        return True
    lowered = values.drop_nulls().str.strip_chars().str.to_lowercase()
    seen = set(lowered.filter(lowered.is_in(_BOOL_LETTERS)).unique().to_list())
    return bool(seen & {"t", "y"}) and bool(seen & {"f", "n"})


def _decimal_comma_likely(text: pl.Series, options: ReadOptions) -> bool:
    """Values like ``3,50``; with a ``,`` delimiter only if not all look like ``1,234``."""
    comma = text.filter(text.str.contains(_DECIMAL_COMMA))
    if not comma.len():
        return False
    if options.delimiter != ",":
        return True
    decimals = comma.str.extract(r",(\d+)$").str.len_chars()
    return bool((decimals != 3).any())


def _has_offset(fmt: str) -> bool:
    return any(z in fmt for z in ("%z", "%#z", "%:z"))


def _best_formats(
    sample: pl.DataFrame, columns: dict[str, int], kind: ColumnType, formats: Sequence[str]
) -> dict[str, str]:
    """Per column, the format parsing the most values (earliest on ties) if it parses enough.

    ``columns`` maps each text column to how many values must parse. Formats are first tried
    on the first few hundred rows of every column at once; only those parsing 90% of the
    values there are counted over the whole sample.
    """
    if not columns:
        return {}
    probe = sample.select(list(columns)).head(_PROBE_ROWS)
    pairs = [(slot, fmt) for slot in columns for fmt in formats]
    probed = probe.select(
        _parse_count(slot, Column(name="v", type=kind, format=fmt)).alias(str(i))
        for i, (slot, fmt) in enumerate(pairs)
    ).row(0)
    sizes = dict(zip(columns, probe.select(pl.all().count()).row(0), strict=True))
    # a column with no values in the probe rows is counted in full
    hopeful = [pair for pair, hits in zip(pairs, probed, strict=True)
               if hits >= 0.9 * sizes[pair[0]]]  # fmt: skip
    if not hopeful:
        return {}
    counts = sample.select(
        _parse_count(slot, Column(name="v", type=kind, format=fmt)).alias(str(i))
        for i, (slot, fmt) in enumerate(hopeful)
    ).row(0)
    best: dict[str, tuple[int, str]] = {}
    for (slot, fmt), count in zip(hopeful, counts, strict=True):
        if count >= columns[slot] and count > best.get(slot, (0, ""))[0]:
            best[slot] = (count, fmt)
    return {slot: fmt for slot, (_, fmt) in best.items()}


def _profile(guess: _Guess, typed: pl.Series, values: pl.Series) -> None:
    """Record what the checks need: the minimum of numbers, the few values of a code column."""
    kind = guess.column.type
    if kind in ("integer", "float", "decimal") and typed.drop_nulls().len():
        guess.minimum = float(typed.min())  # type: ignore[arg-type]
    elif (
        kind == "string"
        and (guess.dtype == pl.String or isinstance(guess.dtype, pl.Categorical | pl.Enum))
        and guess.column.pii is None
        and guess.rows >= _ALLOWED_MIN_ROWS
        and values.len()
    ):
        distinct = values.cast(pl.String).unique()
        if distinct.len() <= _ALLOWED_MAX:
            guess.allowed = sorted(distinct.to_list())


# -- PII -------------------------------------------------------------------------------------
def _pii_from_name(tokens: Sequence[str]) -> PiiTag | None:
    """The PII a column name suggests (``email``, ``cc_num``, ``first_name``, ``zip``...)."""
    words = set(tokens)
    flat = "".join(tokens)
    if words & {"email", "emails", "mail"} or "email" in flat:
        return "email"
    if words & {"ip", "ipv4", "ipv6"} or flat == "ipaddress":
        return "ip_address"
    if words & {"phone", "mobile", "tel", "telephone", "cellphone", "fax", "msisdn"} or (
        "phone" in flat
    ):
        return "phone"
    if flat in {"card", "cardnumber", "cardno", "cardnum", "ccnum", "ccnumber", "pan"} or (
        "card" in words and words & {"number", "num", "no", "nr"}
    ):
        return "card_number"
    if words & {"ssn", "nino", "passport"} or flat in {
        "nationalid", "socialsecuritynumber", "taxid", "nin",
    }:  # fmt: skip
        return "national_id"
    if "iban" in words:
        return "other"
    if "birth" in flat or words & {"dob", "birthday", "birthdate"}:
        return "birth_date"
    if words & ({"address", "street", "addr"} | _POSTAL_WORDS) or "address" in flat:
        return "address"
    if flat in _PERSON_NAMES or (
        len(tokens) >= 2 and tokens[-1] == "name" and tokens[-2] in _NAME_QUALIFIERS
    ):
        return "person_name"
    if len(tokens) >= 2 and flat.endswith(("firstname", "lastname", "fullname", "surname")):
        return "person_name"
    return None


def _pii_from_values(values: pl.Series) -> PiiTag | None:
    """The PII that at least 80% of the (non-null, text) values look like."""
    text = values.head(_PII_ROWS).cast(pl.String)
    if not text.len():
        return None

    def share(matches: pl.Series) -> float:
        return float(matches.mean() or 0.0)  # type: ignore[arg-type]

    if share(text.str.contains(_EMAIL)) >= _PII_SHARE:
        return "email"
    if share(text.str.contains(_IPV4)) >= _PII_SHARE:
        return "ip_address"
    digits = text.str.replace_all(r"[\s-]", "")
    card_like = digits.str.contains(r"^\d{13,19}$")
    if share(card_like) >= _PII_SHARE:
        valid = int(_luhn_valid(digits.filter(card_like)).sum())
        if valid / text.len() >= _PII_SHARE:
            return "card_number"
    digit_count = text.str.count_matches(r"\d")
    phone_like = (
        text.str.contains(_PHONE) & digit_count.is_between(7, 15) & ~text.str.contains(_DATE_TEXT)
    )
    separated = phone_like & text.str.contains(_PHONE_SEPARATOR)
    if share(phone_like) >= _PII_SHARE and share(separated) >= 0.5:
        return "phone"
    if float(text.str.count_matches(r"\S+").mean() or 0.0) >= _FREE_TEXT_WORDS:  # type: ignore[arg-type]
        return "free_text"
    return None


def _luhn_valid(numbers: pl.Series) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which digit strings (13-19 digits) pass the Luhn checksum card numbers carry."""
    if not numbers.len():
        return np.zeros(0, dtype=bool)
    padded = "".join(numbers.str.pad_start(19, "0").to_list()).encode("ascii")
    digits = (np.frombuffer(padded, dtype=np.uint8).reshape(-1, 19) - ord("0")).astype(np.int64)
    doubled = digits[:, -2::-2] * 2  # every second digit from the right
    doubled -= 9 * (doubled > 9)
    total = digits[:, ::-1][:, ::2].sum(axis=1) + doubled.sum(axis=1)
    return np.asarray(total % 10 == 0)


# -- the full scan ---------------------------------------------------------------------------
def _confirm_columns(
    source: Source | pa.Table | pl.DataFrame, guesses: list[_Guess], options: ReadOptions
) -> None:
    """Read every row: widen types that fail later, note late nulls, values and negatives."""
    failures = dict.fromkeys(range(len(guesses)), 0)
    as_float = dict.fromkeys(range(len(guesses)), 0)
    non_null = dict.fromkeys(range(len(guesses)), 0)
    nulls = dict.fromkeys(range(len(guesses)), 0)
    rows = 0
    allowed: dict[int, set[Any] | None] = {
        i: set(g.allowed) for i, g in enumerate(guesses) if g.allowed is not None
    }
    for raw in _frames(source):
        frame = _prepare(raw, options)
        schema = frame.schema
        rows += frame.height
        exprs: list[pl.Expr] = []
        for i, g in enumerate(guesses):
            original = pl.col(g.slot)
            dtype = schema[g.slot]
            typed = original if dtype.is_nested() else cast_expr(g.slot, g.column, dtype)
            exprs += [
                original.is_null().sum().alias(f"n{i}"),
                (original.is_not_null() & typed.is_null()).sum().alias(f"f{i}"),
                typed.min().cast(pl.Float64).alias(f"m{i}")
                if g.minimum is not None
                else pl.lit(None, pl.Float64).alias(f"m{i}"),
            ]
            if g.column.type == "integer":
                wider = cast_expr(g.slot, Column(name="v", type="float"), dtype)
                exprs.append((original.is_not_null() & wider.is_null()).sum().alias(f"w{i}"))
        stats = frame.select(exprs).row(0, named=True)
        for i, g in enumerate(guesses):
            nulls[i] += stats[f"n{i}"]
            non_null[i] += frame.height - stats[f"n{i}"]
            failures[i] += stats[f"f{i}"]
            as_float[i] += stats.get(f"w{i}", 0) or 0
            low = stats[f"m{i}"]
            if low is not None and g.minimum is not None:
                g.minimum = min(g.minimum, low)
            seen = allowed.get(i)
            if seen is not None:
                seen.update(frame.get_column(g.slot).drop_nulls().unique().to_list())
                if len(seen) > _ALLOWED_MAX:
                    allowed[i] = None
    for i, g in enumerate(guesses):
        g.rows, g.nulls = rows, nulls[i]
        g.column.nullable = nulls[i] > 0 or rows == 0
        tolerated = non_null[i] * (1 - PARSE_SHARE)
        if failures[i] > tolerated:
            g.minimum = None  # the values that failed were not in the minimum
            if g.column.type == "integer" and as_float[i] <= tolerated:
                g.column = g.column.model_copy(update={"type": "float"})
            else:
                g.column = g.column.model_copy(update={
                    "type": "string", "format": None, "decimal_comma": False, "timezone": False,
                })  # fmt: skip
        if g.allowed is not None:
            seen = allowed.get(i)
            g.allowed = sorted(seen) if seen is not None else None


# -- keys ------------------------------------------------------------------------------------
def _key_eligible(guess: _Guess) -> bool:
    """Whole numbers, codes, dates and stamps with no nulls; never floats or free text."""
    return (
        guess.column.type in ("integer", "string", "date", "timestamp")
        and not guess.dtype.is_nested()
        and guess.nulls == 0
        and guess.rows > 0
        and guess.column.pii != "free_text"
    )


def _id_like(guess: _Guess) -> bool:
    return bool(guess.tokens) and guess.tokens[-1] in _ID_WORDS


def _combo_rank(combo: Sequence[_Guess]) -> tuple[int, int, int, int]:
    """Prefer id-like names, then fewer columns, then no PII, then the leftmost columns."""
    return (
        -sum(_id_like(g) for g in combo),
        len(combo),
        sum(g.column.pii is not None for g in combo),
        sum(g.position for g in combo),
    )


def _find_key(
    typed: pl.DataFrame,
    guesses: Sequence[_Guess],
    scan: tuple[Source | pa.Table | pl.DataFrame, ReadOptions] | None,
) -> list[str]:
    """The best key found: smallest size first, confirmed over the whole source if asked."""
    eligible = [g for g in guesses if _key_eligible(g)]
    if not typed.height or not eligible:
        return []
    distinct = dict(zip(
        [g.column.name for g in eligible],
        typed.select(pl.col(g.column.name).n_unique() for g in eligible).row(0),
        strict=True,
    ))  # fmt: skip
    for size in range(1, _KEY_MAX_SIZE + 1):
        found = _sample_keys(typed, eligible, size, distinct)
        if scan is not None and found:
            found = _confirm_keys(scan[0], scan[1], guesses, found[:_KEY_VERIFY])
        if found:
            return [g.column.name for g in found[0]]
    return []


def _sample_keys(
    typed: pl.DataFrame, eligible: Sequence[_Guess], size: int, distinct: dict[str, int]
) -> list[tuple[_Guess, ...]]:
    """Column sets of ``size`` that are unique over the sample, best first."""
    rows = typed.height
    pool = sorted(eligible, key=lambda g: (not _id_like(g), g.position))
    pool = pool[: _KEY_COLUMNS.get(size, len(pool))]
    combos = [
        combo
        for combo in itertools.combinations(pool, size)
        if math.prod(distinct[g.column.name] for g in combo) >= rows
    ]
    combos = sorted(combos, key=_combo_rank)[:_KEY_COMBOS]
    if not combos:
        return []
    counts = typed.select(
        pl.struct([g.column.name for g in combo]).n_unique().alias(str(i))
        if size > 1
        else pl.col(combo[0].column.name).n_unique().alias(str(i))
        for i, combo in enumerate(combos)
    ).row(0)
    return [combo for combo, count in zip(combos, counts, strict=True) if count == rows]


def _confirm_keys(
    source: Source | pa.Table | pl.DataFrame,
    options: ReadOptions,
    guesses: Sequence[_Guess],
    candidates: Sequence[tuple[_Guess, ...]],
) -> list[tuple[_Guess, ...]]:
    """The candidates that stay unique and non-null over every row of the source."""
    hashes: list[list[pl.Series]] = [[] for _ in candidates]
    broken = [False] * len(candidates)
    needed = {g.slot: g for combo in candidates for g in combo}
    keys = [[g.column.name for g in combo] for combo in candidates]
    for raw in _frames(source):
        typed = _typed_frame(_prepare(raw.select(list(needed)), options), list(needed.values()))
        has_null = typed.select(
            pl.any_horizontal(pl.col(names).is_null()).any().alias(str(i))
            for i, names in enumerate(keys)
        ).row(0)
        digests = typed.select(
            pl.struct(names).hash(_HASH_SEED).alias(str(i)) for i, names in enumerate(keys)
        )
        for i in range(len(candidates)):
            broken[i] = broken[i] or bool(has_null[i])
            if not broken[i]:
                hashes[i].append(digests.get_column(str(i)))
    confirmed: list[tuple[_Guess, ...]] = []
    for i, combo in enumerate(candidates):
        if broken[i]:
            continue
        # equal hashes read as duplicates: a (rare) collision loses a key, never invents one
        combined = pl.concat(hashes[i]) if hashes[i] else pl.Series(dtype=pl.UInt64)
        if combined.n_unique() == combined.len():
            confirmed.append(combo)
    return confirmed


# -- checks ----------------------------------------------------------------------------------
def _column_checks(guesses: Sequence[_Guess]) -> list[Check]:
    """``min: 0`` on counts and prices that are never negative; allowed values on codes."""
    checks: list[Check] = []
    for g in guesses:
        name = g.column.name
        if g.column.pii is not None:
            continue
        if (
            g.column.type in ("integer", "float", "decimal")
            and g.minimum is not None
            and g.minimum >= 0
            and _QUANTITY_WORDS.intersection(g.tokens)
        ):
            checks.append(RangeCheck(column=name, min=0))
        elif g.column.type == "string" and g.allowed is not None:
            checks.append(AllowedValuesCheck(column=name, values=list(g.allowed)))
    return checks
