"""The war room's checklist: a tick is painted within its keypress (before the write
commits) and put back when the store refuses it; a step that wraps shows every word."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from playbooks.errors import PolicyValueError
from store.queries import incident_detail
from tests.tui.conftest import settle
from tests.tui.test_keys import open_war_room as open_the_war_room

LONG_STEP = ("Confirm incident scope and impact across every region, each customer tier and all partner "
             "integrations before paging the executive bridge")


def stored_steps(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())["checklist"]


@pytest.fixture
def incident(tui_store):
    return tui_store.declare("high", "outage", "production", actor="alice", title="Checkout down")


async def open_war_room(pilot):
    from tui.widgets.checklist import Checklist

    return (await open_the_war_room(pilot)).query_one(Checklist)


def row(checklist, option_id: str) -> str:
    return str(checklist.get_option(option_id).prompt)


def shown_lines(checklist) -> list[str]:
    """Every line the list draws, as on screen, scrolled through from top to bottom."""
    lines: list[str] = []
    for top in range(0, checklist.virtual_size.height, checklist.size.height):
        checklist.scroll_to(y=top, animate=False, immediate=True)
        lines += [checklist.render_line(y).text for y in range(checklist.size.height)]
    return lines


async def test_a_tick_is_painted_before_its_write_commits(make, tui_store, incident, monkeypatch):
    release, writing = threading.Event(), threading.Event()
    tick = tui_store.tick

    def slow_tick(*args, **kwargs):  # a store that takes its time (a busy disk, a lock held elsewhere)
        writing.set()
        release.wait(10)
        return tick(*args, **kwargs)

    monkeypatch.setattr(tui_store, "tick", slow_tick)
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        checklist = await open_war_room(pilot)
        heading = checklist.get_option_at_index(0).id
        await pilot.press("space")
        await pilot.pause()
        assert writing.wait(10)  # the write is under way, not committed
        assert row(checklist, "step-1").startswith("[x]  1. Confirm incident scope")
        assert row(checklist, heading).endswith("1/5")  # the phase's count moved with it
        assert stored_steps(tui_store, incident.id)[0]["done"] is False
        release.set()
        await settle(pilot)
        assert stored_steps(tui_store, incident.id)[0]["done_by"] == "tester"
        assert row(checklist, "step-1").startswith("[x]") and row(checklist, heading).endswith("1/5")


async def test_space_twice_quickly_ends_unticked_in_the_store_and_on_screen(make, tui_store, incident):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        checklist = await open_war_room(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        assert stored_steps(tui_store, incident.id)[0]["done"] is False
        assert row(checklist, "step-1").startswith("[ ]")


async def test_a_refused_tick_is_put_back_and_said_in_one_sentence(make, tui_store, incident, monkeypatch):
    refusal = f"{incident.id} is closed; a closed incident's checklist cannot change."

    def refuse(*args, **kwargs):
        raise PolicyValueError(refusal)

    monkeypatch.setattr(tui_store, "tick", refuse)
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        checklist = await open_war_room(pilot)
        heading = checklist.get_option_at_index(0).id
        await pilot.press("space")
        await settle(pilot)
        assert row(checklist, "step-1").startswith("[ ]  1.")
        assert row(checklist, heading).endswith("0/5")
        assert any(n.message == refusal for n in app._notifications)
        assert stored_steps(tui_store, incident.id)[0]["done"] is False


@pytest.mark.parametrize("number", [1, 15])  # the first row, and the last one (scrolled to)
async def test_a_long_step_that_wraps_shows_every_word_at_80x24(make, tui_store, incident, number):
    with tui_store.db.write() as session:  # a user's playbook may say this much in one step
        session.execute(text("UPDATE checklist_step SET text = :text WHERE incident_id = :id AND number = :n"),
                        {"text": LONG_STEP, "id": incident.id, "n": number})
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        checklist = await open_war_room(pilot)
        for ticked in (False, True):
            lines = shown_lines(checklist)
            start = next(n for n, line in enumerate(lines) if line.startswith(f"[{'x' if ticked else ' '}] {number:>2}. "))
            drawn = " ".join(lines[start:start + 6]).split()
            assert len(lines[start].rstrip()) < len(f"[ ] {number:>2}. {LONG_STEP}")  # it did wrap
            words = LONG_STEP.split()
            at = drawn.index(words[0])
            assert drawn[at:at + len(words)] == words  # every word, the last one too, in order
            checklist.highlighted = checklist.get_option_index(f"step-{number}")
            await pilot.press("space")
            await settle(pilot)
