"""Silences are stored on both backends, audited on the chain as events of no incident,
end by themselves at their end, can be expired by hand, and count what they suppressed."""
from datetime import timedelta

import pytest
from sqlmodel import select

from playbooks.errors import PolicyValueError
from playbooks.silences import parse_matchers
from playbooks.timeline import TimelineKind
from store.audit import verify_chain
from store.errors import ChangeRefused
from store.models import TimelineEvent
from store.silences import (
    active_silences,
    add_silence,
    expire_silence,
    list_silences,
    silences_in_force,
    suppress_if_silenced,
    suppressed_alerts,
)

CHECKOUT = {"alertname": "HighLatency", "service": "checkout", "instance": "web-1"}


def test_a_silence_is_stored_audited_and_matches_while_active(store, clock):
    start = clock.moment
    row = add_silence(store, parse_matchers(["service=checkout"]), start, start + timedelta(hours=2),
                      reason="db upgrade", actor="lead")
    assert (row.reason, row.created_by, row.created_at, row.suppressed) == ("db upgrade", "lead", start, 0)
    assert [s.id for s in active_silences(store, start)] == [row.id]

    assert suppress_if_silenced(store, CHECKOUT, source="alertmanager", title="Latency high",
                                dedup_key="am:{}:{}") == row.id
    assert suppress_if_silenced(store, {**CHECKOUT, "service": "search"}, source="alertmanager", title="x") is None
    listed = list_silences(store, start)
    assert [(s.id, s.suppressed, s.state(start)) for s in listed] == [(row.id, 1, "active")]
    [suppressed] = suppressed_alerts(store)
    assert (suppressed.silence_id, suppressed.source, suppressed.title, suppressed.labels) == (
        row.id, "alertmanager", "Latency high", CHECKOUT)

    with store.db.read() as session:
        events = session.exec(select(TimelineEvent).order_by(TimelineEvent.seq)).all()
        assert [(e.incident_id, e.kind, e.actor) for e in events] == [(None, TimelineKind.SILENCE_ADDED, "lead")]
        assert "service=checkout" in events[0].summary and "db upgrade" in events[0].summary
        assert verify_chain(session).ok


def test_a_silence_ends_by_itself_at_its_end(store, clock):
    start = clock.moment
    row = add_silence(store, parse_matchers(["service=checkout"]), start, start + timedelta(hours=2),
                      reason="maintenance", actor="lead")
    clock.advance(hours=2, seconds=-1)
    assert suppress_if_silenced(store, CHECKOUT, source="generic", title="t") == row.id
    clock.advance(seconds=1)  # the end is exclusive: at ends_at the silence is over
    assert suppress_if_silenced(store, CHECKOUT, source="generic", title="t") is None
    assert active_silences(store, clock.moment) == []
    assert list_silences(store, clock.moment) == []
    [past] = list_silences(store, clock.moment, include_past=True)
    assert (past.state(clock.moment), past.suppressed) == ("ended", 1)
    with pytest.raises(ChangeRefused, match="ended by itself"):
        expire_silence(store, row.id, actor="lead")


def test_a_pending_silence_silences_nothing_until_it_starts(store, clock):
    start = clock.moment + timedelta(hours=1)
    add_silence(store, parse_matchers(["service=checkout"]), start, start + timedelta(hours=1), reason="later",
                actor="lead")
    assert suppress_if_silenced(store, CHECKOUT, source="generic", title="t") is None
    [pending] = list_silences(store, clock.moment)
    assert pending.state(clock.moment) == "pending"
    clock.advance(hours=1)
    assert suppress_if_silenced(store, CHECKOUT, source="generic", title="t") == pending.id


def test_expiring_ends_it_now_is_kept_and_audited(store, clock):
    start = clock.moment
    row = add_silence(store, parse_matchers(["service=checkout", "instance=web-1"]), start,
                      start + timedelta(hours=2), reason="patching", actor="lead")
    clock.advance(minutes=5)
    expired = expire_silence(store, row.id, actor="ops")
    assert (expired.expired_at, expired.expired_by, expired.state(clock.moment)) == (clock.moment, "ops", "expired")
    assert suppress_if_silenced(store, CHECKOUT, source="generic", title="t") is None
    assert list_silences(store, clock.moment) == []
    with pytest.raises(ChangeRefused, match="already expired"):
        expire_silence(store, row.id, actor="ops")
    with pytest.raises(ChangeRefused, match="no silence 999"):
        expire_silence(store, 999, actor="ops")
    with store.db.read() as session:
        kinds = [e.kind for e in session.exec(select(TimelineEvent).order_by(TimelineEvent.seq)).all()]
        assert kinds == [TimelineKind.SILENCE_ADDED, TimelineKind.SILENCE_EXPIRED]
        assert verify_chain(session).ok


def test_a_refused_silence_writes_nothing(store, clock):
    start = clock.moment
    with pytest.raises(PolicyValueError, match="before it starts"):
        add_silence(store, parse_matchers(["service=a"]), start, start, reason="r", actor="lead")
    with pytest.raises(PolicyValueError, match="already past"):
        add_silence(store, parse_matchers(["service=a"]), start - timedelta(hours=2), start - timedelta(hours=1),
                    reason="r", actor="lead")
    with pytest.raises(PolicyValueError, match="reason"):
        add_silence(store, parse_matchers(["service=a"]), start, start + timedelta(hours=1), reason="\x1b[2J",
                    actor="lead")
    assert list_silences(store, start, include_past=True) == []
    with store.db.read() as session:
        assert session.exec(select(TimelineEvent)).all() == []


def test_the_dashboard_count_of_silences_in_force(store, clock):
    start = clock.moment
    with store.db.read() as session:
        assert silences_in_force(session, start) == (0, None)
    add_silence(store, parse_matchers(["service=a"]), start, start + timedelta(hours=2), reason="a", actor="lead")
    add_silence(store, parse_matchers(["service=b"]), start, start + timedelta(hours=1), reason="b", actor="lead")
    add_silence(store, parse_matchers(["service=c"]), start + timedelta(hours=3), start + timedelta(hours=4),
                reason="later", actor="lead")
    with store.db.read() as session:
        assert silences_in_force(session, start) == (2, start + timedelta(hours=1))
        assert silences_in_force(session, start + timedelta(hours=1)) == (1, start + timedelta(hours=2))
        assert silences_in_force(session, start + timedelta(hours=3)) == (1, start + timedelta(hours=4))
