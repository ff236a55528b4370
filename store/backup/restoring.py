"""Restore: into an empty store only (no incident, no timeline event). The file's form is
recognised by content (SQLite header, gzip, JSON Lines or the older JSON document); the
program's schema version or an older one is accepted (brought forward through the same
migrations); every row is inserted in one transaction in foreign-key order keeping every
primary key and the hash chain exactly; PostgreSQL's id sequences are moved past the
restored ids; the audit chain is verified. Restored text is data from outside and is checked
as typed text is (playbooks/validation.py). A refused or failed restore writes nothing."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import Connection, MetaData, Table, func, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import DataError, IntegrityError

from playbooks.validation import unsafe_character
from store import migrations
from store.audit import verify_chain
from store.backup.columns import BATCH, KEPT_BY_TARGET, BadValue, TableRows, base_type, decoder, schema_tables
from store.backup.json_lines import open_json_backup
from store.backup.outcome import ACCEPTED_SOURCE, READ_ERRORS, BackupRefused, RestoreResult, plural, reason
from store.backup.recognise import BackupInfo, inspect_backup, open_text
from store.backup.sqlite_copy import bring_forward, plain_sqlite_engine, sqlite_rows, working_copy
from store.database import Database


def _json_rows(reader, tables: list[Table], path: Path) -> Iterator[tuple[Table, Iterator[dict]]]:
    by_name = {table.name: table for table in tables}
    seen: set[str] = set()
    for chunk in reader.tables():
        table = by_name.get(chunk.name)
        if table is None:
            raise BackupRefused(f"{path} holds a table {chunk.name} this schema does not have; {ACCEPTED_SOURCE}")
        expected = {c.name for c in table.columns}
        if set(chunk.columns) != expected or len(chunk.columns) != len(expected):
            extra = sorted(set(chunk.columns) - expected) or sorted(expected - set(chunk.columns))
            raise BackupRefused(f"table {chunk.name} of {path} does not have this schema's columns "
                                f"(differs in {extra[0] if extra else 'a repeated column'}); {ACCEPTED_SOURCE}")
        seen.add(chunk.name)
        if chunk.name in KEPT_BY_TARGET:
            continue
        yield table, _decoded(chunk, path)
    missing = [t.name for t in tables if t.name not in seen and t.name not in KEPT_BY_TARGET]
    if missing:
        raise BackupRefused(f"{path} has no table {missing[0]}; {ACCEPTED_SOURCE}")


def _decoded(chunk: TableRows, path: Path) -> Iterator[dict]:
    try:
        decoders = [decoder(kind) for kind in chunk.kinds]
    except BadValue as exc:
        raise BackupRefused(f"table {chunk.name} of {path} {exc}; {ACCEPTED_SOURCE}") from None
    for number, row in enumerate(chunk.rows, start=1):
        values = {}
        for column, decode, value in zip(chunk.columns, decoders, row):
            try:
                values[column] = decode(value)
            except BadValue as exc:
                raise BackupRefused(f"row {number} of table {chunk.name} in {path}: column {column} {exc}; "
                                    f"{ACCEPTED_SOURCE}") from None
        yield values


def _count(conn: Connection, table: str) -> int:
    return conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def _clear(conn: Connection, tables: list[Table]) -> None:
    """An empty store still has its genesis chain head (and perhaps metric samples): make room."""
    for table in reversed(tables):
        if table.name not in KEPT_BY_TARGET:
            conn.execute(table.delete())


def _insert_all(conn: Connection, sources: Iterable[tuple[Table, Iterator[dict]]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, rows in sources:
        n = 0
        batch: list[dict] = []
        try:
            for row in rows:
                _refuse_unsafe_text(table, row, n + len(batch) + 1)
                batch.append(row)
                if len(batch) >= BATCH:
                    conn.execute(table.insert(), batch)
                    n += len(batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
                n += len(batch)
        except (IntegrityError, DataError) as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise BackupRefused(f"the rows of table {table.name} could not be restored ({detail}); "
                                f"{ACCEPTED_SOURCE}") from None
        counts[table.name] = n
    return counts


def _refuse_unsafe_text(table: Table, row: dict, number: int) -> None:
    """A restored row is text from outside: a terminal escape, C1 control, bidi control or
    line separator planted in a backup would reach every engineer's screen, so it is refused
    as the program refuses it when typed."""
    for column, value in row.items():
        if isinstance(value, str) and (bad := unsafe_character(value)) is not None:
            raise BackupRefused(f"row {number} of table {table.name} holds {bad!r} (U+{ord(bad):04X}) in {column}; "
                                "accepted: text without control characters (newlines and tabs are fine), bidi "
                                "controls or Unicode line separators, as the program writes it")


def _integer_key(table: Table):
    keys = list(table.primary_key.columns)
    if len(keys) == 1 and isinstance(base_type(keys[0]), sqltypes.Integer):
        return keys[0]
    return None


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from sequences, which inserted ids do not move: start each
    after the highest restored id so the next insert cannot collide."""
    quote = conn.dialect.identifier_preparer
    for table in tables:
        key = _integer_key(table)
        if key is None:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": quote.format_table(table), "c": key.name}).scalar()
        if sequence is None:
            continue
        highest = conn.execute(select(func.max(key))).scalar()
        if highest is None:
            conn.execute(text("SELECT setval(CAST(:s AS regclass), 1, false)"), {"s": sequence})
        else:
            conn.execute(text("SELECT setval(CAST(:s AS regclass), :v, true)"), {"s": sequence, "v": highest})


