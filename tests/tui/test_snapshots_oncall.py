"""On call in the command center at 80x24 and 160x48: the dashboard with its on-call line and
silences, the on-call screen (O) and its override prompt (o), from the demo data set, two
schedules ([schedules.*]), an override and a silence, with the clock frozen by injection.
Without schedules and silences the line is not there: the dashboard's own snapshots hold it."""
from __future__ import annotations

import tomllib
from datetime import datetime, timedelta

import pytest

from playbooks.config.reading import parse_configuration
from playbooks.silences import parse_matchers
from store.demo import seed_demo
from store.oncall import add_override
from store.silences import add_silence
from tests.tui.conftest import settle
from tests.tui.test_oncall_pane import CONFIG

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def oncall_app(tui_store, clock, make):
    clock.moment = datetime(2024, 1, 15, 14, 35)
    seed_demo(tui_store, clock)
    add_override(tui_store, "secondary", "dave", clock.moment - timedelta(minutes=35),
                 clock.moment + timedelta(hours=2), actor="lead")
    add_silence(tui_store, parse_matchers(["service=search"]), clock.moment, clock.moment + timedelta(hours=1),
                reason="reindex", actor="lead")
    return make(configuration=parse_configuration(tomllib.loads(CONFIG)))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_with_on_call_line(snap_compare, oncall_app, size):
    assert snap_compare(oncall_app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_on_call_screen(snap_compare, oncall_app, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)

    assert snap_compare(oncall_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_override_prompt_refusal(snap_compare, oncall_app, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        await pilot.press("o", *"zed", "enter")
        await settle(pilot)

    assert snap_compare(oncall_app, terminal_size=size, run_before=run_before)
