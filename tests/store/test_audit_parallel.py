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


@pytest.fixture
def round_trips(monkeypatch):
    """Each statement the driver sends, as (pipeline number or None, its text): what a
    write sends together and what alone (psycopg pipelines; store/chain_append.py)."""
    import psycopg

    sent: list[tuple[int | None, str]] = []
    pipelines = iter(range(1, 1_000_000))
    open_pipeline: dict[int, int] = {}
    pipeline, execute, executemany = psycopg.Connection.pipeline, psycopg.Cursor.execute, psycopg.Cursor.executemany

    from contextlib import contextmanager

    @contextmanager
    def spied_pipeline(self):
        number = open_pipeline.get(id(self)) or next(pipelines)
        outer = id(self) not in open_pipeline
        open_pipeline[id(self)] = number
        try:
            with pipeline(self) as p:
                yield p
        finally:
            if outer:
                del open_pipeline[id(self)]

    def log(cursor, query):
        words = " ".join(str(query if isinstance(query, str) else query.as_string(cursor)).split())
        sent.append((open_pipeline.get(id(cursor.connection)), words))

    def spied_execute(self, query, *args, **kwargs):
        log(self, query)
        return execute(self, query, *args, **kwargs)

    def spied_executemany(self, query, *args, **kwargs):
        log(self, query)
        return executemany(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "pipeline", spied_pipeline)
    monkeypatch.setattr(psycopg.Cursor, "execute", spied_execute)
    monkeypatch.setattr(psycopg.Cursor, "executemany", spied_executemany)
    return sent


def _after_ping(sent):
    """A write's statements after its connection check (pool pre-ping)."""
    return [entry for entry in sent if entry[1] not in ("SELECT 1", ";")]


@pytest.mark.parametrize("operation", ["note", "tick", "declare"])
def test_a_per_incident_write_holds_the_chain_head_for_no_turn_of_its_own(pg_store, round_trips, operation):
    """Without the audit key, the statement that takes the chain head goes in one round trip
    with the COMMIT that releases it: the writer process has no turn while it holds the head.
    Each write is two round trips (a declaration one more, to see its number is free)."""
    incident = pg_store.declare("high", "outage", "production", actor="alice")
    round_trips.clear()
    if operation == "note":
        pg_store.add_note(incident.id, "held for no turn", actor="alice")
    elif operation == "tick":
        pg_store.tick(incident.id, ["1", "2"], actor="alice")
    else:
        pg_store.declare("critical", "outage", "production", actor="bob")
    sent = _after_ping(round_trips)
    head = [number for number, words in sent if "FROM chain_head" in words]
    commit = [number for number, words in sent if words == "COMMIT"]
    assert len(head) == 1 and head[0] is not None and commit == head, sent
    together = {number for number, _ in sent}
    alone = [words for number, words in sent if number is None]
    assert len(together - {None}) == 2, sent  # the gate, the locks and the reads; the changes, append, COMMIT
    if operation == "declare":  # between them, whether the day's next number is free
        assert len(alone) == 1 and alone[0].startswith("SELECT incident.id FROM incident WHERE"), sent
    else:
        assert alone == [], sent
    with pg_store.db.read() as session:
        assert verify_chain(session).ok


def test_with_the_audit_key_the_writer_signs_under_the_lock_and_the_key_never_reaches_the_server(
        pg_store, round_trips):
    from store.audit import use_audit_key

    key = b"s" * 32
    use_audit_key(pg_store.db, key)
    try:
        incident = pg_store.declare("high", "outage", "production", actor="alice")
        round_trips.clear()
        pg_store.add_note(incident.id, "signed here", actor="alice")
        with pg_store.db.read() as session:
            assert verify_chain(session, key=key).ok
    finally:
        use_audit_key(pg_store.db, None)
    sent = _after_ping(round_trips)
    head = [number for number, words in sent if "FROM chain_head" in words and "FOR UPDATE" in words]
    commit = [number for number, words in sent if words == "COMMIT"]
    assert head and commit and head != commit, sent  # the head taken, then hashed and signed here
    assert not any("hmac" in words.lower() for _, words in sent)
