"""The command line as an on-call engineer types it."""
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support import lifetime

BIN = Path(sys.executable).parent
IR = str(BIN / "incident-response")


def ir(*args, db=None, check=True, now=None):
    command = [IR, *(("--db", db) if db else ()), *args]
    env = dict(os.environ, **({"IR_NOW": now} if now else {}))
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db(db_url):
    return db_url


def parse(iso):
    return datetime.fromisoformat(iso.rstrip("Z"))


# Declared on Thursday 2024-01-18 at 15:00 UTC (business hours 09:00-17:00 UTC, Mon-Fri).
NOW = "2024-01-18T15:00:00Z"
SPEC_EXAMPLES = [
    ("critical", "outage", "production", "SEV-1", "2024-01-18T15:15:00Z", "2024-01-18T15:30:00Z", "30m",
     ["leadership", "incident commander", "on-call engineer"]),
    ("high", "security", "production", "SEV-2", "2024-01-18T16:00:00Z", "2024-01-18T17:00:00Z", "2h",
     ["team lead", "on-call engineer"]),
    # 4 business hours: 2 left on Thursday, 2 more from Friday 09:00.
    ("medium", "performance", "staging", "SEV-3", "2024-01-19T11:00:00Z", "2024-01-19T15:00:00Z", "1d",
     ["assigned team member"]),
    # 5 business days: Thursday to the next Thursday, same time of day.
    ("low", "data", "development", "SEV-4", "2024-01-25T15:00:00Z", "2024-01-25T15:00:00Z", "7d",
     ["normal prioritization"]),
]
SPEC_STEPS = {
    "outage": ["Confirm incident scope and impact", "Activate incident response team",
               "Establish communication channels", "Implement emergency procedures", "Begin status page updates",
               "Gather system metrics and logs", "Identify root cause hypothesis", "Test quick resolution strategies",
               "Escalate to additional teams if needed", "Document findings and actions", "Implement primary fix",
               "Verify system functionality", "Monitor for secondary issues", "Gradual traffic restoration",
               "Confirm full resolution"],
    "security": ["Isolate affected systems", "Preserve evidence and logs", "Notify security team and management",
                 "Activate security incident procedures", "Begin forensic data collection",
                 "Assess scope of compromise", "Identify attack vectors", "Evaluate data exposure",
                 "Determine legal/regulatory implications", "Coordinate with external parties if needed",
                 "Implement security controls", "Remove malicious elements", "Restore systems from clean backups",
                 "Apply security patches", "Enhance monitoring and detection"],
}


@pytest.mark.parametrize("severity,itype,env,sev_id,response_due,update_due,cadence,escalation", SPEC_EXAMPLES)
def test_spec_examples_declare_incidents(db, policy, severity, itype, env, sev_id, response_due, update_due, cadence,
                                         escalation):
    incident_id = ir(severity, itype, env, "--no-tui", db=db, now=NOW).stdout.strip()
    assert incident_id == "INC-2024-0118-001"
    shown = json.loads(ir("show", incident_id, "--json", db=db, now=NOW).stdout)
    assert (shown["severity"], shown["type"], shown["environment"], shown["status"]) == (sev_id, itype, env,
                                                                                       "investigating")
    assert shown["declared_at"] == shown["detected_at"] == NOW
    applied = shown["policy"]
    assert applied["response_due_at"] == response_due
    assert applied["next_update_due_at"] == update_due
    assert applied["update_cadence"] == cadence
    assert applied["escalation_targets"] == escalation
    steps = [s["text"] for s in shown["checklist"]]
    assert steps == SPEC_STEPS.get(itype, [s for p in policy.workflow(itype).phases for s in p.steps])
    assert len(steps) >= 12 and not any(s["done"] for s in shown["checklist"])
    assert shown["timeline"][0]["kind"] == "declared"


def test_declare_without_no_tui_shows_the_war_room_summary(db):
    out = ir("critical", "outage", "production", "--title", "Checkout down", "--service", "web", db=db).stdout
    assert "SEV-1 (critical)" in out and "Checkout down" in out and "[ ]  1. Confirm incident scope and impact" in out


