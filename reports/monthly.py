"""The monthly (and yearly) incident report: counts, MTTD / MTTA / MTTR, SLA share, trend
against the previous period, and the improvements completed in it.

Definitions (stated in every output, as DESIGN.md gives them):
- A month is [YYYY-MM-01 00:00, the next month's first day 00:00) in UTC, by declared_at;
  a year likewise. Drills are left out of every figure.
- MTTD (time to detection) = detected_at - started_at; incidents without started_at are
  skipped for MTTD only.
- MTTA (the spec's "time to response") = acknowledged_at - detected_at, over the
  acknowledged incidents.
- MTTR (time to resolution) = resolved_at - detected_at, over the resolved incidents.
- Each is given as mean, median (the middle value; the mean of the two middle values for
  an even count) and p90 by the nearest-rank method (the ceil(0.9 x n)-th smallest value),
  with the count it was computed over; all null when there is no value.
- Within SLA = acknowledged by the severity's response deadline counted from detected_at
  (business hours or business days on the policy's calendar where the severity says so:
  the response_due_at the store computed); an incident never acknowledged is outside once
  its deadline has passed, and not counted while the deadline is still ahead (month to date).
- Trend = percent change of each mean and of the total against the previous period,
  null when either side has no value.
- Improvements = action items completed in the period (of incidents that are not drills).
- Customer satisfaction = the mean of the 1.0-5.0 scores recorded on the period's incidents
  that have one (`csat`, or the import's customer_satisfaction); change = that mean minus
  the previous period's, in points on the same scale (not percent); null when either side
  has no score. JSON: customer_satisfaction = {mean, scored_incidents, previous_mean,
  change, vs}.

The figures come from store.reporting (durations computed in SQL); this module only sums,
sorts and formats them. Formats: text (the spec's "Monthly Incident Report"), md, html
(self-contained, inline SVG charts) and json.
"""
from __future__ import annotations

import calendar
import html
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from playbooks.errors import PolicyValueError
from reports.markdown import md_cell, md_line, visible
from reports.safe_html import CSP_META
from playbooks.clock import iso_z
from store.reporting import PeriodColumns, PeriodTotals, completed_actions, monthly_means, period_columns, \
    period_totals, weekly_counts

if TYPE_CHECKING:
    from store.operations import IncidentStore

SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
FORMATS = ("text", "md", "html", "json")
CHART_MONTHS = 6
MONTH_FORM = re.compile(r"([0-9]{4})-([0-9]{2})")
YEAR_FORM = re.compile(r"[0-9]{4}")

DEFINITIONS = {
    "period": "UTC calendar month (or year) by declared_at; drills excluded",
    "mttd": "time to detection = detected_at - started_at (incidents without started_at skipped)",
    "mtta": "time to response (acknowledgement) = acknowledged_at - detected_at",
    "mttr": "time to resolution = resolved_at - detected_at",
    "median": "middle value (mean of the two middle values for an even count)",
    "p90": "nearest-rank 90th percentile: the ceil(0.9 x n)-th smallest value",
    "within_sla": "acknowledged by the severity's response deadline counted from detected_at, business hours "
                  "where the policy says so; never acknowledged counts as outside once the deadline has passed "
                  "(not counted while it is still ahead)",
    "trend": "percent change of the mean (and of the total) against the previous period",
    "customer_satisfaction": "mean of the 1.0-5.0 scores recorded on the period's incidents that have one; "
                             "change = that mean minus the previous period's, in points (not percent)",
}


# -- periods ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    kind: str  # month | year
    key: str  # YYYY-MM or YYYY
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y") if self.kind == "month" else self.key

    def previous(self) -> "Period":
        if self.kind == "year":
            return year_period(self.start.year - 1)
        last = self.start - timedelta(days=1)
        return month_period(last.year, last.month)

    def next(self) -> "Period":
        return year_period(self.end.year) if self.kind == "year" else month_period(self.end.year, self.end.month)

    def months(self) -> list["Period"]:
        if self.kind == "month":
            return [self]
        return [month_period(self.start.year, m) for m in range(1, 13)]


def month_period(year: int, month: int) -> Period:
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return Period("month", f"{year:04d}-{month:02d}", start, end)


