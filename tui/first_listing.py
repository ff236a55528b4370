"""The open incidents on the first frame, before the store has opened (store/quick_list.py)."""
from __future__ import annotations

import threading

# How long the store's opening waits for the first listing to be painted: it takes a few
# milliseconds; the bound only keeps a screen that never paints from holding the store back.
LISTED_PAINT_WAIT_S = 1.0


class FirstListing:
    """The open incidents, read with plain sqlite3 (store/quick_list.py) in a thread of its
    own from the moment the app is built: SQLAlchemy, SQLModel and pydantic take about 0.4 s
    to load, and on a SQLite file at this program's schema the list need not wait for them.
    `rows` is None until read, and stays None when the file is not one to read that way."""

    def __init__(self, url: str) -> None:
        self.rows: list | None = None
        self.handed_over = False  # to the dashboard (main thread only)
        self.painted = threading.Event()  # the rows are on the screen, or there are none to show
        self._reader = threading.Thread(target=self._read, args=(url,), name="first-listing", daemon=True)
        self._reader.start()

    def _read(self, url: str) -> None:
        from store.quick_list import open_incidents

        self.rows = open_incidents(url)

    def read(self, wait: float | None = None) -> bool:
        """Whether the read is over, waiting at most `wait` seconds (None: until it is)."""
        self._reader.join(wait)
        return not self._reader.is_alive()
