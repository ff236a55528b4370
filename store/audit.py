"""The timeline as a hash chain: each event's hash covers its contents and the
previous event's hash, and the chain head row remembers the last one, so an altered,
missing or truncated event is found by `audit verify`.

Since schema 7 the chain also covers the incidents themselves and may be keyed:

- The last event an incident gets in a write transaction keeps `state`, the incident's
  recorded fields (severity, status, lifecycle times, durations, ...) as they are committed,
  hashed with the event. `verify_chain` compares every incident row with the state its
  newest event recorded, so a direct UPDATE of an incident's severity is found even though
  no event changed.
- With the audit key (store/audit_key.py) every event carries `mac`, an HMAC-SHA256 of its
  hash. A hash covers everything before it, so the newest event's MAC vouches for the whole
  chain: someone who can write the database but lacks the key can recompute the hashes, not
  the MACs, and `verify_chain(key=...)` says so.
- `anchor` is the head (seq, hash, time) printed to be kept outside the database; a chain
  rewritten or truncated since no longer holds it.

The state and the MACs are written when the write transaction commits (`_seal`, a
`before_commit` hook), after every change of the transaction is made, so an operation may
change its incident before or after it records its event. declare and tick, which own their
transaction and have made every change when they record, use `append_sealed` instead: the
events go in through Core with their final hashes, state and MACs at once (the same material).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from sqlalchemy import bindparam, event as sa_event, func, select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from playbooks.clock import iso_z, to_utc_naive
from store.models import ChainHead, Incident, TimelineEvent
from store.migrations.v0001_initial import GENESIS_HASH
from store.chain_append import append_on_postgres
from store.write_locks import CHAIN_LOCKED, on_postgres

# The incident fields the chain vouches for: what the reports, the SLA and the war room are
# built on. Bookkeeping a nudge or a dedup may change without an event is left out.
STATE_FIELDS = ("title", "severity", "type", "environment", "service", "status", "is_drill", "declared_by",
                "started_at", "detected_at", "declared_at", "acknowledged_at", "mitigated_at", "resolved_at",
                "closed_at", "response_due_at", "detection_s", "response_s", "resolution_s",
                "customer_satisfaction", "version")
_PENDING = "incident_response.chain_events"  # session.info: the events this transaction appended
_KEYS: "weakref.WeakKeyDictionary[Any, bytes]" = weakref.WeakKeyDictionary()  # engine -> audit key


def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    prev_hash: str, seq: int, incident_id: str | None, at: datetime, actor: str, kind: str, summary: str, data: str,
    state: str | None = None,
) -> str:
    return link_hash(prev_hash, seq, *hash_material(incident_id, at, actor, kind, summary, data, state))


def hash_material(incident_id: str | None, at: datetime, actor: str, kind: str, summary: str, data: str,
                  state: str | None = None) -> tuple[str, bytes]:
    """An event's hash material but the previous hash and seq: (what goes before them, what
    after, UTF-8), known before the chain head is (store/chain_append.py links on the server)."""
    fields = [incident_id or "", at.isoformat(timespec="microseconds"), actor, kind, summary, data]
    tag = ""
    if state is not None:
        # A leading tag no schema-1 material can start with (those start with "64:"), so an
        # event with a state can never be passed off as one without it under the same hash.
        tag = "8:state-v1"
        fields.append(state)
    # Length-prefixed so no field can bleed into the next.
    return tag, "".join(f"{len(f)}:{f}" for f in fields).encode("utf-8")


def link_hash(prev_hash: str, seq: int, tag: str, tail: bytes) -> str:
    number = str(seq)
    return hashlib.sha256(f"{tag}{len(prev_hash)}:{prev_hash}{len(number)}:{number}".encode("utf-8") + tail).hexdigest()


def event_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def incident_state(incident: Incident) -> str:
    """The incident's recorded fields as canonical JSON (the same for a row just written and
    the same row read back on either backend)."""
    return state_json({name: getattr(incident, name) for name in STATE_FIELDS})


def state_json(values: Mapping[str, Any]) -> str:
    """incident_state of the STATE_FIELDS values given (a Core write's row as it commits it)."""
    state: dict[str, Any] = {}
    for name in STATE_FIELDS:
        value = values[name]
        if isinstance(value, datetime):
            value = to_utc_naive(value).isoformat(timespec="microseconds")
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            pass
        elif name == "version":
            value = int(value)
        else:
            value = float(value)
        state[name] = value
    return canonical_json(state)


def use_audit_key(db, key: bytes | None) -> None:
    """Sign every event this database's writers append with `key` (None: unkeyed)."""
    if key:
        _KEYS[db.write_engine] = key
    else:
        _KEYS.pop(db.write_engine, None)


def append_event(
    session: Session,
    *,
    incident_id: str | None,
    at: datetime,
    actor: str,
    kind: str,
    summary: str,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Add the next event of the chain. Call inside Database.write()."""
    head = _locked_head(session)
    payload = canonical_json(data or {})
    seq = head.last_seq + 1
    at = to_utc_naive(at)
    # Provisional: _seal recomputes it with the incident's state (and the MAC) at commit.
    digest = event_hash(head.last_hash, seq, incident_id, at, actor, kind, summary, payload)
    event = TimelineEvent(
        seq=seq, incident_id=incident_id, at=at, actor=actor, kind=kind, summary=summary,
        data=payload, prev_hash=head.last_hash, hash=digest,
    )
    session.add(event)
    head.last_seq = seq
    head.last_hash = digest
    session.add(head)
    session.info.setdefault(_PENDING, []).append(event)
    return event


def _locked_head(session: Session) -> ChainHead:
    """The chain head, locked until commit: a general write locked it when it began; a
    per-incident write locks it here, at its first append (store/write_locks.py)."""
    if CHAIN_LOCKED in session.info or not on_postgres(session):
        return session.get(ChainHead, 1)
    head = session.get(ChainHead, 1, with_for_update=True, populate_existing=True)
    session.info[CHAIN_LOCKED] = head.last_seq
    return head


_HEAD = ChainHead.__table__
_EVENTS = TimelineEvent.__table__
_READ_HEAD = sa_select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1)
_INSERT_EVENT = _EVENTS.insert()
_MOVE_HEAD = _HEAD.update().where(_HEAD.c.id == 1).values(last_seq=bindparam("to_seq"),
                                                           last_hash=bindparam("to_hash"))


@dataclass(frozen=True)
class ChainEntry:
    """One event for append_sealed: what append_event takes, as plain values."""

    incident_id: str | None
    at: datetime
    actor: str
    kind: str
    summary: str
    data: dict[str, Any]


def append_sealed(session: Session, entries: Sequence[ChainEntry], state: str | None, *,
                  last: bool = False) -> list[dict[str, Any]]:
    """Append `entries` to the chain with their final hashes (and MACs) at once, through
    SQLAlchemy Core: `state` (state_json of the incident as this transaction commits it) on
    the last one. For an operation that owns its whole write transaction and has made every
    change of it (declare, tick): _seal has nothing to do for these, so the write costs a few
    statements instead of a unit of work. Returns the events' rows. Call inside Database.write().

    `last`: nothing else is written in this transaction after these events; a per-incident
    write on PostgreSQL then commits with the append, in the same round trip."""
    if session.info.get(_PENDING):
        # An event appended through the ORM is re-hashed at commit; one after it here would
        # follow its provisional hash. Callers use this only in a transaction of their own.
        raise RuntimeError("append_sealed after append_event in one transaction")
    conn = session.connection()
    key = _KEYS.get(session.get_bind())
    if CHAIN_LOCKED not in session.info and on_postgres(session):
        return _append_locking(session, conn, entries, state, key, last)
    seq, previous = conn.execute(_READ_HEAD).one()
    rows = []
    for index, entry in enumerate(entries):
        seq += 1
        payload = canonical_json(entry.data)
        at = to_utc_naive(entry.at)
        last_state = state if index == len(entries) - 1 else None
        digest = event_hash(previous, seq, entry.incident_id, at, entry.actor, entry.kind, entry.summary, payload,
                            last_state)
        rows.append({"seq": seq, "incident_id": entry.incident_id, "at": at, "actor": entry.actor,
                     "kind": entry.kind, "summary": entry.summary, "data": payload, "prev_hash": previous,
                     "hash": digest, "state": last_state, "mac": event_mac(key, digest) if key else None})
        previous = digest
    conn.execute(_INSERT_EVENT, rows[0] if len(rows) == 1 else rows)
    conn.execute(_MOVE_HEAD, {"to_seq": seq, "to_hash": previous})
    if session.identity_map:
        head = session.identity_map.get(identity_key(ChainHead, 1))
        if head is not None:  # a later append_event in this transaction reads the head anew
            session.expire(head)
    return rows


def _append_locking(session: Session, conn, entries: Sequence[ChainEntry], state: str | None,
                    key: bytes | None, last: bool) -> list[dict[str, Any]]:
    """append_sealed for a per-incident write on PostgreSQL (store/chain_append.py): everything
    that can be is made here, before the chain head is taken."""
    prepared = []
    for index, entry in enumerate(entries):
        payload = canonical_json(entry.data)
        at = to_utc_naive(entry.at)
        last_state = state if index == len(entries) - 1 else None
        tag, tail = hash_material(entry.incident_id, at, entry.actor, entry.kind, entry.summary, payload, last_state)
        prepared.append({"incident_id": entry.incident_id, "at": at, "actor": entry.actor, "kind": entry.kind,
                         "summary": entry.summary, "data": payload, "state": last_state, "tag": tag, "tail": tail})
    return append_on_postgres(session, conn, prepared, last,
                              link=lambda previous, seq, made: link_hash(previous, seq, made["tag"], made["tail"]),
                              sign=(lambda digest: event_mac(key, digest)) if key else None)


@sa_event.listens_for(OrmSession, "before_commit")
def _seal(session: OrmSession) -> None:
    """Record each touched incident's committed state on its last event of the transaction,
    then hash (and sign) the transaction's events again, in order, from the chain as it was."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # every change made (and the durations recomputed) before the state is read
    events = sorted((e for e in pending if e in session), key=lambda e: e.seq)
    if not events:
        return
    last_of: dict[str, TimelineEvent] = {}
    for appended in events:
        if appended.incident_id is not None:
            last_of[appended.incident_id] = appended
    for incident_id, appended in last_of.items():
        incident = session.get(Incident, incident_id)
        if incident is not None:
            session.refresh(incident)  # as the database holds it: what a later read compares
            appended.state = incident_state(incident)
    key = _KEYS.get(session.get_bind())
    previous = events[0].prev_hash
    for appended in events:
        appended.prev_hash = previous
        appended.hash = event_hash(previous, appended.seq, appended.incident_id, appended.at, appended.actor,
                                   appended.kind, appended.summary, appended.data, appended.state)
        appended.mac = event_mac(key, appended.hash) if key else None
        previous = appended.hash
    head = session.get(ChainHead, 1)
    if head is not None and head.last_seq == events[-1].seq:
        head.last_hash = previous
    session.flush()


@sa_event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class AuditResult:
    ok: bool
    events_checked: int
    problem: str | None = None
    seq: int | None = None
    keyed: bool = False  # the MACs were checked with the key
    incidents_checked: int = 0  # incident rows compared with the state their chain recorded
    anchor_seq: int | None = None  # the anchor the chain was found to hold

    def sentence(self) -> str:
        if not self.ok:
            return f"audit FAILED: {self.problem}"
        extras = []  # (incidents_checked is in --json: the sentence stays what scripts already match)
        if self.keyed:
            extras.append("every event signed with the audit key")
        if self.anchor_seq is not None:
            extras.append(f"anchor #{self.anchor_seq} still in the chain")
        return f"audit ok: {self.events_checked} timeline events, hash chain intact" + "".join(f"; {e}" for e in extras)


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment, to be kept outside the database."""

    seq: int
    hash: str
    at: datetime | None = None

    def line(self) -> str:
        return f"audit anchor #{self.seq} {self.hash} {iso_z(self.at) if self.at else '-'}"

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "at": iso_z(self.at) if self.at else None}


ANCHOR_FORMS = ("the line `audit anchor` printed (audit anchor #SEQ HASH TIME), a file holding it, "
                "or a 64-character hex hash")
_ANCHOR_LINE = re.compile(r"#?([0-9]{1,18})\s+([0-9a-f]{64})\b")
_HASH = re.compile(r"[0-9a-f]{64}")


def parse_anchor(text: str) -> Anchor:
    """An anchor from what `audit anchor` printed (or a bare hash); ValueError otherwise."""
    text = text.strip().lower()
    match = _ANCHOR_LINE.search(text)
    if match:
        return Anchor(int(match[1]), match[2])
    if _HASH.fullmatch(text):
        return Anchor(0, text)  # seq 0: found by its hash wherever it is
    raise ValueError(f"the anchor is not one; accepted: {ANCHOR_FORMS}")


def current_anchor(session: Session) -> Anchor:
    head = session.get(ChainHead, 1)
    if head is None or head.last_seq == 0:
        return Anchor(0, head.last_hash if head else GENESIS_HASH)
    event = session.get(TimelineEvent, head.last_seq)
    return Anchor(head.last_seq, head.last_hash, event.at if event else None)


def _name(event: TimelineEvent) -> str:
    return f"timeline event #{event.seq} ({event.incident_id or 'global'}, {event.kind} at {event.at.isoformat(timespec='seconds')}Z)"


def _changed_fields(recorded: str, now: str) -> str:
    try:
        before, after = json.loads(recorded), json.loads(now)
    except ValueError:
        return "its recorded state"
    changed = [f"{name} {before.get(name)!r} -> {after.get(name)!r}" for name in STATE_FIELDS
               if before.get(name) != after.get(name)]
    return ", ".join(changed) or "its recorded state"


def _check_incidents(session: Session, batch: int) -> tuple[int, str | None]:
    """Every incident row against the state its newest event recorded (incidents whose newest
    event predates schema 7 recorded none and are skipped)."""
    # Each statement reads the incident and its newest event together (one snapshot on
    # PostgreSQL too), so a writer committing meanwhile cannot make them look apart.
    newest = (sa_select(TimelineEvent.incident_id, func.max(TimelineEvent.seq).label("seq"))
              .where(TimelineEvent.incident_id.is_not(None))
              .group_by(TimelineEvent.incident_id).subquery())
    query = (select(Incident, TimelineEvent.seq, TimelineEvent.state)
             .join(newest, newest.c.incident_id == Incident.id)
             .join(TimelineEvent, TimelineEvent.seq == newest.c.seq)
             .order_by(Incident.id))
    checked = 0
    last_id = ""
    while True:
        rows = session.exec(query.where(Incident.id > last_id).limit(batch)).all()
        if not rows:
            break
        for incident, seq, recorded in rows:
            last_id = incident.id
            if recorded is None:
                continue
            now = incident_state(incident)
            if now != recorded:
                return checked, (f"incident {incident.id} differs from the state its timeline event #{seq} "
                                 f"recorded ({_changed_fields(recorded, now)}): it was changed outside the program")
            checked += 1
        session.expunge_all()
    # An incident with no event at all was never declared through the store.
    orphan = session.execute(sa_select(Incident.id).where(~Incident.id.in_(
        sa_select(TimelineEvent.incident_id).where(TimelineEvent.incident_id.is_not(None)))).limit(1)).scalar()
    if orphan is not None:
        return checked, f"incident {orphan} has no timeline event: it was added outside the program"
    return checked, None


def verify_chain(session: Session, batch: int = 5000, *, key: bytes | None = None,
                 anchor: Anchor | None = None, incidents: bool = True) -> AuditResult:
    """Walk the chain in order and report the first altered, missing or extra event; with
    `key`, a MAC that does not match or a newest event without one; with `anchor`, a chain
    that no longer holds it; and (`incidents`) an incident row unlike its recorded state."""
    head = session.get(ChainHead, 1)
    # Writers may commit while we walk (PostgreSQL reads see each statement's newest
    # state): check the chain up to the head as it was when we started.
    upto = head.last_seq if head is not None else None
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    unsigned_from: int | None = None  # first event of the run of unsigned events at the end
    anchor_found = anchor is None
    while True:
        rows = session.exec(
            select(TimelineEvent).where(TimelineEvent.seq >= expected_seq,
                                        TimelineEvent.seq <= (upto if upto is not None else 2**62))
            .order_by(TimelineEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                missing = f"#{expected_seq}" if event.seq == expected_seq + 1 else f"#{expected_seq}..#{event.seq - 1}"
                return AuditResult(False, checked, f"timeline event {missing} is missing (the chain jumps to #{event.seq})", expected_seq)
            recomputed = event_hash(
                event.prev_hash, event.seq, event.incident_id, event.at, event.actor, event.kind, event.summary,
                event.data, event.state,
            )
            if recomputed != event.hash:
                return AuditResult(False, checked, f"{_name(event)} was altered: its contents no longer match its hash", event.seq)
            if event.prev_hash != expected_prev:
                return AuditResult(False, checked, f"{_name(event)} does not follow the event before it (previous hash differs)", event.seq)
            if key is not None:
                if event.mac is None:
                    unsigned_from = event.seq if unsigned_from is None else unsigned_from
                elif not hmac.compare_digest(event.mac, event_mac(key, event.hash)):
                    return AuditResult(False, checked, f"{_name(event)} is not signed with this audit key: the "
                                                       "chain was recomputed by someone without the key, or the key "
                                                       "differs", event.seq)
                else:
                    unsigned_from = None
            if not anchor_found and event.hash == anchor.hash and anchor.seq in (0, event.seq):
                anchor_found, anchor = True, Anchor(event.seq, event.hash, event.at)
            expected_prev = event.hash
            expected_seq += 1
            last_seq = event.seq
            checked += 1
        session.expunge_all()  # keep memory flat on long timelines
    if head is None:
        return AuditResult(False, checked, "the chain head record is missing", None)
    if head.last_seq != last_seq or head.last_hash != expected_prev:
        if head.last_seq > last_seq:
            return AuditResult(
                False, checked,
                f"timeline events #{last_seq + 1}..#{head.last_seq} are missing (the chain head records #{head.last_seq})",
                last_seq + 1,
            )
        return AuditResult(False, checked, f"the chain head does not match timeline event #{last_seq}", last_seq)
    # Events beyond the head were not written by the store (it moves both together).
    # Read the highest event before the head, so a concurrent commit cannot look extra.
    highest = session.execute(sa_select(func.max(TimelineEvent.seq))).scalar() or 0
    head_now = session.execute(sa_select(ChainHead.last_seq).where(ChainHead.id == 1)).scalar() or 0
    if highest > head_now:
        return AuditResult(False, checked, f"timeline events after #{head_now} are not part of the chain (up to #{highest})",
                           head_now + 1)
    if key is not None and unsigned_from is not None:
        # The newest event's MAC vouches for every hash before it; unsigned ones after the
        # last MAC could have been written (or the whole chain recomputed) without the key.
        return AuditResult(False, checked, f"timeline events #{unsigned_from}..#{last_seq} are not signed with the "
                                           "audit key: written by a program without IR_AUDIT_KEY, or recomputed by "
                                           "someone without the key", unsigned_from)
    if not anchor_found:
        where = f"#{anchor.seq} " if anchor.seq else ""
        return AuditResult(False, checked, f"the anchor {where}{anchor.hash[:16]}... is not in the chain: the "
                                           "timeline was rewritten or cut back since it was anchored", anchor.seq or None)
    incidents_checked = 0
    if incidents:
        incidents_checked, problem = _check_incidents(session, batch)
        if problem:
            return AuditResult(False, checked, problem, None)
    return AuditResult(True, checked, keyed=key is not None and checked > 0, incidents_checked=incidents_checked,
                       anchor_seq=anchor.seq if anchor is not None else None)
