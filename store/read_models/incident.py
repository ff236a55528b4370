"""One incident as the war room, `show`, the handover and the status page read it.

Built by store/queries.py `read_incident`; `IncidentDetail.as_json()` is the `show --json`
form (ISO 8601 with a Z for every time). Statuses and severities stay `str`: the playbook
defines them and an older row may hold a word it no longer has. A timeline kind is a
TimelineKind where it is one, else the stored string (a restored backup's kind is data).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from playbooks.clock import iso_z
from playbooks.timeline import TimelineKind


def timeline_kind(value: str) -> TimelineKind | str:
    """The kind as the enum's member, or the stored string when it is none of them."""
    try:
        return TimelineKind(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class StakeholderGroup:
    """A group the severity's policy tells, and the channel it is told on."""

    group: str
    channel: str

    def as_json(self) -> dict[str, Any]:
        return {"group": self.group, "channel": self.channel}


@dataclass(frozen=True)
class AppliedPolicy:
    """The severity level's policy as it applies to this incident now."""

    impact: str
    customer_impact: str
    revenue_impact: str
    response_time: str
    response_due_at: datetime
    response_overdue: bool
    escalation: str
    escalation_targets: tuple[str, ...]
    update_cadence: str
    communication: str
    next_update_due_at: datetime | None
    update_overdue: bool
    stakeholders: tuple[StakeholderGroup, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "impact": self.impact, "customer_impact": self.customer_impact, "revenue_impact": self.revenue_impact,
            "response_time": self.response_time, "response_due_at": iso_z(self.response_due_at),
            "response_overdue": self.response_overdue,
            "escalation": self.escalation, "escalation_targets": list(self.escalation_targets),
            "update_cadence": self.update_cadence, "communication": self.communication,
            "next_update_due_at": iso_z(self.next_update_due_at), "update_overdue": self.update_overdue,
            "stakeholders": [s.as_json() for s in self.stakeholders],
        }


@dataclass(frozen=True)
class PhaseProgress:
    """One phase of the workflow: its time box and how many of its steps are done."""

    name: str
    window: str
    ends_at: datetime | None
    done: int
    total: int
    overdue: bool

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "window": self.window, "ends_at": iso_z(self.ends_at),
                "done": self.done, "total": self.total, "overdue": self.overdue}


@dataclass(frozen=True)
class ChecklistStep:
    number: int
    phase: str
    text: str
    done_at: datetime | None
    done_by: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "phase": self.phase, "text": self.text, "done": self.done,
                "done_at": iso_z(self.done_at), "done_by": self.done_by}


@dataclass(frozen=True)
class RoleHolding:
    """Who held (or holds, while `released_at` is None) a role, from when."""

    role: str
    person: str
    assumed_at: datetime
    released_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "person": self.person, "assumed_at": iso_z(self.assumed_at),
                "released_at": iso_z(self.released_at)}


@dataclass(frozen=True)
class PostedUpdate:
    """A status update as it was posted."""

    posted_at: datetime
    posted_by: str
    status: str
    severity: str
    affected: str | None
    message: str
    next_update_due_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"posted_at": iso_z(self.posted_at), "posted_by": self.posted_by, "status": self.status,
                "severity": self.severity, "affected": self.affected, "message": self.message,
                "next_update_due_at": iso_z(self.next_update_due_at)}


@dataclass(frozen=True)
class RemediationEntry:
    """A remediation action; running while `finished_at` is None."""

    id: int
    description: str
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    outcome: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "started_at": iso_z(self.started_at),
                "started_by": self.started_by, "finished_at": iso_z(self.finished_at), "outcome": self.outcome}


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: datetime
    actor: str
    kind: TimelineKind | str
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": iso_z(self.at), "actor": self.actor, "kind": str(self.kind),
                "summary": self.summary}


@dataclass(frozen=True)
class GroupTold:
    """Per stakeholder group: what was sent, when, what is still waiting, and what was
    skipped and why; `state` is failed, pending, sent or skipped (the worst first)."""

    group: str
    sent: int
    pending: int
    failed: int
    skipped: int
    skip_reasons: tuple[str, ...]
    last_sent_at: datetime | None
    integrations: tuple[str, ...]
    state: str

    def as_json(self) -> dict[str, Any]:
        return {"group": self.group, "sent": self.sent, "pending": self.pending, "failed": self.failed,
                "skipped": self.skipped, "skip_reasons": list(self.skip_reasons),
                "last_sent_at": iso_z(self.last_sent_at), "integrations": list(self.integrations),
                "state": self.state}


