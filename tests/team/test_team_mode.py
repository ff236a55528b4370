"""Team mode as engineers use it: every command on `IR_DATABASE_URL=postgresql://...`
(no --db), each writing process waking the others' listeners through NOTIFY; `watch`
and `serve` on the same server; and a schema-1 PostgreSQL database upgraded by the
program itself, rows intact."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text

from store import migrations
from store.database import open_database
from store.notifications import CHANNEL, connect_kwargs
from tests.support import lifetime

pytestmark = pytest.mark.postgres

IR = str(Path(sys.executable).parent / "incident-response")


@pytest.fixture
def team(postgres_url, tmp_path):
    """The environment of an engineer on any host of the team: only IR_DATABASE_URL set."""
    config = tmp_path / "config.toml"
    config.write_text("[sources.host]\nenabled = false\n")  # `watch` samples only when asked below
    return dict(os.environ, IR_DATABASE_URL=postgres_url, IR_CONFIG=str(config))


def ir(env, *args, who="alice", check=True):
    result = subprocess.run([IR, *args, "--as", who] if args and args[0] not in ("list", "show", "audit", "watch")
                            else [IR, *args], capture_output=True, text=True, timeout=60, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def listener(postgres_url):
    """Another host's command center, reduced to its LISTEN connection."""
    open_database(postgres_url).dispose()  # schema in place
    db = open_database(postgres_url, migrate=False)
    conn = psycopg.connect(autocommit=True, **connect_kwargs(db))
    conn.execute(f"LISTEN {CHANNEL}")
    yield lambda: [int(n.payload) for n in conn.notifies(timeout=0.3)]
    conn.close()
    db.dispose()


def test_cli_writes_on_postgresql_wake_the_other_hosts(team, listener, postgres_url, policy):
    from store.queries import incident_detail
    from store.operations import IncidentStore

    incident = ir(team, "critical", "outage", "production", "--title", "Checkout down", "--no-tui").stdout.strip()
    assert incident.startswith("INC-")
    assert listener() == [1]  # declared: one event, one notice carrying its seq
    assert "acknowledged by bob" in ir(team, "ack", incident, who="bob").stdout
    ir(team, "tick", incident, "1", "2", who="carol")
    ir(team, "note", incident, "DB pool at max connections", who="bob")
    assert listener() == [2, 4, 5]  # one notice per command, at the seq it ended on
    refused = ir(team, "ack", incident, who="dave", check=False)
    assert refused.returncode == 2 and "already acknowledged" in refused.stderr
    assert listener() == []  # refused: nothing written, nobody woken
    store = IncidentStore(open_database(postgres_url), policy)
    with store.db.read() as session:
        detail = incident_detail(session, policy, incident, store.now())
    store.db.dispose()
    assert [(e["actor"], e["kind"]) for e in detail["timeline"]] == [
        ("alice", "declared"), ("bob", "acknowledged"), ("carol", "step_done"), ("carol", "step_done"),
        ("bob", "note")]


def test_cli_changes_and_reads_on_postgresql(team, listener, postgres_url, policy):
    from store.operations import IncidentStore

    store = IncidentStore(open_database(postgres_url), policy)
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down").id
    store.tick(incident, ["1", "2"], actor="carol")
    store.db.dispose()
    assert listener() == [1, 3]  # two transactions, two notices
    ir(team, "severity", incident, "high", who="alice")
    ir(team, "status", incident, "identified", who="alice")  # acknowledges too: two events
    assert listener() == [4, 6]
    shown = json.loads(ir(team, "show", incident, "--json").stdout)
    assert (shown["severity"], shown["status"], shown["acknowledged_at"] is not None) == ("SEV-2", "identified", True)
    assert [s["done"] for s in shown["checklist"][:3]] == [True, True, False]
    assert [(e["actor"], e["kind"]) for e in shown["timeline"]][-3:] == [
        ("alice", "severity_changed"), ("alice", "acknowledged"), ("alice", "status_changed")]
    listed = json.loads(ir(team, "list", "--json").stdout)
    assert [(row["id"], row["title"], row["severity"]) for row in listed] == [(incident, "Checkout down", "SEV-2")]
    assert ir(team, "audit", "verify").stdout.startswith("audit ok: 6 timeline events")


