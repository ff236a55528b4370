"""What a file offered to restore is: a SQLite backup or a JSON one (either JSON form),
compressed or not, and of which schema version; anything else is refused in one sentence."""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from store.backup.json_lines import open_json_backup
from store.backup.outcome import ACCEPTED_SOURCE, READ_ERRORS, BackupRefused, check_version, reason
from store.backup.sqlite_copy import SQLITE_HEADER, peek_sqlite_version
from store.paths import user_path

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    format: str  # "sqlite" | "json"
    compressed: bool
    schema_version: int | None  # None: not known until decompressed (a gzip'd SQLite file)
    bytes: int


def open_text(path: Path, compressed: bool) -> TextIO:
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")



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
        raise BackupRefused(f"{path} cannot be read ({reason(exc)}); {ACCEPTED_SOURCE}") from None
    if start.startswith(SQLITE_HEADER):
        version = None if compressed else peek_sqlite_version(path)
        if version is not None:
            check_version(path, version)
        return BackupInfo(path, "sqlite", compressed, version, size)
    if start.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"{":
        try:
            with open_text(path, compressed) as handle:
                header = open_json_backup(handle, str(path)).read_header()
        except READ_ERRORS as exc:
            raise BackupRefused(f"{path} cannot be read ({reason(exc)}); {ACCEPTED_SOURCE}") from None
        check_version(path, header["schema_version"])
        return BackupInfo(path, "json", compressed, header["schema_version"], size)
    raise BackupRefused(f"{path} is neither a SQLite backup nor a JSON backup; {ACCEPTED_SOURCE}")