@dataclass(frozen=True)
class DataExposure:
    """A data class marked exposed, by whom and when."""

    data_class: str
    marked_at: datetime
    marked_by: str

    def as_json(self) -> dict[str, Any]:
        return {"data_class": self.data_class, "marked_at": iso_z(self.marked_at), "marked_by": self.marked_by}


@dataclass(frozen=True)
class ComplianceObligation:
    """A regime's notification obligation with the policy's words; `remaining_seconds` is
    the time left at the read (negative when overdue; None once met). A regime removed from
    the policy keeps its record, named by its id."""

    regime: str
    name: str
    deadline_text: str | None
    requires: tuple[str, ...]
    notify: tuple[str, ...]
    aware_at: datetime
    due_at: datetime
    met_at: datetime | None
    met_by: str | None
    note: str | None
    remaining_seconds: int | None
    overdue: bool
    on_time: bool | None

    def as_json(self) -> dict[str, Any]:
        return {
            "regime": self.regime, "name": self.name, "deadline_text": self.deadline_text,
            "requires": list(self.requires), "notify": list(self.notify),
            "aware_at": iso_z(self.aware_at), "due_at": iso_z(self.due_at), "met_at": iso_z(self.met_at),
            "met_by": self.met_by, "note": self.note, "remaining_seconds": self.remaining_seconds,
            "overdue": self.overdue, "on_time": self.on_time,
        }


@dataclass(frozen=True)
class PinnedSummary:
    """The latest pinned "current summary / next steps" (store/pinned_summary.py)."""

    summary: str
    next_steps: str | None
    by: str
    at: datetime
    seq: int

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "next_steps": self.next_steps, "by": self.by, "at": iso_z(self.at),
                "seq": self.seq}


@dataclass(frozen=True)
class IncidentDetail:
    """Everything about one incident, with its policy as applied at `now` of the read."""

    id: str
    title: str
    severity: str
    severity_name: str
    type: str
    environment: str
    service: str | None
    status: str
    version: int
    declared_by: str
    is_drill: bool
    started_at: datetime | None
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    customer_satisfaction: float | None
    public_headline: str
    policy: AppliedPolicy
    phases: tuple[PhaseProgress, ...]
    checklist: tuple[ChecklistStep, ...]
    roles: tuple[RoleHolding, ...]
    status_updates: tuple[PostedUpdate, ...]
    remediation: tuple[RemediationEntry, ...]
    timeline: tuple[TimelineEntry, ...]
    notifications: tuple[GroupTold, ...]
    data_exposed: tuple[DataExposure, ...]
    compliance: tuple[ComplianceObligation, ...]
    pinned_summary: PinnedSummary | None

    @property
    def held_roles(self) -> dict[str, str]:
        """Role -> person for the roles held now."""
        return {r.role: r.person for r in self.roles if r.released_at is None}

    @property
    def running_remediation(self) -> tuple[RemediationEntry, ...]:
        return tuple(a for a in self.remediation if a.finished_at is None)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "severity": self.severity, "severity_name": self.severity_name,
            "type": self.type, "environment": self.environment, "service": self.service,
            "status": self.status, "version": self.version, "declared_by": self.declared_by,
            "is_drill": self.is_drill,
            "started_at": iso_z(self.started_at), "detected_at": iso_z(self.detected_at),
            "declared_at": iso_z(self.declared_at), "acknowledged_at": iso_z(self.acknowledged_at),
            "mitigated_at": iso_z(self.mitigated_at), "resolved_at": iso_z(self.resolved_at),
            "closed_at": iso_z(self.closed_at),
            "customer_satisfaction": self.customer_satisfaction,
            "public_headline": self.public_headline,
            "policy": self.policy.as_json(),
            "phases": [p.as_json() for p in self.phases],
            "checklist": [s.as_json() for s in self.checklist],
            "roles": [r.as_json() for r in self.roles],
            "status_updates": [u.as_json() for u in self.status_updates],
            "remediation": [a.as_json() for a in self.remediation],
            "timeline": [e.as_json() for e in self.timeline],
            "notifications": [n.as_json() for n in self.notifications],
            "data_exposed": [e.as_json() for e in self.data_exposed],
            "compliance": [o.as_json() for o in self.compliance],
            "pinned_summary": self.pinned_summary.as_json() if self.pinned_summary else None,
        }
