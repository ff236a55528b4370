"""A digest of every row of every table, for "nothing was written" checks.

The tables come from SQLModel.metadata (so a table added to store/models.py counts without
touching this file) plus any other table the database holds (schema_version, ...).
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, select, table, text
from sqlmodel import SQLModel

import store.models  # noqa: F401 - registers every table on SQLModel.metadata


def _engine_for(target) -> tuple[Engine, bool]:
    """(engine, dispose afterwards) for a URL, a Path to a SQLite file, a Database or an engine."""
    if isinstance(target, Engine):
        return target, False
    if hasattr(target, "read_engine"):
        return target.read_engine, False
    if isinstance(target, Path):  # read-only: looking must never create the file
        return create_engine(f"sqlite:///file:{target}?mode=ro&uri=true"), True
    return create_engine(str(target)), True


def _sqlite_file_digest(path: Path) -> str:
    """The same digest straight through sqlite3 (no engine to build: property tests call
    this twice per example)."""
    h = hashlib.sha256()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                   if not name.startswith("sqlite_")}
        known = [t.name for t in SQLModel.metadata.sorted_tables if t.name in present]
        for name in known + sorted(present - set(known)):
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')]
            order = ", ".join(f'"{c}"' for c in columns)
            rows = conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()
            h.update(f"\x00{name}:{len(rows)}\x00".encode())
            for row in rows:
                h.update(repr(row).encode("utf-8", "surrogatepass"))
    finally:
        conn.close()
    return h.hexdigest()


def table_digest(target) -> str:
    """sha256 over every table's name and rows, each table ordered by all its columns;
    "absent" for a SQLite file (a Path) that does not exist."""
    if isinstance(target, Path):
        return _sqlite_file_digest(target) if target.exists() else "absent"
    engine, own = _engine_for(target)
    h = hashlib.sha256()
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            known = [t for t in SQLModel.metadata.sorted_tables if t.name in present]
            others = sorted(present - {t.name for t in known})
            for model_table in known:
                rows = conn.execute(select(model_table).order_by(*model_table.columns)).all()
                h.update(f"\x00{model_table.name}:{len(rows)}\x00".encode())
                for row in rows:
                    h.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
            for name in others:
                rows = sorted(conn.execute(text(f'SELECT * FROM "{name}"')).all(), key=repr)
                h.update(f"\x00{name}:{len(rows)}\x00".encode())
                for row in rows:
                    h.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
    finally:
        if own:
            engine.dispose()
    return h.hexdigest()


def row_counts(target) -> dict[str, int]:
    """Rows per table (for messages when a digest differs); {} for a missing SQLite file."""
    if isinstance(target, Path) and not target.exists():
        return {}
    engine, own = _engine_for(target)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(select(text("count(*)")).select_from(table(name))).scalar_one()
                    for name in sorted(inspect(conn).get_table_names())}
    finally:
        if own:
            engine.dispose()
