"""Every open action item across incidents, overdue ones first and loud: mark one done,
make it a Jira ticket, or open its incident."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from store.read_models.review import ActionItemRow
from tui.screens.base import StoreScreen, post_latest
from tui.widgets.review_items import ActionItemTable


class ActionItemsScreen(StoreScreen):
    DEFAULT_CSS = """
    ActionItemsScreen #ai-summary { height: 1; background: $panel; padding: 0 1; }
    ActionItemsScreen #ai-pane { height: 1fr; padding: 0; }
    ActionItemsScreen #action-items { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="action_items.back"),
        Binding("d", "toggle_done", "Done", id="action_items.done"),
        Binding("t", "ticket", "Jira ticket", id="action_items.ticket"),
        Binding("enter", "open_incident", "Open incident", id="action_items.open"),
        Binding("v", "toggle_all", "Show done", id="action_items.all"),
    ]

    class Loaded(Message):
        def __init__(self, rows: tuple[ActionItemRow, ...]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self) -> None:
        super().__init__()
        self.include_done = False
        self.rows: tuple[ActionItemRow, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("Loading…", id="ai-summary")
        with Vertical(id="ai-pane", classes="pane") as pane:
            pane.border_title = "Action items"
            yield ActionItemTable(id="action-items")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ActionItemTable).focus()
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        from store.review_queries import read_action_items

        store = self.center.store
        with store.db.read() as session:
            rows = read_action_items(session, store.now(), include_done=self.include_done)
        post_latest(self, self.Loaded(rows))

    def on_action_items_screen_loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        self.query_one(ActionItemTable).show(message.rows)
        overdue = sum(1 for row in message.rows if row.overdue)
        summary = Text.assemble(
            (f"{sum(1 for row in message.rows if not row.done)} open", "bold"), " across ",
            f"{len({row.incident_id for row in message.rows})} incident(s) · ",
            (f" {overdue} OVERDUE ", "bold white on red") if overdue else ("none overdue", "green"),
            ("  (done ones shown)" if self.include_done else "", "dim"))
        self.query_one("#ai-summary", Static).update(summary)
        title = "Action items (all)" if self.include_done else "Open action items"
        pane = self.query_one("#ai-pane")
        if pane.border_title != title:
            pane.border_title = title

    def store_changed(self, incident_ids: set[str | None]) -> None:
        self.load()

    def _selected(self) -> ActionItemRow | None:
        item_id = self.query_one(ActionItemTable).selected_item_id
        row = next((r for r in self.rows if r.id == item_id), None)
        if row is None:
            self.notify("No action item selected.", severity="warning")
        return row

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_all(self) -> None:
        self.include_done = not self.include_done
        self.load()

    def action_toggle_done(self) -> None:
        row = self._selected()
        if row is None:
            return
        from store.review import complete_action_item, reopen_action_item

        store, actor, item_id = self.center.store, self.center.actor, row.id
        if row.done:
            self.write(lambda: reopen_action_item(store, item_id, actor=actor), f"Action item {item_id} reopened")
        else:
            self.write(lambda: complete_action_item(store, item_id, actor=actor), f"Action item {item_id} done")

    def action_ticket(self) -> None:
        row = self._selected()
        if row is None:
            return
        from store.review import ticket_action_item

        store, actor, item_id = self.center.store, self.center.actor, row.id
        self.write(lambda: ticket_action_item(store, item_id, actor=actor),
                   f"Action item {item_id} is on its way to Jira")

    def action_open_incident(self) -> None:
        row = self._selected()
        if row is not None:
            self.center.open_war_room(row.incident_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_incident()
