"""The backtest report: one self-contained HTML page with inline SVG charts and metric tables.

Per sample series: the recent history, the backtest forecast over the held-out window, and
the forecast ahead with its intervals; then the gain over SeasonalNaive, the metrics by
series class, the models chosen and one row per series. No scripts, no outside files.

Example:
    >>> page = backtest_report(model, "daily_sales.units")  # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

__all__ = ["backtest_report"]

WIDTH, HEIGHT, PAD = 640, 220, 34
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2933;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #d5dbe1;padding:3px 8px;text-align:right}
th{background:#f0f3f6}td.l,th.l{text-align:left}
.gain{font-size:20px;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figcaption{font-size:12px;color:#52606d;max-width:640px}
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    head = "".join(
        f"<th class='{'l' if c in left else ''}'>{html.escape(str(c))}</th>" for c in frame.columns
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td class='{'l' if c in left else ''}'>{_fmt(v)}</td>"
            for c, v in zip(frame.columns, record, strict=True)
        )
        + "</tr>"
        for record in frame.itertuples(index=False)
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def _points(xs: np.ndarray, ys: np.ndarray, scale_x: Any, scale_y: Any) -> str:
    return " ".join(f"{scale_x(x):.1f},{scale_y(y):.1f}" for x, y in zip(xs, ys, strict=True))


def _chart(
    history: pd.DataFrame, backtest: pd.DataFrame, forecast: pd.DataFrame, level: int | None
) -> str:
    """An SVG of history (grey), backtest forecast (dashed) and forecast with its band."""
    n_hist, n_fc = len(history), len(forecast)
    total = max(n_hist + n_fc, 2)
    values = [history["y"].to_numpy(dtype=float), forecast["forecast"].to_numpy(dtype=float)]
    if level is not None:
        values.append(forecast[f"hi_{level}"].to_numpy(dtype=float))
        values.append(forecast[f"lo_{level}"].to_numpy(dtype=float))
    if len(backtest):
        values.append(backtest["chosen"].to_numpy(dtype=float))
    stacked = np.concatenate(values) if values else np.zeros(1)
    stacked = stacked[np.isfinite(stacked)]
    low = float(stacked.min()) if len(stacked) else 0.0
    high = float(stacked.max()) if len(stacked) else 1.0
    if high <= low:
        high = low + 1.0

    def sx(x: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * x / (total - 1)

    def sy(y: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (y - low) / (high - low)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
        f"viewBox='0 0 {WIDTH} {HEIGHT}' role='img'>",
        f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
        f"<line x1='{PAD}' y1='{HEIGHT - PAD}' x2='{WIDTH - PAD}' y2='{HEIGHT - PAD}' "
        "stroke='#9aa5b1'/>",
        f"<text x='4' y='{sy(high) + 4:.0f}' font-size='10'>{high:.3g}</text>",
        f"<text x='4' y='{sy(low) + 4:.0f}' font-size='10'>{low:.3g}</text>",
    ]
    xs_fc = np.arange(n_hist, n_hist + n_fc, dtype=float)
    if level is not None and n_fc:
        upper = forecast[f"hi_{level}"].to_numpy(dtype=float)
        lower = forecast[f"lo_{level}"].to_numpy(dtype=float)
        band = _points(xs_fc, upper, sx, sy) + " " + _points(xs_fc[::-1], lower[::-1], sx, sy)
        parts.append(f"<polygon points='{band}' fill='#9ecae1' fill-opacity='0.5'/>")
    if n_hist:
        xs = np.arange(n_hist, dtype=float)
        line = _points(xs, history["y"].to_numpy(dtype=float), sx, sy)
        parts.append(f"<polyline points='{line}' fill='none' stroke='#52606d' stroke-width='1'/>")
        start = str(history["ds"].iloc[0])[:10]
        parts.append(f"<text x='{PAD}' y='{HEIGHT - 12}' font-size='10'>{start}</text>")
    if len(backtest) and n_hist:
        where = {str(d): i for i, d in enumerate(history["ds"])}
        spots = [where.get(str(d)) for d in backtest["ds"]]
        keep = [i for i, s in enumerate(spots) if s is not None]
        if keep:
            xs = np.array([spots[i] for i in keep], dtype=float)
            ys = backtest["chosen"].to_numpy(dtype=float)[keep]
            parts.append(
                f"<polyline points='{_points(xs, ys, sx, sy)}' fill='none' stroke='#e4572e' "
                "stroke-width='1.5' stroke-dasharray='4 2'/>"
            )
    if n_fc:
        line = _points(xs_fc, forecast["forecast"].to_numpy(dtype=float), sx, sy)
        parts.append(f"<polyline points='{line}' fill='none' stroke='#1f77b4' stroke-width='2'/>")
        end = str(forecast["ds"].iloc[-1])[:10]
        parts.append(
            f"<text x='{WIDTH - PAD}' y='{HEIGHT - 12}' font-size='10' "
            f"text-anchor='end'>{end}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _samples(selection: pd.DataFrame, count: int) -> list[str]:
    """Series worth looking at: the largest gains, the largest losses, then the longest."""
    scored = selection.dropna(subset=["gain_over_seasonal_naive"])
    scored = scored.sort_values("gain_over_seasonal_naive")
    picks: list[str] = []
    half = max(count // 2, 1)
    for uid in [*scored["unique_id"].iloc[::-1].head(half), *scored["unique_id"].head(half)]:
        if str(uid) not in picks:
            picks.append(str(uid))
    for uid in selection["unique_id"]:
        if len(picks) >= count:
            break
        if str(uid) not in picks:
            picks.append(str(uid))
    return picks[:count]


def backtest_report(model: Any, title: str, *, samples: int = 6, rows: int = 300) -> str:
    """The HTML page of a fitted :class:`~lakeforge.products.forecast.Forecaster`'s backtest."""
    summary = model.backtest_summary()
    selection: pd.DataFrame = model.selection_
    levels = list(model.forecast_levels_)
    level = max(levels) if levels else None
    forecast = model.predict() if model.forecast_ is not None else None
    history: pd.DataFrame = model.history_
    backtest: pd.DataFrame = model.backtest_
    gain = summary.get("gain_over_seasonal_naive", float("nan"))
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Backtest {html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Backtest of {html.escape(title)}</h1>",
        f"<p class='gain'>Gain over SeasonalNaive (backtest MASE): {_fmt(gain)} "
        f"(chosen {_fmt(summary.get('mase'))} vs SeasonalNaive "
        f"{_fmt(summary.get('seasonal_naive_mase'))})</p>",
    ]
    facts = pd.DataFrame(
        [(k, v) for k, v in summary.items() if not isinstance(v, dict)],
        columns=["measure", "value"],
    )
    out.append(_table(facts, left=("measure",)))
    out.append("<h2>Sample series</h2><div class='charts'>")
    band = f", {level}% interval shaded" if level and forecast is not None else ""
    if forecast is None:
        band += " (no forecast ahead: the model needs future exogenous values)"
        level = None
    for uid in _samples(selection, samples):
        past = history[history["unique_id"] == uid].tail(4 * model.horizon)
        if forecast is None:
            ahead = pd.DataFrame({"unique_id": [], "ds": [], "forecast": []})
        else:
            ahead = forecast[forecast[model.id_col] == uid].rename(
                columns={model.id_col: "unique_id", model.time_col: "ds"}
            )
        tested = (
            backtest[backtest["unique_id"] == uid] if "chosen" in backtest else backtest.iloc[:0]
        )
        info = selection[selection["unique_id"] == uid].iloc[0]
        out.append(
            f"<figure>{_chart(past, tested, ahead, level)}<figcaption>"
            f"<b>{html.escape(uid)}</b>: {html.escape(str(info['reason']))}. History grey, "
            f"backtest forecast dashed red, forecast blue{band}.</figcaption></figure>"
        )
    out.append("</div>")
    if "chosen" in backtest:
        by_class = []
        for series_class, part in selection.groupby("series_class"):
            row: dict[str, Any] = {
                "class": series_class,
                "series": len(part),
                "MASE chosen": part["cv_mase"].mean(),
                "MASE SeasonalNaive": part["seasonal_naive_mase"].mean(),
                "gain": 1 - part["cv_mase"].mean() / part["seasonal_naive_mase"].mean(),
            }
            tested = backtest[backtest["series_class"] == series_class]
            for lv in levels:
                row[f"coverage {lv}%"] = tested[f"covered_{lv}"].mean() if len(tested) else None
            by_class.append(row)
        out.append("<h2>By series class</h2>" + _table(pd.DataFrame(by_class), left=("class",)))
    members = selection["members"].str.split(",").explode().value_counts()
    chosen = pd.DataFrame({"model": members.index, "series using it": members.to_numpy()})
    out.append("<h2>Models chosen</h2>" + _table(chosen, left=("model",)))
    columns = ["unique_id", "series_class", "members", "cv_mase", "seasonal_naive_mase"]
    columns += ["gain_over_seasonal_naive", "reason"]
    listed = selection[columns].head(rows)
    out.append(
        f"<h2>Per series (first {len(listed)} of {len(selection)})</h2>"
        + _table(listed, left=("unique_id", "series_class", "members", "reason"))
    )
    out.append("</body></html>")
    return "".join(out)
