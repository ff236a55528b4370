"""The schema has a version and an upgrade path; the head schema is what the models say."""
import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables)
from store import migrations
from store.database import open_database
from store.errors import DatabaseUnavailable


# Indexes the migrations add beyond what the models declare (documented in store/models.py).
MIGRATION_ONLY_INDEXES = {("incident", "ix_incident_triage")}
# Schema 8's search index on SQLite: an FTS5 virtual table (and the shadow tables FTS5 keeps
# for it) filled by triggers, not a model (store/search.py reads it). On PostgreSQL it is GIN
# indexes named fts_*, which the ix_ filter below leaves out.
SEARCH_INDEX_TABLE = "incident_text"


def _kind(sql_type) -> str:
    """A column type as the schema means it: text, int, float, bool or datetime."""
    from sqlalchemy.types import TypeDecorator

    if isinstance(sql_type, TypeDecorator):  # sqlmodel's AutoString wraps a String
        sql_type = sql_type.impl_instance
    try:
        return sql_type.python_type.__name__
    except NotImplementedError:
        return type(sql_type).__name__


def _shape_of_models():
    shape = {}
    for table in SQLModel.metadata.sorted_tables:
        shape[table.name] = {
            "columns": {c.name: (False if c.primary_key else c.nullable, c.primary_key, _kind(c.type))
                        for c in table.columns},
            "foreign_keys": sorted((fk.parent.name, fk.column.table.name, fk.column.name) for fk in table.foreign_keys),
            "unique": sorted(tuple(sorted(c.name for c in con.columns)) for con in table.constraints
                             if con.__class__.__name__ == "UniqueConstraint")
                      + sorted((c.name,) for c in table.columns if c.unique),
            "indexes": sorted(i.name for i in table.indexes),
        }
    return shape


def _shape_of_database(engine):
    inspector = inspect(engine)
    shape = {}
    for name in inspector.get_table_names():
        if name == SEARCH_INDEX_TABLE or name.startswith(SEARCH_INDEX_TABLE + "_"):
            continue
        pk = set(inspector.get_pk_constraint(name)["constrained_columns"])
        unique = [tuple(sorted(u["column_names"])) for u in inspector.get_unique_constraints(name)]
        # Some backends report a unique column as a unique index instead of a constraint.
        unique += [tuple(sorted(i["column_names"])) for i in inspector.get_indexes(name)
                   if i.get("unique") and not i["name"].startswith("ix_")]
        shape[name] = {
            "columns": {c["name"]: (c["nullable"] if c["name"] not in pk else False, c["name"] in pk, _kind(c["type"]))
                        for c in inspector.get_columns(name)},
            "foreign_keys": sorted((fk["constrained_columns"][0], fk["referred_table"], fk["referred_columns"][0])
                                   for fk in inspector.get_foreign_keys(name)),
            "unique": sorted(set(unique)),
            "indexes": sorted(i["name"] for i in inspector.get_indexes(name)
                              if i["name"].startswith("ix_") and (name, i["name"]) not in MIGRATION_ONLY_INDEXES),
        }
    return shape


def test_head_schema_matches_the_models(db_url):
    db = open_database(db_url)
    models = _shape_of_models()
    for table in models.values():
        table["unique"] = sorted(set(table["unique"]))
    database = _shape_of_database(db.write_engine)
    assert database.keys() == models.keys()
    for name in models:
        assert database[name] == models[name], name
    with db.read_engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.head_version()
    db.dispose()


def test_upgrade_from_the_first_released_schema_keeps_data(db_url, policy, clock):
    from store.operations import IncidentStore

    db = open_database(db_url, migrate=False)
    with db.write_engine.begin() as conn:
        assert migrations.migrate(conn, target=1) == 1
        # What a release-1 program wrote (raw SQL: today's models know newer columns).
        conn.execute(text(
            "INSERT INTO incident (id, title, severity, type, environment, status, version, declared_by, is_drill, "
            "detected_at, declared_at, response_due_at) VALUES ('INC-2024-0101-001', 'old one', 'SEV-2', 'outage', "
            "'production', 'investigating', 1, 'alice', false, '2024-01-01 10:00:00', '2024-01-01 10:00:00', "
            "'2024-01-01 11:00:00')"))
    db.dispose()
    upgraded = open_database(db_url)  # runs every migration after 1
    with upgraded.read_engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.head_version() >= 2
        row = conn.execute(text("SELECT title, dedup_key FROM incident")).one()
        assert tuple(row) == ("old one", None)
    store = IncidentStore(upgraded, policy, clock)
    store.add_note("INC-2024-0101-001", "still workable after the upgrade", actor="bob")
    upgraded.dispose()


def test_a_newer_schema_is_refused(db_url):
    db = open_database(db_url)
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = 999"))
    db.dispose()
    with pytest.raises(DatabaseUnavailable, match="newer than this program"):
        open_database(db_url)


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "incidents.db"
    db = open_database(f"sqlite:///{path}")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with db.read_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    db.dispose()


def test_bad_urls_get_one_sentence():
    with pytest.raises(DatabaseUnavailable, match="accepted: sqlite:///PATH"):
        open_database("mysql://x/y")
    with pytest.raises(DatabaseUnavailable, match="in-memory"):
        open_database("sqlite://")
