"""Charts of the monthly report as inline SVG: no image file, no script, no external resource.

Two charts are needed (posts per day; tweets and engagement per week): a few dozen
rectangles and a polyline. Writing them out costs less than a plotting library in the
Lambda layer (matplotlib alone weighs more than the whole layer), and the result is text
that the HTML report embeds as is.

Every chart is a standalone, well-formed SVG document fragment (it parses as XML):
text is escaped, no HTML entity such as ``&nbsp;`` is used (the character itself is),
and it carries ``role="img"`` with a ``<title>`` and a ``<desc>`` for screen readers.
Each bar has its own ``<title>`` (a tooltip with its exact value).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

__all__ = ["Bar", "bar_chart", "bars_and_line_chart", "nice_step"]

WIDTH: Final = 720
HEIGHT: Final = 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 64, 20, 44
BAR_COLOR: Final = "#0b4f9c"
LINE_COLOR: Final = "#b3261e"
_INK = "#1a1a1a"
_MUTED = "#4a4a4a"
_GRID = "#dcdcdc"
_FONT = "system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif"


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its axis label, its value, and the tooltip that says it in words."""

    label: str
    value: float
    tooltip: str = ""


def _x(text: object) -> str:
    """Text or attribute value, escaped for XML (and HTML)."""
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def nice_step(maximum: float, ticks: int = 4, *, integer: bool = True) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving at most ``ticks`` intervals."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw and (not integer or (step >= 1 and float(step).is_integer())):
            return float(step)
    return float(10 * power if not integer else max(1, math.ceil(raw)))


def _axis_top(maximum: float, *, integer: bool) -> tuple[float, float]:
    step = nice_step(maximum, integer=integer)
    top = step * max(1, math.ceil(maximum / step)) if maximum > 0 else step
    return top, step


def _count_fr(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u00a0")


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{_x(chart_id)}-title {_x(chart_id)}-desc" '
        f'font-family="{_FONT}" font-size="12" class="chart">',
        f'<title id="{_x(chart_id)}-title">{_x(title)}</title>',
        f'<desc id="{_x(chart_id)}-desc">{_x(description)}</desc>',
    ]


