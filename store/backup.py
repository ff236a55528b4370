"""Backup and restore of the whole store.

Two forms:

* SQLite file (the default for a SQLite store): SQLite's online backup API copies the
  live database in one step, so the copy is one consistent snapshot, includes what is
  still in the write-ahead log, and never waits for or blocks the engineers writing at
  the same time. The copy is switched to a rollback journal (one self-contained file)
  and checked with `PRAGMA integrity_check` before it is published.

* Portable JSON (the form for PostgreSQL; `--format json` on SQLite too): every table of
  the schema, every row, read in one snapshot transaction and streamed, so a big store
  never sits in memory. A name ending in `.gz` is gzip-compressed. The document:

    {"format": "incident-response backup", "format_version": 1,
     "schema_version": 4,                      # the store's migration version
     "written_at": "2024-01-18T14:30:00Z", "source": "sqlite" | "postgresql",
     "tables": [                               # in foreign-key order (parents first)
       {"name": "incident",
        "columns": ["id", "title", ...],
        "types": ["string", "string", ...],   # string|integer|float|boolean|datetime|date|json
        "rows": [["INC-2024-0118-001", "Checkout down", ...], ...],   # one row per line
        "row_count": 3},
       ...],
     "row_counts": {"incident": 3, ...}}

  Values: datetimes are naive UTC written as ISO 8601 with microseconds and a Z
  ("2024-01-18T14:30:00.000000Z"); floats are written exactly (shortest repr; NaN and
  infinities as the strings "NaN", "Infinity", "-Infinity"); text as is; null is null.
  The header keys come before "tables", and "name", "columns", "types" before "rows"
  (the reader streams and relies on that order).

Files are created owner-only (0600), written to a temporary file in the target's folder
and renamed into place, so a reader never sees half a backup; an existing file is
replaced only when asked (`force`).

Restore goes into an empty store only (no incident, no timeline event), recognises the
form by content (SQLite header, gzip, JSON), accepts the program's schema version or an
older one (brought forward through the same migrations), inserts every row in one
transaction in foreign-key order keeping every primary key and the hash chain exactly,
moves PostgreSQL's id sequences past the restored ids, and verifies the audit chain.
Either form restores into either backend. A refused or failed restore writes nothing.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import sqlite3
import tempfile
import zlib
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from sqlalchemy import (
    Connection, MetaData, Table, create_engine, func, inspect, select, text,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import SQLModel

from store import migrations
from store.audit import AuditResult, verify_chain
from store.database import Database
from store.errors import StoreError
from store.files import FileRefused, check_target, publish, temporary_beside as _temporary_beside
from store.paths import user_path
from playbooks.validation import unsafe_character

FORMAT_NAME = "incident-response backup"
FORMAT_VERSION = 1
SQLITE_HEADER = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
BATCH = 1000
BUSY_TIMEOUT_S = 60
# The schema version row is the target's own (it is already at the program's version);
# a backup's version is its header's (JSON) or its schema_version row (SQLite).
KEPT_BY_TARGET = frozenset({"schema_version"})
ACCEPTED_SOURCE = "accepted: a whole file written by `incident-response backup`"


class BackupRefused(StoreError):
    """A backup or restore the program will not do; the message is one sentence. Nothing was written."""


# -- the tables ------------------------------------------------------------------------------------

def schema_tables() -> list[Table]:
    """Every table of the schema, parents before children (new models are included as they appear)."""
    import store.models  # noqa: F401 - registers every table on SQLModel.metadata

    return list(SQLModel.metadata.sorted_tables)


def _base_type(column) -> sqltypes.TypeEngine:
    kind = column.type
    while isinstance(kind, sqltypes.TypeDecorator):
        kind = kind.impl_instance
    return kind


def value_kind(column) -> str:
    """The JSON form's name for a column's type."""
    kind = _base_type(column)
    # Order matters: DateTime before Date, Boolean and Float before the broader classes.
    for cls, name in ((sqltypes.DateTime, "datetime"), (sqltypes.Date, "date"), (sqltypes.Boolean, "boolean"),
                      (sqltypes.Integer, "integer"), (sqltypes.Float, "float"), (sqltypes.JSON, "json"),
                      (sqltypes.String, "string"), (sqltypes.NullType, "string")):
        if isinstance(kind, cls):
            return name
    raise TypeError(f"column {column.table.name}.{column.name} has type {kind!r}, which the backup cannot write")


def _encode(kind: str) -> Callable[[Any], Any]:
    if kind == "datetime":
        def encode_datetime(value):
            if value is None:
                return None
            if value.tzinfo is not None:
                value = value.astimezone(timezone.utc).replace(tzinfo=None)
            return value.isoformat(timespec="microseconds") + "Z"
        return encode_datetime
    if kind == "date":
        return lambda value: None if value is None else value.isoformat()
    if kind == "float":
        def encode_float(value):
            if value is None or math.isfinite(value):
                return value
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return encode_float
    if kind == "boolean":
        return lambda value: None if value is None else bool(value)
    return lambda value: value


class _BadValue(ValueError):
    pass


def _decode(kind: str) -> Callable[[Any], Any]:
    def check(ok: bool, value: Any, what: str) -> None:
        if not ok:
            raise _BadValue(f"holds {value!r}, not {what}")

    if kind == "datetime":
        def decode_datetime(value):
            if value is None:
                return None
            check(isinstance(value, str), value, "an ISO 8601 time")
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise _BadValue(f"holds {value!r}, not an ISO 8601 time") from None
            if moment.tzinfo is not None:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return moment
        return decode_datetime
    if kind == "date":
        def decode_date(value):
            if value is None:
                return None
            try:
                return date.fromisoformat(value)
            except (TypeError, ValueError):
                raise _BadValue(f"holds {value!r}, not a date") from None
        return decode_date
    if kind == "integer":
        def decode_integer(value):
            check(value is None or (isinstance(value, int) and not isinstance(value, bool)), value, "a whole number")
            return value
        return decode_integer
    if kind == "float":
        def decode_float(value):
            if value is None:
                return None
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return float(value)
            check(isinstance(value, (int, float)) and not isinstance(value, bool), value, "a number")
            return float(value)
        return decode_float
    if kind == "boolean":
        def decode_boolean(value):
            check(value is None or isinstance(value, bool), value, "true or false")
            return value
        return decode_boolean
    if kind == "string":
        def decode_string(value):
            check(value is None or isinstance(value, str), value, "text")
            return value
        return decode_string
    if kind == "json":
        return lambda value: value
    raise _BadValue(f"has the unknown type {kind!r}")


def _pk_order(table: Table) -> list:
    return list(table.primary_key.columns) or list(table.columns)


# -- results ---------------------------------------------------------------------------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    format: str  # "sqlite" | "json"
    schema_version: int
    rows: dict[str, int]
    bytes: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def sentence(self) -> str:
        kind = "SQLite" if self.format == "sqlite" else "JSON"
        return (f"Backed up {_plural(self.rows.get('incident', 0), 'incident')}, "
                f"{_plural(self.rows.get('timeline_event', 0), 'timeline event')} "
                f"({_plural(self.total_rows, 'row')} in {_plural(len(self.rows), 'table')}, schema {self.schema_version}) "
                f"to {self.path} ({kind}, {self.bytes} bytes)")


@dataclass(frozen=True)
class RestoreResult:
    source: Path
    format: str  # "sqlite" | "json"
    schema_version: int  # the backup's
    migrated_to: int | None  # the program's version when the backup was older
    rows: dict[str, int]
    bytes: int
    audit: AuditResult = field(compare=False)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def sentence(self) -> str:
        kind = "SQLite" if self.format == "sqlite" else "JSON"
        upgraded = f", upgraded to schema {self.migrated_to}" if self.migrated_to else ""
        return (f"Restored {_plural(self.rows.get('incident', 0), 'incident')}, "
                f"{_plural(self.rows.get('timeline_event', 0), 'timeline event')} "
                f"({_plural(self.total_rows, 'row')} in {_plural(len(self.rows), 'table')}) from {self.source} "
                f"({kind}, {self.bytes} bytes, schema {self.schema_version}{upgraded})")


# -- writing a backup ------------------------------------------------------------------------------

def _check_target(db: Database, target: Path, force: bool) -> Path:
    target = user_path(target, "backup file")
    try:  # a symbolic link at the target is never written through, --force or not
        check_target(target, force=True)
    except FileRefused as exc:
        raise BackupRefused(str(exc)) from None
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder; accepted: the path of a backup file to write")
    if not target.parent.is_dir():
        raise BackupRefused(f"the folder {target.parent} does not exist; accepted: a file in an existing folder")
    if db.sqlite_path is not None:
        live = Path(db.sqlite_path).expanduser().resolve()
        resolved = target.resolve()
        if resolved in (live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm"),
                        live.with_name(live.name + "-journal")):
            raise BackupRefused(f"{target} is the live database itself; accepted: another file")
    if target.exists() and not force:
        raise BackupRefused(f"{target} already exists; accepted: another file name, or --force to replace it")
    return target


def _publish(tmp: Path, target: Path, force: bool) -> None:
    """Move the finished temporary file into place atomically (never over a file unless forced,
    never through a link): store/files.py, the one writer every document shares."""
    try:
        publish(tmp, target, force)
    except FileRefused as exc:
        raise BackupRefused(str(exc)) from None


def backup(db: Database, target: Path | str, *, format: str | None = None, force: bool = False,
           now: datetime | None = None) -> BackupResult:
    """Back the store up to `target`: `sqlite` (default for SQLite) or `json` (default for PostgreSQL)."""
    chosen = (format or ("sqlite" if db.is_sqlite else "json")).lower()
    if chosen == "sqlite":
        return backup_sqlite(db, target, force=force)
    if chosen == "json":
        return dump_json(db, target, force=force, now=now)
    raise BackupRefused(f"backup format {format!r} is not known; accepted: sqlite, json")


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    order = {table.name: i for i, table in enumerate(schema_tables())}
    # The schema's tables only: the full-text index (incident_text and its shadow tables) is
    # derived data, rebuilt by its triggers as rows are restored, so it is not counted.
    names = sorted((name for name in names if name in order), key=lambda name: order[name])
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def _sqlite_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def backup_sqlite(db: Database, target_path: Path | str, *, force: bool = False) -> BackupResult:
    """Copy the live SQLite store with SQLite's online backup API (one consistent snapshot,
    write-ahead log included) into an owner-only file published atomically."""
    if not db.is_sqlite:
        raise BackupRefused("a SQLite backup needs a SQLite store; accepted: --format json for PostgreSQL")
    target = _check_target(db, Path(target_path), force)
    compress = target.name.endswith(".gz")
    with ExitStack() as stack:
        tmp = stack.enter_context(_temporary_beside(target))
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
                counts = _sqlite_counts(copy)
                version = _sqlite_version(copy)
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
        _publish(tmp, target, force)
    return BackupResult(target, "sqlite", version, counts, target.stat().st_size)


@contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    """A read transaction that sees one state of the whole store."""
    with db.read_engine.connect() as conn:
        if not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def write_json(conn: Connection, tables: Iterable[Table], out: TextIO, *, schema_version: int, source: str,
               written_at: datetime) -> dict[str, int]:
    """Stream every row of `tables` as the documented JSON form; returns the row counts."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "schema_version": schema_version,
              "written_at": _encode("datetime")(written_at).replace(".000000Z", "Z"), "source": source}
    out.write("{" + dumps(header)[1:-1] + ',\n"tables":[\n')
    counts: dict[str, int] = {}
    for t_index, table in enumerate(tables):
        columns = list(table.columns)
        kinds = [value_kind(c) for c in columns]
        encoders = [_encode(k) for k in kinds]
        out.write(("," if t_index else "") + '{"name":' + dumps(table.name) + ',"columns":'
                  + dumps([c.name for c in columns]) + ',"types":' + dumps(kinds) + ',"rows":[')
        n = 0
        result = conn.execute(select(*columns).order_by(*_pk_order(table)).execution_options(yield_per=BATCH))
        for row in result:
            out.write(("\n" if n == 0 else ",\n") + dumps([enc(v) for enc, v in zip(encoders, row)]))
            n += 1
        out.write(("\n" if n else "") + '],"row_count":' + str(n) + "}\n")
        counts[table.name] = n
    out.write('],\n"row_counts":' + dumps(counts) + "}\n")
    return counts


