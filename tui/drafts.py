"""Half-written notes and status updates, kept per incident and field until they are posted
or discarded on purpose: `esc` in the composer keeps one, the next `n`/`u` restores it.

At 3 a.m. a stray `esc` (or a colleague's dialog) must not cost the engineer the update they
were writing, so the command center keeps drafts in memory and, when given a file, in the
state folder too (owner-only, written atomically: a draft may hold what customers have not
been told yet), so they survive a restart. One file per database, as the detection lease is
keyed, so the same incident id in two stores never shares a draft.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Callable

from store.files import write_private_file
from store.paths import state_dir

# What a draft is of; a field is what the engineer was writing.
NOTE = "note"
STATUS_UPDATE = "status_update"


def drafts_file(database_url: str, directory: Path | None = None) -> Path:
    """Where the drafts of this database are kept (the state folder unless told)."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return (directory or state_dir()) / f"drafts-{digest}.json"


class Drafts:
    """Drafts by (incident id, field); each is the dialog's fields by name (text only).

    `keep` and `discard` change memory at once (the next dialog sees the change) and ask
    `persist` to run `save`, which writes what is current when it runs; the app runs it in a
    worker so the screen never waits for the disk. Safe to call from any thread."""

    def __init__(self, path: Path | None = None,
                 persist: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.path = path
        self._persist = persist or (lambda save: save())
        self._lock = threading.Lock()
        self._drafts: dict[tuple[str, str], dict[str, str]] = self._read() if path else {}

    def get(self, incident_id: str, field: str) -> dict[str, str] | None:
        with self._lock:
            values = self._drafts.get((incident_id, field))
            return dict(values) if values is not None else None

    def keep(self, incident_id: str, field: str, values: dict[str, str]) -> None:
        with self._lock:
            self._drafts[(incident_id, field)] = {name: str(value) for name, value in values.items()}
        self._changed()

    def discard(self, incident_id: str, field: str) -> None:
        with self._lock:
            if self._drafts.pop((incident_id, field), None) is None:
                return
        self._changed()

    def _changed(self) -> None:
        if self.path is not None:
            self._persist(self.save)

    def save(self) -> None:
        """Write every current draft to the file (owner-only, atomic, never through a link)."""
        if self.path is None:
            return
        with self._lock:
            rows = [{"incident": incident_id, "field": field, "values": values}
                    for (incident_id, field), values in sorted(self._drafts.items())]
            write_private_file(self.path, json.dumps({"drafts": rows}, ensure_ascii=True, indent=1), force=True)

    def _read(self) -> dict[tuple[str, str], dict[str, str]]:
        """The drafts a previous command center left; a missing or damaged file is no drafts
        (the file is ours alone and only ever written whole, so damage is not a user's input)."""
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8")).get("drafts", [])
            return {(str(row["incident"]), str(row["field"])):
                    {str(name): str(value) for name, value in row["values"].items()} for row in rows}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}


class DraftSlot:
    """One draft's place: what a dialog keeps on `esc` and restores when opened again."""

    def __init__(self, drafts: Drafts, incident_id: str, field: str) -> None:
        self.drafts, self.incident_id, self.field = drafts, incident_id, field

    def values(self) -> dict[str, str] | None:
        return self.drafts.get(self.incident_id, self.field)

    def keep(self, values: dict[str, str]) -> None:
        self.drafts.keep(self.incident_id, self.field, values)

    def discard(self) -> None:
        self.drafts.discard(self.incident_id, self.field)
