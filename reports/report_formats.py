"""The monthly (or yearly) report in its four formats: text (the spec's "Monthly Incident
Report"), md, html (self-contained, inline SVG charts) and json. Each renders the typed
report reports/monthly.py builds (reports/report_model.py; json is its as_json()); stored text (improvement titles, ids, categories) is
data in every format: escaped for a terminal, Markdown or HTML, never obeyed.
"""
from __future__ import annotations

import calendar
import html
import json
from playbooks.errors import PolicyValueError
from reports.markdown import md_cell, md_line, visible
from reports.report_model import ChartSeries, DurationStats, PeriodReport
from reports.safe_html import CSP_META
from reports.statistics import SEVERITIES

FORMATS = ("text", "md", "html", "json")

def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def stat_text(stats: DurationStats, unit: str) -> str:
    if stats.count == 0:
        return "no data"
    return f"{_num(stats.mean)} {unit} (median {_num(stats.median)}, p90 {_num(stats.p90)}, n={stats.count})"


def _key_label(key: str) -> str:
    """"2024-01" -> "January 2024"; a year stays as it is."""
    if len(key) == 7:
        year, month = map(int, key.split("-"))
        return f"{calendar.month_name[month]} {year}"
    return key


def period_label(report: PeriodReport) -> str:
    return _key_label(report.period.key)


def previous_label(report: PeriodReport) -> str:
    return _key_label(report.trend.vs)


def _change(pct: float | None, better: str, worse: str) -> str | None:
    if pct is None:
        return None
    if pct == 0:
        return "unchanged"
    return f"{better} by {abs(pct):.1f}%" if pct < 0 else f"{worse} by {pct:.1f}%"


def trend_lines(report: PeriodReport) -> list[str]:
    """The trend in words ("Response time (MTTA) improved by 15.0% vs. December 2023")."""
    t, vs, total = report.trend, previous_label(report), report.figures.total
    lines = []
    for pct, what, better, worse in (
        (t.mtta_pct, "Response time (MTTA)", "improved", "worsened"),
        (t.mttd_pct, "Detection time (MTTD)", "reduced", "grew"),
        (t.mttr_pct, "Resolution time (MTTR)", "improved", "worsened"),
    ):
        change = _change(pct, better, worse)
        lines.append(f"{what} {change} vs. {vs}" if change else f"{what}: no comparison with {vs} (no data)")
    if t.total_pct is None:
        lines.append(f"Incidents: {total} (none in {vs} to compare)")
    else:
        sign = "+" if t.total_pct > 0 else ""
        lines.append(f"Incidents: {total} ({sign}{t.total_pct:.1f}% vs. {vs})")
    return lines


def sla_line(report: PeriodReport) -> str:
    pct = report.figures.within_sla_pct
    if pct is None:
        return "No incidents to measure against the SLA"
    return f"{pct:.1f}% of incidents acknowledged within their severity's response time"


def satisfaction_line(report: PeriodReport) -> str:
    """The spec's line: "Customer satisfaction: 4.2/5.0 (+0.3 vs. December 2023)"; without the
    change when the previous period has no score; in words when this one has none."""
    csat = report.customer_satisfaction
    if csat.mean is None:
        return f"Customer satisfaction: no scores recorded for the incidents of {period_label(report)}"
    line = f"Customer satisfaction: {csat.mean:.1f}/5.0"
    if csat.change is None:
        return line
    change = f"{csat.change:+.1f}"
    return f"{line} ({'+0.0' if change == '-0.0' else change} vs. {previous_label(report)})"


DEFAULT_NAMES = {"SEV-1": "critical", "SEV-2": "high", "SEV-3": "medium", "SEV-4": "low"}


def _tree(lines: list[str]) -> list[str]:
    return [("└── " if i == len(lines) - 1 else "├── ") + line for i, line in enumerate(lines)]


def _kind(report: PeriodReport) -> str:
    return "Yearly" if report.is_year else "Monthly"


def _metrics(report: PeriodReport) -> tuple[tuple[str, DurationStats], ...]:
    f = report.figures
    return (("MTTD (minutes)", f.mttd_minutes), ("MTTA, time to response (minutes)", f.mtta_minutes),
            ("MTTR, time to resolution (hours)", f.mttr_hours))


