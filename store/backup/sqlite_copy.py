"""The SQLite file form of a backup: SQLite's online backup API copies the live database in
one step, so the copy is one consistent snapshot, includes what is still in the write-ahead
log, and never waits for or blocks the engineers writing at the same time. The copy is
switched to a rollback journal (one self-contained file) and checked with
`PRAGMA integrity_check` before it is published. Restoring reads a private, checked copy,
brought forward by the program's migrations when it is older."""
from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

from sqlalchemy import Table, create_engine, inspect, select

from store import migrations
from store.backup.columns import BATCH, KEPT_BY_TARGET, pk_order, schema_tables
from store.backup.outcome import (
    ACCEPTED_SOURCE, READ_ERRORS, BackupRefused, BackupResult, check_version, reason,
)
from store.backup.target import check_target, publish
from store.database import Database
from store.files import temporary_beside

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60


def sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    order = {table.name: i for i, table in enumerate(schema_tables())}
    # The schema's tables only: the full-text index (incident_text and its shadow tables) is
    # derived data, rebuilt by its triggers as rows are restored, so it is not counted.
    names = sorted((name for name in names if name in order), key=lambda name: order[name])
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def sqlite_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def backup_sqlite(db: Database, target_path: Path | str, *, force: bool = False) -> BackupResult:
    """Copy the live SQLite store with SQLite's online backup API (one consistent snapshot,
    write-ahead log included) into an owner-only file published atomically."""
    if not db.is_sqlite:
        raise BackupRefused("a SQLite backup needs a SQLite store; accepted: --format json for PostgreSQL")
    target = check_target(db, Path(target_path), force)
    compress = target.name.endswith(".gz")
    with ExitStack() as stack:
        tmp = stack.enter_context(temporary_beside(target))
        raw = tmp
        if compress:  # copy, then pack the copy (in a private folder beside the target)
            work = stack.enter_context(tempfile.TemporaryDirectory(prefix=".ir-backup-", dir=target.parent))
            raw = Path(work) / "copy.db"
        source = sqlite3.connect(str(db.sqlite_path), timeout=BUSY_TIMEOUT_S)
        try:
            copy = sqlite3.connect(str(raw))
            try:
                # One step (pages=-1): the whole copy is read in a single read transaction, so it is
                # one consistent state even while other processes keep committing.
                source.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    first = str(check).strip().splitlines()[-1].strip()
                    raise BackupRefused(f"the copy failed SQLite's integrity check ({first}); accepted: run "
                                        "`PRAGMA integrity_check` on the store and repair it first")
                counts = sqlite_counts(copy)
                version = sqlite_version(copy)
            finally:
                copy.close()
        except sqlite3.Error as exc:
            raise BackupRefused(f"the store could not be copied (SQLite: {exc}); accepted: a readable store and a "
                                "writable target folder") from None
        finally:
            source.close()
        if compress:
            os.chmod(raw, 0o600)
            with open(raw, "rb") as plain, gzip.open(tmp, "wb") as packed:
                shutil.copyfileobj(plain, packed, 1 << 20)
        publish(tmp, target, force)
    return BackupResult(target, "sqlite", version, counts, target.stat().st_size)


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


def peek_sqlite_version(path: Path) -> int | None:
    try:
        conn = sqlite3.connect(_uri(path) + "?mode=ro&immutable=1", uri=True)
        try:
            has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
            # Absent here, it may still be in a write-ahead log beside it: the working copy decides.
            return sqlite_version(conn) if has else None
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # a damaged name is not UTF-8
        raise BackupRefused(f"{path} is damaged (SQLite: {reason(exc)}); {ACCEPTED_SOURCE}") from None


# -- restore ---------------------------------------------------------------------------------------


def plain_sqlite_engine(path: Path):
    return create_engine(f"sqlite:///{path}")


def working_copy(path: Path, compressed: bool, work: Path) -> Path:
    """A private, checked copy of a SQLite backup (decompressed, write-ahead log folded in)."""
    copy = work / "restore.db"
    try:
        if compressed:
            with gzip.open(path, "rb") as packed, open(copy, "wb") as plain:
                shutil.copyfileobj(packed, plain, 1 << 20)
        else:
            source = sqlite3.connect(_uri(path) + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            target = sqlite3.connect(str(copy))
            try:
                source.backup(target, pages=-1)
            finally:
                target.close()
                source.close()
    except READ_ERRORS as exc:
        raise BackupRefused(f"{path} cannot be read ({reason(exc)}); {ACCEPTED_SOURCE}") from None
    except sqlite3.Error as exc:
        raise BackupRefused(f"{path} is damaged (SQLite: {exc}); {ACCEPTED_SOURCE}") from None
    try:
        conn = sqlite3.connect(str(copy))
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchmany(3)]
            if problems != ["ok"]:
                first = str(problems[0]).strip().splitlines()[-1].strip()  # SQLite puts several on one row
                raise BackupRefused(f"{path} is damaged (SQLite's integrity check: {first}); "
                                    f"{ACCEPTED_SOURCE}")
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone():
                raise BackupRefused(f"{path} is a SQLite database but not an incident-response store; "
                                    f"{ACCEPTED_SOURCE}")
            check_version(path, sqlite_version(conn))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupRefused(f"{path} is damaged (SQLite: {exc}); {ACCEPTED_SOURCE}") from None
    return copy


def bring_forward(copy: Path) -> tuple[int, int | None]:
    """Run the program's migrations on the private copy; (backup's version, new version or None)."""
    engine = plain_sqlite_engine(copy)
    try:
        with engine.begin() as conn:
            before = migrations.current_version(conn)
            if before == migrations.head_version():
                return before, None
            return before, migrations.migrate(conn)
    finally:
        engine.dispose()


def sqlite_rows(copy: Path, tables: list[Table]) -> Iterator[tuple[Table, Iterator[dict]]]:
    engine = plain_sqlite_engine(copy)
    try:
        with engine.connect() as conn:
            present = inspect(conn)
            for table in tables:
                if table.name in KEPT_BY_TARGET:
                    continue
                if not present.has_table(table.name):
                    raise BackupRefused(f"the backup has no table {table.name}; {ACCEPTED_SOURCE}")
                have = {c["name"] for c in present.get_columns(table.name)}
                missing = [c.name for c in table.columns if c.name not in have]
                if missing:
                    raise BackupRefused(f"table {table.name} of the backup has no column {missing[0]}; "
                                        f"{ACCEPTED_SOURCE}")
                result = conn.execute(select(*table.columns).order_by(*pk_order(table))
                                      .execution_options(yield_per=BATCH))
                yield table, (dict(row._mapping) for row in result)
    finally:
        engine.dispose()
