"""The synthetic-data report: fidelity, utility and privacy, with a plain-language verdict.

:func:`evaluate` compares one synthetic table with the real table it was learnt from (and,
for utility and privacy, with a real holdout the generator never saw);
:func:`evaluate_tables` adds what only a set of related tables has: referential integrity,
children-per-parent shapes and parent -> child trends. Both return a report that writes JSON
(:meth:`SynthesisReport.to_json`) and a self-contained HTML page with charts
(:meth:`SynthesisReport.to_html`).

Every pass/fail line states its threshold (:class:`Thresholds`, defaults from the project's
acceptance bar), so a reader can see why a table passed, and change the bar.

Example:
    >>> report = lf.synth.evaluate(train, syn, holdout=test, target="income")  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    >>> report.to_html("report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa

from lakeforge.contracts import Contract
from lakeforge.errors import ContractError
from lakeforge.synth._base import ColumnKind
from lakeforge.synth._eval_fidelity import (
    ColumnShape,
    PairTrend,
    PreparedColumn,
    as_frame,
    column_shapes,
    identifier_like,
    ks_statistic,
    nanmean,
    pair_trend_mean,
    pair_trends,
    prepare_columns,
    resolve_kinds,
)
from lakeforge.synth._eval_multitable import (
    Relation,
    children_per_parent,
    inter_table_trends,
    relation_integrity,
    relations,
)
from lakeforge.synth._eval_privacy import PrivacyMeasures, measure_privacy
from lakeforge.synth._eval_utility import (
    ModelName,
    UtilityMeasures,
    discriminator_auc,
    measure_utility,
)

__all__ = [
    "AreaVerdict",
    "Check",
    "FidelityMeasures",
    "MultiTableReport",
    "SynthesisReport",
    "Thresholds",
    "evaluate",
    "evaluate_tables",
]

Table: TypeAlias = pa.Table | pl.DataFrame
Status = Literal["pass", "fail", "not judged"]


@dataclass(frozen=True)
class Thresholds:
    """The bar each figure is held to (defaults: the synthetic-data issue's acceptance bar).

    ``copy_margin_se``: the synthetic exact-copy rate may exceed the holdout's (the rate chance
    gives) by this many binomial standard errors of the holdout's rate.
    """

    column_shapes: float = 0.90
    column_pair_trends: float = 0.90
    discriminator_auc: float = 0.80
    utility_gap: float = 0.05
    regression_gap: float = 0.10
    dcr_share: float = 0.52
    copy_margin_se: float = 2.0
    mia_auc: float = 0.55
    foreign_key_integrity: float = 1.0
    cardinality: float = 0.90
    inter_table_trends: float = 0.90


@dataclass(frozen=True)
class Check:
    """One pass/fail line: a figure, its bar, and what it means."""

    area: str
    name: str
    value: float
    threshold: float
    direction: Literal["at least", "at most"]
    passed: bool
    meaning: str

    @property
    def sentence(self) -> str:
        """``"pair trends 0.712 (at least 0.900): FAIL - ..."``."""
        mark = "pass" if self.passed else "FAIL"
        return (
            f"{self.name} {_fmt(self.value)} ({self.direction} {_fmt(self.threshold)}): "
            f"{mark} - {self.meaning}"
        )


@dataclass(frozen=True)
class AreaVerdict:
    """Fidelity, utility, privacy (or relations): pass, fail or not judged, in words."""

    area: str
    status: Status
    text: str


@dataclass(frozen=True)
class FidelityMeasures:
    """Column shapes, column pair trends, their mean (quality), and the discriminator."""

    quality: float
    column_shapes: float
    column_pair_trends: float
    shapes: list[ColumnShape]
    pairs: list[PairTrend]
    discriminator_auc: float
    discriminator_note: str = ""


def _fmt(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def _clean(value: Any) -> Any:
    """JSON-ready: NaN -> None, NumPy scalars -> Python, tuples -> lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# -- charts data --------------------------------------------------------------------------

_HIST_BINS = 20
_TOP_CATEGORIES = 12


