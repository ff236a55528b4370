"""Keys: a colliding keymap remap is refused (both bindings keep their keys), reports stop at
the current month, help lists the keys of the screen it was opened from, the palette is
about incidents, and read-only mode offers no key it would refuse."""
from __future__ import annotations

import pytest

from tests.tui.conftest import settle, text_of
from tui.keymap import BoundKey, command_center_screens, keymap_collisions, usable_keymap


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


# -- keymap collisions (pure) ---------------------------------------------------------------------
SCREENS = {
    "war room": [BoundKey("war_room.tick", ("space",), "Tick"), BoundKey("war_room.timeline", ("t",), "Timeline"),
                 BoundKey("war_room.note", ("n",), "Note"), BoundKey("select", ("enter",), "Select", remappable=False),
                 BoundKey("app.declare", ("d",), "Declare")],
    "dashboard": [BoundKey("dashboard.ack", ("a",), "Ack"), BoundKey("app.declare", ("d",), "Declare")],
}


def test_a_remap_onto_a_key_of_the_same_screen_is_refused_naming_both_bindings():
    [collision] = keymap_collisions({"war_room.tick": "t"}, SCREENS)
    assert (collision.remapped, collision.key, collision.taken_by.name, collision.screen) == (
        "war_room.tick", "t", "war_room.timeline", "war room")
    assert collision.sentence() == (
        'keymap "war_room.tick" = "t" is refused: t is already Timeline (war_room.timeline) on the war room, '
        "so both keep their keys (Tick stays on space); accepted: a key nothing else on that screen or "
        "app-wide uses")


def test_app_wide_keys_and_textual_keys_collide_too_and_defaults_sharing_a_key_do_not():
    assert [c.taken_by.name for c in keymap_collisions({"war_room.note": "d"}, SCREENS)] == ["app.declare"]
    assert [c.taken_by.name for c in keymap_collisions({"app.declare": "a"}, SCREENS)] == ["dashboard.ack"]
    assert [c.taken_by.name for c in keymap_collisions({"war_room.tick": "space,enter"}, SCREENS)] == ["select"]
    assert keymap_collisions({}, SCREENS) == []
    # A key free on every screen, a key the binding had anyway, and a swap are fine.
    assert keymap_collisions({"war_room.tick": "T", "war_room.note": "n,N"}, SCREENS) == []
    assert keymap_collisions({"war_room.tick": "t", "war_room.timeline": "space"}, SCREENS) == []
    # "?" is the key Textual names question_mark.
    screens = {"x": [BoundKey("app.help", ("question_mark",), "Help"), BoundKey("x.a", ("a",), "A")]}
    assert [c.key for c in keymap_collisions({"x.a": "?"}, screens)] == ["question_mark"]


def test_usable_keymap_drops_what_collides_until_nothing_does():
    # Half a swap refused exposes the other half: both stay on their own keys.
    kept, refused = usable_keymap({"war_room.tick": "t", "war_room.timeline": "space", "war_room.note": "d"},
                                  {"war room": SCREENS["war room"][:1] + SCREENS["war room"][2:]})
    assert "war_room.note" not in kept and {c.remapped for c in refused} >= {"war_room.note"}
    kept, refused = usable_keymap({"war_room.tick": "n", "dashboard.ack": "A"}, SCREENS)
    assert kept == {"dashboard.ack": "A"} and [c.remapped for c in refused] == ["war_room.tick"]


def test_the_command_center_registry_holds_each_screen_with_its_widgets_and_the_app_keys():
    screens = command_center_screens()
    war_room = {binding.name: binding.keys for binding in screens["war room"]}
    assert war_room["war_room.tick"] == ("space",) and war_room["checklist.down"] == ("j",)
    assert war_room["timeline.filter"] == ("f",) and war_room["app.declare"] == ("d",)
    assert war_room["command_palette"] == ("ctrl+p",)
    assert {binding.name for binding in screens["dashboard"]} >= {"dashboard.ack", "incidents.down", "app.help"}
    # The README's own example would take t (the timeline) from the war room.
    assert [c.taken_by.name for c in keymap_collisions({"war_room.tick": "t"}, screens)] == ["war_room.timeline"]


async def test_a_colliding_remap_is_said_at_start_and_both_keys_keep_working(make, tui_store, incident):
    from tui.screens.war_room import WarRoomScreen

    app = make(keymap={"war_room.tick": "t", "war_room.note": "N"})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        warnings = [n for n in app._notifications if n.title == "Keymap"]
        assert [n.message for n in warnings] == [
            'keymap "war_room.tick" = "t" is refused: t is already Timeline (war_room.timeline) on the war room, '
            "so both keep their keys (Tick stays on space); accepted: a key nothing else on that screen or "
            "app-wide uses"]
        assert warnings[0].severity == "warning" and warnings[0].markup is False
        await pilot.press("enter")
        await settle(pilot)
        war_room = app.screen
        assert isinstance(war_room, WarRoomScreen)
        await pilot.press("space")  # the original key still ticks
        await settle(pilot)
        with tui_store.db.read() as session:
            from store.queries import incident_detail

            assert incident_detail(session, tui_store.policy, incident.id, tui_store.now())["checklist"][0]["done"]
        await pilot.press("t")  # and t still reads the timeline
        await settle(pilot)
        assert war_room.focused is war_room.query_one("#timeline")
        await pilot.press("escape", "N")  # the remap that collides with nothing is applied
        assert type(app.screen).__name__ == "TextPrompt"