def dump_json(db: Database, target_path: Path | str, *, force: bool = False,
              now: datetime | None = None) -> BackupResult:
    """Write every table and row as portable JSON (gzip when the name ends in .gz) from one snapshot."""
    target = _check_target(db, Path(target_path), force)
    written_at = now or datetime.now(timezone.utc).replace(tzinfo=None)
    with _temporary_beside(target) as tmp:
        opener = (lambda: gzip.open(tmp, "wt", encoding="utf-8")) if target.name.endswith(".gz") else (
            lambda: open(tmp, "w", encoding="utf-8"))
        try:
            with _snapshot(db) as conn, opener() as out:
                version = migrations.current_version(conn)
                counts = write_json(conn, schema_tables(), out, schema_version=version,
                                    source="sqlite" if db.is_sqlite else "postgresql", written_at=written_at)
        except OSError as exc:
            raise BackupRefused(f"{target} could not be written ({exc.strerror or exc}); accepted: a writable folder "
                                "with free space") from None
        _publish(tmp, target, force)
    return BackupResult(target, "json", version, counts, target.stat().st_size)


# -- reading the JSON form as a stream -------------------------------------------------------------

class _JsonStream:
    """Just enough of an incremental JSON reader for the backup's layout: values are decoded
    one at a time from a buffer refilled from the file, so rows never pile up in memory."""

    CHUNK = 1 << 16
    MAX_VALUE = 64 << 20  # one value (a row) larger than this is taken as damage, not as a long row

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream, self.name = stream, name
        self.buf, self.pos, self.consumed, self.eof = "", 0, 0, False
        self.decoder = json.JSONDecoder()

    def refuse(self, problem: str) -> BackupRefused:
        where = self.consumed + self.pos
        return BackupRefused(f"{self.name} is not a readable backup ({problem} at character {where}); {ACCEPTED_SOURCE}")

    def _fill(self, size: int | None = None) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(size or self.CHUNK)
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            self.consumed += self.pos
            self.buf, self.pos = self.buf[self.pos:], 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf) or not self._fill():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def unexpected(self, found: str, what: str) -> BackupRefused:
        return self.refuse("the file ends early" if not found else f"expected {what} but found {found!r}")

    def expect(self, char: str, what: str) -> None:
        found = self.peek()
        if found != char:
            raise self.unexpected(found, what)
        self.pos += 1

    def value(self) -> Any:
        if not self.peek():
            raise self.refuse("the file ends early")
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Perhaps the value goes on in the next chunk; a value past MAX_VALUE is damage.
                if len(self.buf) - self.pos < self.MAX_VALUE and self._fill(max(self.CHUNK, len(self.buf))):
                    continue
                early = self.eof and (exc.pos >= len(self.buf) - 1 or exc.msg.startswith("Unterminated"))
                raise self.refuse("the file ends early" if early else exc.msg[:1].lower() + exc.msg[1:]) from None
            if end >= len(self.buf) and not self.eof and self._fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def key(self) -> str:
        key = self.value()
        if not isinstance(key, str):
            raise self.refuse("expected a key")
        self.expect(":", "':'")
        return key

    def comma_or(self, close: str) -> bool:
        """After a member: True if another follows, False at the closing bracket."""
        found = self.peek()
        if found == ",":
            self.pos += 1
            return True
        if found == close:
            self.pos += 1
            return False
        raise self.unexpected(found, f"',' or {close!r}")


