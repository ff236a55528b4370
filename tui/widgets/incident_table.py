"""Active Incidents: the table of open incidents, and beside it their clocks.

The clocks (age, time left to acknowledge, time to the next status update) live in their
own narrow widget: Textual repaints changed lines widget by widget, so a ticking clock
then rewrites its own cells and not the whole row with its title. The clocks also draw the
list's scrollbar, so it sits at the pane's right edge rather than between the title and
the clocks; `plan_columns` decides which columns a width has room for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable

from playbooks.statuses import OPEN_STATUSES, STATUS_MOVES
from tui.formatting import SEVERITY_STYLE, countdown, elapsed, is_overdue
from tui.plain import cell

if TYPE_CHECKING:
    from store.read_models.summary import IncidentSummary

ENV_SHORT = {"production": "prod", "staging": "stg", "development": "dev"}
TYPE_SHORT = {"performance": "perf", "security": "secur", "integration": "integr"}
STATUS_SHORT = {"investigating": "investig."}  # the others fit in 10 cells
CLOCK_COLUMNS = (("AGE", 7), ("ACK DUE", 11), ("UPD DUE", 11))  # "1h59m over" fits
SCROLLBAR = 1  # the list's scrollbar: drawn by the clocks at the pane's right edge
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


@dataclass(frozen=True)
class ColumnPlan:
    """Which columns the incident list shows at one width, and how wide each is."""

    table: tuple[tuple[str, int], ...]  # (key, width) of the table's columns, in order; the title's is what is left
    clocks: tuple[tuple[str, int], ...]  # the clock columns beside it
    full_ids: bool = False
    full_status: bool = False
    full_names: bool = False  # type and environment unabbreviated

    @property
    def clock_width(self) -> int:
        return sum(w for _, w in self.clocks) + SCROLLBAR


LABELS = {"id": "ID", "sev": "SEV", "type": "TYPE", "env": "ENV", "title": "TITLE", "status": "STATUS",
          "commander": "COMMANDER"}
ORDER = ("id", "sev", "type", "env", "title", "status", "commander")
# What a narrower window gives up last comes first; each is shown only while the title
# keeps at least this many cells (a cramped title is the first thing that stops helping).
# "AGE" is the clock column of that name (the deadlines themselves are always shown).
OPTIONAL = (("status", 10, 24), ("commander", 14, 24), ("AGE", 7, 30), ("env", 4, 30), ("type", 6, 30))
FULL = {"id": 17, "status": 13, "env": 11, "type": 11}


def plan_columns(width: int) -> ColumnPlan:
    """The incident list's columns for a pane `width` cells wide. Always the id, severity,
    title and the two deadlines (ack, update); then, while the title keeps its room, the
    status, the commander, the age, environment and type; then full ids and status words,
    and at the widest full type and environment names."""
    widths = {"id": 8, "sev": 5, "title": 0}
    clocks = dict(CLOCK_COLUMNS[1:])

    def title_left(extra: int = 0, columns: dict | None = None) -> int:
        columns = widths if columns is None else columns
        used = sum(w + 2 for key, w in columns.items() if key != "title") + 2  # one cell of padding each side
        return width - used - sum(clocks.values()) - SCROLLBAR - extra

    for key, cells, keep in OPTIONAL:
        cost = cells if key == "AGE" else cells + 2
        if title_left(cost) >= keep:
            if key == "AGE":
                clocks = dict(CLOCK_COLUMNS)
            else:
                widths[key] = cells
    full = {"full_ids": False, "full_status": False, "full_names": False}
    for flag, keys, keep in (("full_ids", ("id",), 40), ("full_status", ("status",), 40),
                             ("full_names", ("env", "type"), 60)):
        if not all(key in widths for key in keys):
            continue
        cost = sum(FULL[key] - widths[key] for key in keys)
        if title_left(cost) >= keep:
            full[flag] = True
            widths.update({key: FULL[key] for key in keys})
    widths["title"] = max(10, title_left())
    table = tuple((key, widths[key]) for key in ORDER if key in widths)
    shown_clocks = tuple((label, w) for label, w in CLOCK_COLUMNS if label in clocks)
    return ColumnPlan(table, shown_clocks, **full)


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
    # The table's own scrollbar would sit between the title and the clocks: the clocks draw
    # the list's scrollbar at the pane's right edge instead (keys and the wheel still scroll).
    DEFAULT_CSS = """
    IncidentTable { scrollbar-size-vertical: 0; }
    IncidentTable > .incident-table--new { background: $warning 60%; text-style: bold; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.rows_shown: list["IncidentSummary"] = []
        self.plan: ColumnPlan | None = None
        self.clocks: "IncidentClocks | None" = None  # set by the clocks beside it
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

    def _pane_width(self) -> int:
        """The width the list and its clocks share (the pane's inside)."""
        parent = self.parent
        if isinstance(parent, Widget) and parent.size.width:
            return parent.size.width
        return self.size.width + (self.clocks.size.width if self.clocks is not None else 0)

    def _columns(self, plan: ColumnPlan) -> None:
        self.clear(columns=True)
        for key, width in plan.table:
            self.add_column(LABELS[key], key=key, width=width)
        if self.clocks is not None:
            self.clocks.show_columns(plan)

    def _cells(self, row: "IncidentSummary", plan: ColumnPlan) -> list[Text]:
        # Every cell is data (a str cell would be read as markup): a restored or
        # directly written row shows its brackets and escapes, and no click acts.
        cells = []
        for key, width in plan.table:
            if key == "id":
                cells.append(cell(row.id if plan.full_ids else row.id[-8:]))
            elif key == "sev":
                cells.append(cell(row.severity, style=SEVERITY_STYLE.get(row.severity, "")))
            elif key == "type":
                cells.append(cell(row.type if plan.full_names else TYPE_SHORT.get(row.type, row.type)))
            elif key == "env":
                cells.append(cell(row.environment if plan.full_names else ENV_SHORT.get(row.environment, row.environment)))
            elif key == "title":
                cells.append(cell(row.title))
            elif key == "status":
                status = row.status if plan.full_status else STATUS_SHORT.get(row.status, row.status)
                cells.append(cell(status, style="dim" if row.status in SETTLED_STATUSES else ""))
            elif key == "commander":
                if row.commander:  # a long name ends in an ellipsis, not mid-letter; the war room has it whole
                    name = cell(row.commander)
                    name.truncate(width, overflow="ellipsis")
                    cells.append(name)
                else:
                    cells.append(cell("unassigned", style="red" if row.status not in SETTLED_STATUSES else "dim"))
        return cells

    def show(self, rows: list["IncidentSummary"]) -> None:
        plan = plan_columns(self._pane_width())
        selected = self.selected_id
        if plan != self.plan or not self.columns:
            self.plan = plan
            self._columns(plan)
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
            cells = self._cells(row, plan)
            if row.id in self.flashing:
                for text in cells:
                    text.stylize(self.get_component_rich_style("incident-table--new"))
            self.add_row(*cells, key=row.id)
        if selected in {r.id for r in rows}:
            self.move_cursor(row=self.get_row_index(selected))

    def on_resize(self) -> None:
        if self.rows_shown or self.columns:
            self.show(self.rows_shown)

    @property
    def selected_id(self) -> str | None:
        if not self.rows_shown or self.cursor_row is None or self.cursor_row >= len(self.rows_shown):
            return None
        return self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value


class IncidentClocks(Widget):
    """The clock columns of the incident table, line for line beside it, and at the right
    edge the list's scrollbar (one column, reserved so the widths never shift)."""

    DEFAULT_CSS = """
    IncidentClocks {
        width: 30;
        height: 1fr;
    }
    """

    def __init__(self, table: IncidentTable, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = table
        table.clocks = self
        self.columns: tuple[tuple[str, int], ...] = CLOCK_COLUMNS
        self.now: datetime | None = None
        self._shown: dict[int, tuple] = {}  # screen line -> what it shows

    def on_mount(self) -> None:
        # Scrolled by mouse or keys: the clocks and the scrollbar follow the rows.
        self.watch(self.table, "scroll_y", lambda _old, _new: self.refresh(), init=False)

    def show_columns(self, plan: ColumnPlan) -> None:
        """The clocks the list's width leaves room for (the age goes first)."""
        self._shown.clear()
        self.columns = plan.clocks
        if self.styles.width is None or self.styles.width.cells != plan.clock_width:
            self.styles.width = plan.clock_width
        self.refresh()

    def _line_of(self, index: int) -> int:
        return index - int(self.table.scroll_offset.y) + self.table.header_height

    def scrollbar(self) -> list[Segment]:
        """The list's scrollbar, one segment a line below the header (blank while every row fits)."""
        table = self.table
        rows_height = max(0, self.size.height - table.header_height)
        virtual = table.virtual_size.height - table.header_height
        window = table.scrollable_content_region.height - table.header_height
        if rows_height <= 0 or virtual <= window:
            return [Segment(" ", table.rich_style)] * rows_height
        # The colours Textual's own scrollbar would use (a translucent one over the table's background).
        background = table.styles.scrollbar_background
        if background.a < 1:
            background = table.background_colors[0] + background
        color = background + table.styles.scrollbar_color
        rendered = ScrollBarRender.render_bar(size=rows_height, virtual_size=virtual, window_size=window,
                                              position=table.scroll_y, thickness=SCROLLBAR,
                                              back_color=background.rich_color, bar_color=color.rich_color)
        # Drawn, not clickable: the meta that would make the clocks scroll themselves goes.
        segments = [Segment(seg.text, Style(color=seg.style.color, bgcolor=seg.style.bgcolor,
                                            reverse=seg.style.reverse))
                    for seg in rendered.segments if seg.text != "\n"]
        return segments[:rows_height]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        clocks_width = width - SCROLLBAR
        table = self.table
        if y < table.header_height:
            style = table.get_component_rich_style("datatable--header")
            text = "".join(f" {label:<{w - 1}}" for label, w in self.columns)
            return Strip([Segment(text.ljust(width)[:width], style)])
        bar = self.scrollbar()
        edge = bar[y - table.header_height] if 0 <= y - table.header_height < len(bar) else Segment(" ")
        index = y - table.header_height + int(table.scroll_offset.y)
        if self.now is None or not 0 <= index < len(table.rows_shown):
            return Strip([*Strip.blank(clocks_width, table.rich_style), edge])
        cursor = index == table.cursor_row
        base = table.get_component_rich_style("datatable--cursor") if cursor else table.rich_style
        segments = []
        shown = dict(self.columns)
        for (text, style), (label, w) in zip(clock_cells(table.rows_shown[index], self.now), CLOCK_COLUMNS):
            if label not in shown:
                continue
            segments.append(Segment(" ", base))
            cell = text[: w - 1].ljust(w - 1)
            segments.append(Segment(cell, base + style if style else base))
        strip = Strip(segments).adjust_cell_length(clocks_width, base)
        return Strip([*strip, edge])

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
                self.refresh(Region(0, line, self.size.width - SCROLLBAR, 1))

    def repaint_all(self, now: datetime) -> None:
        self.now = now
        self._shown.clear()
        self.refresh()
