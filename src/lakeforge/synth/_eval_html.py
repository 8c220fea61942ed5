"""The report as one self-contained HTML page: verdict, summary table and inline SVG charts.

No scripts, no external files: the page opens from a mail attachment or a shared drive. It is
drawn from the report's ``to_dict()``, so a saved JSON report renders the same page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["bar_chart", "heat_map", "render_multi", "render_single"]

_REAL = "#3b6ea8"
_SYNTH = "#e07b39"
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1180px;color:#1d232a;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd}
.muted{color:#667}.badge{display:inline-block;padding:2px 10px;border-radius:12px;
font-weight:600;font-size:.9em}.pass{background:#d8f0dc;color:#17612a}
.fail{background:#fadcd9;color:#8c1d13}.nj{background:#eceff3;color:#4a5563}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{flex:1 1 300px;border:1px solid #dde;
border-radius:8px;padding:12px 14px}.card h3{margin:0 0 6px 0;text-transform:capitalize}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #e4e6ea;
padding:4px 10px;text-align:left;font-size:.92em}th{background:#f5f6f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:14px}.chart{border:1px solid #eceef1;border-radius:6px;
padding:6px}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;
vertical-align:middle}
"""


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _badge(status: str) -> str:
    cls = {"pass": "pass", "fail": "fail"}.get(status, "nj")
    return f'<span class="badge {cls}">{escape(status.upper())}</span>'


def _legend(names: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<span style="background:{c}"></span>{escape(n)}' for n, c in names)
    return f'<div class="legend muted">{items}</div>'


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    width: int = 360,
    height: int = 210,
    percent: bool = True,
) -> str:
    """Grouped vertical bars, one group per label, as an inline SVG."""
    left, right, top, bottom = 44, 8, 22, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs, _ in series for v in vs if v is not None and not math.isnan(v)]
    peak = max(values, default=0.0) or 1.0
    n = max(len(labels), 1)
    group = plot_w / n
    bar = group * 0.84 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" font-size="12" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>',
    ]
    for frac in (0.5, 1.0):
        y = top + plot_h - frac * plot_h
        label = f"{peak * frac:.0%}" if percent else f"{peak * frac:.3g}"
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#667">{label}</text>'
        )
    step = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.08
        for k, (name, vs, color) in enumerate(series):
            v = vs[i] if i < len(vs) else 0.0
            v = 0.0 if v is None or math.isnan(v) else float(v)
            h = plot_h * v / peak
            shown = f"{v:.1%}" if percent else f"{v:.4g}"
            parts.append(
                f'<rect x="{x0 + k * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(str(label))}: {escape(name)} '
                f"{shown}</title></rect>"
            )
        if i % step == 0:
            tx, ty = left + i * group + group / 2, top + plot_h + 8
            short = str(label) if len(str(label)) <= 14 else str(label)[:13] + "…"
            parts.append(
                f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="9" fill="#445" '
                f'transform="rotate(45 {tx:.1f} {ty:.1f})">{escape(short)}</text>'
            )
    parts.append("</svg>")
    return f'<div class="chart">{"".join(parts)}</div>'


def _score_color(score: float | None) -> str:
    if score is None or math.isnan(score):
        return "#e3e5e8"
    hue = max(0.0, min(1.0, (score - 0.5) / 0.5)) * 120
    return f"hsl({hue:.0f},62%,52%)"


def heat_map(columns: Sequence[str], pairs: Sequence[Mapping[str, Any]]) -> str:
    """The pair-trend scores as a symmetric grid (green 1.0, red 0.5 and below)."""
    index = {c: i for i, c in enumerate(columns)}
    scores: dict[tuple[int, int], float | None] = {}
    counted: dict[tuple[int, int], bool] = {}
    for p in pairs:
        i, j = index.get(p["column_1"]), index.get(p["column_2"])
        if i is None or j is None:
            continue
        scores[(i, j)] = scores[(j, i)] = p["score"]
        counted[(i, j)] = counted[(j, i)] = bool(p.get("counted", True))
    n = len(columns)
    cell = max(10, min(26, 520 // max(n, 1)))
    margin = 120
    size = margin + n * cell + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 60}" height="{size}" '
        'role="img" aria-label="column pair trends">'
    ]
    for i, name in enumerate(columns):
        short = escape(name if len(name) <= 18 else name[:17] + "…")
        y = margin + i * cell + cell * 0.7
        parts.append(
            f'<text x="{margin - 4}" y="{y:.1f}" font-size="10" text-anchor="end">{short}</text>'
        )
        x = margin + i * cell + cell * 0.6
        parts.append(
            f'<text x="{x:.1f}" y="{margin - 4}" font-size="10" '
            f'transform="rotate(-60 {x:.1f} {margin - 4})">{short}</text>'
        )
    for i in range(n):
        for j in range(n):
            score = 1.0 if i == j else scores.get((i, j))
            weak = i != j and not counted.get((i, j), True)
            tip = f"{columns[i]} / {columns[j]}: {_f(score)}"
            if weak:
                tip += " (not related in the real data: not counted)"
            opacity = ' fill-opacity="0.3"' if weak else ""
            parts.append(
                f'<rect x="{margin + j * cell}" y="{margin + i * cell}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{_score_color(score)}"{opacity}>'
                f"<title>{escape(tip)}</title></rect>"
            )
    for k, v in enumerate((1.0, 0.9, 0.8, 0.7, 0.6, 0.5)):
        y = margin + k * 16
        parts.append(
            f'<rect x="{margin + n * cell + 14}" y="{y}" width="14" height="14" '
            f'fill="{_score_color(v)}"/><text x="{margin + n * cell + 32}" y="{y + 11}" '
            f'font-size="10">{v:.1f}</text>'
        )
    parts.append("</svg>")
    return f'<div class="chart">{"".join(parts)}</div>'


