"""The outbox: every notification with its state — failed ones first, then waiting, then
sent — and the keys to send failed ones again. From the dashboard it shows every
incident's messages; from the war room only that incident's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from tui.formatting import countdown
from tui.plain import cell, visible
from tui.screens.base import StoreScreen, post_latest

REFRESH_S = 2.0  # deliveries change rows without timeline events: look again this often
FILTERS = (("all", None), ("waiting", "pending"), ("failed", "dead"), ("skipped", "skipped"))
STATE_STYLE = {"dead": "bold white on red", "pending": "bold black on yellow", "sent": "green", "skipped": "dim"}
STATE_LABEL = {"dead": "FAILED", "pending": "waiting", "sent": "sent", "skipped": "skipped"}


@dataclass(frozen=True)
class OutboxRow:
    """What the table shows of one message (widgets get data, never rows of the store)."""

    id: int
    incident_id: str | None
    integration: str
    group: str | None
    event: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


def explain(row: OutboxRow, now: datetime) -> str:
    """One line on what became of a message: when it went, or when it tries again and why."""
    if row.state == "sent":
        return f"sent {row.sent_at:%d %b %H:%M:%S}" if row.sent_at else "sent"
    if row.state == "skipped":  # never sent, on purpose
        return f"not sent — {row.last_error or 'skipped'}"
    if row.state == "pending":
        why = f"next try {countdown(row.next_attempt_at, now)}" if row.next_attempt_at else "waiting"
        return why + (f" — {row.last_error}" if row.last_error else "")
    tries = f"after {row.attempts} {'try' if row.attempts == 1 else 'tries'}"
    return f"failed {tries}: {row.last_error or 'no reason recorded'}"


class OutboxTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="outbox.down"),
        Binding("k", "cursor_up", "Up", show=False, id="outbox.up"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.shown: tuple[OutboxRow, ...] = ()
        self._wide: bool | None = None

    def _columns(self, wide: bool) -> None:
        """Narrow terminals (80 columns over SSH) drop the group and shorten ids; the
        highlighted message is spelled out in full under the table anyway."""
        self.clear(columns=True)
        self._wide = wide
        columns = [("#", 4), ("STATE", 7), ("TO", 10), ("EVENT", 12), ("INCIDENT", 17 if wide else 8)]
        if wide:
            columns.append(("GROUP", 18))
        used = sum(width + 2 for _, width in columns)
        columns.append(("WHEN / WHY", max(10, self.size.width - used - 4)))
        for label, width in columns:
            self.add_column(label, width=width, key=label)

    def show(self, rows: tuple[OutboxRow, ...], now: datetime, *, force: bool = False) -> None:
        wide = self.size.width >= 120
        if rows == self.shown and wide == self._wide and not force:
            return
        keep = self.selected_id
        self.shown = rows
        self._columns(wide)
        for row in rows:
            incident = row.incident_id or "-"
            # A vendor's reply, a group's name, a restored row: data, never markup or escapes.
            cells = [str(row.id), Text(STATE_LABEL.get(row.state, visible(row.state)), style=STATE_STYLE.get(row.state, ""),
                                       justify="left"), cell(row.integration),
                     cell(row.event), cell(incident if wide else incident[-8:])]  # MMDD-NNN, as the incident list
            if wide:
                cells.append(cell(row.group or "-"))
            cells.append(cell(explain(row, now)))
            self.add_row(*cells, key=str(row.id))
        if keep is not None and any(r.id == keep for r in rows):
            self.move_cursor(row=self.get_row_index(str(keep)))

    @property
    def selected(self) -> OutboxRow | None:
        if not self.shown or self.cursor_row is None or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    @property
    def selected_id(self) -> int | None:
        selected = self.selected
        return selected.id if selected else None


class OutboxScreen(StoreScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="outbox.back"),
        Binding("r", "retry", "Retry", id="outbox.retry"),
        Binding("R", "retry_all", "Retry all failed", id="outbox.retry_all"),
        Binding("f", "filter", "Filter", id="outbox.filter"),
    ]

    class Loaded(Message):
        def __init__(self, rows: tuple[OutboxRow, ...]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, incident_id: str | None = None) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.filter_index = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="outbox-pane", classes="pane") as pane:
            pane.border_title = self._title(None)
            yield Static(id="outbox-summary")
            yield OutboxTable(id="outbox")
            yield Static(id="outbox-detail")
        yield Footer()

    def _title(self, rows: tuple[OutboxRow, ...] | None) -> Content:
        whose = f" of {visible(self.incident_id)}" if self.incident_id else ""
        label = FILTERS[self.filter_index][0]
        shown = f" ({len(rows)})" if rows is not None else ""
        return Content(f"Notifications{whose}: {label}{shown}")  # the id is data, not markup

    def on_mount(self) -> None:
        self.query_one(OutboxTable).focus()
        self.load()
        self.set_interval(REFRESH_S, self.load)

    def store_changed(self, incident_ids: set[str | None]) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        from store import outbox

        state = FILTERS[self.filter_index][1]
        with self.center.store.db.read() as session:
            rows = tuple(OutboxRow(r.id, r.incident_id, r.integration, r.stakeholder_group, r.event, r.state,
                                   r.attempts, r.next_attempt_at, r.sent_at, r.last_error)
                         for r in outbox.messages(session, incident_id=self.incident_id, state=state))
        post_latest(self, self.Loaded(rows))

    def on_outbox_screen_loaded(self, message: Loaded) -> None:
        rows = message.rows
        self.query_one(OutboxTable).show(rows, self.center.clock())
        self.query_one("#outbox-pane").border_title = self._title(rows)
        failed = sum(r.state == "dead" for r in rows)
        waiting = sum(r.state == "pending" for r in rows)
        summary = Text()
        if failed:
            summary.append(f" {failed} failed ", style=STATE_STYLE["dead"])
            summary.append(" ")
        if waiting:
            summary.append(f" {waiting} waiting ", style=STATE_STYLE["pending"])
            summary.append(" retried with backoff until the vendor accepts")
        if not failed and not waiting:
            summary.append("Nothing waiting or failed." if rows else "No notifications yet.", style="dim")
        self.query_one("#outbox-summary", Static).update(summary)
        self._show_detail()

    def on_data_table_row_highlighted(self, _event) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        row = self.query_one(OutboxTable).selected
        text = Text()
        if row is not None:
            text.append(f"#{row.id} ", style="bold")
            text.append(f"{visible(row.event)} of {visible(row.incident_id or 'no incident')} to {visible(row.integration)}"
                        + (f" for {visible(row.group)}" if row.group else "") + ": ")
            text.append(visible(explain(row, self.center.clock())), style=STATE_STYLE[row.state] if row.state == "dead" else "")
        self.query_one("#outbox-detail", Static).update(text)

    def on_resize(self, _event) -> None:
        table = self.query_one(OutboxTable)
        table.show(table.shown, self.center.clock(), force=True)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self.load()

    def _retry(self, ids: list[int]) -> None:
        from store.outbox import retry_by_person

        store, actor = self.center.store, self.center.actor

        def retry() -> None:
            retried = retry_by_person(store, ids, actor=actor)
            self.app.call_from_thread(self.notify, f"{len(retried)} message(s) queued again.", timeout=3)
            self.app.call_from_thread(self.load)

        self.write(retry)

    def action_retry(self) -> None:
        selected = self.query_one(OutboxTable).selected
        if selected is None:
            self.notify("No message selected.", severity="warning")
        elif selected.state != "dead":
            self.notify(f"Message {selected.id} is {STATE_LABEL[selected.state]}, not failed; "
                        "only failed messages are retried by hand.", severity="warning")
        else:
            self._retry([selected.id])

    def action_retry_all(self) -> None:
        failed = [r.id for r in self.query_one(OutboxTable).shown if r.state == "dead"]
        if not failed:
            self.notify("No failed messages to retry.", severity="warning")
        else:
            self._retry(failed)