def test_a_whole_incident_from_the_command_line(db, tmp_path):
    incident = ir("p1", "outage", "prod", "--no-tui", "--as", "alice", db=db).stdout.strip()
    ir("ack", incident, "--as", "bob", db=db)
    ir("assign", incident, "ic", "bob", db=db)
    assert "[x] 1. Confirm" in ir("tick", incident, "1", "activate", db=db).stdout
    ir("note", incident, "DB", "pool", "exhausted", db=db)
    update = ir("update", incident, "Fix deployed, monitoring recovery", "--affected", "All users", db=db).stdout
    assert update.startswith("🔴 [CRITICAL] Service Outage - Investigating")
    assert f"Incident ID: {incident}" in update and "Next Update:" in update
    ir("remediate", incident, "Database connection pool increased", db=db)
    ir("status", incident, "monitoring", db=db)
    ir("severity", incident, "high", db=db)
    ir("resolve", incident, db=db)
    refused = ir("close", incident, db=db, check=False)  # SEV-2: not before its post-incident review
    assert refused.returncode == 2 and "needs a held post-incident review" in refused.stderr
    ir("review", incident, "--held", db=db)
    ir("close", incident, db=db)
    shown = json.loads(ir("show", incident, "--json", db=db).stdout)
    assert shown["status"] == "closed" and shown["acknowledged_at"] and shown["closed_at"]
    assert [r["person"] for r in shown["roles"]] == ["bob"]
    assert {e["actor"] for e in shown["timeline"]} >= {"alice", "bob", "tester"}
    listed = json.loads(ir("list", "--status", "all", "--json", db=db).stdout)
    assert [row["id"] for row in listed] == [incident]
    assert json.loads(ir("list", "--json", db=db).stdout) == []
    assert ir("audit", "verify", db=db).stdout.startswith("audit ok:")
    markdown = ir("export", incident, "--format", "md", db=db).stdout
    assert markdown.startswith(f"# Handover: {incident}")
    assert "- [x] 1. Confirm incident scope and impact (tester)" in markdown


