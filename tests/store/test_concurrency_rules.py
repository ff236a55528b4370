"""The concurrency rules of the README ("Working as a team"), on SQLite and PostgreSQL:
engineers on their own connections at the same moment (a barrier lines them up).

- Two engineers ticking different steps of one incident: both land.
- The same step ticked by two engineers at once: one tick event.
- A status or severity change made on a stale view is refused, in one sentence showing
  the incident as it is now and the change the caller missed; nothing is written.
- Two engineers changing the status from the same view at once: one wins, the other is
  refused; never a silent overwrite.
"""
from __future__ import annotations

import json
import threading

import pytest
from sqlmodel import select

from store.audit import verify_chain
from store.database import open_database
from store.errors import StaleView
from store.models import ChecklistStep, Incident, TimelineEvent
from store.operations import IncidentStore


@pytest.fixture
def engineers(db_url, policy, clock, store):
    """Open one store per engineer: their own connections, as on their own hosts."""
    opened = []

    def make(count: int) -> list[IncidentStore]:
        for _ in range(count):
            opened.append(IncidentStore(open_database(db_url), policy, clock))
        return opened[-count:]

    yield make
    for each in opened:
        each.db.dispose()


def at_once(*calls):
    """Run each call on its own thread, released together; results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # the caller checks which ones were refused
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _events(store, incident_id, kind=None):
    with store.db.read() as session:
        query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(TimelineEvent.seq)
        return [e for e in session.exec(query).all() if kind is None or e.kind == kind]


def _steps(store, incident_id):
    with store.db.read() as session:
        return {s.number: s for s in session.exec(select(ChecklistStep).where(ChecklistStep.incident_id == incident_id))}


def _chain_ok(store):
    with store.db.read() as session:
        result = verify_chain(session)
    assert result.ok, result.problem


def test_two_engineers_ticking_different_steps_at_once_both_land(store, engineers):
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    alice, bob = engineers(2)
    for odd in (1, 3, 5, 7, 9):  # several rounds, each a real collision
        results = at_once(lambda: alice.tick(incident.id, [str(odd)], actor="alice"),
                          lambda: bob.tick(incident.id, [str(odd + 1)], actor="bob"))
        assert [[s.number for s in r] for r in results] == [[odd], [odd + 1]]
    steps = _steps(store, incident.id)
    assert {n: steps[n].done_by for n in range(1, 11)} == {n: "alice" if n % 2 else "bob" for n in range(1, 11)}
    ticks = _events(store, incident.id, "step_done")
    assert sorted((json.loads(e.data)["step"], e.actor) for e in ticks) == [
        (n, "alice" if n % 2 else "bob") for n in range(1, 11)]
    with store.db.read() as session:
        assert session.get(Incident, incident.id).version == 1 + 10  # declared, then one bump per tick
    _chain_ok(store)


def test_the_same_step_ticked_by_two_engineers_at_once_records_one_tick(store, engineers):
    incident = store.declare("high", "security", "production", actor="alice")
    alice, bob = engineers(2)
    for step in ("1", "2", "3"):
        results = at_once(lambda: alice.tick(incident.id, [step], actor="alice"),
                          lambda: bob.tick(incident.id, [step], actor="bob"))
        # Exactly one of them changed the step; the other found it done and wrote nothing.
        assert sorted(len(r) for r in results) == [0, 1], results
    ticks = _events(store, incident.id, "step_done")
    assert [e.summary.split(".")[0] for e in ticks] == ["Done: 1", "Done: 2", "Done: 3"]
    steps = _steps(store, incident.id)
    for tick in ticks:  # who is recorded as having done it is who has the event
        number = int(tick.summary.split(":")[1].split(".")[0])
        assert steps[number].done_by == tick.actor
    _chain_ok(store)


def test_a_status_change_on_a_stale_view_is_refused_showing_the_current_state(store, clock):
    incident = store.declare("high", "outage", "production", actor="alice")
    seen = incident.version  # alice's screen was drawn here
    clock.advance(minutes=1)
    store.change_severity(incident.id, "critical", actor="bob")
    store.change_status(incident.id, "identified", actor="bob")
    events_before = len(_events(store, incident.id))
    with pytest.raises(StaleView) as refused:
        store.change_status(incident.id, "monitoring", actor="alice", expected_version=seen)
    message = str(refused.value)
    assert message == (f"{incident.id} changed since you looked (now SEV-1, identified; last change "
                       f"\"Status investigating -> identified\" by bob at 14:31 UTC); accepted: reload it and try again")
    with store.db.read() as session:
        now = session.get(Incident, incident.id)
        assert (now.status, now.severity) == ("identified", "SEV-1")
    assert len(_events(store, incident.id)) == events_before  # nothing written
    # With the current version (reloaded), the same change goes through.
    store.change_status(incident.id, "monitoring", actor="alice", expected_version=now.version)


def test_a_severity_change_on_a_stale_view_is_refused_showing_the_current_state(store, clock):
    incident = store.declare("medium", "performance", "staging", actor="alice")
    seen = incident.version
    store.add_note(incident.id, "p99 back under 300 ms\nsee graph", actor="carol")
    clock.advance(days=1)  # another day: the time names its date
    events_before = len(_events(store, incident.id))
    with pytest.raises(StaleView) as refused:
        store.change_severity(incident.id, "low", actor="alice", expected_version=seen)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{incident.id} changed since you looked (now SEV-3, investigating; last change ")
    assert message.endswith("by carol at 2024-01-18 14:30 UTC); accepted: reload it and try again")
    with store.db.read() as session:
        assert session.get(Incident, incident.id).severity == "SEV-3"
    assert len(_events(store, incident.id)) == events_before


@pytest.mark.parametrize("change", ["status", "severity"])
def test_two_engineers_changing_from_the_same_view_at_once_one_wins(store, engineers, change):
    incident = store.declare("high", "outage", "production", actor="alice")
    alice, bob = engineers(2)
    seen = incident.version
    if change == "status":
        calls = (lambda: alice.change_status(incident.id, "identified", actor="alice", expected_version=seen),
                 lambda: bob.change_status(incident.id, "monitoring", actor="bob", expected_version=seen))
    else:
        calls = (lambda: alice.change_severity(incident.id, "critical", actor="alice", expected_version=seen),
                 lambda: bob.change_severity(incident.id, "medium", actor="bob", expected_version=seen))
    results = at_once(*calls)
    refused = [r for r in results if isinstance(r, Exception)]
    won = [r for r in results if isinstance(r, Incident)]
    assert len(won) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], StaleView)
    winner = won[0]
    assert f"(now {winner.severity}, {winner.status}; last change" in str(refused[0])
    with store.db.read() as session:
        stored = session.get(Incident, incident.id)
        assert (stored.severity, stored.status) == (winner.severity, winner.status)
    kind = "status_changed" if change == "status" else "severity_changed"
    assert len(_events(store, incident.id, kind)) == 1
    _chain_ok(store)
