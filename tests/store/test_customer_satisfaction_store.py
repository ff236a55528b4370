"""Customer satisfaction in the store, on SQLite and PostgreSQL: schema 6 brings existing
incidents forward unscored, a score is a timeline event, and the JSON import and export
carry it."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from playbooks.errors import PolicyValueError
from store import migrations
from store.database import open_database
from store.errors import IncidentNotFound
from store.models import TimelineEvent
from store.operations import IncidentStore
from store.queries import incident_detail
from store.satisfaction import record_satisfaction
from store.transfer import ImportError_, export_json, import_incidents, parse_import
from tests.properties.digest import table_digest


def _columns(db) -> set[str]:
    with db.read_engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("incident")}


def test_schema_6_adds_the_column_and_leaves_older_incidents_unscored(db_url, policy, clock):
    db = open_database(db_url, migrate=False)
    with db.write_engine.begin() as conn:
        assert migrations.migrate(conn, target=5) == 5
        # What a release-5 program wrote (raw SQL: today's models know the newer column).
        conn.execute(text(
            "INSERT INTO incident (id, title, severity, type, environment, status, version, declared_by, is_drill, "
            "detected_at, declared_at, response_due_at) VALUES ('INC-2024-0110-001', 'before schema 6', 'SEV-2', "
            "'outage', 'production', 'resolved', 1, 'alice', false, '2024-01-10 10:00:00', '2024-01-10 10:00:00', "
            "'2024-01-10 11:00:00')"))
    assert "customer_satisfaction" not in _columns(db)
    db.dispose()
    upgraded = open_database(db_url)
    assert "customer_satisfaction" in _columns(upgraded)
    with upgraded.read_engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.head_version() >= 6
        assert conn.execute(text("SELECT customer_satisfaction FROM incident")).scalar_one() is None
    store = IncidentStore(upgraded, policy, clock)
    from reports.monthly import monthly_report

    assert monthly_report(store, "2024-01")["customer_satisfaction"]["scored_incidents"] == 0
    record_satisfaction(store, "INC-2024-0110-001", 4.5, actor="bob")
    assert monthly_report(store, "2024-01")["customer_satisfaction"]["mean"] == 4.5
    upgraded.dispose()


def _detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


def _events(store, incident_id, kind) -> list[tuple[str, str, dict]]:
    """(actor, summary, data) of the incident's timeline events of one kind, in order."""
    with store.db.read() as session:
        rows = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                                        TimelineEvent.kind == kind).order_by(TimelineEvent.seq))
        return [(e.actor, e.summary, json.loads(e.data)) for e in rows]


def test_a_score_is_a_timeline_event_naming_who_set_it(store):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    first = record_satisfaction(store, incident.id, "3", actor="bob")
    assert (first.score, first.previous, first.changed) == (3.0, None, True)
    second = record_satisfaction(store, incident.id, 4.25, actor="carol")
    assert (second.score, second.previous, second.changed) == (4.25, 3.0, True)
    same = record_satisfaction(store, incident.id, "4.25", actor="dave")
    assert same.changed is False
    detail = _detail(store, incident.id)
    assert detail["customer_satisfaction"] == 4.25
    assert detail["version"] == incident.version + 2  # the same score again wrote nothing
    events = _events(store, incident.id, "customer_satisfaction")
    assert [(actor, summary) for actor, summary, _ in events] == [
        ("bob", "Customer satisfaction 3.0/5.0"), ("carol", "Customer satisfaction 4.25/5.0 (was 3.0/5.0)")]
    assert events[1][2]["score"] == 4.25 and events[1][2]["previous"] == 3.0


def test_a_closed_incident_takes_a_score_and_a_bad_one_writes_nothing(store):
    incident = store.declare("low", "outage", "staging", actor="alice")
    store.resolve(incident.id, actor="alice")
    store.close(incident.id, actor="alice")
    assert record_satisfaction(store, incident.id, 5, actor="bob").changed
    before = table_digest(store.db)
    with pytest.raises(PolicyValueError, match=r"^customer satisfaction 6 is out of range; accepted: "):
        record_satisfaction(store, incident.id, 6, actor="bob")
    with pytest.raises(IncidentNotFound):
        record_satisfaction(store, "INC-2024-0101-999", 4, actor="bob")
    assert table_digest(store.db) == before


RECORD = {"title": "Search slow", "severity": "high", "type": "performance", "environment": "production",
          "status": "resolved", "detected_at": "2024-01-05T10:00:00Z", "declared_at": "2024-01-05T10:05:00Z",
          "resolved_at": "2024-01-05T12:00:00Z"}


def test_export_then_import_keeps_the_score(store, policy, clock, tmp_path):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    record_satisfaction(store, incident.id, 3.75, actor="bob")
    unscored = store.declare("low", "outage", "staging", actor="alice")
    documents = [json.loads(export_json(_detail(store, i)))[0] for i in (incident.id, unscored.id)]
    assert [d["customer_satisfaction"] for d in documents] == [3.75, None]
    other = IncidentStore(open_database(f"sqlite:///{tmp_path / 'other.db'}"), policy, clock)
    ids = import_incidents(other, parse_import(other, json.dumps(documents)), actor="historian")
    assert ids == [incident.id, unscored.id]
    assert [_detail(other, i)["customer_satisfaction"] for i in ids] == [3.75, None]
    (actor, _, data), = _events(other, incident.id, "imported")
    assert actor == "historian" and data["customer_satisfaction"] == 3.75
    other.db.dispose()


def test_import_takes_a_number_or_null(store):
    records = [dict(RECORD, customer_satisfaction=4), dict(RECORD, customer_satisfaction=2.456),
               dict(RECORD, customer_satisfaction=None)]
    ids = import_incidents(store, parse_import(store, json.dumps(records)), actor="historian")
    assert [_detail(store, i)["customer_satisfaction"] for i in ids] == [4.0, 2.46, None]


@pytest.mark.parametrize("value,problem", [
    ("7", "(7) is out of range"), ("0.5", "(0.5) is out of range"), ("-3", "(-3) is out of range"),
    ("1e999", "(inf) is not a finite number"), ("NaN", "(nan) is not a finite number"),
    ('"4.5"', "('4.5') is not a number"), ("true", "(True) is not a number"), ("[4]", "([4]) is not a number"),
    ("1" + "0" * 400, "(1" + "0" * 400 + ") is out of range"),
])
def test_import_refuses_anything_else_in_one_sentence_writing_nothing(store, value, problem):
    before = table_digest(store.db)
    document = "[" + json.dumps(RECORD)[:-1] + ', "customer_satisfaction": ' + value + "}]"
    with pytest.raises(ImportError_) as refused:
        import_incidents(store, parse_import(store, document, "history.json"), actor="historian")
    assert str(refused.value) == (f"history.json: incident 1: field customer_satisfaction {problem}; "
                                  "accepted: a number from 1.0 to 5.0, like 4.2")
    assert table_digest(store.db) == before
