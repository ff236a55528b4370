"""Reads behind the root cause analysis, the post-incident review and the action items
screen: typed read models (store/read_models/review.py) that the md/html/json documents
(reports/rca.py, reports/pir.py), the CLI and the screens are made from; the dict forms
(rca_detail, pir_detail, open_action_items) are their `as_json()` for --json and exports."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from playbooks import Policy
from store.audit import verify_chain
from playbooks.timeline import TimelineKind
from store.models import ActionItem, Incident, PostIncidentReview, RootCauseAnalysis, TimelineEvent
from store.queries import get_incident
from store.read_models.review import (ActionItemRow, AgendaEntry, AuditTrail, ImpactAssessment, ImpactWindow,
                                      ItemIncident, PirDetail, PirSummary, RcaDetail, RcaSummary, RcaTimelineLine,
                                      ReviewIncident, ReviewMeeting, RootCause)
from playbooks.review import AGENDA, CATEGORIES, CATEGORY_TAGS
from store.review import is_overdue

# What the RCA's timeline keeps of the incident's events (the rest stays in the full timeline).
RCA_EVENT_KINDS = (TimelineKind.DECLARED, TimelineKind.ACKNOWLEDGED, TimelineKind.STATUS_CHANGED,
                   TimelineKind.SEVERITY_CHANGED, TimelineKind.ESCALATED, TimelineKind.NOTE,
                   TimelineKind.REMEDIATION_STARTED, TimelineKind.REMEDIATION_FINISHED,
                   TimelineKind.REMEDIATION_CANCELLED, TimelineKind.REVIEW_HELD)
STATUS_LINES = {
    "identified": "Cause identified (status identified)",
    "monitoring": "Fix in place, monitoring recovery (status monitoring)",
    "resolved": "Service restored, incident resolved",
    "closed": "Incident closed",
    "investigating": "Back to investigating",
}


def _row(item: ActionItem, now: datetime, incident: Incident | None = None) -> ActionItemRow:
    return ActionItemRow(
        id=item.id, incident_id=item.incident_id, title=item.title, owner=item.owner,
        due_on=item.due_on.date() if item.due_on else None, category=item.category,
        tag=CATEGORY_TAGS.get(item.category, item.category), status=item.status, source=item.source,
        created_at=item.created_at, completed_at=item.completed_at, ticket=item.ticket, overdue=is_overdue(item, now),
        incident=ItemIncident(incident.title, incident.severity, incident.status) if incident is not None else None)


def read_incident_action_items(session: Session, incident_id: str, now: datetime) -> tuple[ActionItemRow, ...]:
    """An incident's action items in the template's order: by category, then as added."""
    items = session.exec(select(ActionItem).where(ActionItem.incident_id == incident_id)
                         .order_by(ActionItem.id)).all()
    order = {category: index for index, category in enumerate(CATEGORIES)}
    return tuple(_row(item, now) for item in sorted(items, key=lambda i: (order.get(i.category, 9), i.id)))


def read_action_items(session: Session, now: datetime, *, include_done: bool = False) -> tuple[ActionItemRow, ...]:
    """Action items across incidents: overdue first (longest overdue first), then by due
    date (undated last), then as added."""
    query = select(ActionItem, Incident).where(ActionItem.incident_id == Incident.id)
    if not include_done:
        query = query.where(ActionItem.status != "done")
    rows = [_row(item, now, incident) for item, incident in session.exec(query).all()]
    return tuple(sorted(rows, key=lambda r: (not r.overdue, r.done, r.due_on is None, r.due_on or date.min, r.id)))


def open_action_items(session: Session, now: datetime, *, include_done: bool = False) -> list[dict[str, Any]]:
    """`actions --json`: read_action_items as JSON."""
    return [row.as_json() for row in read_action_items(session, now, include_done=include_done)]


@dataclass(frozen=True)
class _RcaFields:
    """The stored RCA row, read (or its absence: nothing recorded yet)."""

    impact: str | None = None
    customers_affected: int | None = None
    estimated_cost: float | None = None
    root_cause: str | None = None
    root_cause_details: tuple[str, ...] = ()
    contributing_factors: tuple[str, ...] = ()
    updated_at: datetime | None = None
    updated_by: str | None = None


def _rca_fields(session: Session, incident_id: str) -> _RcaFields:
    rca = session.get(RootCauseAnalysis, incident_id)
    if rca is None:
        return _RcaFields()
    return _RcaFields(rca.impact, rca.customers_affected, rca.estimated_cost, rca.root_cause,
                      tuple(json.loads(rca.root_cause_details)), tuple(json.loads(rca.contributing_factors)),
                      rca.updated_at, rca.updated_by)


def read_review_meeting(session: Session, incident_id: str) -> ReviewMeeting:
    review = session.get(PostIncidentReview, incident_id)
    notes = json.loads(review.agenda_notes) if review else {}
    agenda = tuple(AgendaEntry(item.number, item.title, item.minutes, tuple(item.topics), notes.get(str(item.number)))
                   for item in AGENDA)
    if review is None:
        return ReviewMeeting(scheduled_at=None, held_at=None, facilitator=None, attendees=(), lessons_learned=(),
                             agenda=agenda, updated_at=None, updated_by=None)
    return ReviewMeeting(scheduled_at=review.scheduled_at, held_at=review.held_at, facilitator=review.facilitator,
                         attendees=tuple(json.loads(review.attendees)),
                         lessons_learned=tuple(json.loads(review.lessons_learned)), agenda=agenda,
                         updated_at=review.updated_at, updated_by=review.updated_by)


def _review_incident(incident: Incident, policy: Policy) -> ReviewIncident:
    level = policy.level(incident.severity)
    return ReviewIncident(
        id=incident.id, title=incident.title, severity=incident.severity, severity_name=level.name.capitalize(),
        type=incident.type, environment=incident.environment, service=incident.service, status=incident.status,
        is_drill=incident.is_drill, started_at=incident.started_at, detected_at=incident.detected_at,
        declared_at=incident.declared_at, acknowledged_at=incident.acknowledged_at,
        mitigated_at=incident.mitigated_at, resolved_at=incident.resolved_at, closed_at=incident.closed_at,
        review_required=level.review_required)


def impact_window(incident: Incident, now: datetime) -> ImpactWindow:
    """From the start of impact (or its detection) to resolution (or now, while ongoing)."""
    began = incident.started_at or incident.detected_at
    ended = incident.resolved_at or incident.closed_at
    return ImpactWindow(began, ended or now, ended is None)


def read_rca_timeline(session: Session, incident: Incident) -> tuple[RcaTimelineLine, ...]:
    """The template's "Timeline": impact began, declared, status changes, key notes,
    remediation, resolution, the review, as "HH:MM - what" lines (the date too when it
    is not the declaration's day)."""
    lines: list[tuple[datetime, int, str]] = []
    if incident.started_at and incident.started_at < incident.detected_at:
        lines.append((incident.started_at, 0, "Impact began"))
    if incident.detected_at < incident.declared_at:
        lines.append((incident.detected_at, 0, "Detected"))
    events = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                      TimelineEvent.kind.in_(RCA_EVENT_KINDS))
                          .order_by(TimelineEvent.seq)).all()
    for event in events:
        data = json.loads(event.data or "{}")
        if event.kind == "declared":
            text = f"Incident declared as {data.get('severity', incident.severity)}: {data.get('title', incident.title)}"
        elif event.kind == "status_changed":
            text = STATUS_LINES.get(data.get("to"), event.summary)
        elif event.kind == "note":
            text = event.summary.splitlines()[0] if event.summary else ""
        elif event.kind == "remediation_started":
            text = f"Remediation started: {event.summary.splitlines()[0]}"
        elif event.kind == "remediation_finished":
            text = f"Remediation finished: {event.summary.splitlines()[0]}"
        elif event.kind == "remediation_cancelled":
            text = f"Remediation cancelled: {event.summary.splitlines()[0]}"
        elif event.kind == "review_held":
            text = "Post-incident review completed"
        else:
            text = event.summary
        lines.append((event.at, event.seq, text))
    lines.sort(key=lambda line: (line[0], line[1]))
    day = incident.declared_at.date()
    return tuple(RcaTimelineLine(at, at.strftime("%H:%M") if at.date() == day else at.strftime("%Y-%m-%d %H:%M"), text)
                 for at, _, text in lines)