def year_period(year: int) -> Period:
    return Period("year", f"{year:04d}", datetime(year, 1, 1), datetime(year + 1, 1, 1))


def parse_month(text: str) -> Period:
    """"2024-01" -> that month; anything else is one sentence naming what is accepted."""
    match = MONTH_FORM.fullmatch(str(text).strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise PolicyValueError(f"month {text} is not a month; accepted: YYYY-MM")
    return month_period(int(match[1]), int(match[2]))


def parse_year(text: str) -> Period:
    if not YEAR_FORM.fullmatch(str(text).strip()) or int(text) < 1900:
        raise PolicyValueError(f"year {text} is not a year; accepted: YYYY")
    return year_period(int(text))


def current_month(now: datetime) -> Period:
    """The month `now` is in (a report of it is month-to-date)."""
    return month_period(now.year, now.month)


# -- figures -----------------------------------------------------------------------------

def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def duration_stats(seconds: list[float], unit_s: float, *, ordered: bool = False) -> dict[str, Any]:
    """mean, median and nearest-rank p90 of durations, in the unit (60: minutes, 3600: hours)."""
    if not seconds:
        return {"mean": None, "median": None, "p90": None, "count": 0}
    values = seconds if ordered else sorted(seconds)
    n = len(values)
    middle = n // 2
    median = values[middle] if n % 2 else (values[middle - 1] + values[middle]) / 2
    p90 = values[math.ceil(0.9 * n) - 1]
    return {"mean": _round(math.fsum(values) / n / unit_s), "median": _round(median / unit_s),
            "p90": _round(p90 / unit_s), "count": n}


def _pct_change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 1)


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


@dataclass
class _Partial:
    """One part's (a month's) counts and sorted durations, combined for longer periods."""

    total: int
    by_severity: Counter
    detection: list[float]
    response: list[float]
    resolution: list[float]
    within: int
    judged: int  # incidents with a verdict: acknowledged, or past their deadline unacknowledged
    satisfaction: list[float]  # the scores of the incidents that have one


def _present(values: tuple) -> list[float]:
    present = [v for v in values if v is not None]
    present.sort()
    return present


def _partial(part: PeriodColumns) -> _Partial:
    return _Partial(part.total, Counter(part.severity), _present(part.detection_s), _present(part.response_s),
                    _present(part.resolution_s), part.within_sla.count(True),  # True == 1: SQLite's 1 counts
                    part.total - part.within_sla.count(None), _present(part.satisfaction))


def _merged(lists: list[list[float]]) -> list[float]:
    if len(lists) == 1:
        return lists[0]
    merged = [v for values in lists for v in values]
    merged.sort()  # Timsort merges the already sorted runs
    return merged


def _figures(partials: list[_Partial]) -> dict[str, Any]:
    total = sum(p.total for p in partials)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for p in partials:
        for severity, count in p.by_severity.items():
            by_severity[severity] = by_severity.get(severity, 0) + count
    detection = _merged([p.detection for p in partials])
    response = _merged([p.response for p in partials])
    resolution = _merged([p.resolution for p in partials])
    within = sum(p.within for p in partials)
    judged = sum(p.judged for p in partials)
    return {
        "total": total,
        "by_severity": by_severity,
        "mttd_minutes": duration_stats(detection, 60, ordered=True),
        "mtta_minutes": duration_stats(response, 60, ordered=True),
        "mttr_hours": duration_stats(resolution, 3600, ordered=True),
        "within_sla_pct": round(100 * within / judged, 1) if judged else None,
        "_means_s": (_mean(detection), _mean(response), _mean(resolution)),
    }


def summarize(parts: Iterable[PeriodColumns]) -> dict[str, Any]:
    """The figures of the incidents in `parts` (e.g. the months of a year); pure."""
    return _figures([_partial(part) for part in parts])


