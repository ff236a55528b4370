"""A screen shows the newest read, never an older one that finished late.

A write makes the war room load again; an exclusive worker group cancels the load already
running, but a thread cannot be stopped: its read still finishes and replies. Here the older
read is held until the newer one has landed, then let go, as a busy machine can do by chance.
"""
from __future__ import annotations

import threading

from tests.tui.conftest import settle
from tests.tui.test_keys import open_war_room
from tests.tui.test_widths_and_remediation import lines_of


async def settle_replies(pilot, replies: list, count: int) -> None:
    """Until `count` loads have replied, then until their replies have been handled
    (bounded: 500 turns of the event loop)."""
    for _ in range(500):
        if len(replies) >= count:
            break
        await pilot.pause()
    assert len(replies) >= count, "a load never replied"
    for _ in range(4):
        await pilot.pause()


async def test_a_load_that_finishes_after_a_newer_one_is_not_shown(make, tui_store):
    from tui.screens.base import LatestLoad
    from tui.widgets.war_room_panes import SidePane

    incident = tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    action = tui_store.start_remediation(incident.id, "Fail over to eu-west-2", actor="alice")
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_war_room(pilot)
        real_read, holding, release, calls = screen.read, threading.Event(), threading.Event(), []

        def read(session, store):
            calls.append(1)
            detail = real_read(session, store)
            if len(calls) == 1:  # the older load: it has read the running remediation; hold it
                holding.set()
                assert release.wait(10)
            return detail

        replies = []
        real_post = screen.post_message

        def post(message):
            if isinstance(message, LatestLoad):
                replies.append(message)
            return real_post(message)

        screen.read, screen.post_message = read, post
        screen.load()  # the older load: reads, then waits
        for _ in range(500):  # until its thread is holding what it read (bounded)
            if holding.is_set():
                break
            await pilot.pause()
        assert holding.is_set(), "the older load never read"
        tui_store.cancel_remediation(incident.id, action.id, actor="alice", reason="replication lag too high")
        await screen.load().wait()  # the newer one, after the write
        await settle_replies(pilot, replies, 1)
        side = " ".join(" ".join(lines_of(screen.query_one(SidePane))).split())
        assert "cancelled: replication lag too high" in side
        release.set()
        await settle_replies(pilot, replies, 2)
        side = " ".join(" ".join(lines_of(screen.query_one(SidePane))).split())
        assert "cancelled: replication lag too high" in side
        assert "(since" not in side  # the running line from the older read is not back


async def test_a_change_read_first_by_the_dashboards_refresh_still_reaches_the_war_room(make, tui_store):
    """The dashboard under the war room refreshes on a timer; a refresh that reads another
    writer's new event before the app looks for changes must not count it as told."""
    from tui.screens.dashboard import DashboardScreen
    from tui.widgets.timeline import Timeline

    incident = tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_war_room(pilot)
        [dashboard] = [s for s in app.screen_stack if isinstance(s, DashboardScreen)]
        tui_store.add_note(incident.id, "replica promoted by bob", actor="bob")  # another writer
        await dashboard.load().wait()
        await settle(pilot)
        await app.check_for_changes().wait()
        await settle(pilot)
        assert "replica promoted by bob" in " ".join(lines_of(screen.query_one(Timeline)))
