"""Getting around at 3 a.m.: q back, ctrl+q / ctrl+c twice quit, H history, / filter, : line."""
from __future__ import annotations

import pytest

from tests.tui.conftest import settle, text_of


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down", service="web")


def shown_ids(app):
    from tui.widgets.incident_table import IncidentTable

    return [row.id for row in app.screen.query_one(IncidentTable).rows_shown]


async def test_q_goes_back_one_screen_and_quits_only_from_the_dashboard(make, incident):
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.outbox import OutboxScreen
    from tui.screens.war_room import WarRoomScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen)
        await pilot.press("o")  # the war room's outbox, over the war room
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen) and app.is_running
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_q_quits_from_a_war_room(make, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "WarRoomScreen"
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_c_says_press_again_and_the_second_quits(make, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        assert [n.message for n in app._notifications] == ["Press ctrl+c again to quit."]
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_h_lists_resolved_and_closed_incidents_and_opens_one(make, tui_store, incident):
    from tui.screens.war_room import WarRoomScreen

    done = tui_store.declare("low", "data", "development", actor="bob", title="Typos in export")
    tui_store.resolve(done.id, actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert shown_ids(app) == [incident.id]
        await pilot.press("H")
        await settle(pilot)
        assert shown_ids(app) == [incident.id, done.id]
        assert app.screen.query_one("#incidents-pane").border_title == "All Incidents (2)"
        clocks = app.screen.query_one("#clocks")  # the second row's ACK DUE says where it ended
        assert "resolved" in "".join(segment.text for segment in clocks.render_line(clocks.table.header_height + 1))
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen) and app.screen.detail.status == "resolved"
        await pilot.press("q", "H")
        await settle(pilot)
        assert shown_ids(app) == [incident.id]


async def test_h_shows_settled_incidents_when_none_is_open(make, tui_store):
    done = tui_store.declare("low", "data", "development", actor="bob", title="Typos in export")
    tui_store.resolve(done.id, actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#welcome").display
        await pilot.press("H")
        await settle(pilot)
        assert shown_ids(app) == [done.id] and not app.screen.query_one("#welcome").display


async def test_slash_filters_by_title_and_by_service_and_esc_clears(make, tui_store, incident):
    other = tui_store.declare("critical", "security", "production", actor="bob", title="Credential stuffing",
                              service="auth")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert shown_ids(app) == [other.id, incident.id]
        await pilot.press("slash", *"checkout")
        await settle(pilot)
        assert shown_ids(app) == [incident.id]
        assert app.screen.query_one("#incidents-pane").border_title == "Active Incidents (1 of 2 match)"
        await pilot.press(*["backspace"] * len("checkout"), *"AUTH")  # the service, any case
        await settle(pilot)
        assert shown_ids(app) == [other.id]
        await pilot.press("enter")  # keeps the filter, back on the list: enter opens the match
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.incident_id == other.id
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("slash", *"sev-2")
        await settle(pilot)
        assert shown_ids(app) == [incident.id]
        await pilot.press("escape")
        await settle(pilot)
        assert shown_ids(app) == [other.id, incident.id]
        assert not app.screen.query_one("#incident-filter").display


async def command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await settle(pilot)


async def test_colon_opens_an_incident_by_short_or_full_id_whatever_its_status(make, tui_store, incident):
    from tui.screens.war_room import WarRoomScreen

    closed = tui_store.declare("low", "data", "development", actor="bob", title="Typos in export")
    tui_store.resolve(closed.id, actor="bob")
    tui_store.close(closed.id, actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await command(pilot, closed.id[-8:])  # as the dashboard shows it: 0118-002
        assert isinstance(app.screen, WarRoomScreen)
        assert (app.screen.incident_id, app.screen.detail.status) == (closed.id, "closed")
        await command(pilot, incident.id.lower())
        assert app.screen.incident_id == incident.id
        await command(pilot, "dashboard")
        assert type(app.screen).__name__ == "DashboardScreen" and len(app.screen_stack) == 2


async def test_colon_jumps_to_screens_and_runs_the_war_rooms_actions_by_name(make, tui_store, incident):
    from tui.screens.help import HelpScreen
    from tui.screens.outbox import OutboxScreen
    from tui.screens.reports import ReportsScreen
    from tests.tui.test_keys import detail

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await command(pilot, "outbox")
        assert isinstance(app.screen, OutboxScreen)
        await command(pilot, "reports")
        assert isinstance(app.screen, ReportsScreen)
        await command(pilot, "help")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await command(pilot, "dashboard")
        await command(pilot, incident.id[-8:])
        await command(pilot, "ack")
        assert detail(tui_store, incident.id)["acknowledged_at"] is not None
        await command(pilot, "resolve")  # the status picker, where the move is confirmed
        assert type(app.screen).__name__ == "ChoicePrompt"


async def test_colon_refuses_unknown_commands_and_ids_in_one_sentence_on_the_line(make, tui_store, incident):
    from tui.screens.command_line import CommandLine

    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await command(pilot, "launch")
        assert isinstance(app.screen, CommandLine)
        said = text_of(app.screen.query_one("#command-hint"))
        assert " ".join(said.split()).startswith(
            "Unknown command 'launch'; accepted: an incident id (INC-2024-0118-001 or 0118-001), dashboard, "
            "outbox, reports, actions, help, quit, or an action here (")
        assert "ack" in said and "open" in said
        await pilot.press(*["backspace"] * len("launch"), *"0101-009", "enter")
        await settle(pilot)
        assert "no incident ends with 0101-009; accepted:" in " ".join(text_of(app.screen.query_one("#command-hint")).split())
        await pilot.press("escape")
        assert type(app.screen).__name__ == "DashboardScreen"
