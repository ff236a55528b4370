"""Declaring an incident: its id from the day's sequence, its row with the policy's deadlines,
the type's checklist and the 'declared' event. A part of IncidentStore (store/operations.py),
kept apart because declaring has two writers of its own: `declare` writes through
SQLAlchemy Core in its own transaction (the hot path, bench/run.py), `write_declaration`
through the ORM inside a caller's transaction (detection, import), with the same rows and
events."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, inspect as sa_inspect, select as sa_select
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlmodel import Session

from playbooks.clock import iso_z, to_utc_naive
from playbooks.errors import PolicyValueError
from playbooks.timeline import TimelineKind
from playbooks.validation import check_actor, checked_text
from store.audit import state_json
from store.models import ChecklistStep, Incident, IncidentSequence, durations_of
from store.write_locks import LOCK_DAY, change_soon, on_postgres, read_locked

if TYPE_CHECKING:
    from playbooks.policy import Policy
    from store.database import Database

_INCIDENTS = Incident.__table__
_STEPS = ChecklistStep.__table__
_SEQUENCES = IncidentSequence.__table__
_READ_SEQUENCE = sa_select(_SEQUENCES.c.last).where(_SEQUENCES.c.day == bindparam("day"))
_ID_TAKEN = sa_select(_INCIDENTS.c.id).where(_INCIDENTS.c.id == bindparam("id"))
_NEW_SEQUENCE = _SEQUENCES.insert()
_MOVE_SEQUENCE = _SEQUENCES.update().where(_SEQUENCES.c.day == bindparam("for_day")).values(
    last=bindparam("to_last"))
_INSERT_INCIDENT = _INCIDENTS.insert()
_INSERT_STEPS = _STEPS.insert()
# The whole row: its status for the check, its state for the chain, the model it returns.


def detached(model, values: dict[str, Any]):
    """A model object for rows a Core write made, as the ORM path returns its own after
    commit: persistent-looking (adding it to a later session updates, never inserts).
    Made the way the ORM makes an object it loads (new_instance, then the row into its
    __dict__), which skips the per-field validation of a constructor: several times cheaper."""
    configure_mappers()  # as a constructor would (a no-op once done)
    instance = sa_inspect(model).class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    return instance


@dataclass(frozen=True)
class Declaration:
    """A checked declaration, ready to be written under the lock."""

    severity: str
    incident_type: str
    environment: str
    actor: str
    title: str
    service: str | None
    started_at: datetime | None
    detected_at: datetime | None
    is_drill: bool
    dedup_key: str | None
    detail: dict[str, Any]


class Declaring:
    """IncidentStore's declaring half (it supplies db, policy, now() and record_event)."""

    db: "Database"
    policy: "Policy"

    def allocate_id(self, session: Session, day: datetime, reserved: frozenset[str] = frozenset()) -> str:
        key = day.strftime("%Y%m%d")
        sequence = session.get(IncidentSequence, key)
        if sequence is None:
            sequence = IncidentSequence(day=key, last=0)
        # Imported incidents may already use numbers of this day: skip past them.
        while True:
            sequence.last += 1
            candidate = f"INC-{day:%Y}-{day:%m%d}-{sequence.last:03d}"
            if candidate not in reserved and session.get(Incident, candidate) is None:
                break
        session.add(sequence)
        return candidate

    @staticmethod
    def _allocate_id_now(session: Session, day: datetime) -> str:
        """allocate_id through Core, for declare's own transaction (no ORM object of the
        day's sequence can be in it)."""
        conn = session.connection()
        key = day.strftime("%Y%m%d")
        # Declare runs beside other incidents' writes: one day's numbers take turns (on
        # PostgreSQL its lock is taken with the gate and the read, in one round trip).
        *_, read = read_locked(session, {"day": key}, *((LOCK_DAY,) if on_postgres(session) else ()), _READ_SEQUENCE)
        last = read[0][0] if read else None
        number = last or 0
        while True:  # imported incidents may already use numbers of this day: skip past them
            number += 1
            candidate = f"INC-{day:%Y}-{day:%m%d}-{number:03d}"
            if conn.execute(_ID_TAKEN, {"id": candidate}).first() is None:
                break
        if last is None:
            change_soon(session, _NEW_SEQUENCE, {"day": key, "last": number})
        else:
            change_soon(session, _MOVE_SEQUENCE, {"for_day": key, "to_last": number})
        return candidate

    # -- declare ------------------------------------------------------------------
    def declare(
        self,
        severity: str,
        incident_type: str,
        environment: str,
        *,
        actor: str,
        title: str | None = None,
        service: str | None = None,
        started_at: datetime | None = None,
        detected_at: datetime | None = None,
        is_drill: bool = False,
    ) -> Incident:
        """Open an incident: id, policy deadlines, the type's checklist, a 'declared' event."""
        declaration = self.prepare_declaration(severity, incident_type, environment, actor=actor, title=title,
                                               service=service, started_at=started_at, detected_at=detected_at,
                                               is_drill=is_drill)
        with self.db.write(per_incident=True) as session:
            return self._declare_now(session, declaration)

    def prepare_declaration(self, severity: str, incident_type: str, environment: str, *, actor: str,
                            title: str | None = None, service: str | None = None,
                            started_at: datetime | None = None, detected_at: datetime | None = None,
                            is_drill: bool = False, dedup_key: str | None = None,
                            detail: dict[str, Any] | None = None) -> "Declaration":
        """Check everything about a declaration before any lock is taken."""
        level = self.policy.level(severity)
        workflow = self.policy.workflow(incident_type)
        env = self.policy.environment(environment)
        actor = check_actor(actor)
        title = checked_text(title, "title", required=False) or f"{workflow.headline} in {env}"
        service = checked_text(service, "service", required=False)
        detected = to_utc_naive(detected_at) if detected_at else None
        started = to_utc_naive(started_at) if started_at else None
        if started and detected and started > detected:
            raise PolicyValueError("the start of impact is after its detection; accepted: started <= detected")
        return Declaration(level.id, workflow.type, env, actor, title, service, started, detected, is_drill,
                           checked_text(dedup_key, "dedup key", required=False), dict(detail or {}))

    @staticmethod
    def add_with_checklist(session: Session, incident: Incident, workflow) -> None:
        """The incident row and its type's checklist, numbered 1..N across phases."""
        session.add(incident)
        session.flush()  # no ORM relationships: the steps' foreign key needs this row first
        number = 0
        for phase_index, phase in enumerate(workflow.phases):
            for text in phase.steps:
                number += 1
                session.add(ChecklistStep(incident_id=incident.id, number=number, phase_index=phase_index,
                                          phase=phase.name, text=text))

    def write_declaration(self, session: Session, d: "Declaration") -> Incident:
        """The declaration's rows and its 'declared' event, inside the caller's write."""
        workflow = self.policy.workflow(d.incident_type)
        now = self.now()
        values = self._declared_row(d, self.allocate_id(session, now), now)
        incident = Incident(**values)
        self.add_with_checklist(session, incident, workflow)
        incident.version = 0  # record_event bumps it to 1
        summary, data = self._declared_event(d, values)
        self.record_event(session, incident, now, d.actor, TimelineKind.DECLARED, summary, data)
        return incident

    def _declared_row(self, d: "Declaration", incident_id: str, now: datetime) -> dict[str, Any]:
        """The incident row a declaration writes (version 1, as after its 'declared' event)."""
        level = self.policy.level(d.severity)
        detected = d.detected_at or now
        values = dict(
            id=incident_id, title=d.title, severity=level.id, type=self.policy.workflow(d.incident_type).type,
            environment=d.environment, service=d.service, status="investigating", version=1,
            declared_by=d.actor, is_drill=d.is_drill, started_at=d.started_at, detected_at=detected,
            declared_at=now, acknowledged_at=None, mitigated_at=None, resolved_at=None, closed_at=None,
            dedup_key=d.dedup_key, response_due_at=self.policy.response_deadline(level, detected),
            next_update_due_at=self.policy.next_update_due(level, now), customer_satisfaction=None)
        values.update(durations_of(SimpleNamespace(**values)))
        return values

    def _declared_event(self, d: "Declaration", row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The 'declared' event's summary and data."""
        level = self.policy.level(d.severity)
        return (f"Declared {level.id} ({level.name}) {row['type']} in {d.environment}: {d.title}",
                {"severity": level.id, "type": row["type"], "environment": d.environment,
                 "title": d.title, "service": d.service, "response_due_at": iso_z(row["response_due_at"]),
                 "escalation": level.escalation, "escalation_targets": list(level.escalation_targets),
                 "drill": d.is_drill, **d.detail})

    def _declare_now(self, session: Session, d: "Declaration") -> Incident:
        """write_declaration for declare's own transaction, through Core: the same rows, and
        the 'declared' event sealed at once (nothing else changes the incident before commit)."""
        workflow = self.policy.workflow(d.incident_type)
        now = self.now()
        row = self._declared_row(d, self._allocate_id_now(session, now), now)
        change_soon(session, _INSERT_INCIDENT, row)
        change_soon(session, _INSERT_STEPS, [
            {"incident_id": row["id"], "number": number, "phase_index": phase_index, "phase": phase, "text": text,
             "done_at": None, "done_by": None}
            for number, (phase_index, phase, text) in enumerate(
                ((index, phase.name, text) for index, phase in enumerate(workflow.phases) for text in phase.steps), 1)])
        summary, data = self._declared_event(d, row)
        incident = detached(Incident, row)
        self.record_sealed(session, incident, now, d.actor, [(TimelineKind.DECLARED, summary, data)], state_json(row))
        return incident