def _checks_table(checks: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c['area'])}</td><td>{escape(c['name'])}</td>"
        f'<td class="num">{_f(c["value"])}</td><td>{escape(c["direction"])} '
        f"{_f(c['threshold'])}</td><td>{_badge('pass' if c['passed'] else 'fail')}</td>"
        f"<td>{escape(c['meaning'])}</td></tr>"
        for c in checks
    )
    return (
        "<table><tr><th>area</th><th>measure</th><th>value</th><th>bar</th><th>result</th>"
        f"<th>meaning</th></tr>{rows}</table>"
    )


def _verdict_cards(verdicts: Sequence[Mapping[str, Any]]) -> str:
    cards = "".join(
        f'<div class="card"><h3>{escape(v["area"])} {_badge(v["status"])}</h3>'
        f"<div>{escape(v['text'])}</div></div>"
        for v in verdicts
    )
    return f'<div class="cards">{cards}</div>'


def _figures(d: Mapping[str, Any]) -> str:
    fid = d["fidelity"]
    rows = [
        (
            "rows real / synthetic / holdout",
            " / ".join(_f(d["rows"][k]) for k in ("real", "synthetic", "holdout")),
        ),
        ("quality (mean of shapes and pair trends)", _f(fid["quality"])),
        ("column shapes", _f(fid["column_shapes"])),
        ("column pair trends", _f(fid["column_pair_trends"])),
        (
            "discriminator ROC AUC (0.5 = indistinguishable)",
            _f(fid["discriminator_auc"])
            + (f" ({escape(fid['discriminator_note'])})" if fid["discriminator_note"] else ""),
        ),
    ]
    u = d.get("utility")
    if u:
        rows += [
            (
                f"utility: {escape(u['metric'])} trained on synthetic ({escape(u['model'])})",
                _f(u["synthetic_score"]),
            ),
            (f"utility: {escape(u['metric'])} trained on real", _f(u["real_score"])),
        ]
        rows += [(f"utility: {escape(k)}", _f(v)) for k, v in u.get("extra", {}).items()]
    p = d.get("privacy")
    if p:
        ignored = f" (ignoring {', '.join(p['copy_ignored'])})" if p["copy_ignored"] else ""
        rows += [
            (f"DCR share ({_f(p['dcr_rows'])} rows; 0.5 ideal)", _f(p["dcr_share"])),
            (f"exact-copy rate{escape(ignored)}", _f(p["copy_rate"])),
            ("exact-copy rate of the real holdout (chance)", _f(p["holdout_copy_rate"])),
            (
                "NNDR median (synthetic / holdout)",
                f"{_f(p['nndr_median'])} / {_f(p['holdout_nndr_median'])}",
            ),
            (
                f"membership-inference AUC ({_f(p['mia_rows'])} + {_f(p['mia_rows'])} rows)",
                _f(p["mia_auc"]),
            ),
        ]
    body = "".join(f'<tr><td>{k}</td><td class="num">{v}</td></tr>' for k, v in rows)
    return f"<table>{body}</table>"


