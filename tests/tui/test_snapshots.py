"""Every screen at 80x24 (the default SSH window) and 160x48, from the demo data set and a
frozen clock. Regenerate with `pytest --snapshot-update` only after reading the report."""
from __future__ import annotations

from datetime import datetime

import pytest

from store.demo import seed_demo
from tests.tui.conftest import settle

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def demo_app(tui_store, clock, make):
    clock.moment = datetime(2024, 1, 15, 14, 35)
    ids = seed_demo(tui_store, clock)
    return make(), ids


async def _war_room(pilot):
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)




@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_compare, demo_app, size):
    app, _ = demo_app
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.fixture
def empty_app(tui_store, tmp_path):
    """A first start: nothing declared yet. The store is described by a fixed path (the
    welcome shows it) and the sources and config path are fixed, so the picture is the
    same on every machine."""
    from dataclasses import replace
    from pathlib import Path

    from store.operations import IncidentStore
    from tui.app import Settings, make_app

    path = Path("/var/lib/incident-response/incidents.db")
    store = IncidentStore(replace(tui_store.db, url=f"sqlite:///{path}", sqlite_path=path), tui_store.policy,
                          tui_store.clock)
    return make_app(store, Settings(actor="tester", export_dir=tmp_path, watch=False, detect=False,
                                    metric_sources=("host", "prometheus"),
                                    config_path="/home/oncall/.config/incident-response/config.toml"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty_dashboard(snap_compare, empty_app, size):
    assert snap_compare(empty_app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_war_room(snap_compare, demo_app, size):
    app, _ = demo_app
    assert snap_compare(app, terminal_size=size, run_before=_war_room)


# A small window (a split tmux pane): nothing that matters cut, every border closed.
SMALL = (60, 20)


def _borders_closed(svg_text: str) -> None:
    """Each pane's box: as many ╭ as ╰ and ╮ as ╯, on every column a box starts in."""
    from collections import Counter

    import re

    corners = Counter(re.findall("[╭╮╰╯]", svg_text))
    assert corners["╭"] == corners["╰"] > 0 and corners["╮"] == corners["╯"] == corners["╭"], corners


def test_dashboard_small(snap_compare, demo_app):
    app, _ = demo_app

    async def run_before(pilot):
        await settle(pilot)
        _borders_closed(pilot.app.export_screenshot())

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_war_room_small(snap_compare, demo_app):
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        _borders_closed(pilot.app.export_screenshot())

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_timeline_note_in_full(snap_compare, demo_app, size):
    """The timeline focused (t), filtered to notes (2), the note opened in full (enter)."""
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("t", "2", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_declare_form(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("d", *"Checkout 500s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_status_update_composer(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("u")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_status_and_role_prompts(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_role_prompt(snap_compare, demo_app, size):
    """r in the demo war room: every role with its holder, the acting name prefilled."""
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("r", "down")  # comms lead highlighted
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.fixture
def demo_with_history(tui_store, clock, make):
    """The demo, plus two resolved incidents from earlier in the season: one like the demo's
    outage (same service, its root cause and two corrective actions), one only of its type."""
    from store.review import add_action_item, update_rca

    clock.moment = datetime(2024, 1, 3, 9, 0)
    past = tui_store.declare("critical", "outage", "production", actor="sam",
                             title="Main application unavailable to users", service="web")
    update_rca(tui_store, past.id, actor="sam",
               root_cause="Database connection pool exhausted after a deploy doubled the worker count")
    add_action_item(tui_store, past.id, "Alert at 80% connection pool use", actor="sam", category="short-term")
    add_action_item(tui_store, past.id, "Size the pool from the worker count in the deploy pipeline", actor="sam",
                    category="long-term")
    tui_store.resolve(past.id, actor="sam")
    clock.moment = datetime(2023, 11, 20, 3, 0)
    tui_store.resolve(tui_store.declare("high", "outage", "production", actor="li", title="Users unable to log in",
                                        service="auth").id, actor="li")
    clock.moment = datetime(2024, 1, 15, 14, 35)
    seed_demo(tui_store, clock)
    return make()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_similar_incidents(snap_compare, demo_with_history, size):
    """h in the war room: the past incidents like this one, with root cause and actions."""

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("h")
        await settle(pilot)

    assert snap_compare(demo_with_history, terminal_size=size, run_before=run_before)
