"""Leadership on PostgreSQL: one process among any number, on any number of hosts, runs
detection, escalation and nudges for a database. It is the holder of a session-level
advisory lock taken on a connection of its own, kept open: PostgreSQL lets go of the lock
when that session ends, so a leader that dies (SIGKILL, a lost host, a dropped connection)
leaves it to whichever process tries next. Others try every second or so (automation/watch.py),
so one takes over within seconds. SQLite keeps a lock file on its one host (automation/lease.py)."""
from __future__ import annotations

import hashlib

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from store.database import normalise_url

# A fixed name, so every release and every host contends for the same lock; the key is its
# hash as PostgreSQL's signed 64-bit advisory-lock key. Advisory locks are per database.
LOCK_NAME = "incident-response detection leader"
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)


class Leadership:
    """acquire() tries (never waits) and may be called as often as one likes; held() says
    whether this process is the leader now; release() gives the lead up."""

    def __init__(self, database_url: str, *, connect_timeout: int = 5) -> None:
        # Its own engine without a pool: the one connection is the lock, never shared.
        self._engine = create_engine(normalise_url(database_url), poolclass=NullPool,
                                     connect_args={"connect_timeout": connect_timeout})
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        """True if this process leads (now or already). A connection that broke took the
        lock with it: it is dropped and the lock tried again on a new one."""
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
                # Autocommit: the lock belongs to the session, and no transaction stays open.
                self._conn = self._conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.held():
                return True
            return bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        except Exception:  # the server is away: not the leader; the next try reconnects
            self._drop()
            return False

    def held(self) -> bool:
        """Asks the server (the lock lives there): false when the connection is gone."""
        if self._conn is None:
            return False
        try:
            # A bigint key shows in pg_locks as classid (high 32 bits) and objid (low), objsubid 1.
            return bool(self._conn.execute(text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND objsubid = 1"
                " AND ((classid::bigint << 32) | objid::bigint) = :key)"), {"key": LOCK_KEY}).scalar())
        except Exception:
            self._drop()
            return False

    def release(self) -> None:
        self._drop()  # closing the session lets go of its lock
        self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken: nothing to give back
                pass
            self._conn = None
