"""Heartbeats as stored: per configured [heartbeats.NAME], since when it is watched, its last beat,
and whether its current silence has already opened an incident.

A beat (`POST /heartbeat/NAME` on `serve`) records its time and clears the heartbeat's open
incident the way a resolved alert clears its own (`clear_condition(..., resolve=True)`: a
'condition_cleared' event and the incident resolved, in one transaction). A check (`watch`)
asks playbooks/heartbeats.py whether it is missed and, for a silence not yet declared, opens
the incident through the path a firing rule takes (dedup key `heartbeat:NAME`): the row's
`missed_at` is set in the same transaction, so a second check — or a second watcher — opens no
second incident for the same silence, even when someone resolved the first by hand. Beats
themselves are not timeline events: a job beating every minute would bury the audit trail;
what they change (an incident opened, cleared) is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from playbooks.clock import iso_z, to_utc_naive
from playbooks.config.heartbeats import Heartbeat as HeartbeatSpec
from playbooks.heartbeats import HeartbeatState, dedup_key, heartbeat_state
from playbooks.timeline import TimelineKind
from store.detection import clear_condition, open_incident_for
from store.models import Heartbeat, Incident
from store.operations import IncidentStore

ACTOR = "heartbeat"


@dataclass(frozen=True)
class Beat:
    """A beat as recorded: when, and the incident it cleared (None: none was open)."""

    name: str
    at: datetime
    cleared: str | None = None


def _ensure_row(session, store: IncidentStore, name: str, now: datetime) -> Heartbeat:
    """The heartbeat's row, locked for this transaction; made (watched from `now`) when new.
    Two first beats at once both insert-or-ignore, so neither fails on the key."""
    dialect = postgresql if not store.db.is_sqlite else sqlite
    session.execute(dialect.insert(Heartbeat).values(name=name, watching_since=now)
                    .on_conflict_do_nothing(index_elements=["name"]))
    return session.exec(select(Heartbeat).where(Heartbeat.name == name).with_for_update()).one()


def record_beat(store: IncidentStore, name: str, *, actor: str = ACTOR) -> Beat:
    """`name` beat now: remember it, and clear (resolve) the incident its silence opened."""
    with store.db.write() as session:
        now = store.now()
        row = _ensure_row(session, store, name, now)
        late_since = row.missed_at
        row.last_beat_at = now
        row.missed_at = None
        session.add(row)
    cleared = clear_condition(store, dedup_key(name), actor=actor, resolve=True,
                              detail={"heartbeat": name, "beat_at": iso_z(now),
                                      **({"missed_at": iso_z(late_since)} if late_since else {})})
    return Beat(name, now, None if cleared is None else cleared.id)


def watched(store: IncidentStore, names) -> dict[str, Heartbeat]:
    """The rows of `names`, each made (watched from now) when it has none yet."""
    rows: dict[str, Heartbeat] = {}
    with store.db.write() as session:
        now = store.now()
        for name in names:
            row = _ensure_row(session, store, name, now)
            session.expunge(row)
            rows[name] = row
    return rows


def check_heartbeat(store: IncidentStore, name: str, spec: HeartbeatSpec, *, now: datetime | None = None,
                    actor: str = ACTOR) -> tuple[HeartbeatState, Incident | None]:
    """Where `name` stands at `now` (default the store's clock), and the incident opened when
    this check found its silence missed and not yet declared (None otherwise)."""
    now = to_utc_naive(now) if now is not None else store.now()
    with store.db.read() as session:  # the usual case writes nothing: a check every 15 s stays cheap
        row = session.get(Heartbeat, name)
        if row is not None:
            session.expunge(row)
    if row is None:
        row = watched(store, [name])[name]
    state = heartbeat_state(name, interval=spec.interval_delta(), grace=spec.grace_delta(),
                            last_beat=row.last_beat_at, watching_since=row.watching_since, now=now)
    if not state.missed or row.missed_at is not None:
        return state, None
    key = dedup_key(name)
    detail = {"heartbeat": name, "interval": spec.interval, "grace": spec.grace,
              "last_beat": iso_z(row.last_beat_at), "watching_since": iso_z(row.watching_since),
              "due_by": iso_z(state.due_by), "labels": dict(spec.labels)}
    # Every check the declaration makes, before the lock (a type the policy lacks is refused here).
    declaration = store.prepare_declaration(spec.severity, spec.type, spec.environment, actor=actor,
                                            title=state.title(), service=spec.service, dedup_key=key,
                                            detail={"dedup_key": key, **detail})
    with store.db.write() as session:
        row = _ensure_row(session, store, name, now)
        if row.missed_at is not None or row.last_beat_at != (None if not state.seen else state.since):
            return state, None  # declared by another check, or a beat came in meanwhile
        row.missed_at = store.now()
        session.add(row)
        existing = open_incident_for(session, key)
        if existing is not None:  # a clear that never landed: say so on it rather than open another
            store.record_event(session, existing, store.now(), actor, TimelineKind.CONDITION_FIRING,
                               f"Still firing: {state.title()}", {"dedup_key": key, **detail})
            return state, existing
        return state, store.write_declaration(session, declaration)
