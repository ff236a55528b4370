"""A regulator's clock reminds the people who must act: when half of its time has gone and
again when it is overdue, each once per obligation, as a timeline event the outbox carries
to the Legal/Compliance and Security groups (whatever the incident's severity or status: a
deadline does not end with the incident). Run by `watch` and the command center's loop."""
from __future__ import annotations

import json

from sqlmodel import select

from playbooks.clock import iso_z
from store.models import ComplianceObligation, Incident, TimelineEvent
from store.operations import IncidentStore
from playbooks.timeline import TimelineKind

KIND = TimelineKind.COMPLIANCE_REMINDER


def remind_compliance(store: IncidentStore, *, actor: str = "automation") -> list[tuple[str, str, str]]:
    """Record the reminders now due; returns (incident id, regime, "halfway" | "overdue") of each."""
    now = store.now()
    reminded = []
    with store.db.write() as session:
        running = session.exec(select(ComplianceObligation).where(ComplianceObligation.met_at.is_(None))).all()
        for obligation in running:
            halfway = obligation.aware_at + (obligation.due_at - obligation.aware_at) / 2
            stage = "overdue" if now >= obligation.due_at else "halfway" if now >= halfway else None
            if stage is None:
                continue
            earlier = session.exec(select(TimelineEvent.data).where(
                TimelineEvent.incident_id == obligation.incident_id, TimelineEvent.kind == KIND)).all()
            if any(json.loads(data).get("regime") == obligation.regime and json.loads(data).get("stage") == stage
                   for data in earlier):
                continue
            incident = session.get(Incident, obligation.incident_id)
            due = iso_z(obligation.due_at)
            summary = (f"{obligation.regime} notification overdue since {due}" if stage == "overdue" else
                       f"{obligation.regime} notification due {due}: half of the time has gone")
            store.record_event(session, incident, now, actor, KIND, summary,
                               {"regime": obligation.regime, "stage": stage, "aware_at": iso_z(obligation.aware_at),
                                "due_at": due})
            reminded.append((obligation.incident_id, obligation.regime, stage))
    return reminded
