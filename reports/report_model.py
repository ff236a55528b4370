"""The monthly (or yearly) report as typed values: what reports/monthly.py builds and the
text, Markdown and HTML renderers, the report charts and the Reports screen read.

Frozen dataclasses, tuples for sequences, real datetimes (naive UTC, as the store keeps
them). JSON only at `report --format json` and for the dict-returning functions
(`monthly_report`, `chart_series`, ...): each `as_json()` is that document, key for key and
in the same order. Pure: the standard library, playbooks and reports.periods only (no
SQLAlchemy, no textual), so a widget may take these types.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from playbooks.clock import iso_z
from reports.periods import Period


@dataclass(frozen=True)
class DurationStats:
    """Mean, median and nearest-rank p90 of one duration in the report's unit (minutes or
    hours), over `count` incidents; all None when there is no value."""

    mean: float | None
    median: float | None
    p90: float | None
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "median": self.median, "p90": self.p90, "count": self.count}


@dataclass(frozen=True)
class Figures:
    """A period's (or one month's of a year) counts, durations and share within SLA."""

    total: int
    # (severity, count): SEV-1 to SEV-4 always, then any other severity a stored row has.
    by_severity: tuple[tuple[str, int], ...]
    mttd_minutes: DurationStats
    mtta_minutes: DurationStats
    mttr_hours: DurationStats
    within_sla_pct: float | None

    def count_of(self, severity: str) -> int:
        return next((n for s, n in self.by_severity if s == severity), 0)

    def as_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_severity": dict(self.by_severity),
                "mttd_minutes": self.mttd_minutes.as_json(), "mtta_minutes": self.mtta_minutes.as_json(),
                "mttr_hours": self.mttr_hours.as_json(), "within_sla_pct": self.within_sla_pct}


@dataclass(frozen=True)
class Trend:
    """Percent change of each mean and of the total against the previous period `vs`
    (YYYY-MM or YYYY); None when either side has no value."""

    vs: str
    mttd_pct: float | None
    mtta_pct: float | None
    mttr_pct: float | None
    total_pct: float | None

    def as_json(self) -> dict[str, Any]:
        return {"vs": self.vs, "mttd_pct": self.mttd_pct, "mtta_pct": self.mtta_pct, "mttr_pct": self.mttr_pct,
                "total_pct": self.total_pct}


@dataclass(frozen=True)
class CustomerSatisfaction:
    """The mean 1.0-5.0 score over the period's scored incidents, the previous period's mean
    and the change in points (not percent)."""

    mean: float | None
    scored_incidents: int
    previous_mean: float | None
    change: float | None
    vs: str

    def as_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "scored_incidents": self.scored_incidents, "previous_mean": self.previous_mean,
                "change": self.change, "vs": self.vs}


@dataclass(frozen=True)
class Improvement:
    """An action item completed in the period. Title, id and category are stored text."""

    title: str
    incident_id: str
    category: str
    completed_at: datetime

    @property
    def completed_on(self) -> str:
        """YYYY-MM-DD, as every format shows it."""
        return self.completed_at.date().isoformat()

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "incident_id": self.incident_id, "category": self.category,
                "completed_at": iso_z(self.completed_at)}


@dataclass(frozen=True)
class MonthFigures:
    """One month of a yearly report."""

    month: str  # YYYY-MM
    figures: Figures


@dataclass(frozen=True)
class PeriodReport:
    """The monthly or yearly incident report."""

    period: Period
    figures: Figures
    trend: Trend
    customer_satisfaction: CustomerSatisfaction
    improvements: tuple[Improvement, ...]
    months: tuple[MonthFigures, ...]  # a year's twelve; empty for a month
    definitions: tuple[tuple[str, str], ...]  # (term, what it means), stated in every format

    @property
    def is_year(self) -> bool:
        return self.period.kind == "year"

    def as_json(self) -> dict[str, Any]:
        # Key order is the document's: the period, the figures, ..., a year's months, the definitions.
        months = {"months": {m.month: m.figures.as_json() for m in self.months}} if self.is_year else {}
        return {self.period.kind: self.period.key, **self.figures.as_json(), "trend": self.trend.as_json(),
                "customer_satisfaction": self.customer_satisfaction.as_json(),
                "improvements": [i.as_json() for i in self.improvements], **months,
                "definitions": dict(self.definitions)}


@dataclass(frozen=True)
class WeekCounts:
    """Incidents declared in the week starting on Monday `week`, by severity."""

    week: date
    by_severity: tuple[tuple[str, int], ...]

    def count_of(self, severity: str) -> int:
        return next((n for s, n in self.by_severity if s == severity), 0)

    def as_json(self) -> dict[str, Any]:
        return {"week": self.week.isoformat(), **dict(self.by_severity)}


@dataclass(frozen=True)
class MonthMeans:
    """One month's count and mean MTTD / MTTA (minutes) and MTTR (hours), for the charts."""

    month: str  # YYYY-MM
    total: int
    mttd_minutes: float | None
    mtta_minutes: float | None
    mttr_hours: float | None

    def as_json(self) -> dict[str, Any]:
        return {"month": self.month, "total": self.total, "mttd_minutes": self.mttd_minutes,
                "mtta_minutes": self.mtta_minutes, "mttr_hours": self.mttr_hours}


@dataclass(frozen=True)
class ChartSeries:
    """What the charts show: incidents per week by severity and the means per month."""

    weeks: tuple[WeekCounts, ...]
    months: tuple[MonthMeans, ...]

    def as_json(self) -> dict[str, Any]:
        return {"weeks": [w.as_json() for w in self.weeks], "months": [m.as_json() for m in self.months]}
