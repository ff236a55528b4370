"""Announcements: other writers' changes become toasts (and, when asked for, a bell); a new
incident's dashboard row flashes once; a dialog does not freeze the war room behind it."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from tests.tui.conftest import settle, text_of
from tui.app import StoreChanged


def toasts(app) -> list[tuple[str, str, str]]:
    return [(n.title, n.message, n.severity) for n in app._notifications]


def ring_counter(app) -> list[int]:
    rung: list[int] = []
    app.bell = lambda: rung.append(1)
    return rung


async def another_writer_did(pilot, write):
    """A write by someone else, then what the file watcher posts when the database changes."""
    result = write()
    pilot.app.post_message(StoreChanged())
    await settle(pilot)
    return result


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


async def test_a_sev1_declared_by_another_writer_is_a_toast_and_its_row_flashes(make, tui_store, incident):
    from tui.widgets.incident_table import IncidentTable

    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert toasts(app) == []  # what was there at start is history, not news
        rung = ring_counter(app)
        new = await another_writer_did(pilot, lambda: tui_store.declare(
            "critical", "security", "production", actor="bob", title="[bold]Payments[/] down"))
        assert ("New SEV-1", f"{new.id}: [bold]Payments[/] down — declared by bob", "warning") in toasts(app)
        assert rung == []  # the bell is off by default
        table = app.screen.query_one(IncidentTable)
        assert new.id in table.flashing and table.has_class("-flash")
        assert [row.id for row in table.rows_shown][0] == new.id
        # Once: the flash ends by itself.
        await pilot.pause(1.6)
        assert not table.flashing and not table.has_class("-flash")


async def test_a_sev3_is_listed_without_a_toast(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await another_writer_did(pilot, lambda: tui_store.declare("medium", "performance", "staging", actor="bob",
                                                                  title="Slow search"))
        assert toasts(app) == []


async def test_the_bell_rings_when_configured(make, tui_store, incident):
    app = make(bell=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rung = ring_counter(app)
        await another_writer_did(pilot, lambda: tui_store.declare("high", "security", "production", actor="bob",
                                                                  title="Token leak"))
        assert [t[0] for t in toasts(app)] == ["New SEV-2"]
        assert rung == [1]


async def test_a_change_by_someone_else_to_the_open_incident_is_announced_and_mine_is_not(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rung = ring_counter(app)
        await another_writer_did(pilot, lambda: tui_store.change_severity(incident.id, "SEV-3", actor="bob",
                                                                          reason="contained"))
        assert (f"bob changed {incident.id}", "Downgraded SEV-2 -> SEV-3: contained", "warning") in toasts(app)
        # The war room shows it too (it reloads on every change).
        assert "SEV-3" in text_of(app.screen.query_one("#banner"))

        app.clear_notifications()
        await another_writer_did(pilot, lambda: tui_store.add_note(incident.id, "my own note", actor="tester"))
        assert toasts(app) == []  # my own change: I know
        await another_writer_did(pilot, lambda: tui_store.add_note(incident.id, "rolled back\nv2.3", actor="carol"))
        assert toasts(app) == [(f"carol changed {incident.id}", "rolled back v2.3", "information")]
        assert rung == []


async def test_a_missed_update_and_an_escalation_are_announced(make, tui_store, incident, clock):
    from automation.escalation import escalate_overdue, nudge_overdue_updates

    sev1 = tui_store.declare("critical", "outage", "production", actor="bob", title="Everything down")
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        clock.advance(hours=3)  # past both acknowledgement deadlines and both update cadences
        await another_writer_did(pilot, lambda: (escalate_overdue(tui_store), nudge_overdue_updates(tui_store)))
        assert sorted(t[0] for t in toasts(app)) == sorted([
            f"Escalated: {incident.id}", f"Escalated: {sev1.id}",
            f"Update overdue: {incident.id}", f"Update overdue: {sev1.id}"])
        assert {t[2] for t in toasts(app) if t[0].startswith("Escalated")} == {"warning"}


async def test_a_dialog_does_not_freeze_the_war_room_behind_it(make, tui_store, incident):
    from tui.screens.war_room import WarRoomScreen

    app = make(open_incident=incident.id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        war_room = app.screen
        assert isinstance(war_room, WarRoomScreen)
        await pilot.press("n")  # the note dialog, open over the war room
        await settle(pilot)
        assert app.screen is not war_room
        await another_writer_did(pilot, lambda: tui_store.add_note(incident.id, "seen from behind", actor="bob"))
        assert "seen from behind" in text_of(war_room.query_one("#timeline"))
        assert (f"bob changed {incident.id}", "seen from behind", "information") in toasts(app)


async def test_another_process_declaring_is_announced_through_the_file_watcher(make, tui_store, incident):
    """The real path: a CLI in another process writes the SQLite file; the watcher notices.
    (No `settle`: the watcher's worker runs until the app quits.)"""
    app = make(watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):  # the store's head read: announcements start there
            if app.announced_seq is not None:
                break
            await pilot.pause(0.01)
        assert app.announced_seq is not None
        declared = await asyncio.to_thread(subprocess.run, [
            sys.executable, "-m", "tui.cli", "--db", str(tui_store.db.url), "--as", "dave", "critical", "outage",
            "production", "--no-tui", "--title", "API down"],
            capture_output=True, text=True, timeout=60, env=dict(os.environ, IR_NOW="2024-01-18T15:00:00Z"))
        assert declared.returncode == 0, declared.stderr
        new_id = declared.stdout.strip()
        for _ in range(400):  # the watcher's debounce, then the check: wait for the toast itself
            if any(t[0] == "New SEV-1" for t in toasts(app)):
                break
            await pilot.pause(0.025)
        assert ("New SEV-1", f"{new_id}: API down — declared by dave", "warning") in toasts(app)
        await app.action_quit()
