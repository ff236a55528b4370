"""One detection loop per database: a `watch` service and every open command center
would otherwise sample the same host several times. An advisory lock file in the state
dir, keyed by the database URL; released when the process ends, even by SIGKILL."""
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

    def acquire(self) -> bool:
        """True if this process now runs detection for the database."""
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
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