def render_text(report: PeriodReport, names: dict[str, str] | None = None) -> str:
    names = names or DEFAULT_NAMES
    kind, f = _kind(report), report.figures
    title = f"{kind} Incident Report"
    out = [title, "=" * len(title), "", f"📊 Incident Statistics ({period_label(report)})"]
    out += _tree([f"Total Incidents: {f.total}"] + [
        f"{visible(sev)} ({visible(names.get(sev, sev).capitalize())}): {n} incident{'s' if n != 1 else ''}"
        for sev, n in f.by_severity])
    out += ["", "⏱️ Response Time Metrics (mean; median and nearest-rank p90)"]
    out += _tree([
        f"Mean Time to Detection (MTTD): {stat_text(f.mttd_minutes, 'minutes')}",
        f"Mean Time to Response (MTTA): {stat_text(f.mtta_minutes, 'minutes')}",
        f"Mean Time to Resolution (MTTR): {stat_text(f.mttr_hours, 'hours')}",
    ])
    out += ["", "📈 Trends and Improvements"]
    out += _tree(trend_lines(report) + [sla_line(report), satisfaction_line(report)])
    out += ["", f"🎯 Key Improvements This {'Month' if kind == 'Monthly' else 'Year'}"]
    # A title is shown with its control characters escaped: this text goes to a terminal.
    improvements = [f"{visible(i.title)} ({visible(i.incident_id)}, {visible(i.category)}, {i.completed_on})"
                    for i in report.improvements]
    out += _tree(improvements or ["none recorded"])
    if report.is_year:
        out += ["", "📅 By Month"]
        out += _tree([f"{m.month}: {m.figures.total} incidents, MTTA mean {_num(m.figures.mtta_minutes.mean)} min, "
                      f"MTTR mean {_num(m.figures.mttr_hours.mean)} h, within SLA "
                      f"{_num(m.figures.within_sla_pct)}%" if m.figures.total else f"{m.month}: no incidents"
                      for m in report.months])
    out += ["", "Definitions:"]
    out += [f"  {key.upper() if key.startswith('mtt') else key.replace('_', ' ')}: {text}"
            for key, text in report.definitions]
    return "\n".join(out) + "\n"


def _md_stat(stats: DurationStats) -> list[str]:
    return [_num(stats.mean), _num(stats.median), _num(stats.p90), str(stats.count)]


