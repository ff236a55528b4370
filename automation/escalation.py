"""Escalation: an incident not acknowledged within its response time escalates to the
policy's targets (leadership for SEV-1), once, recorded on the timeline (and so sent
through the outbox). An incident an [escalation.*] policy covers is escalated by its steps
instead (automation/oncall_escalation.py)."""
from __future__ import annotations

from typing import Callable

from sqlmodel import select

from playbooks.statuses import OPEN_STATUSES
from store.models import Incident, RoleAssignment, TimelineEvent
from store.operations import IncidentStore
from playbooks.timeline import TimelineKind

ESCALATING = ("SEV-1", "SEV-2")


def escalate_overdue(store: IncidentStore, *, actor: str = "automation",
                     covered: Callable[[Incident], bool] | None = None) -> list[str]:
    """Escalate every open SEV-1/2 past its response deadline without an acknowledgement, but
    those `covered` by an [escalation.*] policy (automation/oncall_escalation.py runs their steps)."""
    now = store.now()
    escalated = []
    with store.db.write() as session:
        overdue = session.exec(select(Incident).where(
            Incident.status.in_(OPEN_STATUSES), Incident.acknowledged_at.is_(None),
            Incident.severity.in_(ESCALATING), Incident.response_due_at < now)).all()
        for incident in overdue:
            already = session.exec(select(TimelineEvent.seq).where(TimelineEvent.incident_id == incident.id,
                                                                   TimelineEvent.kind == TimelineKind.ESCALATED)).first()
            if already is not None or (covered is not None and covered(incident)):
                continue
            level = store.policy.level(incident.severity)
            store.record_event(session, incident, now, actor, TimelineKind.ESCALATED,
                               f"Not acknowledged within {level.response_time.lower()}: escalated to "
                               f"{', '.join(level.escalation_targets)}",
                               {"targets": list(level.escalation_targets), "response_due_at": str(incident.response_due_at)})
            escalated.append(incident.id)
    return escalated


def nudge_overdue_updates(store: IncidentStore, *, actor: str = "automation") -> list[str]:
    """A status update overdue by the severity's cadence: one 'update_overdue' event per
    missed due time (the outbox carries it to the comms lead's internal channel)."""
    now = store.now()
    nudged = []
    with store.db.write() as session:
        overdue = session.exec(select(Incident).where(Incident.status.in_(OPEN_STATUSES),
                                                      Incident.next_update_due_at.is_not(None),
                                                      Incident.next_update_due_at < now)).all()
        for incident in overdue:
            due = incident.next_update_due_at
            already = session.exec(select(TimelineEvent.seq).where(
                TimelineEvent.incident_id == incident.id, TimelineEvent.kind == TimelineKind.UPDATE_OVERDUE,
                TimelineEvent.at >= due)).first()
            if already is not None:
                continue
            lead = session.exec(select(RoleAssignment.person).where(
                RoleAssignment.incident_id == incident.id, RoleAssignment.role == "communications_lead",
                RoleAssignment.released_at.is_(None))).first()
            store.record_event(session, incident, now, actor, TimelineKind.UPDATE_OVERDUE,
                               f"Status update overdue since {due:%H:%M} UTC"
                               + (f"; {lead}, please post one" if lead else "; no communications lead assigned"),
                               {"due": str(due), "communications_lead": lead})
            nudged.append(incident.id)
    return nudged
