"""Readable keys (``S001``, ``P0042``, ``C00042``...) built vectorised with Arrow compute."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["key_width", "make_keys", "pick"]

_DICTIONARY_LIMIT = 1 << 16


def key_width(count: int, minimum: int) -> int:
    """Digits needed to number ``count`` things, at least ``minimum``."""
    return max(minimum, len(str(max(count, 1))))


def make_keys(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array.

    Example:
        >>> make_keys("S", np.array([1, 12]), 3).to_pylist()
        ['S001', 'S012']
    """
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, pa.scalar(""))


def pick(values: pa.Array, indices: np.ndarray) -> pa.Array:
    """``values`` at ``indices`` (negative index: null), e.g. the key of each row's parent.

    Small key sets come back dictionary-encoded (no copy of the strings, and Parquet writes
    the dictionary as is); files are written without the Arrow schema, so readers still see
    plain strings.
    """
    missing = indices < 0
    if len(values) <= _DICTIONARY_LIMIT:
        codes = pa.array(indices.astype(np.int32), mask=missing if missing.any() else None)
        return pa.DictionaryArray.from_arrays(codes, values)
    taken = pc.take(values, pa.array(np.where(missing, 0, indices), pa.int64()))
    if missing.any():
        return pc.if_else(pa.array(missing), pa.nulls(len(taken), values.type), taken)
    return taken