def _single_body(d: Mapping[str, Any], level: int = 2) -> str:
    h = f"h{level}"
    fid = d["fidelity"]
    shape = {s["column"]: s["score"] for s in fid["shapes"]}
    parts = [
        f"<{h}>Verdict</{h}>",
        _verdict_cards(d["verdict"]),
        f"<{h}>Summary</{h}>",
        _figures(d),
        _checks_table(d["checks"]),
        "".join(
            f'<p class="muted">Not compared: {escape(name)} ({escape(why)})</p>'
            for name, why in d.get("skipped_columns", {}).items()
        ),
        f"<{h}>Columns: real vs synthetic</{h}>",
        _legend([("real", _REAL), ("synthetic", _SYNTH)]),
        '<div class="grid">',
    ]
    for chart in d.get("charts", {}).get("columns", []):
        name = chart["column"]
        title = f"{name} (shape {_f(shape.get(name))})"
        parts.append(
            bar_chart(
                title,
                chart["labels"],
                [("real", chart["real"], _REAL), ("synthetic", chart["synthetic"], _SYNTH)],
            )
        )
    parts.append("</div>")
    columns = [s["column"] for s in fid["shapes"]]
    if len(columns) > 1:
        parts += [
            f"<{h}>Column pair trends</{h}>",
            '<p class="muted">1 - |r<sub>real</sub> - r<sub>synthetic</sub>|/2 for two '
            "numbers, contingency similarity otherwise; hover a cell for its score. Pale "
            "cells are pairs the real data does not relate (|r| &le; 0.5, Cramer's V &le; 0.3): "
            "they are not counted in the pair-trends figure, as in sdmetrics.</p>",
            heat_map(columns, fid["pairs"]),
        ]
    dist = d.get("charts", {}).get("distances")
    if dist:
        parts += [
            f"<{h}>Privacy: distance to the closest record</{h}>",
            '<p class="muted">Gower distance from each sampled synthetic row to its nearest '
            "training row and to its nearest holdout row. If the two shapes match, the "
            "generator learnt the population, not the people. Exactly 0: "
            f"{dist['exact_zero_train']:.1%} to train, {dist['exact_zero_holdout']:.1%} to "
            "holdout.</p>",
            bar_chart(
                "distance to closest record",
                dist["labels"],
                [("to train", dist["to_train"], _SYNTH), ("to holdout", dist["to_holdout"], _REAL)],
                width=560,
            ),
        ]
    return "".join(parts)


def _page(title: str, passed: bool, body: str) -> str:
    status = "pass" if passed else "fail"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)} {_badge(status)}</h1>"
        '<p class="muted">Generated by Lakeforge (lakeforge.synth.evaluate). Scores: 1.0 is '
        "identical to the real data; thresholds are listed beside every figure.</p>"
        f"{body}</body></html>"
    )


def render_single(d: Mapping[str, Any]) -> str:
    """The page of a single-table report (``SynthesisReport.to_dict()``)."""
    return _page(d["title"], bool(d["passed"]), _single_body(d))


def render_multi(d: Mapping[str, Any]) -> str:
    """The page of a multi-table report (``MultiTableReport.to_dict()``)."""
    parts = ["<h2>Relations</h2>", _verdict_cards(d["verdict"]), _checks_table(d["checks"])]
    if d.get("skipped"):
        parts.append(
            '<p class="muted">Skipped (a table not given): '
            + escape(", ".join(d["skipped"]))
            + "</p>"
        )
    if d["cardinality_charts"]:
        parts += [
            "<h2>Children per parent</h2>",
            _legend([("real", _REAL), ("synthetic", _SYNTH)]),
            '<div class="grid">',
        ]
        for label, chart in d["cardinality_charts"].items():
            title = f"{label} ({_f(d['cardinality'].get(label))})"
            parts.append(
                bar_chart(
                    title,
                    chart["labels"],
                    [("real", chart["real"], _REAL), ("synthetic", chart["synthetic"], _SYNTH)],
                    width=420,
                )
            )
        parts.append("</div>")
    if d["inter_table"]:
        parts.append(
            "<h2>Parent -> child trends</h2><table><tr><th>relation</th><th>parent column</th>"
            "<th>child column</th><th>metric</th><th>score</th></tr>"
        )
        for label, rel in d["inter_table"].items():
            for p in rel["pairs"]:
                parts.append(
                    f"<tr><td>{escape(label)}</td><td>{escape(p['column_1'])}</td>"
                    f"<td>{escape(p['column_2'])}</td><td>{escape(p['metric'])}</td>"
                    f'<td class="num">{_f(p["score"])}</td></tr>'
                )
        parts.append("</table>")
    summary = "".join(
        f"<tr><td>{escape(name)}</td><td>{_badge('pass' if t['passed'] else 'fail')}</td>"
        f'<td class="num">{_f(t["fidelity"]["quality"])}</td>'
        f'<td class="num">{_f(t["fidelity"]["column_shapes"])}</td>'
        f'<td class="num">{_f(t["fidelity"]["column_pair_trends"])}</td>'
        f'<td class="num">{_f(t["fidelity"]["discriminator_auc"])}</td></tr>'
        for name, t in d["tables"].items()
    )
    parts.append(
        "<h2>Tables</h2><table><tr><th>table</th><th>result</th><th>quality</th>"
        "<th>column shapes</th><th>pair trends</th><th>discriminator AUC</th></tr>"
        f"{summary}</table>"
    )
    for name, t in d["tables"].items():
        parts.append(f"<h2>Table {escape(name)}</h2>{_single_body(t, level=3)}")
    return _page(d["title"], bool(d["passed"]), "".join(parts))