def _column_chart(col: PreparedColumn, unit: str | None = None) -> dict[str, Any]:
    """Real vs synthetic shares per bin (numbers) or per category (top ones + other).

    ``unit`` is a temporal column's NumPy unit (``D``, ``us``...), for date labels.
    """
    if col.continuous:
        real = col.real[~np.isnan(col.real)]
        syn = col.synthetic[~np.isnan(col.synthetic)]
        if real.size == 0:
            return {
                "column": col.name,
                "type": "histogram",
                "labels": [],
                "real": [],
                "synthetic": [],
            }
        edges = np.histogram_bin_edges(real, bins=_HIST_BINS)
        r = np.histogram(np.clip(real, edges[0], edges[-1]), bins=edges)[0] / max(real.size, 1)
        s = np.histogram(np.clip(syn, edges[0], edges[-1]), bins=edges)[0] / max(syn.size, 1)
        labels = [_edge_label(edges[i], unit) for i in range(len(edges) - 1)]
        return {
            "column": col.name,
            "type": "histogram",
            "labels": labels,
            "real": r.tolist(),
            "synthetic": s.tolist(),
            "real_null_share": float(np.mean(np.isnan(col.real))) if col.real.size else 0.0,
            "synthetic_null_share": float(np.mean(np.isnan(col.synthetic)))
            if col.synthetic.size
            else 0.0,
        }
    size = len(col.labels) + 1
    r = np.bincount(col.real, minlength=size) / max(col.real.size, 1)
    s = np.bincount(col.synthetic, minlength=size) / max(col.synthetic.size, 1)
    order = [int(i) for i in np.argsort(-r, kind="stable") if r[i] > 0 or s[i] > 0]
    top = order[:_TOP_CATEGORIES]
    labels = ["(null)" if i == 0 else col.labels[i - 1] for i in top]
    real_shares = [float(r[i]) for i in top]
    syn_shares = [float(s[i]) for i in top]
    if len(order) > len(top):
        labels.append(f"other ({len(order) - len(top)})")
        real_shares.append(float(1.0 - sum(real_shares)))
        syn_shares.append(float(1.0 - sum(syn_shares)))
    return {
        "column": col.name,
        "type": "bars",
        "labels": labels,
        "real": real_shares,
        "synthetic": syn_shares,
    }


def _edge_label(value: float, unit: str | None) -> str:
    if unit is not None:
        stamp = np.array([int(value)], dtype=f"datetime64[{unit}]")
        return str(stamp.astype("datetime64[D]" if unit == "D" else "datetime64[m]")[0])
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _temporal_unit(dtype: pl.DataType) -> str | None:
    if dtype == pl.Date:
        return "D"
    if isinstance(dtype, pl.Datetime):
        return str(dtype.time_unit)
    return None


def _distance_chart(priv: PrivacyMeasures) -> dict[str, Any]:
    both = np.concatenate([priv.dcr_train, priv.dcr_holdout])
    hi = float(both.max()) if both.size else 1.0
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, _HIST_BINS + 1)
    train = np.histogram(priv.dcr_train, bins=edges)[0] / max(priv.dcr_train.size, 1)
    hold = np.histogram(priv.dcr_holdout, bins=edges)[0] / max(priv.dcr_holdout.size, 1)
    return {
        "labels": [f"{e:.3f}" for e in edges[:-1]],
        "to_train": train.tolist(),
        "to_holdout": hold.tolist(),
        "exact_zero_train": float(np.mean(priv.dcr_train == 0)) if priv.dcr_train.size else 0.0,
        "exact_zero_holdout": float(np.mean(priv.dcr_holdout == 0))
        if priv.dcr_holdout.size
        else 0.0,
    }


# -- the single-table report --------------------------------------------------------------


