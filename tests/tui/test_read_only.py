"""Read-only mode (`--read-only`, `[tui] read_only`): the command center watches and does not act."""
from __future__ import annotations

import pytest

from store.dashboard import last_seq
from store.models import Incident
from tests.tui.conftest import settle, text_of
from tui.read_only import REFUSAL


def head(store) -> int:
    with store.db.read() as session:
        return last_seq(session)


def refusals(app) -> int:
    return sum(1 for n in app._notifications if n.message == REFUSAL)


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


def test_the_refusal_is_one_sentence_naming_what_is_accepted():
    assert REFUSAL == ("read-only: this command center watches and does not act; "
                       "accepted: start it without --read-only")


def test_tui_read_only_in_config_reaches_the_settings():
    from playbooks.config import Configuration
    from tui.settings import tui_settings

    assert tui_settings(Configuration(tui={"read_only": True, "bell": True})) == {
        "keymap": {}, "read_only": True, "bell": True}
    assert "read_only" not in tui_settings(Configuration())


@pytest.mark.parametrize("keys", [("a",), ("s",), ("n",), ("u",), ("plus",), ("minus",), ("space",), ("r",),
                                  ("m",), ("e",), ("l",), ("d",)])
async def test_every_writing_key_in_the_war_room_is_refused_and_nothing_is_written(make, tui_store, incident, keys):
    from tui.screens.war_room import WarRoomScreen

    before = head(tui_store)
    app = make(open_incident=incident.id, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        war_room = app.screen
        assert isinstance(war_room, WarRoomScreen)
        await pilot.press(*keys)
        await settle(pilot)
        assert app.screen is war_room  # no dialog opened
        assert refusals(app) == 1
        await pilot.press("enter", "ctrl+s")  # whatever a dialog would have taken
        await settle(pilot)
    assert head(tui_store) == before
    with tui_store.db.read() as session:
        stored = session.get(Incident, incident.id)
        assert (stored.acknowledged_at, stored.severity, stored.status) == (None, "SEV-2", "investigating")


async def test_the_dashboard_says_read_only_and_refuses_ack_and_declare(make, tui_store, incident):
    from tui.screens.dashboard import DashboardScreen

    before = head(tui_store)
    app = make(read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert text_of(app.screen.query_one("#identity")).startswith(" READ-ONLY  as tester")
        await pilot.press("a")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert refusals(app) == 2
        # Reading still works: the war room opens, and j/k move.
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.incident_id == incident.id
    assert head(tui_store) == before


async def test_the_command_line_and_any_other_writing_path_are_refused_too(make, tui_store, incident):
    before = head(tui_store)
    app = make(open_incident=incident.id, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        war_room = app.screen
        await pilot.press("colon", *"ack", "enter")
        await settle(pilot)
        assert refusals(app) == 1
        # A writing path no key names (a future one): StoreScreen.write refuses it.
        war_room.write(lambda: tui_store.acknowledge(incident.id, actor="tester"), "acknowledged")
        await settle(pilot)
        assert refusals(app) == 2
    assert head(tui_store) == before


async def test_without_read_only_the_same_key_writes(make, tui_store, incident):
    before = head(tui_store)
    app = make(open_incident=incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert refusals(app) == 0
    assert head(tui_store) == before + 1
