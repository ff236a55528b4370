"""Regulatory clocks on screen (issue 6, acceptance 3): a GDPR-flagged data incident shows
its 72-hour clock counting from awareness, ticking with the frozen clock; marking the
notification done stops it and records who and when."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from store.compliance import mark_exposure
from store.models import ComplianceObligation, DataExposure
from tests.tui.conftest import settle, text_of
from tests.tui.test_keys import open_war_room


def obligations(store):
    with store.db.read() as session:
        return {o.regime: o for o in session.exec(select(ComplianceObligation)).all()}


@pytest.fixture
def data_incident(tui_store):
    # Declared (so detected: awareness) at the clock fixture's Thursday 2024-01-18 14:30.
    return tui_store.declare("high", "data", "production", actor="alice", title="Customer table dumped")


async def test_gdpr_countdown_from_awareness_ticks_and_stops_when_met(make, tui_store, clock, data_incident):
    from tui.screens.compliance import ComplianceScreen, ObligationList
    from tui.widgets.compliance_clocks import ObligationCountdowns

    clock.advance(minutes=10)  # exposure found ten minutes after detection
    mark_exposure(tui_store, data_incident.id, ["personal_data"], actor="alice")
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_war_room(pilot)
        clocks = screen.query_one(ObligationCountdowns)
        assert clocks.display
        shown = text_of(clocks)
        assert "GDPR in 71h50m (by 21 Jan 14:30)" in " ".join(shown.split())  # 72 h from 14:30, seen at 14:40
        clock.advance(minutes=2, seconds=15)
        screen.tick()
        await pilot.pause()
        assert "GDPR in 71h47m" in " ".join(text_of(clocks).split())

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ComplianceScreen)
        assert "GDPR" in text_of(app.screen.query_one(ObligationList))
        assert "Notify the supervisory authority" in text_of(app.screen.query_one("#requirements"))
        assert "not legal advice" in text_of(app.screen.query_one("#disclaimer"))
        await pilot.press("m")  # GDPR is the first obligation (due first, then by name)
        await settle(pilot)
        await pilot.press("enter")  # "Mark met"
        await settle(pilot)
        gdpr = obligations(tui_store)["GDPR"]
        assert (gdpr.met_by, gdpr.met_at) == ("tester", datetime(2024, 1, 18, 14, 42, 15))
        assert obligations(tui_store)["SOC2"].met_at is None
        assert "met 18 Jan 14:42 by tester" in text_of(app.screen.query_one(ObligationList))

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        clock.advance(hours=80)  # long past the deadline: a met obligation shows no countdown
        screen.tick()
        await pilot.pause()
        lines = {line.split()[0]: " ".join(line.split()) for line in text_of(clocks).splitlines() if line.strip()}
        assert lines["GDPR"] == "GDPR met 18 Jan 14:42 by tester"
        assert lines["SOC2"].startswith("SOC2 8h12m over")  # due 21 Jan 14:30, now 22:42:15


async def test_marking_exposure_on_screen_starts_the_clocks(make, tui_store, clock):
    from tui.screens.compliance import ComplianceScreen, ObligationList
    from tui.widgets.compliance_clocks import ObligationCountdowns

    incident = tui_store.declare("critical", "security", "production", actor="alice", title="Credential stuffing")
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        war_room = await open_war_room(pilot)
        assert "no exposed data marked (c)" in text_of(war_room.query_one(ObligationCountdowns))
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComplianceScreen)
        assert "No clock runs yet" in text_of(screen.query_one(ObligationList))
        await pilot.press("e")  # nothing selected: a warning, nothing written
        await settle(pilot)
        assert obligations(tui_store) == {}
        await pilot.press("space", "e")  # personal_data, the first class
        await settle(pilot)
        with tui_store.db.read() as session:
            marks = session.exec(select(DataExposure)).all()
        assert [(m.incident_id, m.data_class, m.marked_by) for m in marks] == [(incident.id, "personal_data", "tester")]
        started = obligations(tui_store)
        assert sorted(started) == ["GDPR", "SOC2"]
        assert started["GDPR"].aware_at == datetime(2024, 1, 18, 14, 30)
        assert started["GDPR"].due_at == datetime(2024, 1, 21, 14, 30)
        assert "GDPR in 72h00m" in " ".join(text_of(screen.query_one(ObligationList)).split())
        # A mark is not taken back: unticking it selects it again.
        await pilot.press("space")
        await settle(pilot)
        assert "personal_data" in screen.query_one("#data-classes").selected
        await pilot.press("escape")
        await settle(pilot)
        assert "GDPR" in text_of(war_room.query_one(ObligationCountdowns))


async def test_awareness_time_can_be_set_before_marking(make, tui_store, clock, data_incident):
    from textual.widgets import Input

    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_war_room(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        app.screen.query_one(Input).value = "2024-01-18T13:00:00+01:00"
        await pilot.press("enter")
        await settle(pilot)
        assert "Aware since 2024-01-18 12:00 UTC" in text_of(app.screen.query_one("#compliance-head"))
        await pilot.press("down", "down", "space", "e")  # card_data
        await settle(pilot)
    pci = obligations(tui_store)["PCI-DSS"]
    assert (pci.aware_at, pci.due_at) == (datetime(2024, 1, 18, 12, 0), datetime(2024, 1, 19, 12, 0))


async def test_c_on_an_outage_says_why_and_stays(make, tui_store):
    from tui.screens.war_room import WarRoomScreen
    from tui.widgets.compliance_clocks import ObligationCountdowns

    tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    app = make()
    notices = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_war_room(pilot)
        assert not screen.query_one(ObligationCountdowns).display  # no space taken
        app.notify = lambda message, **kw: notices.append(message)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, WarRoomScreen)
    assert notices == ["INC-2024-0118-001 is of type outage; exposed data is marked on security or data incidents only."]


async def test_dashboard_shows_running_clocks_across_incidents(make, tui_store, clock, data_incident):
    from tui.widgets.compliance_clocks import ComplianceClocks

    other = tui_store.declare("critical", "security", "production", actor="bob", title="Card skimmer")
    app = make()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        clocks = app.screen.query_one(ComplianceClocks)
        assert not clocks.display  # nothing marked: the dashboard looks as before
        mark_exposure(tui_store, other.id, ["card_data"], actor="bob")
        mark_exposure(tui_store, data_incident.id, ["health_data"], actor="alice")
        app.screen.refresh_data()
        await settle(pilot)
        assert clocks.display and clocks.size.height == 3  # at most three lines
        lines = [" ".join(line.split()) for line in text_of(clocks).splitlines() if line.strip()]
        assert lines == [
            f"PCI-DSS in 24h00m {other.id} notify acquiring bank, card brands · Card skimmer",
            f"SOC2 in 72h00m {data_incident.id} notify affected customers (per contract), internal audit · "
            "Customer table dumped",
            "+2 more regulatory clocks (incident-response compliance)",
        ]
        clock.advance(hours=25)
        app.screen.tick()
        await pilot.pause()
        assert text_of(clocks).splitlines()[0].split()[:3] == ["PCI-DSS", "1h00m", "over"]
        tui_store.resolve(other.id, actor="bob")  # still due after the incident is resolved
        from store.compliance import mark_obligation_met

        mark_obligation_met(tui_store, other.id, "PCI-DSS", actor="bob")
        mark_obligation_met(tui_store, other.id, "SOC2", actor="bob")
        app.screen.refresh_data()
        await settle(pilot)
        lines = [" ".join(line.split()) for line in text_of(clocks).splitlines() if line.strip()]
        assert [line.split()[0] for line in lines] == ["SOC2", "HIPAA"]
        assert "HIPAA in 58d" in lines[1]  # beyond 99 hours, in days
