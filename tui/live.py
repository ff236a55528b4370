"""Notice other processes' writes: watch the SQLite file (watchfiles), or LISTEN on
PostgreSQL (store/notifications.py), polling once a second where LISTEN is refused."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import watchfiles

if TYPE_CHECKING:
    from store.database import Database

POLL_S = 1.0


def watch_sqlite(path: Path, on_change: Callable[[], None], stop: threading.Event) -> None:
    """Call `on_change` (from this thread) whenever the database or its WAL is written."""
    names = {path.name, f"{path.name}-wal"}

    def ours(_change, changed_path: str) -> bool:
        return Path(changed_path).name in names

    # Not recursive: the database's own folder is all there is to see (a busy tree beside
    # the database must not cost a watch per subfolder).
    for _changes in watchfiles.watch(path.parent, watch_filter=ours, stop_event=stop, debounce=50, step=25,
                                     rust_timeout=200, yield_on_timeout=False, recursive=False):
        on_change()


def watch_postgres(db: "Database", on_change: Callable[[], None], stop: threading.Event,
                   on_state: Callable[[bool, str], None] | None = None) -> None:
    """LISTEN for other writers' commits; poll if the server refuses LISTEN."""
    from store.notifications import ListenUnavailable, listen

    try:
        listen(db, on_change, stop, on_state=on_state)
    except ListenUnavailable as refused:
        if on_state is not None:
            on_state(False, str(refused))
        poll(POLL_S, on_change, stop)


def watch(db: "Database", on_change: Callable[[], None], stop: threading.Event,
          on_state: Callable[[bool, str], None] | None = None) -> None:
    """Whichever of the above fits the database."""
    if db.sqlite_path is not None:
        watch_sqlite(db.sqlite_path, on_change, stop)
    else:
        watch_postgres(db, on_change, stop, on_state)


def poll(interval: float, on_change: Callable[[], None], stop: threading.Event) -> None:
    while not stop.wait(interval):
        on_change()
