"""PII columns are never learned: synthetic rows get realistic, consistent fakes instead.

A contract's PII tags (``email``, ``phone``, ``person_name``, ``address``, ``card_number``,
``free_text``, ``birth_date``, ``ip_address``, ``national_id``, ``other``) decide how each
column is faked. What is read from the real column is never a value, only:

* its *format*: the shape of the values with every digit and letter masked (``(999) 999-9999``,
  ``99999``), kept only when at least ``k`` values share it, so phones, postal codes, card
  numbers and national ids come out in the real layout and pass the contract's regex checks;
* its null share (learned by the generator as a ``__null_<column>`` flag, so missing values
  follow the other columns), and for dates a coarse 5-year histogram (bins with fewer than
  ``k`` rows dropped);
* whether one value belongs to one parent (a customer keeps the same card in every payment):
  then the fake is a pure function of the run seed and the parent row, so the same key maps
  to the same fake everywhere in a run.

Fakes come from pools drawn once from Faker (seeded) and combined vectorised, so ten million
rows take seconds: a row's email is built from the same row's fake first and last name.
:func:`pseudonymize` replaces the PII of a *real* table the same way (the same real value
always maps to the same fake), for sharing masked copies.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.contracts import Contract
from lakeforge.errors import ContractError
from lakeforge.synth._keys import mix64
from lakeforge.synth._types import type_from_text

__all__ = ["PiiColumnPlan", "fill_pii", "null_flag", "plan_pii", "pseudonymize"]

FakeStyle = Literal[
    "first_name",
    "last_name",
    "full_name",
    "email",
    "street",
    "city",
    "state",
    "shape",
    "card",
    "ipv4",
    "ipv6",
    "text",
    "date",
]

#: a format kept only when at least this many values share it
MIN_SHAPE_COUNT = 5
_POOL_SIZE = 1500
_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com")
_BRAND_PREFIX = {
    "visa": "4",
    "mastercard": "5",
    "amex": "37",
    "american express": "37",
    "discover": "6011",
}


def null_flag(column: str) -> str:
    """The generator column that learns where a PII column is missing."""
    return f"__null_{column}"


@dataclass
class PiiColumnPlan:
    """How one PII column is faked (JSON-ready through ``to_dict``)."""

    column: str
    tag: str
    style: FakeStyle
    arrow_type: str
    nullable: bool = False
    unique: bool = False
    shapes: list[str] = field(default_factory=list)
    shape_weights: list[float] = field(default_factory=list)
    #: a foreign-key column whose parent decides the fake (same parent, same fake)
    consistent_with: str | None = None
    #: date style: 5-year bins (first day as epoch days) and their weights
    bins: list[int] = field(default_factory=list)
    bin_weights: list[float] = field(default_factory=list)
    words: float = 8.0
    brand_column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiiColumnPlan:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def plan_pii(
    table: pa.Table,
    contract: Contract,
    *,
    foreign_keys: Mapping[str, pa.Array] | None = None,
    k: int = MIN_SHAPE_COUNT,
) -> list[PiiColumnPlan]:
    """A fake plan for every PII-tagged column of ``contract`` present in ``table``.

    ``foreign_keys`` maps a foreign-key column to its values; a PII column that holds one
    value per key (in at least 90% of keys seen twice or more) is faked per parent.
    """
    unique_columns = {keys[0] for keys in contract.unique_keys() if len(keys) == 1}
    names = table.column_names
    brand = next((c for c in names if "brand" in c.lower()), None)
    plans = []
    for name, tag in contract.pii_columns.items():
        if name not in names:
            continue
        column = table.column(name)
        kind = column.type
        plan = PiiColumnPlan(
            column=name,
            tag=tag,
            style=_style(name, tag, kind),
            arrow_type=str(kind),
            nullable=column.null_count > 0,
            unique=name in unique_columns,
            brand_column=brand if tag == "card_number" else None,
        )
        if plan.style in ("shape", "card", "ipv4", "ipv6"):
            plan.shapes, plan.shape_weights = _shapes(column, k)
            if plan.style == "ipv4" and any(":" in s for s in plan.shapes):
                plan.style = "ipv6"
        elif plan.style == "date":
            plan.bins, plan.bin_weights = _date_bins(column, kind, k)
        elif plan.style == "text":
            counts = pc.count_substring_regex(column.drop_null().cast(pa.string()), r"\S+")
            plan.words = float(pc.mean(counts).as_py() or 8.0)
        for fk_column, values in (foreign_keys or {}).items():
            if _one_value_per_key(values, column):
                plan.consistent_with = fk_column
                break
        plans.append(plan)
    return plans


def _style(name: str, tag: str, kind: pa.DataType) -> FakeStyle:
    lower = name.lower()
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return "date"
    if tag == "person_name":
        if "first" in lower or "given" in lower:
            return "first_name"
        if any(part in lower for part in ("last", "surname", "family")):
            return "last_name"
        return "full_name"
    if tag == "email":
        return "email"
    if tag == "address":
        if any(part in lower for part in ("postal", "zip", "postcode", "plz")):
            return "shape"
        if "city" in lower or "town" in lower:
            return "city"
        if "state" in lower or "region" in lower:
            return "state"
        return "street"
    if tag == "card_number":
        return "card"
    if tag == "ip_address":
        return "ipv4"
    if tag == "free_text":
        return "text"
    return "shape"


def _mask(strings: pa.Array) -> pa.Array:
    masked = pc.replace_substring_regex(strings, "[a-z]", "a")
    masked = pc.replace_substring_regex(masked, "[A-Z]", "A")
    return pc.replace_substring_regex(masked, "[0-9]", "9")


def _shapes(column: pa.ChunkedArray, k: int) -> tuple[list[str], list[float]]:
    strings = column.drop_null().cast(pa.string())
    if len(strings) == 0:
        return [], []
    counts = pc.value_counts(_mask(strings.combine_chunks())).to_pylist()
    counts.sort(key=lambda item: -item["counts"])
    floor = min(k, counts[0]["counts"])
    kept = [c for c in counts if c["counts"] >= floor][:20]
    total = sum(c["counts"] for c in kept)
    return [c["values"] for c in kept], [c["counts"] / total for c in kept]


def _date_bins(column: pa.ChunkedArray, kind: pa.DataType, k: int) -> tuple[list[int], list[float]]:
    values = column.drop_null()
    if len(values) == 0:
        return [], []
    days = (
        values.cast(pa.date32()).cast(pa.int32())
        if pa.types.is_date(kind)
        else values.cast(pa.timestamp("s")).cast(pa.int64())
    )
    array = np.asarray(days.to_numpy(), dtype=np.int64)
    if pa.types.is_timestamp(kind):
        array = array // 86_400
    years = (array.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970) // 5 * 5
    starts, counts = np.unique(years, return_counts=True)
    keep = counts >= min(k, counts.max())
    starts, counts = starts[keep], counts[keep]
    epoch = [(dt.date(int(y), 1, 1) - dt.date(1970, 1, 1)).days for y in starts]
    return epoch, (counts / counts.sum()).tolist()


def _one_value_per_key(keys: pa.Array, values: pa.ChunkedArray) -> bool:
    frame = pa.table({"k": keys, "v": values.combine_chunks()})
    frame = frame.filter(pc.and_(pc.is_valid(frame["k"]), pc.is_valid(frame["v"])))
    if frame.num_rows == 0:
        return False
    grouped = frame.group_by("k").aggregate([("v", "count_distinct"), ("v", "count")])
    repeated = grouped.filter(pc.greater(grouped["v_count"], 1))
    if repeated.num_rows < 3:
        return False
    single = pc.sum(pc.equal(repeated["v_count_distinct"], 1)).as_py() or 0
    return bool(single >= 0.9 * repeated.num_rows)


# -- fake pools (Faker, seeded, built once per seed) --------------------------------------------


@functools.lru_cache(maxsize=8)
def _pools(seed: int) -> dict[str, list[str]]:
    try:
        from faker import Faker
    except ImportError as exc:  # pragma: no cover - faker is in the synth extra
        raise ContractError(
            "faking PII columns needs Faker: pip install 'lakeforge[synth]'"
        ) from exc
    fake = Faker("en_US")
    fake.seed_instance(seed)
    pools = {
        "first_name": [fake.first_name() for _ in range(_POOL_SIZE)],
        "last_name": [fake.last_name() for _ in range(_POOL_SIZE)],
        "street": [fake.street_address() for _ in range(_POOL_SIZE)],
        "city": [fake.city() for _ in range(300)],
        "state": [fake.state_abbr() for _ in range(100)],
        "sentence": [fake.sentence(nb_words=12) for _ in range(_POOL_SIZE)],
    }
    return pools


class _Draws:
    """Counter-based random numbers: row ``i``'s draw ``j`` is a hash of (salt, key_i, j).

    Draws depend on the row's key alone (its run ordinal, or its parent's row for fakes that
    follow a parent), never on chunking, so streaming gives the same fakes as one batch.
    """

    def __init__(self, keys: np.ndarray, salt: int) -> None:
        with np.errstate(over="ignore"):
            self.keys = keys.astype(np.uint64) * np.uint64(1_000_003) + np.uint64(salt)

    def _mixed(self, draw: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            step = np.uint64((draw * 0x632BE59BD9B4E019) % (1 << 64))
            return mix64(self.keys + step)

    def integers(self, high: int, draw: int) -> np.ndarray:
        return (self._mixed(draw) % np.uint64(max(high, 1))).astype(np.int64)

    def uniform(self, draw: int) -> np.ndarray:
        return (self._mixed(draw) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _salt(seed: int, column: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{column}".encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big")


def fill_pii(
    plans: list[PiiColumnPlan],
    rows: pa.Table,
    *,
    ordinals: np.ndarray,
    seed: int,
    entity_rows: Mapping[str, np.ndarray] | None = None,
) -> dict[str, pa.Array]:
    """Fake values for every planned column of one chunk.

    Args:
        plans: from :func:`plan_pii`.
        rows: the chunk's other synthetic columns (``__null_<column>`` flags, a brand column).
        ordinals: each row's number within the run (distinct rows, distinct fakes).
        seed: the run seed.
        entity_rows: for plans ``consistent_with`` a foreign key, the parent row of each row.
    """
    pools = _pools(seed)
    out: dict[str, pa.Array] = {}
    names: dict[str, np.ndarray] = {}
    ordered = sorted(plans, key=lambda p: p.style == "email")  # names before emails
    for plan in ordered:
        keys = ordinals
        if plan.consistent_with and entity_rows and plan.consistent_with in entity_rows:
            parent = entity_rows[plan.consistent_with]
            keys = np.where(parent >= 0, parent, ordinals + (1 << 40))
        draws = _Draws(keys, _salt(seed, plan.column))
        values = _fake(plan, draws, pools, rows, names, keys)
        if plan.style in ("first_name", "last_name", "full_name"):
            names[plan.style] = np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
        missing = None
        flag = null_flag(plan.column)
        if flag in rows.column_names:
            missing = pc.fill_null(rows.column(flag), False).combine_chunks()
        target = type_from_text(plan.arrow_type)
        if values.type != target:
            values = values.cast(target)
        if missing is not None:
            values = pc.if_else(missing, pa.nulls(len(values), target), values)
        out[plan.column] = values
    return out


def _pick(pool: list[str], draws: _Draws, draw: int) -> np.ndarray:
    array = np.asarray(pool, dtype=object)
    picked: np.ndarray = array[draws.integers(len(array), draw)]
    return picked


def _fake(
    plan: PiiColumnPlan,
    draws: _Draws,
    pools: dict[str, list[str]],
    rows: pa.Table,
    names: dict[str, np.ndarray],
    keys: np.ndarray,
) -> pa.Array:
    n = len(keys)
    style = plan.style
    if style in ("first_name", "last_name", "street", "city", "state"):
        return pa.array(_pick(pools[style], draws, 0).tolist(), pa.string())
    if style == "full_name":
        first = _pick(pools["first_name"], draws, 0)
        last = _pick(pools["last_name"], draws, 1)
        return pa.array((first + " " + last).tolist(), pa.string())
    if style == "email":
        return _emails(plan, draws, pools, names, keys)
    if style == "text":
        return _texts(plan, draws, pools, n)
    if style == "date":
        return _dates(plan, draws, n)
    if style == "ipv4":
        octets = [draws.integers(223, 0) + 1, *(draws.integers(256, d) for d in (1, 2, 3))]
        octets[0] = np.where(np.isin(octets[0], [10, 127, 172, 192]), octets[0] + 1, octets[0])
        text = [".".join(map(str, parts)) for parts in zip(*octets, strict=True)]
        return pa.array(text, pa.string())
    if style == "ipv6":
        groups = [draws.integers(1 << 16, d) for d in range(8)]
        return pa.array([":".join(f"{g:x}" for g in parts) for parts in zip(*groups, strict=True)])
    shapes = plan.shapes or (["9999999999999999"] if style == "card" else ["AAA999999"])
    weights = plan.shape_weights or [1.0 / len(shapes)] * len(shapes)
    choice = np.searchsorted(np.cumsum(weights), draws.uniform(99) * sum(weights))
    choice = np.minimum(choice, len(shapes) - 1)
    result = np.empty(n, dtype=object)
    for index, shape in enumerate(shapes):
        members = np.flatnonzero(choice == index)
        if len(members) == 0:
            continue
        brands = None
        if style == "card" and plan.brand_column and plan.brand_column in rows.column_names:
            brands = np.asarray(
                rows.column(plan.brand_column).to_numpy(zero_copy_only=False), dtype=object
            )[members]
        result[members] = _from_shape(shape, draws, members, luhn=style == "card", brands=brands)
    if plan.unique and len(shapes) == 1:
        result = _unique_by_ordinal(result, shapes[0], keys)
    return pa.array(result.tolist(), pa.string())


def _from_shape(
    shape: str,
    draws: _Draws,
    members: np.ndarray,
    *,
    luhn: bool,
    brands: np.ndarray | None,
) -> np.ndarray:
    """Strings in ``shape`` ('9' digit, 'a' lower, 'A' upper, others literal)."""
    width = len(shape)
    codes = np.empty((len(members), width), dtype=np.uint8)
    sub = _Draws(np.zeros(0), 0)
    sub.keys = draws.keys[members]
    for position, char in enumerate(shape):
        if char == "9":
            codes[:, position] = 48 + sub.integers(10, 100 + position)
        elif char == "a":
            codes[:, position] = 97 + sub.integers(26, 100 + position)
        elif char == "A":
            codes[:, position] = 65 + sub.integers(26, 100 + position)
        else:
            codes[:, position] = ord(char) if ord(char) < 128 else 63
    digit_positions = [i for i, c in enumerate(shape) if c == "9"]
    if luhn and len(digit_positions) >= 12:
        if brands is not None:
            for row, brand in enumerate(brands):
                prefix = _BRAND_PREFIX.get(str(brand).lower()) if brand is not None else None
                for offset, digit in enumerate(prefix or ""):
                    codes[row, digit_positions[offset]] = ord(digit)
        digits = codes[:, digit_positions].astype(np.int64) - 48
        codes[:, digit_positions[-1]] = 48 + _luhn_check_digit(digits[:, :-1])
    if width == 0:
        return np.full(len(members), "", dtype=object)
    return np.asarray(codes.view(f"S{width}").ravel().astype(str), dtype=object)


def _luhn_check_digit(body: np.ndarray) -> np.ndarray:
    """The Luhn check digit for each row of digits (the payload, without the check digit)."""
    doubled = body[:, ::-1].copy()
    doubled[:, ::2] *= 2
    doubled[doubled > 9] -= 9
    return np.asarray((10 - doubled.sum(axis=1) % 10) % 10, dtype=np.int64)


def _unique_by_ordinal(values: np.ndarray, shape: str, keys: np.ndarray) -> np.ndarray:
    """Make a unique column unique: rewrite the trailing digits with the row's ordinal."""
    digits = [i for i, c in enumerate(shape) if c == "9"]
    if len(digits) < len(str(int(keys.max()) if len(keys) else 0)):
        return values
    out = values.copy()
    for row, (value, key) in enumerate(zip(values, keys, strict=True)):
        chars = list(value)
        number = str(int(key)).zfill(len(digits))
        for position, digit in zip(digits[-len(number) :], number[-len(digits) :], strict=False):
            chars[position] = digit
        out[row] = "".join(chars)
    return out


