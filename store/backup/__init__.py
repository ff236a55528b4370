"""Backup and restore of the whole store, one module per job:

* sqlite_copy.py - the SQLite file form (the default for a SQLite store): SQLite's online
  backup API, one consistent snapshot taken without stopping anyone; and reading one back.
* json_lines.py  - the portable form (the default for PostgreSQL, `--format json` on SQLite):
  JSON Lines, a versioned header line and then one table row per line, from one snapshot
  transaction, streamed both ways.
* legacy_json.py - the older single-document JSON form (format 1), which still restores.
* columns.py     - the tables and how each column's values are written as JSON and read back.
* recognise.py   - what a file offered to restore is; restoring.py - restore itself.
* target.py, outcome.py - where a backup may be written; the results and the one refusal.

Files are created owner-only (0600), written to a temporary file in the target's folder
and renamed into place, so a reader never sees half a backup; an existing file is
replaced only when asked (`force`). A name ending in `.gz` is gzip-compressed. Either form
restores into either backend.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from store.backup.columns import schema_tables, value_kind
from store.backup.json_lines import dump_json, write_json
from store.backup.outcome import BackupRefused, BackupResult, RestoreResult
from store.backup.recognise import BackupInfo, inspect_backup
from store.backup.restoring import restore
from store.backup.sqlite_copy import backup_sqlite
from store.database import Database

__all__ = ["BackupInfo", "BackupRefused", "BackupResult", "RestoreResult", "backup", "backup_sqlite", "dump_json",
           "inspect_backup", "restore", "schema_tables", "value_kind", "write_json"]


def backup(db: Database, target: Path | str, *, format: str | None = None, force: bool = False,
           now: datetime | None = None) -> BackupResult:
    """Back the store up to `target`: `sqlite` (default for SQLite) or `json` (default for PostgreSQL)."""
    chosen = (format or ("sqlite" if db.is_sqlite else "json")).lower()
    if chosen == "sqlite":
        return backup_sqlite(db, target, force=force)
    if chosen == "json":
        return dump_json(db, target, force=force, now=now)
    raise BackupRefused(f"backup format {format!r} is not known; accepted: sqlite, json")
