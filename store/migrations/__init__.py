"""Schema versions and the path between them.

Each migration is a module `vNNNN_name.py` with `VERSION` and `upgrade(conn)`; it is
frozen once released (it must create what that version had, not what the models have
now). `migrate()` runs the missing ones in order inside one write transaction, so
concurrent first starts cannot race. A test checks that the head schema equals the
SQLModel tables in store/models.py.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from sqlalchemy import Connection, inspect, text


class SchemaTooNew(Exception):
    """The database was written by a newer release of this program."""


def migrations() -> list[ModuleType]:
    found = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if info.name.startswith("v")
    ]
    found.sort(key=lambda module: module.VERSION)
    return found


def head_version() -> int:
    return migrations()[-1].VERSION


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    row = conn.execute(text("SELECT version FROM schema_version WHERE id = 1")).first()
    return row[0] if row else 0


def migrate(conn: Connection, target: int | None = None) -> int:
    """Bring the schema to `target` (default: head) inside the caller's transaction."""
    target = head_version() if target is None else target
    version = current_version(conn)
    if version > head_version():
        raise SchemaTooNew(
            f"the database schema is version {version}, newer than this program's {head_version()}; "
            "accepted: upgrade incident-response"
        )
    for module in migrations():
        if version < module.VERSION <= target:
            module.upgrade(conn)
            version = module.VERSION
            conn.execute(text("UPDATE schema_version SET version = :v WHERE id = 1"), {"v": version})
    return version
