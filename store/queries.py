"""Reads behind the CLI, the dashboard and the exports. They return typed read models (store/read_models/)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from playbooks import Policy
from playbooks.durations import parse_duration
from playbooks.statuses import OPEN_STATUSES
from store.compliance import read_exposures, read_obligations
from store.errors import IncidentNotFound
from store.models import (
    ChecklistStep, Incident, Notification, RemediationAction, RoleAssignment, StatusUpdate, TimelineEvent,
)
from store.operations import normalise_id
from store.pinned_summary import read_pinned
from store.read_models.incident import (
    AppliedPolicy, ChecklistStep as ChecklistStepRead, GroupTold, IncidentDetail, PhaseProgress, PostedUpdate,
    RemediationEntry, RoleHolding, StakeholderGroup, TimelineEntry, timeline_kind,
)
from store.read_models.summary import IncidentSummary


_SUMMARY_COLUMNS = (
    Incident.id, Incident.severity, Incident.type, Incident.environment, Incident.status, Incident.title,
    Incident.declared_at, Incident.acknowledged_at, Incident.response_due_at, Incident.next_update_due_at,
    Incident.service,
)


def list_incidents(
    session: Session,
    *,
    status: str = "open",
    severity: str | None = None,
    incident_type: str | None = None,
    environment: str | None = None,
    limit: int | None = None,
    with_commander: bool = False,
) -> list[IncidentSummary]:
    """Incidents, most severe and then newest first. `status` is open, all, or one status.
    `with_commander` adds who holds the incident commander role (the dashboard's column);
    the CLI's list does without the extra lookup."""
    query = sa_select(*_SUMMARY_COLUMNS)
    if with_commander:
        query = query.add_columns(
            sa_select(RoleAssignment.person)
            .where(RoleAssignment.incident_id == Incident.id, RoleAssignment.role == "incident_commander",
                   RoleAssignment.released_at.is_(None))
            .order_by(RoleAssignment.assumed_at.desc(), RoleAssignment.id.desc())
            .limit(1).scalar_subquery())
    if status == "open":
        query = query.where(Incident.status.in_(OPEN_STATUSES))
    elif status != "all":
        query = query.where(Incident.status == status)
    if severity:
        query = query.where(Incident.severity == severity)
    if incident_type:
        query = query.where(Incident.type == incident_type)
    if environment and environment != "all":
        query = query.where(Incident.environment == environment)
    query = query.order_by(Incident.severity, Incident.declared_at.desc(), Incident.id.desc())
    if limit:
        query = query.limit(limit)
    return [IncidentSummary(*row) for row in session.execute(query)]


def get_incident(session: Session, incident_id: str) -> Incident:
    incident = session.get(Incident, normalise_id(incident_id))
    if incident is None:
        raise IncidentNotFound(
            f"no incident {incident_id!r}; accepted: an id like INC-2026-0115-001 from `incident-response list`"
        )
    return incident


def read_incident(session: Session, policy: Policy, incident_id: str, now: datetime) -> IncidentDetail:
    """Everything about one incident, with its policy as applied at `now`."""
    incident = get_incident(session, incident_id)
    level = policy.level(incident.severity)
    workflow = policy.workflows.get(incident.type)
    steps = session.exec(select(ChecklistStep).where(ChecklistStep.incident_id == incident.id)
                         .order_by(ChecklistStep.number)).all()
    roles = session.exec(select(RoleAssignment).where(RoleAssignment.incident_id == incident.id)
                         .order_by(RoleAssignment.assumed_at, RoleAssignment.id)).all()
    updates = session.exec(select(StatusUpdate).where(StatusUpdate.incident_id == incident.id)
                           .order_by(StatusUpdate.posted_at, StatusUpdate.id)).all()
    remediation = session.exec(select(RemediationAction).where(RemediationAction.incident_id == incident.id)
                               .order_by(RemediationAction.started_at, RemediationAction.id)).all()
    events = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
                          .order_by(TimelineEvent.seq)).all()
    notifications = session.exec(select(Notification).where(Notification.incident_id == incident.id)
                                 .order_by(Notification.id)).all()
    is_open = incident.status in OPEN_STATUSES
    phases = []
    if workflow is not None:
        for index, phase in enumerate(workflow.phases):
            ends = incident.declared_at + parse_duration(phase.ends_at) if phase.ends_at else None
            phase_steps = [s for s in steps if s.phase_index == index]
            done = sum(1 for s in phase_steps if s.done_at)
            phases.append(PhaseProgress(
                phase.name, phase.window, ends, done, len(phase_steps),
                bool(is_open and ends and now > ends and done < len(phase_steps))))
    applied = AppliedPolicy(
        impact=level.impact, customer_impact=level.customer_impact, revenue_impact=level.revenue_impact,
        response_time=level.response_time, response_due_at=incident.response_due_at,
        response_overdue=incident.acknowledged_at is None and is_open and now > incident.response_due_at,
        escalation=level.escalation, escalation_targets=tuple(level.escalation_targets),
        update_cadence=level.update_every, communication=level.communication,
        next_update_due_at=incident.next_update_due_at,
        update_overdue=bool(is_open and incident.next_update_due_at and now > incident.next_update_due_at),
        stakeholders=tuple(StakeholderGroup(g.name, g.channel) for g in policy.stakeholders(level)),
    )
    return IncidentDetail(
        id=incident.id, title=incident.title, severity=incident.severity, severity_name=level.name,
        type=incident.type, environment=incident.environment, service=incident.service,
        status=incident.status, version=incident.version, declared_by=incident.declared_by,
        is_drill=incident.is_drill,
        started_at=incident.started_at, detected_at=incident.detected_at, declared_at=incident.declared_at,
        acknowledged_at=incident.acknowledged_at, mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at, closed_at=incident.closed_at,
        customer_satisfaction=incident.customer_satisfaction,
        public_headline=_public_headline(events) or policy.headline(incident.type),
        policy=applied,
        phases=tuple(phases),
        checklist=tuple(ChecklistStepRead(s.number, s.phase, s.text, s.done_at, s.done_by) for s in steps),
        roles=tuple(RoleHolding(r.role, r.person, r.assumed_at, r.released_at) for r in roles),
        status_updates=tuple(PostedUpdate(u.posted_at, u.posted_by, u.status, u.severity, u.affected, u.message,
                                          u.next_update_due_at) for u in updates),
        remediation=tuple(RemediationEntry(a.id, a.description, a.started_at, a.started_by, a.finished_at,
                                           a.outcome) for a in remediation),
        timeline=tuple(TimelineEntry(e.seq, e.at, e.actor, timeline_kind(e.kind), e.summary) for e in events),
        notifications=_told(notifications),
        data_exposed=read_exposures(session, incident.id),
        compliance=read_obligations(session, policy, incident.id, now),
        pinned_summary=read_pinned(events),  # the latest summary_pinned event, or None
    )


