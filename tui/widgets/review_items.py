"""The action items table: one row per item across incidents, overdue ones loud."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from store.read_models.review import ActionItemRow
from tui.formatting import SEVERITY_STYLE
from tui.plain import cell, plain, visible

# Due comes first: at 80 columns the overdue ones must be plain to see before the rest is cut.
COLUMNS = (("#", "id"), ("Due", "due"), ("Incident", "incident"), ("Category", "tag"), ("Action", "title"),
           ("Owner", "owner"), ("Status", "status"), ("Ticket", "ticket"))


class ActionItemTable(DataTable):
    """Rows keyed by the action item's number; enter opens its incident."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def show(self, rows: tuple[ActionItemRow, ...]) -> None:
        """Rows of read_action_items (each with its incident)."""
        selected = self.selected_item_id
        self.clear()
        for row in rows:
            due = row.due_on.isoformat() if row.due_on else None
            severity = row.incident.severity if row.incident else ""
            self.add_row(
                # Titles, owners and tickets are data: never markup, escapes shown.
                Text(str(row.id), style="bold red" if row.overdue else "dim"),
                plain(due, style="bold white on red") if row.overdue
                else plain(due or "-", style="" if due else "dim"),
                Text.assemble((visible(severity), SEVERITY_STYLE.get(severity, "")),
                              f" {visible(row.incident_id[9:])}"),
                plain(f"[{row.tag}]", style="cyan"),
                plain(row.title, style="bold" if row.overdue else "dim" if row.done else ""),
                cell(row.owner) if row.owner else Text("-", style="dim"),
                plain(row.status, style="green" if row.done else ""),
                plain(row.ticket or "-", style="magenta" if row.ticket else "dim"),
                key=str(row.id),
            )
        if selected is not None and selected in {r.id for r in rows}:
            self.move_cursor(row=self.get_row_index(str(selected)))
        if not rows:
            self.add_row(Text("No open action items.", style="dim"), "", "", "", "", "", "", "", key="none")

    @property
    def selected_item_id(self) -> int | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return int(key) if key and key.isdigit() else None
