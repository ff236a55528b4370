"""Reports: the monthly incident report with its charts; `[` / `]` (or ← / →) move a month."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Static

from reports.periods import Period, current_month
from tui.screens.base import StoreScreen, post_latest
from tui.widgets.report_charts import ImprovementList, MttxChart, ReportFigures, WeeklyChart, month_name

if TYPE_CHECKING:
    from reports.report_model import ChartSeries, PeriodReport


class ReportsScreen(StoreScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="reports.back"),
        Binding("left_square_bracket,left", "previous_month", "Prev month", id="reports.previous"),
        Binding("right_square_bracket,right", "next_month", "Next month", id="reports.next"),
    ]
    DEFAULT_CSS = """
    ReportsScreen #report-title { height: 1; background: $panel; padding: 0 1; }
    ReportsScreen #report-top { height: 3fr; min-height: 10; }
    ReportsScreen #report-bottom { height: 2fr; min-height: 6; }
    ReportsScreen #figures-pane { width: 44; }
    ReportsScreen #weekly-pane, ReportsScreen #mttx-pane, ReportsScreen #improvements-pane { width: 1fr; }
    ReportsScreen ReportFigures, ReportsScreen WeeklyChart, ReportsScreen MttxChart,
    ReportsScreen ImprovementList { height: 1fr; }
    """

    class Loaded(Message):
        def __init__(self, period: Period, report: PeriodReport, charts: ChartSeries) -> None:
            super().__init__()
            self.period = period
            self.report = report
            self.charts = charts

    def __init__(self, period: Period | None = None) -> None:
        super().__init__()
        self.period = period
        self.shown: PeriodReport | None = None  # the report on screen, once loaded

    @property
    def report(self) -> dict[str, Any] | None:
        """The report on screen in its JSON form: what `report --format json` prints for the month."""
        return None if self.shown is None else self.shown.as_json()

    def compose(self) -> ComposeResult:
        yield Static(id="report-title")
        with Horizontal(id="report-top"):
            with Vertical(id="figures-pane", classes="pane") as pane:
                pane.border_title = "Figures"
                yield ReportFigures(id="figures")
            with Vertical(id="weekly-pane", classes="pane") as pane:
                pane.border_title = "Incidents per week by severity"
                yield WeeklyChart(id="weekly")
        with Horizontal(id="report-bottom"):
            with Vertical(id="mttx-pane", classes="pane") as pane:
                pane.border_title = "MTTD / MTTA / MTTR by month"
                yield MttxChart(id="mttx")
            with Vertical(id="improvements-pane", classes="pane") as pane:
                pane.border_title = "Improvements completed"
                yield ImprovementList(id="improvements")
        yield Footer()

    def on_mount(self) -> None:
        if self.period is None:
            self.period = self._current_month()
        self._show_title(loading=True)
        self.load()

    def _show_title(self, loading: bool = False) -> None:
        period = self.period
        to_date = period.key == self._current_month().key
        title = f"Monthly report — {month_name(period.key)}" + (" (month to date)" if to_date else "")
        hint = "  loading…" if loading else "  (drills excluded)  [ ] month · esc back"
        self.query_one("#report-title", Static).update(title + hint)

    def _current_month(self) -> Period:
        return current_month(self.center.clock())

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        # reports.monthly reads the store (SQLAlchemy): imported when the screen loads a month,
        # so importing the screen stays off the database layer (tests/unit/test_house.py).
        from reports.monthly import read_chart_series, read_period_report

        store, period = self.center.store, self.period
        report = read_period_report(store, period)
        charts = read_chart_series(store, period)
        post_latest(self, self.Loaded(period, report, charts))

    def on_reports_screen_loaded(self, message: Loaded) -> None:
        if message.period != self.period:
            return  # the user moved on while this month loaded
        self.shown = message.report
        self._show_title()
        self.query_one(ReportFigures).report = message.report
        self.query_one(WeeklyChart).weeks = message.charts.weeks
        self.query_one(MttxChart).months = message.charts.months
        improvements = self.query_one(ImprovementList)
        improvements.items = message.report.improvements
        improvements.loaded = True

    def store_changed(self, incident_ids: set[str | None]) -> None:
        self.load()

    def action_previous_month(self) -> None:
        self.period = self.period.previous()
        self._show_title(loading=True)
        self.load()

    def action_next_month(self) -> None:
        current = self._current_month()
        if self.period.start >= current.start:  # a month still to come has no incidents to report
            self.notify(f"{month_name(current.key)} is the current month; accepted: [ for the month before.",
                        severity="warning", timeout=4)
            return
        self.period = self.period.next()
        self._show_title(loading=True)
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()
