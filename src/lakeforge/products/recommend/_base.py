"""The recommender base: id maps, history, business rules, explanations and persistence.

Every model scores items from a user's history row (``_scores``); the base owns what is the
same for all of them (template method): validation, cold start, rules, top-K and save/load.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import scipy.sparse as sp

from lakeforge._artefacts import warn_if_other_version
from lakeforge._version import __version__
from lakeforge.errors import ContractError, NotFittedError
from lakeforge.products.recommend._frames import as_interactions, as_items, as_users, to_polars

__all__ = ["MODEL_REGISTRY", "BusinessRules", "Recommender", "load_model"]

MODEL_REGISTRY: dict[str, type[Recommender]] = {}
_BATCH = 256
_PER_USER = 4  # chunks up to this size take the one-user serving path
_TIEBREAK = 1e-6
_EMPTY = np.zeros(0)
_COMPRESS_BELOW = 64 * 2**20  # bytes of arrays


@dataclass(frozen=True)
class BusinessRules:
    """Business rules and user control applied after scoring.

    Attributes:
        in_stock: only these item ids may be recommended (None: every item).
        max_per_category: at most this many items of one category in a top-K (diversity cap).
        pinned: item ids placed first (in this order) when the user may get them.
        boost: item id -> multiplier applied to its (shifted, positive) score.
        excluded_categories: user id -> categories that user is not interested in.
    """

    in_stock: Collection[str] | None = None
    max_per_category: int | None = None
    pinned: Sequence[str] = ()
    boost: Mapping[str, float] = field(default_factory=dict)
    excluded_categories: Mapping[str, Collection[str]] = field(default_factory=dict)

    @classmethod
    def from_inventory(
        cls,
        inventory: Any,
        *,
        item_col: str = "product_id",
        stock_col: str | None = None,
        date_col: str = "date",
        **rules: Any,
    ) -> BusinessRules:
        """Rules that allow only items with stock on hand in an inventory table.

        Stock is summed over locations (stores) on the table's latest ``date_col`` when it has
        one; items the table does not list are not recommended. ``stock_col`` defaults to the
        first of ``on_hand_close``, ``on_hand``, ``stock``, ``quantity`` present. Any other
        rule can be given as a keyword (``max_per_category=2``, ...).

        Example:
            >>> rules = BusinessRules.from_inventory(ws.table("inventory").read())  # doctest: +SKIP
        """
        frame = to_polars(inventory)
        if stock_col is None:
            stock_col = next(
                (
                    c
                    for c in ("on_hand_close", "on_hand", "stock", "quantity")
                    if c in frame.columns
                ),
                None,
            )
        missing = [c for c in (item_col, stock_col) if c is None or c not in frame.columns]
        if missing:
            raise ContractError(
                f"the inventory table needs `{item_col}` and a stock column "
                f"(columns: {', '.join(frame.columns)}); pass item_col / stock_col"
            )
        assert stock_col is not None
        if date_col in frame.columns:
            frame = frame.filter(pl.col(date_col) == pl.col(date_col).max())
        stocked = (
            frame.group_by(pl.col(item_col).cast(pl.String))
            .agg(pl.col(stock_col).sum())
            .filter(pl.col(stock_col) > 0)[item_col]
            .to_list()
        )
        return cls(in_stock=frozenset(stocked), **rules)


def _register(cls: type[Recommender]) -> type[Recommender]:
    MODEL_REGISTRY[cls.__name__] = cls
    return cls


class Recommender:
    """Base of every recommender (estimator contract: ``fit`` returns ``self``).

    Subclasses implement ``_fit(X)`` over the user x item matrix and ``_scores``; models whose
    score is a sum over the user's items implement ``_contributions`` for exact explanations.
    """

    name: ClassVar[str] = "recommender"
    explanation_kind: ClassVar[str] = "history"
    uses_history: ClassVar[bool] = True

    # -- contract ----------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (scikit-learn style)."""
        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self" and p.kind is p.KEYWORD_ONLY
        ]
        return {n: getattr(self, n) for n in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` has run."""
        return hasattr(self, "item_ids_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(interactions) first"
            )

    def fit(self, interactions: Any, items: Any = None, users: Any = None) -> Recommender:
        """Learn from ``user_id, item_id, ts[, weight]`` interactions; returns ``self``.

        Args:
            interactions: a polars/pandas frame or pyarrow table of interactions.
            items: optional item metadata (``item_id`` plus e.g. category, brand, name, text);
                items listed here but never interacted with can still be recommended by
                content-aware models.
            users: optional user attributes (``user_id`` and ``segment``) for cold start.
        """
        frame = as_interactions(interactions)
        if frame.height == 0:
            raise ContractError("cannot fit a recommender on zero interactions")
        items_frame = as_items(items) if items is not None else None
        users_frame = as_users(users) if users is not None else None
        item_ids = frame["item_id"].unique(maintain_order=False).sort()
        if items_frame is not None:
            item_ids = pl.concat([item_ids, items_frame["item_id"]]).unique().sort()
        user_ids = frame["user_id"].unique().sort()
        self._set_ids(user_ids.to_numpy().astype(str), item_ids.to_numpy().astype(str))
        rows = np.array([self.user_index_[u] for u in frame["user_id"].to_list()], dtype=np.int64)
        cols = np.array([self.item_index_[i] for i in frame["item_id"].to_list()], dtype=np.int64)
        weights = frame["weight"].to_numpy().astype(np.float64)
        matrix = sp.csr_matrix(
            (weights, (rows, cols)), shape=(len(self.user_ids_), len(self.item_ids_))
        )
        matrix.sum_duplicates()
        self.X_ = matrix
        binary = (matrix > 0).astype(np.float64)
        self.popularity_ = np.asarray(binary.sum(axis=0)).ravel()
        self.item_category_ = self._item_categories(items_frame)
        self._fit_segments(users_frame, binary)
        self.recent_: dict[str, dict[int, float]] = {}
        self._fit(matrix, frame, items_frame)
        return self

    def _set_ids(self, user_ids: np.ndarray, item_ids: np.ndarray) -> None:
        for cache in [name for name in vars(self) if name.endswith("_cache")]:
            del self.__dict__[cache]  # serving caches of a previous fit
        self.user_ids_ = user_ids
        self.item_ids_ = item_ids
        self.user_index_ = {u: n for n, u in enumerate(user_ids.tolist())}
        self.item_index_ = {i: n for n, i in enumerate(item_ids.tolist())}

    def _item_categories(self, items: pl.DataFrame | None) -> np.ndarray:
        out = np.array([""] * len(self.item_ids_), dtype=object)
        if items is not None and "category" in items.columns:
            for item, cat in zip(
                items["item_id"].to_list(), items["category"].cast(pl.String).to_list(), strict=True
            ):
                out[self.item_index_[item]] = cat or ""
        return out.astype(str)

    def _fit_segments(self, users: pl.DataFrame | None, binary: sp.csr_matrix) -> None:
        self.user_segment_: dict[str, str] = {}
        self.segment_names_ = np.array([], dtype=str)
        self.segment_popularity_ = np.zeros((0, len(self.item_ids_)))
        if users is None or "segment" not in users.columns:
            return
        self.user_segment_ = {
            u: str(s)
            for u, s in zip(users["user_id"].to_list(), users["segment"].to_list(), strict=True)
            if s is not None
        }
        names = sorted(set(self.user_segment_.values()))
        self.segment_names_ = np.array(names, dtype=str)
        seg_of_row = np.array(
            [
                names.index(self.user_segment_[u]) if u in self.user_segment_ else -1
                for u in self.user_ids_.tolist()
            ]
        )
        pops = np.zeros((len(names), len(self.item_ids_)))
        for s in range(len(names)):
            members = np.flatnonzero(seg_of_row == s)
            if len(members):
                pops[s] = np.asarray(binary[members].sum(axis=0)).ravel()
        self.segment_popularity_ = pops

    # -- subclass hooks ----------------------------------------------------------------------
    def _fit(self, X: sp.csr_matrix, frame: pl.DataFrame, items: pl.DataFrame | None) -> None:
        raise NotImplementedError

    def _scores(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores (len(rows), n_items); ``rows`` is the training row or -1."""
        raise NotImplementedError

    def _contributions(
        self, history_items: np.ndarray, history_weights: np.ndarray, targets: np.ndarray
    ) -> np.ndarray | None:
        """Per-history-item contributions to each target's score (targets x history)."""
        return None

    def _similar_scores(self, item: int) -> np.ndarray:
        """Scores of every item as similar to ``item``."""
        raise NotImplementedError

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Subclass JSON metadata and arrays to persist."""
        return {}, {}

    def _restore(self, meta: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Inverse of ``_state``."""

    # -- history and events ------------------------------------------------------------------
    def add_event(self, user_id: str, item_id: str, weight: float = 1.0) -> None:
        """Record a new interaction; the user's next answer uses it (no refit needed)."""
        self._check_fitted()
        item = self.item_index_.get(str(item_id))
        if item is None:
            return
        recent = self.recent_.setdefault(str(user_id), {})
        recent[item] = recent.get(item, 0.0) + float(weight)

    def _user_history(self, user: str) -> tuple[int, np.ndarray, np.ndarray]:
        """One user's training row (-1 when unknown or changed by new events), items, weights."""
        row = self.user_index_.get(user, -1)
        indptr, indices, data = self.X_.indptr, self.X_.indices, self.X_.data
        if row >= 0:
            lo, hi = indptr[row], indptr[row + 1]
            cols, vals = indices[lo:hi], data[lo:hi]
        else:
            cols, vals = indices[:0], data[:0]
        recent = self.recent_.get(user)
        if recent:
            merged = dict(zip(cols.tolist(), vals.tolist(), strict=True))
            for item, weight in recent.items():
                merged[item] = merged.get(item, 0.0) + weight
            order = sorted(i for i, w in merged.items() if w != 0)
            cols = np.array(order, dtype=indices.dtype)
            vals = np.array([merged[i] for i in order], dtype=data.dtype)
            row = -1
        return row, cols, vals

    def _history(self, user_ids: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix]:
        """Each user's history row (training plus new events); row -1 when it changed."""
        parts = [self._user_history(u) for u in user_ids]
        rows = np.array([p[0] for p in parts], dtype=np.int64)
        offsets = np.zeros(len(parts) + 1, dtype=self.X_.indptr.dtype)
        np.cumsum([len(p[1]) for p in parts], out=offsets[1:])
        history = sp.csr_matrix(
            (
                np.concatenate([p[2] for p in parts]) if parts else self.X_.data[:0],
                np.concatenate([p[1] for p in parts]) if parts else self.X_.indices[:0],
                offsets,
            ),
            shape=(len(user_ids), len(self.item_ids_)),
        )
        history.eliminate_zeros()
        return rows, history

    def _score_user(self, row: int, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Scores of every item for one user (the serving path; models override it for speed)."""
        history = sp.csr_matrix(
            (weights, items, np.array([0, len(items)])), shape=(1, len(self.item_ids_))
        )
        return np.asarray(self._scores(np.array([row]), history)[0], dtype=np.float64)

    @property
    def _item_list(self) -> list[str]:
        cached: list[str] | None = self.__dict__.get("_item_list_cache")
        if cached is None or len(cached) != len(self.item_ids_):
            cached = [str(i) for i in self.item_ids_.tolist()]
            self.__dict__["_item_list_cache"] = cached
        return cached

    @property
    def _tiebreak(self) -> np.ndarray:
        """A tiny popularity term that orders otherwise equal scores (popular first)."""
        cached: np.ndarray | None = self.__dict__.get("_tiebreak_cache")
        if cached is None or len(cached) != len(self.popularity_):
            top = float(self.popularity_.max()) if len(self.popularity_) else 0.0
            cached = _TIEBREAK * np.asarray(self.popularity_, dtype=np.float64) / (top or 1.0)
            self.__dict__["_tiebreak_cache"] = cached
        return cached

    def _popular_scores(self, user_id: str) -> tuple[np.ndarray, str]:
        segment = self.user_segment_.get(user_id)
        if segment is not None and len(self.segment_names_):
            where = np.flatnonzero(self.segment_names_ == segment)
            if len(where) and self.segment_popularity_[where[0]].sum() > 0:
                pops = self.segment_popularity_[where[0]]
                return pops + _TIEBREAK * self.popularity_, "popular_segment"
        return self.popularity_.astype(np.float64).copy(), "popular"

    # -- answers -----------------------------------------------------------------------------
    def recommend(
        self,
        user_ids: str | Iterable[str],
        k: int = 10,
        exclude_seen: bool = True,
        explain: bool = False,
        rules: BusinessRules | None = None,
    ) -> pl.DataFrame:
        """Top-``k`` items per user as ``user_id, item_id, rank, score`` (+ why, if asked).

        Users without history get what is popular in their segment (or overall). With
        ``explain=True`` three columns say why: ``reason`` (history, content, popular_segment,
        popular or pinned), ``because`` (the user's items that contributed most) and
        ``explanation`` (a sentence).
        """
        users = [str(user_ids)] if isinstance(user_ids, str) else [str(u) for u in user_ids]
        out = self.recommend_columns(users, k, exclude_seen, explain, rules)
        schema: dict[str, Any] = {
            "user_id": pl.String,
            "item_id": pl.String,
            "rank": pl.Int32,
            "score": pl.Float64,
        }
        if explain:
            schema |= {"reason": pl.String, "because": pl.List(pl.String), "explanation": pl.String}
        return pl.DataFrame(out, schema=schema)

    def recommend_columns(
        self,
        users: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        explain: bool = False,
        rules: BusinessRules | None = None,
    ) -> dict[str, list[Any]]:
        """What :meth:`recommend` returns, as plain column lists (the serving fast path)."""
        self._check_fitted()
        if isinstance(users, str):
            users = [users]
        rules = rules or BusinessRules()
        static_mask = self._static_mask(rules)
        out: dict[str, list[Any]] = {"user_id": [], "item_id": [], "rank": [], "score": []}
        if explain:
            out |= {"reason": [], "because": [], "explanation": []}
        items_of = self._item_list
        for start in range(0, len(users), _BATCH):
            chunk = users[start : start + _BATCH]
            for user, row_scores, seen, weights in self._chunk_scores(chunk):
                if len(seen) and self.uses_history:
                    row_scores = row_scores + self._tiebreak
                    reason = self.explanation_kind
                else:
                    row_scores, reason = self._popular_scores(user)
                picked, picked_scores, pinned = self._select(
                    user, row_scores, seen if exclude_seen else None, k, rules, static_mask
                )
                contributions = (
                    self._contributions(seen, weights, picked)
                    if explain and reason == self.explanation_kind and len(seen) and len(picked)
                    else None
                )
                picked_list = picked.tolist()
                out["user_id"].extend([user] * len(picked_list))
                out["item_id"].extend([items_of[i] for i in picked_list])
                out["rank"].extend(range(1, len(picked_list) + 1))
                out["score"].extend(picked_scores.tolist())
                if explain:
                    self._explain_into(out, reason, picked_list, pinned, seen, contributions)
        return out

    def _chunk_scores(
        self, chunk: Sequence[str]
    ) -> Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """``(user, scores, history items, history weights)`` for each user of a chunk.

        A few users (the serving path) are scored one by one through ``_score_user``, which
        skips building sparse matrices; larger chunks go through the batched ``_scores``.
        """
        if len(chunk) <= _PER_USER:
            for user in chunk:
                row, items, weights = self._user_history(user)
                scores = (
                    self._score_user(row, items, weights)
                    if len(items) and self.uses_history
                    else _EMPTY
                )
                yield user, scores, items, weights
            return
        rows, history = self._history(chunk)
        has_history = (np.diff(history.indptr) > 0) & self.uses_history
        batch: np.ndarray | None = self._scores(rows, history) if has_history.any() else None
        for n, user in enumerate(chunk):
            lo, hi = history.indptr[n], history.indptr[n + 1]
            row_scores = (
                np.asarray(batch[n], dtype=np.float64)
                if batch is not None and has_history[n]
                else _EMPTY
            )
            yield user, row_scores, history.indices[lo:hi], history.data[lo:hi]

    def _explain_into(
        self,
        out: dict[str, list[Any]],
        reason: str,
        picked: list[int],
        pinned: set[int],
        seen: np.ndarray,
        contributions: np.ndarray | None,
    ) -> None:
        items_of = self._item_list
        seen_list = seen.tolist()
        tops: list[list[int]] = []
        values: list[list[float]] = []
        if contributions is not None:
            order = np.argsort(-contributions, axis=1, kind="stable")[:, :2]
            tops = order.tolist()
            values = contributions[np.arange(len(order))[:, None], order].tolist()
        for rank, item in enumerate(picked):
            why, because = reason, []
            if item in pinned:
                why = "pinned"
            elif contributions is not None:
                because = [
                    items_of[seen_list[t]]
                    for t, v in zip(tops[rank], values[rank], strict=True)
                    if v > 0
                ]
                if not because:
                    why = "popular"
            out["reason"].append(why)
            out["because"].append(because)
            out["explanation"].append(self._sentence(why, because))

    @staticmethod
    def _sentence(reason: str, because: list[str]) -> str:
        if reason == "history" and because:
            return "because you bought " + " and ".join(because)
        if reason == "content" and because:
            return "similar to " + " and ".join(because) + " (content match)"
        if reason == "popular_segment":
            return "popular in your segment"
        if reason == "pinned":
            return "featured"
        return "popular with customers"

    def _static_mask(self, rules: BusinessRules) -> np.ndarray | None:
        """Items every user may get under ``rules`` (None: all of them)."""
        if rules.in_stock is None:
            return None
        allowed = np.zeros(len(self.item_ids_), dtype=bool)
        for item in rules.in_stock:
            idx = self.item_index_.get(str(item))
            if idx is not None:
                allowed[idx] = True
        return allowed

    def _select(
        self,
        user: str,
        scores: np.ndarray,
        seen: np.ndarray | None,
        k: int,
        rules: BusinessRules,
        static_mask: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, set[int]]:
        if rules.boost:
            scores = scores - min(float(scores.min()), 0.0) + 1e-12
            for item, factor in rules.boost.items():
                idx = self.item_index_.get(str(item))
                if idx is not None:
                    scores[idx] *= factor
        masked = (
            np.where(static_mask, scores, -np.inf) if static_mask is not None else scores.copy()
        )
        if seen is not None:
            masked[seen] = -np.inf
        excluded = rules.excluded_categories.get(user)
        if excluded:
            masked[np.isin(self.item_category_, list(excluded))] = -np.inf
        pinned = [
            self.item_index_[p]
            for p in rules.pinned
            if p in self.item_index_ and np.isfinite(masked[self.item_index_[p]])
        ]
        n = len(masked)
        budget = min(n, max(4 * k + len(pinned), 64))
        candidates = np.argpartition(masked, n - budget)[n - budget :] if budget < n else None
        if candidates is None:
            candidates = np.arange(n)
        order = candidates[np.lexsort((candidates, -masked[candidates]))]
        chosen = self._diversify(pinned, order, masked, k, rules.max_per_category)
        if len(chosen) < k and budget < n:
            order = np.lexsort((np.arange(n), -masked))
            chosen = self._diversify(pinned, order, masked, k, rules.max_per_category)
        picked = np.array(chosen, dtype=np.int64)
        return picked, masked[picked] if len(picked) else np.zeros(0), set(pinned)

    def _diversify(
        self, pinned: list[int], order: np.ndarray, masked: np.ndarray, k: int, cap: int | None
    ) -> list[int]:
        if not pinned and cap is None:  # the common case: the best k that may be shown
            top = order[:k]
            return top[np.isfinite(masked[top])].tolist()  # type: ignore[no-any-return]
        chosen: list[int] = []
        taken: set[int] = set()
        per_category: dict[str, int] = {}
        candidates = [*pinned, *order.tolist()]
        values = masked[candidates].tolist()
        for item, value in zip(candidates, values, strict=True):
            if len(chosen) >= k:
                break
            if item in taken or not math.isfinite(value):
                continue
            if cap is not None:
                category = str(self.item_category_[item])
                if category and per_category.get(category, 0) >= cap:
                    continue
                per_category[category] = per_category.get(category, 0) + 1
            chosen.append(item)
            taken.add(item)
        return chosen

    def similar(self, item_id: str, k: int = 10) -> pl.DataFrame:
        """The ``k`` items most like ``item_id``: ``item_id, similar_item_id, rank, score``."""
        self._check_fitted()
        item = self.item_index_.get(str(item_id))
        if item is None:
            from lakeforge.errors import NotFoundError

            raise NotFoundError(f"item {item_id!r} is unknown to this model; refit with it")
        scores = np.asarray(self._similar_scores(item), dtype=np.float64).copy()
        scores[item] = -np.inf
        order = np.lexsort((np.arange(len(scores)), -scores))[:k]
        order = order[np.isfinite(scores[order])]
        return pl.DataFrame(
            {
                "item_id": [str(item_id)] * len(order),
                "similar_item_id": self.item_ids_[order].tolist(),
                "rank": list(range(1, len(order) + 1)),
                "score": scores[order].tolist(),
            },
            schema={
                "item_id": pl.String,
                "similar_item_id": pl.String,
                "rank": pl.Int32,
                "score": pl.Float64,
            },
        )

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save as ``model.json`` + ``arrays.npz`` in the folder ``path`` (no pickle)."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta, arrays = self._state()
        base_arrays = {
            "user_ids": self.user_ids_.astype(str),
            "item_ids": self.item_ids_.astype(str),
            "popularity": self.popularity_,
            "item_category": self.item_category_.astype(str),
            "segment_names": self.segment_names_.astype(str),
            "segment_popularity": self.segment_popularity_,
            "segment_users": np.array(list(self.user_segment_), dtype=str),
            "segment_of_user": np.array(list(self.user_segment_.values()), dtype=str),
            **_sparse_arrays("X", self.X_),
        }
        everything: dict[str, Any] = {**base_arrays, **{f"m_{k}": v for k, v in arrays.items()}}
        # Large dense state (EASE's n_items² weights) barely compresses and zlib would take
        # most of the save and load time, so only small models are compressed.
        large = sum(np.asarray(v).nbytes for v in everything.values()) > _COMPRESS_BELOW
        (np.savez if large else np.savez_compressed)(folder / "arrays.npz", **everything)
        doc = {
            "model": type(self).__name__,
            "params": self.get_params(),
            "lakeforge_version": __version__,
            "meta": meta,
            "recent": {u: {str(i): w for i, w in d.items()} for u, d in self.recent_.items()},
        }
        (folder / "model.json").write_text(json.dumps(doc, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Load a model saved with :meth:`save` (warns when the Lakeforge version differs)."""
        return load_model(path)


def _sparse_arrays(prefix: str, matrix: sp.spmatrix | sp.sparray) -> dict[str, np.ndarray]:
    csr = sp.csr_matrix(matrix)
    return {
        f"{prefix}_data": csr.data,
        f"{prefix}_indices": csr.indices,
        f"{prefix}_indptr": csr.indptr,
        f"{prefix}_shape": np.array(csr.shape),
    }


def sparse_from(arrays: Mapping[str, np.ndarray], prefix: str) -> sp.csr_matrix:
    """Rebuild a CSR matrix written by ``_sparse_arrays``."""
    shape = tuple(int(s) for s in arrays[f"{prefix}_shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=shape,
    )


def load_model(path: str | Path) -> Recommender:
    """Load any saved recommender from its folder."""
    folder = Path(path)
    doc = json.loads((folder / "model.json").read_text())
    warn_if_other_version(doc.get("lakeforge_version"), "model", folder, symptom="answers")
    cls = MODEL_REGISTRY[doc["model"]]
    model = cls(**doc["params"])
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    model._set_ids(arrays["user_ids"], arrays["item_ids"])
    model.X_ = sparse_from(arrays, "X")
    model.popularity_ = arrays["popularity"]
    model.item_category_ = arrays["item_category"]
    model.segment_names_ = arrays["segment_names"]
    model.segment_popularity_ = arrays["segment_popularity"]
    model.user_segment_ = dict(
        zip(arrays["segment_users"].tolist(), arrays["segment_of_user"].tolist(), strict=True)
    )
    model.recent_ = {
        u: {int(i): float(w) for i, w in d.items()} for u, d in doc.get("recent", {}).items()
    }
    model._restore(
        doc["meta"] | {"_folder": str(folder)},
        {k[2:]: v for k, v in arrays.items() if k.startswith("m_")},
    )
    return model


register = _register
