"""The dashboard: the spec's "Incident Monitoring Dashboard" in four panes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Input, Static

from tui.screens.base import StoreScreen, post_latest
from tui.widgets.compliance_clocks import ComplianceClocks
from tui.widgets.header import SeverityHeader
from tui.widgets.incident_table import IncidentClocks, IncidentTable, matches
from tui.widgets.oncall import OnCallStrip, next_refresh
from tui.widgets.panes import AnomalyPane, HealthPane, RemediationPane
from tui.widgets.welcome import Welcome

if TYPE_CHECKING:
    from store.dashboard import DashboardData

HEALTH_REFRESH_S = 5.0
# Actions on the highlighted incident, and actions that read the store: not offered (footer,
# help, command palette) while there is no incident / no store for them to act on.
ON_AN_INCIDENT = frozenset({"open", "ack", "export"})
NEEDS_THE_STORE = frozenset({"reports", "action_items", "outbox", "toggle_history"})


class IncidentFilter(Input):
    """The `/` line above the incident list: narrows it as you type; esc clears it."""

    DEFAULT_CSS = """
    IncidentFilter {
        height: 1;
        border: none;
        padding: 0 1;
    }
    IncidentFilter:focus {
        border: none;
    }
    """


class DashboardScreen(StoreScreen):
    BINDINGS = [
        # On the dashboard q quits; on every other screen it goes back (CommandCenter.action_back).
        Binding("q", "quit", "Quit", id="dashboard.quit"),
        Binding("slash", "filter_incidents", "Filter", id="dashboard.filter"),
        Binding("H", "toggle_history", "History", id="dashboard.history"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="dashboard.clear_filter"),
        Binding("enter", "open", "Open", id="dashboard.open"),
        Binding("a", "ack", "Ack", id="dashboard.ack"),
        Binding("x", "export", "Handover", id="dashboard.export"),
        Binding("R", "reports", "Reports", id="dashboard.reports"),
        Binding("A", "action_items", "Actions", show=False, id="dashboard.action_items"),
        Binding("o", "outbox", "Outbox", id="dashboard.outbox"),
        # Offered only while [schedules.*] are configured (check_action).
        Binding("O", "on_call", "On call", id="dashboard.on_call"),
    ]

    class Loaded(Message):
        def __init__(self, data: "DashboardData", compliance: tuple = (), settled: int = 0,
                     listed: list | None = None) -> None:
            super().__init__()
            self.data = data
            # The rows the list offers before the / filter: the open incidents, or every
            # incident while "history" is on.
            self.listed = data.incidents if listed is None else listed
            self.compliance = compliance  # store.compliance.RunningObligation, soonest due first
            self.settled = settled  # resolved or closed incidents, counted only while none is open

    class RotaLoaded(Message):
        def __init__(self, rota: tuple) -> None:
            super().__init__()
            self.rota = rota  # tui.widgets.oncall.ScheduleOnCall per schedule

    open_incidents: int | None = None  # None until the first load
    listed: list | tuple = ()  # what the list offers before the / filter (IncidentSummary rows)
    with_history = False  # H: resolved and closed incidents listed too
    filter_text = ""  # the / filter, as typed
    problem = ""  # why the store did not open, if it did not
    # Open incidents read before the store opened (tui/app.py), and what to call once they
    # are painted, until this screen has mounted to show them.
    _early: tuple[list, Callable[[], None]] | None = None
    _rota_stale_at = None  # the first handoff the on-call line shows: past it, read again

    def compose(self) -> ComposeResult:
        yield SeverityHeader(id="header")
        yield OnCallStrip(id="oncall-strip")  # hidden while no schedule is configured and nothing is silenced
        incident_filter = IncidentFilter(placeholder="filter: id, title, service, severity, status (esc clears)",
                                         id="incident-filter")
        # Hidden and unfocusable (auto-focus ignores display) until / opens it.
        incident_filter.display = incident_filter.can_focus = False
        yield incident_filter
        with Horizontal(id="incidents-pane", classes="pane") as pane:
            pane.border_title = "Active Incidents"
            table = IncidentTable(id="incidents")
            # Hidden and unfocusable until an incident is open (auto-focus ignores display):
            # the welcome stands in for it and its keys are not offered.
            table.display = table.can_focus = False
            yield table
            clocks = IncidentClocks(table, id="clocks")
            clocks.display = False
            yield clocks
            yield Welcome(id="welcome")
        yield ComplianceClocks(id="compliance-clocks")  # hidden while no regulatory clock runs
        with Horizontal(id="middle"):
            with Vertical(id="health-pane", classes="pane") as pane:
                pane.border_title = "System Health"
                yield HealthPane(id="health")
            with Vertical(id="anomalies-pane", classes="pane") as pane:
                pane.border_title = "Recent Anomalies"
                yield AnomalyPane(id="anomalies")
        with Vertical(id="remediation-pane", classes="pane") as pane:
            pane.border_title = "Active Remediation"
            yield RemediationPane(id="remediation")
        yield Footer()

    def on_mount(self) -> None:
        self._welcome()
        if self.problem:  # the store failed before this screen had mounted
            self.query_one("#incidents-pane").border_title = "Active Incidents (store unavailable)"
        elif self.center.store is None:  # the store opens in a worker; say so rather than animate
            if self._early is not None:
                self._list_early()
            elif self.open_incidents is None:
                self.query_one("#incidents-pane").border_title = "Active Incidents (opening the store…)"
        else:
            self.load()
            self.load_rota()
        self.set_interval(HEALTH_REFRESH_S, self.refresh_data)

    def refresh_data(self) -> None:
        if self.center.store is not None:
            self.load()

    def on_screen_resume(self) -> None:
        self.refresh_bindings()  # the store may have opened while another screen was on top
        self.refresh_data()

    def listed_before_the_store(self, rows: list, painted: Callable[[], None]) -> None:
        """The open incidents, read before the store opened (store/quick_list.py): listed at
        once with the header's counts; the store's first load shows the same rows again."""
        self._early = (rows, painted)
        if self.is_mounted:
            self._list_early()

    def _list_early(self) -> None:
        rows, painted = self._early
        self._early = None
        if self.open_incidents is None and not self.problem:  # else the store's own read came first
            from store.quick_list import severity_counts

            self.query_one(SeverityHeader).update_counts(severity_counts(rows), self.center.clock())
            self.listed = rows
            self._show_incidents(len(rows), 0)
            self._fill_list()
        self.call_after_refresh(painted)

    def store_ready(self) -> None:
        self.refresh_bindings()
        self._welcome()
        self.load()
        self.load_rota()

    def _welcome(self, settled: int = 0) -> None:
        settings = self.center.settings
        self.query_one(Welcome).show(self.center.store.db if self.center.store is not None else None,
                                     tuple(settings.metric_sources), settings.config_path, settled,
                                     problem=self.problem)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ON_AN_INCIDENT:  # rows may be listed before the store has opened
            return bool(self.listed) and self.center.store is not None
        if action == "clear_filter":
            return self.query_one(IncidentFilter).display
        if action in NEEDS_THE_STORE:
            return self.center.store is not None
        if action == "on_call":
            return self.center.store is not None and bool(self.center.configuration.schedules)
        return True

    def store_failed(self, message: str) -> None:
        self.problem = message
        if self.is_mounted:  # else on_mount says it
            if self.listed:  # rows listed before the store failed: the welcome says why instead
                from store.quick_list import severity_counts

                self.listed = ()
                self._show_incidents(0, 0)
                self.query_one(SeverityHeader).update_counts(severity_counts([]), self.center.clock())
            self.query_one("#incidents-pane").border_title = "Active Incidents (store unavailable)"
            self._welcome()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        from store.compliance import running_obligations
        from store.dashboard import read_dashboard

        now = self.center.clock()
        from store.queries import list_incidents

        settled = 0
        with_history = self.with_history
        with self.center.store.db.read() as session:
            data = read_dashboard(session, now)
            compliance = tuple(running_obligations(session, self.center.store.policy))
            if not data.incidents:
                settled = settled_incidents(session)
            listed = list_incidents(session, status="all", with_commander=True) if with_history else None
        post_latest(self, self.Loaded(data, compliance, settled, listed))

    def load_rota(self) -> None:
        """Who is on call, for the on-call line: read at start, at each handoff it shows and
        when an override is written (an event of no incident)."""
        if self.center.configuration.schedules:
            self._read_rota()

    @work(thread=True, exclusive=True, group="oncall", exit_on_error=False)
    def _read_rota(self) -> None:
        from tui.screens.oncall import read_rota

        center = self.center
        post_latest(self, self.RotaLoaded(read_rota(center.store, center.configuration.schedules, center.clock())))

    def on_dashboard_screen_rota_loaded(self, message: RotaLoaded) -> None:
        self._rota_stale_at = next_refresh(message.rota)
        self.query_one(OnCallStrip).show(self.center.clock(), rota=message.rota)

    def on_dashboard_screen_loaded(self, message: Loaded) -> None:
        data = message.data
        now = self.center.clock()
        if not self.center.seen_seq:
            # The first look sets where changes start: history is not a change. Later loads
            # leave it alone: only the app moves it, once every screen has been told
            # (a refresh that read a new event first would keep it from the war room).
            self.center.seen_seq = data.last_seq
        self.query_one(SeverityHeader).update_counts(data.counts, now, data.outbox)
        self.listed = message.listed
        self._show_incidents(len(data.incidents), message.settled)
        self._fill_list()
        health = self.query_one(HealthPane)
        health.health = tuple(data.health)
        health.set_now(now)
        self.query_one(AnomalyPane).anomalies = tuple(data.anomalies)
        self.query_one(RemediationPane).remediation = tuple(data.remediation)
        self.query_one(ComplianceClocks).show(message.compliance, now)
        self.query_one(OnCallStrip).show(now, silences=data.silences)

    def _fill_list(self) -> None:
        """The offered rows that pass the / filter, in the table, and the pane's title."""
        rows = [row for row in self.listed if matches(row, self.filter_text)]
        table = self.query_one(IncidentTable)
        if table.rows_shown != rows or not table.columns:  # columns even with nothing open
            table.show(rows)
            self.query_one(IncidentClocks).repaint_all(self.center.clock())
        title = f"{'All' if self.with_history else 'Active'} Incidents ({len(rows)})"
        if self.filter_text.strip():
            title = f"{'All' if self.with_history else 'Active'} Incidents ({len(rows)} of {len(self.listed)} match)"
        pane = self.query_one("#incidents-pane")
        if pane.border_title != title:  # assigning repaints the whole pane, even with the same text
            pane.border_title = title

    def _show_incidents(self, count: int, settled: int) -> None:
        """The table while it has rows to offer (open incidents, or any with history on),
        else the welcome; the keys follow."""
        if not count:
            self._welcome(settled)
        self.open_incidents = count
        shown = bool(self.listed)
        table = self.query_one(IncidentTable)
        if table.display == shown:
            # The keys follow what is listed; repainting the footer on every reload would
            # rewrite it each time a sample arrives (an idle dashboard writes only clocks).
            offered = (shown, count, bool(self.filter_text))
            if offered != getattr(self, "_offered", None):
                self._offered = offered
                self.refresh_bindings()
            return
        table.display = table.can_focus = self.query_one(IncidentClocks).display = shown
        self.query_one(Welcome).display = not shown
        if shown and self.focused is None:
            table.focus()  # j/k/enter work at once, as before
        elif not shown and self.focused is table:
            self.set_focus(None)
        self.refresh_bindings()

    # -- / filter and history ------------------------------------------------------------
    def action_filter_incidents(self) -> None:
        incident_filter = self.query_one(IncidentFilter)
        incident_filter.display = incident_filter.can_focus = True
        incident_filter.focus()
        self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "incident-filter":
            self.filter_text = event.value
            self._fill_list()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "incident-filter":  # keep the filter, go to its rows
            table = self.query_one(IncidentTable)
            if table.display:
                table.focus()

    def action_clear_filter(self) -> None:
        incident_filter = self.query_one(IncidentFilter)
        incident_filter.value = ""
        incident_filter.display = incident_filter.can_focus = False
        self.filter_text = ""
        self._fill_list()
        table = self.query_one(IncidentTable)
        if table.display:
            table.focus()
        self.refresh_bindings()

    def action_toggle_history(self) -> None:
        self.with_history = not self.with_history
        self.notify("Listing every incident, resolved and closed too (H again: open only)." if self.with_history
                    else "Listing open incidents only.", timeout=3)
        self.load()

    async def action_quit(self) -> None:
        await self.center.action_quit()

    def store_changed(self, incident_ids: set[str | None]) -> None:
        self.refresh_data()
        if None in incident_ids:  # maybe an on-call override, here or in another process
            self.load_rota()

    def flash_rows(self, incident_ids: set[str]) -> None:
        """New incidents (announced by the app): their rows flash once."""
        self.query_one(IncidentTable).flash(incident_ids)

    def tick(self) -> None:
        now = self.center.clock()
        for header in self.query(SeverityHeader):
            header.tick(now)
        for clocks in self.query(IncidentClocks):
            clocks.tick(now)
        for compliance in self.query(ComplianceClocks):
            compliance.now = now
        for strip in self.query(OnCallStrip):
            strip.tick(now)
        if self._rota_stale_at is not None and now >= self._rota_stale_at:  # a handoff
            self._rota_stale_at = None
            self.load_rota()

    def on_data_table_row_highlighted(self, _event) -> None:
        self.query_one(IncidentClocks).repaint_all(self.center.clock())

    def _selected(self) -> str | None:
        incident_id = self.query_one(IncidentTable).selected_id
        if incident_id is None:
            self.notify("No incident selected; declare one with d.", severity="warning")
        return incident_id

    def action_open(self) -> None:
        incident_id = self._selected()
        # The list's enter comes here too, and rows may be listed before the store has opened.
        if incident_id and self.center.store_or_warn() is not None:
            self.center.open_war_room(incident_id)

    def on_data_table_row_selected(self, event) -> None:
        self.action_open()

    def action_ack(self) -> None:
        incident_id = self._selected()
        if incident_id and self.center.store_or_warn() is not None:
            store, actor = self.center.store, self.center.actor
            self.write(lambda: store.acknowledge(incident_id, actor=actor), f"{incident_id} acknowledged")

    def action_on_call(self) -> None:
        if self.center.store_or_warn() is not None:
            from tui.screens.oncall import OnCallScreen

            self.app.push_screen(OnCallScreen())

    def action_outbox(self) -> None:
        if self.center.store_or_warn() is not None:
            from tui.screens.outbox import OutboxScreen

            self.app.push_screen(OutboxScreen())

    def action_action_items(self) -> None:
        if self.center.store_or_warn() is not None:
            from tui.screens.action_items import ActionItemsScreen

            self.app.push_screen(ActionItemsScreen())

    def action_reports(self) -> None:
        if self.center.store_or_warn() is not None:
            from tui.screens.reports import ReportsScreen

            self.app.push_screen(ReportsScreen())

    def action_export(self) -> None:
        incident_id = self._selected()
        if incident_id:
            from tui.handover import ask_and_export

            ask_and_export(self.center, incident_id)


def settled_incidents(session) -> int:
    """How many incidents are resolved or closed: the welcome says they exist."""
    from sqlalchemy import func, select

    from playbooks.statuses import OPEN_STATUSES
    from store.models import Incident

    return session.execute(select(func.count()).select_from(Incident)
                           .where(Incident.status.not_in(OPEN_STATUSES))).scalar_one()
