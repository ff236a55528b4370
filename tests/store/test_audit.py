"""`audit verify` finds an altered, missing or truncated timeline event and names it."""
import pytest
from sqlalchemy import text

from store.audit import verify_chain


@pytest.fixture
def worked_incident(store):
    incident = store.declare("critical", "outage", "production", actor="alice")
    store.tick(incident.id, ["1", "2"], actor="alice")
    store.add_note(incident.id, "DB connections at max", actor="bob")
    store.post_status_update(incident.id, "Investigating", actor="bob")
    return incident


def verify(store):
    with store.db.read() as session:
        return verify_chain(session)


def tamper(store, sql, **params):
    # Raw SQL, as an attacker with file or database access would do it.
    with store.db.write_engine.connect() as conn:
        conn.execute(text(sql), params)
        conn.commit()


def test_intact_chain_verifies(store, worked_incident):
    result = verify(store)
    assert result.ok and result.events_checked == 5
    assert result.sentence() == "audit ok: 5 timeline events, hash chain intact"


@pytest.mark.parametrize("column,value", [
    ("summary", "DB connections at maX"),  # one byte changed
    ("actor", "mallory"),
    ("data", '{"x":1}'),
])
def test_one_changed_byte_is_named(store, worked_incident, column, value):
    tamper(store, f"UPDATE timeline_event SET {column} = :v WHERE seq = 4", v=value)
    result = verify(store)
    assert not result.ok and result.seq == 4
    assert "timeline event #4" in result.problem and worked_incident.id in result.problem
    assert "altered" in result.problem


def test_changed_timestamp_is_found(store, worked_incident):
    tamper(store, "UPDATE timeline_event SET at = at + interval '1 second' WHERE seq = 2"
           if not store.db.is_sqlite else
           "UPDATE timeline_event SET at = datetime(at, '+1 second') WHERE seq = 2")
    result = verify(store)
    assert not result.ok and result.seq == 2


def test_deleted_event_is_found(store, worked_incident):
    tamper(store, "DELETE FROM timeline_event WHERE seq = 3")
    result = verify(store)
    assert not result.ok and result.problem.startswith("timeline event #3 is missing")


def test_deleted_tail_is_found(store, worked_incident):
    tamper(store, "DELETE FROM timeline_event WHERE seq = 5")
    result = verify(store)
    assert not result.ok and "#5..#5 are missing" in result.problem


def test_rehashed_forgery_breaks_the_link(store, worked_incident):
    from store.audit import event_hash

    from store.models import TimelineEvent

    with store.db.read() as session:
        row = session.get(TimelineEvent, 3)
    # A forger recomputes the altered event's own hash but cannot fix the next event.
    forged = event_hash(row.prev_hash, row.seq, row.incident_id, row.at, row.actor, row.kind, "forged", row.data,
                        row.state)
    tamper(store, "UPDATE timeline_event SET summary = 'forged', hash = :h WHERE seq = 3", h=forged)
    result = verify(store)
    assert not result.ok and result.seq == 4 and "does not follow" in result.problem


def test_event_appended_outside_the_store_is_found(store, worked_incident):
    with store.db.read() as session:
        from store.models import TimelineEvent

        last = session.get(TimelineEvent, 5)
    tamper(store, "INSERT INTO timeline_event (seq, incident_id, at, actor, kind, summary, data, prev_hash, hash) "
                  "VALUES (6, :i, :at, 'mallory', 'note', 'all fine', '{}', :p, :p)",
           i=worked_incident.id, at=last.at, p=last.hash)
    result = verify(store)
    assert not result.ok and "after #5 are not part of the chain" in result.problem


def test_verify_while_others_write_does_not_cry_wolf(store, worked_incident):
    import threading

    stop = threading.Event()
    errors = []

    def writer():
        while not stop.is_set():
            try:
                store.add_note(worked_incident.id, "busy", actor="writer")
            except Exception as exc:  # pragma: no cover - shown in the assertion
                errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        results = [verify(store) for _ in range(15)]
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert all(r.ok for r in results), [r.problem for r in results if not r.ok]
