"""On-call overrides are stored on both backends, audited on the chain as events of no
incident, cancellable, and resolved on top of the schedule's rotation."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from playbooks.config.oncall import Schedule
from playbooks.errors import PolicyValueError
from playbooks.schedules import on_call
from playbooks.timeline import TimelineKind
from store.audit import verify_chain
from store.errors import ChangeRefused
from store.models import OncallOverride, TimelineEvent
from store.oncall import add_override, as_overrides, cancel_override, current_overrides

UTC = timezone.utc


def test_an_override_is_stored_audited_and_wins_over_the_rotation(store, clock):
    schedule = Schedule(members=["ann", "bob"], rotation="1w", start="2024-01-15T09:00:00Z")
    start = clock.moment.replace(tzinfo=UTC)
    row = add_override(store, "primary", "carl", start, start + timedelta(hours=2), actor="lead")
    assert (row.schedule, row.person, row.created_by, row.created_at) == ("primary", "carl", "lead", clock.moment)

    overrides = as_overrides(current_overrides(store, clock.moment))
    answer = on_call("primary", schedule, start + timedelta(minutes=30), overrides)
    assert (answer.person, answer.overridden, answer.until) == ("carl", True, start + timedelta(hours=2))
    assert answer.next[0].person == "ann"  # back to the rotation when it ends

    with store.db.read() as session:
        events = session.exec(select(TimelineEvent).order_by(TimelineEvent.seq)).all()
        assert [(e.incident_id, e.kind, e.actor) for e in events] == [(None, TimelineKind.ONCALL_OVERRIDE, "lead")]
        assert "carl on call for primary" in events[0].summary
        assert verify_chain(session).ok


def test_a_cancelled_override_is_kept_no_longer_counts_and_is_audited(store, clock):
    start = clock.moment
    row = add_override(store, "primary", "carl", start, start + timedelta(hours=2), actor="lead")
    clock.advance(minutes=10)
    cancelled = cancel_override(store, row.id, actor="lead")
    assert cancelled.cancelled_at == clock.moment
    assert current_overrides(store, clock.moment) == []
    with pytest.raises(ChangeRefused, match="already cancelled"):
        cancel_override(store, row.id, actor="lead")
    with pytest.raises(ChangeRefused, match="no on-call override 999"):
        cancel_override(store, 999, actor="lead")
    with store.db.read() as session:
        assert len(session.exec(select(OncallOverride)).all()) == 1
        kinds = [e.kind for e in session.exec(select(TimelineEvent).order_by(TimelineEvent.seq)).all()]
        assert kinds == [TimelineKind.ONCALL_OVERRIDE, TimelineKind.ONCALL_OVERRIDE_CANCELLED]
        assert verify_chain(session).ok


def test_ended_overrides_are_not_current_and_a_backwards_span_writes_nothing(store, clock):
    add_override(store, "primary", "carl", clock.moment - timedelta(hours=3), clock.moment - timedelta(hours=1),
                 actor="lead")
    later = add_override(store, "primary", "dana", clock.moment, clock.moment + timedelta(days=1), actor="lead")
    assert [row.id for row in current_overrides(store, clock.moment)] == [later.id]
    with pytest.raises(PolicyValueError, match="before it starts"):
        add_override(store, "primary", "erin", clock.moment, clock.moment - timedelta(hours=1), actor="lead")
    with pytest.raises(PolicyValueError, match="control character"):
        add_override(store, "primary", "er\x1b[31min", clock.moment, clock.moment + timedelta(hours=1), actor="lead")
    with store.db.read() as session:
        assert len(session.exec(select(OncallOverride)).all()) == 2
        assert len(session.exec(select(TimelineEvent)).all()) == 2
