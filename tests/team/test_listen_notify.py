"""LISTEN/NOTIFY on PostgreSQL: a commit that moved the timeline wakes the listeners on
every host, a rolled-back or event-less write wakes nobody, and the listener stops
promptly, survives a server restart and falls back to polling where LISTEN is refused."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import text

from store.database import open_database
from store.errors import ChangeRefused
from store.notifications import CHANNEL, connect_kwargs, listen
from store.operations import IncidentStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_url, policy, clock):
    db = open_database(postgres_url)
    yield IncidentStore(db, policy, clock)
    db.dispose()


def _notices(conn, timeout: float) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=timeout)]


def test_a_commit_notifies_once_with_the_last_seq_and_a_rollback_or_eventless_write_does_not(pg_store):
    with psycopg.connect(autocommit=True, **connect_kwargs(pg_store.db)) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        incident = pg_store.declare("high", "outage", "production", actor="alice", title="Checkout down")
        with pg_store.db.read() as session:
            head = session.execute(text("SELECT last_seq FROM chain_head")).scalar()
        # One notice per transaction, carrying where the chain head ended.
        assert _notices(conn, 0.5) == [str(head)]

        pg_store.tick(incident.id, ["1", "2"], actor="bob")  # two events, one transaction
        assert _notices(conn, 0.5) == [str(head + 2)]

        pg_store.acknowledge(incident.id, actor="alice")
        with pytest.raises(ChangeRefused):
            pg_store.acknowledge(incident.id, actor="carol")  # refused: rolled back, nobody woken
        assert _notices(conn, 0.3) == [str(head + 3)]

        with pg_store.db.write():
            pass  # a write that recorded no event (outbox bookkeeping, say)
        pg_store.tick(incident.id, ["1"], actor="dave")  # already done: no event
        assert _notices(conn, 0.3) == []


def _listening(db, **kwargs):
    calls: list[float] = []
    states: list[tuple[bool, str]] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=listen, args=(db, lambda: calls.append(time.monotonic()), stop),
        kwargs={"on_state": lambda ok, sentence: states.append((ok, sentence)), **kwargs}, daemon=True)
    thread.start()
    return calls, states, stop, thread


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_listen_wakes_within_a_fraction_of_a_second_coalesces_bursts_and_stops_promptly(pg_store, postgres_url,
                                                                                           policy, clock):
    calls, states, stop, thread = _listening(pg_store.db)
    try:
        assert _wait_until(lambda: len(calls) == 1, 10), "no catch-up call after connecting"
        other = IncidentStore(open_database(postgres_url), policy, clock)  # another engineer's connection
        latencies = []
        for n in range(5):
            before = len(calls)
            other.declare("medium", "performance", "staging", actor="bob", title=f"slow {n}")
            committed = time.monotonic()
            assert _wait_until(lambda: len(calls) > before, 5)
            latencies.append(calls[before] - committed)
        assert sorted(latencies)[2] < 0.2, latencies
        # A burst of commits: fewer wake-ups than commits, the last one after the last commit.
        before = len(calls)
        incident = other.declare("low", "data", "development", actor="bob", title="burst")
        for n in range(20):
            if n == 19:
                # A note commits in the same round trip as its append (store/write_locks.py): the
                # server may deliver its notice before add_note has returned here, so the last
                # commit is bounded from below by the moment the last note was asked for.
                last_commit = time.monotonic()
            other.add_note(incident.id, f"note {n}", actor="bob")
        assert _wait_until(lambda: len(calls) > before and calls[-1] >= last_commit, 5)
        time.sleep(0.2)
        assert 1 <= len(calls) - before <= 21
        other.db.dispose()
        assert states == []
    finally:
        asked = time.monotonic()
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 1.0


def test_the_listener_survives_a_server_restart_and_catches_up(policy, clock):
    from tests.support.postgres import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()  # its own server: restarting it disturbs no other test
    except PostgresUnavailable as exc:
        from tests.conftest import _unavailable

        _unavailable(str(exc))
    try:
        url = server.url(server.create_database())
        store = IncidentStore(open_database(url), policy, clock)
        calls, states, stop, thread = _listening(store.db)
        try:
            assert _wait_until(lambda: len(calls) == 1, 10)
            server.restart()  # fast shutdown: every connection is closed by the server
            assert _wait_until(lambda: [ok for ok, _ in states] == [False, True], 15), states
            assert "connection was lost" in states[0][1] and "reconnecting" in states[0][1]
            assert states[1][1].startswith("live updates are back")
            # Reconnecting calls back once more: the caller re-reads whatever committed while
            # nobody was listening.
            assert len(calls) >= 2
            # And it listens again.
            before = len(calls)
            store.declare("critical", "outage", "production", actor="alice", title="after the restart")
            committed = time.monotonic()
            assert _wait_until(lambda: len(calls) > before, 5)
            assert calls[before] - committed < 0.5
        finally:
            stop.set()
            thread.join(timeout=5)
            store.db.dispose()
        assert not thread.is_alive()
    finally:
        server.stop()


def test_where_listen_is_refused_the_command_center_polls(pg_store, monkeypatch):
    from store import notifications
    from tui import live

    # A server that refuses LISTEN (a hot standby, a pooler in transaction mode): here a
    # channel name the server rejects stands in for it.
    monkeypatch.setattr(notifications, "CHANNEL", "not a channel")
    monkeypatch.setattr(live, "POLL_S", 0.05)
    calls: list[float] = []
    states: list[tuple[bool, str]] = []
    stop = threading.Event()
    thread = threading.Thread(target=live.watch, args=(pg_store.db, lambda: calls.append(time.monotonic()), stop),
                              kwargs={"on_state": lambda ok, s: states.append((ok, s))}, daemon=True)
    thread.start()
    try:
        assert _wait_until(lambda: len(calls) >= 3, 5)
        assert len(states) == 1 and states[0][0] is False
        assert "refused LISTEN" in states[0][1] and "polling once a second" in states[0][1]
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
