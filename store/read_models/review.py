"""After the incident, as the screens and documents read it: the root cause analysis
(RcaDetail), the post-incident review (PirDetail) and the action items (ActionItemRow).

Built by store/review_queries.py; `as_json()` gives the exact form of `rca`/`review
--export json`, `actions --json` and rca_detail/pir_detail/open_action_items. Stored values
stay `str` where the vocabulary is open (a category or status of an older row, a restored
backup, still loads), and the texts the documents print (durations, the cost, the audit
line) are properties, so every reader words them the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from playbooks.clock import iso_z


def span_text(span: timedelta) -> str:
    """"1h 15m", "45m", "2d 3h 10m" (whole minutes): the RCA's and PIR's durations."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours or days else "", f"{minutes}m"]
    return " ".join(part for part in parts if part)


def money(amount: float | None, currency: str) -> str:
    return "not estimated" if amount is None else f"{amount:,.2f} {currency}"


def _span_or_none(span: timedelta | None) -> str | None:
    return None if span is None else span_text(span)


# -- action items ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemIncident:
    """The incident an action item belongs to, as the cross-incident list shows it."""

    title: str
    severity: str
    status: str


@dataclass(frozen=True)
class ActionItemRow:
    """One corrective action: its category tag, owner, due day and where it stands."""

    id: int
    incident_id: str
    title: str
    owner: str | None
    due_on: date | None
    category: str  # immediate | short-term | long-term | process (an unknown stored one is kept as it is)
    tag: str  # the template's tag: "Immediate", "Short-term", ...
    status: str  # open | in-progress | done
    source: str
    created_at: datetime
    completed_at: datetime | None
    ticket: str | None
    overdue: bool
    incident: ItemIncident | None = None  # only in the list across incidents

    @property
    def done(self) -> bool:
        return self.status == "done"

    def as_json(self) -> dict[str, Any]:
        row = {
            "id": self.id, "incident_id": self.incident_id, "title": self.title, "owner": self.owner,
            "due_on": self.due_on.isoformat() if self.due_on else None, "category": self.category,
            "tag": self.tag, "status": self.status, "source": self.source,
            "created_at": iso_z(self.created_at), "completed_at": iso_z(self.completed_at), "ticket": self.ticket,
            "overdue": self.overdue,
        }
        if self.incident is not None:
            row.update(incident_title=self.incident.title, severity=self.incident.severity,
                       incident_status=self.incident.status)
        return row


# -- what both documents say about the incident ----------------------------------------------------

@dataclass(frozen=True)
class ReviewIncident:
    """The incident's recorded facts and its severity's policy, as both documents carry them."""

    id: str
    title: str
    severity: str
    severity_name: str
    type: str
    environment: str
    service: str | None
    status: str
    is_drill: bool
    started_at: datetime | None
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    review_required: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "severity": self.severity, "severity_name": self.severity_name,
            "type": self.type, "environment": self.environment, "service": self.service, "status": self.status,
            "is_drill": self.is_drill, "started_at": iso_z(self.started_at), "detected_at": iso_z(self.detected_at),
            "declared_at": iso_z(self.declared_at), "acknowledged_at": iso_z(self.acknowledged_at),
            "mitigated_at": iso_z(self.mitigated_at), "resolved_at": iso_z(self.resolved_at),
            "closed_at": iso_z(self.closed_at), "review_required": self.review_required,
        }


@dataclass(frozen=True)
class ImpactWindow:
    """From the start of impact (or its detection) to resolution, or to now while ongoing."""

    began: datetime
    ended: datetime
    ongoing: bool

    @property
    def duration(self) -> str:
        return span_text(self.ended - self.began) + (" so far (ongoing)" if self.ongoing else "")


@dataclass(frozen=True)
class RcaSummary:
    """The template's "Incident Summary"."""

    id: str
    title: str
    severity: str  # the level's name, "Critical"
    severity_id: str  # "SEV-1"
    window: ImpactWindow
    impact: str | None  # as recorded; None until someone states it

    @property
    def duration(self) -> str:
        return self.window.duration

    @property
    def impact_text(self) -> str:
        return self.impact or "not recorded"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity, "severity_id": self.severity_id,
                "duration": self.duration, "impact": self.impact_text}


@dataclass(frozen=True)
class PirSummary(RcaSummary):
    """The review's summary also names the root cause (None until determined)."""

    root_cause: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "root_cause": self.root_cause}


# -- root cause analysis ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RcaTimelineLine:
    """One line of the RCA's timeline: "14:30 - Incident declared as SEV-1: ..."."""

    at: datetime
    time: str  # "HH:MM", or "YYYY-MM-DD HH:MM" when not on the declaration's day
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"at": iso_z(self.at), "time": self.time, "text": self.text}


@dataclass(frozen=True)
class RootCause:
    text: str | None  # as recorded; None until determined
    details: tuple[str, ...]

    @property
    def determined(self) -> bool:
        return bool(self.text)

    @property
    def summary(self) -> str:
        return self.text or "not determined yet"

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "determined": self.determined, "details": list(self.details)}


