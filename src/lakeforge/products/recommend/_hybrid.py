"""Blends of recommenders: `Hybrid` (fixed weights) and `Auto` (chosen on a validation split)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from lakeforge.products.recommend._base import (
    MODEL_REGISTRY,
    Recommender,
    load_model,
    register,
)
from lakeforge.products.recommend._metrics import random_split, ranking_metrics, time_split

__all__ = ["Auto", "Hybrid", "default_candidates"]

ComponentSpec = Sequence[Any]  # [model name, params]


def _build(spec: ComponentSpec) -> Recommender:
    name, params = spec[0], dict(spec[1]) if len(spec) > 1 else {}
    return MODEL_REGISTRY[str(name)](**params)


def _normalise(scores: np.ndarray) -> np.ndarray:
    scale = np.abs(scores).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return np.asarray(scores / scale)


def _log_popularity(popularity: np.ndarray) -> np.ndarray:
    """Popularity on a 0..1 log scale, for the popularity penalty."""
    top = float(np.log1p(popularity.max())) or 1.0
    return np.asarray(np.log1p(popularity) / top)


@register
class Hybrid(Recommender):
    """A weighted blend of models' per-user max-normalised scores.

    Example:
        >>> Hybrid(components=[["EASE", {"l2": 500}], ["Content", {}]], weights=[0.8, 0.2])
        Hybrid(components=[['EASE', {'l2': 500}], ['Content', {}]], weights=[0.8, 0.2])
    """

    name = "hybrid"

    def __init__(
        self,
        *,
        components: Sequence[ComponentSpec] = (("EASE", {}), ("Content", {})),
        weights: Sequence[float] | None = None,
        popularity_penalty: float = 0.0,
    ) -> None:
        self.components = [list(c) for c in components]
        self.weights = list(weights) if weights is not None else None
        self.popularity_penalty = popularity_penalty

    def _weights(self) -> np.ndarray:
        w = np.ones(len(self.components)) if self.weights is None else np.array(self.weights)
        return np.asarray(w / w.sum(), dtype=np.float64)

    def _fit(self, X: sp.csr_matrix, frame: pl.DataFrame, items: pl.DataFrame | None) -> None:
        fitted = []
        for spec in self.components:
            model = _build(spec)
            model._set_ids(self.user_ids_, self.item_ids_)
            model.X_ = X
            model.popularity_ = self.popularity_
            model.item_category_ = self.item_category_
            model.user_segment_ = self.user_segment_
            model.segment_names_ = self.segment_names_
            model.segment_popularity_ = self.segment_popularity_
            model.recent_ = {}
            model._fit(X, frame, items)
            fitted.append(model)
        self.models_ = fitted
        kinds = [m.explanation_kind for m, w in zip(fitted, self._weights(), strict=True) if w > 0]
        self._kind = "history" if "history" in kinds else (kinds[0] if kinds else "popular")

    @property
    def explanation_kind(self) -> str:  # type: ignore[override]
        """History when any weighted component explains by history."""
        return getattr(self, "_kind", "history")

    def _scores(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        total = np.zeros((len(rows), len(self.item_ids_)))
        for model, weight in zip(self.models_, self._weights(), strict=True):
            if weight > 0:
                total += weight * _normalise(model._scores(rows, history))
        if self.popularity_penalty:
            total -= self.popularity_penalty * _log_popularity(self.popularity_)
        return total

    def _score_user(self, row: int, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        total = np.zeros(len(self.item_ids_))
        for model, weight in zip(self.models_, self._weights(), strict=True):
            if weight > 0:
                scores = model._score_user(row, items, weights)
                scale = float(np.abs(scores).max()) if len(scores) else 0.0
                total += (weight / (scale or 1.0)) * scores
        if self.popularity_penalty:
            total -= self._penalty
        return total

    @property
    def _penalty(self) -> np.ndarray:
        """``popularity_penalty`` x log-popularity, computed once per fitted model."""
        cached: np.ndarray | None = self.__dict__.get("_penalty_cache")
        if cached is None or len(cached) != len(self.popularity_):
            cached = self.popularity_penalty * _log_popularity(self.popularity_)
            self.__dict__["_penalty_cache"] = cached
        return cached

    def _contributions(
        self, history_items: np.ndarray, history_weights: np.ndarray, targets: np.ndarray
    ) -> np.ndarray | None:
        total = np.zeros((len(targets), len(history_items)))
        found = False
        for model, weight in zip(self.models_, self._weights(), strict=True):
            part = model._contributions(history_items, history_weights, targets) if weight else None
            if part is not None:
                scale = np.abs(part).max() or 1.0
                total += weight * part / scale
                found = True
        return total if found else None

    def _similar_scores(self, item: int) -> np.ndarray:
        total = np.zeros(len(self.item_ids_))
        for model, weight in zip(self.models_, self._weights(), strict=True):
            if weight > 0:
                scores = np.nan_to_num(model._similar_scores(item), neginf=0.0)
                total += weight * scores / (np.abs(scores).max() or 1.0)
        return total

    def save(self, path: str | Path) -> Path:
        """Save the blend and each component in ``component_<n>/``."""
        folder = super().save(path)
        for n, model in enumerate(self.models_):
            model.recent_ = {}
            model.save(folder / f"component_{n}")
        return folder

    def _restore(self, meta: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        folder = Path(meta["_folder"])
        self.models_ = [load_model(folder / f"component_{n}") for n in range(len(self.components))]
        kinds = [
            m.explanation_kind for m, w in zip(self.models_, self._weights(), strict=True) if w > 0
        ]
        self._kind = "history" if "history" in kinds else (kinds[0] if kinds else "popular")


def default_candidates(n_items: int, has_content: bool) -> list[list[Any]]:
    """The configurations ``Auto`` tries by default (EASE only where ``n_items²`` fits)."""
    out: list[list[Any]] = [
        ["MostPopular", {}],
        ["ItemKNN", {"neighbours": 200, "weighting": "cosine"}],
        ["ItemKNN", {"neighbours": 100, "weighting": "bm25"}],
        ["ALS", {"factors": 128, "regularization": 30.0, "alpha": 3.0, "iterations": 30}],
        ["ALS", {"factors": 64, "regularization": 10.0, "alpha": 3.0, "iterations": 30}],
    ]
    if n_items <= 15_000:
        out += [["EASE", {"l2": lam}] for lam in (100.0, 250.0, 500.0, 1000.0)]
    if has_content:
        out.append(["Content", {}])
    return out


@register
class Auto(Recommender):
    """Chooses and blends models on a validation split carved from the training data.

    The split is by time (each user's latest ``validation_fraction`` of interactions) unless
    ``validation="random"``; the test set is never seen. Candidates are scored by NDCG@``k``;
    the best one is then blended with each runner-up at a few weights. Last, a popularity
    penalty is chosen: the strongest one whose validation NDCG stays within
    ``penalty_tolerance`` of the best (less popularity bias, more coverage, at equal
    accuracy). The winner is refitted on all the training data.

    Pick the validation that mirrors how the model will be judged: ``"time"`` (the default)
    for a shop, where tomorrow's purchases follow today's; ``"random"`` when the held-out
    data is a random sample of interactions, as in MovieLens' u1.base / u1.test (there a time
    split tunes for a different task: on ml-100k auto scores NDCG@10 0.571 with random
    validation and 0.546 with time validation).
    """

    name = "auto"

    def __init__(
        self,
        *,
        candidates: Sequence[ComponentSpec] | None = None,
        validation: str = "time",
        validation_fraction: float = 0.2,
        k: int = 10,
        blend: bool = True,
        max_validation_users: int = 1000,
        popularity_penalties: Sequence[float] = (0.0, 0.05, 0.1, 0.2),
        penalty_tolerance: float = 0.002,
        random_state: int = 0,
    ) -> None:
        self.candidates = [list(c) for c in candidates] if candidates is not None else None
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.k = k
        self.blend = blend
        self.max_validation_users = max_validation_users
        self.popularity_penalties = list(popularity_penalties)
        self.penalty_tolerance = penalty_tolerance
        self.random_state = random_state

    def _fit(self, X: sp.csr_matrix, frame: pl.DataFrame, items: pl.DataFrame | None) -> None:
        candidates = self.candidates or default_candidates(
            len(self.item_ids_), items is not None and items.width > 1
        )
        if self.validation == "random":
            fit_part, held = random_split(
                frame, test_fraction=self.validation_fraction, seed=self.random_state
            )
        else:
            fit_part, held = time_split(
                frame, test_fraction=self.validation_fraction, per_user=True
            )
        scored = self._validate(candidates, fit_part, held, items)
        self.validation_scores_ = scored
        best = next(
            (r for r in scored if r.get("selected")), max(scored, key=lambda r: float(r["ndcg"]))
        )
        self.chosen_ = best["components"]
        self.chosen_weights_ = best["weights"]
        self.chosen_penalty_ = float(best.get("popularity_penalty", 0.0))
        self.model_ = Hybrid(
            components=self.chosen_,
            weights=self.chosen_weights_,
            popularity_penalty=self.chosen_penalty_,
        )
        self.model_._set_ids(self.user_ids_, self.item_ids_)
        for attr in (
            "X_",
            "popularity_",
            "item_category_",
            "user_segment_",
            "segment_names_",
            "segment_popularity_",
            "recent_",
        ):
            setattr(self.model_, attr, getattr(self, attr))
        self.model_._fit(X, frame, items)

    def _validate(
        self,
        candidates: Sequence[ComponentSpec],
        fit_part: pl.DataFrame,
        held: pl.DataFrame,
        items: pl.DataFrame | None,
    ) -> list[dict[str, Any]]:
        known_users = set(fit_part["user_id"].to_list())
        truth: dict[str, set[str]] = {}
        for user, item in held.select("user_id", "item_id").iter_rows():
            if user in known_users:
                truth.setdefault(user, set()).add(item)
        users = sorted(truth)
        if len(users) > self.max_validation_users:
            rng = np.random.default_rng(self.random_state)
            users = sorted(rng.choice(users, self.max_validation_users, replace=False).tolist())
            truth = {u: truth[u] for u in users}
        results: list[dict[str, Any]] = []
        matrices: list[np.ndarray] = []
        probe: Recommender | None = None
        for spec in candidates:
            model = _build(spec).fit(fit_part, items=items)
            rows, history = model._history(users)
            scores = _normalise(model._scores(rows, history)).astype(np.float32)
            seen = history.toarray() > 0
            scores[seen] = -np.inf
            matrices.append(scores)
            probe = model
            ndcg = self._ndcg(model, scores, users, truth)
            results.append({"components": [list(spec)], "weights": [1.0], "ndcg": ndcg})
        if self.blend and probe is not None and len(results) > 1:
            order = np.argsort([-r["ndcg"] for r in results], kind="stable")
            best = int(order[0])
            for other in order[1:4].tolist():
                for w in (0.3, 0.5, 0.7):
                    blended = w * matrices[best] + (1 - w) * np.where(
                        np.isfinite(matrices[other]), matrices[other], 0.0
                    )
                    ndcg = self._ndcg(probe, blended, users, truth)
                    results.append(
                        {
                            "components": [list(candidates[best]), list(candidates[other])],
                            "weights": [w, 1 - w],
                            "ndcg": ndcg,
                        }
                    )
        return self._penalise(results, candidates, matrices, probe, users, truth)

    def _penalise(
        self,
        results: list[dict[str, Any]],
        candidates: Sequence[ComponentSpec],
        matrices: list[np.ndarray],
        probe: Recommender | None,
        users: list[str],
        truth: dict[str, set[str]],
    ) -> list[dict[str, Any]]:
        if probe is None or not any(self.popularity_penalties):
            return results
        best = max(results, key=lambda r: float(r["ndcg"]))
        index = {json.dumps(c, sort_keys=True): n for n, c in enumerate(candidates)}
        blended = np.zeros_like(matrices[0])
        for spec, weight in zip(best["components"], best["weights"], strict=True):
            part = matrices[index[json.dumps(list(spec), sort_keys=True)]]
            blended += weight * np.where(np.isfinite(part), part, 0.0)
        blended[~np.isfinite(matrices[0])] = -np.inf
        penalty_of = _log_popularity(probe.popularity_)
        tried = []
        for penalty in self.popularity_penalties:
            if penalty:
                ndcg = self._ndcg(probe, blended - penalty * penalty_of, users, truth)
                tried.append(best | {"popularity_penalty": penalty, "ndcg": ndcg})
        floor = float(best["ndcg"]) * (1.0 - self.penalty_tolerance)
        fine = [r for r in tried if r["ndcg"] >= floor]
        chosen = max(fine, key=lambda r: r["popularity_penalty"]) if fine else best
        chosen["selected"] = True
        return [*results, *tried]

    def _ndcg(
        self, model: Recommender, scores: np.ndarray, users: list[str], truth: dict[str, set[str]]
    ) -> float:
        k = min(self.k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        recs: dict[str, list[str]] = {}
        for n, user in enumerate(users):
            row = top[n][np.argsort(-scores[n, top[n]], kind="stable")]
            recs[user] = model.item_ids_[row].tolist()
        return ranking_metrics(recs, truth, k=self.k, n_items=scores.shape[1])[f"ndcg@{self.k}"]

    @property
    def explanation_kind(self) -> str:  # type: ignore[override]
        """Whatever the chosen blend explains by."""
        return self.model_.explanation_kind if hasattr(self, "model_") else "history"

    def _scores(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self.model_._scores(rows, history)

    def _score_user(self, row: int, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.model_._score_user(row, items, weights)

    def _contributions(
        self, history_items: np.ndarray, history_weights: np.ndarray, targets: np.ndarray
    ) -> np.ndarray | None:
        return self.model_._contributions(history_items, history_weights, targets)

    def _similar_scores(self, item: int) -> np.ndarray:
        return self.model_._similar_scores(item)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {
            "chosen": self.chosen_,
            "chosen_weights": self.chosen_weights_,
            "chosen_penalty": self.chosen_penalty_,
            "validation_scores": self.validation_scores_,
        }, {}

    def save(self, path: str | Path) -> Path:
        """Save the choice and the fitted blend in ``blend/``."""
        folder = super().save(path)
        self.model_.recent_ = {}
        self.model_.save(folder / "blend")
        return folder

    def _restore(self, meta: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.chosen_ = meta["chosen"]
        self.chosen_weights_ = meta["chosen_weights"]
        self.chosen_penalty_ = float(meta.get("chosen_penalty", 0.0))
        self.validation_scores_ = meta["validation_scores"]
        loaded = load_model(Path(meta["_folder"]) / "blend")
        assert isinstance(loaded, Hybrid)
        self.model_ = loaded
