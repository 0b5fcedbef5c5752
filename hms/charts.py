"""Charts drawn on the server as small SVG: they need no JavaScript, print, and go into PDFs.

Each function returns markup that is safe to put straight into a Jinja template. The SVG is
sized by its viewBox only, so CSS scales it to the page; colours and fonts are presentation
attributes (not classes), because WeasyPrint draws inline SVG without the page's stylesheet.
A chart is a picture of a table that sits beside it: role="img" with a <title> and an
aria-label names it, and the numbers themselves are read from the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 600  # the per-day chart; bar charts are narrower, to sit beside their table
BARS_WIDTH = 400
BAR = "#0b5cad"
GRID = "#c9d1d9"
INK = "#1b1f24"
LABEL_CHARS = 22


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least the value (1 for nothing)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _number(value: float, suffix: str = "") -> str:
    """12 → '12', 12.54 → '12.5' (as the tables beside the charts print them), then a unit."""
    return (f"{value:.1f}" if isinstance(value, float) else str(value)) + suffix


def _short(label: str) -> str:
    """A label cut to fit the chart's margin; the table beside it has it in full."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _frame(title: str, width: int, height: int, body: list[str]) -> Markup:
    """The <svg> element around a chart's shapes, named for assistive technology."""
    name = escape(title)
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{name}"><title>{name}</title>'
        f'<g font-family="sans-serif" font-size="12" fill="{INK}">{"".join(body)}</g></svg>'
    )


def _empty(title: str, width: int) -> Markup:
    return _frame(title, width, 40, [f'<text x="{width // 2}" y="24" text-anchor="middle">'
                                     "Nothing to show for this period</text>"])


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, *,
              suffix: str = "", max_value: float | None = None) -> Markup:
    """Horizontal bars, one per label (a department, a doctor, a status), the value at the end."""
    if not labels:
        return _empty(title, BARS_WIDTH)
    row, label_w, value_w = 24, 150, 50
    plot_w = BARS_WIDTH - label_w - value_w
    top = max_value or max(values, default=0) or 1  # no axis here: the longest bar fills
    height = row * len(labels) + 8
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row
        width = round(plot_w * min(value, top) / top, 1)
        text = escape(_short(label))
        number = _number(value, suffix)
        body.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{text}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row - 6}" fill="{BAR}">'
            f"<title>{escape(label)}: {number}</title></rect>"
            f'<text x="{label_w + width + 5}" y="{y + 16}">{number}</text>'
        )
    return _frame(title, BARS_WIDTH, height, body)


def _day_label(day: dt.date, days: int) -> str | None:
    """Every day of a week is labelled; in a longer period, only the Mondays."""
    if days <= 10:
        return f"{day:%a} {day.day}"
    return f"{day.day} {day:%b}" if day.weekday() == 0 else None


def daily_chart(days: Sequence[dt.date], counts: Sequence[int], title: str) -> Markup:
    """One column per clinic day, with the scale's top and middle marked on the left."""
    if not days:
        return _empty(title, WIDTH)
    height, left, right, bottom, top_pad = 200, 32, 24, 22, 10
    plot_h = height - bottom - top_pad
    band = (WIDTH - left - right) / len(days)
    top = nice_ceiling(max(counts, default=0) or 1)
    base = height - bottom
    body = []
    for mark in sorted({0, top // 2 if top % 2 == 0 else 0, top}):
        y = round(base - plot_h * mark / top, 1)
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
                    f'<text x="{left - 4}" y="{y + 4}" text-anchor="end">{_number(mark)}</text>')
    bars = []
    for i, (day, count) in enumerate(zip(days, counts, strict=True)):
        x = left + i * band
        h = round(plot_h * count / top, 1)
        bars.append(f'<rect x="{round(x + band * 0.15, 1)}" y="{round(base - h, 1)}" '
                    f'width="{round(band * 0.7, 1)}" height="{h}">'
                    f"<title>{day:%a %-d %b}: {count}</title></rect>")
        label = _day_label(day, len(days))
        if label:
            body.append(f'<text x="{round(x + band / 2, 1)}" y="{height - 6}" '
                        f'text-anchor="middle">{label}</text>')
    body.append(f'<g fill="{BAR}">{"".join(bars)}</g>')
    return _frame(title, WIDTH, height, body)
