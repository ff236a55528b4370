"""Which writes wait for which on PostgreSQL (SQLite has one write lock and needs none of this).

The timeline is one hash chain, so every write that appends an event holds the chain head
row (FOR UPDATE) until it commits: that keeps sequence numbers in commit order, which the
command centers' "events after #N" reads rely on. What differs is when a write takes it:

- A general write (the default) may touch any row, so it takes the chain head first, for
  its whole transaction, as before. It also holds the write gate exclusively.
- A write about one incident (`Database.write(per_incident=True)`: a note, a tick, a
  declaration) holds the gate shared, locks its own incident's row first
  (`INCIDENT_ROW_LOCK`) and takes the chain head only when it appends, at its end. Writes to
  different incidents then do their work side by side and queue only for the append and
  the commit.

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


def lock_day(session, day_key: str) -> None:
    """Before reading the day's incident-number sequence (day_key: YYYYMMDD)."""
    if on_postgres(session):
        session.execute(LOCK_DAY, {"day": day_key})