def test_config_check_reports_a_colliding_remap_as_not_ok(tmp_path, capsys):
    from tui.cli import main

    config = tmp_path / "xdg_config_home" / "incident-response" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[tui.keymap]\n"war_room.tick" = "t"\n"war_room.note" = "N"\n"war_room.tik" = "x"\n')
    config.chmod(0o600)
    assert main(["config", "check"]) == 1
    out = capsys.readouterr().out
    assert "keymap:\n" in out
    assert ('  BAD war_room.tick: keymap "war_room.tick" = "t" is refused: t is already Timeline '
            "(war_room.timeline) on the war room") in out
    assert "  ok  war_room.note: on N\n" in out
    assert '  BAD war_room.tik: keymap "war_room.tik" names no binding, so it changes nothing' in out
    assert "2 problem(s) found" in out


# -- reports stop at the current month -------------------------------------------------------------
async def test_reports_do_not_page_past_the_current_month_of_the_injected_clock(make, tui_store, incident, clock):
    from tui.screens.reports import ReportsScreen

    app = make()  # the frozen clock: 18 January 2024
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen) and screen.period.key == "2024-01"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.period.key == "2024-01"
        assert "Monthly report — January 2024 (month to date)" in text_of(screen.query_one("#report-title"))
        assert [n.message for n in app._notifications][-1] == (
            "January 2024 is the current month; accepted: [ for the month before.")
        await pilot.press("left", "right")  # back a month, and forward again to the current one
        await settle(pilot)
        assert screen.period.key == "2024-01"
        clock.advance(days=20)  # the clock moves into February: one more month to go to
        await pilot.press("right", "right")
        await settle(pilot)
        assert screen.period.key == "2024-02"
        assert sum("is the current month" in n.message for n in app._notifications) == 2


# -- help: the keys of the screen it was opened from, each once, grouped -------------------------
def help_lines(app) -> list[str]:
    return [line.rstrip() for line in text_of(app.screen.query_one("#help-dialog Static")).splitlines()]


def section(lines: list[str], title: str) -> list[str]:
    """The rows under a section title, up to the blank line that ends it."""
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def keys_of(rows: list[str]) -> list[str]:
    return [row.split("  ")[0].strip() for row in rows if row[:1] != " "]  # a wrapped row's rest is indented


async def open_help(pilot):
    from tui.screens.help import HelpScreen

    await pilot.press("question_mark")
    assert isinstance(pilot.app.screen, HelpScreen)
    return help_lines(pilot.app)


async def test_help_from_the_dashboard_lists_its_keys_the_list_and_the_app_keys_once(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot)
        lines = await open_help(pilot)
        titles = [line for line in lines if line in ("Dashboard", "Incident list", "Everywhere")]
        assert titles == ["Dashboard", "Incident list", "Everywhere"]
        assert keys_of(section(lines, "Dashboard")) == ["q ^q", "/", "H", "a", "x", "R", "A", "o"]
        assert keys_of(section(lines, "Incident list")) == ["j / ↓", "k / ↑", "enter"]
        assert "open the selected incident" in section(lines, "Incident list")[2]
        assert keys_of(section(lines, "Everywhere")) == ["^c", ":", "?", "d", "^p"]
        assert not any(line.startswith("ctrl+p") for line in lines)  # the palette once, as ^p
        keys = keys_of(section(lines, "Dashboard") + section(lines, "Everywhere"))
        assert len(keys) == len(set(keys))
        assert "binding ids" not in app.screen.query_one("#help-dialog").border_title  # no room at 80 columns


