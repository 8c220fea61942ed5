"""The evaluation report as one self-contained HTML page: tables and inline SVG charts.

No script and no network: each chart is an ``<svg>`` drawn here, so the page opens offline,
prints, and can be attached to an e-mail. Every chart shows the most-popular baseline.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["render_evaluation_html"]

BASELINE = "popular"
_PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f")
_BASELINE_COLOUR = "#a0aec0"
_DESCRIPTIONS = {
    "ndcg": "NDCG: hits weighted by rank (1 = every held-out item at the top)",
    "recall": "Recall: share of each user's held-out items found in the top K",
    "hitrate": "HitRate: share of users with at least one hit in the top K",
    "map": "MAP: mean average precision of the top K",
    "coverage": "Coverage: share of the catalogue recommended to anyone",
    "novelty": "Novelty: mean self-information -log2(popularity) of what is shown (higher: "
    "less obvious)",
    "popularity_bias": "Popularity bias: mean share of training users who had each shown item "
    "(lower: less popularity-driven)",
}


def _colours(models: Sequence[str]) -> dict[str, str]:
    out, n = {}, 0
    for model in models:
        if model == BASELINE:
            out[model] = _BASELINE_COLOUR
        else:
            out[model] = _PALETTE[n % len(_PALETTE)]
            n += 1
    return out


def _describe(metric: str) -> str:
    return _DESCRIPTIONS.get(metric.split("@")[0], metric)


def _bar_chart(metric: str, values: Mapping[str, float], colours: Mapping[str, str]) -> str:
    """Horizontal bars, one per model, the baseline's value as a dashed line."""
    width, label_w, bar_h, gap = 520, 110, 22, 8
    top = max([abs(v) for v in values.values()] + [1e-12])
    height = 30 + len(values) * (bar_h + gap)
    scale = (width - label_w - 70) / top
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{html.escape(metric)} by model">',
        f'<text x="0" y="16" class="title">{html.escape(metric)}</text>',
    ]
    for n, (model, value) in enumerate(values.items()):
        y = 26 + n * (bar_h + gap)
        length = max(value, 0.0) * scale
        parts += [
            f'<text x="{label_w - 6}" y="{y + bar_h - 6}" text-anchor="end">'
            f"{html.escape(model)}</text>",
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" '
            f'fill="{colours[model]}"><title>{html.escape(model)}: {value:.4f}</title></rect>',
            f'<text x="{label_w + length + 4:.1f}" y="{y + bar_h - 6}">{value:.4f}</text>',
        ]
    if BASELINE in values:
        x = label_w + max(values[BASELINE], 0.0) * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 2}" class="baseline">'
            f"<title>most popular: {values[BASELINE]:.4f}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _grouped_chart(
    metric: str,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    colours: Mapping[str, str],
) -> str:
    """Vertical bars per user-activity group, one bar per model."""
    width, height, left, bottom = 560, 240, 40, 40
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max([*values, 1e-12])
    plot_h = height - bottom - 30
    group_w = (width - left - 10) / max(len(groups), 1)
    bar_w = min(28.0, (group_w - 16) / max(len(series), 1))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{html.escape(metric)} by user activity">',
        f'<text x="0" y="16" class="title">{html.escape(metric)} by user activity</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'class="axis"/>',
    ]
    for g, group in enumerate(groups):
        x0 = left + g * group_w + 8
        for m, (model, vs) in enumerate(series.items()):
            value = vs[g]
            if value is None:
                continue
            h = value / top * plot_h
            x = x0 + m * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{colours[model]}"><title>{html.escape(model)}, '
                f"{html.escape(group)}: {value:.4f}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + len(series) * bar_w / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{html.escape(group)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(colours: Mapping[str, str]) -> str:
    items = "".join(
        f'<span><i style="background:{c}"></i>{html.escape(m)}'
        f"{' (baseline)' if m == BASELINE else ''}</span>"
        for m, c in colours.items()
    )
    return f'<p class="legend">{items}</p>'


