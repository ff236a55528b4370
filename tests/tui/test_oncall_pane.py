"""Who is on call in the command center: the dashboard's on-call line (each schedule's person,
until when, overrides marked) and its silences, the on-call screen (O), and an override set
from it (o) written as `oncall override` writes it, refused in read-only mode."""
from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest

from playbooks.config.reading import parse_configuration
from playbooks.silences import parse_matchers
from store.oncall import add_override, current_overrides
from store.silences import add_silence
from tests.tui.conftest import settle, text_of
from tui.read_only import REFUSAL

# The clock: Thursday 18 January 2024, 14:30 UTC (08:00 UTC is 09:00 in Berlin).
CONFIG = """
[contacts.alice]
sms = "+14155550101"
[contacts.bob]
sms = "+14155550102"
[contacts.carol]
sms = "+14155550103"
[contacts.dave]
sms = "+14155550104"

[schedules.primary]
members = ["alice", "bob"]
rotation = "1d"
start = "2024-01-18T09:00"
timezone = "Europe/Berlin"

[schedules.secondary]
members = ["carol", "dave"]
rotation = "12h"
start = "2024-01-18T09:00Z"
"""


@pytest.fixture
def configuration():
    return parse_configuration(tomllib.loads(CONFIG))


def strip(app) -> str:
    from tui.widgets.oncall import OnCallStrip

    return text_of(app.screen.query_one(OnCallStrip))


def table_rows(screen) -> list[list[str]]:
    from tui.widgets.oncall import OnCallTable

    table = screen.query_one(OnCallTable)
    return [[cell.plain if hasattr(cell, "plain") else str(cell) for cell in table.get_row_at(n)]
            for n in range(table.row_count)]


async def test_the_dashboard_line_names_each_schedule_its_person_until_when_and_overrides(
        make, tui_store, clock, configuration):
    add_override(tui_store, "secondary", "dave", clock.moment, clock.moment + timedelta(hours=2), actor="lead")
    add_silence(tui_store, parse_matchers(["service=checkout"]), clock.moment,
                clock.moment + timedelta(minutes=90), reason="db upgrade", actor="lead")
    add_silence(tui_store, parse_matchers(["service=search"]), clock.moment, clock.moment + timedelta(hours=3),
                reason="reindex", actor="lead")
    app = make(configuration=configuration)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        line = strip(app)
        assert "primary: alice until 08:00 (in 17h30m)" in line
        assert "secondary: dave override until 16:30 (in 2h00m)" in line
        assert "carol" not in line  # the override, not the rotation, is who is on call
        assert "2 silences active (next ends 16:00)" in line


async def test_the_line_moves_on_at_a_handoff(make, tui_store, clock, configuration):
    app = make(configuration=configuration)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert "secondary: carol until 21:00 (in 6h30m)" in strip(app)
        clock.advance(hours=6, minutes=31)  # past carol's turn: the next tick reads again
        app.screen.tick()
        await settle(pilot)
        line = strip(app)
        assert "secondary: dave until 09:00 (in 11h59m)" in line
        assert "silence" not in line


async def test_without_schedules_or_silences_nothing_is_shown_and_O_is_not_offered(make, tui_store):
    from tui.widgets.oncall import OnCallStrip

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one(OnCallStrip).display is False
        assert "dashboard.on_call" not in {active.binding.id for active in app.screen.active_bindings.values()
                                           if active.enabled}
        await pilot.press("O")
        await settle(pilot)
        assert type(app.screen).__name__ == "DashboardScreen"


async def test_silences_alone_show_the_line_and_it_goes_when_they_end(make, tui_store, clock):
    from tui.widgets.oncall import OnCallStrip

    add_silence(tui_store, parse_matchers(["service=checkout"]), clock.moment, clock.moment + timedelta(hours=1),
                reason="db upgrade", actor="lead")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert strip(app).strip() == "1 silence active (next ends 15:30)"
        clock.advance(hours=1)
        app.screen.refresh_data()
        await settle(pilot)
        assert app.screen.query_one(OnCallStrip).display is False