def incident_detail(session: Session, policy: Policy, incident_id: str, now: datetime) -> dict[str, Any]:
    """`read_incident` as JSON: the `show --json` form."""
    return read_incident(session, policy, incident_id, now).as_json()


def _told(notifications) -> tuple[GroupTold, ...]:
    """Per stakeholder group: what was sent, when, what is still waiting, and what was
    skipped and why (a drill, an environment that pages nobody)."""
    groups: dict[str, dict[str, Any]] = {}
    for n in notifications:
        for name in _groups_of(n):
            _count_for(groups, name, n)
    return tuple(
        GroupTold(entry["group"], entry["sent"], entry["pending"], entry["failed"], entry["skipped"],
                  tuple(entry["skip_reasons"]), entry["last_sent_at"], tuple(entry["integrations"]),
                  "failed" if entry["failed"] else "pending" if entry["pending"] else
                  "sent" if entry["sent"] else "skipped")
        for entry in groups.values())


def _public_headline(events) -> str | None:
    """The headline the engineer last chose for the public page (None: the playbook's)."""
    for event in reversed(events):
        if event.kind == "status_update":
            try:
                chosen = json.loads(event.data or "{}").get("headline")
            except ValueError:
                chosen = None
            if isinstance(chosen, str) and chosen:
                return chosen
    return None


def _groups_of(n) -> list[str]:
    """The groups one message is for: several groups sharing a channel get one message."""
    try:
        named = json.loads(n.payload or "{}").get("groups")
    except ValueError:
        named = None
    if isinstance(named, list) and named and all(isinstance(g, str) for g in named):
        return named
    return [n.stakeholder_group or n.integration]


def _count_for(groups: dict[str, dict[str, Any]], name: str, n) -> None:
    entry = groups.setdefault(name, {"group": name, "sent": 0, "pending": 0,
                                     "failed": 0, "skipped": 0, "skip_reasons": [], "last_sent_at": None,
                                     "integrations": []})
    entry[{"sent": "sent", "pending": "pending", "dead": "failed", "skipped": "skipped"}[n.state]] += 1
    if n.state == "skipped" and n.last_error and n.last_error not in entry["skip_reasons"]:
        entry["skip_reasons"].append(n.last_error)
    if n.integration not in entry["integrations"]:
        entry["integrations"].append(n.integration)
    if n.sent_at and (entry["last_sent_at"] is None or n.sent_at > entry["last_sent_at"]):
        entry["last_sent_at"] = n.sent_at
