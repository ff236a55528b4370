"""Snapshots for issue 14's width items: a dashboard with more incidents than fit (the
scrollbar at the right edge, STATUS and COMMANDER columns), the remediation dialog (Cancel
highlighted, 70% of the window at 160), and the war room after remediation ended, at
80x24 and 160x48. Regenerate with `--snapshot-update` only after reading the SVG text."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.tui.conftest import settle
from tests.tui.test_keys import open_war_room

SIZES = [(80, 24), (160, 48)]
TITLES = ("Checkout 5xx for EU card payments", "Search latency p99 over 4s", "Login failures after deploy 812",
          "Payments webhook backlog growing", "CDN cache misses in ap-south", "Orders DB replica lag 40 min",
          "Credential stuffing on /login", "Inventory sync stuck since 02:10")


def sized(size) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.fixture
def busy(tui_store, clock):
    """Twenty open incidents of every severity, some with a commander, one acknowledged."""
    clock.moment = datetime(2024, 1, 15, 14, 35)
    severities = ("critical", "high", "medium", "low")
    incidents = []
    for n in range(20):
        incidents.append(tui_store.declare(severities[n % 4], ("outage", "performance", "security")[n % 3],
                                           ("production", "staging")[n % 2], actor="alice",
                                           title=TITLES[n % len(TITLES)]))
        clock.advance(minutes=3)
    for incident in incidents[::3]:
        tui_store.assign_role(incident.id, "incident_commander", "Alexandra Petrovic-Whitfield", actor="alice")
    tui_store.acknowledge(incidents[1].id, actor="alice")
    tui_store.change_status(incidents[2].id, "monitoring", actor="alice")
    return incidents


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_dashboard_with_many_incidents(snap_compare, make, busy, size):
    assert snap_compare(make(), terminal_size=size, run_before=settle)


@pytest.fixture
def remediating(tui_store, clock):
    clock.moment = datetime(2024, 1, 15, 14, 35)
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    tui_store.acknowledge(incident.id, actor="alice")
    done = tui_store.start_remediation(incident.id, "Database connection pool raised to 200", actor="alice")
    clock.advance(minutes=4)
    dropped = tui_store.start_remediation(incident.id, "Fail over to eu-west-2", actor="alice")
    tui_store.start_remediation(incident.id, "Roll back checkout-frontend to v41", actor="alice")
    clock.advance(minutes=6)
    tui_store.finish_remediation(incident.id, done.id, actor="alice", outcome="errors back to baseline")
    tui_store.cancel_remediation(incident.id, dropped.id, actor="alice", reason="replication lag too high")
    return incident


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_remediation_dialog(snap_compare, make, remediating, size):
    async def run_before(pilot):
        await open_war_room(pilot)
        await pilot.press("m")
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=sized)
def test_war_room_after_remediation_ended(snap_compare, make, remediating, size):
    async def run_before(pilot):
        await open_war_room(pilot)
        side = pilot.app.screen.query_one("#side-pane")
        side.scroll_end(animate=False)  # the remediation section is at the foot of the pane
        await settle(pilot)

    assert snap_compare(make(), terminal_size=size, run_before=run_before)
