"""After the incident, from the shell: rca, review, action and actions as a user types them."""
from __future__ import annotations

import json

import pytest

from tests.e2e.test_cli import ir

NOW = "2024-01-18T14:30:00Z"


@pytest.fixture
def db(db_url):
    return db_url


def test_rca_review_and_action_items_from_the_command_line(db, tmp_path):
    incident = ir("critical", "outage", "production", "--no-tui", "--title", "Checkout down", db=db, now=NOW).stdout.strip()
    ir("resolve", incident, db=db, now="2024-01-18T15:45:00Z")
    out = ir("rca", incident, "--root-cause", "Database connection pool misconfiguration",
             "--detail", "Recent deployment changed default connection limits", "--factor", "Inadequate load testing",
             "--factor", "Missing monitoring for database connections", "--impact", "100% of users unable to check out",
             "--customers", "1200", "--cost", "45000", db=db, now="2024-01-19T09:00:00Z").stdout
    assert out.startswith(f"Root cause analysis of {incident} updated (root cause, impact, customers affected")
    added = ir("action", "add", incident, "Add", "pool", "alerting", "--category", "immediate", "--owner", "alice",
               "--due", "2024-01-19", db=db, now=NOW).stdout
    assert added.strip() == f"Action item 1 added to {incident}: [Immediate] Add pool alerting"
    ir("action", "add", incident, "Checklist for pool settings", "--category", "process", db=db, now=NOW)
    listed = ir("actions", db=db, now="2024-01-23T08:00:00Z").stdout.splitlines()
    assert listed[0] == "2 action item(s), 1 overdue"
    assert listed[1].split() [:3] == ["1", "OVERDUE", incident]
    as_json = json.loads(ir("actions", "--json", db=db, now="2024-01-23T08:00:00Z").stdout)
    assert [(row["id"], row["overdue"], row["category"]) for row in as_json] == [(1, True, "immediate"),
                                                                                (2, False, "process")]
    assert ir("action", "done", "1", db=db, now=NOW).stdout.strip() == "Action item 1 done: Add pool alerting"
    assert [row["id"] for row in json.loads(ir("actions", "--json", db=db).stdout)] == [2]
    assert [row["id"] for row in json.loads(ir("actions", "--all", "--json", db=db).stdout)] == [2, 1]
    ir("action", "reopen", "1", db=db)
    ir("action", "edit", "2", "--owner", "bob", "--due", "2024-02-01", "--status", "in-progress", db=db)

    refused = ir("close", incident, db=db, check=False)
    assert refused.returncode == 2 and refused.stderr.strip() == (
        f"incident-response: {incident} is SEV-1 and needs a held post-incident review before it is closed; "
        f"accepted: hold the review (incident-response review {incident} --held) first")
    ir("review", incident, "--at", "2024-01-22T15:00:00Z", "--facilitator", "erin", "--attendee", "alice",
       "--attendee", "bob", "--note", "1=Declared in 5 minutes", "--note", "root=Pool defaults changed",
       "--lesson", "Load tests must mirror production", db=db, now=NOW)
    held = ir("review", incident, "--held", db=db, now="2024-01-22T15:40:00Z").stdout
    assert held.strip() == f"Post-incident review of {incident} updated (held 2024-01-22 15:40 UTC)"
    ir("close", incident, db=db, now="2024-01-22T16:00:00Z")

    rca_md = ir("rca", incident, db=db, now="2024-01-23T08:00:00Z").stdout
    for expected in ("- Severity: Critical (SEV-1)", "- Duration: 1h 15m", "- 14:30 - Incident declared as SEV-1: Checkout down",
                     "- 15:45 - Service restored, incident resolved", "Root Cause: Database connection pool misconfiguration",
                     "1. Inadequate load testing", "1. [Immediate] Add pool alerting (owner alice, due 2024-01-19, open, OVERDUE)",
                     "2. [Process] Checklist for pool settings (owner bob, due 2024-02-01, in-progress)",
                     "- Estimated cost: 45,000.00 USD", "Audit trail: verified, "):
        assert expected in rca_md, expected
    wrote = ir("rca", incident, "--export", "html", "-o", f"{tmp_path}/docs/", db=db).stdout.strip()
    assert wrote == f"Wrote {tmp_path}/docs/{incident}-rca.html"
    assert "<h2>Root Cause</h2>" in (tmp_path / "docs" / f"{incident}-rca.html").read_text()
    pir = json.loads(ir("review", incident, "--export", "json", db=db).stdout)
    assert [a["notes"] for a in pir["review"]["agenda"]] == ["Declared in 5 minutes", "Pool defaults changed",
                                                              None, None, None]
    assert pir["review"]["attendees"] == ["alice", "bob"] and pir["review"]["held_at"] == "2024-01-22T15:40:00Z"
    assert ir("audit", "verify", db=db).stdout.startswith("audit ok:")


BAD = [
    (["rca", "{id}", "--customers", "lots"], "customers affected 'lots' is not a count; accepted: a whole number from 0"),
    (["rca", "{id}", "--export", "pdf"], "--export pdf is not a format; accepted: md, html, json"),
    (["rca", "INC-2024-0101-999", "--root-cause", "x"], "no incident 'INC-2024-0101-999'; accepted: an id like"),
    (["review", "{id}", "--note", "nothing"], "--note 'nothing' is not ITEM=TEXT; accepted:"),
    (["review", "{id}", "--note", "7=x"], "agenda item '7' is not known; accepted: 1 (Incident Overview)"),
    (["review", "{id}", "--at", "next monday"], "review time 'next monday' is not a time; accepted: ISO 8601"),
    (["action", "add", "{id}", "Fix", "--category", "soon"], "category 'soon' is not known; accepted: immediate, short-term"),
    (["action", "add", "{id}", "Fix"], "action add needs --category; accepted: immediate, short-term, long-term, process"),
    (["action", "add", "{id}", "Fix", "--category", "process", "--due", "2024-13-01"],
     "due date '2024-13-01' is not a date; accepted: YYYY-MM-DD"),
    (["action", "done", "42"], "no action item '42'; accepted: a number from `incident-response actions --all`"),
    (["action", "finish", "1"], "action 'finish' is not known; accepted: add, done, reopen, ticket, edit"),
    (["action", "ticket", "1"], "Jira is not configured, so action items cannot become tickets; accepted: an "
                                "[integrations.jira] table in config.toml"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a[:3]) for a, _ in BAD])
def test_wrong_input_is_one_line_exit_2_and_writes_nothing(db, argv, message):
    incident = ir("high", "outage", "production", "--no-tui", db=db, now=NOW).stdout.strip()
    ir("action", "add", incident, "First", "--category", "immediate", db=db, now=NOW)
    before = json.loads(ir("show", incident, "--json", db=db).stdout)["timeline"]
    result = ir(*[word.replace("{id}", incident) for word in argv], db=db, check=False, now=NOW)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"incident-response: {message}"), result.stderr
    assert json.loads(ir("show", incident, "--json", db=db).stdout)["timeline"] == before