class _ReportOutput:
    """JSON and HTML output shared by the single- and multi-table reports."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _render(self) -> str:
        raise NotImplementedError

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text, also written to ``path`` when given."""
        text: str = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page (inline SVG charts, no scripts), written to ``path``."""
        page = self._render()
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


@dataclass
class SynthesisReport(_ReportOutput):
    """Fidelity, utility and privacy of one synthetic table, with the verdict per area."""

    n_real: int
    n_synthetic: int
    n_holdout: int | None
    kinds: dict[str, ColumnKind]
    fidelity: FidelityMeasures
    utility: UtilityMeasures | None
    privacy: PrivacyMeasures | None
    thresholds: Thresholds
    checks: list[Check] = field(default_factory=list)
    verdicts: list[AreaVerdict] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)
    title: str = "Synthetic data report"
    skipped_columns: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no judged area failed."""
        return all(v.status != "fail" for v in self.verdicts)

    def verdict(self, area: str) -> Status:
        """``"pass"``, ``"fail"`` or ``"not judged"`` for an area (``"privacy"``, ...)."""
        for v in self.verdicts:
            if v.area == area:
                return v.status
        raise KeyError(area)

    def summary(self) -> str:
        """The verdict in a few plain sentences, one per area, then every check."""
        lines = [f"{v.area}: {v.status.upper()} - {v.text}" for v in self.verdicts]
        lines += [f"  {c.area}: {c.sentence}" for c in self.checks]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready (NaN written as null)."""
        fid = self.fidelity
        out: dict[str, Any] = {
            "title": self.title,
            "passed": self.passed,
            "rows": {"real": self.n_real, "synthetic": self.n_synthetic, "holdout": self.n_holdout},
            "kinds": dict(self.kinds),
            "skipped_columns": dict(self.skipped_columns),
            "verdict": [asdict(v) for v in self.verdicts],
            "checks": [asdict(c) for c in self.checks],
            "thresholds": asdict(self.thresholds),
            "fidelity": {
                "quality": fid.quality,
                "column_shapes": fid.column_shapes,
                "column_pair_trends": fid.column_pair_trends,
                "discriminator_auc": fid.discriminator_auc,
                "discriminator_note": fid.discriminator_note,
                "shapes": [asdict(s) for s in fid.shapes],
                "pairs": [asdict(p) for p in fid.pairs],
            },
            "utility": None
            if self.utility is None
            else {**asdict(self.utility), "gap": self.utility.gap},
            "privacy": None
            if self.privacy is None
            else {
                k: v
                for k, v in asdict(self.privacy).items()
                if k not in ("dcr_train", "dcr_holdout")
            },
            "charts": self.charts,
        }
        return dict(_clean(out))

    def _render(self) -> str:
        from lakeforge.synth._eval_html import render_single

        return render_single(self.to_dict())


def _fidelity_checks(fid: FidelityMeasures, t: Thresholds) -> list[Check]:
    checks = [
        Check(
            "fidelity",
            "column shapes",
            fid.column_shapes,
            t.column_shapes,
            "at least",
            fid.column_shapes >= t.column_shapes,
            "each column's values follow the real distribution (1 - KS / 1 - TV, mean)"
            if fid.column_shapes >= t.column_shapes
            else "some columns do not follow their real distribution",
        ),
        Check(
            "fidelity",
            "column pair trends",
            fid.column_pair_trends,
            t.column_pair_trends,
            "at least",
            fid.column_pair_trends >= t.column_pair_trends,
            "pairs of columns keep their real correlations and co-occurrences"
            if fid.column_pair_trends >= t.column_pair_trends
            else "pairs of columns lose their real relations (how one column depends on another)",
        ),
    ]
    checks = [c for c in checks if not math.isnan(c.value)]  # a one-column table has no pairs
    if not math.isnan(fid.discriminator_auc):
        ok = fid.discriminator_auc <= t.discriminator_auc
        checks.append(
            Check(
                "fidelity",
                "discriminator AUC",
                fid.discriminator_auc,
                t.discriminator_auc,
                "at most",
                ok,
                "a classifier finds it hard to tell synthetic rows from real ones (0.5 = cannot)"
                if ok
                else "a classifier easily tells synthetic rows from real ones",
            )
        )
    return checks


def _utility_checks(u: UtilityMeasures, t: Thresholds) -> list[Check]:
    limit = t.regression_gap if u.task == "regression" else t.utility_gap
    ok = u.gap <= limit
    return [
        Check(
            "utility",
            f"{u.metric} gap (real {_fmt(u.real_score)} - synthetic {_fmt(u.synthetic_score)})",
            u.gap,
            limit,
            "at most",
            ok,
            f"a model of {u.target!r} trained on synthetic rows scores almost as well on real "
            "rows as one trained on real rows"
            if ok
            else f"a model of {u.target!r} trained on synthetic rows does clearly worse on real "
            "rows than one trained on real rows",
        )
    ]


def _privacy_checks(p: PrivacyMeasures, n_holdout: int, t: Thresholds) -> list[Check]:
    se = math.sqrt(max(p.holdout_copy_rate * (1 - p.holdout_copy_rate), 0.0) / max(n_holdout, 1))
    copy_bar = p.holdout_copy_rate + t.copy_margin_se * se
    ignored = f" (ignoring {', '.join(p.copy_ignored)})" if p.copy_ignored else ""
    return [
        Check(
            "privacy",
            "DCR share",
            p.dcr_share,
            t.dcr_share,
            "at most",
            p.dcr_share <= t.dcr_share,
            "synthetic rows are no closer to training rows than to new real rows (0.5 = ideal)"
            if p.dcr_share <= t.dcr_share
            else "synthetic rows sit closer to the training rows than to new real rows: "
            "the generator memorises",
        ),
        Check(
            "privacy",
            f"exact-copy rate{ignored}",
            p.copy_rate,
            copy_bar,
            "at most",
            p.copy_rate <= copy_bar,
            "no more training rows are copied than chance gives "
            f"(holdout: {_fmt(p.holdout_copy_rate)})"
            if p.copy_rate <= copy_bar
            else f"more synthetic rows repeat a training row than chance gives "
            f"(holdout: {_fmt(p.holdout_copy_rate)})",
        ),
        Check(
            "privacy",
            "membership-inference AUC",
            p.mia_auc,
            t.mia_auc,
            "at most",
            p.mia_auc <= t.mia_auc,
            "an attacker cannot tell who was in the training data from the synthetic rows"
            if p.mia_auc <= t.mia_auc
            else "an attacker can tell training rows from others by their distance to "
            "synthetic rows",
        ),
    ]


def _area_verdict(area: str, checks: Sequence[Check], missing: str = "") -> AreaVerdict:
    own = [c for c in checks if c.area == area]
    if not own:
        return AreaVerdict(area, "not judged", missing)
    failed = [c for c in own if not c.passed]
    meanings = dict.fromkeys(c.meaning for c in (failed or own))  # once each, in order
    return AreaVerdict(area, "fail" if failed else "pass", "; ".join(meanings) + ".")


def _measure_fidelity(
    prepared: Sequence[PreparedColumn],
    real: Table,
    synthetic: Table,
    kinds: Mapping[str, ColumnKind],
    *,
    discriminator: bool,
    model: ModelName,
    seed: int,
) -> FidelityMeasures:
    shapes = column_shapes(prepared)
    pairs = pair_trends(prepared)
    shape_mean = nanmean([s.score for s in shapes])
    pair_mean = pair_trend_mean(pairs)
    quality = nanmean([shape_mean, pair_mean])
    auc, note = float("nan"), "not run (discriminator=False)"
    if discriminator:
        try:
            auc = discriminator_auc(real, synthetic, kinds, model=model, seed=seed)
            note = ""
        except ImportError as exc:
            note = f"not run: {exc}"
    return FidelityMeasures(quality, shape_mean, pair_mean, shapes, pairs, auc, note)


def evaluate(
    real: Table,
    synthetic: Table,
    *,
    holdout: Table | None = None,
    target: str | None = None,
    positive_label: str | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
    exclude: Sequence[str] = (),
    copy_ignore: Sequence[str] = (),
    discriminator: bool = True,
    model: ModelName = "auto",
    thresholds: Thresholds | None = None,
    dcr_rows: int = 5_000,
    mia_rows: int = 2_000,
    seed: int = 0,
    title: str = "Synthetic data report",
) -> SynthesisReport:
    """Score a synthetic table against the real one it was learnt from.

    Args:
        real: the training table the generator saw.
        synthetic: the generated table (same columns; extra columns are ignored).
        holdout: real rows the generator never saw, from the same population; needed for
            utility (``target``) and privacy. Without it those areas are "not judged".
        target: the column a downstream model predicts, for the utility score.
        positive_label: the positive class of a binary target (default: the last in order).
        kinds: override how columns are compared (see :data:`ColumnKind`).
        exclude: columns left out of every measure (keys, free text).
        copy_ignore: columns left out of the exact-copy comparison only (a near-unique
            weight such as Adult's ``fnlwgt`` hides copies).
        discriminator: run the real-vs-synthetic classifier (needs LightGBM or scikit-learn).
        model: ``auto`` (LightGBM if installed), ``lightgbm`` or ``hist_gradient_boosting``.
        thresholds: the bars of the verdict.
        dcr_rows: synthetic rows placed among train and holdout rows for the DCR share.
        mia_rows: members and non-members in the membership-inference attack.
        seed: every sample and model is seeded from it.
        title: the heading of the HTML page.

    Returns:
        A :class:`SynthesisReport`; ``report.verdict("privacy")`` is ``"pass"``, ``"fail"``
        or ``"not judged"``.

    Example:
        >>> report = evaluate(train, synthetic, holdout=test, target="income")  # doctest: +SKIP
        >>> report.verdict("privacy")  # doctest: +SKIP
        'pass'
    """
    t = thresholds or Thresholds()
    real_t, syn_t = as_frame(real), as_frame(synthetic)
    if real_t.height == 0 or syn_t.height == 0:
        raise ContractError("cannot evaluate an empty table (real or synthetic has no rows)")
    resolved = resolve_kinds(real_t.to_arrow(), syn_t.to_arrow(), kinds=kinds, exclude=exclude)
    skipped = {
        name: "identifier-like: most values are distinct, no distribution to compare"
        for name in identifier_like(real_t, resolved)
        if name not in (kinds or {}) and name != target
    }
    resolved = {name: kind for name, kind in resolved.items() if name not in skipped}
    if not resolved:
        raise ContractError("no column left to compare (all excluded or identifier-like)")
    unknown = [c for c in copy_ignore if c not in resolved]
    if unknown:
        raise ContractError(f"copy_ignore names unknown columns: {', '.join(unknown)}")
    if target is not None and target not in resolved:
        raise ContractError(f"target {target!r} is not an evaluated column", column=target)
    hold_t = None if holdout is None else as_frame(holdout)
    if hold_t is not None:
        absent = [c for c in resolved if c not in hold_t.columns]
        if absent:
            raise ContractError(f"the holdout lacks columns: {', '.join(absent)}")
        if hold_t.height < 2:
            raise ContractError("the holdout needs at least 2 rows")
    prepared = prepare_columns(real_t, syn_t, resolved)
    fid = _measure_fidelity(
        prepared, real_t, syn_t, resolved, discriminator=discriminator, model=model, seed=seed
    )
    utility = privacy = None
    if hold_t is not None:
        privacy = measure_privacy(
            real_t,
            syn_t,
            hold_t,
            resolved,
            ignore=copy_ignore,
            dcr_rows=dcr_rows,
            mia_rows=mia_rows,
            seed=seed,
        )
        if target is not None:
            utility = measure_utility(
                real_t,
                syn_t,
                hold_t,
                resolved,
                target,
                positive_label=positive_label,
                model=model,
                seed=seed,
            )
    checks = _fidelity_checks(fid, t)
    if utility is not None:
        checks += _utility_checks(utility, t)
    if privacy is not None and hold_t is not None:
        checks += _privacy_checks(privacy, hold_t.height, t)
    verdicts = [
        _area_verdict("fidelity", checks),
        _area_verdict(
            "utility",
            checks,
            "no target given" if target is None else "needs a real holdout (holdout=)",
        ),
        _area_verdict("privacy", checks, "needs a real holdout the generator never saw (holdout=)"),
    ]
    charts: dict[str, Any] = {
        "columns": [_column_chart(c, _temporal_unit(real_t.schema[c.name])) for c in prepared]
    }
    if privacy is not None:
        charts["distances"] = _distance_chart(privacy)
    return SynthesisReport(
        n_real=real_t.height,
        n_synthetic=syn_t.height,
        n_holdout=None if hold_t is None else hold_t.height,
        kinds=resolved,
        fidelity=fid,
        utility=utility,
        privacy=privacy,
        thresholds=t,
        checks=checks,
        verdicts=verdicts,
        charts=charts,
        title=title,
        skipped_columns=skipped,
    )


# -- the multi-table report ---------------------------------------------------------------


@dataclass
class MultiTableReport(_ReportOutput):
    """Per-table fidelity plus integrity, cardinality and parent -> child trends."""

    tables: dict[str, SynthesisReport]
    foreign_key_integrity: dict[str, float]
    cardinality: dict[str, float]
    inter_table: dict[str, list[PairTrend]]
    thresholds: Thresholds
    checks: list[Check] = field(default_factory=list)
    verdicts: list[AreaVerdict] = field(default_factory=list)
    cardinality_charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    title: str = "Synthetic data report (multi-table)"

    @property
    def passed(self) -> bool:
        """True when no judged area (relations or any table's) failed."""
        return all(v.status != "fail" for v in self.verdicts) and all(
            r.passed for r in self.tables.values()
        )

    def inter_table_score(self, relation: str) -> float:
        """The mean parent -> child pair-trend score of one relation (counted pairs)."""
        return pair_trend_mean(self.inter_table.get(relation, []))

    def summary(self) -> str:
        """The verdict in plain sentences, relations first, then each table."""
        lines = [f"{v.area}: {v.status.upper()} - {v.text}" for v in self.verdicts]
        lines += [f"  {c.sentence}" for c in self.checks]
        for name, rep in self.tables.items():
            lines += [f"table {name}: {v.area} {v.status.upper()} - {v.text}" for v in rep.verdicts]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready."""
        out = {
            "title": self.title,
            "passed": self.passed,
            "verdict": [asdict(v) for v in self.verdicts],
            "checks": [asdict(c) for c in self.checks],
            "thresholds": asdict(self.thresholds),
            "foreign_key_integrity": self.foreign_key_integrity,
            "cardinality": self.cardinality,
            "inter_table": {
                rel: {
                    "score": self.inter_table_score(rel),
                    "pairs": [asdict(p) for p in pairs],
                }
                for rel, pairs in self.inter_table.items()
            },
            "cardinality_charts": self.cardinality_charts,
            "skipped": self.skipped,
            "tables": {name: rep.to_dict() for name, rep in self.tables.items()},
        }
        return dict(_clean(out))

    def _render(self) -> str:
        """Relations first, then a section per table."""
        from lakeforge.synth._eval_html import render_multi

        return render_multi(self.to_dict())


def _cardinality_chart(real_counts: np.ndarray, syn_counts: np.ndarray) -> dict[str, Any]:
    top = int(max(real_counts.max(initial=0), syn_counts.max(initial=0)))
    if top <= 15:
        edges = np.arange(0, top + 2) - 0.5
        labels = [str(i) for i in range(top + 1)]
    else:
        edges = np.unique(np.round(np.linspace(0, top + 1, 16))) - 0.5
        labels = [f"{int(edges[i] + 0.5)}-{int(edges[i + 1] - 0.5)}" for i in range(len(edges) - 1)]
    r = np.histogram(real_counts, bins=edges)[0] / max(real_counts.size, 1)
    s = np.histogram(syn_counts, bins=edges)[0] / max(syn_counts.size, 1)
    return {"labels": labels, "real": r.tolist(), "synthetic": s.tolist()}


def evaluate_tables(
    real: Mapping[str, Table],
    synthetic: Mapping[str, Table],
    contracts: Sequence[Contract],
    *,
    holdout: Mapping[str, Table] | None = None,
    targets: Mapping[str, str] | None = None,
    exclude: Mapping[str, Sequence[str]] | None = None,
    discriminator: bool = True,
    model: ModelName = "auto",
    thresholds: Thresholds | None = None,
    seed: int = 0,
) -> MultiTableReport:
    """Score a set of related synthetic tables against the real ones.

    Key columns (primary and foreign keys) and PII-tagged columns are left out of the
    per-table and inter-table measures (keys are identifiers, PII columns are replaced by
    fakes on purpose); ``exclude`` adds more per table. A relation whose tables are not all
    given is skipped and listed in ``report.skipped``.

    Example:
        >>> rep = evaluate_tables(real, synthetic, contracts)  # doctest: +SKIP
        >>> rep.foreign_key_integrity  # doctest: +SKIP
        {'ratings(user_id)->users(user_id)': 1.0, 'ratings(item_id)->items(item_id)': 1.0}
    """
    t = thresholds or Thresholds()
    skip: dict[str, set[str]] = {name: set(cols) for name, cols in (exclude or {}).items()}
    for c in contracts:
        cols = skip.setdefault(c.table, set())
        cols.update(c.primary_key)
        cols.update(col for fk in c.foreign_keys for col in fk.columns)
        cols.update(c.pii_columns)
    for c in contracts:  # a column other tables point at is a key too
        for fk in c.foreign_keys:
            skip.setdefault(fk.ref_table, set()).update(fk.ref_columns)
    reports: dict[str, SynthesisReport] = {}
    for name in real:
        if name not in synthetic:
            continue
        real_cols = as_frame(real[name]).columns
        leave_out = [c for c in real_cols if c in skip.get(name, set())]
        if len(leave_out) == len(real_cols):
            continue
        hold = None if holdout is None else holdout.get(name)
        reports[name] = evaluate(
            real[name],
            synthetic[name],
            holdout=hold,
            target=(targets or {}).get(name) if hold is not None else None,
            exclude=leave_out,
            discriminator=discriminator,
            model=model,
            thresholds=t,
            seed=seed,
            title=f"table {name}",
        )
    rels: list[Relation] = []
    skipped: list[str] = []
    for rel in relations(contracts):
        if all(n in real and n in synthetic for n in (rel.child, rel.parent)):
            rels.append(rel)
        else:
            skipped.append(rel.label)
    integrity: dict[str, float] = {}
    cardinality: dict[str, float] = {}
    charts: dict[str, dict[str, Any]] = {}
    inter: dict[str, list[PairTrend]] = {}
    for rel in rels:
        integrity[rel.label] = relation_integrity(synthetic, rel)
        counts_real = children_per_parent(real, rel)
        counts_syn = children_per_parent(synthetic, rel)
        cardinality[rel.label] = 1.0 - ks_statistic(counts_real, counts_syn)
        charts[rel.label] = _cardinality_chart(counts_real, counts_syn)
        inter[rel.label] = inter_table_trends(
            real, synthetic, rel, exclude={k: sorted(v) for k, v in skip.items()}
        )
    checks: list[Check] = []
    for label, value in integrity.items():
        ok = value >= t.foreign_key_integrity
        checks.append(
            Check(
                "relations",
                f"foreign-key integrity {label}",
                value,
                t.foreign_key_integrity,
                "at least",
                ok,
                "every synthetic child row points at an existing parent"
                if ok
                else "some synthetic child rows point at parents that do not exist",
            )
        )
    for label, value in cardinality.items():
        ok = value >= t.cardinality
        checks.append(
            Check(
                "relations",
                f"cardinality {label}",
                value,
                t.cardinality,
                "at least",
                ok,
                "the number of children per parent follows the real distribution"
                if ok
                else "the number of children per parent differs from the real distribution",
            )
        )
    for label, pairs in inter.items():
        score = pair_trend_mean(pairs)
        if math.isnan(score):
            continue
        ok = score >= t.inter_table_trends
        checks.append(
            Check(
                "relations",
                f"inter-table trends {label}",
                score,
                t.inter_table_trends,
                "at least",
                ok,
                "child rows depend on their parent's attributes as in the real data"
                if ok
                else "child rows do not depend on their parent's attributes as in the real data",
            )
        )
    verdicts = [_area_verdict("relations", checks, "no foreign key between the given tables")]
    return MultiTableReport(
        tables=reports,
        foreign_key_integrity=integrity,
        cardinality=cardinality,
        inter_table=inter,
        thresholds=t,
        checks=checks,
        verdicts=verdicts,
        cardinality_charts=charts,
        skipped=skipped,
    )
