"""Keystrokes for the ten most common incident tasks (issue 14, acceptance 2): each task is
performed with Pilot, every key it takes is counted, and the result is checked in the store
and on the screen. The README's table "Keystrokes for common tasks" states the same keys
and counts; the last test reads it and compares.

How keys are counted: every key pressed counts one (`d`, `enter`, `alt+1`, `ctrl+s` alike).
What you type (a title, the words of an update, part of a title to find) is not counted
key by key: it is written *title* in the sequence and left out of the count, because its
length is yours, not the command center's.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from store.queries import incident_detail
from tests.tui.conftest import settle, text_of

# Task -> the keys it takes, in order; *word* is typed text (not counted). The README's table
# shows these sequences and counts; test_the_readme_table_states_these_keys keeps them equal.
EXPECTED_KEYS: dict[str, tuple[str, ...]] = {
    "Declare a SEV-1 with a title": ("d", "*title*", "alt+1", "ctrl+s"),
    "Acknowledge": ("a",),
    "Assign me as commander": ("r", "enter"),
    "Tick a step": ("space",),
    "Post a status update": ("u", "*words*", "ctrl+s"),
    "Move to monitoring": ("s", "enter", "escape"),
    "Find a resolved incident": ("H", "slash", "*part of its title*", "enter", "enter"),
    "Hand over": ("x", "enter"),
    "Open the post-incident review": ("p",),
    "Quit": ("ctrl+q",),
}

README = Path(__file__).resolve().parents[2] / "README.md"
INTRO = ("Counted by `tests/tui/test_keystrokes.py`, which performs each task. Every key counts one;"
         " what you type (*in italics*) is not counted. Declaring and finding start on the dashboard,"
         " the rest in the incident's war room; `ctrl+q` quits from anywhere (`q` on the dashboard).")
SECTION = "Keystrokes for common tasks"


# Pilot's names for two keys, and what the README (and the keys' own hints) call them.
README_NAMES = {"slash": "/", "escape": "esc"}


def shown(sequence: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(README_NAMES.get(token, token) for token in sequence)


def key_count(sequence: tuple[str, ...]) -> int:
    return sum(1 for token in sequence if not token.startswith("*"))


class Keystrokes:
    """Presses keys through Pilot and writes down each one; typed text goes down as one
    *name* token (pressed character by character, not counted)."""

    def __init__(self, pilot) -> None:
        self.pilot = pilot
        self.sequence: list[str] = []

    async def press(self, *keys: str, wait: bool = True) -> None:
        for key in keys:
            await self.pilot.press(key)
            self.sequence.append(key)
            if wait:  # what a person waits for before the next key (the screen answering)
                await settle(self.pilot)

    async def type(self, name: str, text: str) -> None:
        await self.pilot.press(*text)
        self.sequence.append(f"*{name}*")
        await settle(self.pilot)

    def check(self, task: str) -> None:
        assert tuple(self.sequence) == EXPECTED_KEYS[task]
        assert key_count(tuple(self.sequence)) == key_count(EXPECTED_KEYS[task])


def detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


async def in_war_room(pilot, incident_id):
    from tui.screens.war_room import WarRoomScreen

    await settle(pilot)
    assert isinstance(pilot.app.screen, WarRoomScreen) and pilot.app.screen.incident_id == incident_id
    return pilot.app.screen


async def test_declare_a_sev1_with_a_title(make, tui_store):
    from tui.screens.war_room import WarRoomScreen

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = Keystrokes(pilot)
        await keys.press("d")
        await keys.type("title", "Checkout 500s for EU")
        await keys.press("alt+1", "ctrl+s")
        keys.check("Declare a SEV-1 with a title")
        assert isinstance(app.screen, WarRoomScreen)
        declared = detail(tui_store, app.screen.incident_id)
        assert (declared["title"], declared["severity"], declared["status"]) == (
            "Checkout 500s for EU", "SEV-1", "investigating")
        assert "SEV-1" in text_of(app.screen.query_one("#banner"))


async def test_acknowledge(make, tui_store, incident, clock):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await in_war_room(pilot, incident.id)
        clock.advance(minutes=3)
        keys = Keystrokes(pilot)
        await keys.press("a")
        keys.check("Acknowledge")
        assert detail(tui_store, incident.id)["acknowledged_at"] == "2024-01-18T14:33:00Z"
        assert "ack'd 14:33" in text_of(screen.query_one("#banner"))


async def test_assign_me_as_commander(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await in_war_room(pilot, incident.id)
        keys = Keystrokes(pilot)
        await keys.press("r", "enter")
        keys.check("Assign me as commander")
        roles = detail(tui_store, incident.id)["roles"]
        assert [(r["role"], r["person"]) for r in roles] == [("incident_commander", "tester")]
        assert app.screen is screen
        side = text_of(screen.query_one("#side")).splitlines()
        assert any(line.split()[:2] == ["commander", "tester"] for line in side)


async def test_tick_a_step(make, tui_store, incident):
    from tui.widgets.checklist import Checklist

    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await in_war_room(pilot, incident.id)
        keys = Keystrokes(pilot)
        await keys.press("space")
        keys.check("Tick a step")
        step = detail(tui_store, incident.id)["checklist"][0]
        assert (step["done"], step["done_by"]) == (True, "tester")
        assert str(screen.query_one(Checklist).get_option("step-1").prompt).startswith("[x]")


async def test_post_a_status_update(make, tui_store, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await in_war_room(pilot, incident.id)
        keys = Keystrokes(pilot)
        await keys.press("u")
        await keys.type("words", "Rolled back the deploy. ")
        await keys.press("ctrl+s")
        keys.check("Post a status update")
        assert app.screen is screen
        updates = detail(tui_store, incident.id)["status_updates"]
        assert len(updates) == 1 and "Rolled back the deploy." in updates[0]["message"]
        assert "Rolled back the deploy." in text_of(screen.query_one("#timeline"))


async def test_move_to_monitoring(make, tui_store, incident):
    tui_store.change_status(incident.id, "identified", actor="alice")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await in_war_room(pilot, incident.id)
        keys = Keystrokes(pilot)
        await keys.press("s", "enter")  # the picker preselects the next status forward
        assert detail(tui_store, incident.id)["status"] == "monitoring"
        assert "Post an update now?" in str(app.screen.query_one(".dialog").border_title)
        await keys.press("escape")  # the offered update: not this time
        keys.check("Move to monitoring")
        assert app.screen is screen and "MONITORING" in text_of(screen.query_one("#banner")).upper()
        assert detail(tui_store, incident.id)["status_updates"] == []


async def test_find_a_resolved_incident(make, tui_store, incident):
    past = tui_store.declare("medium", "performance", "production", actor="bob", title="Search slow for EU users")
    tui_store.resolve(past.id, actor="bob")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = Keystrokes(pilot)
        await keys.press("H", "slash")
        await keys.type("part of its title", "search")
        await keys.press("enter", "enter")
        keys.check("Find a resolved incident")
        screen = await in_war_room(pilot, past.id)
        assert detail(tui_store, past.id)["status"] == "resolved"
        banner = text_of(screen.query_one("#banner"))
        assert "RESOLVED" in banner and "Search slow for" in banner


async def test_hand_over(make, tui_store, incident, tmp_path):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await in_war_room(pilot, incident.id)
        keys = Keystrokes(pilot)
        await keys.press("x", "enter")  # the configured folder is prefilled
        keys.check("Hand over")
        folder = tmp_path / "handover"
        written = sorted(path.name for path in folder.iterdir())
        assert written == [f"{incident.id}-handover.md", f"{incident.id}-war-room.svg"]
        assert "Checkout down" in (folder / f"{incident.id}-handover.md").read_text()
        assert app.screen is screen


async def test_open_the_post_incident_review(make, tui_store, incident):
    from tui.screens.post_incident import PostIncidentScreen

    tui_store.resolve(incident.id, actor="alice")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await in_war_room(pilot, incident.id)
        keys = Keystrokes(pilot)
        await keys.press("p")
        keys.check("Open the post-incident review")
        assert isinstance(app.screen, PostIncidentScreen) and app.screen.incident_id == incident.id


async def test_quit(make, incident):
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await in_war_room(pilot, incident.id)  # from anywhere, not only the dashboard
        keys = Keystrokes(pilot)
        await keys.press("ctrl+q", wait=False)  # nothing is left to answer
        await pilot.pause()
        keys.check("Quit")
        assert not app.is_running


def test_every_task_is_performed_by_a_test():
    performed = {"Declare a SEV-1 with a title", "Acknowledge", "Assign me as commander", "Tick a step",
                 "Post a status update", "Move to monitoring", "Find a resolved incident", "Hand over",
                 "Open the post-incident review", "Quit"}
    assert set(EXPECTED_KEYS) == performed and len(EXPECTED_KEYS) == 10


def readme_table() -> dict[str, tuple[tuple[str, ...], int]]:
    """The README section's table: task -> (keys in order as the README writes them, the count it states)."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^#+ {re.escape(SECTION)}\s*$", text, re.MULTILINE)
    assert heading, f'README.md has no section "{SECTION}" (acceptance 2: the table of keystrokes)'
    rows, in_table = {}, False
    for line in text[heading.end():].splitlines():
        if line.startswith("#"):
            break  # the next section: the table was not in this one
        if not line.startswith("|"):
            if in_table:
                break  # the table has ended
            continue  # words before the table
        in_table = True
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or set(cells[2]) <= set("-: ") or cells[2].lower() == "count":
            continue  # the header and the rule under it
        keys = tuple(code or f"*{typed}*" for code, typed in re.findall(r"`([^`]+)`|\*([^*]+)\*", cells[1]))
        rows[cells[0]] = (keys, int(cells[2]))
    return rows


def test_the_readme_table_states_these_keys():
    rows = readme_table()
    assert list(rows) == list(EXPECTED_KEYS)
    for task, sequence in EXPECTED_KEYS.items():
        assert rows[task] == (shown(sequence), key_count(sequence)), task


def readme_section() -> str:
    """The section as it goes into the README (printed by `python -m tests.tui.test_keystrokes`)."""
    lines = [f"## {SECTION}", "", INTRO, "", "| Task | Keys | Count |", "| --- | --- | --- |"]
    for task, sequence in EXPECTED_KEYS.items():
        keys = " ".join(token if token.startswith("*") else f"`{token}`" for token in shown(sequence))
        lines.append(f"| {task} | {keys} | {key_count(sequence)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_section())