@dataclass
class _JsonTable:
    name: str
    columns: list[str]
    kinds: list[str]
    rows: Iterator[list]


class JsonBackupReader:
    """Reads the header, then yields each table with an iterator over its rows."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.json = _JsonStream(stream, name)
        self.name = name
        self.header: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def read_header(self) -> dict[str, Any]:
        j = self.json
        j.expect("{", "a JSON object")
        key = None
        while j.peek() != "}":
            key = j.key()
            if key == "tables":
                break
            self.header[key] = j.value()
            if not j.comma_or("}"):
                break
        else:
            j.pos += 1
        if self.header.get("format") != FORMAT_NAME:
            raise BackupRefused(f"{self.name} is JSON but not an incident-response backup (its \"format\" is "
                                f"{self.header.get('format')!r}); {ACCEPTED_SOURCE}")
        version = self.header.get("format_version")
        if version != FORMAT_VERSION:
            raise BackupRefused(f"{self.name} is a backup in format version {version!r}; accepted: format version "
                                f"{FORMAT_VERSION} (a newer file needs a newer incident-response)")
        schema = self.header.get("schema_version")
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise BackupRefused(f"{self.name} names no schema version before its tables; {ACCEPTED_SOURCE}")
        if key != "tables":
            raise j.refuse("no \"tables\" member")
        return self.header

    def tables(self) -> Iterator[_JsonTable]:
        j = self.json
        j.expect("[", "the list of tables")
        if j.peek() == "]":
            j.pos += 1
        else:
            while True:
                yield from self._table()
                if not j.comma_or("]"):
                    break
        # What follows the tables: more header members (row_counts), then the end of the file.
        while j.comma_or("}"):
            key = j.key()
            self.header[key] = j.value()
        if j.peek():
            raise j.refuse("more data after the end of the backup")
        declared = self.header.get("row_counts")
        if declared is not None and declared != self.counts:
            raise BackupRefused(f"{self.name} is not a whole backup (its row counts {declared} do not match the rows "
                                f"it holds {self.counts}); {ACCEPTED_SOURCE}")

    def _table(self) -> Iterator[_JsonTable]:
        j = self.json
        j.expect("{", "a table object")
        meta: dict[str, Any] = {}
        table: _JsonTable | None = None
        while True:
            key = j.key()
            if key == "rows":
                name, columns, kinds = meta.get("name"), meta.get("columns"), meta.get("types")
                if not (isinstance(name, str) and isinstance(columns, list) and isinstance(kinds, list)
                        and len(columns) == len(kinds) and all(isinstance(c, str) for c in columns)):
                    raise j.refuse("a table without \"name\", \"columns\" and \"types\" before its rows")
                if name in self.counts:
                    raise j.refuse(f"table {name} twice")
                self.counts[name] = 0
                table = _JsonTable(name, columns, kinds, self._rows(name, len(columns)))
                yield table
                for _ in table.rows:  # whatever the reader did not take
                    pass
            else:
                meta[key] = j.value()
            if not j.comma_or("}"):
                break
        if table is None:
            raise j.refuse(f"table {meta.get('name')!r} without rows")
        if "row_count" in meta and meta["row_count"] != self.counts[table.name]:
            raise BackupRefused(f"{self.name} is not a whole backup (table {table.name} declares {meta['row_count']} "
                                f"rows but holds {self.counts[table.name]}); {ACCEPTED_SOURCE}")

    def _rows(self, name: str, width: int) -> Iterator[list]:
        j = self.json
        j.expect("[", "the rows of " + name)
        if j.peek() == "]":
            j.pos += 1
            return
        while True:
            row = j.value()
            if not isinstance(row, list) or len(row) != width:
                raise BackupRefused(f"{self.name}: row {self.counts[name] + 1} of table {name} is not a list of "
                                    f"{width} values; {ACCEPTED_SOURCE}")
            self.counts[name] += 1
            yield row
            if not j.comma_or("]"):
                return


# -- finding out what a file is --------------------------------------------------------------------

@dataclass(frozen=True)
class BackupInfo:
    path: Path
    format: str  # "sqlite" | "json"
    compressed: bool
    schema_version: int | None  # None: not known until decompressed (a gzip'd SQLite file)
    bytes: int


def _open_text(path: Path, compressed: bool) -> TextIO:
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError)


def inspect_backup(source: Path | str) -> BackupInfo:
    """What `source` is (SQLite file or JSON, compressed or not) and its schema version;
    refuses, in one sentence, anything that is not a backup this program can restore."""
    path = user_path(source, "backup file")
    if not path.exists():
        raise BackupRefused(f"there is no file {path}; {ACCEPTED_SOURCE}")
    if path.is_dir():
        raise BackupRefused(f"{path} is a folder; {ACCEPTED_SOURCE}")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            start = handle.read(16)
        compressed = start.startswith(GZIP_MAGIC)
        if compressed:
            with gzip.open(path, "rb") as handle:
                start = handle.read(16)
    except READ_ERRORS as exc:
        raise BackupRefused(f"{path} cannot be read ({_reason(exc)}); {ACCEPTED_SOURCE}") from None
    if start.startswith(SQLITE_HEADER):
        version = None if compressed else _peek_sqlite_version(path)
        if version is not None:
            _check_version(path, version)
        return BackupInfo(path, "sqlite", compressed, version, size)
    if start.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"{":
        try:
            with _open_text(path, compressed) as handle:
                header = JsonBackupReader(handle, str(path)).read_header()
        except READ_ERRORS as exc:
            raise BackupRefused(f"{path} cannot be read ({_reason(exc)}); {ACCEPTED_SOURCE}") from None
        _check_version(path, header["schema_version"])
        return BackupInfo(path, "json", compressed, header["schema_version"], size)
    raise BackupRefused(f"{path} is neither a SQLite backup nor a JSON backup; {ACCEPTED_SOURCE}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed file ends early"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check_version(path: Path, version: int) -> None:
    head = migrations.head_version()
    if version > head:
        raise BackupRefused(f"{path} is a backup of schema version {version}, newer than this program's {head}; "
                            f"accepted: a backup of schema {head} or older (or upgrade incident-response)")


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


def _peek_sqlite_version(path: Path) -> int | None:
    try:
        conn = sqlite3.connect(_uri(path) + "?mode=ro&immutable=1", uri=True)
        try:
            has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
            # Absent here, it may still be in a write-ahead log beside it: the working copy decides.
            return _sqlite_version(conn) if has else None
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # a damaged name is not UTF-8
        raise BackupRefused(f"{path} is damaged (SQLite: {_reason(exc)}); {ACCEPTED_SOURCE}") from None


# -- restore ---------------------------------------------------------------------------------------

def _plain_sqlite_engine(path: Path):
    return create_engine(f"sqlite:///{path}")


def _working_copy(info: BackupInfo, work: Path) -> Path:
    """A private, checked copy of a SQLite backup (decompressed, write-ahead log folded in)."""
    copy = work / "restore.db"
    try:
        if info.compressed:
            with gzip.open(info.path, "rb") as packed, open(copy, "wb") as plain:
                shutil.copyfileobj(packed, plain, 1 << 20)
        else:
            source = sqlite3.connect(_uri(info.path) + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            target = sqlite3.connect(str(copy))
            try:
                source.backup(target, pages=-1)
            finally:
                target.close()
                source.close()
    except READ_ERRORS as exc:
        raise BackupRefused(f"{info.path} cannot be read ({_reason(exc)}); {ACCEPTED_SOURCE}") from None
    except sqlite3.Error as exc:
        raise BackupRefused(f"{info.path} is damaged (SQLite: {exc}); {ACCEPTED_SOURCE}") from None
    try:
        conn = sqlite3.connect(str(copy))
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchmany(3)]
            if problems != ["ok"]:
                first = str(problems[0]).strip().splitlines()[-1].strip()  # SQLite puts several on one row
                raise BackupRefused(f"{info.path} is damaged (SQLite's integrity check: {first}); "
                                    f"{ACCEPTED_SOURCE}")
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone():
                raise BackupRefused(f"{info.path} is a SQLite database but not an incident-response store; "
                                    f"{ACCEPTED_SOURCE}")
            _check_version(info.path, _sqlite_version(conn))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupRefused(f"{info.path} is damaged (SQLite: {exc}); {ACCEPTED_SOURCE}") from None
    return copy


def _bring_forward(copy: Path) -> tuple[int, int | None]:
    """Run the program's migrations on the private copy; (backup's version, new version or None)."""
    engine = _plain_sqlite_engine(copy)
    try:
        with engine.begin() as conn:
            before = migrations.current_version(conn)
            if before == migrations.head_version():
                return before, None
            return before, migrations.migrate(conn)
    finally:
        engine.dispose()


def _sqlite_rows(copy: Path, tables: list[Table]) -> Iterator[tuple[Table, Iterator[dict]]]:
    engine = _plain_sqlite_engine(copy)
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
                result = conn.execute(select(*table.columns).order_by(*_pk_order(table))
                                      .execution_options(yield_per=BATCH))
                yield table, (dict(row._mapping) for row in result)
    finally:
        engine.dispose()


def _json_rows(reader: JsonBackupReader, tables: list[Table], path: Path) -> Iterator[tuple[Table, Iterator[dict]]]:
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


def _decoded(chunk: _JsonTable, path: Path) -> Iterator[dict]:
    try:
        decoders = [_decode(kind) for kind in chunk.kinds]
    except _BadValue as exc:
        raise BackupRefused(f"table {chunk.name} of {path} {exc}; {ACCEPTED_SOURCE}") from None
    for number, row in enumerate(chunk.rows, start=1):
        values = {}
        for column, decode, value in zip(chunk.columns, decoders, row):
            try:
                values[column] = decode(value)
            except _BadValue as exc:
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
    if len(keys) == 1 and isinstance(_base_type(keys[0]), sqltypes.Integer):
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
        raise BackupRefused(f"the target store already holds {_plural(incidents, 'incident')}; accepted: an empty "
                            "store (a new --db)")
    events = _count(conn, "timeline_event")
    if events:
        raise BackupRefused(f"the target store already holds {_plural(events, 'timeline event')}; accepted: an "
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
    engine = _plain_sqlite_engine(copy)
    try:
        with engine.begin() as conn:
            migrations.migrate(conn, target=info.schema_version)
            reflected = MetaData()
            reflected.reflect(conn)
            tables = [t for t in reflected.sorted_tables]
            for table in reversed(tables):
                if table.name not in KEPT_BY_TARGET:
                    conn.execute(table.delete())
            with _open_text(info.path, info.compressed) as handle:
                reader = JsonBackupReader(handle, str(info.path))
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
        raise BackupRefused(f"{info.path} cannot be read ({_reason(exc)}); {ACCEPTED_SOURCE}") from None
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
                with _open_text(info.path, info.compressed) as handle:
                    reader = JsonBackupReader(handle, str(info.path))
                    reader.read_header()
                    counts = _load(db, lambda: _json_rows(reader, tables, info.path), tables)
                version, migrated = head, None
            else:
                copy = _json_into_sqlite(info, work) if info.format == "json" else _working_copy(info, work)
                version, migrated = _bring_forward(copy)
                if info.format == "json":
                    version = info.schema_version
                counts = _load(db, lambda: _sqlite_rows(copy, tables), tables)
        except READ_ERRORS as exc:
            raise BackupRefused(f"{info.path} cannot be read ({_reason(exc)}); {ACCEPTED_SOURCE}") from None
    with db.read() as session:
        audit = verify_chain(session)
    return RestoreResult(info.path, info.format, version, migrated, counts, info.bytes, audit)
