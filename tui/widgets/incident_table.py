"""Active Incidents: the table of open incidents, and beside it their clocks.

The clocks (age, time left to acknowledge, time to the next status update) live in their
own narrow widget: Textual repaints changed lines widget by widget, so a ticking clock
then rewrites its own cells and not the whole row with its title.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable

from playbooks.policy import OPEN_STATUSES, STATUS_MOVES
from tui.formatting import SEVERITY_STYLE, countdown, elapsed, is_overdue
from tui.plain import cell

if TYPE_CHECKING:
    from store.queries import IncidentSummary

ENV_SHORT = {"production": "prod", "staging": "stg", "development": "dev"}
TYPE_SHORT = {"performance": "perf", "security": "secur", "integration": "integr"}
WIDE = 110  # from this width on, full ids and environment names fit
CLOCK_COLUMNS = (("AGE", 7), ("ACK DUE", 11), ("UPD DUE", 11))  # "1h59m over" fits
OVERDUE = Style(color="red", bold=True, reverse=True)
SETTLED_STATUSES = frozenset(STATUS_MOVES) - frozenset(OPEN_STATUSES)  # resolved, closed
SETTLED = Style(dim=True)
FLASH_S = 1.5  # a new incident's row stands out this long, once


def matches(row: "IncidentSummary", query: str) -> bool:
    """The dashboard's `/` filter: every word of `query`, in any case, is somewhere in the
    incident's id, title, service, severity or status (its type and environment too)."""
    fields = (row.id, row.title, row.service, row.severity, row.status, row.type, row.environment)
    haystack = " ".join(str(f) for f in fields if f).casefold()
    return all(word in haystack for word in query.casefold().split())


def clock_cells(row: "IncidentSummary", now: datetime) -> tuple[tuple[str, Style | None], ...]:
    """The three clocks of one incident, with the style that flags an overdue one."""
    if row.status in SETTLED_STATUSES:  # listed with "history": no deadline runs, say where it ended
        return (elapsed(row.declared_at, now), SETTLED), (row.status, SETTLED), ("-", SETTLED)
    if row.acknowledged_at is None:
        respond = (countdown(row.response_due_at, now), OVERDUE if is_overdue(row.response_due_at, now) else None)
    else:
        respond = ("ack'd", Style(color="green"))
    update = (countdown(row.next_update_due_at, now), OVERDUE if is_overdue(row.next_update_due_at, now) else None)
    return (elapsed(row.declared_at, now), None), respond, update