async def test_the_on_call_screen_lists_until_and_next_handoffs_on_each_schedules_clock(
        make, tui_store, clock, configuration):
    from tui.screens.oncall import OnCallScreen

    add_override(tui_store, "secondary", "dave", clock.moment, clock.moment + timedelta(hours=2), actor="lead")
    app = make(configuration=configuration)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        assert isinstance(app.screen, OnCallScreen)
        primary, secondary = table_rows(app.screen)
        assert primary[:4] == ["primary", "alice", "19 Jan 09:00 CET", "in 17h30m"]
        assert primary[4].startswith("bob from 19 Jan 09:00 CET (24h00m)")
        assert secondary[:4] == ["secondary", "dave  override ", "16:30 UTC", "in 2h00m"]
        assert secondary[4] == "carol from 16:30 UTC (4h30m)"  # back to the rotation's turn
        assert secondary[5].startswith("dave from 21:00 UTC")  # two handoffs at 160 columns


async def test_an_override_from_the_screen_is_written_through_the_store(make, tui_store, clock, configuration):
    from tui.screens.oncall import OverridePrompt

    app = make(configuration=configuration)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        screen = app.screen
        await pilot.press("j", "o")  # the highlighted schedule is prefilled
        assert isinstance(app.screen, OverridePrompt)
        assert app.screen.query_one("#schedule").value == "secondary"
        await pilot.press(*"zed", "enter")
        problem = text_of(app.screen.query_one("#problem"))
        assert "'zed' has no [contacts.zed] table; accepted: names of [contacts.NAME] tables" in problem
        assert current_overrides(tui_store, clock.moment) == []  # a wrong one writes nothing
        app.screen.query_one("#person").value = "bob"
        app.screen.query_one("#duration").value = "soon"
        await pilot.press("enter")
        assert "'soon' is not a duration; accepted:" in text_of(app.screen.query_one("#problem"))
        app.screen.query_one("#duration").value = "3h"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        [row] = current_overrides(tui_store, clock.moment)
        assert (row.schedule, row.person, row.starts_at, row.ends_at, row.created_by) == (
            "secondary", "bob", clock.moment, clock.moment + timedelta(hours=3), "tester")
        assert table_rows(screen)[1][:4] == ["secondary", "bob  override ", "17:30 UTC", "in 3h00m"]


async def test_read_only_refuses_the_override_before_any_prompt_opens(make, tui_store, clock, configuration):
    from tui.screens.oncall import OnCallScreen

    app = make(configuration=configuration, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("O")  # reading who is on call is allowed
        await settle(pilot)
        assert isinstance(app.screen, OnCallScreen)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, OnCallScreen)  # no prompt
        assert sum(1 for n in app._notifications if n.message == REFUSAL) == 1
    assert current_overrides(tui_store, clock.moment) == []


def test_names_are_data_and_a_span_of_no_time_is_refused_in_one_sentence():
    from datetime import datetime

    from tui.screens.oncall import checked_override
    from tui.widgets.oncall import ScheduleOnCall, strip_text

    now = datetime(2024, 1, 18, 14, 30)
    row = ScheduleOnCall("[b]ops[/b]", "UTC", "\x1b[31mmallory", now + timedelta(hours=1), True)
    line = strip_text((row,), None, now).plain
    assert line == "on call [b]ops[/b]: \\x1b[31mmallory override until 15:30 (in 1h00m)"
    with pytest.raises(ValueError, match=r"^'0m' is no time at all; accepted: a duration like 2h or 1d$"):
        checked_override({"primary": None}, {"alice": None}, "primary", "alice", "0m")
    assert checked_override({"primary": None}, {"alice": None}, " primary ", "alice", "90m").span == timedelta(
        minutes=90)


async def test_help_on_the_on_call_screen_names_it_and_its_override_key(make, tui_store, configuration):
    from tests.tui.test_keys_and_help import keys_of, open_help, section

    app = make(configuration=configuration)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        lines = await open_help(pilot)
        assert "This screen" not in lines
        assert "o" in keys_of(section(lines, "On call"))
