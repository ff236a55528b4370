"""Issue 16: on PostgreSQL, writes to different incidents proceed side by side while the audit
chain keeps verifying (store/write_locks.py). A note, a tick or a declaration locks its own
incident's row and takes the chain head only to append; writes to one incident take turns;
a general write waits for the per-incident ones and they for it, so the two never deadlock."""
import threading

import pytest
from sqlalchemy import func, select, text

from playbooks.timeline import TimelineKind
from store.audit import verify_chain
from store.models import TimelineEvent

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


def waits_while_held(store, held_incident: str, other_write) -> bool:
    """Hold a per-incident write on `held_incident` open (its row locked, its event not yet
    appended), run `other_write` meanwhile, and say whether it waited on a lock the held write
    has. The held write then appends its note; both must be in the chain."""
    holding, release, written = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold():
        try:
            with store.db.write(per_incident=True) as session:
                incident = store.load(session, held_incident, lock=True)
                holding.set()
                release.wait(60)
                store.record_event(session, incident, store.now(), "alice", TimelineKind.NOTE, "held open", {})
        except BaseException as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
            holding.set()

    def write():
        try:
            other_write()
        except BaseException as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
        finally:
            written.set()

    holder, writer = threading.Thread(target=hold), threading.Thread(target=write)
    blocked = False
    holder.start()
    try:
        assert holding.wait(30)
        writer.start()
        with store.db.read_engine.connect() as watcher:
            # Until the other write commits, or its transaction waits on a lock.
            while not written.wait(0.02):
                if watcher.execute(LOCK_WAITERS).scalar():
                    blocked = True
                    break
                watcher.commit()  # pg_stat_activity is a snapshot per transaction
    finally:
        release.set()
        holder.join(60)
        if writer.ident is not None:
            writer.join(60)
    assert errors == []
    with store.db.read() as session:
        assert verify_chain(session).ok  # both writes in the audit trail, whatever their order
        assert session.execute(select(func.count()).select_from(TimelineEvent)
                               .where(TimelineEvent.summary == "held open")).scalar() == 1
    return blocked


def test_a_note_on_one_incident_does_not_wait_for_a_write_to_another(pg_store):
    first = pg_store.declare("critical", "outage", "production", actor="alice")
    second = pg_store.declare("high", "outage", "production", actor="bob")
    blocked = waits_while_held(pg_store, first.id,
                               lambda: pg_store.add_note(second.id, "written meanwhile", actor="bob"))
    assert not blocked, "the note on another incident waited for the held write's lock"


def test_a_tick_and_a_declaration_do_not_wait_for_a_write_to_another_incident(pg_store):
    first = pg_store.declare("critical", "outage", "production", actor="alice")
    second = pg_store.declare("high", "outage", "production", actor="bob")

    def tick_and_declare():
        pg_store.tick(second.id, ["1"], actor="bob")
        pg_store.declare("low", "outage", "staging", actor="bob", title="meanwhile")

    assert not waits_while_held(pg_store, first.id, tick_and_declare)


def test_writes_to_one_incident_take_turns(pg_store):
    first = pg_store.declare("critical", "outage", "production", actor="alice")
    blocked = waits_while_held(pg_store, first.id, lambda: pg_store.add_note(first.id, "second", actor="bob"))
    assert blocked, "a note on the same incident ran beside the held write instead of after it"


def test_a_general_write_waits_for_the_per_incident_ones(pg_store):
    first = pg_store.declare("critical", "outage", "production", actor="alice")
    second = pg_store.declare("high", "outage", "production", actor="bob")
    blocked = waits_while_held(pg_store, first.id, lambda: pg_store.acknowledge(second.id, actor="bob"))
    assert blocked, "a general write ran while a per-incident write was open (they could deadlock)"


def test_general_and_per_incident_writes_on_the_same_incidents_lose_nothing_and_never_deadlock(pg_store):
    incidents = [pg_store.declare("high", "outage", "production", actor="alice", title=f"shared {n}").id
                 for n in range(2)]
    errors: list[BaseException] = []
    rounds = 15  # bounded: 4 threads x 15 rounds

    def notes(name):
        for n in range(rounds):
            pg_store.add_note(incidents[n % 2], f"{name} {n}", actor=name)

    def ticks(name):
        for n in range(rounds):
            pg_store.tick(incidents[n % 2], [str(1 + n // 2)], actor=name)

    def general(name):  # writes that take the chain head for their whole transaction
        for n in range(rounds):
            role = ("ic", "comms", "ops")[n % 3]
            pg_store.assign_role(incidents[n % 2], role, f"{name}{n}", actor=name)

    def run(work, name):
        try:
            work(name)
        except BaseException as exc:  # a deadlock would surface here as an error
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work, name))
               for work, name in ((notes, "ann"), (notes, "bo"), (ticks, "cy"), (general, "di"))]
    before = _events(pg_store)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with pg_store.db.read() as session:
        result = verify_chain(session)
        assert result.ok, result.problem
        kinds = dict(session.execute(select(TimelineEvent.kind, func.count()).where(TimelineEvent.seq > before)
                                     .group_by(TimelineEvent.kind)).all())
    assert kinds["note"] == 2 * rounds
    assert kinds["step_done"] == rounds
    assert kinds["role_assigned"] == rounds


def _events(store) -> int:
    with store.db.read() as session:
        return session.execute(select(func.max(TimelineEvent.seq))).scalar() or 0


def test_per_incident_appends_verify_whatever_the_text(pg_store):
    """A per-incident write appends through the driver itself (store/audit._append_locking),
    committing in the same round trip: its hashes must be the ones verify_chain recomputes,
    for any text."""
    texts = ["plain", "ünïcødé 🚨 e\u0301 שלום", "tab\tand\nnewline", "", "[bold]markup[/bold] <b>x</b>"]
    incident = pg_store.declare("high", "outage", "production", actor="ñandú 🦩", title=texts[1])
    for text in texts[:-2] + texts[-1:]:
        pg_store.add_note(incident.id, text or "-", actor="zoë")
    pg_store.tick(incident.id, ["1", "2"], actor="zoë")
    with pg_store.db.read() as session:
        result = verify_chain(session)
        assert result.ok, result.problem
        stored = session.execute(select(TimelineEvent.summary).where(TimelineEvent.incident_id == incident.id)
                                 .order_by(TimelineEvent.seq)).scalars().all()
    assert stored[1:4] == ["plain", texts[1], "tab\tand\nnewline"]


def test_keyed_per_incident_appends_are_signed_and_verify_with_the_key(pg_store):
    """With the audit key every event a per-incident write appends is signed, and the chain
    verifies with the key."""
    from store.audit import use_audit_key

    key = b"k" * 32
    use_audit_key(pg_store.db, key)
    try:
        incident = pg_store.declare("high", "outage", "production", actor="alice")
        pg_store.add_note(incident.id, "signed", actor="alice")
        pg_store.tick(incident.id, ["1"], actor="alice")
        with pg_store.db.read() as session:
            result = verify_chain(session, key=key)
            assert result.ok and result.keyed, result.problem
            macs = session.execute(select(TimelineEvent.mac).where(TimelineEvent.incident_id == incident.id)).all()
        assert macs and all(mac for (mac,) in macs)
    finally:
        use_audit_key(pg_store.db, None)