def trend(current: dict[str, Any], previous: PeriodTotals, previous_key: str) -> dict[str, Any]:
    detection, response, resolution = current["_means_s"]
    has_data = previous.total > 0
    return {
        "vs": previous_key,
        "mttd_pct": _pct_change(detection, previous.mean_detection_s) if has_data else None,
        "mtta_pct": _pct_change(response, previous.mean_response_s) if has_data else None,
        "mttr_pct": _pct_change(resolution, previous.mean_resolution_s) if has_data else None,
        "total_pct": _pct_change(current["total"], previous.total) if has_data else None,
    }


def satisfaction(scores: list[float], previous: PeriodTotals, previous_key: str) -> dict[str, Any]:
    """The period's mean customer satisfaction over its scored incidents and its change in
    points against the previous period's mean (pure). Means to two decimals, as the JSON
    gives them; the change is taken before rounding."""
    mean = _mean(scores)
    before = previous.mean_satisfaction if previous.scored else None
    change = None if mean is None or before is None else round(mean - before, 2)
    return {"mean": _round(mean), "scored_incidents": len(scores), "previous_mean": _round(before),
            "change": change, "vs": previous_key}


def _public(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if not k.startswith("_")}


def build_report(period: Period, months: list[PeriodColumns], previous: PeriodTotals, actions) -> dict[str, Any]:
    """The report document from what the store gave, month by month (pure)."""
    partials = [_partial(part) for part in months]
    figures = _figures(partials)
    report: dict[str, Any] = {period.kind: period.key}
    report.update(_public(figures))
    report["trend"] = trend(figures, previous, period.previous().key)
    report["customer_satisfaction"] = satisfaction([s for p in partials for s in p.satisfaction], previous,
                                                   period.previous().key)
    report["improvements"] = [
        {"title": a.title, "incident_id": a.incident_id, "category": a.category, "completed_at": iso_z(a.completed_at)}
        for a in actions
    ]
    if period.kind == "year":
        report["months"] = {m.key: _public(_figures([part])) for m, part in zip(period.months(), partials)}
    report["definitions"] = DEFINITIONS
    return report


def period_report(store: "IncidentStore", period: Period) -> dict[str, Any]:
    """Read what the period needs from the store (one read transaction) and build its report.

    A year is read month by month (12 range queries on the declared_at index), which gives
    the per-month breakdown without a month key computed per incident."""
    with store.db.read() as session:
        now = store.now()
        months = [period_columns(session, m.start, m.end, now) for m in period.months()]
        previous_period = period.previous()
        previous = period_totals(session, previous_period.start, previous_period.end)
        actions = completed_actions(session, period.start, period.end)
    return build_report(period, months, previous, actions)


def monthly_report(store: "IncidentStore", month: str | None = None) -> dict[str, Any]:
    """The report of a month ("YYYY-MM"); the current month to date when None."""
    period = parse_month(month) if month is not None else current_month(store.now())
    return period_report(store, period)


def yearly_report(store: "IncidentStore", year: str) -> dict[str, Any]:
    return period_report(store, parse_year(year))


# -- chart series --------------------------------------------------------------------------

def chart_window(period: Period) -> Period:
    """What the charts show: the 6 months up to a month's end, or the year itself."""
    if period.kind == "year":
        return period
    first = period
    for _ in range(CHART_MONTHS - 1):
        first = first.previous()
    return Period("window", f"{first.key}..{period.key}", first.start, period.end)


def chart_series(store: "IncidentStore", period: Period) -> dict[str, Any]:
    """Incidents per week by severity, and mean MTTD/MTTA/MTTR per month, for the charts."""
    window = chart_window(period)
    with store.db.read() as session:
        weeks = weekly_counts(session, window.start, window.end)
        means = monthly_means(session, window.start, window.end)
    return build_chart_series(window, weeks, means)


def build_chart_series(window: Period, weeks: dict[date, dict[str, int]],
                       means: dict[str, PeriodTotals]) -> dict[str, Any]:
    monday = window.start.date() - timedelta(days=window.start.weekday())
    week_rows = []
    while monday < window.end.date():
        counts = weeks.get(monday, {})
        week_rows.append({"week": monday.isoformat(), **{s: counts.get(s, 0) for s in SEVERITIES}})
        monday += timedelta(days=7)
    month_rows = []
    cursor = month_period(window.start.year, window.start.month)
    while cursor.start < window.end:
        totals = means.get(cursor.key, PeriodTotals(0, None, None, None))
        month_rows.append({
            "month": cursor.key, "total": totals.total,
            "mttd_minutes": _round(None if totals.mean_detection_s is None else totals.mean_detection_s / 60),
            "mtta_minutes": _round(None if totals.mean_response_s is None else totals.mean_response_s / 60),
            "mttr_hours": _round(None if totals.mean_resolution_s is None else totals.mean_resolution_s / 3600),
        })
        cursor = cursor.next()
    return {"weeks": week_rows, "months": month_rows}


