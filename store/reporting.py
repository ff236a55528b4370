"""Reads behind the monthly and yearly reports: only the columns the figures need.

Durations are the seconds each incident keeps with its timestamps (incident.detection_s,
response_s, resolution_s; schema 5), so nothing parses a date per incident. Every query
is a range on incident.declared_at (indexed) with drills left out. Periods are
half-open [start, end) in naive UTC, like everything in the store.

"Within SLA" compares acknowledged_at with response_due_at: the deadline the store
computed from detected_at with the severity's clock (wall time, business hours or
business days on the policy's calendar) when the incident was declared, imported or
re-rated. A never-acknowledged incident is outside once its deadline has passed; before
that it is pending (a month-to-date report does not count it either way).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from store.models import ActionItem, Incident


@dataclass(frozen=True)
class PeriodColumns:
    """The incidents of a period, column by column. Durations in seconds, None where a
    timestamp is missing; within_sla is true, false, or None when never acknowledged."""

    severity: tuple[str, ...]
    detection_s: tuple[float | None, ...]  # detected_at - started_at (MTTD)
    response_s: tuple[float | None, ...]  # acknowledged_at - detected_at (MTTA)
    resolution_s: tuple[float | None, ...]  # resolved_at - detected_at (MTTR)
    within_sla: tuple[bool | int | None, ...]  # None: not acknowledged, deadline still ahead
    satisfaction: tuple[float | None, ...] = ()  # customer_satisfaction, None where unscored

    @property
    def total(self) -> int:
        return len(self.severity)


EMPTY = PeriodColumns((), (), (), (), (), ())


@dataclass(frozen=True)
class PeriodTotals:
    """Count and mean durations (seconds) of a period, aggregated by the database; for the
    trend, the mean customer satisfaction and how many incidents had a score."""

    total: int
    mean_detection_s: float | None
    mean_response_s: float | None
    mean_resolution_s: float | None
    # Customer satisfaction over the incidents that have a score (None when none has).
    mean_satisfaction: float | None = None
    scored: int = 0


@dataclass(frozen=True)
class CompletedAction:
    title: str
    incident_id: str
    category: str
    completed_at: datetime


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _month_key(dialect: str):
    if dialect == "sqlite":
        return func.strftime("%Y-%m", Incident.declared_at)
    return func.to_char(Incident.declared_at, "YYYY-MM")


def _week_key(dialect: str):
    """The Monday (YYYY-MM-DD) of declared_at's week."""
    if dialect == "sqlite":
        return func.date(Incident.declared_at, "weekday 0", "-6 days")
    return func.to_char(func.date_trunc("week", Incident.declared_at), "YYYY-MM-DD")


def _in_period(start: datetime, end: datetime):
    return and_(Incident.declared_at >= start, Incident.declared_at < end, Incident.is_drill.is_(False))


def _durations(dialect: str):
    return Incident.detection_s, Incident.response_s, Incident.resolution_s


# The two queries the report's timing depends on, written per dialect and sent through the
# session's own DBAPI connection (same transaction): at a year of incidents, building a
# SQLAlchemy Row per incident cost more than the query itself.
_SQL = {
    "sqlite": {"where": "declared_at >= ? AND declared_at < ? AND is_drill = 0"},
    "postgresql": {"where": "declared_at >= %s AND declared_at < %s AND is_drill = false"},
}
_DURATION_COLUMNS = ["detection_s", "response_s", "resolution_s"]


def _raw(session: Session, sql: str, *moments: datetime) -> list[tuple]:
    dialect = _dialect(session)
    if dialect == "sqlite":  # the form SQLAlchemy's DateTime stores, so text comparison is time order
        params = tuple(m.isoformat(sep=" ", timespec="microseconds") for m in moments)
    else:
        params = moments
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def period_columns(session: Session, start: datetime, end: datetime, now: datetime) -> PeriodColumns:
    """Every non-drill incident declared in [start, end): severity, three durations, SLA verdict
    as of `now` (unacknowledged with its deadline still ahead: None, pending), customer
    satisfaction score."""
    dialect = _dialect(session)
    mark = "?" if dialect == "sqlite" else "%s"
    verdict = (f"CASE WHEN acknowledged_at IS NOT NULL THEN acknowledged_at <= response_due_at "
               f"WHEN response_due_at >= {mark} THEN NULL ELSE {'0' if dialect == 'sqlite' else 'false'} END")
    sql = (f"SELECT severity, {', '.join(_DURATION_COLUMNS)}, {verdict}, customer_satisfaction "
           f"FROM incident WHERE {_SQL[dialect]['where']}")
    rows = _raw(session, sql, now, start, end)
    return PeriodColumns(*zip(*rows)) if rows else EMPTY


def period_totals(session: Session, start: datetime, end: datetime) -> PeriodTotals:
    """Count, mean durations and mean customer satisfaction of [start, end) in one aggregate
    query (for trends)."""
    dialect = _dialect(session)
    means = ", ".join(f"avg({d})" for d in [*_DURATION_COLUMNS, "customer_satisfaction"])
    (total, *values, scored), = _raw(session, f"SELECT count(*), {means}, count(customer_satisfaction) "
                                     f"FROM incident WHERE {_SQL[dialect]['where']}", start, end)
    return PeriodTotals(int(total), *(None if v is None else float(v) for v in values), int(scored))


def monthly_means(session: Session, start: datetime, end: datetime) -> dict[str, PeriodTotals]:
    """Per month (YYYY-MM) of [start, end): count and mean durations, for the MTTx charts."""
    dialect = _dialect(session)
    detection, response, resolution = _durations(dialect)
    month = _month_key(dialect)
    query = (select(month, func.count(), func.avg(detection), func.avg(response), func.avg(resolution))
             .where(_in_period(start, end)).group_by(month))
    return {key: PeriodTotals(int(total), *(None if m is None else float(m) for m in means))
            for key, total, *means in session.execute(query)}


def weekly_counts(session: Session, start: datetime, end: datetime) -> dict[date, dict[str, int]]:
    """Incidents declared in [start, end) per week (keyed by its Monday) and severity."""
    dialect = _dialect(session)
    week = _week_key(dialect)
    query = (select(week, Incident.severity, func.count()).where(_in_period(start, end))
             .group_by(week, Incident.severity))
    weeks: dict[date, dict[str, int]] = {}
    for monday, severity, count in session.execute(query):
        weeks.setdefault(date.fromisoformat(str(monday)[:10]), {})[severity] = int(count)
    return weeks


def completed_actions(session: Session, start: datetime, end: datetime) -> list[CompletedAction]:
    """Action items completed in [start, end), of incidents that were not drills, oldest first."""
    query = (select(ActionItem.title, ActionItem.incident_id, ActionItem.category, ActionItem.completed_at)
             .join(Incident, Incident.id == ActionItem.incident_id)
             .where(ActionItem.completed_at >= start, ActionItem.completed_at < end, Incident.is_drill.is_(False))
             .order_by(ActionItem.completed_at, ActionItem.id))
    return [CompletedAction(*row) for row in session.execute(query)]

