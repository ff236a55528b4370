"""The schema has a version and an upgrade path; the head schema is what the models say."""
import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables)
from store import migrations
from store.database import open_database
from store.errors import DatabaseUnavailable


def _shape_of_models():
    shape = {}
    for table in SQLModel.metadata.sorted_tables:
        shape[table.name] = {c.name: (c.nullable, c.primary_key) for c in table.columns}
    return shape


def _shape_of_database(engine):
    inspector = inspect(engine)
    shape = {}
    for name in inspector.get_table_names():
        pk = set(inspector.get_pk_constraint(name)["constrained_columns"])
        shape[name] = {c["name"]: (c["nullable"] if c["name"] not in pk else False, c["name"] in pk)
                       for c in inspector.get_columns(name)}
    return shape


def test_head_schema_matches_the_models(db_url):
    db = open_database(db_url)
    models = _shape_of_models()
    # Primary keys are never nullable, whatever the model's Optional says.
    models = {t: {c: (False if pk else nullable, pk) for c, (nullable, pk) in cols.items()} for t, cols in models.items()}
    assert _shape_of_database(db.write_engine) == models
    with db.read_engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.head_version()
    db.dispose()


def test_upgrade_from_the_first_released_schema_keeps_data(db_url, policy, clock):
    from store.operations import IncidentStore

    db = open_database(db_url, migrate=False)
    with db.write_engine.begin() as conn:
        assert migrations.migrate(conn, target=1) == 1
    db.dispose()
    first = IncidentStore(open_database(db_url, migrate=False), policy, clock)
    incident = first.declare("high", "outage", "production", actor="a")
    upgraded = open_database(db_url)  # runs every migration after 1
    with upgraded.read_engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.head_version()
        assert conn.execute(text("SELECT title FROM incident")).scalar_one() == incident.title
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
