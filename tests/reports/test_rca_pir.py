"""Acceptance (issue 6, line 2): the RCA and PIR exports of a sample incident contain every
section of the spec's templates, filled from the store, in md, html and json."""
from __future__ import annotations

import html as html_module
import json
from datetime import datetime

import pytest

from reports.pir import render_pir
from reports.rca import render_rca
from store import review
from store.review_queries import read_pir, read_rca

FORMATS = ("md", "html", "json")


@pytest.fixture
def sample(store, clock):
    """The spec's RCA example, lived through the store at a frozen clock (declared 14:30,
    resolved 15:45: 1h 15m), then analysed and reviewed."""
    clock.moment = datetime(2024, 1, 18, 14, 30)
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    clock.moment = datetime(2024, 1, 18, 14, 33)
    store.acknowledge(incident.id, actor="bob")
    clock.moment = datetime(2024, 1, 18, 14, 35)
    store.add_note(incident.id, "Database connection issues identified", actor="bob")
    store.post_status_update(incident.id, "We are investigating checkout errors", actor="carol")
    clock.moment = datetime(2024, 1, 18, 14, 50)
    store.change_status(incident.id, "identified", actor="bob")
    store.add_note(incident.id, "Root cause determined: connection pool exhaustion", actor="bob")
    store.tick(incident.id, ["1"], actor="bob")
    clock.moment = datetime(2024, 1, 18, 15, 5)
    action = store.start_remediation(incident.id, "Increased connection limits", actor="bob")
    clock.moment = datetime(2024, 1, 18, 15, 15)
    store.change_status(incident.id, "monitoring", actor="bob")
    store.finish_remediation(incident.id, action.id, actor="bob", outcome="errors back to baseline")
    clock.moment = datetime(2024, 1, 18, 15, 45)
    store.resolve(incident.id, actor="bob")
    clock.moment = datetime(2024, 1, 19, 9, 0)
    review.update_rca(store, incident.id, actor="carol", root_cause="Database connection pool misconfiguration",
                      add_details=["Recent deployment changed default connection limits",
                                   "Load testing didn't simulate production traffic patterns",
                                   "Monitoring alerts for connection pool health were missing"],
                      add_factors=["Inadequate load testing scenarios", "Missing monitoring for database connections",
                                   "Deployment checklist didn't include connection pool verification",
                                   "No automated rollback for database configuration changes"],
                      impact="100% of users unable to access application", customers_affected=1200,
                      estimated_cost=45000)
    for title, category, owner, due in (
            ("Add connection pool monitoring and alerting", "immediate", "alice", "2024-01-19"),
            ("Update load testing to include connection stress", "short-term", "bob", "2024-02-01"),
            ("Implement automated database configuration validation", "long-term", "dave", "2024-04-01"),
            ("Add database checklist items to deployment process", "process", "carol", None)):
        review.add_action_item(store, incident.id, title, actor="carol", category=category, owner=owner, due=due)
    review.update_review(store, incident.id, actor="carol", scheduled_at="2024-01-22T15:00:00Z", facilitator="erin",
                         add_attendees=["alice", "bob", "carol", "erin"],
                         notes={1: "Declared 0m after detection; first status update 5m later",
                                2: "Pool limit came from a library default after the upgrade",
                                3: "Four actions agreed, owners named",
                                4: "Load tests must replay production traffic",
                                5: "Review progress in the weekly ops meeting"},
                         add_lessons=["Configuration defaults change with upgrades", "Alert on saturation, not errors"])
    clock.moment = datetime(2024, 1, 22, 15, 40)
    review.update_review(store, incident.id, actor="erin", held=True)
    clock.moment = datetime(2024, 1, 23, 8, 0)
    with store.db.read() as session:
        return (read_rca(session, store.policy, incident.id, store.now()),
                read_pir(session, store.policy, incident.id, store.now()))


def _visible(fmt: str, text: str) -> str:
    """The text a reader sees: html unescaped (the quotes in "didn't" are entities there)."""
    return html_module.unescape(text) if fmt == "html" else text


