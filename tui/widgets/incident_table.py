"""Active Incidents: one row per open incident, clocks that tick without repainting the table."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from store.queries import IncidentSummary
from tui.formatting import SEVERITY_STYLE, countdown, elapsed, is_overdue

ENV_SHORT = {"production": "prod", "staging": "stg", "development": "dev"}
TYPE_SHORT = {"performance": "perf", "security": "secur", "integration": "integr"}
WIDE = 110  # from this width on, full ids and environment names fit


class IncidentTable(DataTable):
    """The dashboard's incident list. Clock cells update in place, one cell region each."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="incidents.down"),
        Binding("k", "cursor_up", "Up", show=False, id="incidents.up"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.rows_shown: list[IncidentSummary] = []
        self._wide: bool | None = None

    def _columns(self, wide: bool) -> None:
        self.clear(columns=True)
        widths = {"id": 17 if wide else 8, "sev": 5, "type": 11 if wide else 6, "env": 11 if wide else 4,
                  "age": 6, "respond": 7, "update": 7}
        # Whatever is left goes to the title (each column has one cell of padding each side).
        title = max(10, self.size.width - sum(widths.values()) - 2 * (len(widths) + 1) - 1)
        widths["title"] = title
        labels = {"id": "ID", "sev": "SEV", "type": "TYPE", "env": "ENV", "title": "TITLE", "age": "AGE",
                  "respond": "ACK DUE", "update": "UPD DUE"}
        for key in ("id", "sev", "type", "env", "title", "age", "respond", "update"):
            self.add_column(labels[key], key=key, width=widths[key])

    def show(self, rows: list[IncidentSummary], now: datetime) -> None:
        wide = self.size.width >= WIDE
        selected = self.selected_id
        if wide != self._wide or not self.columns:
            self._wide = wide
            self._columns(wide)
        else:
            self.clear()
        self.rows_shown = rows
        for row in rows:
            self.add_row(*self._cells(row, now, wide), key=row.id)
        if selected in {r.id for r in rows}:
            self.move_cursor(row=self.get_row_index(selected))

    def on_resize(self) -> None:
        if self.rows_shown or self.columns:
            now = self.app.clock() if hasattr(self.app, "clock") else datetime.utcnow()
            self._wide = None
            self.show(self.rows_shown, now)

    def _cells(self, row: IncidentSummary, now: datetime, wide: bool) -> list:
        return [
            row.id if wide else row.id[-8:],
            Text(row.severity, style=SEVERITY_STYLE.get(row.severity, "")),
            row.type if wide else TYPE_SHORT.get(row.type, row.type),
            row.environment if wide else ENV_SHORT.get(row.environment, row.environment),
            row.title,
            *self._clocks(row, now),
        ]

    @staticmethod
    def _clocks(row: IncidentSummary, now: datetime) -> tuple[Text, Text, Text]:
        if row.acknowledged_at is None:
            respond = Text(countdown(row.response_due_at, now),
                           style="bold red reverse" if is_overdue(row.response_due_at, now) else "")
        else:
            respond = Text("ack'd", style="green")
        update = Text(countdown(row.next_update_due_at, now),
                      style="bold red reverse" if is_overdue(row.next_update_due_at, now) else "")
        return Text(elapsed(row.declared_at, now)), respond, update

    def tick(self, now: datetime) -> None:
        """Refresh only the clock cells whose text changed."""
        for row in self.rows_shown:
            for key, value in zip(("age", "respond", "update"), self._clocks(row, now)):
                try:
                    current = self.get_cell(row.id, key)
                except Exception:
                    continue
                if current == value:
                    continue
                # Set the cell and repaint its region only (update_cell repaints the whole table).
                self._data[self._row_locations.get_key(self.get_row_index(row.id))][key] = value
                self._update_count += 1
                self.refresh_coordinate(self.get_cell_coordinate(row.id, key))

    @property
    def selected_id(self) -> str | None:
        if not self.rows_shown or self.cursor_row is None or self.cursor_row >= len(self.rows_shown):
            return None
        return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