# -- formats -------------------------------------------------------------------------------

def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def stat_text(stats: dict[str, Any], unit: str) -> str:
    if stats["count"] == 0:
        return "no data"
    return (f"{_num(stats['mean'])} {unit} (median {_num(stats['median'])}, p90 {_num(stats['p90'])}, "
            f"n={stats['count']})")


def period_label(report: dict[str, Any]) -> str:
    if "month" in report:
        year, month = map(int, report["month"].split("-"))
        return f"{calendar.month_name[month]} {year}"
    return report["year"]


def previous_label(report: dict[str, Any]) -> str:
    key = report["trend"]["vs"]
    if len(key) == 7:
        year, month = map(int, key.split("-"))
        return f"{calendar.month_name[month]} {year}"
    return key


def _change(pct: float | None, better: str, worse: str) -> str | None:
    if pct is None:
        return None
    if pct == 0:
        return "unchanged"
    return f"{better} by {abs(pct):.1f}%" if pct < 0 else f"{worse} by {pct:.1f}%"


def trend_lines(report: dict[str, Any]) -> list[str]:
    """The trend in words ("Response time (MTTA) improved by 15.0% vs. December 2023")."""
    t, vs = report["trend"], previous_label(report)
    lines = []
    for key, what, better, worse in (
        ("mtta_pct", "Response time (MTTA)", "improved", "worsened"),
        ("mttd_pct", "Detection time (MTTD)", "reduced", "grew"),
        ("mttr_pct", "Resolution time (MTTR)", "improved", "worsened"),
    ):
        change = _change(t[key], better, worse)
        lines.append(f"{what} {change} vs. {vs}" if change else f"{what}: no comparison with {vs} (no data)")
    if t["total_pct"] is None:
        lines.append(f"Incidents: {report['total']} (none in {vs} to compare)")
    else:
        sign = "+" if t["total_pct"] > 0 else ""
        lines.append(f"Incidents: {report['total']} ({sign}{t['total_pct']:.1f}% vs. {vs})")
    return lines


def sla_line(report: dict[str, Any]) -> str:
    pct = report["within_sla_pct"]
    if pct is None:
        return "No incidents to measure against the SLA"
    return f"{pct:.1f}% of incidents acknowledged within their severity's response time"


def satisfaction_line(report: dict[str, Any]) -> str:
    """The spec's line: "Customer satisfaction: 4.2/5.0 (+0.3 vs. December 2023)"; without the
    change when the previous period has no score; in words when this one has none."""
    csat = report["customer_satisfaction"]
    if csat["mean"] is None:
        return f"Customer satisfaction: no scores recorded for the incidents of {period_label(report)}"
    line = f"Customer satisfaction: {csat['mean']:.1f}/5.0"
    if csat["change"] is None:
        return line
    change = f"{csat['change']:+.1f}"
    return f"{line} ({'+0.0' if change == '-0.0' else change} vs. {previous_label(report)})"


DEFAULT_NAMES = {"SEV-1": "critical", "SEV-2": "high", "SEV-3": "medium", "SEV-4": "low"}


def _tree(lines: list[str]) -> list[str]:
    return [("└── " if i == len(lines) - 1 else "├── ") + line for i, line in enumerate(lines)]


