"""Issue 16: on PostgreSQL, writes to different incidents proceed in parallel while the audit
chain keeps verifying. Today one chain head row, locked FOR UPDATE by every write
transaction, serialises them all; the test below states the goal and is expected to fail
(strict) until the chain is kept per incident. When it passes, remove the xfail marker."""
import threading

import pytest
from sqlalchemy import text

from playbooks.timeline import TimelineKind
from store.audit import verify_chain

pytestmark = pytest.mark.postgres

LOCK_WAITERS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")


@pytest.fixture
def pg_store(postgres_url, policy, clock):
    from store.database import open_database
    from store.operations import IncidentStore

    db = open_database(postgres_url)
    yield IncidentStore(db, policy, clock)
    db.dispose()


@pytest.mark.xfail(strict=True, reason="issue 16: the single chain head serialises writes to every incident")
def test_a_note_on_one_incident_does_not_wait_for_a_write_to_another(pg_store):
    store = pg_store
    first = store.declare("critical", "outage", "production", actor="alice")
    second = store.declare("high", "outage", "production", actor="bob")
    holding, release, noted = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold_a_write_on_the_first():
        try:
            with store.db.write() as session:
                incident = store.load(session, first.id)
                store.record_event(session, incident, store.now(), "alice", TimelineKind.NOTE, "held open", {})
                holding.set()
                release.wait(60)
        except BaseException as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
            holding.set()

    def note_the_second():
        try:
            store.add_note(second.id, "written meanwhile", actor="bob")
        except BaseException as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
        finally:
            noted.set()

    holder = threading.Thread(target=hold_a_write_on_the_first)
    noter = threading.Thread(target=note_the_second)
    blocked = False
    holder.start()
    try:
        assert holding.wait(30)
        noter.start()
        with store.db.read_engine.connect() as watcher:
            # Until the note commits, or its transaction waits on a lock the held write has.
            while not noted.wait(0.02):
                if watcher.execute(LOCK_WAITERS).scalar():
                    blocked = True
                    break
                watcher.commit()  # pg_stat_activity is a snapshot per transaction
    finally:
        release.set()
        holder.join(60)
        if noter.is_alive() or noter.ident is not None:
            noter.join(60)
    assert errors == []
    with store.db.read() as session:
        assert verify_chain(session).ok  # both writes in the audit trail, whatever their order
    assert not blocked, "the note on another incident waited for the held write's lock"
