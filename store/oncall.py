"""On-call overrides: someone on call for a schedule over a span of time, on top of the
rotation config.toml gives it (`incident-response oncall override`).

An override belongs to no incident, yet it decides who is paged, so each write is a
timeline event of no incident on the audit chain (IncidentStore.record_event with None):
`audit verify` covers who set or cancelled it and when. A cancelled override is kept, with
`cancelled_at`, and no longer counts. Whether the schedule and the person exist is the
configuration's question, answered at the door (the CLI) before anything is written.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from playbooks.clock import iso_z, to_utc_naive
from playbooks.errors import PolicyValueError
from playbooks.schedules import Override
from playbooks.timeline import TimelineKind
from playbooks.validation import checked_text
from store.errors import ChangeRefused
from store.models import OncallOverride


def add_override(store, schedule: str, person: str, starts_at: datetime, ends_at: datetime, *,
                 actor: str) -> OncallOverride:
    """Put `person` on call for `schedule` from `starts_at` until `ends_at` (aware, or naive
    UTC); the later override wins where two overlap."""
    schedule = checked_text(schedule, "schedule name")
    person = checked_text(person, "person's name")
    starts_at, ends_at = to_utc_naive(starts_at), to_utc_naive(ends_at)
    if ends_at <= starts_at:
        raise PolicyValueError(f"the override ends ({iso_z(ends_at)}) before it starts ({iso_z(starts_at)}); "
                               "accepted: an end after the start")
    with store.db.write() as session:
        now = store.now()
        row = OncallOverride(schedule=schedule, person=person, starts_at=starts_at, ends_at=ends_at,
                             created_by=actor, created_at=now)
        session.add(row)
        session.flush()  # the id, for the event
        store.record_event(session, None, now, actor, TimelineKind.ONCALL_OVERRIDE,
                           f"{person} on call for {schedule} from {iso_z(starts_at)} until {iso_z(ends_at)}",
                           {"override": row.id, "schedule": schedule, "person": person,
                            "starts_at": iso_z(starts_at), "ends_at": iso_z(ends_at)})
        session.refresh(row)
        session.expunge(row)
    return row


def cancel_override(store, override_id: int, *, actor: str) -> OncallOverride:
    """Cancel an override: it is kept, marked cancelled, and counts no more."""
    with store.db.write() as session:
        row = session.get(OncallOverride, override_id)
        if row is None:
            raise ChangeRefused(f"there is no on-call override {override_id}; accepted: an id that "
                                "`incident-response oncall overrides` lists")
        if row.cancelled_at is not None:
            raise ChangeRefused(f"on-call override {override_id} was already cancelled at {iso_z(row.cancelled_at)}; "
                                "accepted: an override that is not cancelled")
        now = store.now()
        row.cancelled_at = now
        session.add(row)
        store.record_event(session, None, now, actor, TimelineKind.ONCALL_OVERRIDE_CANCELLED,
                           f"Cancelled override {row.id}: {row.person} on call for {row.schedule}",
                           {"override": row.id, "schedule": row.schedule, "person": row.person})
        session.flush()
        session.refresh(row)
        session.expunge(row)
    return row


def current_overrides(store, since: datetime) -> list[OncallOverride]:
    """Overrides not cancelled that have not ended by `since`, in the order they were made."""
    since = to_utc_naive(since)
    with store.db.read() as session:
        rows = session.exec(select(OncallOverride)
                            .where(OncallOverride.cancelled_at.is_(None), OncallOverride.ends_at > since)
                            .order_by(OncallOverride.id)).all()
        for row in rows:
            session.expunge(row)
    return list(rows)


def as_overrides(rows: list[OncallOverride]) -> list[Override]:
    """The rows as the values schedule resolution takes (the later made, the higher the order)."""
    return [Override(row.schedule, row.person, row.starts_at, row.ends_at, order=row.id or 0, id=row.id)
            for row in rows]