def test_watch_and_serve_run_on_postgresql(team, listener, tmp_path):
    from tests.support.postgres import free_port

    port = free_port()
    env = dict(team, IR_WEBHOOK_TOKEN="tok-123")
    server = lifetime.popen([IR, "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert f"Listening on http://127.0.0.1:{port}" in server.stdout.readline()
        body = {"key": "disk-full-db1", "status": "firing", "title": "Disk full on db1", "severity": "high",
                "type": "data", "environment": "production"}
        response = httpx.post(f"http://127.0.0.1:{port}/alerts/generic", json=body,
                              headers={"Authorization": "Bearer tok-123"}, timeout=10)
        assert response.status_code == 200 and response.json()["created"] is True
        assert listener() != []  # the receiver's incident woke the other hosts too
        refused = httpx.post(f"http://127.0.0.1:{port}/alerts/generic", json=body, timeout=10)
        assert refused.status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    listed = json.loads(ir(team, "list", "--json").stdout)
    assert [row["title"] for row in listed] == ["Disk full on db1"]

    # watch: this host's metrics go to the shared server; it stops by itself.
    config = tmp_path / "watch.toml"
    config.write_text("")  # host sampling on (the default)
    watched = ir(dict(team, IR_CONFIG=str(config)), "watch", "--seconds", "3")
    assert watched.stdout.startswith("watching host;")
    with psycopg.connect(autocommit=True, **connect_kwargs(open_database(team["IR_DATABASE_URL"],
                                                                          migrate=False))) as conn:
        metrics = {row[0] for row in conn.execute("SELECT DISTINCT metric FROM metric_sample WHERE source = 'host'")}
    assert {"cpu", "memory"} <= metrics
    assert listener() == []  # samples are not timeline events: nobody is woken for them


def test_a_schema_one_postgresql_database_is_upgraded_by_the_program_with_its_rows(postgres_url, team):
    from store.audit import event_hash
    from store.migrations.v0001_initial import GENESIS_HASH

    db = open_database(postgres_url, migrate=False)
    with db.write_engine.begin() as conn:
        assert migrations.migrate(conn, target=1) == 1
        # What a release-1 program wrote (raw SQL: today's models know newer columns) ...
        conn.execute(text(
            "INSERT INTO incident (id, title, severity, type, environment, status, version, declared_by, is_drill, "
            "detected_at, declared_at, response_due_at) VALUES ('INC-2024-0101-001', 'old one', 'SEV-2', 'outage', "
            "'production', 'investigating', 1, 'alice', false, '2024-01-01 10:00:00', '2024-01-01 10:00:00', "
            "'2024-01-01 11:00:00')"))
        # ... with its event on the chain, hashed as release 1 hashed it (today's models and
        # the state today's chain records know newer columns).
        from datetime import datetime

        at, summary = datetime(2024, 1, 1, 10), "Declared SEV-2 (high) outage in production: old one"
        digest = event_hash(GENESIS_HASH, 1, "INC-2024-0101-001", at, "alice", "declared", summary, "{}")
        conn.execute(text("INSERT INTO timeline_event (seq, incident_id, at, actor, kind, summary, data, prev_hash, "
                          "hash) VALUES (1, 'INC-2024-0101-001', :at, 'alice', 'declared', :summary, '{}', :prev, "
                          ":hash)"), {"at": at, "summary": summary, "prev": GENESIS_HASH, "hash": digest})
        conn.execute(text("UPDATE chain_head SET last_seq = 1, last_hash = :hash WHERE id = 1"), {"hash": digest})
    db.dispose()

    # The current program, as a user starts it: the first command brings the schema to head.
    listed = json.loads(ir(team, "list", "--json", "--status", "all").stdout)
    assert [(row["id"], row["title"], row["severity"]) for row in listed] == [("INC-2024-0101-001", "old one", "SEV-2")]
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == migrations.head_version()
    ir(team, "note", "INC-2024-0101-001", "still workable after the upgrade", who="bob")
    shown = json.loads(ir(team, "show", "INC-2024-0101-001", "--json").stdout)
    assert [e["kind"] for e in shown["timeline"]] == ["declared", "note"]
    assert ir(team, "audit", "verify").stdout.startswith("audit ok: 2 timeline events")
