"""The outbox screen: what was sent, what waits, what failed; a person retries failed ones.
Pilot tests with a real store and frozen clock, plus snapshots at both sizes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from automation.routing import route_by_matrix
from playbooks.config import parse_configuration
from store import outbox
from store.models import Notification, TimelineEvent
from tests.tui.conftest import settle, text_of

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def messages(tui_store, clock):
    """A SEV-1 told through three integrations: PagerDuty accepted, Slack waiting after a
    failure for one group and refused for the other, SMS dead-lettered by a permanent
    rejection; and a second incident's message, waiting."""
    # Staging may page here, so the second incident's message waits instead of being skipped.
    # The first incident is routed row per group (no configuration: the notifiers' own recipients),
    # so its two Slack groups can fail differently.
    tui_store.router = route_by_matrix(tui_store.policy, {"pagerduty", "slack", "sms"})
    first = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    clock.advance(minutes=1)
    staging_pages = parse_configuration({"environments": {"staging": {"pages": True, "publishes": False}}})
    tui_store.router = route_by_matrix(tui_store.policy, {"pagerduty", "slack", "sms"}, staging_pages)
    second = tui_store.declare("low", "performance", "staging", actor="alice", title="Slow search")
    now = clock()
    with tui_store.db.write() as session:
        for row in session.exec(select(Notification).where(Notification.incident_id == first.id)):
            if row.integration == "pagerduty":
                row.state, row.sent_at, row.attempts = "sent", now - timedelta(seconds=30), 1
            elif row.integration == "slack" and row.stakeholder_group == "Engineering Leads":
                row.attempts, row.last_error = 2, "Slack answered 503; retrying."
                row.next_attempt_at = now + timedelta(seconds=8)
            elif row.integration == "slack":
                row.state, row.attempts = "dead", 1
                row.last_error = "Slack answered ok:false (channel_not_found)."
            else:
                row.state, row.attempts = "dead", 1
                row.last_error = "Twilio refused the message (21211: invalid To number)."
            session.add(row)
    return first.id, second.id


def _states(store, incident_id=None):
    with store.db.read() as session:
        return sorted((r.integration, r.state) for r in outbox.messages(session, incident_id=incident_id))


async def test_o_on_the_dashboard_lists_every_message_failed_first(make, tui_store, messages):
    from tui.screens.outbox import OutboxScreen, OutboxTable

    app = make()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        table = app.screen.query_one(OutboxTable)
        states = [row.state for row in table.shown]
        assert states == sorted(states, key=["dead", "pending", "sent"].index)  # failed first
        assert {row.incident_id for row in table.shown} == set(messages)  # every incident's messages
        summary = text_of(app.screen.query_one("#outbox-summary"))
        assert "2 failed" in summary and "waiting" in summary
        cells = " ".join(str(c) for c in table.get_row_at(0)) + " ".join(str(c) for c in table.get_row_at(1))
        assert "FAILED" in cells and "21211" in cells and "channel_not_found" in cells
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, OutboxScreen)


async def test_r_retries_the_highlighted_failed_message_and_records_who(make, tui_store, messages):
    from tui.screens.outbox import OutboxTable

    first, _ = messages
    app = make()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "o")  # the war room's outbox: this incident only
        await settle(pilot)
        table = app.screen.query_one(OutboxTable)
        assert {row.incident_id for row in table.shown} == {first}
        dead = table.shown[0]
        assert dead.state == "dead"
        await pilot.press("r")
        await settle(pilot)
        assert (dead.integration, "pending") in _states(tui_store, first)
        with tui_store.db.read() as session:
            retried = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "notification_retried")).all()
            row = session.get(Notification, dead.id)
        assert [(e.incident_id, e.actor) for e in retried] == [(first, "tester")]
        assert dead.integration in retried[0].summary and "again" in retried[0].summary
        assert row.state == "pending" and row.attempts == 0
        assert table.shown[-1].state != "dead"  # the table reloaded with it waiting


async def test_r_on_a_message_that_did_not_fail_says_so_and_changes_nothing(make, tui_store, messages):
    from tui.screens.outbox import OutboxTable

    app = make()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        table = app.screen.query_one(OutboxTable)
        before = _states(tui_store)
        table.move_cursor(row=len(table.shown) - 1)  # the sent PagerDuty message is last
        await pilot.press("r")
        await settle(pilot)
        assert _states(tui_store) == before
        assert any("not failed" in n.message for n in app._notifications)


async def test_capital_r_retries_every_failed_message_and_f_filters(make, tui_store, messages):
    from tui.screens.outbox import OutboxTable

    app = make()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o", "f", "f")  # all -> waiting -> failed
        await settle(pilot)
        table = app.screen.query_one(OutboxTable)
        assert {row.state for row in table.shown} == {"dead"} and len(table.shown) == 2
        assert "failed (2)" in app.screen.query_one("#outbox-pane").border_title
        await pilot.press("R")
        await settle(pilot)
        assert all(state != "dead" for _, state in _states(tui_store))
        assert table.shown == ()  # the failed filter now shows none
        await pilot.press("f")  # -> skipped: none here (nothing was held back on purpose)
        await settle(pilot)
        assert table.shown == () and "skipped (0)" in app.screen.query_one("#outbox-pane").border_title
        await pilot.press("f")  # -> all again
        await settle(pilot)
        assert len(table.shown) == len(_states(tui_store))


async def test_a_delivery_made_elsewhere_shows_without_a_key(make, tui_store, messages, clock):
    """The deliverer (another process) marks a message sent: the screen picks it up."""
    from tui.screens.outbox import OutboxTable

    first, _ = messages
    app = make()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        with tui_store.db.write() as session:
            for row in session.exec(select(Notification).where(Notification.integration == "slack")):
                row.state, row.sent_at = "sent", clock()
                session.add(row)
        app.screen.load()  # what the 2-second refresh timer does
        await settle(pilot)
        table = app.screen.query_one(OutboxTable)
        assert all(r.state == "sent" for r in table.shown if r.integration == "slack")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_outbox_snapshot(snap_compare, make, messages, size):
    async def open_outbox(pilot):
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=open_outbox)
