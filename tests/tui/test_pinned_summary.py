"""Issue 14, the pinned summary in the war room: one short line naming `S` while none is
pinned; `S` opens the editor prefilled with what is pinned, ctrl+s pins it (a timeline event)
and the pane shows it at once; `esc` keeps a draft that the next `S` restores, ctrl+d discards
it; stored text is shown as data; help lists the key; read-only refuses it."""
from __future__ import annotations

import pytest
from sqlmodel import select
from textual.widgets import TextArea

from store.models import TimelineEvent
from tests.tui.conftest import settle, text_of
from tests.tui.test_keys import detail, incident, open_war_room  # noqa: F401 (incident: a fixture)


def pane(app):
    from tui.widgets.pinned_summary import PinnedSummary

    return app.screen.query_one(PinnedSummary)


def pinned_events(store) -> list[str]:
    with store.db.read() as session:
        return [e.summary for e in session.exec(select(TimelineEvent).where(TimelineEvent.kind == "summary_pinned")
                                                .order_by(TimelineEvent.seq))]


async def test_none_pinned_says_so_in_one_line_with_the_key(make, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        assert pane(app).size.height == 1
        assert text_of(pane(app)).strip() == "No summary pinned · S to pin one"


async def test_s_pins_the_summary_and_the_pane_shows_it_at_the_top(make, tui_store, incident, clock):
    from tui.screens.summary_editor import SummaryEditor

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        room = await open_war_room(pilot)
        await pilot.press("S")
        assert isinstance(app.screen, SummaryEditor)
        await pilot.press(*"DB pool exhausted", "tab", *"Raise the pool, then watch p99")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is room
        assert pinned_events(tui_store) == ["Summary: DB pool exhausted\nNext steps: Raise the pool, then watch p99"]
        lines = text_of(pane(app)).splitlines()
        assert lines[0].startswith(f"Summary (tester {clock().strftime('%H:%M')}) DB pool exhausted")
        assert lines[1].strip() == "Next    Raise the pool, then watch p99"
        # On top: right under the banner, above the checklist.
        assert pane(app).region.y == room.query_one("#banner").region.bottom
        assert room.query_one("#war-room-body").region.y == pane(app).region.bottom
        # Editing starts from what is pinned; a change pins a new one, the latest is shown.
        await pilot.press("S")
        editor = app.screen
        assert editor.query_one("#summary-text", TextArea).text == "DB pool exhausted"
        assert editor.query_one("#summary-next", TextArea).text == "Raise the pool, then watch p99"
        editor.query_one("#summary-text", TextArea).text = "Pool raised; errors falling\nreplica lag 3s"
        editor.query_one("#summary-next", TextArea).text = ""
        await pilot.press("ctrl+enter")
        await settle(pilot)
        assert detail(tui_store, incident.id)["pinned_summary"]["summary"] == "Pool raised; errors falling\nreplica lag 3s"
        lines = text_of(pane(app)).splitlines()
        assert lines[0].endswith("Pool raised; errors falling …")  # more lines follow: one S away
        assert lines[1].strip() == "Next    none given"


async def test_an_empty_summary_is_not_pinned(make, tui_store, incident):
    from tui.screens.summary_editor import SummaryEditor

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("S", "tab", *"next", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SummaryEditor)
        assert "The summary is empty" in text_of(app.screen.query_one("#hint"))
        assert pinned_events(tui_store) == []


async def test_esc_keeps_the_draft_s_restores_it_and_ctrl_d_discards_it(make, tui_store, incident):
    from tui.screens.summary_editor import SummaryEditor

    tui_store.pin_summary(incident.id, "Failover started", "Confirm replica lag", actor="alice")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("S", *"; EU traffic drained", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, SummaryEditor)
        assert pinned_events(tui_store) == ["Summary: Failover started\nNext steps: Confirm replica lag"]
        await pilot.press("S")
        assert app.screen.query_one("#summary-text", TextArea).text == "Failover started; EU traffic drained"
        assert "draft restored" in text_of(app.screen.query_one("#hint"))
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert any(n.message == "Draft discarded." for n in app._notifications)
        await pilot.press("S")  # discarded: back to what is pinned
        assert app.screen.query_one("#summary-text", TextArea).text == "Failover started"
        await pilot.press(*" fully", "ctrl+s")
        await settle(pilot)
        await pilot.press("S")  # pinned: the draft went with it
        assert app.screen.query_one("#summary-text", TextArea).text == "Failover started fully"
        assert "draft restored" not in text_of(app.screen.query_one("#hint"))


async def test_stored_text_is_shown_as_data(make, tui_store, incident):
    tui_store.pin_summary(incident.id, "[bold red]x[/] [@click=app.quit]quit[/]", "a\\x1b literally", actor="m[i]ke")
    app = make()
    async with app.run_test(size=(120, 30)) as pilot:
        await open_war_room(pilot)
        shown = text_of(pane(app))
        assert "[bold red]x[/] [@click=app.quit]quit[/]" in shown and "(m[i]ke " in shown
        assert "a\\x1b literally" in shown


async def test_help_lists_s_and_read_only_refuses_it(make, tui_store, incident):
    from tui.read_only import REFUSAL
    from tui.screens.summary_editor import SummaryEditor

    from textual.widgets import Static

    from tui.screens.help import HelpScreen

    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_war_room(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        listed = " ".join(text_of(app.screen.query_one(Static)).split())
        assert "S Summary: pin the current summary and next steps (shown at the top; in the handover)" in listed
    app = make(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("S")
        await settle(pilot)
        assert not isinstance(app.screen, SummaryEditor)
        assert any(n.message == REFUSAL for n in app._notifications)
        assert pinned_events(tui_store) == []


# -- snapshots: the pinned lines and the editor, from the demo data at a frozen clock ----------
SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def demo_pinned(tui_store, clock, make):
    from datetime import datetime

    from store.demo import seed_demo

    clock.moment = datetime(2024, 1, 15, 14, 35)
    seed_demo(tui_store, clock)
    return make()


async def _pinned_war_room(pilot):
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    room = pilot.app.screen
    pilot.app.store.pin_summary(
        room.incident_id, "Connection pool exhausted after the 14:02 deploy; rollback to v41 running",
        "Confirm error rate < 1% (maria), then post the monitoring update (priya)", actor="sam")
    room.load()
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_pinned_summary(snap_compare, demo_pinned, size):
    assert snap_compare(demo_pinned, terminal_size=size, run_before=_pinned_war_room)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_summary_editor(snap_compare, demo_pinned, size):
    async def run_before(pilot):
        await _pinned_war_room(pilot)
        await pilot.press("S")
        await settle(pilot)

    assert snap_compare(demo_pinned, terminal_size=size, run_before=run_before)
