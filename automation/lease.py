"""One detection loop per database: a `watch` service and every open command center
would otherwise sample the same host several times, and escalate and nudge twice.
On SQLite (one host) an advisory lock file in the state dir, keyed by the database URL;
on PostgreSQL (any number of hosts) a PostgreSQL advisory lock (store/leadership.py).
Either is released when the process ends, even by SIGKILL, and the next to try takes it."""
from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from store.paths import state_dir


class DetectionLease:
    def __init__(self, database_url: str, directory: Path | None = None) -> None:
        digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        self.path = (directory or state_dir()) / f"detection-{digest}.lock"
        self._fd: int | None = None
        self._leadership = None
        # Hosts that share a PostgreSQL database cannot see each other's lock files.
        self.across_hosts = database_url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")
        if self.across_hosts:
            from store.leadership import Leadership

            self._leadership = Leadership(database_url)

    def acquire(self) -> bool:
        """True if this process now runs detection for the database (it may already have);
        tried without waiting, as often as the caller likes."""
        if self._leadership is not None:
            return self._leadership.acquire()
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._leadership is not None:
            self._leadership.release()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
