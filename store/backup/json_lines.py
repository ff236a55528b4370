"""The portable JSON form of a backup (the form for PostgreSQL; `--format json` on SQLite
too): JSON Lines, every table of the schema and every row, read in one snapshot transaction
and streamed, so a big store never sits in memory. A name ending in `.gz` is gzip-compressed.

Line 1 is the header; every other line is one row of one table, the tables in foreign-key
order (parents first), each table's rows together in primary-key order:

    {"format":"incident-response backup","format_version":2,"schema_version":8,
     "written_at":"2024-01-18T14:30:00Z","source":"sqlite",
     "tables":[{"name":"incident","columns":["id","title",...],"types":["string","string",...]},...],
     "row_counts":{"incident":3,...}}
    {"table":"incident","row":{"id":"INC-2024-0118-001","title":"Checkout down",...}}
    ...

Types are string|integer|float|boolean|datetime|date|json (encodings in columns.py). The
header's row counts are taken in the same snapshot as the rows, so a file cut short, even at
a line boundary, or missing a row is refused. Every line ends in a newline: a last line
without one was cut off.

Restore reads this form and the older single-document form (format 1, legacy_json.py);
`open_json_backup` tells them apart by the first line.
"""
from __future__ import annotations

import gzip
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from sqlalchemy import Connection, Table, func, select

from store import migrations
from store.backup.columns import BATCH, TableRows, encoder, pk_order, schema_tables, value_kind
from store.backup.legacy_json import DOCUMENT_VERSION, FORMAT_NAME, DocumentReader
from store.backup.outcome import ACCEPTED_SOURCE, BackupRefused, BackupResult, unknown_format_version
from store.backup.target import check_target, publish
from store.database import Database
from store.files import temporary_beside

LINES_VERSION = 2
HEADER_LIMIT = 16 << 20  # a first line longer than this is no JSON Lines header (perhaps a one-line document)
ROW_KEYS = {"table", "row"}

# -- writing -----------------------------------------------------------------------------------------


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
    """Stream every row of `tables` as the documented JSON Lines form; returns the row counts.
    `conn` must be in a transaction (one snapshot: the counts in the header are the rows)."""
    tables = list(tables)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    counts = {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() for table in tables}
    header = {"format": FORMAT_NAME, "format_version": LINES_VERSION, "schema_version": schema_version,
              "written_at": encoder("datetime")(written_at).replace(".000000Z", "Z"), "source": source,
              "tables": [{"name": table.name, "columns": [c.name for c in table.columns],
                          "types": [value_kind(c) for c in table.columns]} for table in tables],
              "row_counts": counts}
    out.write(dumps(header) + "\n")
    for table in tables:
        columns = list(table.columns)
        encoders = [(c.name, encoder(value_kind(c))) for c in columns]
        prefix = '{"table":' + dumps(table.name) + ',"row":'
        result = conn.execute(select(*columns).order_by(*pk_order(table)).execution_options(yield_per=BATCH))
        for row in result:
            out.write(prefix + dumps({name: enc(v) for (name, enc), v in zip(encoders, row)}) + "}\n")
    return counts


def dump_json(db: Database, target_path: Path | str, *, force: bool = False,
              now: datetime | None = None) -> BackupResult:
    """Write every table and row as JSON Lines (gzip when the name ends in .gz) from one snapshot."""
    target = check_target(db, Path(target_path), force)
    written_at = now or datetime.now(timezone.utc).replace(tzinfo=None)
    with temporary_beside(target) as tmp:
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
        publish(tmp, target, force)
    return BackupResult(target, "json", version, counts, target.stat().st_size)


# -- reading -----------------------------------------------------------------------------------------

def open_json_backup(handle: TextIO, name: str) -> "JsonLinesReader | DocumentReader":
    """The reader for whichever JSON form `handle` holds (its header not yet checked: call
    read_header). The first line of JSON Lines is a whole JSON object naming format 2; the
    older document's first line is not a whole object (or, written on one line, names format 1)."""
    first = handle.readline(HEADER_LIMIT)
    try:
        header = json.loads(first)
    except ValueError:
        header = None
        if not first.endswith("\n") and len(first) < HEADER_LIMIT:
            # Neither form ends within its first line: the older document's first line is its
            # header keys, and a whole one-line document would have parsed.
            raise BackupRefused(f"{name} is not a readable backup (the file ends early in line 1); "
                                f"{ACCEPTED_SOURCE}") from None
    if isinstance(header, dict) and not (header.get("format") == FORMAT_NAME
                                         and header.get("format_version") == DOCUMENT_VERSION):
        return JsonLinesReader(handle, name, header)  # its read_header refuses a foreign or unknown one
    handle.seek(0)
    return DocumentReader(handle, name)


