"""Bar charts drawn on the server as SVG: no script, no inline style, no third-party request.

Colours come from classes styled in static/stats.css; each chart is labelled and followed by its table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 56
# More than this many labels under the bars overlap on a phone: only every n-th label is drawn.
MAX_X_LABELS = 12
# At most this many intervals on the vertical axis: readable at a glance, and the grid does not crowd small charts.
MAX_TICKS = 5


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    values: Sequence[float]


def ticks(value: float, *, integer: bool = True) -> list[float]:
    """Graduations from 0 to a round maximum at or above ``value``, at most MAX_TICKS intervals; for counts the
    step is a whole number (1, 2, 5 × 10ⁿ), so no axis reads « 1,25 tchat »."""
    if value <= 0:
        return [0.0, 1.0]
    rough = value / MAX_TICKS
    power = 10 ** math.floor(math.log10(rough))
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= rough)
    if integer:
        step = max(1.0, float(round(step)))
    count = math.ceil(value / step - 1e-9)
    return [step * n for n in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _open(title_id: str, title: str, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg class="stats-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{title_id}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(title)}</title>',
    ]


def _svg(parts: list[str]) -> Markup:
    # Every piece of text in ``parts`` went through html.escape; numbers and class names are ours.
    return Markup("".join(parts))  # noqa: S704


def _grid(graduations: Sequence[float]) -> list[str]:
    parts = []
    plot = HEIGHT - TOP - BOTTOM
    top = graduations[-1]
    for value in graduations:
        y = HEIGHT - BOTTOM - plot * value / top
        parts.append(f'<line class="stats-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="stats-axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{_number(value)}</text>')
    return parts


def stacked_bars(title_id: str, title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Vertical bars, one per label, each stacking the series in order from the bottom; with a legend."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    graduations = ticks(max(totals, default=0))
    top = graduations[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = max(1.0, slot * 0.7)
    parts = [*_open(title_id, title), *_grid(graduations)]
    every = math.ceil(len(labels) / MAX_X_LABELS) if labels else 1
    for i, label in enumerate(labels):
        x = LEFT + i * slot + (slot - bar) / 2
        base = float(HEIGHT - BOTTOM)
        for s in series:
            h = plot_h * s.values[i] / top
            if h > 0:
                parts.append(f'<rect class="{s.css}" x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                             f'height="{h:.1f}"><title>{escape(label)} — {escape(s.label)} : '
                             f'{_number(s.values[i])}</title></rect>')
            base -= h
        if i % every == 0:
            parts.append(f'<text class="stats-axis" x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    legend_x = float(LEFT)
    for s in series:
        parts.append(f'<rect class="{s.css}" x="{legend_x:.0f}" y="{HEIGHT - 22}" width="12" height="12"/>')
        parts.append(f'<text class="stats-legend" x="{legend_x + 16:.0f}" y="{HEIGHT - 12}">'
                     f'{escape(s.label)}</text>')
        legend_x += 24 + 8 * len(s.label)
    parts.append("</svg>")
    return _svg(parts)


def horizontal_bars(title_id: str, title: str, items: Sequence[tuple[str, float, str]], css: str) -> Markup:
    """One horizontal bar per item (label, value, value as text), longest value spanning the width."""
    row, label_w = 30, 290
    height = TOP + row * len(items) + 8
    top = max((value for _, value, _ in items), default=0) or 1
    plot_w = WIDTH - label_w - 110
    parts = _open(title_id, title, height)
    for i, (label, value, text) in enumerate(items):
        y = TOP + i * row
        w = plot_w * value / top
        parts.append(f'<text class="stats-label" x="{label_w - 8}" y="{y + 18}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect class="{css}" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 10}"/>')
        parts.append(f'<text class="stats-value" x="{label_w + w + 6:.1f}" y="{y + 18}">{escape(text)}</text>')
    parts.append("</svg>")
    return _svg(parts)