def _refuse_unless_empty(conn: Connection) -> None:
    incidents = _count(conn, "incident")
    if incidents:
        raise BackupRefused(f"the target store already holds {plural(incidents, 'incident')}; accepted: an empty "
                            "store (a new --db)")
    events = _count(conn, "timeline_event")
    if events:
        raise BackupRefused(f"the target store already holds {plural(events, 'timeline event')}; accepted: an "
                            "empty store (a new --db)")


def _load(db: Database, sources: Callable[[], Iterable[tuple[Table, Iterator[dict]]]],
          tables: list[Table]) -> dict[str, int]:
    """Everything in one transaction under the store's write lock: refused, failed or
    interrupted, nothing is kept."""
    try:
        with db.write() as session:
            conn = session.connection()
            _refuse_unless_empty(conn)
            _clear(conn, tables)
            counts = _insert_all(conn, sources())
            for name in sorted(KEPT_BY_TARGET):  # the target's own rows, counted so totals match the backup's
                counts[name] = _count(conn, name)
            counts = {t.name: counts[t.name] for t in tables if t.name in counts}
            if not db.is_sqlite:
                _reset_sequences(conn, tables)
    except (IntegrityError, DataError) as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise BackupRefused(f"the backup could not be restored ({detail}); {ACCEPTED_SOURCE}") from None
    return counts


def _json_into_sqlite(info: BackupInfo, work: Path) -> Path:
    """An older JSON backup: load it into a private SQLite file at its own schema version, so
    the program's migrations can bring it forward like any store."""
    copy = work / "restore.db"
    engine = plain_sqlite_engine(copy)
    try:
        with engine.begin() as conn:
            migrations.migrate(conn, target=info.schema_version)
            reflected = MetaData()
            reflected.reflect(conn)
            # The schema's tables only: the full-text index (incident_text and its shadow
            # tables, schema 8 on) is kept by its triggers; emptying a shadow table by hand
            # corrupts it ("database disk image is malformed").
            known = {table.name for table in schema_tables()}
            tables = [t for t in reflected.sorted_tables if t.name in known]
            for table in reversed(tables):
                if table.name not in KEPT_BY_TARGET:
                    conn.execute(table.delete())
            with open_text(info.path, info.compressed) as handle:
                reader = open_json_backup(handle, str(info.path))
                reader.read_header()

                def chunks():
                    for chunk in reader.tables():
                        table = reflected.tables.get(chunk.name)
                        if table is None or set(chunk.columns) != {c.name for c in table.columns}:
                            raise BackupRefused(f"table {chunk.name} of {info.path} does not match schema version "
                                                f"{info.schema_version}; {ACCEPTED_SOURCE}")
                        if chunk.name not in KEPT_BY_TARGET:
                            yield table, _decoded(chunk, info.path)
                _insert_all(conn, chunks())
    except READ_ERRORS as exc:
        raise BackupRefused(f"{info.path} cannot be read ({reason(exc)}); {ACCEPTED_SOURCE}") from None
    finally:
        engine.dispose()
    return copy



def restore(db: Database, source: Path | str) -> RestoreResult:
    """Restore a backup (SQLite file or JSON, gzip'd or not) into the empty store `db`, then
    verify the audit chain. Refusals are one sentence and write nothing."""
    info = inspect_backup(source)
    tables = schema_tables()
    head = migrations.head_version()
    with tempfile.TemporaryDirectory(prefix="ir-restore-") as folder:
        work = Path(folder)
        with db.read() as session:  # cheap refusal before any file work
            _refuse_unless_empty(session.connection())
        try:
            if info.format == "json" and info.schema_version == head:
                with open_text(info.path, info.compressed) as handle:
                    reader = open_json_backup(handle, str(info.path))
                    reader.read_header()
                    counts = _load(db, lambda: _json_rows(reader, tables, info.path), tables)
                version, migrated = head, None
            else:
                copy = _json_into_sqlite(info, work) if info.format == "json" else working_copy(info.path, info.compressed, work)
                version, migrated = bring_forward(copy)
                if info.format == "json":
                    version = info.schema_version
                counts = _load(db, lambda: sqlite_rows(copy, tables), tables)
        except READ_ERRORS as exc:
            raise BackupRefused(f"{info.path} cannot be read ({reason(exc)}); {ACCEPTED_SOURCE}") from None
    with db.read() as session:
        audit = verify_chain(session)
    return RestoreResult(info.path, info.format, version, migrated, counts, info.bytes, audit)
