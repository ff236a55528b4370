"""The dashboard's first listing, read with the standard library's sqlite3 alone.

A cold start spends about 0.4 s loading SQLAlchemy, SQLModel and pydantic before the store
can answer its first query; on the embedded SQLite file the open incidents can be on the
screen long before that (issue 15, acceptance 5: cold start to the incidents listed). The
command center lists these rows while the store opens in its worker; the store's own first
read then shows the same rows again (store.dashboard.read_dashboard), so nothing shown is
ever this module's alone for more than that moment.

This is `store.queries.list_incidents(session, status="open", with_commander=True)` row for
row: the same SQL (columns, commander subquery, order) and the same values, datetimes parsed
as SQLAlchemy parses SQLite's (`datetime.fromisoformat`, None kept). tests/store/
test_quick_list.py holds the two paths to equal rows on awkward data.

It answers only for a SQLite file that exists and whose schema is the one this program's
migrations end at. Anything else (PostgreSQL, a file not yet created, an older schema that
the store would migrate, a newer one it would refuse, a locked or unreadable file, a value
the parse refuses) is None, and the caller takes the normal path, which says whatever there
is to say. It imports no SQLAlchemy, SQLModel or pydantic: that is its reason to exist.
"""
from __future__ import annotations

import pkgutil
import sqlite3
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from playbooks.statuses import OPEN_STATUSES
from store.read_models.summary import IncidentSummary

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# How long to wait on a lock before leaving the read to the store (WAL readers are not
# blocked by writers; this covers a file in the middle of recovery).
BUSY_TIMEOUT_S = 0.2

# store.queries.list_incidents' query for status="open", with_commander=True, as SQLAlchemy
# writes it for SQLite (placeholders for the statuses).
OPEN_INCIDENTS_SQL = (
    "SELECT incident.id, incident.severity, incident.type, incident.environment, incident.status, "
    "incident.title, incident.declared_at, incident.acknowledged_at, incident.response_due_at, "
    "incident.next_update_due_at, incident.service, "
    "(SELECT role_assignment.person FROM role_assignment "
    "WHERE role_assignment.incident_id = incident.id AND role_assignment.role = 'incident_commander' "
    "AND role_assignment.released_at IS NULL "
    "ORDER BY role_assignment.assumed_at DESC, role_assignment.id DESC LIMIT 1 OFFSET 0) "
    "FROM incident WHERE incident.status IN ({statuses}) "
    "ORDER BY incident.severity, incident.declared_at DESC, incident.id DESC"
).format(statuses=", ".join("?" * len(OPEN_STATUSES)))


def head_version() -> int:
    """The schema version the migrations end at, read from their file names (vNNNN_name):
    importing store.migrations would load SQLAlchemy. A test holds it to
    store.migrations.head_version()."""
    return max(int(info.name[1:5]) for info in pkgutil.iter_modules([str(MIGRATIONS)])
               if info.name[:1] == "v" and info.name[1:5].isdigit())


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL (~ expanded as the store expands it); None for
    any other URL, or one with options or escapes the store's URL parser would read."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or any(mark in url for mark in "?#%"):
        return None
    path = url[len(prefix):]
    if not path or path == ":memory:":
        return None
    try:
        return Path(path).expanduser()
    except RuntimeError:  # ~name of a user this host does not know: the store says so
        return None


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def open_incidents(url: str) -> list[IncidentSummary] | None:
    """The open incidents, most severe and then newest first, with their commanders; None
    when this file is not one to read here (see the module's docstring)."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        # mode=rw: never creates a file (the store does that, with its permissions); a read
        # only connection could not open a WAL file whose -shm is gone.
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return None
    try:
        with conn:  # one read transaction: the version and the rows agree
            conn.execute("BEGIN")
            version = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
            if version is None or version[0] != head_version():
                return None
            rows = conn.execute(OPEN_INCIDENTS_SQL, OPEN_STATUSES).fetchall()
        return [IncidentSummary(id_, severity, type_, environment, status, title, _when(declared),
                                _when(acknowledged), _when(response_due), _when(next_update_due), service, commander)
                for (id_, severity, type_, environment, status, title, declared, acknowledged, response_due,
                     next_update_due, service, commander) in rows]
    except (sqlite3.Error, ValueError, TypeError):  # the store's read will say what is wrong
        return None
    finally:
        conn.close()


def severity_counts(rows: list[IncidentSummary]) -> dict[str, int]:
    """The header's counts of the listed incidents: every level, zero or not."""
    counts = {f"SEV-{n}": 0 for n in range(1, 5)}
    for row in rows:
        counts[row.severity] = counts.get(row.severity, 0) + 1
    return counts
