"""Acceptance 4 of issue 6: import rejects a file with any invalid record, naming the
record and the field, and writes nothing (both backends; counted row by row)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.models import ChecklistStep, Incident, TimelineEvent
from store.transfer import ImportError_, import_file

GOOD = {"title": "Checkout 5xx", "severity": "high", "type": "outage", "environment": "production",
        "status": "resolved", "started_at": "2024-01-05T09:55:00Z", "detected_at": "2024-01-05T10:00:00Z",
        "declared_at": "2024-01-05T10:05:00Z", "acknowledged_at": "2024-01-05T10:09:00Z",
        "resolved_at": "2024-01-05T12:00:00Z"}


def five_with(third: dict) -> list[dict]:
    return [dict(GOOD, title=f"record {n}") for n in (1, 2)] + [third] + [dict(GOOD, title=f"record {n}")
                                                                          for n in (4, 5)]


def counts(store) -> tuple[int, int, int]:
    with store.db.read() as session:
        return tuple(session.execute(select(func.count()).select_from(table)).scalar_one()
                     for table in (Incident, ChecklistStep, TimelineEvent))


@pytest.fixture
def populated(store, clock):
    clock.moment = datetime(2024, 2, 1, 12, 0)
    store.declare("critical", "outage", "production", actor="alice", title="already here")
    return store


CASES = [
    (dict(GOOD, severity="urgent"),
     "incident 3: field severity: unknown severity 'urgent'; accepted: critical, high, medium, low"),
    (dict(GOOD, acknowledged_at="2024-01-05T10:01:00Z"),
     "incident 3: field acknowledged_at (2024-01-05T10:01:00Z) is before declared_at (2024-01-05T10:05:00Z); "
     "accepted: started_at <= detected_at <= declared_at <= acknowledged_at"),
    (dict(GOOD, started_at="2024-01-05T10:30:00Z"),
     "incident 3: field detected_at (2024-01-05T10:00:00Z) is before started_at (2024-01-05T10:30:00Z)"),
    (dict(GOOD, resolved_at="next tuesday"), "incident 3: field resolved_at ('next tuesday') is not a timestamp"),
    ({k: v for k, v in GOOD.items() if k != "detected_at"}, "incident 3: field detected_at is required"),
    (dict(GOOD, type="meteor"), "incident 3: field type: unknown type 'meteor'"),
    (dict(GOOD, environment="moon"), "incident 3: field environment: unknown environment 'moon'"),
    (dict(GOOD, status="fixed"), "incident 3: field status: unknown status 'fixed'"),
    (dict(GOOD, title=42), "incident 3: field title has the wrong type; accepted: a string"),
]


@pytest.mark.parametrize("third,message", CASES, ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_a_bad_third_record_of_five_is_named_with_its_field_and_nothing_is_written(populated, tmp_path, third,
                                                                                  message):
    store = populated
    path = tmp_path / "history.json"
    path.write_text(json.dumps(five_with(third)))
    before = counts(store)
    with pytest.raises(ImportError_) as raised:
        import_file(store, path, actor="historian")
    assert str(raised.value).startswith(f"{path}: {message}"), str(raised.value)
    assert counts(store) == before == (1, 15, 1)


@pytest.mark.parametrize("document", ['{"title": "one incident"}', '"incidents"', "42", "null", "true"])
def test_a_top_level_that_is_not_a_list_is_refused(populated, tmp_path, document):
    path = tmp_path / "history.json"
    path.write_text(document)
    before = counts(populated)
    with pytest.raises(ImportError_, match="the top level is not a list; accepted: a list of incident objects"):
        import_file(populated, path, actor="historian")
    assert counts(populated) == before


def test_a_record_that_is_not_an_object_is_named(populated, tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([GOOD, GOOD, ["not", "an", "object"], GOOD, GOOD]))
    with pytest.raises(ImportError_, match=r"incident 3 is not an object; accepted: a list of incident objects"):
        import_file(populated, path, actor="historian")
    assert counts(populated) == (1, 15, 1)


def test_a_conflict_found_while_writing_rolls_back_the_records_before_it(populated, tmp_path):
    """Record 4 names an id that exists: records 1-3 were already added in the same
    transaction and must be gone too."""
    existing = "INC-2024-0201-001"
    path = tmp_path / "history.json"
    records = [dict(GOOD, title=f"record {n}") for n in range(1, 6)]
    records[3]["id"] = existing
    path.write_text(json.dumps(records))
    with pytest.raises(ImportError_, match=f"incident {existing} already exists"):
        import_file(populated, path, actor="historian")
    assert counts(populated) == (1, 15, 1)


def test_the_cli_says_it_in_one_line_and_writes_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    ir = str(Path(sys.executable).parent / "incident-response")
    env = dict(os.environ, IR_NOW="2024-02-01T12:00:00Z")
    subprocess.run([ir, "--db", db, "critical", "outage", "production", "--no-tui"], check=True, env=env,
                   capture_output=True)
    path = tmp_path / "history.json"
    path.write_text(json.dumps(five_with(dict(GOOD, severity="urgent"))))
    result = subprocess.run([ir, "--db", db, "import", str(path)], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"incident-response: {path}: incident 3: field severity: unknown severity 'urgent'; accepted: critical, high, "
        "medium, low (or SEV-1..SEV-4, sev1..sev4, p1..p4, 1..4)"]
    listed = subprocess.run([ir, "--db", db, "list", "--status", "all", "--json"], capture_output=True, text=True,
                            env=env, check=True)
    assert len(json.loads(listed.stdout)) == 1
