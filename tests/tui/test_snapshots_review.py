"""The post-incident screen and the action items screen at 80x24 and 160x48, from a sample
incident lived through the store at a frozen clock. Regenerate with `--snapshot-update`
only after looking at the report."""
from __future__ import annotations

from datetime import datetime

import pytest

from store import review
from tests.tui.conftest import settle

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def reviewed(tui_store, clock, make):
    store = tui_store
    clock.moment = datetime(2024, 1, 18, 14, 30)
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    clock.moment = datetime(2024, 1, 18, 14, 35)
    store.acknowledge(incident.id, actor="bob")
    store.add_note(incident.id, "Database connection issues identified", actor="bob")
    clock.moment = datetime(2024, 1, 18, 15, 5)
    store.start_remediation(incident.id, "Increased connection limits", actor="bob")
    clock.moment = datetime(2024, 1, 18, 15, 45)
    store.resolve(incident.id, actor="bob")
    other = store.declare("high", "performance", "production", actor="dave", title="Search latency")
    review.update_rca(store, incident.id, actor="carol", root_cause="Database connection pool misconfiguration",
                      add_details=["Recent deployment changed default connection limits"],
                      add_factors=["Inadequate load testing scenarios", "Missing monitoring for database connections"],
                      impact="100% of users unable to check out", customers_affected=1200, estimated_cost=45000)
    for title, category, owner, due in (("Add connection pool monitoring and alerting", "immediate", "alice", "2024-01-17"),
                                        ("Update load testing to include connection stress", "short-term", "bob", "2024-02-01"),
                                        ("Automate database configuration validation", "long-term", None, None),
                                        ("Add pool checks to the deployment checklist", "process", "carol", "2024-01-26")):
        review.add_action_item(store, incident.id, title, actor="carol", category=category, owner=owner, due=due)
    review.add_action_item(store, other.id, "Cache search facets", actor="dave", category="short-term", owner="dave",
                           due="2024-01-16")
    review.update_review(store, incident.id, actor="carol", scheduled_at="2024-01-22T15:00:00Z", facilitator="erin",
                         add_attendees=["alice", "bob", "carol"],
                         notes={1: "Declared within minutes of the first alert", 2: "Pool limit was a library default"},
                         add_lessons=["Load tests must replay production traffic"])
    clock.moment = datetime(2024, 1, 19, 9, 0)
    return make(open_incident=incident.id)


async def _post_incident(pilot):
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


async def _action_items(pilot):
    await settle(pilot)
    await pilot.press("escape")
    await settle(pilot)
    await pilot.press("A")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_post_incident(snap_compare, reviewed, size):
    assert snap_compare(reviewed, terminal_size=size, run_before=_post_incident)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_action_items(snap_compare, reviewed, size):
    assert snap_compare(reviewed, terminal_size=size, run_before=_action_items)
