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
