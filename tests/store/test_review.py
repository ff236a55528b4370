"""Root cause analysis, post-incident review and action items in the store (SQLite and
PostgreSQL): each change is one transaction with one timeline event, the audit chain
stays intact, and closing a SEV-1/2 waits for a held review (as the policy says)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlmodel import select

from playbooks.errors import PolicyValueError
from store.audit import verify_chain
from store.errors import ChangeRefused, IncidentNotFound
from store.models import ActionItem, Notification, TimelineEvent
from store import review
from store.review_queries import open_action_items, pir_detail, rca_detail


def events(store, incident_id):
    with store.db.read() as session:
        return session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                            .order_by(TimelineEvent.seq)).all()


def count(store, incident_id):
    return len(events(store, incident_id))


def rca(store, incident_id):
    with store.db.read() as session:
        return rca_detail(session, store.policy, incident_id, store.now())


def pir(store, incident_id):
    with store.db.read() as session:
        return pir_detail(session, store.policy, incident_id, store.now())


@pytest.fixture
def incident(store):
    return store.declare("critical", "outage", "production", actor="alice", title="Checkout down")


def test_rca_fields_set_and_edited_each_with_one_event(store, incident):
    before = count(store, incident.id)
    review.update_rca(store, incident.id, actor="bob", root_cause="Database connection pool misconfiguration",
                      add_details=["Recent deployment changed default connection limits"],
                      impact="100% of users unable to check out", customers_affected="1,200", estimated_cost="45000")
    assert count(store, incident.id) == before + 1
    review.update_rca(store, incident.id, actor="bob", add_details=["Load testing missed production patterns"],
                      add_factors=["Inadequate load testing scenarios", "Missing monitoring for connections"])
    review.update_rca(store, incident.id, actor="carol", estimated_cost=None)
    last = events(store, incident.id)[-1]
    assert (last.kind, last.actor, last.summary) == ("rca_updated", "carol", "Root cause analysis: estimated cost updated")
    assert count(store, incident.id) == before + 3
    detail = rca(store, incident.id)
    assert detail["root_cause"] == {"summary": "Database connection pool misconfiguration", "determined": True,
                                    "details": ["Recent deployment changed default connection limits",
                                                "Load testing missed production patterns"]}
    assert detail["contributing_factors"] == ["Inadequate load testing scenarios", "Missing monitoring for connections"]
    assert detail["impact_assessment"]["customers_affected"] == 1200
    assert detail["impact_assessment"]["estimated_cost_text"] == "not estimated"
    assert detail["updated_by"] == "carol"
    # Whole lists replace; adding what is there already adds nothing.
    review.update_rca(store, incident.id, actor="bob", contributing_factors=["Only this one"],
                      add_details=["Recent deployment changed default connection limits"])
    assert rca(store, incident.id)["contributing_factors"] == ["Only this one"]
    assert len(rca(store, incident.id)["root_cause"]["details"]) == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"customers_affected": "many"}, "customers affected 'many' is not a count; accepted: a whole number from 0"),
    ({"estimated_cost": "-5"}, "estimated cost '-5' is not an amount; accepted: a number from 0"),
    ({}, "nothing to change in the root cause analysis; accepted:"),
    ({"root_cause": "x\x1b[2J"}, "contains the control character"),
])
def test_bad_rca_values_are_refused_and_write_nothing(store, incident, kwargs, message):
    before = count(store, incident.id)
    with pytest.raises(PolicyValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        review.update_rca(store, incident.id, actor="bob", **kwargs)
    assert count(store, incident.id) == before


def test_missing_incident_is_refused_in_one_sentence(store):
    for call in (lambda: review.update_rca(store, "INC-2024-0101-999", actor="a", root_cause="x"),
                 lambda: review.add_action_item(store, "INC-2024-0101-999", "x", actor="a", category="process"),
                 lambda: review.update_review(store, "INC-2024-0101-999", actor="a", held=True)):
        with pytest.raises(IncidentNotFound, match=r"^no incident 'INC-2024-0101-999'; accepted: an id like"):
            call()
    with pytest.raises(IncidentNotFound, match=r"^no action item '77'; accepted: a number from"):
        review.complete_action_item(store, 77, actor="a")


def test_action_items_add_update_complete_reopen(store, incident, clock):
    before = count(store, incident.id)
    item = review.add_action_item(store, incident.id, "Add connection pool alerting", actor="bob",
                                  category="[Immediate]", owner="alice", due="2024-01-25")
    assert (item.category, item.status, item.due_on) == ("immediate", "open", datetime(2024, 1, 25))
    review.update_action_item(store, item.id, actor="bob", owner="dave", status="in-progress")
    clock.advance(hours=1)
    done = review.complete_action_item(store, item.id, actor="dave")
    assert done.status == "done" and done.completed_at == clock.moment
    with pytest.raises(ChangeRefused, match="already has those values"):
        review.complete_action_item(store, item.id, actor="dave")
    reopened = review.reopen_action_item(store, item.id, actor="dave")
    assert reopened.status == "open" and reopened.completed_at is None
    kinds = [e.kind for e in events(store, incident.id)[before:]]
    assert kinds == ["action_item_added", "action_item_updated", "action_item_done", "action_item_reopened"]
    assert events(store, incident.id)[before].summary == \
        "Action item 1 [Immediate]: Add connection pool alerting (owner alice, due 2024-01-25)"


@pytest.mark.parametrize("kwargs,message", [
    ({"category": "someday"}, "category 'someday' is not known; accepted: immediate, short-term, long-term, process"),
    ({"category": "process", "due": "2024-13-01"}, "due date '2024-13-01' is not a date; accepted: YYYY-MM-DD"),
    ({"category": "process", "owner": "a\nb"}, "the owner contains the control character"),
])
def test_bad_action_items_are_refused(store, incident, kwargs, message):
    before = count(store, incident.id)
    with pytest.raises(PolicyValueError, match=message):
        review.add_action_item(store, incident.id, "Fix it", actor="bob", **kwargs)
    assert count(store, incident.id) == before


def test_open_action_items_across_incidents_overdue_first(store, incident, clock):
    other = store.declare("medium", "performance", "staging", actor="a", title="Slow search")
    later = review.add_action_item(store, incident.id, "Later", actor="a", category="long-term", due="2024-03-01")
    undated = review.add_action_item(store, other.id, "Undated", actor="a", category="process")
    due_today = review.add_action_item(store, other.id, "Due today", actor="a", category="short-term", due="2024-01-18")
    overdue = review.add_action_item(store, incident.id, "Overdue", actor="a", category="immediate", due="2024-01-17")
    finished = review.add_action_item(store, incident.id, "Finished", actor="a", category="immediate", due="2024-01-01")
    review.complete_action_item(store, finished.id, actor="a")
    with store.db.read() as session:
        rows = open_action_items(session, store.now())
        everything = open_action_items(session, store.now(), include_done=True)
    assert [r["id"] for r in rows] == [overdue.id, due_today.id, later.id, undated.id]
    assert [r["overdue"] for r in rows] == [True, False, False, False]  # due today is not late until tomorrow
    assert rows[0]["incident_title"] == "Checkout down" and rows[1]["severity"] == "SEV-3"
    assert finished.id in [r["id"] for r in everything] and not everything[-1]["overdue"]
    clock.advance(days=1)
    with store.db.read() as session:
        assert [r["id"] for r in open_action_items(session, store.now()) if r["overdue"]] == [overdue.id, due_today.id]


def test_review_schedule_attendees_notes_lessons_held(store, incident, clock):
    before = count(store, incident.id)
    review.update_review(store, incident.id, actor="carol", scheduled_at="2024-01-22T15:00:00Z")
    review.update_review(store, incident.id, actor="carol", facilitator="carol", add_attendees=["alice", "bob", "carol"],
                         notes={"1": "Declared within 5 minutes", "root": "Pool limits changed by deploy"},
                         add_lessons=["Load tests must mirror production"])
    review.update_review(store, incident.id, actor="carol", remove_attendees=["bob"])
    clock.moment = datetime(2024, 1, 22, 15, 40)
    review.update_review(store, incident.id, actor="carol", held=True)
    with pytest.raises(ChangeRefused, match="already held at 2024-01-22T15:40:00Z"):
        review.update_review(store, incident.id, actor="carol", held=True)
    kinds = [(e.kind, e.summary) for e in events(store, incident.id)[before:]]
    assert kinds[0] == ("review_updated", "Post-incident review scheduled for 2024-01-22 15:00 UTC")
    assert [k for k, _ in kinds] == ["review_updated", "review_updated", "review_updated", "review_held"]
    detail = pir(store, incident.id)["review"]
    assert detail["attendees"] == ["alice", "carol"] and detail["facilitator"] == "carol"
    assert detail["scheduled_at"] == "2024-01-22T15:00:00Z" and detail["held_at"] == "2024-01-22T15:40:00Z"
    assert [a["notes"] for a in detail["agenda"]] == ["Declared within 5 minutes", "Pool limits changed by deploy",
                                                      None, None, None]
    assert [(a["number"], a["title"], a["minutes"]) for a in detail["agenda"]] == [
        (1, "Incident Overview", 10), (2, "Root Cause Analysis", 20), (3, "Action Items", 15),
        (4, "Learning and Knowledge Sharing", 10), (5, "Follow-up Planning", 5)]
    with pytest.raises(PolicyValueError, match="agenda item '9' is not known; accepted: 1 \\(Incident Overview\\)"):
        review.update_review(store, incident.id, actor="carol", notes={"9": "x"})
    with pytest.raises(PolicyValueError, match="bob is not an attendee"):
        review.update_review(store, incident.id, actor="carol", remove_attendees=["bob"])


def test_every_review_change_keeps_the_audit_chain_intact(store, incident):
    review.update_rca(store, incident.id, actor="a", root_cause="x")
    item = review.add_action_item(store, incident.id, "y", actor="a", category="process")
    review.complete_action_item(store, item.id, actor="a")
    review.update_review(store, incident.id, actor="a", held=True, add_lessons=["z"])
    with store.db.read() as session:
        result = verify_chain(session)
    assert result.ok and result.events_checked == count(store, incident.id)
    assert rca(store, incident.id)["audit_trail"]["text"] == f"Audit trail: verified, {result.events_checked} events"


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_closing_a_sev1_or_sev2_needs_a_held_review(store, severity):
    incident = store.declare(severity, "outage", "production", actor="a")
    store.resolve(incident.id, actor="a")
    before = count(store, incident.id)
    with pytest.raises(ChangeRefused) as refused:
        store.close(incident.id, actor="a")
    assert str(refused.value) == (
        f"{incident.id} is {incident.severity} and needs a held post-incident review before it is closed; "
        f"accepted: hold the review (incident-response review {incident.id} --held) first")
    assert count(store, incident.id) == before
    review.update_review(store, incident.id, actor="a", scheduled_at="2024-01-19T10:00:00Z")
    with pytest.raises(ChangeRefused, match="needs a held post-incident review"):
        store.change_status(incident.id, "closed", actor="a")  # scheduled is not held
    review.update_review(store, incident.id, actor="a", held=True)
    assert store.close(incident.id, actor="a").status == "closed"


def test_closing_a_sev3_needs_no_review(store):
    incident = store.declare("medium", "performance", "production", actor="a")
    store.resolve(incident.id, actor="a")
    assert store.close(incident.id, actor="a").status == "closed"


def test_the_review_requirement_is_policy(store, tmp_path):
    """A user's severity.toml can require it for SEV-3 too, or drop it for SEV-1."""
    from playbooks import load_policy
    from store.operations import IncidentStore

    builtin = (__import__("pathlib").Path(__import__("playbooks").__file__).parent / "builtin" / "severity.toml").read_text()
    changed = builtin.replace('update_every = "30m"\nreview_required = true', 'update_every = "30m"\nreview_required = false')
    changed = changed.replace('update_every = "1d"\nreview_required = false', 'update_every = "1d"\nreview_required = true')
    assert changed != builtin
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "severity.toml").write_text(changed)
    custom = IncidentStore(store.db, load_policy(tmp_path / "playbooks"), store.clock)
    sev1 = custom.declare("critical", "outage", "production", actor="a")
    sev3 = custom.declare("medium", "outage", "production", actor="a")
    for incident in (sev1, sev3):
        custom.resolve(incident.id, actor="a")
    assert custom.close(sev1.id, actor="a").status == "closed"
    with pytest.raises(ChangeRefused, match=f"{sev3.id} is SEV-3 and needs a held post-incident review"):
        custom.close(sev3.id, actor="a")


