"""What a backup or restore says when it is done, and the one refusal both share."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from store import migrations
from store.audit import AuditResult
from store.errors import StoreError

ACCEPTED_SOURCE = "accepted: a whole file written by `incident-response backup`"


class BackupRefused(StoreError):
    """A backup or restore the program will not do; the message is one sentence. Nothing was written."""


def plural(n: int, word: str) -> str:
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
        return (f"Backed up {plural(self.rows.get('incident', 0), 'incident')}, "
                f"{plural(self.rows.get('timeline_event', 0), 'timeline event')} "
                f"({plural(self.total_rows, 'row')} in {plural(len(self.rows), 'table')}, schema {self.schema_version}) "
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
        return (f"Restored {plural(self.rows.get('incident', 0), 'incident')}, "
                f"{plural(self.rows.get('timeline_event', 0), 'timeline event')} "
                f"({plural(self.total_rows, 'row')} in {plural(len(self.rows), 'table')}) from {self.source} "
                f"({kind}, {self.bytes} bytes, schema {self.schema_version}{upgraded})")


READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError)


def reason(exc: BaseException) -> str:
    """Why a file could not be read, as the tail of a sentence."""
    if isinstance(exc, EOFError):
        return "the compressed file ends early"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def check_version(path: Path, version: int) -> None:
    head = migrations.head_version()
    if version > head:
        raise BackupRefused(f"{path} is a backup of schema version {version}, newer than this program's {head}; "
                            f"accepted: a backup of schema {head} or older (or upgrade incident-response)")


def unknown_format_version(name: str, version) -> BackupRefused:
    return BackupRefused(f"{name} is a backup in format version {version!r}; accepted: format version 2 (JSON Lines) "
                         "or 1 (one JSON document), a newer file needs a newer incident-response")