class IncidentTable(DataTable):
    """The incident list without its clocks (see IncidentClocks)."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="incidents.down"),
        Binding("k", "cursor_up", "Up", show=False, id="incidents.up"),
    ]
    COMPONENT_CLASSES = {"incident-table--new"}
    DEFAULT_CSS = """
    IncidentTable > .incident-table--new { background: $warning 60%; text-style: bold; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.rows_shown: list["IncidentSummary"] = []
        self._wide: bool | None = None
        self._to_flash: set[str] = set()  # announced as new; flashed when their row is first shown
        self.flashing: set[str] = set()

    def flash(self, incident_ids: set[str]) -> None:
        """The rows of these new incidents flash once (now, or when the next load shows them)."""
        self._to_flash |= incident_ids
        if self._to_flash & {row.id for row in self.rows_shown}:
            self.show(self.rows_shown)

    def _end_flash(self, incident_ids: set[str]) -> None:
        self.flashing -= incident_ids
        self.set_class(bool(self.flashing), "-flash")
        if self.is_mounted:
            self.show(self.rows_shown)

    def _columns(self, wide: bool) -> None:
        self.clear(columns=True)
        widths = {"id": 17 if wide else 8, "sev": 5, "type": 11 if wide else 6, "env": 11 if wide else 4}
        # Whatever is left goes to the title (each column has one cell of padding each side).
        # Less 2 for the vertical scrollbar a long list shows.
        widths["title"] = max(10, self.size.width - sum(widths.values()) - 2 * len(widths) - 2 - 2)
        labels = {"id": "ID", "sev": "SEV", "type": "TYPE", "env": "ENV", "title": "TITLE"}
        for key in ("id", "sev", "type", "env", "title"):
            self.add_column(labels[key], key=key, width=widths[key])

    def show(self, rows: list["IncidentSummary"]) -> None:
        wide = self.size.width + sum(w for _, w in CLOCK_COLUMNS) >= WIDE
        selected = self.selected_id
        if wide != self._wide or not self.columns:
            self._wide = wide
            self._columns(wide)
        else:
            self.clear()
        self.rows_shown = rows
        starting = self._to_flash & {row.id for row in rows}
        if starting:
            self._to_flash -= starting
            self.flashing |= starting
            self.add_class("-flash")
            self.set_timer(FLASH_S, lambda: self._end_flash(starting))
        for row in rows:
            # Every cell is data (a str cell would be read as markup): a restored or
            # directly written row shows its brackets and escapes, and no click acts.
            cells = (
                cell(row.id if wide else row.id[-8:]),
                cell(row.severity, style=SEVERITY_STYLE.get(row.severity, "")),
                cell(row.type if wide else TYPE_SHORT.get(row.type, row.type)),
                cell(row.environment if wide else ENV_SHORT.get(row.environment, row.environment)),
                cell(row.title),
            )
            if row.id in self.flashing:
                for text in cells:
                    text.stylize(self.get_component_rich_style("incident-table--new"))
            self.add_row(*cells, key=row.id)
        if selected in {r.id for r in rows}:
            self.move_cursor(row=self.get_row_index(selected))

    def on_resize(self) -> None:
        if self.rows_shown or self.columns:
            self._wide = None
            self.show(self.rows_shown)

    @property
    def selected_id(self) -> str | None:
        if not self.rows_shown or self.cursor_row is None or self.cursor_row >= len(self.rows_shown):
            return None
        return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value


class IncidentClocks(Widget):
    """The clock columns of the incident table, line for line beside it."""

    DEFAULT_CSS = """
    IncidentClocks {
        width: 29;
        height: 1fr;
    }
    """

    def __init__(self, table: IncidentTable, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.now: datetime | None = None
        self._shown: dict[int, tuple] = {}  # screen line -> what it shows

    def on_mount(self) -> None:
        # Scrolled by mouse or keys: the clocks follow the rows.
        self.watch(self.table, "scroll_y", lambda _old, _new: self.refresh(), init=False)

    def _line_of(self, index: int) -> int:
        return index - int(self.table.scroll_offset.y) + self.table.header_height

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        table = self.table
        if y < table.header_height:
            style = table.get_component_rich_style("datatable--header")
            text = "".join(f" {label:<{w - 1}}" for label, w in CLOCK_COLUMNS)
            return Strip([Segment(text.ljust(width)[:width], style)])
        index = y - table.header_height + int(table.scroll_offset.y)
        if self.now is None or not 0 <= index < len(table.rows_shown):
            return Strip.blank(width, table.rich_style)
        cursor = index == table.cursor_row
        base = table.get_component_rich_style("datatable--cursor") if cursor else table.rich_style
        segments = []
        for (text, style), (_, w) in zip(clock_cells(table.rows_shown[index], self.now), CLOCK_COLUMNS):
            segments.append(Segment(" ", base))
            cell = text[: w - 1].ljust(w - 1)
            segments.append(Segment(cell, base + style if style else base))
        strip = Strip(segments)
        return strip.adjust_cell_length(width, base)

    def tick(self, now: datetime) -> None:
        """Repaint the lines whose clocks changed, and only those."""
        first = self.now is None
        self.now = now
        for index, row in enumerate(self.table.rows_shown):
            line = self._line_of(index)
            if not 0 <= line < self.size.height:
                continue
            shown = (row.id, clock_cells(row, now), index == self.table.cursor_row)
            if first or self._shown.get(line) != shown:
                self._shown[line] = shown
                self.refresh(Region(0, line, self.size.width, 1))

    def repaint_all(self, now: datetime) -> None:
        self.now = now
        self._shown.clear()
        self.refresh()
