"""Escalation policies run: each due step of an open, unacknowledged incident ([escalation.*],
planned by playbooks/escalation.py) becomes one `escalation_step` timeline event and outbox
rows to each person it reaches, on their own channels — their [contacts.NAME] `sms` texted,
`phone` called for SEV-1 when voice is configured, `email` mailed, `slack` (a member id) sent a
direct message when Slack's Web API is configured. Run by `watch` and the command center's loop
(automation/watch.py) while they lead.

Exactly once: the due check and the writes of one incident are one write transaction, with the
incident's row locked (SQLite's BEGIN IMMEDIATE serialises writers; on PostgreSQL the store's
write lock and the row lock do), so two loops racing on one database cannot both run a step,
and an acknowledgement committed first is seen: no step goes out after it.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

from sqlmodel import select

from automation.routing import why_not
from automation.stakeholders import Directory
from playbooks.config import Configuration
from playbooks.escalation import DueStep, applies, due_steps, reached, step_summary
from playbooks.schedules import Resolver
from playbooks.statuses import OPEN_STATUSES
from playbooks.timeline import TimelineKind
from store.models import Incident, TimelineEvent
from store.oncall import as_overrides, current_overrides
from store.operations import IncidentStore
from store.outbox import enqueue_addressed

# Integration -> the contact field that reaches a person there, in the order a person is tried.
CHANNELS = (("sms", "sms"), ("voice", "phone"), ("email", "email"), ("slack", "slack"))


class OncallEscalation:
    """The configured policies over one store (see the module docstring)."""

    def __init__(self, store: IncidentStore, configuration: Configuration,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.configuration = configuration
        self.policies = dict(configuration.escalation)
        self.directory = Directory(configuration, store.policy)
        self.on_event = on_event or (lambda line: None)

    def covers(self, incident) -> bool:
        """Whether a policy escalates this incident (the response-time escalation then stands aside)."""
        return bool(self._policies_for(incident))

    def _policies_for(self, incident) -> list[str]:
        try:
            targets = self.store.policy.level(incident.severity).escalation_targets
        except Exception:  # a severity the policy no longer knows: no target names a policy
            targets = []
        return [name for name, policy in self.policies.items()
                if applies(name, policy, incident.severity, incident.type, targets)]

    def check(self) -> list[tuple[str, int, tuple[str, ...]]]:
        """Run every due step; returns (incident id, step number, persons) of each step run."""
        if not self.policies:
            return []
        now = self.store.now()
        with self.store.db.read() as session:
            waiting = [(incident.id, incident.declared_at) for incident in session.exec(select(Incident).where(
                Incident.status.in_(OPEN_STATUSES), Incident.acknowledged_at.is_(None))).all()
                if self._policies_for(incident)]
        if not waiting:
            return []
        earliest = min(declared for _, declared in waiting)
        overrides = as_overrides(current_overrides(self.store, earliest))
        resolvers = {name: Resolver(name, schedule, overrides) for name, schedule in self.configuration.schedules.items()}
        reach = reached(resolvers, self.directory.members)
        ran: list[tuple[str, int, tuple[str, ...]]] = []
        for incident_id, _ in waiting:
            ran += self._run(incident_id, now, reach)
        return ran

    def _run(self, incident_id: str, now: datetime, reach) -> list[tuple[str, int, tuple[str, ...]]]:
        ran = []
        with self.store.db.write() as session:
            # Locked and read again inside the write: an acknowledgement or another loop's step
            # committed since the read above is seen here.
            incident = session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
            if incident is None:
                return []
            done: dict[str, set[int]] = {}
            for data in session.exec(select(TimelineEvent.data).where(
                    TimelineEvent.incident_id == incident.id, TimelineEvent.kind == TimelineKind.ESCALATION_STEP)):
                facts = json.loads(data or "{}")
                done.setdefault(str(facts.get("policy")), set()).add(int(facts.get("number") or 0))
            for name in self._policies_for(incident):
                policy = self.policies[name]
                for step in due_steps(name, policy, declared_at=incident.declared_at, now=now,
                                      done=done.get(name, ()), acknowledged_at=incident.acknowledged_at,
                                      is_open=incident.status in OPEN_STATUSES, reach=reach):
                    self._record(session, incident, now, step, step_summary(step, policy))
                    ran.append((incident.id, step.planned.number, step.persons))
                    self.on_event(f"escalation {name} step {step.planned.number} on {incident.id}: "
                                  f"{', '.join(step.persons) or 'no one'}")
        return ran

    def _record(self, session, incident: Incident, now: datetime, step: DueStep, summary: str) -> None:
        rows = self.rows(incident, step.persons)
        planned = step.planned
        data = {"policy": planned.policy, "number": planned.number, "step": planned.step, "round": planned.round,
                "notify": planned.notify, "due_at": planned.due_at.isoformat(), "persons": list(step.persons),
                "channels": {person: [integration for integration, who, reason, _ in rows
                                      if who == person and reason is None] for person in step.persons}}
        event = self.store.record_event(session, incident, now, "automation", TimelineKind.ESCALATION_STEP,
                                        summary, data)
        enqueue_addressed(session, incident, TimelineKind.ESCALATION_STEP.value, data, summary, event.seq, now, rows,
                          headline=self.store.policy.headline(incident.type))

    def rows(self, incident, persons: tuple[str, ...]) -> list[tuple[str, str, str | None, list[str]]]:
        """(integration, person, why it may not go out or None, addresses) for each person on
        each configured channel they have an address on."""
        enabled = self.configuration.integrations.configured()
        rows = []
        for person in persons:
            contact = self.configuration.contacts.get(person)
            if contact is None:
                continue
            for integration, field in CHANNELS:
                address = getattr(contact, field)
                if integration not in enabled or not address:
                    continue
                reason = why_not(self.configuration, incident, integration)
                if reason is None and integration == "voice" and incident.severity != "SEV-1":
                    reason = f"critical-only: phone calls are for SEV-1 only ({incident.severity})"
                if reason is None and integration == "slack":
                    reason = self._why_no_direct_message(incident)
                rows.append((integration, person, reason, [address]))
        return rows

    def _why_no_direct_message(self, incident) -> str | None:
        """A DM wakes a real person, like a page: a drill's practice Slack channel (the [drills]
        list) is no licence to message them, an environment that pages nobody sends none, and
        a webhook addresses its channel only."""
        if incident.is_drill:
            return "drill: a Slack direct message reaches a real person; a drill pages no one"
        if not self.configuration.environment(incident.environment).pages:
            return (f"{incident.environment}: this environment pages nobody "
                    f"([environments.{incident.environment}] pages = true to change it)")
        if self.configuration.integrations.slack.mode != "web_api":
            return 'webhook: a Slack webhook posts to its channel only ([integrations.slack] mode = "web_api" sends DMs)'
        return None
