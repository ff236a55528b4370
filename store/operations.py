"""The operations that change an incident. Each runs in one write transaction and
writes its timeline event in it, so the record and its audit trail never disagree.

Used by the CLI, the TUI and the automation loops alike.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import bindparam, select as sa_select
from sqlmodel import Session, select

from playbooks.policy import Policy
from playbooks.errors import PolicyValueError
from playbooks.statuses import OPEN_STATUSES, STATUS_MOVES
from playbooks.timeline import TimelineKind
from store.audit import ChainEntry, append_event, append_sealed, state_json
from playbooks.clock import Clock, iso_z, to_utc_naive, utc_now
from playbooks.comms import outbox_event
from store.database import Database
from store.declaration import Declaring, detached
from store.errors import ChangeRefused, IncidentNotFound, StaleView
from store.write_locks import change_soon, read_locked
from playbooks.validation import check_actor, checked_text
from store.models import (
    ChecklistStep,
    Incident,
    RemediationAction,
    RoleAssignment,
    StatusUpdate,
    TimelineEvent,
    durations_of,
)

# declare and tick write through SQLAlchemy Core (statements built once, compiled once):
# an ORM unit of work per incident and per step cost several times what the rows themselves
# cost (bench/run.py). The rows, the events and their hashes are the ones the ORM path writes.
_INCIDENTS = Incident.__table__
_STEPS = ChecklistStep.__table__
# The incident's row, held until commit: writes to one incident take turns (store/write_locks.py).
_LOCK_INCIDENT = sa_select(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("id")).with_for_update(key_share=True)
_READ_STEPS = sa_select(_STEPS).where(_STEPS.c.incident_id == bindparam("id")).order_by(_STEPS.c.number)
_MARK_STEP = _STEPS.update().where(_STEPS.c.id == bindparam("step_id")).values(
    done_at=bindparam("to_done_at"), done_by=bindparam("to_done_by"))
_BUMP_INCIDENT = _INCIDENTS.update().where(_INCIDENTS.c.id == bindparam("for_id")).values(
    version=bindparam("to_version"), detection_s=bindparam("to_detection_s"),
    response_s=bindparam("to_response_s"), resolution_s=bindparam("to_resolution_s"))


def normalise_id(incident_id: str) -> str:
    # An argument that was not UTF-8 (lone surrogates) names no incident; escaped, it can be
    # looked up and not found, instead of failing in the database driver.
    return str(incident_id).strip().upper().encode("utf-8", "backslashreplace").decode("utf-8")


class IncidentStore(Declaring):
    """Incident operations over one database, one policy and one clock.

    Its own methods are the lifecycle (declare, acknowledge, status, severity, roles,
    checklist, notes, updates, remediation). The other domains (review, compliance,
    detection, satisfaction, the pinned summary) are module functions in store/ that write
    through this public API, inside one `self.db.write()` transaction of theirs:

    - `load(session, incident_id, expected_version=None)`: the incident, or IncidentNotFound
      (StaleView when `expected_version` is given and the incident moved on);
    - `refuse_if_closed(incident, action)`: ChangeRefused for a closed incident;
    - `load_for_change(session, incident_id, action, expected_version=None)`: both in one;
    - `record_event(session, incident, now, actor, kind, summary, data)`: the timeline event
      (a playbooks.timeline.TimelineKind), the version bump and the outbox messages;
    - `now()`, `prepare_declaration`, `write_declaration`, `move_status`: the clock, and a
      declaration or status move inside the caller's write.

    Nothing outside this module touches its underscored names (tests/unit/test_store_api.py).
    """

    def __init__(self, db: Database, policy: Policy, clock: Clock = utc_now, router=None) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        # Who must hear about a change (store.outbox.Router); None: no integration configured.
        self.router = router

    # -- helpers ------------------------------------------------------------------
    def now(self) -> datetime:
        return to_utc_naive(self.clock())

    def load(self, session: Session, incident_id: str, expected_version: int | None = None, *,
             lock: bool = False) -> Incident:
        """The incident inside the caller's transaction; IncidentNotFound, or StaleView when
        `expected_version` is given and someone changed it since. `lock`: its row is held until
        commit (a per-incident write's turn on this incident, store/write_locks.py)."""
        incident = session.get(Incident, normalise_id(incident_id),
                               with_for_update={"key_share": True} if lock else None)
        if incident is None:
            raise self._not_found(incident_id)
        if expected_version is not None and incident.version != expected_version:
            raise StaleView(self._stale(session, incident))
        return incident

    @staticmethod
    def _not_found(incident_id: str) -> IncidentNotFound:
        return IncidentNotFound(
            f"no incident {incident_id!r}; accepted: an id like INC-2026-0115-001 from `incident-response list`")

    def _stale(self, session: Session, incident: Incident) -> str:
        """One sentence: the incident as it is now and the last change the caller missed."""
        last = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
                            .order_by(TimelineEvent.seq.desc()).limit(1)).first()
        change = ""
        if last is not None:
            when = f"{last.at:%H:%M} UTC" if last.at.date() == self.now().date() else f"{last.at:%Y-%m-%d %H:%M} UTC"
            what = (last.summary.splitlines() or [""])[0]
            what = what if len(what) <= 60 else what[:59] + "…"
            change = f"; last change \"{what}\" by {last.actor} at {when}"
        return (f"{incident.id} changed since you looked (now {incident.severity}, {incident.status}{change}); "
                f"accepted: reload it and try again")

    def refuse_if_closed(self, incident: Incident, action: str) -> None:
        """A closed record stays as it was closed: ChangeRefused naming `action` (a verb
        phrase after "cannot", e.g. "change roles")."""
        if incident.status == "closed":
            raise ChangeRefused(f"{incident.id} is closed, so it cannot {action}; accepted: notes only")

    def load_for_change(self, session: Session, incident_id: str, action: str,
                        expected_version: int | None = None) -> Incident:
        """`load` then `refuse_if_closed`: the incident, open to `action`."""
        incident = self.load(session, incident_id, expected_version)
        self.refuse_if_closed(incident, action)
        return incident

    def record_event(self, session: Session, incident: Incident | None, now: datetime, actor: str,
                     kind: TimelineKind | str, summary: str, data: dict[str, Any] | None = None) -> TimelineEvent:
        """The timeline event of a change, in the caller's write: the incident's version moves on
        and the outbox gets the messages the change calls for, in the same transaction.
        (declare, tick and note, which own their transaction and write through Core, use
        record_sealed.)"""
        actor = check_actor(actor)  # every change names who made it; raising here rolls it back
        kind = str(kind)  # the column, the hash and the outbox hold the plain historical string
        if incident is not None:
            incident.version += 1
            session.add(incident)
            session.flush()  # the event row references the incident row
        event = append_event(session, incident_id=incident.id if incident else None, at=now, actor=actor,
                             kind=kind, summary=summary, data=data)
        if self.router is not None and incident is not None:
            from store.outbox import enqueue

            # Same transaction as the change: the message exists if and only if the change does.
            enqueue(session, self.router, incident, kind, data or {}, summary, event.seq, now,
                    headline=self.policy.headline(incident.type))
        return event

    def record_sealed(self, session: Session, incident: Incident, now: datetime, actor: str,
                      events: Sequence[tuple[TimelineKind | str, str, dict[str, Any]]], state: str) -> list[TimelineEvent]:
        """The last thing a per-incident write through Core does (declare, tick, note): its
        events, sealed at once with `state` on the last, then the outbox rows they call for.
        When they call for none, the append is the transaction's last statement and commits
        with it (audit.append_sealed `last`)."""
        actor = check_actor(actor)  # every change names who made it; raising here rolls it back
        chain = [ChainEntry(incident.id, now, actor, str(kind), summary, data) for kind, summary, data in events]
        tells = self.router is not None and any(outbox_event(entry.kind, entry.data) for entry in chain)
        rows = append_sealed(session, chain, state, last=not tells)
        recorded = [detached(TimelineEvent, row) for row in rows]
        if tells:
            from store.outbox import enqueue

            for entry, event in zip(chain, recorded):
                enqueue(session, self.router, incident, entry.kind, entry.data, entry.summary, event.seq, now,
                        headline=self.policy.headline(incident.type))
        return recorded

    # -- lifecycle ----------------------------------------------------------------
    def acknowledge(self, incident_id: str, *, actor: str, expected_version: int | None = None) -> Incident:
        with self.db.write() as session:
            incident = self.load(session, incident_id, expected_version)
            if incident.acknowledged_at is not None:
                raise ChangeRefused(
                    f"{incident.id} was already acknowledged at {iso_z(incident.acknowledged_at)}; accepted: ack once"
                )
            self.refuse_if_closed(incident, "be acknowledged")
            self._acknowledge(session, incident, self.now(), actor)
        return incident

    def _acknowledge(self, session: Session, incident: Incident, now: datetime, actor: str) -> None:
        incident.acknowledged_at = now
        within = now <= incident.response_due_at
        self.record_event(session, incident, now, actor, TimelineKind.ACKNOWLEDGED,
                    f"Acknowledged by {actor}" + ("" if within else " (after the response deadline)"),
                    {"within_response_time": within, "response_due_at": iso_z(incident.response_due_at)})

    def change_status(self, incident_id: str, status: str, *, actor: str,
                      expected_version: int | None = None) -> Incident:
        """Move along investigating -> identified -> monitoring -> resolved -> closed."""
        target = self.policy.status(status)
        with self.db.write() as session:
            incident = self.load(session, incident_id, expected_version)
            self.move_status(session, incident, target, actor)
        return incident

    def move_status(self, session: Session, incident: Incident, target: str, actor: str) -> None:
        """change_status inside the caller's write (so a check made there and the move are one
        transaction); raises ChangeRefused for a move the lifecycle does not allow."""
        current = incident.status
        if target == current:
            raise ChangeRefused(f"{incident.id} is already {current}; accepted: {', '.join(STATUS_MOVES[current]) or 'nothing (closed is final)'}")
        if target not in STATUS_MOVES[current]:
            accepted = ", ".join(STATUS_MOVES[current]) or "nothing (closed is final)"
            raise ChangeRefused(f"{incident.id} cannot move from {current} to {target}; accepted from {current}: {accepted}")
        if target == "closed":  # SEV-1/2 (as the policy says): not before the review is held
            from store.review import refuse_close_without_review

            refuse_close_without_review(session, self.policy, incident)
        now = self.now()
        if incident.acknowledged_at is None and target in ("identified", "monitoring"):
            # Working an incident is responding to it (an alert that clears by itself
            # is not: resolving leaves MTTA unset).
            self._acknowledge(session, incident, now, actor)
        if target == "monitoring" and incident.mitigated_at is None:
            incident.mitigated_at = now
        if target == "resolved":
            incident.mitigated_at = incident.mitigated_at or now
            incident.resolved_at = now
            incident.next_update_due_at = None
        if target == "closed":
            incident.closed_at = now
        if current == "resolved" and target in OPEN_STATUSES:  # reopened
            incident.resolved_at = None
            incident.next_update_due_at = self.policy.next_update_due(self.policy.level(incident.severity), now)
        incident.status = target
        self.record_event(session, incident, now, actor, TimelineKind.STATUS_CHANGED, f"Status {current} -> {target}",
                    {"from": current, "to": target})

    def resolve(self, incident_id: str, *, actor: str, expected_version: int | None = None) -> Incident:
        return self.change_status(incident_id, "resolved", actor=actor, expected_version=expected_version)

    def close(self, incident_id: str, *, actor: str, expected_version: int | None = None) -> Incident:
        return self.change_status(incident_id, "closed", actor=actor, expected_version=expected_version)

    def change_severity(self, incident_id: str, severity: str, *, actor: str,
                        expected_version: int | None = None, reason: str | None = None) -> Incident:
        """Re-rate the incident; its response deadline and update cadence follow. A `reason`
        (why it was re-rated) goes on the timeline with the change."""
        level = self.policy.level(severity)
        reason = checked_text(reason, "reason for the severity change", required=False)
        with self.db.write() as session:
            incident = self.load_for_change(session, incident_id, "change severity", expected_version)
            if incident.severity == level.id:
                raise ChangeRefused(f"{incident.id} is already {level.id}; accepted: a different severity")
            now = self.now()
            previous = incident.severity
            incident.severity = level.id
            incident.response_due_at = self.policy.response_deadline(level, incident.detected_at)
            if incident.status in OPEN_STATUSES:
                last = session.exec(select(StatusUpdate.posted_at).where(StatusUpdate.incident_id == incident.id)
                                    .order_by(StatusUpdate.posted_at.desc()).limit(1)).first()
                incident.next_update_due_at = self.policy.next_update_due(level, last or now)
            direction = "Escalated" if level.id < previous else "Downgraded"
            self.record_event(session, incident, now, actor, TimelineKind.SEVERITY_CHANGED,
                        f"{direction} {previous} -> {level.id}" + (f": {reason}" if reason else ""),
                        {"from": previous, "to": level.id, "escalation_targets": list(level.escalation_targets),
                         "response_due_at": iso_z(incident.response_due_at),
                         **({"reason": reason} if reason else {})})
        return incident

    # -- roles ----------------------------------------------------------------------
    def assign_role(self, incident_id: str, role: str, person: str, *, actor: str) -> RoleAssignment:
        role = self.policy.role(role)
        person = checked_text(person, "person")
        with self.db.write() as session:
            incident = self.load_for_change(session, incident_id, "change roles")
            now = self.now()
            holder = self._holder(session, incident.id, role)
            if holder is not None and holder.person == person:
                raise ChangeRefused(f"{person} already holds {role} on {incident.id}; accepted: another person")
            if holder is not None:
                holder.released_at = now
                session.add(holder)
            assignment = RoleAssignment(incident_id=incident.id, role=role, person=person, assumed_at=now)
            session.add(assignment)
            handover = f" (from {holder.person})" if holder else ""
            self.record_event(session, incident, now, actor, TimelineKind.ROLE_ASSIGNED,
                              f"{person} is {role}{handover}",
                        {"role": role, "person": person, "previous": holder.person if holder else None})
        return assignment

    def release_role(self, incident_id: str, role: str, *, actor: str) -> RoleAssignment:
        role = self.policy.role(role)
        with self.db.write() as session:
            incident = self.load_for_change(session, incident_id, "change roles")  # as assigning: a closed record stays as it was
            holder = self._holder(session, incident.id, role)
            if holder is None:
                raise ChangeRefused(f"nobody holds {role} on {incident.id}; accepted: a role that is held")
            now = self.now()
            holder.released_at = now
            session.add(holder)
            self.record_event(session, incident, now, actor, TimelineKind.ROLE_RELEASED,
                              f"{holder.person} released {role}",
                        {"role": role, "person": holder.person})
        return holder

    @staticmethod
    def _holder(session: Session, incident_id: str, role: str) -> RoleAssignment | None:
        return session.exec(select(RoleAssignment).where(
            RoleAssignment.incident_id == incident_id, RoleAssignment.role == role,
            RoleAssignment.released_at.is_(None))).first()

    # -- checklist ------------------------------------------------------------------
    def tick(self, incident_id: str, step_refs: Sequence[str | int], *, actor: str,
             done: bool = True) -> list[ChecklistStep]:
        """Mark steps done (or not done). Steps already in that state are left alone,
        so the same tick from two engineers records one event."""
        if not step_refs:
            raise PolicyValueError("no step given; accepted: step numbers or the start of a step's text")
        # Through Core in one transaction of its own (see _LOCK_INCIDENT): what the ORM path
        # of record_event would write, one event per step that changes, the version moved on
        # by one per event, the incident's state sealed on the last one.
        with self.db.write(per_incident=True) as session:
            found, steps = read_locked(session, {"id": normalise_id(incident_id)}, _LOCK_INCIDENT, _READ_STEPS)
            if not found:
                raise self._not_found(incident_id)
            incident = found[0]
            self.refuse_if_closed(incident, "change its checklist")
            chosen = [self._find_step(incident.id, steps, ref) for ref in step_refs]
            now = self.now()
            unique = {step.number: step for step in chosen}  # the same step named twice counts once
            changed = [step for step in unique.values() if (step.done_at is not None) != done]
            if not changed:
                return []
            actor = check_actor(actor)  # every change names who made it
            done_at, done_by = (now, actor) if done else (None, None)
            verb = "Done" if done else "Reopened"
            kind = TimelineKind.STEP_DONE if done else TimelineKind.STEP_UNDONE
            change_soon(session, _MARK_STEP, [{"step_id": step.id, "to_done_at": done_at, "to_done_by": done_by}
                                              for step in changed])
            row = self._bumped(session, incident, len(changed))
            # One event per step, the state on the last: the incident as this transaction commits it.
            self.record_sealed(session, detached(Incident, row), now, actor,
                               [(kind, f"{verb}: {step.number}. {step.text}",
                                 {"step": step.number, "phase": step.phase, "text": step.text}) for step in changed],
                               state_json(row))
        return [detached(ChecklistStep, {**step._asdict(), "done_at": done_at, "done_by": done_by})
                for step in changed]

    @staticmethod
    def _find_step(incident_id: str, steps: Sequence[ChecklistStep], ref: str | int) -> ChecklistStep:
        text = str(ref).strip()
        if text.isascii() and text.isdigit():
            number = int(text) if len(text) <= 6 else -1
            for step in steps:
                if step.number == number:
                    return step
            raise PolicyValueError(f"{incident_id} has no step {text}; accepted: 1..{len(steps)} or the start of a step's text")
        prefix = text.lower()
        matches = [s for s in steps if s.text.lower().startswith(prefix)] if prefix else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise PolicyValueError(f"no step of {incident_id} starts with {text!r}; accepted: 1..{len(steps)} or the start of a step's text")
        listed = ", ".join(f"{s.number}. {s.text}" for s in matches[:4])
        raise PolicyValueError(f"{text!r} matches several steps ({listed}); accepted: a longer prefix or the step number")

    # -- notes, updates, remediation ---------------------------------------------------
    def pin_summary(self, incident_id: str, summary: str, next_steps: str | None = None, *,
                    actor: str) -> TimelineEvent:
        """Pin the current summary and next steps (a timeline event; the latest is the pinned one)."""
        from store.pinned_summary import pin_summary

        return pin_summary(self, incident_id, summary, next_steps, actor=actor)

    def add_note(self, incident_id: str, text: str, *, actor: str) -> TimelineEvent:
        text = checked_text(text, "note", multiline=True)
        # Through Core, like tick: the note's event sealed at once, so a per-incident write
        # holds the chain head only for its append and commit (store/write_locks.py).
        with self.db.write(per_incident=True) as session:
            [found] = read_locked(session, {"id": normalise_id(incident_id)}, _LOCK_INCIDENT)
            if not found:
                raise self._not_found(incident_id)
            row = self._bumped(session, found[0], 1)
            [event] = self.record_sealed(session, detached(Incident, row), self.now(), actor,
                                         [(TimelineKind.NOTE, text, {})], state_json(row))
            return event

    @staticmethod
    def _bumped(session, incident, events: int) -> dict[str, Any]:
        """The incident's row with its version moved on by `events` (and the durations kept, as
        an ORM update would), written through Core; the row as this transaction commits it."""
        row = incident._asdict()
        row["version"] = incident.version + events
        row.update(durations_of(incident))  # what keep_durations does with an ORM update
        change_soon(session, _BUMP_INCIDENT, {"for_id": incident.id, "to_version": row["version"],
                                      "to_detection_s": row["detection_s"], "to_response_s": row["response_s"],
                                      "to_resolution_s": row["resolution_s"]})
        return row

    def post_status_update(self, incident_id: str, message: str, *, actor: str,
                           affected: str | None = None, headline: str | None = None) -> StatusUpdate:
        """Record a status update; the next one falls due by the severity's cadence. `headline`,
        when the engineer chose one, is what the public page calls the incident from now on."""
        message = checked_text(message, "status update", multiline=True)
        affected = checked_text(affected, "affected description", required=False)
        headline = checked_text(headline, "public headline", required=False)
        with self.db.write() as session:
            incident = self.load_for_change(session, incident_id, "post status updates")
            now = self.now()
            level = self.policy.level(incident.severity)
            due = self.policy.next_update_due(level, now) if incident.status in OPEN_STATUSES else None
            update = StatusUpdate(incident_id=incident.id, posted_at=now, posted_by=actor, status=incident.status,
                                  severity=incident.severity, affected=affected, message=message,
                                  next_update_due_at=due)
            session.add(update)
            incident.next_update_due_at = due
            said = {"status": incident.status, "affected": affected, "next_update_due_at": iso_z(due)}
            if headline:
                said["headline"] = headline
            self.record_event(session, incident, now, actor, TimelineKind.STATUS_UPDATE, message, said)
        return update

    def start_remediation(self, incident_id: str, description: str, *, actor: str) -> RemediationAction:
        description = checked_text(description, "remediation description", multiline=True)
        with self.db.write() as session:
            incident = self.load_for_change(session, incident_id, "start remediation")
            now = self.now()
            action = RemediationAction(incident_id=incident.id, description=description, started_at=now, started_by=actor)
            session.add(action)
            session.flush()
            self.record_event(session, incident, now, actor, TimelineKind.REMEDIATION_STARTED, description,
                              {"action": action.id})
        return action

    def finish_remediation(self, incident_id: str, action_id: int, *, actor: str, outcome: str = "done") -> RemediationAction:
        outcome = checked_text(outcome, "outcome", multiline=True)
        return self._end_remediation(incident_id, action_id, actor, outcome, TimelineKind.REMEDIATION_FINISHED,
                                     {"outcome": outcome})

    def cancel_remediation(self, incident_id: str, action_id: int, *, actor: str,
                           reason: str | None = None) -> RemediationAction:
        """Stop a running remediation without it having done its job: its outcome reads
        "cancelled" (with the reason, if given), its own kind on the timeline."""
        reason = checked_text(reason, "reason", required=False, multiline=True)
        outcome = f"cancelled: {reason}" if reason else "cancelled"
        return self._end_remediation(incident_id, action_id, actor, outcome, TimelineKind.REMEDIATION_CANCELLED,
                                     {"outcome": "cancelled", "reason": reason})

    def _end_remediation(self, incident_id: str, action_id: int, actor: str, outcome: str, kind: TimelineKind,
                         data: dict) -> RemediationAction:
        with self.db.write() as session:
            incident = self.load(session, incident_id)
            action = session.get(RemediationAction, action_id) if 0 < action_id < 2**31 else None
            if action is None or action.incident_id != incident.id:
                raise IncidentNotFound(f"{incident.id} has no remediation action {action_id}; accepted: an id from `show`")
            if action.finished_at is not None:
                raise ChangeRefused(f"remediation {action_id} already finished at {iso_z(action.finished_at)}; accepted: an active one")
            now = self.now()
            action.finished_at, action.outcome = now, outcome
            session.add(action)
            self.record_event(session, incident, now, actor, kind, f"{action.description}: {outcome}",
                              {"action": action.id, **data})
        return action
