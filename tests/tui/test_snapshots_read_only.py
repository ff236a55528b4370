"""Read-only mode at 80x24 and 160x48: the demo data set's dashboard with READ-ONLY in its
header, after `a` was refused (the sentence in a toast). Regenerate with
`pytest --snapshot-update` only after looking at the SVGs."""
from __future__ import annotations

from datetime import datetime

import pytest

from store.demo import seed_demo
from tests.tui.conftest import settle

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def read_only_app(tui_store, clock, make):
    clock.moment = datetime(2024, 1, 15, 14, 35)
    seed_demo(tui_store, clock)
    return make(read_only=True)


async def _ack_refused(pilot):
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_read_only_dashboard(snap_compare, read_only_app, size):
    assert snap_compare(read_only_app, terminal_size=size, run_before=_ack_refused)


async def _war_room_read_only(pilot):
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_read_only_war_room(snap_compare, read_only_app, size):
    """The footer offers only what read-only mode allows: no Tick, Note, Update, Ack, Status or Roles."""
    assert snap_compare(read_only_app, terminal_size=size, run_before=_war_room_read_only)