RCA_EXPECTED = [
    # Incident Summary
    "ID: INC-2024-0118-001", "Severity: Critical (SEV-1)", "Duration: 1h 15m",
    "Impact: 100% of users unable to access application",
    # Timeline, from the store's events
    "14:30 - Incident declared as SEV-1: Checkout down", "14:33 - Acknowledged by bob",
    "14:35 - Database connection issues identified", "14:50 - Cause identified (status identified)",
    "14:50 - Root cause determined: connection pool exhaustion",
    "15:05 - Remediation started: Increased connection limits",
    "15:15 - Fix in place, monitoring recovery (status monitoring)",
    "15:15 - Remediation finished: Increased connection limits: errors back to baseline",
    "15:45 - Service restored, incident resolved", "2024-01-22 15:40 - Post-incident review completed",
    # Root Cause and its details
    "Root Cause: Database connection pool misconfiguration", "Recent deployment changed default connection limits",
    "Load testing didn't simulate production traffic patterns",
    "Monitoring alerts for connection pool health were missing",
    # Impact assessment
    "Customers affected: 1,200", "Estimated cost: 45,000.00 USD",
    "Time to acknowledge: 3m; time to resolve: 1h 15m",
    # Audit trail
    "Audit trail: verified, ",
]
RCA_NUMBERED = [
    ("Contributing Factors", ["Inadequate load testing scenarios", "Missing monitoring for database connections",
                              "Deployment checklist didn't include connection pool verification",
                              "No automated rollback for database configuration changes"]),
    ("Corrective Actions", [
        "[Immediate] Add connection pool monitoring and alerting (owner alice, due 2024-01-19, open, OVERDUE)",
        "[Short-term] Update load testing to include connection stress (owner bob, due 2024-02-01, open)",
        "[Long-term] Implement automated database configuration validation (owner dave, due 2024-04-01, open)",
        "[Process] Add database checklist items to deployment process (owner carol, no due date, open)"]),
]
RCA_SECTIONS = ["Incident Summary", "Timeline", "Root Cause", "Contributing Factors", "Corrective Actions",
                "Impact Assessment", "Audit Trail"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_rca_export_has_every_template_section_filled(sample, fmt):
    detail, _ = sample
    text = _visible(fmt, render_rca(detail, fmt))
    if fmt == "json":
        document = json.loads(text)
        assert document["summary"] == {"id": "INC-2024-0118-001", "title": "Checkout down", "severity": "Critical",
                                       "severity_id": "SEV-1", "duration": "1h 15m",
                                       "impact": "100% of users unable to access application"}
        assert [f"{line['time']} - {line['text']}" for line in document["timeline"]] == RCA_EXPECTED[4:14]
        assert document["root_cause"]["summary"] == "Database connection pool misconfiguration"
        assert document["root_cause"]["details"] == [e for e in RCA_EXPECTED[15:18]]
        assert document["contributing_factors"] == RCA_NUMBERED[0][1]
        assert [f"[{a['tag']}] {a['title']}" for a in document["corrective_actions"]] == \
            [line.split(" (owner")[0] for line in RCA_NUMBERED[1][1]]
        assert [(a["owner"], a["due_on"], a["status"]) for a in document["corrective_actions"]] == [
            ("alice", "2024-01-19", "open"), ("bob", "2024-02-01", "open"), ("dave", "2024-04-01", "open"),
            ("carol", None, "open")]
        assessment = document["impact_assessment"]
        assert (assessment["duration"], assessment["customers_affected"], assessment["estimated_cost"],
                assessment["currency"]) == ("1h 15m", 1200, 45000.0, "USD")
        assert document["audit_trail"]["ok"] is True
        assert document["audit_trail"]["text"] == f"Audit trail: verified, {document['audit_trail']['events_checked']} events"
        return
    heading = "## {}" if fmt == "md" else "<h2>{}</h2>"
    for section in RCA_SECTIONS:
        assert heading.format(section) in text, section
    for expected in RCA_EXPECTED:
        assert expected in text, expected
    assert f"Audit trail: verified, {detail.audit_trail.events_checked} events" in text
    for section, items in RCA_NUMBERED:
        block = text.split(heading.format(section))[1]
        for number, item in enumerate(items, 1):
            assert (f"{number}. {item}" if fmt == "md" else f"<li>{item}</li>") in block, item
        if fmt == "html":
            assert block.lstrip().startswith("<ol>")
    # Only what matters is on the RCA's timeline: no checklist ticks, no review bookkeeping.
    assert "Confirm incident scope" not in text and "Action item 1" not in text


def test_rca_says_when_cost_is_not_estimated_and_when_the_audit_fails(store, clock):
    incident = store.declare("high", "data", "production", actor="a", title="Stale exports")
    with store.db.read() as session:
        detail = read_rca(session, store.policy, incident.id, store.now())
    text = render_rca(detail, "md")
    assert "Estimated cost: not estimated" in text and "Duration: 0m so far (ongoing)" in text
    assert "Root Cause: not determined yet" in text
    from sqlalchemy import text as sql

    with store.db.write() as session:
        session.execute(sql("UPDATE timeline_event SET summary = 'edited' WHERE seq = 1"))
    with store.db.read() as session:
        broken = render_rca(read_rca(session, store.policy, incident.id, store.now()), "md")
    assert "Audit trail: verification FAILED after 0 events: timeline event #1" in broken


PIR_AGENDA = [
    ("1. Incident Overview (10 minutes)", ["Timeline and impact summary", "Response effectiveness evaluation",
                                           "Communication assessment"],
     "Declared 0m after detection; first status update 5m later"),
    ("2. Root Cause Analysis (20 minutes)", ["Technical root cause discussion", "Contributing factors review",
                                             "Detection and response gaps"],
     "Pool limit came from a library default after the upgrade"),
    ("3. Action Items (15 minutes)", ["Immediate remediation tasks", "Process improvements", "Technology enhancements",
                                      "Responsibility assignments"], "Four actions agreed, owners named"),
    ("4. Learning and Knowledge Sharing (10 minutes)", ["Key lessons learned", "Best practices identified",
                                                        "Knowledge transfer needs", "Documentation updates"],
     "Load tests must replay production traffic"),
    ("5. Follow-up Planning (5 minutes)", ["Action item tracking", "Progress review schedule",
                                           "Success metrics definition"], "Review progress in the weekly ops meeting"),
]
PIR_EXPECTED = ["Scheduled: 2024-01-22 15:00 UTC", "Held: 2024-01-22 15:40 UTC", "Facilitator: erin",
                "Attendees: alice, bob, carol, erin", "Agenda (60 minutes)",
                "Configuration defaults change with upgrades", "Alert on saturation, not errors",
                "Incident: INC-2024-0118-001, Critical (SEV-1), duration 1h 15m"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_pir_export_has_the_agenda_with_time_boxes_notes_people_and_actions(sample, fmt):
    _, detail = sample
    text = _visible(fmt, render_pir(detail, fmt))
    if fmt == "json":
        document = json.loads(text)
        agenda = document["review"]["agenda"]
        assert [f"{a['number']}. {a['title']} ({a['minutes']} minutes)" for a in agenda] == [a[0] for a in PIR_AGENDA]
        assert [a["topics"] for a in agenda] == [a[1] for a in PIR_AGENDA]
        assert [a["notes"] for a in agenda] == [a[2] for a in PIR_AGENDA]
        assert document["total_minutes"] == 60
        review_part = document["review"]
        assert (review_part["scheduled_at"], review_part["held_at"], review_part["facilitator"]) == (
            "2024-01-22T15:00:00Z", "2024-01-22T15:40:00Z", "erin")
        assert review_part["attendees"] == ["alice", "bob", "carol", "erin"]
        assert review_part["lessons_learned"] == ["Configuration defaults change with upgrades",
                                                  "Alert on saturation, not errors"]
        assert [(a["category"], a["owner"], a["due_on"], a["status"]) for a in document["action_items"]] == [
            ("immediate", "alice", "2024-01-19", "open"), ("short-term", "bob", "2024-02-01", "open"),
            ("long-term", "dave", "2024-04-01", "open"), ("process", "carol", None, "open")]
        assert document["action_items"][0]["overdue"] is True  # due the 19th, read on the 23rd
        return
    heading = {"md": "### {}", "html": "<h3>{}</h3>"}[fmt]
    for title, topics, notes in PIR_AGENDA:
        block = text.split(heading.format(title))[1].split("<h3>" if fmt == "html" else "### ")[0]
        for topic in topics:
            assert topic in block
        assert f"Notes: {notes}" in block
    for section in ("Lessons Learned", "Action Items"):
        assert ("## " if fmt == "md" else "<h2>") + section in text
    for expected in PIR_EXPECTED:
        assert expected in text, expected
    actions = text.split("Action Items")[-1]
    assert "[Immediate] Add connection pool monitoring and alerting (owner alice, due 2024-01-19, open, OVERDUE)" in actions
    assert "[Process] Add database checklist items to deployment process (owner carol, no due date, open)" in actions


def test_exports_are_self_contained_and_escape_what_people_typed(store):
    incident = store.declare("low", "data", "development", actor="a", title="<script>alert(1)</script>")
    review.update_rca(store, incident.id, actor="a", root_cause="<img src=x onerror=alert(1)>")
    with store.db.read() as session:
        page = render_rca(read_rca(session, store.policy, incident.id, store.now()), "html")
        pir_page = render_pir(read_pir(session, store.policy, incident.id, store.now()), "html")
    for document in (page, pir_page):
        assert document.startswith("<!doctype html>") and "<style>" in document
        assert "<script" not in document and "<img" not in document and "src=\"http" not in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
