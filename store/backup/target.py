"""Where a backup may be written: never through a link, never over the live database, never
over a file unless asked; published by store/files.py, the one writer every document shares."""
from __future__ import annotations

from pathlib import Path

from store.backup.outcome import BackupRefused
from store.database import Database
from store.files import FileRefused, check_target as check_file_target, publish as publish_file
from store.paths import user_path


def check_target(db: Database, target: Path, force: bool) -> Path:
    target = user_path(target, "backup file")
    try:  # a symbolic link at the target is never written through, --force or not
        check_file_target(target, force=True)
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


def publish(tmp: Path, target: Path, force: bool) -> None:
    """Move the finished temporary file into place atomically (never over a file unless forced,
    never through a link)."""
    try:
        publish_file(tmp, target, force)
    except FileRefused as exc:
        raise BackupRefused(str(exc)) from None