BAD = [
    (["urgent", "outage", "production"], "unknown severity 'urgent'; accepted: critical, high, medium, low"),
    (["critical", "fire", "production"], "unknown type 'fire'; accepted: "),
    (["critical", "outage", "mars"], "unknown environment 'mars'; accepted: production, staging, development"),

    (["show", "INC-2024-0101-999"], "no incident 'INC-2024-0101-999'; accepted: an id like"),
    (["ack", "nonsense"], "no incident 'nonsense'"),
    (["status", "{id}", "fixed"], "unknown status 'fixed'; accepted: investigating, identified, monitoring, resolved, closed"),
    (["status", "{id}", "closed"], "cannot move from investigating to closed; accepted from investigating:"),
    (["severity", "{id}", "sev9"], "unknown severity 'sev9'"),
    (["assign", "{id}", "boss", "x"], "unknown role 'boss'; accepted: incident_commander"),
    (["tick", "{id}", "77"], "has no step 77; accepted: 1..15"),
    (["list", "--severity", "huge"], "unknown severity 'huge'"),
    (["list", "--env", "moon"], "unknown environment 'moon'"),
    (["list", "--limit", "zero"], "argument --limit: invalid int value: 'zero'; accepted: incident-response list"),
    (["list", "--limit", "99999999999999999999"], "--limit 99999999999999999999 is out of range; accepted: 1 to"),
    (["tick", "{id}", "²"], "no step of"),
    (["remediate", "{id}", "--done", "99999999999999999999"], "has no remediation action"),
    (["note", "{id}", "x", "--as", ""], "the actor name (--as) is empty; accepted: some text"),
    (["critical", "outage", "production", "--title", "\x1b[31mRED"], "contains the control character '\\x1b'"),
    (["critical", "outage"], "required: environment; accepted: incident-response"),
    (["export", "{id}", "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
    (["note", "{id}", "  "], "the note is empty; accepted: some text"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    db = f"sqlite:///{tmp_path / 'incidents.db'}"
    incident = ir("high", "outage", "production", "--no-tui", db=db).stdout.strip()
    before = ir("show", incident, "--json", db=db).stdout
    count = len(json.loads(ir("list", "--status", "all", "--json", db=db).stdout))
    result = ir(*[a.replace("{id}", incident) for a in args], db=db, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert ir("show", incident, "--json", db=db).stdout == before
    assert len(json.loads(ir("list", "--status", "all", "--json", db=db).stdout)) == count


def test_unreachable_database_is_one_line(tmp_path):
    result = ir("list", db="postgresql://nobody@127.0.0.1:1/none", check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "database is unavailable" in result.stderr


def test_export_json_round_trips_through_import(tmp_path):
    source = f"sqlite:///{tmp_path / 'a.db'}"
    target = f"sqlite:///{tmp_path / 'b.db'}"
    incident = ir("critical", "outage", "production", "--no-tui", "--title", "Checkout down", db=source).stdout.strip()
    ir("resolve", incident, db=source)
    exported = tmp_path / "incident.json"
    ir("export", incident, "--format", "json", "-o", str(exported), db=source)
    assert "Imported 1 incident(s)" in ir("import", str(exported), db=target).stdout
    before = json.loads(exported.read_text())[0]
    after = json.loads(ir("show", incident, "--json", db=target).stdout)
    keys = ["id", "title", "severity", "type", "environment", "service", "status", "started_at", "detected_at",
            "declared_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at"]
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
    again = ir("import", str(exported), db=target, check=False)
    assert again.returncode == 2 and f"incident {incident} already exists" in again.stderr


def test_import_is_validated_whole_before_writing(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    good = {"title": "t", "severity": "p2", "type": "outage", "environment": "production", "status": "resolved",
            "detected_at": "2024-01-05T10:00:00Z", "declared_at": "2024-01-05T10:05:00Z",
            "acknowledged_at": "2024-01-05T10:09:00Z", "resolved_at": "2024-01-05T12:00:00Z"}
    bad = dict(good, acknowledged_at="2024-01-05T09:00:00Z")
    path = tmp_path / "history.json"
    path.write_text(json.dumps([good, bad]))
    result = ir("import", str(path), db=db, check=False)
    assert result.returncode == 2
    assert "incident 2: field acknowledged_at" in result.stderr or "incident 2: " in result.stderr
    assert "is before declared_at" in result.stderr
    assert not (tmp_path / "a.db").exists()  # nothing written, not even an empty database
    path.write_text(json.dumps([good, good]))
    ir("import", str(path), db=db)
    ids = [row["id"] for row in json.loads(ir("list", "--status", "all", "--json", db=db).stdout)]
    assert sorted(ids) == ["INC-2024-0105-001", "INC-2024-0105-002"]


def test_no_arguments_starts_on_the_embedded_default(tmp_path):
    # No --db and no IR_DATABASE_URL: the SQLite file in the XDG data dir.
    result = ir(check=True)
    assert "No incidents match." in result.stdout
    assert (tmp_path / "xdg_data_home" / "incident-response" / "incidents.db").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_starts_without_error(tmp_path):
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(["make", "-s", "run"], cwd=root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "No incidents match." in result.stdout or "INC-" in result.stdout


def test_title_that_is_a_command_word_still_declares(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    incident = ir("--title", "list", "high", "outage", "production", "--no-tui", db=db).stdout.strip()
    assert json.loads(ir("show", incident, "--json", db=db).stdout)["title"] == "list"


def test_bad_words_never_create_a_database(tmp_path, monkeypatch):
    default = tmp_path / "xdg_data_home" / "incident-response" / "incidents.db"
    assert ir("urgent", "outage", "production", check=False).returncode == 2
    assert not default.exists()


def test_a_mistyped_database_path_is_refused_for_reads(tmp_path):
    typo = tmp_path / "typo" / "incidnets.db"
    result = ir("list", db=f"sqlite:///{typo}", check=False)
    assert result.returncode == 2 and f"there is no database at {typo}" in result.stderr
    assert not typo.parent.exists()


def test_audit_verify_command_names_the_altered_event(tmp_path):
    import sqlite3

    path = tmp_path / "a.db"
    db = f"sqlite:///{path}"
    incident = ir("high", "outage", "production", "--no-tui", db=db).stdout.strip()
    ir("note", incident, "first look: DB", db=db)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE timeline_event SET summary = 'first look: DC' WHERE seq = 2")
    result = ir("audit", "verify", db=db, check=False)
    assert result.returncode == 1
    assert result.stdout.startswith(f"audit FAILED: timeline event #2 ({incident}, note at ")
    assert "was altered" in result.stdout
    report = json.loads(ir("audit", "verify", "--json", db=db, check=False).stdout)
    assert report["ok"] is False and report["seq"] == 2


IMPORT_ERRORS = [
    ({"id": "INC-2024-0105-001\n"}, "is not an incident id; accepted: INC-YYYY-MMDD-NNN"),
    ({"id": "INC-2024-1345-001"}, "with a real date"),
    ({"id": "INC-२०२४-0105-001"}, "is not an incident id"),
    ({"title": "\x1b]0;pwned\x07"}, "contains the control character"),
    ({"resolved_at": "2999-01-01T00:00:00Z"}, "field resolved_at (2999-01-01T00:00:00Z) is in the future"),
    ({"detected_at": "0001-01-01T00:30:00+01:00", "started_at": None}, "out of range"),
    ({"declared_at": "yesterday"}, "is not a timestamp; accepted: ISO 8601"),
    ({"severity": "urgent"}, "unknown severity 'urgent'"),
    ({"colour": "red"}, "field colour is not a known field; accepted: id, title"),
]


@pytest.mark.parametrize("change,message", IMPORT_ERRORS)
def test_import_errors_are_one_line_and_write_nothing(tmp_path, change, message):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    record = {"title": "t", "severity": "p2", "type": "outage", "environment": "production", "status": "resolved",
              "detected_at": "2024-01-05T10:00:00Z", "declared_at": "2024-01-05T10:05:00Z",
              "resolved_at": "2024-01-05T12:00:00Z"}
    record.update({k: v for k, v in change.items() if v is not None})
    for key in [k for k, v in change.items() if v is None]:
        record.pop(key, None)
    path = tmp_path / "history.json"
    path.write_text(json.dumps([record]))
    result = ir("import", str(path), db=db, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.db").exists()  # nothing written, not even an empty database


def test_import_allocates_around_ids_named_in_the_same_file(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    base = {"title": "t", "severity": "p2", "type": "outage", "environment": "production", "status": "resolved",
            "detected_at": "2024-01-05T10:00:00Z", "declared_at": "2024-01-05T10:05:00Z",
            "resolved_at": "2024-01-05T12:00:00Z"}
    path = tmp_path / "history.json"
    path.write_text(json.dumps([base, dict(base, id="INC-2024-0105-001")]))
    ir("import", str(path), db=db)
    ids = sorted(row["id"] for row in json.loads(ir("list", "--status", "all", "--json", db=db).stdout))
    assert ids == ["INC-2024-0105-001", "INC-2024-0105-002"]


def test_deeply_nested_import_is_refused(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = ir("import", str(path), db=db, check=False)
    assert result.returncode == 2 and "nested too deeply" in result.stderr


def test_status_update_shows_the_date_of_a_next_update_on_another_day(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    incident = ir("low", "data", "development", "--no-tui", db=db, now=NOW).stdout.strip()
    out = ir("update", incident, "Fix scheduled", db=db, now=NOW).stdout
    assert "Next Update: 2024-01-25 15:00 UTC" in out


def test_export_svg_and_html_write_files_where_asked(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    incident = ir("critical", "outage", "production", "--no-tui", "--title", "Checkout down", db=db).stdout.strip()
    ir("tick", incident, "1", db=db)
    out = tmp_path / "handover"
    ir("export", incident, "--format", "svg", "-o", f"{out}/", db=db)
    svg = (out / f"{incident}-war-room.svg").read_text()
    assert svg.startswith("<svg") and "Checkout" in svg and "Confirm" in svg
    ir("export", incident, "--format", "html", "-o", str(out / "h.html"), db=db)
    page = (out / "h.html").read_text()
    assert "<svg" in page and f"<h1>Handover: {incident}" in page and "Checklist by phase" in page


def test_serve_and_watch_commands_run_as_a_user_would(tmp_path):
    import signal
    import time

    import httpx

    from tests.support.postgres import free_port

    db = f"sqlite:///{tmp_path / 'a.db'}"
    port = free_port()
    env = dict(os.environ, IR_WEBHOOK_TOKEN="tok-123")
    server = lifetime.popen([IR, "--db", db, "serve", "--port", str(port)], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert "Listening on http://127.0.0.1:%d" % port in server.stdout.readline()
        body = {"key": "disk-full-db1", "status": "firing", "title": "Disk full on db1", "severity": "high",
                "type": "data", "environment": "production"}
        response = httpx.post(f"http://127.0.0.1:{port}/alerts/generic", json=body,
                              headers={"Authorization": "Bearer tok-123"}, timeout=10)
        assert response.status_code == 200 and response.json()["created"] is True
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    listed = json.loads(ir("list", "--json", db=db).stdout)
    assert [row["title"] for row in listed] == ["Disk full on db1"]
    # watch: host metrics stored with no configuration, stops by itself.
    started = time.monotonic()
    out = ir("watch", "--seconds", "3", db=db).stdout
    assert out.startswith("watching host; delivering to no integration; rules: critical_outage, security_anomaly")
    assert time.monotonic() - started < 30
    import sqlite3

    with sqlite3.connect(tmp_path / "a.db") as conn:
        metrics = {row[0] for row in conn.execute("SELECT DISTINCT metric FROM metric_sample WHERE source = 'host'")}
    assert {"cpu", "memory"} <= metrics


def test_serve_refuses_to_start_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("IR_WEBHOOK_TOKEN", "IR_WEBHOOK_SECRET")}
    result = subprocess.run([IR, "--db", f"sqlite:///{tmp_path / 'a.db'}", "serve", "--port", "1"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_declare_then_watch_delivers_to_pagerduty_and_no_secret_is_stored(tmp_path):
    from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake

    config = tmp_path / "config.toml"
    db_path = tmp_path / "a.db"
    with PagerDutyFake() as fake:
        config.write_text(f'[sources.host]\nenabled = false\n[integrations.pagerduty]\nurl = "{fake.url}"\n')
        env = dict(os.environ, IR_CONFIG=str(config), PAGERDUTY_ROUTING_KEY=ROUTING_KEY)
        run = lambda *a: subprocess.run([IR, "--db", f"sqlite:///{db_path}", *a], capture_output=True, text=True,
                                        env=env, timeout=60)
        fake.down(refuse=True)  # the commands' own attempt fails: `watch` delivers
        incident = run("critical", "outage", "production", "--no-tui", "--title", "Checkout down").stdout.strip()
        run("ack", incident)
        fake.up()
        watched = run("watch", "--seconds", "8")
        assert watched.returncode == 0, watched.stderr
        assert fake.actions(incident) == ["trigger", "acknowledge"]
        exported = run("export", incident, "--format", "json").stdout
    # The activity log (XDG state dir) says what the automation did, without the key.
    activity_log = Path(os.environ["XDG_STATE_HOME"]) / "incident-response" / "activity.jsonl"
    records = [json.loads(line) for line in activity_log.read_text().splitlines()]
    assert [(r["integration"], r["message_event"], r["outcome"]) for r in records if r["event"] == "delivery"] == [
        ("pagerduty", "declared", "retry"),  # the declare's own try; the ack's waits behind it (in order)
        ("pagerduty", "declared", "sent"), ("pagerduty", "acknowledged", "sent")]
    for blob in (db_path.read_bytes(), (tmp_path / "a.db-wal").read_bytes() if (tmp_path / "a.db-wal").exists() else b"",
                 exported.encode(), watched.stdout.encode(), watched.stderr.encode(), activity_log.read_bytes()):
        assert ROUTING_KEY.encode() not in blob
