"""Primary keys for synthetic rows: unique by construction, in the real keys' format.

A key is never learned: its format is read off the real column (``C00042`` is the prefix
``C`` and five zero-padded digits; ``1``, ``2``... are integers; a calendar's dates step by
a day; ``a3f9e1...`` hashes are tokens of the same character classes) and new keys are
numbered ``0, 1, 2...`` within a run, so any chunk of rows gets its keys from its first
ordinal alone (streaming needs no set of keys seen so far).

Example:
    >>> fmt = detect_key_format(pa.array(["C00001", "C00042"]))
    >>> fmt.generate(0, 3).to_pylist()
    ['C00001', 'C00002', 'C00003']
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["KeyFormat", "detect_key_format", "mix64"]

KeyStyle = Literal["integer", "prefixed", "token", "date", "timestamp", "float"]

_PREFIXED = re.compile(r"^(\D*?)(\d+)$")
_CLASSES = {"9": "0123456789", "a": "abcdefghijklmnopqrstuvwxyz", "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_HEX_LOWER = "0123456789abcdef"
_HEX_UPPER = "0123456789ABCDEF"
_MAX_SCRAMBLE = 1 << 31


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast, well-spread hash of uint64 values (vectorised)."""
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass
class KeyFormat:
    """How to write the ``i``-th new key of a column (JSON-ready through ``to_dict``)."""

    style: KeyStyle
    start: int = 1
    step: int = 1
    prefix: str = ""
    width: int = 0
    #: token style: one character class per position ("9", "a", "A", "x" hex, "X" HEX, or a
    #: literal written as "=c")
    template: list[str] = field(default_factory=list)
    salt: int = 0
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyFormat:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)

    def generate(self, first: int, n: int) -> pa.Array:
        """Keys number ``first`` .. ``first + n - 1`` of this run."""
        ordinals = np.arange(first, first + n, dtype=np.int64)
        if self.style == "integer":
            return pa.array(self.start + ordinals * self.step, pa.int64())
        if self.style == "float":
            return pa.array((self.start + ordinals * self.step).astype(np.float64), pa.float64())
        if self.style == "date":
            days = self.start + ordinals * self.step
            return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())
        if self.style == "timestamp":
            stamps = self.start + ordinals * self.step
            return pa.array(stamps, pa.int64()).cast(pa.timestamp(self.unit or "us"))
        if self.style == "prefixed":
            numbers = self.start + ordinals
            width = max(self.width, len(str(int(numbers[-1])))) if n else self.width
            digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
            return pc.binary_join_element_wise(pa.scalar(self.prefix), digits, pa.scalar(""))
        return self._tokens(ordinals)

    def _tokens(self, ordinals: np.ndarray) -> pa.Array:
        """Random-looking tokens in the template's classes; unique by construction.

        The last positions spell a bijective scramble of the ordinal (``ordinal * a + b``
        mod their capacity, ``a`` odd and prime to it); the others are hashed from it.
        """
        alphabets = [_alphabet(cls) for cls in self.template]
        n = len(ordinals)
        if n == 0:
            return pa.array([], pa.string())
        variable = [i for i, a in enumerate(alphabets) if len(a) > 1]
        capacity, tail = 1, []
        for position in reversed(variable):
            if capacity * len(alphabets[position]) > _MAX_SCRAMBLE:
                break
            capacity *= len(alphabets[position])
            tail.append(position)
        multiplier = _coprime_multiplier(capacity, self.salt)
        offset = (self.salt + 0x9E3779B9) % capacity
        scrambled = (ordinals % capacity * multiplier + offset) % capacity
        codes = np.zeros((n, len(alphabets)), dtype=np.uint8)
        remaining = scrambled.copy()
        for position in tail:  # least significant first
            radix = len(alphabets[position])
            table = np.frombuffer(alphabets[position].encode(), dtype=np.uint8)
            codes[:, position] = table[remaining % radix]
            remaining //= radix
        hashed = set(range(len(alphabets))) - set(tail)
        for position in sorted(hashed):
            alphabet = np.frombuffer(alphabets[position].encode(), dtype=np.uint8)
            mixed = mix64(
                ordinals.astype(np.uint64) * np.uint64(131)
                + np.uint64(position)
                + np.uint64(self.salt << 8)
            )
            codes[:, position] = alphabet[(mixed % np.uint64(len(alphabet))).astype(np.int64)]
        strings = codes.view(f"S{len(alphabets)}").ravel()
        return pa.array(strings.astype(str).tolist(), pa.string())


