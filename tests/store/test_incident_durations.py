"""Each incident keeps the seconds between its lifecycle timestamps (schema 5): set by every
write through the models, and filled in for older rows by the migration, to the same value."""
from __future__ import annotations

from sqlalchemy import text

from store import migrations
from store.database import open_database
from store.models import Incident


def _durations(store, incident_id):
    with store.db.read() as session:
        incident = session.get(Incident, incident_id)
        return incident.detection_s, incident.response_s, incident.resolution_s


def test_acknowledge_and_resolve_keep_the_durations(store, clock):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    assert _durations(store, incident.id) == (None, None, None)  # no start known, not acknowledged yet
    clock.advance(minutes=7, seconds=30)
    store.acknowledge(incident.id, actor="bob")
    clock.advance(hours=2)
    store.resolve(incident.id, actor="bob")
    assert _durations(store, incident.id) == (None, 450.0, 450.0 + 7200.0)
    store.change_status(incident.id, "investigating", actor="bob")  # reopened: no resolution any more
    assert _durations(store, incident.id)[2] is None


def test_imported_history_has_its_durations(store):
    import json

    from store.transfer import import_incidents, parse_import

    records = parse_import(store, json.dumps([{
        "title": "Old outage", "severity": "SEV-2", "type": "outage", "environment": "production",
        "status": "closed", "started_at": "2024-01-10T09:55:00.250Z", "detected_at": "2024-01-10T10:00:00Z",
        "declared_at": "2024-01-10T10:01:00Z", "acknowledged_at": "2024-01-10T10:12:00Z",
        "resolved_at": "2024-01-10T13:00:00Z", "closed_at": "2024-01-10T14:00:00Z"}]))
    (incident_id,) = import_incidents(store, records, actor="importer")
    assert _durations(store, incident_id) == (299.75, 720.0, 10800.0)


def test_the_migration_fills_in_older_rows_with_the_same_values(db_url, policy, clock):
    db = open_database(db_url, migrate=False)
    with db.write_engine.begin() as conn:
        migrations.migrate(conn, target=4)
        conn.execute(text(
            "INSERT INTO incident (id, title, severity, type, environment, status, version, declared_by, is_drill, "
            "started_at, detected_at, declared_at, acknowledged_at, resolved_at, response_due_at) VALUES "
            "('INC-2024-0101-001', 'old one', 'SEV-2', 'outage', 'production', 'resolved', 3, 'alice', false, "
            "'2024-01-01 09:55:00.250000', '2024-01-01 10:00:00', '2024-01-01 10:01:00', '2024-01-01 10:12:00', "
            "'2024-01-01 13:00:00', '2024-01-01 11:00:00')"))
    db.dispose()
    upgraded = open_database(db_url)
    with upgraded.read_engine.connect() as conn:
        row = conn.execute(text("SELECT detection_s, response_s, resolution_s FROM incident")).one()
    assert tuple(row) == (299.75, 720.0, 10800.0)
    upgraded.dispose()
