"""At 3 a.m. the screen says who you act as, which store you write to, whether anyone can
be told, where System Health's figures come from, and every clock with units and sign
(issue 14, items 1, 3, 10, 11 and 13)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from playbooks.config import parse_configuration
from store.models import MetricSample
from store.outbox import IntegrationBacklog
from tests.tui.conftest import settle, text_of

NOBODY = "notifications: not configured — nobody will be paged"


def flat(text: str) -> str:
    return " ".join(text.split())


def with_integrations(*names: str):
    """config.toml with these integrations enabled (their secrets are read only when sending)."""
    return parse_configuration({"integrations": {name: {} for name in names}})


# -- the header ---------------------------------------------------------------------
async def test_header_names_the_actor_the_store_and_that_nobody_will_be_paged(make, tui_store):
    tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(actor="oncall-jump")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        identity = flat(text_of(app.screen.query_one("#identity")))
    assert "as oncall-jump" in identity
    assert "incidents.db" in identity  # the SQLite file's name, not the whole path
    assert NOBODY in identity  # whole, at 80 columns


async def test_header_lists_the_integrations_that_will_carry_messages(make, tui_store):
    app = make(configuration=with_integrations("slack", "pagerduty"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        identity = flat(text_of(app.screen.query_one("#identity")))
    assert "notifications: pagerduty, slack" in identity
    assert "nobody will be paged" not in identity


async def test_the_outbox_backlog_is_not_cut_at_80_columns(make, tui_store, clock):
    from tui.widgets.header import SeverityHeader

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(SeverityHeader)
        header.update_counts({"SEV-1": 1, "SEV-2": 2, "SEV-3": 3, "SEV-4": 4}, clock(),
                             (IntegrationBacklog("slack", 3, 1, 0, "503"), IntegrationBacklog("pagerduty", 0, 0, 9, None)))
        await pilot.pause()
        identity = flat(text_of(app.screen.query_one("#identity")))
        counts = flat(text_of(app.screen.query_one("#counts")))
    assert "slack: 3 waiting, 1 failed" in identity
    assert "pagerduty" not in identity.split(NOBODY)[-1]  # nothing waiting there: not mentioned
    assert "as tester" in identity and NOBODY in identity  # the backlog never pushes these out
    assert "SEV-4 4" in counts


def test_a_postgresql_store_is_named_by_host_and_database_never_its_password():
    from tui.widgets.header import store_label

    @dataclass
    class Db:
        url: str
        sqlite_path: None = None

    shown = store_label(Db("postgresql+psycopg://ir:s3cret@db.internal:5433/incidents?password=other"))
    assert shown == "db.internal:5433/incidents"
    assert "s3cret" not in shown and "other" not in shown


# -- the war room: who is told, escalation, countdowns -------------------------------
async def test_stakeholders_nothing_here_can_reach_say_not_configured(make, tui_store):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(open_incident=incident.id, configuration=with_integrations("slack"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        side = text_of(app.screen.query_one("#side"))
    rows = {line.split("  ")[0].strip(): flat(line) for line in side.splitlines() if line.strip()}
    assert "not configured" in rows["Executive Team"]  # sms and voice: neither is configured here
    assert "not configured" in rows["On-Call Engineers"]  # pagerduty
    assert "not yet" in rows["Engineering Leads"]  # slack is: it has not been told yet
    assert "not configured" not in rows["Engineering Leads"]
    assert "Roles you: tester" in flat(side)


async def test_not_configured_fits_the_side_pane_at_80_columns(make, tui_store):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        side = text_of(app.screen.query_one("#side"))
    rows = [line for line in side.splitlines() if "not config" in line]
    assert rows and all("not configured" in line for line in rows)


async def test_no_escalation_is_promised_when_nothing_can_carry_it(make, tui_store):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        banner = flat(text_of(app.screen.query_one("#banner")))
    assert "Automatic escalation to leadership" not in banner
    assert "escalates to nobody: no notifications" in banner


async def test_escalation_is_shown_when_the_pager_is_configured(make, tui_store):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(open_incident=incident.id, configuration=with_integrations("pagerduty"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        banner = flat(text_of(app.screen.query_one("#banner")))
    assert "Automatic escalation to leadership" in banner
    assert "escalates to nobody" not in banner


async def test_banner_countdowns_carry_units_sign_and_deadline(make, tui_store, clock):
    # Declared at 14:30: a SEV-1 is acknowledged within 15 minutes, updated every 15.
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        banner = app.screen.query_one("#banner")
        clock.advance(seconds=3)
        app.screen.tick()
        await pilot.pause()
        assert "ACK DUE in 14m (by 14:45)" in flat(text_of(banner))  # 14:57 left: never "14:57"
        clock.advance(minutes=41, seconds=57)  # 15:12
        app.screen.tick()
        await pilot.pause()
        shown = flat(text_of(banner))
    assert "ACK DUE 27m over (since 14:45)" in shown
    assert "UPDATE DUE" in shown and " over (since " in shown


async def test_at_80_columns_the_banner_keeps_the_warning_and_drops_the_deadlines(make, tui_store, clock):
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = text_of(app.screen.query_one("#banner")).splitlines()[1]
    assert "ACK DUE in 15m" in line and "(by " not in line
    assert "escalates to nobody: no notifications" in line  # whole, not cut at the edge


async def test_compliance_clocks_are_not_cut_in_the_side_pane_at_80_columns(make, tui_store):
    from store.compliance import mark_exposure
    from tui.widgets.compliance_clocks import ObligationCountdowns

    incident = tui_store.declare("high", "data", "production", actor="alice", title="Customer table dumped")
    mark_exposure(tui_store, incident.id, ["personal_data"], actor="alice")
    app = make(open_incident=incident.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lines = [flat(line) for line in text_of(app.screen.query_one(ObligationCountdowns)).splitlines()]
    assert any(line.startswith("GDPR in 72h00m") for line in lines), lines
    assert any(line.startswith("SOC2 in ") for line in lines), lines


# -- System Health: whose figures ----------------------------------------------------
def _sample(tui_store, source: str, at) -> None:
    with tui_store.db.write() as session:
        for metric, value in (("cpu", 41.0), ("memory", 63.0)):
            session.add(MetricSample(source=source, metric=metric, at=at, value=value))


async def health_title(make, tui_store, clock, source: str) -> str:
    """The System Health pane's title once a sample from `source` is ten seconds old."""
    _sample(tui_store, source, clock() - timedelta(seconds=10))
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        return app.screen.query_one("#health-pane").border_title


async def test_system_health_says_the_figures_are_this_hosts(make, tui_store, clock, monkeypatch):
    from tui.widgets import panes

    monkeypatch.setattr(panes, "this_host", lambda: "jump-1")
    assert await health_title(make, tui_store, clock, "host") == "System Health · this host: jump-1"


async def test_system_health_names_a_remote_source(make, tui_store, clock):
    assert await health_title(make, tui_store, clock, "prometheus") == "System Health · prometheus"


async def test_a_source_name_is_data_in_the_title(make, tui_store, clock):
    _sample(tui_store, "[b]prom[/b]", clock() - timedelta(seconds=10))
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.screen.query_one("#health-pane")
        assert "[b]prom[/b]" in pane._border_title.plain  # shown, not read as markup
