"""`incident-response backup` and `restore`: the whole store to one file and back.

  incident-response backup FILE [--format sqlite|json] [--force]
      sqlite (default for a SQLite store): SQLite's online backup, safe while others write;
      json (default for PostgreSQL): every table and row, portable; FILE.gz is compressed.
  incident-response restore FILE
      into an empty store only (e.g. a new --db); either form into either backend; the
      audit chain is verified afterwards.
"""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = {
    "backup": "back the whole store up to FILE (sqlite: online copy; json: portable, any backend; .gz compresses)",
    "restore": "restore a backup FILE into an empty store (a new --db), then verify the audit chain",
}
FORMATS = ("sqlite", "json")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the backup file" + (" to write" if name == "backup" else " to read"))
    if name == "backup":
        parser.add_argument("--format", dest="backup_format", metavar="sqlite|json",
                            help="sqlite (default for a SQLite store) or json (default for PostgreSQL)")
        parser.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    if name == "backup":
        return _backup(ctx, args)
    return _restore(ctx, args)


def _backup(ctx, args: argparse.Namespace) -> int:
    from tui.cli import UsageError

    chosen = args.backup_format.strip().lower() if args.backup_format else None
    if chosen is not None and chosen not in FORMATS:
        raise UsageError(f"--format {args.backup_format} is not known; accepted: sqlite, json")
    from store.backup import backup

    store = ctx.store
    result = backup(store.db, Path(args.file), format=chosen, force=args.force, now=store.now())
    print(result.sentence())
    _warn_if_the_chain_fails(ctx)
    return 0


def _warn_if_the_chain_fails(ctx) -> None:
    """A backup of a tampered store is still taken (it may be the evidence), but whoever keeps
    it is told, on stderr so that the backup's own line stays what scripts read."""
    import sys

    from playbooks.errors import one_line
    from store.audit import verify_chain

    with ctx.store.db.read() as session:
        audit = verify_chain(session, key=ctx.audit_key)
    if not audit.ok:
        print(f"incident-response: warning: the backup was written, but the store it copies fails `audit verify` "
              f"({one_line(audit.problem)})", file=sys.stderr)


def _new_sqlite_file(url: str) -> Path | None:
    """The SQLite file this restore would create (None: it exists already, or not SQLite)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    from playbooks.errors import PolicyValueError
    from store.paths import user_path

    try:
        path = user_path(parsed.database, "--db")
    except PolicyValueError:
        return None  # open_database refuses it in one sentence
    return None if path.exists() else path


def _restore(ctx, args: argparse.Namespace) -> int:
    from store.backup import inspect_backup, restore
    from store.paths import default_database_url

    source = Path(args.file)
    inspect_backup(source)  # a file that is no backup is refused before any database is touched
    created = _new_sqlite_file(getattr(args, "database_url", None) or default_database_url())
    try:
        result = restore(ctx.store.db, source)
    except BaseException:
        # Refused or failed: a database file this command created would look like a restored store.
        if created is not None:
            if ctx.opened_store is not None:
                ctx.opened_store.db.dispose()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{created}{suffix}").unlink(missing_ok=True)
        raise
    print(result.sentence())
    print(result.audit.sentence())
    return 0 if result.audit.ok else 1
