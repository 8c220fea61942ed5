"""Column transforms shared by the generators: every column becomes a small set of tokens.

A generator never sees raw values. Each column is fitted with a codec that maps it to integer
*tokens* (plus, for numbers, a position inside the token's bin) and back:

* :class:`NumericCodec` (integers, floats, decimals, dates, timestamps): values seen often
  (``capital-gain = 0``) become *atoms* that are reproduced exactly; the rest are cut into
  quantile bins, and a value is drawn inside its bin from a piecewise-linear empirical CDF
  (a fine quantile grid), so marginals stay close without replaying training values.
  Bounds, integer rounding, the number of decimals and missing values are kept.
* :class:`CategoricalCodec` (strings, booleans, codes): the most frequent categories are
  tokens; further categories share one *pool* token (drawn by frequency when decoded), so a
  high-cardinality column never blows up a model's output layer; categories seen fewer
  than ``min_count`` times share a *rare* token that never decodes to any of them
  (rare-category protection); missing values are a token of their own.

Codecs save to JSON-ready metadata plus NumPy arrays, never pickle.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeforge.errors import ContractError

__all__ = [
    "RARE_VALUE",
    "CategoricalCodec",
    "ColumnCodec",
    "NumericCodec",
    "arrow_from_bytes",
    "arrow_to_bytes",
    "as_float",
    "codec_from_state",
    "fit_codec",
    "from_float",
    "to_field",
]

RARE_VALUE = "_RARE_"
"""What a protected (rare) category of a text column is replaced by in samples."""


def arrow_to_bytes(array: pa.Array) -> np.ndarray:
    """An Arrow array as IPC bytes in a ``uint8`` NumPy array (for ``.npz`` state)."""
    table = pa.table({"v": array})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return np.frombuffer(sink.getvalue().to_pybytes(), dtype=np.uint8)


def arrow_from_bytes(data: np.ndarray) -> pa.Array:
    """The inverse of :func:`arrow_to_bytes`."""
    reader = pa.ipc.open_stream(pa.py_buffer(data.tobytes()))
    return reader.read_all().column("v").combine_chunks()


def as_float(array: pa.Array | pa.ChunkedArray, arrow_type: pa.DataType) -> np.ndarray:
    """Numbers, dates and timestamps as float64 (NaN for missing)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date64(arrow_type):
        array = array.cast(pa.int64())
    elif pa.types.is_date32(arrow_type):
        array = array.cast(pa.int32())
    else:
        array = array.cast(pa.float64())
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def from_float(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """float64 values (NaN for missing) back to ``arrow_type``."""
    mask = np.isnan(values)
    if pa.types.is_floating(arrow_type):
        return pa.array(values, mask=mask, type=pa.float64()).cast(arrow_type)
    filled = np.where(mask, 0.0, values)
    if pa.types.is_decimal(arrow_type):
        return pa.array(filled, mask=mask, type=pa.float64()).cast(arrow_type, safe=False)
    ints = np.rint(filled).astype(np.int64)
    if pa.types.is_date32(arrow_type):
        return pa.array(ints.astype(np.int32), mask=mask, type=pa.int32()).cast(arrow_type)
    base = pa.array(ints, mask=mask, type=pa.int64())
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date64(arrow_type):
        return base.cast(arrow_type)
    return base.cast(arrow_type, safe=False)


class ColumnCodec:
    """One column <-> integer tokens (``0 .. n_tokens - 1``); see the module docstring."""

    kind: str = ""
    arrow_type: pa.DataType
    freq_: np.ndarray  # training share of each token

    @property
    def n_tokens(self) -> int:
        """How many tokens the column has."""
        return len(self.freq_)

    def encode(self, array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens (int64, -1 for a value the codec cannot place) and in-bin positions."""
        raise NotImplementedError

    def features(self, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The column as a model feature: the number itself, or the category's token."""
        raise NotImplementedError

    def decode(
        self, tokens: np.ndarray, position: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[pa.Array, np.ndarray]:
        """Values for ``tokens`` (position in ``[0, 1]`` inside a bin, random when None).

        Returns the Arrow array and its feature values (as :meth:`features` would give).
        """
        raise NotImplementedError

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-ready metadata and arrays."""
        raise NotImplementedError


class NumericCodec(ColumnCodec):
    """Atoms (frequent exact values) + quantile bins + a missing token, ordered by value."""

    kind = "numeric"
    _STEPS = 8  # fine-grid points per bin

    def __init__(self, arrow_type: pa.DataType) -> None:
        self.arrow_type = arrow_type

    def fit(
        self,
        array: pa.Array | pa.ChunkedArray,
        *,
        n_bins: int,
        min_count: int,
        atom_share: float,
    ) -> NumericCodec:
        """Learn atoms, bins, bounds, rounding and the missing share from ``array``."""
        values = as_float(array, self.arrow_type)
        missing = np.isnan(values)
        valid = values[~missing]
        t = self.arrow_type
        self.integer_ = not (pa.types.is_floating(t) or pa.types.is_decimal(t))
        self.decimals_ = 0 if self.integer_ else _decimals(valid)
        uniq, counts = np.unique(valid, return_counts=True)
        if len(uniq) <= n_bins:
            # a small discrete domain: every value seen often enough is kept exactly
            is_atom = counts >= min_count
        else:
            is_atom = counts >= max(min_count, math.ceil(atom_share * max(len(valid), 1)))
        self.atoms_ = uniq[is_atom]
        rest = valid[~np.isin(valid, self.atoms_)]
        steps = self._STEPS
        if len(rest) > 0:
            n_unique = len(uniq) - int(is_atom.sum())
            n_b = int(np.clip(min(len(rest) // max(min_count, 10), n_unique), 1, n_bins))
            self.grid_ = np.quantile(rest, np.linspace(0.0, 1.0, n_b * steps + 1))
        else:
            self.grid_ = np.empty(0)
        # token table: atoms and bins merged in value order, then missing
        n_bins_fit = (len(self.grid_) - 1) // steps if len(self.grid_) else 0
        reps = [*self.atoms_.tolist(), *(self._bin_mid(b) for b in range(n_bins_fit))]
        kinds = [0] * len(self.atoms_) + [1] * n_bins_fit
        refs = list(range(len(self.atoms_))) + list(range(n_bins_fit))
        order = np.argsort(np.asarray(reps, dtype=np.float64), kind="stable")
        self.token_is_bin_ = np.asarray(kinds, dtype=np.int8)[order]
        self.token_ref_ = np.asarray(refs, dtype=np.int64)[order]
        self.has_missing_ = bool(missing.any())
        tokens, _ = self.encode(array)
        counts_t = np.bincount(tokens, minlength=self.n_value_tokens + self.has_missing_)
        self.freq_ = counts_t / counts_t.sum()
        return self

    @property
    def n_value_tokens(self) -> int:
        """Tokens that stand for values (every token but the missing one)."""
        return len(self.token_is_bin_)

    def _bin_mid(self, b: int) -> float:
        s = self._STEPS
        return float(self.grid_[b * s + s // 2])

    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """Token index of every atom and of every bin."""
        n_atoms = len(self.atoms_)
        n_bins = (len(self.grid_) - 1) // self._STEPS if len(self.grid_) else 0
        atom_token = np.empty(n_atoms, dtype=np.int64)
        bin_token = np.empty(n_bins, dtype=np.int64)
        for tok, (is_bin, ref) in enumerate(zip(self.token_is_bin_, self.token_ref_, strict=True)):
            (bin_token if is_bin else atom_token)[ref] = tok
        return atom_token, bin_token

    def encode(self, array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens (atoms exact, others by bin) and in-bin positions."""
        values = as_float(array, self.arrow_type)
        return self._encode_values(values)

    def _encode_values(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        atom_token, bin_token = self._lookup()
        tokens = np.full(len(values), -1, dtype=np.int64)
        position = np.full(len(values), 0.5)
        missing = np.isnan(values)
        if self.has_missing_:
            tokens[missing] = self.n_value_tokens
        idx = np.searchsorted(self.atoms_, values)
        idx_c = np.minimum(idx, max(len(self.atoms_) - 1, 0))
        is_atom = ~missing & (len(self.atoms_) > 0)
        if len(self.atoms_):
            is_atom &= self.atoms_[idx_c] == values
            tokens[is_atom] = atom_token[idx_c[is_atom]]
        rest = ~missing & ~is_atom
        if len(self.grid_) and rest.any():
            pos = np.interp(values[rest], self.grid_, np.arange(len(self.grid_))) / self._STEPS
            b = np.clip(np.floor(pos).astype(np.int64), 0, len(bin_token) - 1)
            tokens[rest] = bin_token[b]
            position[rest] = np.clip(pos - b, 0.0, 1.0)
        elif rest.any() and len(self.atoms_):
            # no bins at all: snap to the nearest atom
            near = np.abs(values[rest][:, None] - self.atoms_[None, :]).argmin(1)
            tokens[rest] = atom_token[near]
        return tokens, position

    def features(self, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The values themselves (NaN for missing)."""
        return as_float(array, self.arrow_type)

    def decode(
        self, tokens: np.ndarray, position: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[pa.Array, np.ndarray]:
        """Atoms exactly, bins by the fine grid, missing as null; rounded and in bounds."""
        tokens = np.asarray(tokens, dtype=np.int64)
        if position is None:
            position = rng.random(len(tokens))
        values = np.full(len(tokens), np.nan)
        is_value = tokens < self.n_value_tokens
        t = tokens[is_value]
        is_bin = self.token_is_bin_[t].astype(bool)
        ref = self.token_ref_[t]
        out = np.empty(len(t))
        out[~is_bin] = self.atoms_[ref[~is_bin]]
        if is_bin.any():
            grid_pos = (ref[is_bin] + position[is_value][is_bin]) * self._STEPS
            drawn = np.interp(grid_pos, np.arange(len(self.grid_)), self.grid_)
            if self.integer_:
                drawn = np.rint(drawn)
            elif self.decimals_ is not None:
                drawn = np.round(drawn, self.decimals_)
            out[is_bin] = np.clip(drawn, self.grid_[0], self.grid_[-1])
        values[is_value] = out
        return from_float(values, self.arrow_type), values

    def value_tokens(self, value: Any) -> tuple[int, float, float]:
        """Token, in-bin position and number of one condition value (ContractError if none)."""
        number = float(as_float(pa.array([value]).cast(self.arrow_type), self.arrow_type)[0])
        tokens, position = self._encode_values(np.array([number]))
        if tokens[0] < 0:
            raise ContractError(f"condition value {value!r} is missing in a column without nulls")
        return int(tokens[0]), float(position[0]), number

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Metadata and arrays of the fitted codec."""
        meta = {
            "kind": self.kind,
            "integer": self.integer_,
            "decimals": self.decimals_,
            "has_missing": self.has_missing_,
        }
        arrays = {
            "atoms": self.atoms_,
            "grid": self.grid_,
            "token_is_bin": self.token_is_bin_,
            "token_ref": self.token_ref_,
            "freq": self.freq_,
        }
        return meta, arrays

    @classmethod
    def restore(
        cls, arrow_type: pa.DataType, meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> NumericCodec:
        """Rebuild from :meth:`state`."""
        codec = cls(arrow_type)
        codec.integer_ = bool(meta["integer"])
        codec.decimals_ = meta["decimals"]
        codec.has_missing_ = bool(meta["has_missing"])
        codec.atoms_ = arrays["atoms"]
        codec.grid_ = arrays["grid"]
        codec.token_is_bin_ = arrays["token_is_bin"]
        codec.token_ref_ = arrays["token_ref"]
        codec.freq_ = arrays["freq"]
        return codec


def _decimals(values: np.ndarray, most: int = 6) -> int | None:
    """The fewest decimals (up to ``most``) that every value has, or None for 'any'."""
    sample = values[:10_000]
    for d in range(most + 1):
        if np.allclose(np.round(sample, d), sample, rtol=0.0, atol=1e-9 * 10.0**-d):
            return d
    return None


class CategoricalCodec(ColumnCodec):
    """Kept categories (frequent first), a pool token, a rare token and a missing token."""

    kind = "categorical"

    def __init__(self, arrow_type: pa.DataType) -> None:
        self.arrow_type = arrow_type

    def fit(
        self, array: pa.Array | pa.ChunkedArray, *, min_count: int, max_tokens: int
    ) -> CategoricalCodec:
        """Learn the categories, which are protected as rare, and which share the pool."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        encoded = array.dictionary_encode()
        dictionary = encoded.dictionary
        indices = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        counts = np.bincount(indices[indices >= 0], minlength=len(dictionary))
        order = np.argsort(-counts, kind="stable")
        kept = order[counts[order] >= min_count]
        rare = order[counts[order] < min_count]
        n_missing = int((indices < 0).sum())
        budget = max(2, max_tokens - (len(rare) > 0) - (n_missing > 0))
        if len(kept) > budget:
            tokens_kept, pooled = kept[: budget - 1], kept[budget - 1 :]
        else:
            tokens_kept, pooled = kept, kept[:0]
        self.categories_ = dictionary.take(pa.array(tokens_kept))
        self.pool_ = dictionary.take(pa.array(pooled))
        self.pool_p_ = counts[pooled] / max(counts[pooled].sum(), 1)
        self.has_pool_ = len(pooled) > 0
        self.has_rare_ = len(rare) > 0
        self.has_missing_ = n_missing > 0
        self.rare_set_ = dictionary.take(pa.array(rare))
        self.rare_fill_ = self._rare_fill(dictionary, tokens_kept)
        tokens, _ = self.encode(array)
        freq = np.bincount(tokens, minlength=self._n_tokens_fitted())
        self.freq_ = freq / freq.sum()
        return self

    def _rare_fill(self, dictionary: pa.Array, kept: np.ndarray) -> pa.Array:
        """What the rare token decodes to: ``_RARE_`` for text, else the top category."""
        t = dictionary.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return pa.array([RARE_VALUE], type=t)
        if len(kept):
            return dictionary.take(pa.array(kept[:1]))
        return pa.nulls(1, type=t)

    def _n_tokens_fitted(self) -> int:
        return len(self.categories_) + self.has_pool_ + self.has_rare_ + self.has_missing_

    @property
    def pool_token(self) -> int:
        """The token shared by pooled categories (-1 when none)."""
        return len(self.categories_) if self.has_pool_ else -1

    @property
    def rare_token(self) -> int:
        """The token of protected categories (-1 when none)."""
        return len(self.categories_) + self.has_pool_ if self.has_rare_ else -1

    @property
    def missing_token(self) -> int:
        """The token of missing values (-1 when none)."""
        if not self.has_missing_:
            return -1
        return len(self.categories_) + self.has_pool_ + self.has_rare_

    def encode(self, array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens (-1 for a category never seen in training) and neutral positions."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if array.type != self.arrow_type:
            array = array.cast(self.arrow_type)
        n = len(array)
        tokens = np.full(n, -1, dtype=np.int64)
        if len(self.categories_):
            idx = pc.index_in(array, value_set=self.categories_)
            idx_np = np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False))
            tokens[idx_np >= 0] = idx_np[idx_np >= 0]
        for token, value_set in ((self.pool_token, self.pool_), (self.rare_token, self.rare_set_)):
            if token >= 0 and len(value_set):
                hit = np.asarray(pc.is_in(array, value_set=value_set).fill_null(False))
                tokens[hit] = token
        if self.has_missing_:
            tokens[np.asarray(array.is_null())] = self.missing_token
        return tokens, np.full(n, 0.5)

    def features(self, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Tokens as floats (NaN for a category never seen)."""
        tokens, _ = self.encode(array)
        return np.where(tokens >= 0, tokens, np.nan).astype(np.float64)

    def decode(
        self, tokens: np.ndarray, position: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[pa.Array, np.ndarray]:
        """Kept categories as themselves, pooled by frequency, rare as the fill, missing null."""
        tokens = np.asarray(tokens, dtype=np.int64)
        n_kept = len(self.categories_)
        parts = [self.categories_]
        idx = tokens.copy()
        offset = n_kept
        if self.has_pool_:
            is_pool = tokens == self.pool_token
            picks = rng.choice(len(self.pool_), size=int(is_pool.sum()), p=self.pool_p_)
            idx[is_pool] = offset + picks
            parts.append(self.pool_)
            offset += len(self.pool_)
        if self.has_rare_:
            idx[tokens == self.rare_token] = offset
            parts.append(self.rare_fill_)
            offset += 1
        values = pa.concat_arrays([p.cast(self.arrow_type) for p in parts])
        mask = tokens == self.missing_token if self.has_missing_ else np.zeros(len(idx), bool)
        idx[mask] = 0
        take = pa.array(idx, mask=mask, type=pa.int64())
        out = values.take(take) if len(values) else pa.nulls(len(idx), type=self.arrow_type)
        return out, tokens.astype(np.float64)

    def value_tokens(self, value: Any) -> tuple[int, float, Any]:
        """Token of one condition value (ContractError if it was never seen)."""
        tokens, _ = self.encode(pa.array([value], type=self.arrow_type))
        if tokens[0] < 0:
            raise ContractError(f"condition value {value!r} never occurs in the training data")
        return int(tokens[0]), 0.5, value

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Metadata and arrays (categories as Arrow IPC bytes)."""
        meta = {
            "kind": self.kind,
            "has_pool": self.has_pool_,
            "has_rare": self.has_rare_,
            "has_missing": self.has_missing_,
        }
        arrays = {
            "categories": arrow_to_bytes(self.categories_),
            "pool": arrow_to_bytes(self.pool_),
            "pool_p": self.pool_p_,
            "rare_set": arrow_to_bytes(self.rare_set_),
            "rare_fill": arrow_to_bytes(self.rare_fill_),
            "freq": self.freq_,
        }
        return meta, arrays

    @classmethod
    def restore(
        cls, arrow_type: pa.DataType, meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> CategoricalCodec:
        """Rebuild from :meth:`state`."""
        codec = cls(arrow_type)
        codec.has_pool_ = bool(meta["has_pool"])
        codec.has_rare_ = bool(meta["has_rare"])
        codec.has_missing_ = bool(meta["has_missing"])
        codec.categories_ = arrow_from_bytes(arrays["categories"])
        codec.pool_ = arrow_from_bytes(arrays["pool"])
        codec.pool_p_ = arrays["pool_p"]
        codec.rare_set_ = arrow_from_bytes(arrays["rare_set"])
        codec.rare_fill_ = arrow_from_bytes(arrays["rare_fill"])
        codec.freq_ = arrays["freq"]
        return codec


def fit_codec(
    array: pa.Array | pa.ChunkedArray,
    kind: str,
    *,
    n_bins: int,
    min_count: int,
    max_tokens: int,
    atom_share: float,
) -> NumericCodec | CategoricalCodec:
    """The codec for a column of ``kind`` (numeric and datetime are numeric codecs)."""
    arrow_type = array.type
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if kind in ("numeric", "datetime"):
        return NumericCodec(arrow_type).fit(
            array, n_bins=n_bins, min_count=min_count, atom_share=atom_share
        )
    return CategoricalCodec(arrow_type).fit(array, min_count=min_count, max_tokens=max_tokens)


def codec_from_state(
    arrow_type: pa.DataType, meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> NumericCodec | CategoricalCodec:
    """Rebuild a codec saved with ``state()``."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if meta["kind"] == "numeric":
        return NumericCodec.restore(arrow_type, meta, arrays)
    return CategoricalCodec.restore(arrow_type, meta, arrays)


def to_field(array: pa.Array, field: pa.Field) -> pa.Array:
    """A decoded column in its schema field's type (dictionary columns re-encoded)."""
    if array.type == field.type:
        return array
    if pa.types.is_dictionary(field.type):
        return array.cast(field.type.value_type).dictionary_encode().cast(field.type)
    return array.cast(field.type)
