"""Open the store: a SQLite file by default, PostgreSQL by URL, through the same code.

Writers are serialised so the audit chain and per-day ids stay consistent:
SQLite takes its write lock up front (BEGIN IMMEDIATE, with a busy timeout so waiting
writers queue instead of failing); PostgreSQL locks the chain head row FOR UPDATE, up front
or, for a write about one incident, only to append (store/write_locks.py).
Readers never wait for writers (SQLite WAL, PostgreSQL MVCC).
On PostgreSQL a write that moved the timeline also sends NOTIFY before it commits
(store/notifications.py), so command centers on other hosts see it at once.
"""
from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from store import migrations
from store.errors import DatabaseUnavailable
from store.notifications import NOTIFY_SQL
from store.write_locks import (CHAIN_LOCKED, LOCK_CHAIN_HEAD, NOTIFIED, TAKE_GATE, owe_gate, send_changes_left,
                               take_owed_gate)

BUSY_TIMEOUT_S = 60


def _sqlite_engine(url: str, path: Path, begin: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a command that returned success survives a crash of the machine, not
        # just of the process.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _create_private_file(path: Path, group: str | None = None) -> None:
    """The database holds incident details: readable by its owner only, or by its owner
    and one group when config.toml says `[store] group = "NAME"` (a team sharing the file
    on a jump host): then the file is 0660 and its folder 2770 (setgid, so the WAL and
    shared-memory files SQLite creates next to it get the group too).

    The group only ever touches what the store made: the database file and the -wal/-shm
    files SQLite makes beside it, and the store's own folder (see _store_folder). A home or
    a team folder the file was put in keeps its mode and group, and nothing is reached
    through a symbolic link planted in the store's place (lstat, O_NOFOLLOW, fchmod)."""
    if group is None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        return
    gid = _group_id(group)
    folder = path.parent
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        folder.mkdir(mode=0o700)
        created = True
    except FileExistsError:
        created = False
        if not folder.is_dir():
            raise
    store_files = {path.name, path.name + "-wal", path.name + "-shm", path.name + "-journal"}
    if created or _store_folder(folder, store_files):
        _share(folder, gid, 0o2770, directory=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    # SQLite gives its -wal and -shm files the database file's mode; files made while the
    # store was owner-only are opened up to the group as well.
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _share(each, gid, 0o660)


# The modes the store gives the folder it creates: owner-only (mkdir's 0700, less the umask)
# or shared (2770).
_STORE_FOLDER_MODES = (0o700, 0o2770)


def _store_folder(folder: Path, store_files: set[str]) -> bool:
    """Whether an existing `folder` is the store's own, made by an earlier run: a real folder
    (not a link) of ours, with a mode the store gives its folder, holding nothing but the
    database and the files SQLite makes beside it. Anything else (a home, a team's /srv
    folder, a folder the user made) was not made by the store and keeps its mode."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return False
    if stat.S_IMODE(info.st_mode) not in _STORE_FOLDER_MODES:
        return False
    try:
        return set(os.listdir(folder)) <= store_files
    except OSError:
        return False


def _share(path: Path, gid: int, mode: int, *, directory: bool = False) -> None:
    """Give `path` to the group with `mode`, if it exists, is ours (a teammate's file is theirs
    to set) and is a regular file (or, for the folder, a real folder): a symbolic link planted
    in its place is never followed. The checks and the change are made on one open file
    descriptor (O_NOFOLLOW, fstat, fchown, fchmod), so the name cannot be swapped between them."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | (os.O_DIRECTORY if directory else 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):  # a link (or not a folder): left alone
            return
        raise
    try:
        info = os.fstat(fd)
        wanted = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
        if not wanted or info.st_uid != os.geteuid():
            return
        if info.st_gid != gid:
            os.fchown(fd, -1, gid)
        if stat.S_IMODE(info.st_mode) != mode:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _group_id(group: str) -> int:
    import grp

    from playbooks.errors import PlaybookError  # a config mistake, like any other in config.toml

    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise PlaybookError(
            f"config [store] group {group!r} is not a group on this host; accepted: a group you belong to (see `id -Gn`)"
        ) from None
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise PlaybookError(
            f"you are not in the group {group!r} named by config [store] group; accepted: a group you belong to "
            "(see `id -Gn`)"
        )
    return gid


@dataclass
class Database:
    url: str
    write_engine: Engine
    read_engine: Engine
    sqlite_path: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_path is not None

    @contextmanager
    def write(self, *, per_incident: bool = False) -> Iterator[Session]:
        """A session holding the store's write lock; commits on success. `per_incident`: the
        write changes one incident's rows (locked by the caller first) and adds rows of its
        own, so on PostgreSQL it runs beside writes to other incidents (store/write_locks.py)."""
        try:
            with Session(self.write_engine, expire_on_commit=False) as session:
                with session.begin():
                    if not self.is_sqlite:
                        if per_incident:
                            owe_gate(session)  # taken before the write's first statement
                        else:
                            session.execute(TAKE_GATE)
                            session.info[CHAIN_LOCKED] = session.execute(LOCK_CHAIN_HEAD).scalar()
                    yield session
                    send_changes_left(session)
                    start = session.info.pop(CHAIN_LOCKED, None)
                    if start is not None and not session.info.pop(NOTIFIED, False):
                        # Other hosts' command centers LISTEN: told on commit, never before.
                        session.execute(text(NOTIFY_SQL), {"start": start})
        except OperationalError as exc:
            raise DatabaseUnavailable(_explain(exc, self.sqlite_path)) from exc

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with Session(self.read_engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session
        except OperationalError as exc:
            raise DatabaseUnavailable(_explain(exc, self.sqlite_path)) from exc

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def _explain(exc: OperationalError, sqlite_path: Path | None = None) -> str:
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "database or disk is full" in detail or "No space left on device" in detail:
        # The transaction was rolled back whole (tests/load/test_faults.py fills a small disk).
        where = f"the disk holding {sqlite_path.parent}" if sqlite_path is not None else "the database server's disk"
        return f"{where} is full ({detail}); nothing was written; accepted: free space there and try again"
    if "locked" in detail:
        return f"the database stayed locked by another writer for over {BUSY_TIMEOUT_S}s; try again"
    if "disk" in detail or "full" in detail:
        where = f"the disk holding {sqlite_path.parent}" if sqlite_path is not None else "the database's disk"
        return f"writing to {where} failed ({detail}); nothing was written; accepted: free space there and try again"
    return f"the database is unavailable ({detail})"


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg 3 here; other URLs pass through."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def open_database(url: str, *, migrate: bool = True, group: str | None = None) -> Database:
    """Connect to `url` and bring its schema to head (creating it if new). A SQLite file is
    owner-only unless `group` (config.toml's `[store] group`, passed down by the caller) shares it."""
    try:
        parsed = make_url(url)
    except Exception:
        raise DatabaseUnavailable(
            f"{url!r} is not a database URL; accepted: sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUnavailable("an in-memory SQLite database cannot be shared; accepted: sqlite:///PATH")
        try:
            path = Path(parsed.database).expanduser()
        except RuntimeError:  # ~name of a user this host does not know
            raise DatabaseUnavailable(f"{parsed.database!r} starts with an unknown user's home; "
                                      "accepted: sqlite:///PATH, with ~ or ~USER of a user on this host") from None
        try:
            _create_private_file(path, group)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot create the database file {path} ({exc.strerror}); accepted: a writable folder"
            ) from None
        sqlite_url = f"sqlite:///{path}"
        db = Database(
            url=sqlite_url,
            write_engine=_sqlite_engine(sqlite_url, path, "BEGIN IMMEDIATE"),
            read_engine=_sqlite_engine(sqlite_url, path, "BEGIN"),
            sqlite_path=path,
        )
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(normalise_url(url), pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", take_owed_gate)
        db = Database(url=url, write_engine=engine, read_engine=engine)
    else:
        raise DatabaseUnavailable(
            f"unsupported database {parsed.get_backend_name()!r}; accepted: sqlite:///PATH or postgresql://..."
        )
    if migrate:
        ensure_schema(db)
    return db


def ensure_schema(db: Database) -> int:
    """Run missing migrations once, under the write lock, so concurrent starts don't race."""
    try:
        with db.read_engine.connect() as conn:
            if migrations.current_version(conn) == migrations.head_version():
                return migrations.head_version()
        with db.write_engine.begin() as conn:
            if not db.is_sqlite:
                # The chain head may not exist yet: lock on a fixed key instead.
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            return migrations.migrate(conn)
    except migrations.SchemaTooNew as exc:
        raise DatabaseUnavailable(str(exc)) from None
    except OperationalError as exc:
        raise DatabaseUnavailable(_explain(exc, db.sqlite_path)) from exc


def masked_url(url: str) -> str:
    """`url` fit to show a person: any password, in the user part or as ?password=, is ***."""
    try:
        parsed = make_url(url)
    except Exception:  # not parseable: show its scheme only rather than risk a secret
        return url.split("://", 1)[0] + "://***" if "://" in url else url
    # ?password=... is a password too; a plain placeholder survives the URL's escaping.
    placeholder = "IRPASSWORDMASKED"
    secret = {key: placeholder for key in parsed.query if key.lower() == "password"}
    if secret:
        parsed = parsed.update_query_dict(secret)
    return parsed.render_as_string(hide_password=True).replace(placeholder, "***")