async def test_help_from_the_war_room_lists_the_war_room_keys_not_the_dashboards(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        lines = await open_help(pilot)
        war_room = section(lines, "War room")
        assert keys_of(war_room)[:6] == ["esc", "space", "n", "u", "a", "s"]
        assert "esc    Back: back to the screen before" in war_room[0]
        assert war_room[1].endswith("war_room.tick")  # at 160 columns: each key's binding id
        assert keys_of(section(lines, "Checklist")) == ["j / ↓", "k / ↑"]  # enter does nothing in the checklist
        assert keys_of(section(lines, "Everywhere")) == ["^c", "^q", "q", ":", "?", "d", "^p"]
        for dashboard_only in ("Filter:", "Reports:", "Actions:", "History: list resolved"):
            assert not any(dashboard_only in line for line in lines), dashboard_only
        keys = keys_of(war_room + section(lines, "Everywhere"))
        assert len(keys) == len(set(keys))
        await pilot.press("escape", "t")  # the timeline focused: its own keys, then the moves
        await settle(pilot)
        lines = await open_help(pilot)
        assert keys_of(section(lines, "Timeline")) == ["j / ↓", "k / ↑", "enter", "g", "G", "f", "1", "2", "3", "4",
                                                       "5", "esc"]


async def test_help_from_the_post_incident_screen_lists_its_keys_and_not_declare(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        lines = await open_help(pilot)
        assert keys_of(section(lines, "Post-incident")) == ["esc", "c", "t", "f", "i", "u", "e", "w", "p", "g", "n",
                                                            "l", "h", "a", "d", "x"]
        assert keys_of(section(lines, "Everywhere")) == ["^c", "^q", "q", ":", "?", "^p"]  # d is Done here
        assert not any("Tick:" in line or "Declare:" in line for line in lines)


# -- read-only mode offers no key it would refuse --------------------------------------------------
def footer_actions(screen) -> set[str]:
    from textual.widgets._footer import FooterKey

    return {key.action for key in screen.query(FooterKey)}


WRITING_ACTIONS = {"tick", "note", "update", "ack", "status", "raise_severity", "lower_severity", "role",
                   "remediate", "runbook", "collect_logs", "declare", "summary"}


async def test_read_only_offers_no_writing_key_in_footer_help_or_palette_and_still_refuses_one(
        make, tui_store, incident):
    from tui.read_only import REFUSAL

    app = make(open_incident=incident.id, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        war_room = app.screen
        shown = footer_actions(war_room)
        assert not WRITING_ACTIONS & shown, shown
        assert {"back", "similar", "help", "command_line"} <= shown  # reading keys stay
        offered = {active.binding.action for active in war_room.active_bindings.values()}
        assert not WRITING_ACTIONS & offered and {"export", "timeline", "outbox"} <= offered
        palette = {command.title for command in app.get_system_commands(war_room)}
        assert not {"Tick", "Note", "Update", "Ack", "Status", "Roles", "Declare"} & palette
        assert {"Handover", "Timeline", "History"} <= palette
        lines = await open_help(pilot)
        assert keys_of(section(lines, "War room"))[:1] == ["esc"]
        assert not any(word in line for line in lines for word in ("Tick:", "Note:", "Ack:", "Declare:"))
        assert any(line.startswith("x ") and "Handover:" in line for line in lines)
        await pilot.press("escape", "n")  # a hidden key is still refused in one sentence, not ignored
        await settle(pilot)
        assert app.screen is war_room
        assert [n.message for n in app._notifications].count(REFUSAL) == 1
    app = make(read_only=False, open_incident=incident.id)  # and without read-only they are offered
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert {"tick", "note", "update", "ack", "status"} <= footer_actions(app.screen)


# -- the command palette: the screen's actions and the open incidents -------------------------------
def palette_entries(app) -> list[str]:
    from textual.command import CommandList

    return [str(option.prompt).split("\n")[0] for option in app.screen.query_one(CommandList).options]


async def palette_search(pilot, text: str) -> list[str]:
    for _ in range(20):  # the providers answer in workers: wait for the list to hold what they found
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        entries = palette_entries(pilot.app)
        if entries and (not text or any(text in entry for entry in entries)):
            return entries
    return palette_entries(pilot.app)


async def test_palette_offers_the_screens_actions_and_the_open_incidents_not_textuals_generic_entries(
        make, tui_store, incident):
    from textual.command import CommandPalette

    other = tui_store.declare("critical", "security", "production", actor="bob", title="Credential [b]stuffing[/b]")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles[:6] == ["Back", "Tick", "Note", "Update", "Ack", "Status"]
        assert {"Handover", "Timeline", "History", "Quit", "Help", "Command", "Declare", "Theme"} <= set(titles)
        assert len(titles) == len(set(titles))
        for generic in ("Keys", "Maximize", "Screenshot", "Up", "Down", "Select", "Focus Next", "Copy selected text",
                        "Quit (twice)", "palette"):
            assert generic not in titles, generic
        helps = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert helps["Note"] == "n · add a note to the timeline"

        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        entries = await palette_search(pilot, "Open ")
        assert f"Open {other.id} SEV-1 Credential [b]stuffing[/b] (investigating)" in entries  # a title is data
        assert f"Open {incident.id} SEV-2 Checkout down (investigating)" in entries
        await pilot.press(*"0118-002")  # an incident found by its short id
        entries = await palette_search(pilot, other.id)
        assert entries[0].startswith(f"Open {other.id}")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.incident_id == other.id
