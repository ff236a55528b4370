"""Issue 14's navigation screens at 80x24 and 160x48, from the demo data at a frozen clock:
the dashboard with resolved incidents shown (H) and filtered (/), the `:` command line with
an id typed, and the timeline focused and filtered to status changes. Regenerate with
`pytest --snapshot-update` only after reading the report."""
from __future__ import annotations

import pytest

from tests.tui.conftest import settle
from tests.tui.test_snapshots import SIZES, _war_room, demo_app  # noqa: F401 (a fixture)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_history_filtered(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("H", "slash", *"latency")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_command_line_with_an_id_typed(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("colon", *"0115-00")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_timeline_focused_on_status_changes(snap_compare, demo_app, size):
    app, _ = demo_app

    async def run_before(pilot):
        await _war_room(pilot)
        await pilot.press("t", "4")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
