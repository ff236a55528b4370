"""Inline SVG charts for the HTML report: no script, no external file, no dependency.

- stacked_bars_svg: incidents per week, one bar per week stacked by severity.
- line_chart_svg: one metric per month (a gap where a month has no value).
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from reports.report_model import WeekCounts

SEVERITY_COLOURS = {"SEV-1": "#d62728", "SEV-2": "#ff7f0e", "SEV-3": "#d4a017", "SEV-4": "#1f77b4"}
OTHER_COLOUR = "#7f7f7f"
FONT = 'font-family="system-ui,sans-serif" font-size="11"'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _fmt(value: float) -> str:
    return f"{value:g}"


def stacked_bars_svg(weeks: Sequence["WeekCounts"], severities: Sequence[str], title: str,
                     width: int = 620, height: int = 240) -> str:
    """weeks: one WeekCounts per week (its Monday and the count by severity) -> an <svg> element."""
    left, right, top, bottom = 36, 10, 28, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((sum(w.count_of(s) for s in severities) for w in weeks), default=0))
    slot = plot_w / max(len(weeks), 1)
    bar = max(slot * 0.75, 1.0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}" {FONT}>',
           f'<title>{escape(title)}</title>',
           f'<text x="{left}" y="14" font-weight="bold">{escape(title)}</text>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(peak * fraction)}</text>')
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        monday = week.week.isoformat()
        tip = ", ".join(f"{s} {week.count_of(s)}" for s in severities)
        for severity in reversed(severities):  # SEV-4 at the bottom, SEV-1 on top
            count = week.count_of(severity)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{SEVERITY_COLOURS.get(severity, OTHER_COLOUR)}"><title>week of {escape(monday)}: '
                       f'{escape(tip)}</title></rect>')
        if i % max(1, len(weeks) // 6) == 0:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                       f'{escape(monday[5:])}</text>')
    legend_x = left
    for severity in severities:
        out.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
                   f'fill="{SEVERITY_COLOURS.get(severity, OTHER_COLOUR)}"/>')
        out.append(f'<text x="{legend_x + 14}" y="{height - 5}">{escape(severity)}</text>')
        legend_x += 64
    out.append("</svg>")
    return "".join(out)


def line_chart_svg(points: Sequence[tuple[str, float | None]], title: str, unit: str,
                   width: int = 300, height: int = 180, colour: str = "#1f77b4") -> str:
    """points: [("2024-01", 8.3), ("2024-02", None), ...] -> an <svg> line chart."""
    left, right, top, bottom = 40, 14, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _, v in points if v is not None), default=0))
    step = plot_w / max(len(points) - 1, 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}" {FONT}>',
           f'<title>{escape(title)}</title>',
           f'<text x="{left}" y="14" font-weight="bold">{escape(title)} ({escape(unit)})</text>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(peak * fraction)}</text>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        x = left + i * step
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{escape(label[2:])}</text>')
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = top + plot_h * (1 - value / peak)
        segment.append(f"{x:.1f},{y:.1f}")
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(label)}: '
                   f'{value:g} {escape(unit)}</title></circle>')
    if segment:
        segments.append(segment)
    for points_text in segments:
        if len(points_text) > 1:
            out.append(f'<polyline points="{" ".join(points_text)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)
