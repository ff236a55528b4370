"""The timeline as a hash chain: each event's hash covers its contents and the
previous event's hash, and the chain head row remembers the last one, so an altered,
missing or truncated event is found by `audit verify`."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select as sa_select
from sqlmodel import Session, select

from store.clock import to_utc_naive
from store.models import ChainHead, TimelineEvent
from store.migrations.v0001_initial import GENESIS_HASH


def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    prev_hash: str, seq: int, incident_id: str | None, at: datetime, actor: str, kind: str, summary: str, data: str
) -> str:
    fields = [prev_hash, str(seq), incident_id or "", at.isoformat(timespec="microseconds"), actor, kind, summary, data]
    # Length-prefixed so no field can bleed into the next.
    material = "".join(f"{len(f)}:{f}" for f in fields)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


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
    """Add the next event of the chain. Call inside Database.write() (it holds the lock)."""
    head = session.get(ChainHead, 1)
    payload = canonical_json(data or {})
    seq = head.last_seq + 1
    at = to_utc_naive(at)
    digest = event_hash(head.last_hash, seq, incident_id, at, actor, kind, summary, payload)
    event = TimelineEvent(
        seq=seq, incident_id=incident_id, at=at, actor=actor, kind=kind, summary=summary,
        data=payload, prev_hash=head.last_hash, hash=digest,
    )
    session.add(event)
    head.last_seq = seq
    head.last_hash = digest
    session.add(head)
    return event


@dataclass(frozen=True)
class AuditResult:
    ok: bool
    events_checked: int
    problem: str | None = None
    seq: int | None = None

    def sentence(self) -> str:
        if self.ok:
            return f"audit ok: {self.events_checked} timeline events, hash chain intact"
        return f"audit FAILED: {self.problem}"


def _name(event: TimelineEvent) -> str:
    return f"timeline event #{event.seq} ({event.incident_id or 'global'}, {event.kind} at {event.at.isoformat(timespec='seconds')}Z)"


def verify_chain(session: Session, batch: int = 5000) -> AuditResult:
    """Walk the chain in order and report the first altered, missing or extra event."""
    head = session.get(ChainHead, 1)
    # Writers may commit while we walk (PostgreSQL reads see each statement's newest
    # state): check the chain up to the head as it was when we started.
    upto = head.last_seq if head is not None else None
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
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
                event.prev_hash, event.seq, event.incident_id, event.at, event.actor, event.kind, event.summary, event.data
            )
            if recomputed != event.hash:
                return AuditResult(False, checked, f"{_name(event)} was altered: its contents no longer match its hash", event.seq)
            if event.prev_hash != expected_prev:
                return AuditResult(False, checked, f"{_name(event)} does not follow the event before it (previous hash differs)", event.seq)
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
    return AuditResult(True, checked)