def render_text(report: dict[str, Any], names: dict[str, str] | None = None) -> str:
    names = names or DEFAULT_NAMES
    kind = "Monthly" if "month" in report else "Yearly"
    title = f"{kind} Incident Report"
    out = [title, "=" * len(title), "", f"📊 Incident Statistics ({period_label(report)})"]
    out += _tree([f"Total Incidents: {report['total']}"] + [
        f"{visible(sev)} ({visible(names.get(sev, sev).capitalize())}): {n} incident{'s' if n != 1 else ''}"
        for sev, n in report["by_severity"].items()])
    out += ["", "⏱️ Response Time Metrics (mean; median and nearest-rank p90)"]
    out += _tree([
        f"Mean Time to Detection (MTTD): {stat_text(report['mttd_minutes'], 'minutes')}",
        f"Mean Time to Response (MTTA): {stat_text(report['mtta_minutes'], 'minutes')}",
        f"Mean Time to Resolution (MTTR): {stat_text(report['mttr_hours'], 'hours')}",
    ])
    out += ["", "📈 Trends and Improvements"]
    out += _tree(trend_lines(report) + [sla_line(report), satisfaction_line(report)])
    out += ["", f"🎯 Key Improvements This {'Month' if kind == 'Monthly' else 'Year'}"]
    # A title is shown with its control characters escaped: this text goes to a terminal.
    improvements = [f"{visible(i['title'])} ({visible(i['incident_id'])}, {visible(i['category'])}, "
                    f"{i['completed_at'][:10]})" for i in report["improvements"]]
    out += _tree(improvements or ["none recorded"])
    if "months" in report:
        out += ["", "📅 By Month"]
        out += _tree([f"{key}: {m['total']} incidents, MTTA mean {_num(m['mtta_minutes']['mean'])} min, "
                      f"MTTR mean {_num(m['mttr_hours']['mean'])} h, within SLA "
                      f"{_num(m['within_sla_pct'])}%" if m["total"] else f"{key}: no incidents"
                      for key, m in report["months"].items()])
    out += ["", "Definitions:"]
    out += [f"  {key.upper() if key.startswith('mtt') else key.replace('_', ' ')}: {text}"
            for key, text in report["definitions"].items()]
    return "\n".join(out) + "\n"


def _md_stat(stats: dict[str, Any]) -> list[str]:
    return [_num(stats["mean"]), _num(stats["median"]), _num(stats["p90"]), str(stats["count"])]


def render_markdown(report: dict[str, Any], names: dict[str, str] | None = None) -> str:
    names = names or DEFAULT_NAMES
    kind = "Monthly" if "month" in report else "Yearly"
    out = [f"# {kind} Incident Report — {period_label(report)}", "", "## Incident statistics", "",
           "| severity | incidents |", "| --- | ---: |"]
    out += [f"| {md_cell(sev)} ({md_cell(names.get(sev, sev))}) | {n} |" for sev, n in report["by_severity"].items()]
    out += [f"| **total** | **{report['total']}** |", "", "## Response time metrics", "",
            "| metric | mean | median | p90 | n |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, key in (("MTTD (minutes)", "mttd_minutes"), ("MTTA, time to response (minutes)", "mtta_minutes"),
                       ("MTTR, time to resolution (hours)", "mttr_hours")):
        out.append(f"| {label} | " + " | ".join(_md_stat(report[key])) + " |")
    out += ["", "## Trends", ""] + [f"- {line}" for line in trend_lines(report) + [sla_line(report),
                                                                                  satisfaction_line(report)]]
    out += ["", "## Improvements completed", ""]
    out += [f"- {md_line(i['title'])} ({md_line(i['incident_id'])}, {md_line(i['category'])}, "
            f"{i['completed_at'][:10]})" for i in report["improvements"]] or ["- none recorded"]
    if "months" in report:
        out += ["", "## By month", "", "| month | incidents | MTTD mean (min) | MTTA mean (min) | MTTR mean (h) | "
                "within SLA |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {key} | {m['total']} | {_num(m['mttd_minutes']['mean'])} | {_num(m['mtta_minutes']['mean'])} | "
                f"{_num(m['mttr_hours']['mean'])} | {_num(m['within_sla_pct'])}% |" for key, m in report["months"].items()]
    out += ["", "## Definitions", ""] + [f"- **{key}**: {text}" for key, text in report["definitions"].items()]
    return "\n".join(out) + "\n"


