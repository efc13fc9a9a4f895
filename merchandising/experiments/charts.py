"""Inline SVG charts for the report page, drawn on the server (no scripts, no network).

Pure: no Django import. Every label is escaped, so names typed by merchants are safe to embed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

from . import stats

PALETTE = ("#3056d3", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285")
FONT = 'font-family="system-ui,sans-serif" font-size="11"'


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" style="max-width:{width}px;background:#fff">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1e-9 if lo == 0 else lo + abs(lo) * 0.1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        cx = x + i * 110
        out.append(
            f'<rect x="{cx}" y="{y - 8}" width="12" height="4" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(f'<text x="{cx + 16}" y="{y - 3}" {FONT}>{escape(name[:14])}</text>')
    return out


def cumulative_rate_chart(
    series: dict[str, list[dict]], *, width: int = 640, height: int = 240
) -> str:
    """Cumulative conversion rate per variant by day: {name: [{"day", "rate"}, ...]}."""
    title = "Cumulative conversion rate by day"
    names = list(series)
    days = max((len(v) for v in series.values()), default=0)
    rates = [p["rate"] for v in series.values() for p in v if p["rate"] is not None]
    if days == 0 or not rates:
        return _svg(
            width, 60, [f'<text x="10" y="35" {FONT}>No exposures rolled up yet.</text>'], title
        )
    left, right, top, bottom = 52, 12, 22, 28
    lo, hi = min(rates), max(rates)
    pad = (hi - lo) * 0.1 or max(hi * 0.1, 0.001)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)

    def sx(i: int) -> float:
        return left + (width - left - right) * (i / max(1, days - 1))

    def sy(r: float) -> float:
        return top + (height - top - bottom) * (1 - (r - lo) / (hi - lo or 1))

    body = [
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="none" stroke="#e4e7ec"/>'
    ]
    for t in _nice_ticks(lo, hi):
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#f0f1f3"/>'
        )
        body.append(
            f'<text x="{left - 4}" y="{sy(t) + 4:.1f}" text-anchor="end" {FONT}>{100 * t:.3g}%</text>'
        )
    first = next(iter(series.values()))
    for i in sorted({0, days - 1, (days - 1) // 2}):
        if i < len(first):
            anchor = "start" if i == 0 else "end" if i == days - 1 else "middle"
            body.append(
                f'<text x="{sx(i):.1f}" y="{height - 10}" text-anchor="{anchor}" {FONT}>{escape(first[i]["day"])}</text>'
            )
    for k, name in enumerate(names):
        pts = [(sx(i), sy(p["rate"])) for i, p in enumerate(series[name]) if p["rate"] is not None]
        if len(pts) == 1:
            body.append(
                f'<circle cx="{pts[0][0]:.1f}" cy="{pts[0][1]:.1f}" r="3" fill="{PALETTE[k % len(PALETTE)]}"/>'
            )
        elif pts:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            body.append(
                f'<polyline points="{d}" fill="none" stroke="{PALETTE[k % len(PALETTE)]}" stroke-width="2"/>'
            )
    body += _legend(names, left, 14)
    return _svg(width, height, body, title)


def uplift_interval_chart(
    rows: Sequence[tuple[str, float | None, float | None, float | None]],
    *,
    label: str,
    width: int = 640,
) -> str:
    """Forest plot of uplift intervals in points: rows of (name, estimate, low, high)."""
    title = f"Uplift against control ({label})"
    rows = [r for r in rows if r[1] is not None and r[2] is not None and r[3] is not None]
    if not rows:
        return _svg(width, 60, [f'<text x="10" y="35" {FONT}>No interval yet.</text>'], title)
    height = 40 + 34 * len(rows)
    left, right = 110, 20
    lo = min(0.0, *(r[2] for r in rows))
    hi = max(0.0, *(r[3] for r in rows))
    pad = (hi - lo) * 0.08 or 0.001
    lo, hi = lo - pad, hi + pad

    def sx(v: float) -> float:
        return left + (width - left - right) * (v - lo) / (hi - lo)

    body = [
        f'<line x1="{sx(0):.1f}" x2="{sx(0):.1f}" y1="10" y2="{height - 24}" stroke="#98a2b3" stroke-dasharray="4 3"/>'
    ]
    for t in _nice_ticks(lo, hi, 8):
        body.append(
            f'<text x="{sx(t):.1f}" y="{height - 8}" text-anchor="middle" {FONT}>{100 * t:+.3g}</text>'
        )
    for i, (name, est, low, high) in enumerate(rows):
        y = 26 + 34 * i
        color = "#2b8a3e" if low > 0 else "#b42318" if high < 0 else "#3056d3"
        body.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" {FONT}>{escape(name[:16])}</text>'
        )
        body.append(
            f'<line x1="{sx(low):.1f}" x2="{sx(high):.1f}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="3"/>'
        )
        body.append(f'<circle cx="{sx(est):.1f}" cy="{y}" r="5" fill="{color}"/>')
        body.append(
            f'<text x="{sx(est):.1f}" y="{y - 9}" text-anchor="middle" {FONT}>{100 * est:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}]</text>'
        )
    return _svg(width, height, body, title + ", in percentage points")


def posterior_chart(
    arms: Sequence[tuple[str, int, int]], *, width: int = 640, height: int = 220
) -> str:
    """Beta(1 + conversions, 1 + units - conversions) posterior density of each arm's rate."""
    title = "Posterior distribution of each variant's conversion rate"
    params = [(n, 1 + x, 1 + u - x) for n, u, x in arms]
    if not params:
        return _svg(width, 60, [f'<text x="10" y="35" {FONT}>No data.</text>'], title)
    means = [a / (a + b) for _, a, b in params]
    sds = [math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) for _, a, b in params]
    lo = max(0.0, min(m - 4.5 * s for m, s in zip(means, sds, strict=True)))
    hi = min(1.0, max(m + 4.5 * s for m, s in zip(means, sds, strict=True)))
    xs = np.linspace(lo, hi, 160)
    dens = [stats.beta_pdf(xs, a, b) for _, a, b in params]
    top_y = max(float(d.max()) for d in dens) or 1.0
    left, right, top, bottom = 20, 12, 22, 26

    def sx(v: float) -> float:
        return left + (width - left - right) * (v - lo) / (hi - lo or 1)

    def sy(d: float) -> float:
        return height - bottom - (height - top - bottom) * d / top_y

    body = [
        f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" stroke="#98a2b3"/>'
    ]
    for t in _nice_ticks(lo, hi):
        body.append(
            f'<text x="{sx(t):.1f}" y="{height - 8}" text-anchor="middle" {FONT}>{100 * t:.3g}%</text>'
        )
    for k, d in enumerate(dens):
        color = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, d, strict=True))
        body.append(
            f'<polyline points="{pts}" fill="{color}" fill-opacity="0.12" stroke="{color}" stroke-width="2"/>'
        )
    body += _legend([p[0] for p in params], left, 14)
    return _svg(width, height, body, title)