def render_markdown(report: PeriodReport, names: dict[str, str] | None = None) -> str:
    names = names or DEFAULT_NAMES
    f = report.figures
    out = [f"# {_kind(report)} Incident Report — {period_label(report)}", "", "## Incident statistics", "",
           "| severity | incidents |", "| --- | ---: |"]
    out += [f"| {md_cell(sev)} ({md_cell(names.get(sev, sev))}) | {n} |" for sev, n in f.by_severity]
    out += [f"| **total** | **{f.total}** |", "", "## Response time metrics", "",
            "| metric | mean | median | p90 | n |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, stats in _metrics(report):
        out.append(f"| {label} | " + " | ".join(_md_stat(stats)) + " |")
    out += ["", "## Trends", ""] + [f"- {line}" for line in trend_lines(report) + [sla_line(report),
                                                                                  satisfaction_line(report)]]
    out += ["", "## Improvements completed", ""]
    out += [f"- {md_line(i.title)} ({md_line(i.incident_id)}, {md_line(i.category)}, {i.completed_on})"
            for i in report.improvements] or ["- none recorded"]
    if report.is_year:
        out += ["", "## By month", "", "| month | incidents | MTTD mean (min) | MTTA mean (min) | MTTR mean (h) | "
                "within SLA |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {m.month} | {m.figures.total} | {_num(m.figures.mttd_minutes.mean)} | "
                f"{_num(m.figures.mtta_minutes.mean)} | {_num(m.figures.mttr_hours.mean)} | "
                f"{_num(m.figures.within_sla_pct)}% |" for m in report.months]
    out += ["", "## Definitions", ""] + [f"- **{key}**: {text}" for key, text in report.definitions]
    return "\n".join(out) + "\n"


def render_html(report: PeriodReport, charts: ChartSeries | None, names: dict[str, str] | None = None) -> str:
    from reports.charts import line_chart_svg, stacked_bars_svg

    names = names or DEFAULT_NAMES
    esc = html.escape
    f = report.figures
    title = f"{_kind(report)} Incident Report — {period_label(report)}"
    parts = [
        "<!DOCTYPE html>", f"<html lang=\"en\"><head><meta charset=\"utf-8\">{CSP_META}", f"<title>{esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em}"
        "td.n{text-align:right}.charts{display:flex;flex-wrap:wrap;gap:1em}dt{font-weight:bold}</style>",
        "</head><body>", f"<h1>{esc(title)}</h1>",
        "<h2>Incident statistics</h2><table><tr><th>severity</th><th>incidents</th></tr>",
    ]
    parts += [f"<tr><td>{esc(sev)} ({esc(names.get(sev, sev))})</td><td class=\"n\">{n}</td></tr>"
              for sev, n in f.by_severity]
    parts.append(f"<tr><th>total</th><td class=\"n\"><b>{f.total}</b></td></tr></table>")
    parts.append("<h2>Response time metrics</h2><table><tr><th>metric</th><th>mean</th><th>median</th><th>p90</th>"
                 "<th>n</th></tr>")
    for label, stats in _metrics(report):
        parts.append(f"<tr><td>{label}</td>" + "".join(f"<td class=\"n\">{esc(v)}</td>" for v in _md_stat(stats))
                     + "</tr>")
    parts.append("</table><h2>Trends</h2><ul>")
    parts += [f"<li>{esc(line)}</li>" for line in trend_lines(report) + [sla_line(report), satisfaction_line(report)]]
    parts.append("</ul>")
    if charts is not None:
        parts.append("<h2>Charts</h2><div class=\"charts\">")
        parts.append(stacked_bars_svg(charts.weeks, SEVERITIES, "Incidents per week by severity"))
        for label, unit, points in (
            ("MTTD mean", "min", [(m.month, m.mttd_minutes) for m in charts.months]),
            ("MTTA mean", "min", [(m.month, m.mtta_minutes) for m in charts.months]),
            ("MTTR mean", "h", [(m.month, m.mttr_hours) for m in charts.months]),
        ):
            parts.append(line_chart_svg(points, label, unit))
        parts.append("</div>")
    parts.append("<h2>Improvements completed</h2><ul>")
    parts += [f"<li>{esc(i.title)} ({esc(i.incident_id)}, {esc(i.category)}, {esc(i.completed_on)})</li>"
              for i in report.improvements] or ["<li>none recorded</li>"]
    parts.append("</ul>")
    if report.is_year:
        parts.append("<h2>By month</h2><table><tr><th>month</th><th>incidents</th><th>MTTD mean (min)</th>"
                     "<th>MTTA mean (min)</th><th>MTTR mean (h)</th><th>within SLA</th></tr>")
        parts += [f"<tr><td>{m.month}</td><td class=\"n\">{m.figures.total}</td><td class=\"n\">"
                  f"{_num(m.figures.mttd_minutes.mean)}</td><td class=\"n\">{_num(m.figures.mtta_minutes.mean)}"
                  f"</td><td class=\"n\">{_num(m.figures.mttr_hours.mean)}</td><td class=\"n\">"
                  f"{_num(m.figures.within_sla_pct)}%</td></tr>" for m in report.months]
        parts.append("</table>")
    parts.append("<h2>Definitions</h2><dl>")
    parts += [f"<dt>{esc(key)}</dt><dd>{esc(text)}</dd>" for key, text in report.definitions]
    parts.append("</dl></body></html>")
    return "\n".join(parts) + "\n"


def render(report: PeriodReport, fmt: str, *, charts: ChartSeries | None = None,
           names: dict[str, str] | None = None) -> str:
    if fmt == "json":
        return json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return render_markdown(report, names)
    if fmt == "html":
        return render_html(report, charts, names)
    if fmt == "text":
        return render_text(report, names)
    raise PolicyValueError(f"format {fmt} is not a report format; accepted: {', '.join(FORMATS)}")
