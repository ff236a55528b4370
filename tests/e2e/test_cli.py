"""The command line as an on-call engineer types it."""
import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
IR = str(BIN / "incident-response")


def ir(*args, db=None, check=True):
    command = [IR, *(("--db", db) if db else ()), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db(db_url):
    return db_url


def parse(iso):
    return datetime.fromisoformat(iso.rstrip("Z"))


SPEC_EXAMPLES = [
    ("critical", "outage", "production", "SEV-1", timedelta(minutes=15), "30m",
     ["leadership", "incident commander", "on-call engineer"]),
    ("high", "security", "production", "SEV-2", timedelta(hours=1), "2h", ["team lead", "on-call engineer"]),
    ("medium", "performance", "staging", "SEV-3", None, "1d", ["assigned team member"]),
    ("low", "data", "development", "SEV-4", None, "7d", ["normal prioritization"]),
]


@pytest.mark.parametrize("severity,itype,env,sev_id,within,cadence,escalation", SPEC_EXAMPLES)
def test_spec_examples_declare_incidents(db, policy, severity, itype, env, sev_id, within, cadence, escalation):
    incident_id = ir(severity, itype, env, "--no-tui", db=db).stdout.strip()
    assert incident_id.startswith("INC-") and len(incident_id) == len("INC-2024-0115-001")
    shown = json.loads(ir("show", incident_id, "--json", db=db).stdout)
    assert (shown["severity"], shown["type"], shown["environment"], shown["status"]) == (sev_id, itype, env,
                                                                                       "investigating")
    applied = shown["policy"]
    detected = parse(shown["detected_at"])
    level = policy.level(sev_id)
    expected_due = detected + within if within else policy.response_deadline(level, detected)
    # show --json rounds to the second; the deadline is computed from the exact time.
    assert abs(parse(applied["response_due_at"]) - expected_due) <= timedelta(seconds=1)
    assert applied["update_cadence"] == cadence
    assert abs(parse(applied["next_update_due_at"]) - (parse(shown["declared_at"]) + level.update_cadence)) <= timedelta(seconds=1)
    assert applied["escalation_targets"] == escalation
    assert [s["text"] for s in shown["checklist"]] == [s for p in policy.workflow(itype).phases for s in p.steps]
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
    assert markdown.startswith(f"# {incident}") and "- [x] 1. Confirm incident scope and impact" in markdown


BAD = [
    (["urgent", "outage", "production"], "unknown severity 'urgent'; accepted: critical, high, medium, low"),
    (["critical", "fire", "production"], "unknown type 'fire'; accepted: "),
    (["critical", "outage", "mars"], "unknown environment 'mars'; accepted: production, staging, development"),
    (["critical", "outage"], "the following arguments are required: environment"),
    (["show", "INC-2024-0101-999"], "no incident 'INC-2024-0101-999'; accepted: an id like"),
    (["ack", "nonsense"], "no incident 'nonsense'"),
    (["status", "{id}", "fixed"], "unknown status 'fixed'; accepted: investigating, identified, monitoring, resolved, closed"),
    (["status", "{id}", "closed"], "cannot move from investigating to closed; accepted from investigating:"),
    (["severity", "{id}", "sev9"], "unknown severity 'sev9'"),
    (["assign", "{id}", "boss", "x"], "unknown role 'boss'; accepted: incident_commander"),
    (["tick", "{id}", "77"], "has no step 77; accepted: 1..15"),
    (["list", "--severity", "huge"], "unknown severity 'huge'"),
    (["list", "--env", "moon"], "unknown environment 'moon'"),
    (["list", "--limit", "zero"], "argument --limit: invalid int value: 'zero'"),
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
    assert json.loads(ir("list", "--status", "all", "--json", db=db).stdout) == []
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