def render_html(report: dict[str, Any], charts: dict[str, Any] | None, names: dict[str, str] | None = None) -> str:
    from reports.charts import line_chart_svg, stacked_bars_svg

    names = names or DEFAULT_NAMES
    esc = html.escape
    kind = "Monthly" if "month" in report else "Yearly"
    title = f"{kind} Incident Report — {period_label(report)}"
    parts = [
        "<!DOCTYPE html>", f"<html lang=\"en\"><head><meta charset=\"utf-8\">{CSP_META}", f"<title>{esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em}"
        "td.n{text-align:right}.charts{display:flex;flex-wrap:wrap;gap:1em}dt{font-weight:bold}</style>",
        "</head><body>", f"<h1>{esc(title)}</h1>",
        "<h2>Incident statistics</h2><table><tr><th>severity</th><th>incidents</th></tr>",
    ]
    parts += [f"<tr><td>{esc(sev)} ({esc(names.get(sev, sev))})</td><td class=\"n\">{n}</td></tr>"
              for sev, n in report["by_severity"].items()]
    parts.append(f"<tr><th>total</th><td class=\"n\"><b>{report['total']}</b></td></tr></table>")
    parts.append("<h2>Response time metrics</h2><table><tr><th>metric</th><th>mean</th><th>median</th><th>p90</th>"
                 "<th>n</th></tr>")
    for label, key in (("MTTD (minutes)", "mttd_minutes"), ("MTTA, time to response (minutes)", "mtta_minutes"),
                       ("MTTR, time to resolution (hours)", "mttr_hours")):
        parts.append(f"<tr><td>{label}</td>" + "".join(f"<td class=\"n\">{esc(v)}</td>" for v in _md_stat(report[key]))
                     + "</tr>")
    parts.append("</table><h2>Trends</h2><ul>")
    parts += [f"<li>{esc(line)}</li>" for line in trend_lines(report) + [sla_line(report), satisfaction_line(report)]]
    parts.append("</ul>")
    if charts:
        parts.append("<h2>Charts</h2><div class=\"charts\">")
        parts.append(stacked_bars_svg(charts["weeks"], SEVERITIES, "Incidents per week by severity"))
        for key, label, unit in (("mttd_minutes", "MTTD mean", "min"), ("mtta_minutes", "MTTA mean", "min"),
                                 ("mttr_hours", "MTTR mean", "h")):
            parts.append(line_chart_svg([(m["month"], m[key]) for m in charts["months"]], label, unit))
        parts.append("</div>")
    parts.append("<h2>Improvements completed</h2><ul>")
    parts += [f"<li>{esc(i['title'])} ({esc(i['incident_id'])}, {esc(i['category'])}, {esc(i['completed_at'][:10])})"
              "</li>" for i in report["improvements"]] or ["<li>none recorded</li>"]
    parts.append("</ul>")
    if "months" in report:
        parts.append("<h2>By month</h2><table><tr><th>month</th><th>incidents</th><th>MTTD mean (min)</th>"
                     "<th>MTTA mean (min)</th><th>MTTR mean (h)</th><th>within SLA</th></tr>")
        parts += [f"<tr><td>{key}</td><td class=\"n\">{m['total']}</td><td class=\"n\">{_num(m['mttd_minutes']['mean'])}"
                  f"</td><td class=\"n\">{_num(m['mtta_minutes']['mean'])}</td><td class=\"n\">"
                  f"{_num(m['mttr_hours']['mean'])}</td><td class=\"n\">{_num(m['within_sla_pct'])}%</td></tr>"
                  for key, m in report["months"].items()]
        parts.append("</table>")
    parts.append("<h2>Definitions</h2><dl>")
    parts += [f"<dt>{esc(key)}</dt><dd>{esc(text)}</dd>" for key, text in report["definitions"].items()]
    parts.append("</dl></body></html>")
    return "\n".join(parts) + "\n"


def render(report: dict[str, Any], fmt: str, *, charts: dict[str, Any] | None = None,
           names: dict[str, str] | None = None) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return render_markdown(report, names)
    if fmt == "html":
        return render_html(report, charts, names)
    if fmt == "text":
        return render_text(report, names)
    raise PolicyValueError(f"format {fmt} is not a report format; accepted: {', '.join(FORMATS)}")
