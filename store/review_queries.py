"""Reads behind the root cause analysis, the post-incident review and the action items
screen: plain dicts, the same ones the md/html/json documents (reports/rca.py,
reports/pir.py), the CLI and the screens are made from."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from playbooks import Policy
from store.audit import verify_chain
from playbooks.clock import iso_z
from playbooks.timeline import TimelineKind
from store.models import ActionItem, Incident, PostIncidentReview, RootCauseAnalysis, TimelineEvent
from store.queries import get_incident
from store.review import AGENDA, CATEGORIES, CATEGORY_TAGS, is_overdue

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


def format_duration(span: timedelta) -> str:
    """"1h 15m", "45m", "2d 3h 10m" (whole minutes)."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours or days else "", f"{minutes}m"]
    return " ".join(part for part in parts if part)


def money(amount: float | None, currency: str) -> str:
    return "not estimated" if amount is None else f"{amount:,.2f} {currency}"

def action_item_row(item: ActionItem, now: datetime, incident: Incident | None = None) -> dict[str, Any]:
    row = {
        "id": item.id, "incident_id": item.incident_id, "title": item.title, "owner": item.owner,
        "due_on": item.due_on.date().isoformat() if item.due_on else None, "category": item.category,
        "tag": CATEGORY_TAGS.get(item.category, item.category), "status": item.status, "source": item.source,
        "created_at": iso_z(item.created_at), "completed_at": iso_z(item.completed_at), "ticket": item.ticket,
        "overdue": is_overdue(item, now),
    }
    if incident is not None:
        row.update(incident_title=incident.title, severity=incident.severity, incident_status=incident.status)
    return row


def incident_action_items(session: Session, incident_id: str, now: datetime) -> list[dict[str, Any]]:
    """An incident's action items in the template's order: by category, then as added."""
    items = session.exec(select(ActionItem).where(ActionItem.incident_id == incident_id)
                         .order_by(ActionItem.id)).all()
    order = {category: index for index, category in enumerate(CATEGORIES)}
    return [action_item_row(item, now) for item in sorted(items, key=lambda i: (order.get(i.category, 9), i.id))]


def open_action_items(session: Session, now: datetime, *, include_done: bool = False) -> list[dict[str, Any]]:
    """Action items across incidents: overdue first (longest overdue first), then by due
    date (undated last), then as added."""
    query = select(ActionItem, Incident).where(ActionItem.incident_id == Incident.id)
    if not include_done:
        query = query.where(ActionItem.status != "done")
    rows = [action_item_row(item, now, incident) for item, incident in session.exec(query).all()]
    return sorted(rows, key=lambda r: (not r["overdue"], r["status"] == "done", r["due_on"] is None,
                                       r["due_on"] or "", r["id"]))


def rca_fields(session: Session, incident_id: str) -> dict[str, Any]:
    rca = session.get(RootCauseAnalysis, incident_id)
    if rca is None:
        return {"impact": None, "customers_affected": None, "estimated_cost": None, "root_cause": None,
                "root_cause_details": [], "contributing_factors": [], "updated_at": None, "updated_by": None}
    return {"impact": rca.impact, "customers_affected": rca.customers_affected, "estimated_cost": rca.estimated_cost,
            "root_cause": rca.root_cause, "root_cause_details": json.loads(rca.root_cause_details),
            "contributing_factors": json.loads(rca.contributing_factors), "updated_at": iso_z(rca.updated_at),
            "updated_by": rca.updated_by}


def review_fields(session: Session, incident_id: str) -> dict[str, Any]:
    review = session.get(PostIncidentReview, incident_id)
    notes = json.loads(review.agenda_notes) if review else {}
    return {
        "scheduled_at": iso_z(review.scheduled_at) if review else None,
        "held_at": iso_z(review.held_at) if review else None,
        "held": bool(review and review.held_at),
        "facilitator": review.facilitator if review else None,
        "attendees": json.loads(review.attendees) if review else [],
        "lessons_learned": json.loads(review.lessons_learned) if review else [],
        "agenda": [{"number": item.number, "title": item.title, "minutes": item.minutes, "topics": list(item.topics),
                    "notes": notes.get(str(item.number))} for item in AGENDA],
        "updated_at": iso_z(review.updated_at) if review else None,
        "updated_by": review.updated_by if review else None,
    }


def _incident_facts(incident: Incident, policy: Policy) -> dict[str, Any]:
    level = policy.level(incident.severity)
    return {
        "id": incident.id, "title": incident.title, "severity": incident.severity,
        "severity_name": level.name.capitalize(), "type": incident.type, "environment": incident.environment,
        "service": incident.service, "status": incident.status, "is_drill": incident.is_drill,
        "started_at": iso_z(incident.started_at), "detected_at": iso_z(incident.detected_at),
        "declared_at": iso_z(incident.declared_at), "acknowledged_at": iso_z(incident.acknowledged_at),
        "mitigated_at": iso_z(incident.mitigated_at), "resolved_at": iso_z(incident.resolved_at),
        "closed_at": iso_z(incident.closed_at), "review_required": level.review_required,
    }


