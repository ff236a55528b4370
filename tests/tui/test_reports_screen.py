"""The Reports screen under Pilot: R from the dashboard, the figures shown are the
computed report's, [ and ] (and the arrows) move a month, esc goes back."""
from __future__ import annotations

from reports.monthly import monthly_report
from tests.reports import dataset
from tests.tui.conftest import settle, text_of


async def open_reports(pilot):
    from tui.screens.reports import ReportsScreen

    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReportsScreen)
    return pilot.app.screen


def shown(screen, selector: str) -> str:
    return text_of(screen.query_one(selector))


async def test_reports_open_on_the_current_month_and_show_the_computed_figures(make, tui_store, clock):
    dataset.load(tui_store, clock)  # the clock is now 10 March 2024
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_reports(pilot)
        assert "Monthly report — March 2024 (month to date)" in shown(screen, "#report-title")
        assert screen.report == monthly_report(tui_store, "2024-03")
        figures = shown(screen, "#figures")
        assert "Incidents 1" in figures and "-90.0% vs Feb" in figures
        assert "Within SLA 100.0%" in figures

        await pilot.press("left_square_bracket")
        await settle(pilot)
        report = monthly_report(tui_store, "2024-02")
        assert screen.report == report
        assert "Monthly report — February 2024" in shown(screen, "#report-title")
        assert "(month to date)" not in shown(screen, "#report-title")
        figures = shown(screen, "#figures")
        lines = {line.split()[0] + " " + line.split()[1]: line.split()[2:] for line in figures.splitlines()
                 if line.startswith("MTT")}
        # mean, median, p90 and trend exactly as the report has them (one decimal).
        assert lines["MTTD min"] == ["25.2", "16.0", "60.0", "+24.7%"]
        assert lines["MTTA min"] == ["1660.0", "300.0", "8640.0", "+5433.3%"]
        assert lines["MTTR h"] == ["40.3", "16.0", "216.0", "+1242.6%"]
        assert "Incidents 10" in figures and "+233.3% vs Jan" in figures
        assert "SEV-1 2  SEV-2 2  SEV-3 4  SEV-4 2" in figures
        assert "Within SLA 60.0%" in figures
        improvements = shown(screen, "#improvements")
        assert "Alarm on connection pool saturation" in improvements and "Runbook for gateway restarts" in improvements
        assert "Automate failover check" not in improvements  # the drill's
        # The MTTx chart has a column per month, September to February, with February's means.
        mttx = shown(screen, "#mttx")
        assert "Sep" in mttx and "Feb" in mttx and "1660.0" in mttx and "40.3" in mttx
        weekly = shown(screen, "#weekly")
        assert "SEV-1" in weekly and "█" in weekly

        await pilot.press("left")  # the arrow works too
        await settle(pilot)
        assert screen.report["month"] == "2024-01" and "Incidents 3" in shown(screen, "#figures")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert screen.report["month"] == "2024-03"

        await pilot.press("escape")
        await settle(pilot)
        from tui.screens.dashboard import DashboardScreen

        assert isinstance(app.screen, DashboardScreen)


async def test_an_empty_store_shows_an_empty_month(make, tui_store, clock):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot)
        assert screen.report["total"] == 0
        assert "Incidents 0" in shown(screen, "#figures")
        assert "None completed this month." in shown(screen, "#improvements")


async def test_the_help_screen_lists_the_reports_keys(make, tui_store):
    app = make()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "monthly report" in text_of(app.screen.query_one("#help-dialog").query_one("Static"))
        await pilot.press("escape")
        await open_reports(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        keys = text_of(app.screen.query_one("#help-dialog").query_one("Static"))
        assert "the month before" in keys and "the month after" in keys