@dataclass(frozen=True)
class ImpactAssessment:
    window: ImpactWindow
    customers_affected: int | None
    estimated_cost: float | None
    currency: str
    time_to_detect: timedelta | None  # started -> detected, when the start of impact is known
    time_to_acknowledge: timedelta | None  # from detection
    time_to_resolve: timedelta | None  # from detection
    severity_impact: str
    customer_impact: str
    revenue_impact: str

    @property
    def duration(self) -> str:
        return self.window.duration

    @property
    def estimated_cost_text(self) -> str:
        return money(self.estimated_cost, self.currency)

    @property
    def time_to_detect_text(self) -> str | None:
        return _span_or_none(self.time_to_detect)

    @property
    def time_to_acknowledge_text(self) -> str | None:
        return _span_or_none(self.time_to_acknowledge)

    @property
    def time_to_resolve_text(self) -> str | None:
        return _span_or_none(self.time_to_resolve)

    def as_json(self) -> dict[str, Any]:
        window = self.window
        return {
            "duration": self.duration, "duration_minutes": int((window.ended - window.began).total_seconds() // 60),
            "from": iso_z(window.began), "to": iso_z(window.ended), "ongoing": window.ongoing,
            "customers_affected": self.customers_affected, "estimated_cost": self.estimated_cost,
            "currency": self.currency, "estimated_cost_text": self.estimated_cost_text,
            "time_to_detect": self.time_to_detect_text,
            "time_to_acknowledge": self.time_to_acknowledge_text,
            "time_to_resolve": self.time_to_resolve_text,
            "severity_impact": self.severity_impact, "customer_impact": self.customer_impact,
            "revenue_impact": self.revenue_impact,
        }


@dataclass(frozen=True)
class AuditTrail:
    """The hash chain's verification, as the RCA states it."""

    ok: bool
    events_checked: int
    incident_events: int
    problem: str | None

    @property
    def text(self) -> str:
        if self.ok:
            return f"Audit trail: verified, {self.events_checked} event{'' if self.events_checked == 1 else 's'}"
        return f"Audit trail: verification FAILED after {self.events_checked} events: {self.problem}"

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events_checked": self.events_checked, "incident_events": self.incident_events,
                "problem": self.problem, "text": self.text}


@dataclass(frozen=True)
class RcaDetail:
    """The spec's Root Cause Analysis template, filled from the store, with the impact
    assessment and the audit trail's verification."""

    generated_at: datetime
    incident: ReviewIncident
    summary: RcaSummary
    timeline: tuple[RcaTimelineLine, ...]
    root_cause: RootCause
    contributing_factors: tuple[str, ...]
    corrective_actions: tuple[ActionItemRow, ...]
    impact_assessment: ImpactAssessment
    audit_trail: AuditTrail
    review_held_at: datetime | None
    updated_at: datetime | None
    updated_by: str | None

    template = "root_cause_analysis"

    def as_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "generated_at": iso_z(self.generated_at),
            "incident": self.incident.as_json(),
            "summary": self.summary.as_json(),
            "timeline": [line.as_json() for line in self.timeline],
            "root_cause": self.root_cause.as_json(),
            "contributing_factors": list(self.contributing_factors),
            "corrective_actions": [item.as_json() for item in self.corrective_actions],
            "impact_assessment": self.impact_assessment.as_json(),
            "audit_trail": self.audit_trail.as_json(),
            "review": {"held": self.review_held_at is not None, "held_at": iso_z(self.review_held_at)},
            "updated_at": iso_z(self.updated_at), "updated_by": self.updated_by,
        }


# -- post-incident review --------------------------------------------------------------------------

@dataclass(frozen=True)
class AgendaEntry:
    """One of the review agenda's items with its time box, and what was noted under it."""

    number: int
    title: str
    minutes: int
    topics: tuple[str, ...]
    notes: str | None

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "minutes": self.minutes, "topics": list(self.topics),
                "notes": self.notes}


@dataclass(frozen=True)
class ReviewMeeting:
    """When the review meets (or met), who attends and facilitates, the agenda and lessons."""

    scheduled_at: datetime | None
    held_at: datetime | None
    facilitator: str | None
    attendees: tuple[str, ...]
    lessons_learned: tuple[str, ...]
    agenda: tuple[AgendaEntry, ...]
    updated_at: datetime | None
    updated_by: str | None

    @property
    def held(self) -> bool:
        return self.held_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "scheduled_at": iso_z(self.scheduled_at), "held_at": iso_z(self.held_at), "held": self.held,
            "facilitator": self.facilitator, "attendees": list(self.attendees),
            "lessons_learned": list(self.lessons_learned), "agenda": [item.as_json() for item in self.agenda],
            "updated_at": iso_z(self.updated_at), "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class PirDetail:
    """The spec's Post-Incident Review agenda with its time boxes, filled from the store."""

    generated_at: datetime
    incident: ReviewIncident
    summary: PirSummary
    review: ReviewMeeting
    action_items: tuple[ActionItemRow, ...]

    template = "post_incident_review"

    @property
    def total_minutes(self) -> int:
        return sum(item.minutes for item in self.review.agenda)

    def as_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "generated_at": iso_z(self.generated_at),
            "incident": self.incident.as_json(),
            "summary": self.summary.as_json(),
            "review": self.review.as_json(),
            "total_minutes": self.total_minutes,
            "action_items": [item.as_json() for item in self.action_items],
        }


@dataclass(frozen=True)
class PostIncidentDetail:
    """What the post-incident screen shows: both documents, read in one session."""

    rca: RcaDetail
    pir: PirDetail