def impact_window(incident: Incident, now: datetime) -> tuple[datetime, datetime, bool]:
    """From the start of impact (or its detection) to resolution (or now, while ongoing)."""
    began = incident.started_at or incident.detected_at
    ended = incident.resolved_at or incident.closed_at
    return began, ended or now, ended is None


def rca_timeline(session: Session, incident: Incident) -> list[dict[str, str]]:
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
    return [{"at": iso_z(at), "time": at.strftime("%H:%M") if at.date() == day else at.strftime("%Y-%m-%d %H:%M"),
             "text": text} for at, _, text in lines]


def audit_trail(session: Session, incident_id: str) -> dict[str, Any]:
    """The hash chain's verification, as the RCA states it."""
    from sqlalchemy import func, select as sa_select

    result = verify_chain(session)
    own = session.execute(sa_select(func.count()).select_from(TimelineEvent)
                          .where(TimelineEvent.incident_id == incident_id)).scalar() or 0
    text = (f"Audit trail: verified, {result.events_checked} event{'' if result.events_checked == 1 else 's'}" if result.ok
            else f"Audit trail: verification FAILED after {result.events_checked} events: {result.problem}")
    return {"ok": result.ok, "events_checked": result.events_checked, "incident_events": own,
            "problem": result.problem, "text": text}


def rca_detail(session: Session, policy: Policy, incident_id: str, now: datetime) -> dict[str, Any]:
    """The spec's Root Cause Analysis template, filled from the store, plus the impact
    assessment and the audit trail's verification."""
    incident = get_incident(session, incident_id)
    level = policy.level(incident.severity)
    fields = rca_fields(session, incident.id)
    began, ended, ongoing = impact_window(incident, now)
    duration = format_duration(ended - began) + (" so far (ongoing)" if ongoing else "")
    currency = policy.severity.cost_currency
    review = session.get(PostIncidentReview, incident.id)

    def span(later: datetime | None) -> str | None:
        return format_duration(later - incident.detected_at) if later else None

    return {
        "template": "root_cause_analysis",
        "generated_at": iso_z(now),
        "incident": _incident_facts(incident, policy),
        "summary": {"id": incident.id, "title": incident.title, "severity": level.name.capitalize(),
                    "severity_id": incident.severity, "duration": duration,
                    "impact": fields["impact"] or "not recorded"},
        "timeline": rca_timeline(session, incident),
        "root_cause": {"summary": fields["root_cause"] or "not determined yet", "determined": bool(fields["root_cause"]),
                       "details": fields["root_cause_details"]},
        "contributing_factors": fields["contributing_factors"],
        "corrective_actions": incident_action_items(session, incident.id, now),
        "impact_assessment": {
            "duration": duration, "duration_minutes": int((ended - began).total_seconds() // 60),
            "from": iso_z(began), "to": iso_z(ended), "ongoing": ongoing,
            "customers_affected": fields["customers_affected"],
            "estimated_cost": fields["estimated_cost"], "currency": currency,
            "estimated_cost_text": money(fields["estimated_cost"], currency),
            "time_to_detect": format_duration(incident.detected_at - incident.started_at) if incident.started_at else None,
            "time_to_acknowledge": span(incident.acknowledged_at),
            "time_to_resolve": span(incident.resolved_at),
            "severity_impact": level.impact, "customer_impact": level.customer_impact,
            "revenue_impact": level.revenue_impact,
        },
        "audit_trail": audit_trail(session, incident.id),
        "review": {"held": bool(review and review.held_at), "held_at": iso_z(review.held_at) if review else None},
        "updated_at": fields["updated_at"], "updated_by": fields["updated_by"],
    }


def pir_detail(session: Session, policy: Policy, incident_id: str, now: datetime) -> dict[str, Any]:
    """The spec's Post-Incident Review agenda with its time boxes, filled from the store."""
    incident = get_incident(session, incident_id)
    level = policy.level(incident.severity)
    began, ended, ongoing = impact_window(incident, now)
    fields = rca_fields(session, incident.id)
    return {
        "template": "post_incident_review",
        "generated_at": iso_z(now),
        "incident": _incident_facts(incident, policy),
        "summary": {"id": incident.id, "title": incident.title, "severity": level.name.capitalize(),
                    "severity_id": incident.severity,
                    "duration": format_duration(ended - began) + (" so far (ongoing)" if ongoing else ""),
                    "impact": fields["impact"] or "not recorded", "root_cause": fields["root_cause"]},
        "review": review_fields(session, incident.id),
        "total_minutes": sum(item.minutes for item in AGENDA),
        "action_items": incident_action_items(session, incident.id, now),
    }
