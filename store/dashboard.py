"""What the command center's dashboard shows, read in one go as plain data.

Widgets get these dataclasses, never a session.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from playbooks.statuses import OPEN_STATUSES
from store.models import Anomaly, ChainHead, Incident, MetricSample, RemediationAction, TimelineEvent
from store.queries import list_incidents
from store.read_models.summary import IncidentSummary

# The spec's "System Health Overview", in its order, then what this host reports.
HEALTH_METRICS = ("error_rate", "response_time", "throughput", "cpu", "memory", "availability", "load", "disk")
HEALTH_ROWS = 5  # the pane's height at 80x24
BASELINE_WINDOW = timedelta(days=7)
SPARKLINE_POINTS = 30


@dataclass(frozen=True)
class MetricHealth:
    metric: str
    value: float | None
    baseline: float | None
    series: tuple[float, ...]
    at: datetime | None
    source: str | None


@dataclass(frozen=True)
class AnomalyRow:
    at: datetime
    description: str
    metric: str


@dataclass(frozen=True)
class RemediationRow:
    incident_id: str
    description: str
    started_at: datetime


@dataclass(frozen=True)
class SilencesInForce:
    """Silences in force now: how many, and when the first of them ends (the dashboard's line)."""

    count: int = 0
    first_end: datetime | None = None


@dataclass(frozen=True)
class DashboardData:
    incidents: list[IncidentSummary]
    counts: dict[str, int]
    health: list[MetricHealth]
    anomalies: list[AnomalyRow]
    remediation: list[RemediationRow]
    last_seq: int
    has_metric_source: bool = field(default=False)
    outbox: tuple = ()  # store.outbox.IntegrationBacklog per integration
    silences: SilencesInForce = field(default_factory=SilencesInForce)


def read_health(session: Session, now: datetime) -> list[MetricHealth]:
    """The first five metrics that have data, in the spec's order (host metrics fill in
    when no application source reports); all "no data" when nothing reports."""
    health = []
    since = now - BASELINE_WINDOW
    reporting = set(session.execute(sa_select(MetricSample.metric).where(MetricSample.metric.in_(HEALTH_METRICS))
                                    .distinct()).scalars())
    chosen = [m for m in HEALTH_METRICS if m in reporting][:HEALTH_ROWS] or list(HEALTH_METRICS[:HEALTH_ROWS])
    for metric in chosen:
        recent = session.exec(select(MetricSample).where(MetricSample.metric == metric)
                              .order_by(MetricSample.at.desc()).limit(SPARKLINE_POINTS)).all()
        if not recent:
            health.append(MetricHealth(metric, None, None, (), None, None))
            continue
        window = session.exec(select(MetricSample.value).where(MetricSample.metric == metric,
                                                               MetricSample.at >= since)
                              .order_by(MetricSample.at.desc()).limit(20_000)).all()
        baseline = statistics.median(window) if window else None
        latest = recent[0]
        health.append(MetricHealth(metric, latest.value, baseline, tuple(s.value for s in reversed(recent)),
                                   latest.at, latest.source))
    return health


def read_dashboard(session: Session, now: datetime, anomaly_limit: int = 8) -> DashboardData:
    incidents = list_incidents(session, status="open", with_commander=True)
    counts = {f"SEV-{n}": 0 for n in range(1, 5)}
    for row in incidents:
        counts[row.severity] = counts.get(row.severity, 0) + 1
    health = read_health(session, now)
    anomalies = [AnomalyRow(a.at, a.description, a.metric) for a in session.exec(
        select(Anomaly).order_by(Anomaly.at.desc()).limit(anomaly_limit)).all()]
    remediation = [RemediationRow(r.incident_id, r.description, r.started_at) for r in session.exec(
        select(RemediationAction).join(Incident, Incident.id == RemediationAction.incident_id)
        .where(RemediationAction.finished_at.is_(None), Incident.status.in_(OPEN_STATUSES))
        .order_by(RemediationAction.started_at)).all()]
    from store.outbox import backlog
    from store.silences import silences_in_force

    return DashboardData(incidents, counts, health, anomalies, remediation, last_seq(session),
                         any(h.value is not None for h in health), tuple(backlog(session)),
                         SilencesInForce(*silences_in_force(session, now)))


def last_seq(session: Session) -> int:
    head = session.get(ChainHead, 1)
    return head.last_seq if head else 0


def incidents_changed_since(session: Session, seq: int) -> tuple[int, set[str | None]]:
    """The chain position now and which incidents had events after `seq`: lets a view
    re-read only what another process changed."""
    rows = session.execute(sa_select(TimelineEvent.seq, TimelineEvent.incident_id)
                           .where(TimelineEvent.seq > seq)).all()
    if not rows:
        return seq, set()
    return max(r[0] for r in rows), {r[1] for r in rows}



@dataclass(frozen=True)
class RecentEvent:
    """A timeline event another view may announce, with its incident's title and severity now."""

    seq: int
    incident_id: str | None
    kind: str
    actor: str
    summary: str
    data: dict
    severity: str | None
    title: str | None


def events_since(session: Session, seq: int, kinds: tuple[str, ...], incident_id: str | None = None,
                 limit: int = 100) -> list[RecentEvent]:
    """The newest `limit` events after `seq` of these kinds, or of any kind on `incident_id`,
    oldest first: what the command center announces (a burst of imports stays one query)."""
    import json

    from sqlalchemy import or_

    wanted = TimelineEvent.kind.in_(kinds)
    if incident_id is not None:
        wanted = or_(wanted, TimelineEvent.incident_id == incident_id)
    rows = session.execute(
        sa_select(TimelineEvent.seq, TimelineEvent.incident_id, TimelineEvent.kind, TimelineEvent.actor,
                  TimelineEvent.summary, TimelineEvent.data, Incident.severity, Incident.title)
        .outerjoin(Incident, Incident.id == TimelineEvent.incident_id)
        .where(TimelineEvent.seq > seq, wanted).order_by(TimelineEvent.seq.desc()).limit(limit)).all()
    events = []
    for row in reversed(rows):
        try:
            data = json.loads(row.data or "{}")
        except ValueError:  # a damaged row is the audit's business; announce it without its fields
            data = {}
        events.append(RecentEvent(row.seq, row.incident_id, row.kind, row.actor, row.summary,
                                  data if isinstance(data, dict) else {}, row.severity, row.title))
    return events
