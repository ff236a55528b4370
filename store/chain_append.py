"""A per-incident write's append on PostgreSQL: its last round trip (store/write_locks.py).

The chain head is the one row every write that appends takes in turn, and it is held to
commit. What matters is how long each write holds it, because the others wait that long:

- Without the audit key the database links the events itself: one statement locks the head,
  hashes each event on the head as it finds it (the same material as audit.event_hash, whose
  part after the previous hash and seq the writer prepares before any lock), inserts them,
  moves the head and sends the NOTIFY; the write's own changes go before it and the COMMIT
  after it, in one pipeline. No turn of the writer process falls under the lock, and on a
  machine with fewer cores than writers such a turn is a wait for the CPU as well.
- With the audit key the MAC is made here, so the key never reaches the server: the head is
  taken with the changes, the events hashed and signed here, and sent with the COMMIT.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from store.notifications import CHANNEL
from store.write_locks import CHAIN_LOCKED, NOTIFIED, gate_owed, send_changes

EVENT_COLUMNS = ("seq", "incident_id", "at", "actor", "kind", "summary", "data", "prev_hash", "hash", "state", "mac")
# The columns the writer gives (the chain gives seq, prev_hash and hash; mac stays empty).
_GIVEN = (("incident_id", "text"), ("at", "timestamp"), ("actor", "text"), ("kind", "text"), ("summary", "text"),
          ("data", "text"), ("state", "text"))
_LINKED_SQL: dict[int, str] = {}
_SIGNED_SQL: dict[int, str] = {}


def linked_sql(count: int) -> str:
    """`count` events linked by the server, in order: e1 on the head, e2 on e1, ..."""
    if count not in _LINKED_SQL:
        steps = ["e0 AS (SELECT last_seq AS seq, last_hash AS hash FROM chain_head WHERE id = 1 FOR UPDATE)"]
        for i in range(1, count + 1):
            steps.append(
                f"e{i} AS (SELECT p.seq + 1 AS seq, p.hash AS prev, encode(sha256(convert_to(%s || length(p.hash) "
                f"|| ':' || p.hash || length((p.seq + 1)::text) || ':' || (p.seq + 1)::text, 'UTF8') || %s::bytea), "
                f"'hex') AS hash FROM e{i - 1} p)")
        given = ", ".join(f"%s::{kind}" for _, kind in _GIVEN)
        rows = " UNION ALL ".join(f"SELECT e{i}.seq, {given}, e{i}.prev, e{i}.hash FROM e{i}"
                                  for i in range(1, count + 1))
        names = ", ".join(name for name, _ in _GIVEN)
        _LINKED_SQL[count] = (
            "WITH " + ", ".join(steps)
            + f", appended AS (INSERT INTO timeline_event (seq, {names}, prev_hash, hash) {rows}"
            " RETURNING seq, prev_hash, hash)"
            f", moved AS (UPDATE chain_head SET last_seq = e{count}.seq, last_hash = e{count}.hash FROM e{count}"
            " WHERE chain_head.id = 1)"
            f", told AS (SELECT pg_notify('{CHANNEL}', (SELECT seq FROM e{count})::text))"
            " SELECT appended.seq, appended.prev_hash, appended.hash FROM appended, told ORDER BY appended.seq")
    return _LINKED_SQL[count]


def signed_sql(count: int) -> str:
    """`count` events hashed and signed by the writer, the head moved and the NOTIFY sent."""
    if count not in _SIGNED_SQL:
        one = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
        _SIGNED_SQL[count] = (
            f"WITH appended AS (INSERT INTO timeline_event ({', '.join(EVENT_COLUMNS)}) VALUES "
            + ", ".join([one] * count)
            + "), moved AS (UPDATE chain_head SET last_seq = %s, last_hash = %s WHERE id = 1) "
            f"SELECT pg_notify('{CHANNEL}', %s)")
    return _SIGNED_SQL[count]


def append_on_postgres(session, conn, prepared: Sequence[dict[str, Any]], last: bool,
                       link: Callable[[str, int, dict[str, Any]], str],
                       sign: Callable[[str], str] | None) -> list[dict[str, Any]]:
    """The events of `prepared` (each its given columns plus `tag` and `tail`, its hash material
    before and after the previous hash and seq) appended to the chain. `link(previous, seq,
    entry)` is audit's hash of one and `sign(digest)` its MAC with the audit key (None without
    one). With `last` the COMMIT is sent in the same round trip. Returns the events' rows."""
    if gate_owed(conn):
        raise RuntimeError("a per-incident write appends before it took the write gate (write_locks.read_locked)")
    driver = conn.connection.dbapi_connection
    cursor = driver.cursor()
    session.info[NOTIFIED] = True
    if sign is None:
        params: list[Any] = []
        for entry in prepared:
            params.extend((entry["tag"], entry["tail"]))
        for entry in prepared:
            params.extend(entry[name] for name, _ in _GIVEN)
        with driver.pipeline():
            send_changes(cursor, session)
            cursor.execute(linked_sql(len(prepared)), params)
            if last:  # SQLAlchemy's own commit then finds the transaction over: a no-op
                driver.cursor().execute("COMMIT")
        linked = cursor.fetchall()
        session.info[CHAIN_LOCKED] = linked[0][0] - 1
        return [{**{name: entry[name] for name, _ in _GIVEN}, "seq": seq, "prev_hash": previous, "hash": digest,
                 "mac": None} for entry, (seq, previous, digest) in zip(prepared, linked)]
    with driver.pipeline():  # the write's own changes go with the lock
        send_changes(cursor, session)
        cursor.execute("SELECT last_seq, last_hash FROM chain_head WHERE id = 1 FOR UPDATE")
    seq, previous = cursor.fetchone()
    session.info[CHAIN_LOCKED] = seq
    rows = []
    for entry in prepared:
        seq += 1
        digest = link(previous, seq, entry)
        rows.append({**{name: entry[name] for name, _ in _GIVEN}, "seq": seq, "prev_hash": previous,
                     "hash": digest, "mac": sign(digest)})
        previous = digest
    params = [row[name] for row in rows for name in EVENT_COLUMNS]
    with driver.pipeline():
        cursor.execute(signed_sql(len(rows)), (*params, seq, previous, str(seq)))
        if last:
            cursor.execute("COMMIT")
    return rows
