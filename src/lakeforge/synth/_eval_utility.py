"""Utility and detectability: models trained on synthetic rows, and a real-vs-synthetic judge.

* **utility** (train on synthetic, test on real, "TSTR"): a gradient-boosted model learns the
  ``target`` from the synthetic table and is scored on a real holdout, beside the same model
  learnt from the real training table (the ceiling): ROC AUC (and F1) for a binary target,
  accuracy and macro F1 for several classes, R^2 for a number.
* **discriminator**: a gradient-boosted classifier tries to tell real from synthetic rows;
  its cross-validated ROC AUC is 0.5 when it cannot, 1.0 when every row gives itself away.

LightGBM is used when installed (``lakeforge[synth]``), scikit-learn's
``HistGradientBoosting`` otherwise; both see categories natively (codes) and nulls as missing.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa

from lakeforge.errors import ContractError
from lakeforge.synth._base import ColumnKind
from lakeforge.synth._eval_fidelity import EncodedColumn, encode_frames
from lakeforge.synth._eval_privacy import roc_auc

__all__ = [
    "ModelName",
    "UtilityMeasures",
    "discriminator_auc",
    "measure_utility",
    "resolve_model",
]

P = ParamSpec("P")
R = TypeVar("R")
ModelName = Literal["auto", "lightgbm", "hist_gradient_boosting"]
_MAX_NATIVE_CATEGORIES = 250  # HistGradientBoosting's limit (max_bins); more become ordinal


@dataclass(frozen=True)
class UtilityMeasures:
    """One target's train-on-synthetic vs train-on-real scores on the real holdout."""

    target: str
    task: Literal["binary", "multiclass", "regression"]
    metric: str
    synthetic_score: float
    real_score: float
    model: str
    positive_label: str | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """How far the synthetic-trained model falls short of the real-trained one."""
        return self.real_score - self.synthetic_score


def resolve_model(model: ModelName) -> Literal["lightgbm", "hist_gradient_boosting"]:
    """The model library to use (``auto``: LightGBM if installed, else scikit-learn)."""
    have_lgb = importlib.util.find_spec("lightgbm") is not None
    have_sk = importlib.util.find_spec("sklearn") is not None
    if model == "auto":
        if have_lgb:
            return "lightgbm"
        model = "hist_gradient_boosting"
    if model == "lightgbm" and not have_lgb:
        raise ImportError("model='lightgbm' needs LightGBM: pip install 'lakeforge[synth]'")
    if model == "hist_gradient_boosting" and not have_sk:
        raise ImportError(
            "the utility and discriminator scores need LightGBM or scikit-learn: "
            "pip install 'lakeforge[synth]'"
        )
    return model


class _Features:
    """Feature matrices over shared codes: floats, categories as ``code - 1``, nulls NaN."""

    def __init__(self, columns: Sequence[EncodedColumn]) -> None:
        self.columns = list(columns)
        self.categorical = [
            i
            for i, c in enumerate(self.columns)
            if not c.continuous and len(c.labels) <= _MAX_NATIVE_CATEGORIES
        ]

    def matrix(self, part: int) -> np.ndarray:
        cols = []
        for c in self.columns:
            values = c.values[part].astype(np.float64)
            if not c.continuous:
                values = np.where(values == 0, np.nan, values - 1)
            cols.append(values)
        rows = self.columns[0].values[part].shape[0] if self.columns else 0
        return np.stack(cols, axis=1) if cols else np.zeros((rows, 0))


def _estimator(
    library: str, task: str, features: _Features, seed: int, trees: int
) -> tuple[Any, dict[str, Any]]:
    if library == "lightgbm":
        import lightgbm as lgb

        cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
        # one thread: deterministic, and faster than oversubscribing a busy machine
        est = cls(n_estimators=trees, random_state=seed, verbose=-1, n_jobs=1)
        return est, {"categorical_feature": features.categorical}
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    mask = np.zeros(len(features.columns), dtype=bool)
    mask[features.categorical] = True
    sk_cls = (
        HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    )
    est = sk_cls(
        max_iter=trees,
        random_state=seed,
        categorical_features=mask if mask.any() else None,
        early_stopping=False,
    )
    return est, {}


