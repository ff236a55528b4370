"""The dashboard's first listing on plain sqlite3 (store/quick_list.py) gives exactly the rows
store.queries.list_incidents(status="open", with_commander=True) gives, and steps aside
whenever the file is not one it should read."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from store import quick_list
from store.read_models.summary import IncidentSummary

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_store(tmp_path, policy, clock):
    from store.database import open_database
    from store.operations import IncidentStore

    db = open_database(f"sqlite:///{tmp_path / 'incidents.db'}")
    yield IncidentStore(db, policy, clock)
    db.dispose()


def _normal_path(store) -> list[IncidentSummary]:
    from store.queries import list_incidents

    with store.db.read() as session:
        return list_incidents(session, status="open", with_commander=True)


def _awkward_history(store, clock) -> dict[str, str]:
    """Incidents that test the order and the parse: equal declaration times (the id decides),
    drills, every status, NULL acknowledgements, updates and services, commanders handed over
    and two unreleased ones assumed at the same moment, a time stored without microseconds
    (as an older row or a restored backup may hold it), a severity outside the policy's."""
    ids = {}
    for name, severity, drill in [("same_a", "SEV-2", False), ("same_b", "SEV-2", False),
                                  ("same_c", "SEV-2", True), ("critical", "SEV-1", False)]:
        # The clock stands still: these four are declared at the same instant.
        ids[name] = store.declare(severity, "outage", "production", actor="alice", title=f"{name} ✓",
                                  service="checkout" if name == "same_a" else None, is_drill=drill).id
    clock.advance(minutes=3)
    for name, status in [("identified", "identified"), ("monitoring", "monitoring"), ("resolved", None),
                         ("closed", None), ("drill_low", "investigating")]:
        ids[name] = store.declare("SEV-3", "outage", "staging", actor="bob", title=name,
                                  is_drill=name == "drill_low").id
        clock.advance(seconds=1)
        if status and status != "investigating":
            store.change_status(ids[name], status, actor="bob")
    store.resolve(ids["resolved"], actor="bob")
    store.resolve(ids["closed"], actor="bob")
    store.close(ids["closed"], actor="bob")
    store.acknowledge(ids["same_b"], actor="carol")
    store.assign_role(ids["critical"], "incident_commander", "dana", actor="alice")
    clock.advance(seconds=5)
    store.assign_role(ids["critical"], "incident_commander", "erin", actor="alice")  # dana released
    store.assign_role(ids["same_a"], "incident_commander", "frank", actor="alice")
    ids["old"] = store.declare("SEV-4", "outage", "production", actor="bob", title="old row").id
    ids["odd"] = store.declare("SEV-4", "outage", "production", actor="bob", title="odd severity").id
    conn = sqlite3.connect(store.db.sqlite_path)
    with conn:
        conn.execute("UPDATE incident SET next_update_due_at = NULL, declared_at = '2024-01-18 14:30:00', "
                     "response_due_at = '2024-01-18 15:30:00' WHERE id = ?", (ids["old"],))
        conn.execute("UPDATE incident SET severity = 'SEV-5' WHERE id = ?", (ids["odd"],))
        # A restored row's title may hold what the form refuses: it is data, read as it is.
        conn.execute("UPDATE incident SET title = 'restored \x1b[31m red' WHERE id = ?", (ids["same_c"],))
        # Two commanders, neither released, assumed at the same moment: the later id wins.
        at = (clock() + timedelta(minutes=1)).isoformat(sep=" ", timespec="microseconds")
        for person in ("gina", "hugo"):
            conn.execute("INSERT INTO role_assignment (incident_id, role, person, assumed_at) "
                         "VALUES (?, 'incident_commander', ?, ?)", (ids["identified"], person, at))
    conn.close()
    return ids


def test_the_same_rows_as_the_store_in_the_same_order(sqlite_store, clock):
    ids = _awkward_history(sqlite_store, clock)
    url = str(sqlite_store.db.url)

    quick = quick_list.open_incidents(url)
    normal = _normal_path(sqlite_store)

    assert quick == normal
    listed = [row.id for row in quick]
    assert ids["resolved"] not in listed and ids["closed"] not in listed
    assert {ids["same_c"], ids["drill_low"], ids["old"], ids["odd"]} <= set(listed)
    # Equal declaration times: the newer id first, as the store orders them.
    same = [i for i in listed if i in (ids["same_a"], ids["same_b"], ids["same_c"])]
    assert same == sorted(same, reverse=True)
    by_id = {row.id: row for row in quick}
    assert by_id[ids["critical"]].commander == "erin"
    assert by_id[ids["identified"]].commander == "hugo"
    assert by_id[ids["same_c"]].commander is None
    assert by_id[ids["same_c"]].title == "restored \x1b[31m red"
    assert by_id[ids["same_a"]].service == "checkout" and by_id[ids["same_b"]].service is None
    assert by_id[ids["same_b"]].acknowledged_at is not None and by_id[ids["same_a"]].acknowledged_at is None
    assert by_id[ids["old"]].declared_at == datetime(2024, 1, 18, 14, 30)
    assert by_id[ids["old"]].next_update_due_at is None
    assert {row.status for row in quick} == {"investigating", "identified", "monitoring"}
    assert quick_list.severity_counts(quick) == {"SEV-1": 1, "SEV-2": 3, "SEV-3": 3, "SEV-4": 1, "SEV-5": 1}


def test_nothing_open_is_an_empty_list(sqlite_store):
    assert quick_list.open_incidents(str(sqlite_store.db.url)) == [] == _normal_path(sqlite_store)


def test_the_head_version_is_the_migrations_head():
    from store import migrations

    assert quick_list.head_version() == migrations.head_version()


@pytest.mark.parametrize("version_change", [-1, +1])
def test_a_schema_the_store_would_migrate_or_refuse_is_left_to_the_store(sqlite_store, clock, version_change):
    _awkward_history(sqlite_store, clock)
    conn = sqlite3.connect(sqlite_store.db.sqlite_path)
    with conn:
        conn.execute("UPDATE schema_version SET version = version + ? WHERE id = 1", (version_change,))
    conn.close()

    assert quick_list.open_incidents(str(sqlite_store.db.url)) is None


def test_a_value_the_parse_refuses_is_left_to_the_store(sqlite_store, clock):
    ids = _awkward_history(sqlite_store, clock)
    conn = sqlite3.connect(sqlite_store.db.sqlite_path)
    with conn:
        conn.execute("UPDATE incident SET declared_at = 'yesterday' WHERE id = ?", (ids["old"],))
    conn.close()

    assert quick_list.open_incidents(str(sqlite_store.db.url)) is None


def test_urls_and_files_it_does_not_read(tmp_path):
    missing = tmp_path / "not-yet.db"
    assert quick_list.open_incidents(f"sqlite:///{missing}") is None
    assert not missing.exists()  # the store creates it, with its permissions; never this read
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("not sqlite")
    assert quick_list.open_incidents(f"sqlite:///{not_a_database}") is None
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert quick_list.open_incidents(f"sqlite:///{empty}") is None  # no schema_version table
    for url in ("postgresql://ir@127.0.0.1/incidents", "sqlite://", "sqlite:///:memory:",
                f"sqlite:///{empty}?mode=ro", f"sqlite+pysqlite:///{empty}"):
        assert quick_list.open_incidents(url) is None, url


def test_it_loads_no_database_layer():
    code = ("import json, sys; import store.quick_list; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'pydantic'})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(result.stdout) == []
