"""The war room says who was not told on purpose, and why: a development SEV-1's pager and
status-page rows read "skipped (development)", a drill's "skipped (drill)" (issue 12)."""
from __future__ import annotations

from automation.routing import route_by_matrix
from playbooks.config import Configuration
from tests.tui.conftest import settle, text_of
from tests.tui.test_keys import open_war_room

EVERY_CHANNEL = {"pagerduty", "slack", "statuspage", "sms", "email", "webhook"}


async def test_a_development_sev1_shows_its_pager_rows_as_skipped(make, tui_store):
    tui_store.router = route_by_matrix(tui_store.policy, EVERY_CHANNEL, Configuration())
    tui_store.declare("critical", "outage", "development", actor="alice", title="Dev cluster down")
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_war_room(pilot)
        await settle(pilot)
        shown = text_of(screen.query_one("#side"))
    lines = shown.splitlines()
    rows = {group: next(line for line in lines if line.startswith(group))
            for group in ("Executive Team", "On-Call Engineers", "External Customers", "Engineering Leads")}
    assert "skipped (development)" in rows["Executive Team"]        # SMS: pages nobody in development
    assert "skipped (development)" in rows["On-Call Engineers"]     # PagerDuty
    assert "skipped (development)" in rows["External Customers"]    # the status page: publishes nothing
    assert "waiting" in rows["Engineering Leads"]                   # Slack and e-mail still go


async def test_a_drill_shows_every_row_as_skipped(make, tui_store):
    from automation.drills import run_drill

    tui_store.router = route_by_matrix(tui_store.policy, EVERY_CHANNEL, Configuration())
    run_drill(tui_store, "db-pool-exhaustion", actor="drill-runner")
    app = make()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_war_room(pilot)
        await settle(pilot)
        shown = text_of(screen.query_one("#side"))
    told = [line for line in shown.splitlines() if "skipped (" in line]
    assert told and all("skipped (drill)" in line for line in told)
    assert "sent" not in shown.split("Stakeholders", 1)[1].split("Status updates", 1)[0]
