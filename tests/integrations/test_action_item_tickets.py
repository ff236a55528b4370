"""Action items become Jira tickets through the outbox: the Jira contract fake receives one
issue per action item (ADF description, labels), the key lands on the action item, a
re-send after a lost answer finds the issue instead of filing it twice, and the incident's
own Jira issue (if any) is left alone."""
from __future__ import annotations

import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.notifiers import notifiers_from_config
from playbooks.config import parse_configuration
from automation.routing import route_by_matrix
from store import review
from store.models import ActionItem, Notification, TimelineEvent, VendorReference
from store.operations import IncidentStore
from tests.support import jira_fake
from tests.support.jira_fake import JiraFake

ITEMS = [("Add connection pool monitoring and alerting", "immediate", "alice", "2024-01-25"),
         ("Update load testing to include connection stress", "short-term", "bob", "2024-02-15"),
         ("Implement automated database configuration validation", "long-term", None, None),
         ("Add database checklist items to deployment process", "process", "carol", "2024-02-01")]


@pytest.fixture
def jira(monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", jira_fake.API_TOKEN)
    with JiraFake() as server:
        yield server


@pytest.fixture
def routed(store, jira):
    # No incident ticket here (tests/integrations/test_ticket_lifecycle.py has those): only action items.
    configuration = parse_configuration({"integrations": {"jira": {
        "url": jira.url, "project_key": "OPS", "auto_ticket_creation": False}}})
    notifiers = notifiers_from_config(configuration)
    routed = IncidentStore(store.db, store.policy, store.clock,
                           router=route_by_matrix(store.policy, set(notifiers), configuration))
    deliverer = Deliverer(routed, notifiers, timeout=3)
    yield routed, deliverer
    deliverer.close()


def items(store):
    with store.db.read() as session:
        return {item.id: item for item in session.exec(select(ActionItem)).all()}


def test_each_action_item_becomes_one_jira_issue_and_keeps_its_key(routed, jira):
    store, deliverer = routed
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    added = [review.add_action_item(store, incident.id, title, actor="carol", category=category, owner=owner, due=due)
             for title, category, owner, due in ITEMS]
    for item in added:
        review.ticket_action_item(store, item.id, actor="carol")
    assert deliverer.deliver_due() == 4
    assert deliverer.deliver_due() == 0  # each message once
    created = [body for method, path, body in jira.requests if path == "/rest/api/3/issue"]
    assert len(created) == 4 and len(jira.issues) == 4
    keys = {item.id: item.ticket for item in items(store).values()}
    assert sorted(keys.values()) == ["OPS-1", "OPS-2", "OPS-3", "OPS-4"]
    for item, (title, category, owner, due) in zip(added, ITEMS):
        fields = jira.issues[keys[item.id]]["fields"]
        assert fields["summary"] == title
        assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Task"}
        assert fields["labels"] == ["incident-response", "action-item", category, f"{incident.id}-action-{item.id}"]
        assert jira_fake.adf_errors(fields["description"]) == []
        text = jira_fake.adf_text(fields["description"])
        tag = review.CATEGORY_TAGS[category]
        assert text.splitlines() == [
            f"Action item {item.id} from incident {incident.id} - Checkout down",
            f"Category: {tag} | Owner: {owner or 'unassigned'} | Due: {due or 'no due date'} | Status: open",
            f"Incident: {incident.id} (SEV-1, outage in production)",
        ]
    with store.db.read() as session:
        # The key is the action item's, not the incident's Jira reference.
        assert session.exec(select(VendorReference)).all() == []
        ticketed = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "action_item_ticketed")
                                .order_by(TimelineEvent.seq)).all()
    assert [e.summary for e in ticketed][0] == f"Action item {added[0].id} is Jira ticket {keys[added[0].id]}: {ITEMS[0][0]}"
    assert len(ticketed) == 4 and {e.actor for e in ticketed} == {"carol"}
    with pytest.raises(Exception, match=f"is already Jira ticket {keys[added[0].id]}"):
        review.ticket_action_item(store, added[0].id, actor="carol")


def test_a_lost_answer_does_not_file_the_item_twice(routed, jira, clock):
    store, deliverer = routed
    incident = store.declare("high", "outage", "production", actor="alice")
    item = review.add_action_item(store, incident.id, "Alert on pool saturation", actor="a", category="immediate")
    review.ticket_action_item(store, item.id, actor="a")
    jira.delay, jira.delay_only = 4.0, "POST"  # Jira files it, the answer never arrives in time
    assert deliverer.deliver_due() == 0
    jira.delay = 0.0
    clock.advance(minutes=5)  # past the retry's backoff
    assert deliverer.deliver_due() == 1
    assert len(jira.issues) == 1 and items(store)[item.id].ticket == "OPS-1"


def test_jira_refusing_the_issue_dead_letters_it_and_asking_again_resends(routed, jira, clock):
    store, deliverer = routed
    incident = store.declare("high", "outage", "production", actor="alice")
    item = review.add_action_item(store, incident.id, "Alert on pool saturation", actor="a", category="process")
    review.ticket_action_item(store, item.id, actor="a")
    jira.fail_next(1, status=403)
    deliverer.deliver_due()
    with store.db.read() as session:
        row = session.exec(select(Notification).where(Notification.event == "action_item_ticket")).one()
    assert row.state == "dead" and "403" in row.last_error and items(store)[item.id].ticket is None
    review.ticket_action_item(store, item.id, actor="a")  # a person asks again once permissions are fixed
    assert deliverer.deliver_due() == 1
    assert items(store)[item.id].ticket == "OPS-1"
