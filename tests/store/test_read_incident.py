"""The typed read model of one incident: real datetimes, TimelineKind where the stored kind is
one, the stored string where it is not (an older row loads, never crashes), and as_json()
is the `show --json` form."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from playbooks.timeline import TimelineKind
from store.models import TimelineEvent
from store.queries import incident_detail, read_incident
from store.read_models.incident import IncidentDetail


def test_the_detail_holds_datetimes_and_kinds_and_its_json_is_the_show_form(store):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    store.add_note(incident.id, "Looking at the pool", actor="bob")
    store.pin_summary(incident.id, "DB pool exhausted", "Raise the pool", actor="alice")
    with store.db.read() as session:
        detail = read_incident(session, store.policy, incident.id, store.now())
        shown = incident_detail(session, store.policy, incident.id, store.now())
    assert isinstance(detail, IncidentDetail) and detail.id == incident.id
    assert isinstance(detail.declared_at, datetime) and detail.declared_at.tzinfo is None
    assert isinstance(detail.policy.response_due_at, datetime)
    assert detail.timeline[0].kind is TimelineKind.DECLARED
    assert [e.kind for e in detail.timeline][-2:] == [TimelineKind.NOTE, TimelineKind.SUMMARY_PINNED]
    assert detail.pinned_summary is not None and detail.pinned_summary.next_steps == "Raise the pool"
    assert isinstance(detail.checklist, tuple) and isinstance(detail.timeline, tuple)
    assert detail.as_json() == shown
    assert shown["declared_at"].endswith("Z") and shown["timeline"][0]["kind"] == "declared"


def test_a_kind_outside_the_enum_loads_as_its_string(store):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    note = store.add_note(incident.id, "From an older version", actor="bob")
    with store.db.write() as session:  # a row as a restored backup of another version may hold it
        session.execute(update(TimelineEvent).where(TimelineEvent.seq == note.seq).values(kind="legacy_kind"))
    with store.db.read() as session:
        detail = read_incident(session, store.policy, incident.id, store.now())
    legacy = next(e for e in detail.timeline if e.seq == note.seq)
    assert legacy.kind == "legacy_kind" and not isinstance(legacy.kind, TimelineKind)
    assert legacy.as_json()["kind"] == "legacy_kind"