def _emails(
    plan: PiiColumnPlan,
    draws: _Draws,
    pools: dict[str, list[str]],
    names: dict[str, np.ndarray],
    keys: np.ndarray,
) -> pa.Array:
    if "first_name" in names and "last_name" in names:
        first, last = names["first_name"], names["last_name"]
    elif "full_name" in names:
        parts = [[*str(v).split(" ", 1), ""] for v in names["full_name"]]
        first = np.asarray([p[0] for p in parts], dtype=object)
        last = np.asarray([p[1] for p in parts], dtype=object)
    else:
        first = _pick(pools["first_name"], draws, 10)
        last = _pick(pools["last_name"], draws, 11)
    local = pc.utf8_lower(pa.array((first + "." + last).tolist(), pa.string()))
    local = pc.replace_substring_regex(local, "[^a-z0-9._]", "")
    if plan.unique:
        suffix = pa.array((keys + 1).astype(str).tolist(), pa.string())
    else:
        numbered = draws.uniform(12) < 0.35
        numbers = (draws.integers(99, 13) + 1).astype(str)
        suffix = pa.array(np.where(numbered, numbers, "").tolist(), pa.string())
    domain = pa.array(
        np.asarray(_DOMAINS, dtype=object)[draws.integers(len(_DOMAINS), 14)].tolist(),
        pa.string(),
    )
    return pc.binary_join_element_wise(local, suffix, pa.scalar("@"), domain, pa.scalar(""))


