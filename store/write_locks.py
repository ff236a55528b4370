"""Which writes wait for which on PostgreSQL (SQLite has one write lock and needs none of this).

The timeline is one hash chain, so every write that appends an event holds the chain head
row (FOR UPDATE) until it commits: that keeps sequence numbers in commit order, which the
command centers' "events after #N" reads rely on. What differs is when a write takes it:

- A general write (the default) may touch any row, so it takes the chain head first, for
  its whole transaction, as before. It also holds the write gate exclusively.
- A write about one incident (`Database.write(per_incident=True)`: a note, a tick, a
  declaration) holds the gate shared, locks its own incident's row first (`read_locked`,
  or `IncidentStore.load(lock=True)` on the ORM path) and takes the chain head only when
  it appends, at its end (store/chain_append.py). Writes to different incidents then do
  their work side by side and queue only for the append and the commit.

The gate is what keeps the two kinds from deadlocking: a general write holding the chain
head may update any incident's row, while a per-incident write holding that row waits for
the chain head. With the gate held exclusively, a general write starts only when no
per-incident write is running, and none starts until it commits.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import text

# session.info key: the chain's last seq when this transaction locked the chain head (the
# NOTIFY sent before commit tells listeners "events after this one").
CHAIN_LOCKED = "incident_response.chain_locked_at"
# session.info key: the transaction's appends already sent that NOTIFY (audit.append_sealed).
NOTIFIED = "incident_response.notified"

# Advisory-lock keys (two int4 form: a class of lock, then the object), apart from the
# leadership lock's single 64-bit key.
_CLASS = int.from_bytes(hashlib.sha256(b"incident-response write locks").digest()[:4], "big", signed=True)
_GATE, _DAY = 1, 2

TAKE_GATE = text(f"SELECT pg_advisory_xact_lock({_CLASS}, {_GATE})")
SHARE_GATE = text(f"SELECT pg_advisory_xact_lock_shared({_CLASS}, {_GATE})")
LOCK_CHAIN_HEAD = text("SELECT last_seq FROM chain_head WHERE id = 1 FOR UPDATE")
# Per-day incident numbers: declarations of one day take turns (the day's sequence row may
# not exist yet, so a row lock could not cover the first one).
LOCK_DAY = text(f"SELECT pg_advisory_xact_lock({_CLASS} # {_DAY}, CAST(:day AS integer))")


def on_postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# -- a per-incident write's round trips on PostgreSQL ------------------------------------------
#
# Every round trip a write makes is a turn of two processes on the CPU (the writer and its
# server backend), and on a machine with fewer cores than writers each turn can be a wait
# for a core as well. So a per-incident write sends its statements in two pipelines of the
# driver's own (psycopg): the gate, the lock of what it changes and what it reads under it;
# then its own changes, the append and the COMMIT (store/chain_append.py).
# SQLite runs the same statements one by one.

# Execution option of a per-incident write's connection: its gate, while still to be taken.
# It is taken with the write's first reads (read_locked), or else before its first statement.
# (An option lives as long as the transaction's Connection, so nothing passes to the next
# write on the same pooled connection.)
GATE_OWED = "incident_response_gate_owed"
# session.info key: changes made, to be sent with the chain head's lock (PostgreSQL).
CHANGES_OWED = "incident_response.changes_owed"
_COMPILED: dict[tuple, str] = {}


class _Gate:
    __slots__ = ("owed",)

    def __init__(self) -> None:
        self.owed = True


def owe_gate(session) -> None:
    """Call first in a per-incident write on PostgreSQL (Database.write)."""
    session.connection(execution_options={GATE_OWED: _Gate()})


def _owed(conn) -> "_Gate | None":
    gate = conn.get_execution_options().get(GATE_OWED)
    return gate if gate is not None and gate.owed else None


def gate_owed(conn) -> bool:
    return _owed(conn) is not None


def take_owed_gate(conn, cursor, statement, parameters, context, executemany) -> None:
    """The engine's before_cursor_execute: a per-incident write that reads or writes before
    read_locked (store.load(lock=True), an ORM flush) takes the gate first all the same."""
    gate = _owed(conn)
    if gate is not None:
        gate.owed = False
        cursor.execute(str(SHARE_GATE))


def _sql(statement, dialect, given: dict | None = None) -> str:
    """The statement as the driver takes it (an INSERT with the columns `given` has)."""
    columns = tuple(given) if given is not None else None
    key = (id(statement), dialect.name, columns)
    if key not in _COMPILED:
        _COMPILED[key] = str(statement.compile(dialect=dialect, column_keys=columns))
    return _COMPILED[key]


def read_locked(session, params: dict, *statements) -> list:
    """The first statements of a per-incident write, each one's rows as a list: the lock of
    what it changes (its incident's row, FOR NO KEY UPDATE, or its day's numbers) and what
    it reads under it, all with `params`. On PostgreSQL the gate is taken first, all in one
    round trip."""
    conn = session.connection()
    gate = _owed(conn)
    if gate is None:
        return [conn.execute(statement, params).all() for statement in statements]
    gate.owed = False
    from psycopg.rows import namedtuple_row

    driver = conn.connection.dbapi_connection
    dialect = session.get_bind().dialect
    cursors = [driver.cursor(row_factory=namedtuple_row) for _ in statements]
    with driver.pipeline():
        cursors[0].execute(str(SHARE_GATE))
        for cursor, statement in zip(cursors, statements):
            cursor.execute(_sql(statement, dialect), params)
    return [cursor.fetchall() for cursor in cursors]


def change_soon(session, statement, params) -> None:
    """A change of a per-incident write (params: a dict, or a list of them): on PostgreSQL sent
    with the chain head's lock (store/chain_append.py), on SQLite now."""
    if not on_postgres(session):
        session.connection().execute(statement, params)
        return
    dialect = session.get_bind().dialect
    given = params[0] if isinstance(params, list) else params
    session.info.setdefault(CHANGES_OWED, []).append((_sql(statement, dialect, given), params))


def send_changes(cursor, session) -> None:
    """Queue the changes change_soon kept (inside the caller's pipeline)."""
    for sql, params in session.info.pop(CHANGES_OWED, ()):
        if isinstance(params, list):
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)


def send_changes_left(session) -> None:
    """At the end of a write: changes no append carried are sent now, never lost."""
    if session.info.get(CHANGES_OWED):
        send_changes(session.connection().connection.dbapi_connection.cursor(), session)
