"""Notice other processes' writes: watch the SQLite file (watchfiles), or poll the
chain head where there is no file (PostgreSQL until LISTEN/NOTIFY lands)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import watchfiles


def watch_sqlite(path: Path, on_change: Callable[[], None], stop: threading.Event) -> None:
    """Call `on_change` (from this thread) whenever the database or its WAL is written."""
    names = {path.name, f"{path.name}-wal"}

    def ours(_change, changed_path: str) -> bool:
        return Path(changed_path).name in names

    for _changes in watchfiles.watch(path.parent, watch_filter=ours, stop_event=stop, debounce=50, step=25,
                                     rust_timeout=200, yield_on_timeout=False):
        on_change()


def poll(interval: float, on_change: Callable[[], None], stop: threading.Event) -> None:
    while not stop.wait(interval):
        on_change()