def _well_formed_tables(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("columns"), list)
        and isinstance(t.get("types"), list) and len(t["columns"]) == len(t["types"])
        and all(isinstance(c, str) for c in t["columns"]) and len(set(t["columns"])) == len(t["columns"])
        for t in value)


class JsonLinesReader:
    """Reads the header line, then yields each table with an iterator over its rows, checking
    as it goes that every row is where the header says and that no row is missing."""

    def __init__(self, stream: TextIO, name: str, header: dict) -> None:
        self.stream, self.name, self.header = stream, name, header
        self.line = 1  # the number of the last line read
        self.counts: dict[str, int] = {}
        self._next: tuple[int, str, dict] | None = None
        self._ended = False

    def refuse(self, problem: str) -> BackupRefused:
        return BackupRefused(f"{self.name} is not a readable backup ({problem}); {ACCEPTED_SOURCE}")

    def read_header(self) -> dict[str, Any]:
        header = self.header
        if header.get("format") != FORMAT_NAME:
            raise BackupRefused(f"{self.name} is JSON but not an incident-response backup (its \"format\" is "
                                f"{header.get('format')!r}); {ACCEPTED_SOURCE}")
        if header.get("format_version") != LINES_VERSION:
            raise unknown_format_version(self.name, header.get("format_version"))
        schema = header.get("schema_version")
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise BackupRefused(f"{self.name} names no schema version in its header (line 1); {ACCEPTED_SOURCE}")
        tables, counts = header.get("tables"), header.get("row_counts")
        if not _well_formed_tables(tables) or not isinstance(counts, dict) or set(counts) != {
                t["name"] for t in tables} or len(counts) != len(tables) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()):
            raise self.refuse("line 1 does not list each table's columns, types and row count")
        return header

    # One row of lookahead: a table's rows end where the next table's begin.
    def _peek(self) -> tuple[int, str, dict] | None:
        while self._next is None and not self._ended:
            text = self.stream.readline()
            if not text:
                self._ended = True
                break
            self.line += 1
            if not text.strip():
                continue
            if not text.endswith("\n"):
                raise self.refuse(f"the file ends early in line {self.line}, which stops mid-row")
            try:
                entry = json.loads(text)
            except ValueError as exc:
                raise self.refuse(f"line {self.line} is not JSON: {exc.msg[:1].lower() + exc.msg[1:]}") from None
            if not (isinstance(entry, dict) and set(entry) == ROW_KEYS and isinstance(entry["table"], str)
                    and isinstance(entry["row"], dict)):
                raise self.refuse(f"line {self.line} is not a row of the form {{\"table\": ..., \"row\": {{...}}}}")
            self._next = (self.line, entry["table"], entry["row"])
        return self._next

    def tables(self) -> Iterator[TableRows]:
        declared = self.header["row_counts"]
        order = [t["name"] for t in self.header["tables"]]
        for place, table in enumerate(self.header["tables"]):
            name = table["name"]
            self.counts[name] = 0
            chunk = TableRows(name, table["columns"], table["types"], self._rows(name, table["columns"]))
            yield chunk
            for _ in chunk.rows:  # whatever the restore did not take
                pass
            following = self._peek()
            if self.counts[name] < declared[name]:
                if following is None:
                    raise self.refuse(f"the file ends early after line {self.line}: table {name} has "
                                      f"{self.counts[name]} of its {declared[name]} rows")
                raise BackupRefused(f"{self.name} is not a whole backup (table {name} declares {declared[name]} rows "
                                    f"but holds {self.counts[name]}); {ACCEPTED_SOURCE}")
            if following is not None and following[1] not in order[place + 1:]:
                where = "after its rows ended" if following[1] in order else "which the header does not list"
                raise self.refuse(f"line {following[0]} holds a row of table {following[1]}, {where}")
        if self._peek() is not None:
            raise self.refuse(f"more data after the end of the backup, at line {self._next[0]}")

    def _rows(self, name: str, columns: list[str]) -> Iterator[list]:
        declared = self.header["row_counts"][name]
        expected = set(columns)
        while (entry := self._peek()) is not None and entry[1] == name:
            number, _, row = entry
            self._next = None
            if set(row) != expected:
                differs = sorted(set(row) ^ expected)[0]
                raise self.refuse(f"line {number}, a row of table {name}, does not have the header's columns "
                                  f"(differs in {differs})")
            self.counts[name] += 1
            if self.counts[name] > declared:
                raise BackupRefused(f"{self.name} is not a whole backup (table {name} declares {declared} rows but "
                                    f"holds more, line {number}); {ACCEPTED_SOURCE}")
            yield [row[c] for c in columns]
