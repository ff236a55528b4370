"""Live updates across hosts on PostgreSQL: LISTEN/NOTIFY.

Every write transaction that moved the timeline sends `NOTIFY incident_response,
'<last seq>'` before it commits (Database.write), so the notice is delivered if and only
if the change is. `listen()` holds one dedicated connection that waits for those notices
and tells the caller "something changed"; the caller re-reads what changed since the
sequence number it has seen (store.dashboard.incidents_changed_since), so a notice lost
while reconnecting costs nothing: the first check after a reconnect catches up.

No textual here: the command center adapts this in tui/live.py.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from store.database import Database

CHANNEL = "incident_response"
# Sent inside the writer's transaction, only when the chain head moved past where the
# transaction found it (so samples and outbox bookkeeping wake nobody).
NOTIFY_SQL = ("SELECT pg_notify('" + CHANNEL + "', last_seq::text) FROM chain_head "
              "WHERE id = 1 AND last_seq > :start")

WAIT_S = 0.5          # how long one wait lasts: the longest a stop request waits
COALESCE_S = 0.02     # notices arriving this close together make one call
PING_IDLE_S = 15.0    # a quiet connection is checked this often (a dead peer is noticed)
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)

log = logging.getLogger(__name__)


class ListenUnavailable(Exception):
    """The server accepts connections but refuses LISTEN (a hot standby, a pooler in
    transaction mode): the caller should poll instead."""


def connect_kwargs(db: "Database") -> dict:
    """The psycopg arguments SQLAlchemy uses for this database, plus TCP keepalives so a
    peer that vanished without closing the socket is noticed."""
    engine = db.write_engine
    _args, kwargs = engine.dialect.create_connect_args(engine.url)
    kwargs.pop("context", None)
    kwargs.setdefault("connect_timeout", 3)  # also bounds how long a stop waits while the server is down
    kwargs.setdefault("keepalives", 1)
    kwargs.setdefault("keepalives_idle", 10)
    kwargs.setdefault("keepalives_interval", 5)
    kwargs.setdefault("keepalives_count", 3)
    kwargs.setdefault("application_name", "incident-response listener")
    return kwargs


def listen(
    db: "Database",
    on_change: Callable[[], None],
    stop: threading.Event,
    *,
    on_state: Callable[[bool, str], None] | None = None,
    wait: float = WAIT_S,
) -> None:
    """Call `on_change()` (from this thread) after other writers commit, until `stop` is set.

    Bursts of notices are coalesced into one call. `on_change()` is also called right
    after each (re)connect, to catch up on whatever committed while not listening. If the
    connection drops (server restarted, network gone) it reconnects with backoff and says
    so through `on_state(ok, sentence)` (once when lost, once when back). Raises
    ListenUnavailable if the server refuses LISTEN itself.
    """
    import psycopg

    kwargs = connect_kwargs(db)
    failures = 0
    lost = False
    while not stop.is_set():
        try:
            with psycopg.connect(autocommit=True, **kwargs) as conn:
                try:
                    conn.execute(f"LISTEN {CHANNEL}")
                except psycopg.errors.OperationalError:
                    raise
                except psycopg.Error as exc:
                    raise ListenUnavailable(
                        f"the database refused LISTEN ({str(exc).strip().splitlines()[0]}); "
                        "live updates fall back to polling once a second"
                    ) from None
                if lost and on_state is not None:
                    on_state(True, "live updates are back: reconnected to the database")
                failures, lost = 0, False
                on_change()  # anything committed before LISTEN took effect
                _wait_for_notices(conn, on_change, stop, wait)
        except ListenUnavailable:
            raise
        except psycopg.Error as exc:
            if stop.is_set():
                return
            if not lost:
                lost = True
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.warning("listener lost its connection: %s", detail)
                if on_state is not None:
                    on_state(False, f"live updates paused: the database connection was lost ({detail}); reconnecting")
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            stop.wait(delay)


def _wait_for_notices(conn, on_change: Callable[[], None], stop: threading.Event, wait: float) -> None:
    quiet_since = time.monotonic()
    while not stop.is_set():
        got = False
        for _notice in conn.notifies(timeout=wait, stop_after=1):
            got = True
        if got:
            # More may be on their way from the same burst: take them in one go.
            for _notice in conn.notifies(timeout=COALESCE_S):
                pass
            if stop.is_set():
                return
            on_change()
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > PING_IDLE_S:
            conn.execute("SELECT 1")  # raises if the server went away without a word
            quiet_since = time.monotonic()