def _left_axis(
    lines: list[str], top: float, step: float, plot: tuple[float, float, float, float]
) -> None:
    left, upper, right, lower = plot
    value = 0.0
    while value <= top + 1e-9:
        y = lower - (lower - upper) * value / top
        lines.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        lines.append(
            f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" fill="{_MUTED}">'
            f"{_x(_count_fr(value) if float(value).is_integer() else _n(value))}</text>"
        )
        value += step
    lines.append(
        f'<line x1="{_n(left)}" y1="{_n(lower)}" x2="{_n(right)}" y2="{_n(lower)}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    )


def _bars(
    lines: list[str],
    bars: Sequence[Bar],
    top: float,
    plot: tuple[float, float, float, float],
    *,
    color: str,
    label_every: int,
) -> list[float]:
    """Draw the bars; return the x of each bar's centre."""
    left, upper, right, lower = plot
    slot = (right - left) / len(bars)
    width = max(slot * 0.7, 1.0)
    centres = []
    for index, bar in enumerate(bars):
        centre = left + slot * (index + 0.5)
        centres.append(centre)
        height = (lower - upper) * max(bar.value, 0) / top
        tooltip = bar.tooltip or f"{bar.label} : {_count_fr(bar.value)}"
        lines.append(
            f'<rect x="{_n(centre - width / 2)}" y="{_n(lower - height)}" '
            f'width="{_n(width)}" height="{_n(height)}" fill="{color}">'
            f"<title>{_x(tooltip)}</title></rect>"
        )
        if bar.value > 0 and slot >= 14:
            lines.append(
                f'<text x="{_n(centre)}" y="{_n(lower - height - 3)}" text-anchor="middle" '
                f'font-size="10" fill="{_INK}">{_x(_count_fr(bar.value))}</text>'
            )
        if index % label_every == 0:
            lines.append(
                f'<text x="{_n(centre)}" y="{_n(lower + 16)}" text-anchor="middle" '
                f'font-size="11" fill="{_MUTED}">{_x(bar.label)}</text>'
            )
    return centres


def _empty_notice(lines: list[str], plot: tuple[float, float, float, float], text: str) -> None:
    left, upper, right, lower = plot
    lines.append(
        f'<text x="{_n((left + right) / 2)}" y="{_n((upper + lower) / 2)}" '
        f'text-anchor="middle" font-size="14" fill="{_MUTED}">{_x(text)}</text>'
    )


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    axis_label: str = "",
    empty_text: str = "Aucune donnée",
    color: str = BAR_COLOR,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """A vertical bar chart of counts (one bar per day of a month, for instance)."""
    plot = (float(_LEFT), float(_TOP), float(width - 16), float(height - _BOTTOM))
    lines = _open(chart_id, title, description, width, height)
    maximum = max((bar.value for bar in bars), default=0)
    top, step = _axis_top(maximum, integer=True)
    _left_axis(lines, top, step, plot)
    if bars:
        slot = (plot[2] - plot[0]) / len(bars)
        _bars(lines, bars, top, plot, color=color, label_every=max(1, math.ceil(18 / slot)))
    if maximum <= 0:
        _empty_notice(lines, plot, empty_text)
    if axis_label:
        lines.append(
            f'<text x="{_n(plot[0])}" y="{_n(height - 6)}" font-size="11" fill="{_MUTED}">'
            f"{_x(axis_label)}</text>"
        )
    lines.append("</svg>")
    return "\n".join(lines)


def bars_and_line_chart(
    bars: Sequence[Bar],
    line: Sequence[float | None],
    *,
    chart_id: str,
    title: str,
    description: str,
    bar_legend: str,
    line_legend: str,
    line_format: Callable[[float], str],
    empty_text: str = "Aucune donnée",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Bars (counts, left axis) and a line (a rate, right axis) over the same categories.

    ``line`` has one value per bar; ``None`` leaves a gap (no point).
    """
    if len(line) != len(bars):
        raise ValueError("One line value per bar.")
    plot = (float(_LEFT), float(_TOP + 18), float(width - _RIGHT), float(height - _BOTTOM))
    left, upper, right, lower = plot
    lines = _open(chart_id, title, description, width, height)
    maximum = max((bar.value for bar in bars), default=0)
    top, step = _axis_top(maximum, integer=True)
    _left_axis(lines, top, step, plot)
    centres = _bars(lines, bars, top, plot, color=BAR_COLOR, label_every=1) if bars else []

    known = [value for value in line if value is not None]
    line_top = max(known, default=0.0)
    if line_top > 0:
        rate_step = nice_step(line_top, integer=False)
        rate_top = rate_step * math.ceil(line_top / rate_step - 1e-9)
        value = 0.0
        while value <= rate_top + rate_step / 1000:
            y = lower - (lower - upper) * value / rate_top
            lines.append(
                f'<text x="{_n(right + 6)}" y="{_n(y + 4)}" fill="{LINE_COLOR}">'
                f"{_x(line_format(value))}</text>"
            )
            value += rate_step
        segment: list[str] = []
        segments: list[list[str]] = []
        for centre, rate in zip(centres, line, strict=True):
            if rate is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            y = lower - (lower - upper) * rate / rate_top
            segment.append(f"{_n(centre)},{_n(y)}")
            lines.append(
                f'<circle cx="{_n(centre)}" cy="{_n(y)}" r="4" fill="{LINE_COLOR}">'
                f"<title>{_x(line_legend)} : {_x(line_format(rate))}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                lines.append(
                    f'<polyline points="{" ".join(points)}" fill="none" '
                    f'stroke="{LINE_COLOR}" stroke-width="2"/>'
                )
    if maximum <= 0 and line_top <= 0:
        _empty_notice(lines, plot, empty_text)
    # legend
    lines.append(f'<rect x="{_n(left)}" y="6" width="12" height="12" fill="{BAR_COLOR}"/>')
    lines.append(f'<text x="{_n(left + 18)}" y="16" fill="{_INK}">{_x(bar_legend)}</text>')
    legend_x = left + 26 + 7 * len(bar_legend)
    lines.append(
        f'<line x1="{_n(legend_x)}" y1="12" x2="{_n(legend_x + 16)}" y2="12" '
        f'stroke="{LINE_COLOR}" stroke-width="2"/>'
    )
    lines.append(f'<text x="{_n(legend_x + 22)}" y="16" fill="{_INK}">{_x(line_legend)}</text>')
    lines.append("</svg>")
    return "\n".join(lines)
