"""A small line chart as inline SVG (no script, no external file)."""

from __future__ import annotations

from collections.abc import Sequence

from ._html import esc

__all__ = ["line_chart"]

_W, _H, _PAD = 300, 80, 24


def line_chart(
    title: str, points: Sequence[tuple[float, float]], window: float, unit: str = ""
) -> str:
    """An SVG chart of ``points`` ``(seconds before now, value)``, labelled with ``title``
    and the latest value; the time axis spans the points held, up to ``window`` seconds."""
    top = max([v for _, v in points] + [1.0])
    span = min(window, -min(t for t, _ in points)) if len(points) > 1 else window
    span = span if span > 0 else window
    latest = f"{points[-1][1]:,.1f}".removesuffix(".0") + unit if points else "no data yet"

    def xy(t: float, v: float) -> str:
        x = _PAD + (_W - 2 * _PAD) * max(0.0, 1 + t / span)
        y = _H - _PAD + 8 - (_H - _PAD - 12) * (v / top)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(t, v) for t, v in points)
    since = f"-{span / 60:.1f} min" if span >= 120 else f"-{span:.0f} s"
    return (
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-label="{esc(title)}">'
        f'<text x="{_PAD}" y="12" class="t">{esc(title)}: {esc(latest)}</text>'
        f'<line x1="{_PAD}" y1="{_H - _PAD + 8}" x2="{_W - _PAD}" y2="{_H - _PAD + 8}" '
        'class="axis"/>'
        f'<text x="{_W - _PAD}" y="{_H - 2}" class="l" text-anchor="end">now</text>'
        f'<text x="{_PAD}" y="{_H - 2}" class="l">{since}</text>'
        f'<text x="{_PAD - 3}" y="24" class="l" text-anchor="end">{top:,.0f}</text>'
        + (f'<polyline points="{line}" class="line"/>' if len(points) > 1 else "")
        + "</svg>"
    )
