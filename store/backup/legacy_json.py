"""The older JSON form (format version 1, written until JSON Lines replaced it): one JSON
document, read as a stream so an old backup of a big store never sits in memory. Kept so
that every backup ever written still restores; nothing writes this form any more.

    {"format": "incident-response backup", "format_version": 1,
     "schema_version": 4, "written_at": "2024-01-18T14:30:00Z", "source": "sqlite" | "postgresql",
     "tables": [                               # in foreign-key order (parents first)
       {"name": "incident", "columns": ["id", "title", ...],
        "types": ["string", "string", ...],   # string|integer|float|boolean|datetime|date|json
        "rows": [["INC-2024-0118-001", "Checkout down", ...], ...],
        "row_count": 3},
       ...],
     "row_counts": {"incident": 3, ...}}

The header keys come before "tables", and "name", "columns", "types" before "rows" (the
writer always put them there; the reader streams and relies on that order).
"""
from __future__ import annotations

import json
from typing import Any, Iterator, TextIO

from store.backup.columns import TableRows
from store.backup.outcome import ACCEPTED_SOURCE, BackupRefused, unknown_format_version

FORMAT_NAME = "incident-response backup"
DOCUMENT_VERSION = 1


class JsonStream:
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



class DocumentReader:
    """Reads the header of a format 1 document, then yields each table with an iterator over its rows."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.json = JsonStream(stream, name)
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
        if version != DOCUMENT_VERSION:
            raise unknown_format_version(self.name, version)
        schema = self.header.get("schema_version")
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise BackupRefused(f"{self.name} names no schema version before its tables; {ACCEPTED_SOURCE}")
        if key != "tables":
            raise j.refuse("no \"tables\" member")
        return self.header

    def tables(self) -> Iterator[TableRows]:
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

    def _table(self) -> Iterator[TableRows]:
        j = self.json
        j.expect("{", "a table object")
        meta: dict[str, Any] = {}
        table: TableRows | None = None
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
                table = TableRows(name, columns, kinds, self._rows(name, len(columns)))
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