def _alphabet(cls: str) -> str:
    if cls.startswith("="):
        return cls[1:]
    return {"x": _HEX_LOWER, "X": _HEX_UPPER}.get(cls, _CLASSES.get(cls, cls))


def _coprime_multiplier(capacity: int, salt: int) -> int:
    """An odd multiplier prime to ``capacity`` (so the scramble is a bijection)."""
    import math

    candidate = (0x5DEECE66D + 2 * salt) % max(capacity, 2) | 1
    while math.gcd(candidate, capacity) != 1:
        candidate += 2
    return candidate


def detect_key_format(values: pa.Array | pa.ChunkedArray, *, salt: int = 0) -> KeyFormat:
    """The format of a real key column, to write new keys like it.

    Integers number from the real minimum; dates and timestamps step by their most common
    gap from the real minimum; ``<prefix><digits>`` strings keep the prefix and width;
    other strings become tokens with the most common length's character classes.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    array = array.drop_null()
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = kind.value_type
    if len(array) == 0:
        return KeyFormat(style="integer", start=1)
    if pa.types.is_integer(kind):
        return KeyFormat(style="integer", start=int(pc.min(array).as_py()))
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return KeyFormat(style="float", start=int(np.floor(pc.min(array).as_py())))
    if pa.types.is_date(kind):
        days = array.cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)
        return KeyFormat(style="date", start=int(days.min()), step=_common_step(days))
    if pa.types.is_timestamp(kind):
        unit = kind.unit
        stamps = array.cast(pa.timestamp(unit)).cast(pa.int64()).to_numpy()
        return KeyFormat(
            style="timestamp", start=int(stamps.min()), step=_common_step(stamps), unit=unit
        )
    strings = [str(v) for v in array.cast(pa.string()).to_pylist()]
    return _string_format(strings, salt=salt)


def _common_step(values: np.ndarray) -> int:
    unique = np.unique(values)
    if len(unique) < 2:
        return 1
    gaps = np.diff(unique)
    steps, counts = np.unique(gaps, return_counts=True)
    return max(1, int(steps[np.argmax(counts)]))


def _string_format(strings: list[str], *, salt: int) -> KeyFormat:
    sample = strings[:: max(1, len(strings) // 5000)]
    matches = [_PREFIXED.match(s) for s in sample]
    if all(matches):
        prefixes = Counter(m.group(1) for m in matches if m)
        prefix, count = prefixes.most_common(1)[0]
        if count == len(sample):
            widths = {len(m.group(2)) for m in matches if m}
            numbers = [int(m.group(2)) for m in matches if m]
            return KeyFormat(
                style="prefixed",
                prefix=prefix,
                width=widths.pop() if len(widths) == 1 else 0,
                start=max(0, min(numbers)),
            )
    length = Counter(len(s) for s in sample).most_common(1)[0][0]
    model = [s for s in sample if len(s) == length]
    template = []
    for position in range(length):
        chars = {s[position] for s in model}
        template.append(_char_class(chars, constant_ok=len(model) >= 10))
    return KeyFormat(style="token", template=template, salt=salt % _MAX_SCRAMBLE)


def _char_class(chars: set[str], *, constant_ok: bool) -> str:
    if len(chars) == 1 and (constant_ok or not next(iter(chars)).isalnum()):
        return "=" + next(iter(chars))
    if chars <= set(_CLASSES["9"]):
        return "9"
    if chars <= set(_HEX_LOWER):
        return "x"
    if chars <= set(_HEX_UPPER):
        return "X"
    if chars <= set(_CLASSES["a"]):
        return "a"
    if chars <= set(_CLASSES["A"]):
        return "A"
    if chars <= set(_CLASSES["a"] + _CLASSES["9"]):
        return "=" + _CLASSES["9"] + _CLASSES["a"]
    if chars <= set(_CLASSES["A"] + _CLASSES["9"]):
        return "=" + _CLASSES["9"] + _CLASSES["A"]
    return "=" + _CLASSES["9"] + _CLASSES["a"] + _CLASSES["A"]