def _texts(plan: PiiColumnPlan, draws: _Draws, pools: dict[str, list[str]], n: int) -> pa.Array:
    sentences = np.asarray(pools["sentence"], dtype=object)
    per_sentence = 12.0
    count = np.maximum(1, np.round(plan.words / per_sentence + draws.uniform(20) - 0.5)).astype(int)
    first = sentences[draws.integers(len(sentences), 21)]
    second = sentences[draws.integers(len(sentences), 22)]
    text = np.where(count > 1, first + " " + second, first)
    if plan.words < per_sentence:
        words = np.maximum(1, np.round(plan.words)).astype(int)
        text = np.asarray([" ".join(t.split()[:words]) for t in text], dtype=object)
    return pa.array(text.tolist(), pa.string())


def _dates(plan: PiiColumnPlan, draws: _Draws, n: int) -> pa.Array:
    starts = np.asarray(plan.bins or [0], dtype=np.int64)
    weights = np.asarray(plan.bin_weights or [1.0], dtype=np.float64)
    choice = np.minimum(
        np.searchsorted(np.cumsum(weights), draws.uniform(30) * weights.sum()), len(starts) - 1
    )
    days = starts[choice] + (draws.uniform(31) * 5 * 365.25).astype(np.int64)
    target = type_from_text(plan.arrow_type)
    if pa.types.is_timestamp(target):
        seconds = days * 86_400 + (draws.uniform(32) * 86_400).astype(np.int64)
        return pa.array(seconds, pa.int64()).cast(pa.timestamp("s")).cast(target)
    return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())


def pseudonymize(table: pa.Table, contract: Contract, *, seed: int = 0) -> pa.Table:
    """Replace the PII columns of a real table with fakes: the same value, the same fake.

    Example:
        >>> masked = pseudonymize(customers, contract, seed=3)  # doctest: +SKIP
    """
    plans = plan_pii(table, contract)
    flags = {null_flag(p.column): pc.is_null(table.column(p.column)) for p in plans}
    keys: dict[str, np.ndarray] = {}
    for plan in plans:
        encoded = pc.dictionary_encode(table.column(plan.column).combine_chunks())
        keys[plan.column] = encoded.indices.fill_null(0).to_numpy().astype(np.int64)
    replaced: dict[str, pa.Array] = {}
    for plan in plans:
        fake = fill_pii([plan], pa.table(flags), ordinals=keys[plan.column], seed=seed)
        replaced[plan.column] = fake[plan.column]
    columns = [replaced.get(name, table.column(name)) for name in table.column_names]
    return pa.table(columns, names=table.column_names)
