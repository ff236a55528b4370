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

This module reads what a period needs from the store (store.reporting: durations computed
in SQL) and builds the report and the chart series as typed values (reports/report_model.py;
read_period_report, read_chart_series); monthly_report, yearly_report, period_report and
chart_series give their JSON form, the document `report --format json` prints. The periods are in
reports/periods.py, the arithmetic in reports/statistics.py, the four formats (text, md,
html, json) in reports/report_formats.py.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from reports.periods import Period, chart_window, current_month, month_period, parse_month, parse_year
from reports.report_model import ChartSeries, Improvement, MonthFigures, MonthMeans, PeriodReport, WeekCounts
from reports.statistics import SEVERITIES, customer_satisfaction, figures, partial, rounded, trend
from store.reporting import CompletedAction, PeriodColumns, PeriodTotals, completed_actions, monthly_means, \
    period_columns, period_totals, weekly_counts

if TYPE_CHECKING:
    from store.operations import IncidentStore


DEFINITIONS = (
    ("period", "UTC calendar month (or year) by declared_at; drills excluded"),
    ("mttd", "time to detection = detected_at - started_at (incidents without started_at skipped)"),
    ("mtta", "time to response (acknowledgement) = acknowledged_at - detected_at"),
    ("mttr", "time to resolution = resolved_at - detected_at"),
    ("median", "middle value (mean of the two middle values for an even count)"),
    ("p90", "nearest-rank 90th percentile: the ceil(0.9 x n)-th smallest value"),
    ("within_sla", "acknowledged by the severity's response deadline counted from detected_at, business hours "
                   "where the policy says so; never acknowledged counts as outside once the deadline has passed "
                   "(not counted while it is still ahead)"),
    ("trend", "percent change of the mean (and of the total) against the previous period"),
    ("customer_satisfaction", "mean of the 1.0-5.0 scores recorded on the period's incidents that have one; "
                              "change = that mean minus the previous period's, in points (not percent)"),
)


def build_period_report(period: Period, months: list[PeriodColumns], previous: PeriodTotals,
                        actions: list[CompletedAction]) -> PeriodReport:
    """The report from what the store gave, month by month (pure)."""
    partials = [partial(part) for part in months]
    totals = figures(partials)
    previous_key = period.previous().key
    return PeriodReport(
        period=period,
        figures=totals.figures,
        trend=trend(totals, previous, previous_key),
        customer_satisfaction=customer_satisfaction([s for p in partials for s in p.satisfaction], previous,
                                                    previous_key),
        improvements=tuple(Improvement(a.title, a.incident_id, a.category, a.completed_at) for a in actions),
        months=tuple(MonthFigures(m.key, figures([part]).figures) for m, part in zip(period.months(), partials))
        if period.kind == "year" else (),
        definitions=DEFINITIONS,
    )


def read_period_report(store: "IncidentStore", period: Period) -> PeriodReport:
    """Read what the period needs from the store (one read transaction) and build its report.

    A year is read month by month (12 range queries on the declared_at index), which gives
    the per-month breakdown without a month key computed per incident."""
    with store.db.read() as session:
        now = store.now()
        months = [period_columns(session, m.start, m.end, now) for m in period.months()]
        previous_period = period.previous()
        previous = period_totals(session, previous_period.start, previous_period.end)
        actions = completed_actions(session, period.start, period.end)
    return build_period_report(period, months, previous, actions)


def period_report(store: "IncidentStore", period: Period) -> dict[str, Any]:
    """The period's report in its JSON form (what `report --format json` prints)."""
    return read_period_report(store, period).as_json()


def read_monthly_report(store: "IncidentStore", month: str | None = None) -> PeriodReport:
    """The report of a month ("YYYY-MM"); the current month to date when None."""
    period = parse_month(month) if month is not None else current_month(store.now())
    return read_period_report(store, period)


def monthly_report(store: "IncidentStore", month: str | None = None) -> dict[str, Any]:
    return read_monthly_report(store, month).as_json()


def read_yearly_report(store: "IncidentStore", year: str) -> PeriodReport:
    return read_period_report(store, parse_year(year))


def yearly_report(store: "IncidentStore", year: str) -> dict[str, Any]:
    return read_yearly_report(store, year).as_json()


# -- chart series ----------------------------------------------------------------------

def read_chart_series(store: "IncidentStore", period: Period) -> ChartSeries:
    """Incidents per week by severity, and mean MTTD/MTTA/MTTR per month, for the charts."""
    window = chart_window(period)
    with store.db.read() as session:
        weeks = weekly_counts(session, window.start, window.end)
        means = monthly_means(session, window.start, window.end)
    return build_chart_series(window, weeks, means)


def chart_series(store: "IncidentStore", period: Period) -> dict[str, Any]:
    return read_chart_series(store, period).as_json()


def build_chart_series(window: Period, weeks: dict[date, dict[str, int]],
                       means: dict[str, PeriodTotals]) -> ChartSeries:
    monday = window.start.date() - timedelta(days=window.start.weekday())
    week_rows = []
    while monday < window.end.date():
        counts = weeks.get(monday, {})
        week_rows.append(WeekCounts(monday, tuple((s, counts.get(s, 0)) for s in SEVERITIES)))
        monday += timedelta(days=7)
    month_rows = []
    cursor = month_period(window.start.year, window.start.month)
    while cursor.start < window.end:
        totals = means.get(cursor.key, PeriodTotals(0, None, None, None))
        month_rows.append(MonthMeans(
            cursor.key, totals.total,
            rounded(None if totals.mean_detection_s is None else totals.mean_detection_s / 60),
            rounded(None if totals.mean_response_s is None else totals.mean_response_s / 60),
            rounded(None if totals.mean_resolution_s is None else totals.mean_resolution_s / 3600),
        ))
        cursor = cursor.next()
    return ChartSeries(tuple(week_rows), tuple(month_rows))