def rca_timeline(session: Session, incident: Incident) -> list[dict[str, str]]:
    """read_rca_timeline as JSON."""
    return [line.as_json() for line in read_rca_timeline(session, incident)]


def read_audit_trail(session: Session, incident_id: str) -> AuditTrail:
    """The hash chain's verification, as the RCA states it."""
    from sqlalchemy import func, select as sa_select

    result = verify_chain(session)
    own = session.execute(sa_select(func.count()).select_from(TimelineEvent)
                          .where(TimelineEvent.incident_id == incident_id)).scalar() or 0
    return AuditTrail(ok=result.ok, events_checked=result.events_checked, incident_events=own, problem=result.problem)


def read_rca(session: Session, policy: Policy, incident_id: str, now: datetime) -> RcaDetail:
    """The spec's Root Cause Analysis template, filled from the store, plus the impact
    assessment and the audit trail's verification."""
    incident = get_incident(session, incident_id)
    level = policy.level(incident.severity)
    fields = _rca_fields(session, incident.id)
    window = impact_window(incident, now)
    review = session.get(PostIncidentReview, incident.id)

    def since_detected(later: datetime | None):
        return later - incident.detected_at if later else None

    return RcaDetail(
        generated_at=now,
        incident=_review_incident(incident, policy),
        summary=RcaSummary(incident.id, incident.title, level.name.capitalize(), incident.severity, window, fields.impact),
        timeline=read_rca_timeline(session, incident),
        root_cause=RootCause(fields.root_cause, fields.root_cause_details),
        contributing_factors=fields.contributing_factors,
        corrective_actions=read_incident_action_items(session, incident.id, now),
        impact_assessment=ImpactAssessment(
            window=window, customers_affected=fields.customers_affected, estimated_cost=fields.estimated_cost,
            currency=policy.severity.cost_currency,
            time_to_detect=incident.detected_at - incident.started_at if incident.started_at else None,
            time_to_acknowledge=since_detected(incident.acknowledged_at),
            time_to_resolve=since_detected(incident.resolved_at),
            severity_impact=level.impact, customer_impact=level.customer_impact, revenue_impact=level.revenue_impact),
        audit_trail=read_audit_trail(session, incident.id),
        review_held_at=review.held_at if review else None,
        updated_at=fields.updated_at, updated_by=fields.updated_by,
    )


def rca_detail(session: Session, policy: Policy, incident_id: str, now: datetime) -> dict[str, Any]:
    """The RCA as `rca --export json` writes it: read_rca as JSON."""
    return read_rca(session, policy, incident_id, now).as_json()


def read_pir(session: Session, policy: Policy, incident_id: str, now: datetime) -> PirDetail:
    """The spec's Post-Incident Review agenda with its time boxes, filled from the store."""
    incident = get_incident(session, incident_id)
    level = policy.level(incident.severity)
    fields = _rca_fields(session, incident.id)
    return PirDetail(
        generated_at=now,
        incident=_review_incident(incident, policy),
        summary=PirSummary(incident.id, incident.title, level.name.capitalize(), incident.severity,
                           impact_window(incident, now), fields.impact, root_cause=fields.root_cause),
        review=read_review_meeting(session, incident.id),
        action_items=read_incident_action_items(session, incident.id, now),
    )


def pir_detail(session: Session, policy: Policy, incident_id: str, now: datetime) -> dict[str, Any]:
    """The PIR as `review --export json` writes it: read_pir as JSON."""
    return read_pir(session, policy, incident_id, now).as_json()
