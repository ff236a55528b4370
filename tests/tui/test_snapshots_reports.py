"""The Reports screen at 80x24 and 160x48: February 2024 of tests/reports/dataset.py
(imported at a frozen clock). Regenerate with `pytest --snapshot-update` only after
looking at the SVGs."""
from __future__ import annotations

import pytest

from tests.reports import dataset
from tests.tui.conftest import settle

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def reports_app(tui_store, clock, make):
    dataset.load(tui_store, clock)
    return make()


async def _february(pilot):
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)
    await pilot.press("left_square_bracket")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reports_february(snap_compare, reports_app, size):
    assert snap_compare(reports_app, terminal_size=size, run_before=_february)
