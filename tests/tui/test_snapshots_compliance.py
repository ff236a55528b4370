"""Regulatory clocks at 80x24 and 160x48, from the demo data set at a frozen clock, with the
demo's data incident marked as exposing personal data (GDPR and SOC 2 clocks running).
Regenerate with `pytest --snapshot-update` only after reading the report."""
from __future__ import annotations

from datetime import datetime

import pytest

from store.compliance import mark_exposure
from store.demo import seed_demo
from tests.tui.conftest import settle

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def exposed(tui_store, clock, make):
    clock.moment = datetime(2024, 1, 15, 14, 35)
    ids = seed_demo(tui_store, clock)
    # Someone realised at 14:20 that the duplicated export had gone to a partner.
    mark_exposure(tui_store, ids["data"], ["personal_data"], actor="li", aware_at=datetime(2024, 1, 15, 14, 20))
    return make, ids


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_with_regulatory_clocks(snap_compare, exposed, size):
    make, _ = exposed
    assert snap_compare(make(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_war_room_with_gdpr_clock(snap_compare, exposed, size):
    make, ids = exposed
    assert snap_compare(make(open_incident=ids["data"]), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compliance_screen(snap_compare, exposed, size):
    make, ids = exposed

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(make(open_incident=ids["data"]), terminal_size=size, run_before=run_before)