def render_evaluation_html(report: Mapping[str, Any]) -> str:
    """The report of :func:`evaluate_models` as a self-contained HTML page."""
    k = report["k"]
    models: dict[str, Any] = dict(report["models"])
    colours = _colours(list(models))
    accuracy = [f"ndcg@{k}", f"recall@{k}", f"hitrate@{k}", f"map@{k}"]
    beyond = [f"coverage@{k}", "novelty", "popularity_bias"]
    metrics = accuracy + beyond
    base = models.get(BASELINE, {}).get("overall", {})

    def cell(model: str, metric: str) -> str:
        value = float(models[model]["overall"].get(metric, 0.0))
        ratio = ""
        if model != BASELINE and base.get(metric):
            ratio = f" <small>({value / float(base[metric]):.2f}x)</small>"
        return f"<td>{value:.4f}{ratio}</td>"

    header = "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    rows = "".join(
        f"<tr><th>{html.escape(model)}</th>{''.join(cell(model, m) for m in metrics)}</tr>"
        for model in models
    )
    overall_charts = "".join(
        "<figure>"
        + _bar_chart(m, {n: float(r["overall"].get(m, 0.0)) for n, r in models.items()}, colours)
        + f"<figcaption>{html.escape(_describe(m))}</figcaption></figure>"
        for m in metrics
    )
    groups = sorted(
        {g for r in models.values() for g in r.get("by_activity", {})},
        key=lambda g: float(g.split("-")[0].rstrip("+")),
    )
    group_charts = "".join(
        "<figure>"
        + _grouped_chart(
            m,
            groups,
            {
                n: [r.get("by_activity", {}).get(g, {}).get(m) for g in groups]
                for n, r in models.items()
            },
            colours,
        )
        + f"<figcaption>{html.escape(_describe(m))}</figcaption></figure>"
        for m in (f"ndcg@{k}", f"recall@{k}", f"hitrate@{k}", "novelty")
    )
    group_rows = []
    for model, result in models.items():
        for group in groups:
            m = result.get("by_activity", {}).get(group)
            if m is None:
                continue
            cells = "".join(f"<td>{float(m.get(x, 0.0)):.4f}</td>" for x in metrics)
            group_rows.append(
                f"<tr><th>{html.escape(model)}</th><td>{html.escape(group)}</td>"
                f"<td>{int(m['users']):,}</td>{cells}</tr>"
            )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Recommender evaluation</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#1a202c;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{padding:4px 10px;text-align:right;
border-bottom:1px solid #e2e8f0}}th:first-child{{text-align:left}}small{{color:#4a5568}}
.charts{{display:flex;flex-wrap:wrap;gap:1.5em}}figure{{margin:0}}
figcaption{{font-size:12px;color:#4a5568;max-width:520px}}
.chart text{{font-size:12px;fill:#2d3748}}.chart .title{{font-weight:600;font-size:13px}}
.chart .baseline{{stroke:#1a202c;stroke-dasharray:4 3}}.chart .axis{{stroke:#718096}}
.legend span{{margin-right:1.2em}}.legend i{{display:inline-block;width:12px;height:12px;
margin-right:4px;vertical-align:middle}}
</style></head><body>
<h1>Recommender evaluation</h1>
<p>{html.escape(str(report["split"]))} split: {report["train_rows"]:,} training and
{report["test_rows"]:,} test interactions; every model ranks all items each user has not
had in training; metrics at K={k}. The most-popular model (<b>{BASELINE}</b>) is the
baseline: ratios in brackets are against it, and the dashed line marks it in each chart.</p>
{_legend(colours)}
<h2>Overall</h2>
<table><tr><th>model</th>{header}</tr>{rows}</table>
<div class="charts">{overall_charts}</div>
<h2>By user activity (training interactions per user)</h2>
<p>Light and heavy users side by side: a model that only serves heavy users well shows here.</p>
<div class="charts">{group_charts}</div>
<table><tr><th>model</th><th>group</th><th>users</th>{header}</tr>{"".join(group_rows)}</table>
</body></html>
"""