def _fit(est: Any, x: np.ndarray, y: np.ndarray, kwargs: dict[str, Any]) -> Any:
    return est.fit(x, y, **kwargs)


def _single_threaded(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with OpenMP limited to one thread (scikit-learn's HistGradientBoosting).

    One thread keeps scores deterministic and is faster than oversubscribing a shared
    machine; LightGBM gets ``n_jobs=1`` directly.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
            return func(*args, **kwargs)
        with threadpool_limits(limits=1, user_api="openmp"):
            return func(*args, **kwargs)

    return wrapper


@_single_threaded
def discriminator_auc(
    real: pa.Table | pl.DataFrame,
    synthetic: pa.Table | pl.DataFrame,
    kinds: Mapping[str, ColumnKind],
    *,
    model: ModelName = "auto",
    max_rows: int = 5_000,
    folds: int = 3,
    trees: int = 100,
    seed: int = 0,
) -> float:
    """Cross-validated ROC AUC of a classifier telling real rows from synthetic ones.

    Up to ``max_rows`` of each, stratified ``folds``; 0.5 means indistinguishable.
    """
    library = resolve_model(model)
    rng = np.random.default_rng(seed)
    columns = encode_frames([real, synthetic], kinds)
    features = _Features(columns)
    x_real, x_syn = features.matrix(0), features.matrix(1)
    n = min(max_rows, x_real.shape[0], x_syn.shape[0])
    if n < folds * 2:
        return float("nan")
    x = np.concatenate(
        [x_real[rng.permutation(x_real.shape[0])[:n]], x_syn[rng.permutation(x_syn.shape[0])[:n]]]
    )
    y = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    # stratified folds: each class split into `folds` parts at random
    fold = np.empty(2 * n, dtype=np.int64)
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        fold[idx[rng.permutation(n)]] = np.arange(n) % folds
    scores = np.empty(2 * n)
    for k in range(folds):
        test = fold == k
        est, kwargs = _estimator(library, "binary", features, seed + k, trees)
        _fit(est, x[~test], y[~test], kwargs)
        scores[test] = est.predict_proba(x[test])[:, 1]
    return roc_auc(y.astype(bool), scores)


def _f1(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> float:
    """Macro F1 over ``labels`` (binary: the F1 of label 1 when labels == [1])."""
    values = []
    for label in labels:
        tp = float(np.sum((y_pred == label) & (y_true == label)))
        fp = float(np.sum((y_pred == label) & (y_true != label)))
        fn = float(np.sum((y_pred != label) & (y_true == label)))
        values.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(values))


@_single_threaded
def measure_utility(
    train: pa.Table | pl.DataFrame,
    synthetic: pa.Table | pl.DataFrame,
    holdout: pa.Table | pl.DataFrame,
    kinds: Mapping[str, ColumnKind],
    target: str,
    *,
    positive_label: str | None = None,
    model: ModelName = "auto",
    trees: int = 200,
    seed: int = 0,
) -> UtilityMeasures:
    """Train on synthetic and on real rows, test both on the holdout, for ``target``."""
    if target not in kinds:
        raise ContractError(f"target {target!r} is not an evaluated column", column=target)
    library = resolve_model(model)
    columns = encode_frames([train, synthetic, holdout], kinds)
    target_col = next(c for c in columns if c.name == target)
    features = _Features([c for c in columns if c.name != target])
    if target_col.continuous:
        return _regression(target_col, features, library, trees, seed)
    present = np.unique(target_col.values[0][target_col.values[0] > 0])
    if present.size < 2:
        raise ContractError(f"target {target!r} has fewer than 2 classes in the real table")
    if present.size == 2:
        if positive_label is None:
            positive = int(present[-1])
        elif positive_label in target_col.labels:
            positive = target_col.labels.index(positive_label) + 1
        else:
            raise ContractError(
                f"positive_label {positive_label!r} is not a value of {target!r}", column=target
            )
        return _binary(target_col, features, library, trees, seed, positive)
    return _multiclass(target_col, features, library, trees, seed, present)


def _rows_with_target(
    features: _Features, target: EncodedColumn, part: int
) -> tuple[np.ndarray, np.ndarray]:
    x, y = features.matrix(part), target.values[part]
    keep = ~np.isnan(y) if target.continuous else y > 0
    return x[keep], y[keep]


def _binary(
    target: EncodedColumn, features: _Features, library: str, trees: int, seed: int, positive: int
) -> UtilityMeasures:
    x_test, y_test = _rows_with_target(features, target, 2)
    truth = (y_test == positive).astype(np.int64)
    scores: dict[str, float] = {}
    extra: dict[str, float] = {}
    for name, part in (("synthetic", 1), ("real", 0)):
        x, y = _rows_with_target(features, target, part)
        labels = (y == positive).astype(np.int64)
        if labels.min(initial=1) == labels.max(initial=0):
            # one class only: the model can only predict a constant
            prob = np.full(x_test.shape[0], float(labels[0]) if labels.size else 0.0)
        else:
            est, kwargs = _estimator(library, "binary", features, seed, trees)
            _fit(est, x, labels, kwargs)
            prob = est.predict_proba(x_test)[:, 1]
        scores[name] = roc_auc(truth.astype(bool), prob)
        extra[f"{name}_f1"] = _f1(truth, (prob >= 0.5).astype(np.int64), np.array([1]))
    return UtilityMeasures(
        target=target.name,
        task="binary",
        metric="roc_auc",
        synthetic_score=scores["synthetic"],
        real_score=scores["real"],
        model=library,
        positive_label=target.labels[positive - 1],
        extra=extra,
    )


def _multiclass(
    target: EncodedColumn,
    features: _Features,
    library: str,
    trees: int,
    seed: int,
    classes: np.ndarray,
) -> UtilityMeasures:
    x_test, y_test = _rows_with_target(features, target, 2)
    scores: dict[str, float] = {}
    extra: dict[str, float] = {}
    for name, part in (("synthetic", 1), ("real", 0)):
        x, y = _rows_with_target(features, target, part)
        if np.unique(y).size < 2:
            pred = np.full(y_test.shape, y[0] if y.size else 0)
        else:
            est, kwargs = _estimator(library, "multiclass", features, seed, trees)
            _fit(est, x, y, kwargs)
            pred = np.asarray(est.predict(x_test))
        scores[name] = float(np.mean(pred == y_test)) if y_test.size else float("nan")
        extra[f"{name}_macro_f1"] = _f1(y_test, pred, classes)
    return UtilityMeasures(
        target=target.name,
        task="multiclass",
        metric="accuracy",
        synthetic_score=scores["synthetic"],
        real_score=scores["real"],
        model=library,
        extra=extra,
    )


def _regression(
    target: EncodedColumn, features: _Features, library: str, trees: int, seed: int
) -> UtilityMeasures:
    x_test, y_test = _rows_with_target(features, target, 2)
    scores: dict[str, float] = {}
    total = float(np.sum((y_test - y_test.mean()) ** 2)) if y_test.size else 0.0
    for name, part in (("synthetic", 1), ("real", 0)):
        x, y = _rows_with_target(features, target, part)
        est, kwargs = _estimator(library, "regression", features, seed, trees)
        _fit(est, x, y, kwargs)
        pred = np.asarray(est.predict(x_test), dtype=np.float64)
        residual = float(np.sum((y_test - pred) ** 2))
        scores[name] = 1.0 - residual / total if total > 0 else float("nan")
    return UtilityMeasures(
        target=target.name,
        task="regression",
        metric="r2",
        synthetic_score=scores["synthetic"],
        real_score=scores["real"],
        model=library,
    )