def test_ticket_needs_jira_configured(store, incident):
    item = review.add_action_item(store, incident.id, "Alerting", actor="a", category="immediate")
    with pytest.raises(ChangeRefused, match=r"^Jira is not configured, so action items cannot become tickets; "
                                            r"accepted: an \[integrations.jira\] table in config.toml$"):
        review.ticket_action_item(store, item.id, actor="a")
    from automation.routing import route_by_matrix
    from store.operations import IncidentStore

    slack_only = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, {"slack"}))
    with pytest.raises(ChangeRefused, match="Jira is not configured"):
        review.ticket_action_item(slack_only, item.id, actor="a")


def test_ticket_writes_one_jira_message_with_the_item(store, incident):
    from automation.routing import route_by_matrix
    from store.operations import IncidentStore

    routed = IncidentStore(store.db, store.policy, store.clock,
                           router=route_by_matrix(store.policy, {"jira", "slack", "pagerduty"}))
    item = review.add_action_item(routed, incident.id, "Alerting", actor="a", category="immediate", owner="alice")
    with routed.db.read() as session:
        before = session.exec(select(Notification)).all()
    assert before == []  # adding an item (or editing the RCA) tells nobody
    review.ticket_action_item(routed, item.id, actor="bob")
    with pytest.raises(ChangeRefused, match="already on its way to Jira"):
        review.ticket_action_item(routed, item.id, actor="bob")
    with routed.db.read() as session:
        rows = session.exec(select(Notification)).all()[len(before):]
    assert [(r.integration, r.event) for r in rows] == [("jira", "action_item_ticket")]
    payload = json.loads(rows[0].payload)
    assert payload["action_item"]["title"] == "Alerting" and payload["action_item"]["owner"] == "alice"
    assert events(store, incident.id)[-1].kind == "action_item_ticket"
