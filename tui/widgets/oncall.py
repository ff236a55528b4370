"""Who is on call, as the command center shows it: a one-line strip on the dashboard (each
schedule's person and until when, and the silences in force) and the on-call screen's table.

Widgets get plain values (ScheduleOnCall, built in a worker by tui/screens/oncall.py from
playbooks/schedules.py and the stored overrides), never a session. Names come from
config.toml and the store: data, never markup. Times are naive UTC, as the app's clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable

from tui.formatting import countdown, span
from tui.plain import cell, plain

if TYPE_CHECKING:
    from store.dashboard import SilencesInForce

OVERRIDE_STYLE = "bold black on yellow"


@dataclass(frozen=True)
class Handoff:
    """One shift after the current one: `person` from `starts_at` (until `ends_at`, if known)."""

    person: str
    starts_at: datetime
    ends_at: datetime | None
    overridden: bool


@dataclass(frozen=True)
class ScheduleOnCall:
    """One schedule at one instant: who is on call, until when, and the handoffs after."""

    schedule: str
    timezone: str
    person: str
    until: datetime | None
    overridden: bool
    next: tuple[Handoff, ...] = ()


def local_time(moment: datetime, zone: str, now: datetime) -> str:
    """An instant on the schedule's clock: "17:00 CET" today there, "16 Jan 09:00 CET" on another day."""
    utc = ZoneInfo("UTC")
    here = moment.replace(tzinfo=utc).astimezone(ZoneInfo(zone))
    today = now.replace(tzinfo=utc).astimezone(ZoneInfo(zone)).date()
    return here.strftime("%H:%M %Z" if here.date() == today else "%d %b %H:%M %Z")


def left(until: datetime | None, now: datetime) -> str:
    """How long the turn has left, in the countdowns' units ("in 2h05m"); none: no handoff ahead."""
    return countdown(until, now) if until is not None else "no handoff ahead"


def next_refresh(rota: tuple[ScheduleOnCall, ...]) -> datetime | None:
    """The first handoff shown: past it, what is shown is stale."""
    ends = [row.until for row in rota if row.until is not None]
    return min(ends) if ends else None


def silences_text(silences: "SilencesInForce | None") -> Text | None:
    """ "2 silences active (next ends 15:00)", or None while none is."""
    if silences is None or not silences.count:
        return None
    noun = "silence" if silences.count == 1 else "silences"
    ends = f" (next ends {silences.first_end:%H:%M})" if silences.first_end is not None else ""
    return Text(f" {silences.count} {noun} active{ends} ", style="bold black on dark_orange")


def strip_text(rota: tuple[ScheduleOnCall, ...], silences: "SilencesInForce | None", now: datetime,
               wide: bool = True) -> Text:
    """The dashboard's line: " 2 silences active (next ends 15:00)  on call primary: alice until
    17:00 (in 2h25m) · …". Silences first, so a narrow window cuts a schedule, not them;
    narrow, each turn is only its time left ("alice for 2h25m")."""
    text = Text()
    shown = silences_text(silences)
    if shown is not None:
        text.append_text(shown)
        if rota:
            text.append("  ")
    if rota:
        text.append("on call ", style="dim")
        for index, row in enumerate(rota):
            if index:
                text.append(" · ", style="dim")
            text.append_text(plain(row.schedule, style="bold"))
            text.append(": ")
            text.append_text(plain(row.person))
            if row.overridden:
                text.append(" override", style="yellow")
            if row.until is not None and wide:
                text.append(f" until {row.until:%H:%M} ({countdown(row.until, now)})", style="dim")
            elif row.until is not None:
                text.append(f" for {span(int((row.until - now).total_seconds()))}", style="dim")
    return text


class OnCallStrip(Widget):
    """One line under the dashboard's header, shown only while there is something to say: a
    schedule is configured or a silence is in force. A tick rewrites it only when its text
    changes (once a minute), not every second."""

    DEFAULT_CSS = """
    OnCallStrip {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        display: none;
    }
    """

    text: reactive[Text] = reactive(Text, layout=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rota: tuple[ScheduleOnCall, ...] = ()
        self.silences: SilencesInForce | None = None
        self._plain = ""
        self._now: datetime | None = None

    def show(self, now: datetime, rota: tuple[ScheduleOnCall, ...] | None = None,
             silences: "SilencesInForce | None | bool" = False) -> None:
        """New data (None / False: keep what is shown) at `now`."""
        if rota is not None:
            self.rota = tuple(rota)
        if silences is not False:
            self.silences = silences
        self.tick(now)

    def tick(self, now: datetime) -> None:
        self._now = now
        text = strip_text(self.rota, self.silences, now, wide=self.size.width == 0 or self.size.width >= 120)
        shown = bool(text.plain)
        if self.display != shown:
            self.display = shown
        if text.plain != self._plain:  # the countdowns move by the minute: repaint then only
            self._plain = text.plain
            self.text = text

    def on_resize(self) -> None:
        if self._now is not None:
            self.tick(self._now)

    def render(self) -> Text:
        return self.text


class OnCallTable(DataTable):
    """The on-call screen's list: a schedule a row, its person, until when on the schedule's
    clock, the time left, and the next handoffs (more of them where the window is wide)."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="oncall.down"),
        Binding("k", "cursor_up", "Up", show=False, id="oncall.up"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.rota: tuple[ScheduleOnCall, ...] = ()
        self._shape: tuple | None = None
        self._cells: dict[tuple[str, str], str] = {}

    @property
    def selected(self) -> ScheduleOnCall | None:
        if not self.rota or self.cursor_row is None or not 0 <= self.cursor_row < len(self.rota):
            return None
        return self.rota[self.cursor_row]

    def _handoffs_shown(self) -> int:
        return 2 if self.size.width >= 140 else 1

    def show(self, rota: tuple[ScheduleOnCall, ...], now: datetime) -> None:
        """Rebuild on new data or a new width; else only the cells whose text moved (the countdowns)."""
        shape = (tuple(rota), self._handoffs_shown())
        if shape == self._shape:
            self.tick(now)
            return
        keep = self.selected.schedule if self.selected else None
        self._shape = shape
        self.rota = tuple(rota)
        self.clear(columns=True)
        self._cells = {}
        self.add_column("SCHEDULE", key="schedule")
        self.add_column("ON CALL", key="person")
        self.add_column("UNTIL", key="until")
        self.add_column("LEFT", key="left")
        for n in range(self._handoffs_shown()):
            self.add_column("NEXT" if n == 0 else "THEN", key=f"next{n}")
        for row in self.rota:
            cells = self._row(row, now)
            self.add_row(*cells.values(), key=row.schedule)
            self._cells.update({(row.schedule, column): value.plain for column, value in cells.items()})
        if keep is not None and any(row.schedule == keep for row in self.rota):
            self.move_cursor(row=self.get_row_index(keep))

    def tick(self, now: datetime) -> None:
        for row in self.rota:
            for column, value in self._row(row, now).items():
                if self._cells.get((row.schedule, column)) != value.plain:
                    self._cells[(row.schedule, column)] = value.plain
                    self.update_cell(row.schedule, column, value)

    def _row(self, row: ScheduleOnCall, now: datetime) -> dict[str, Text]:
        person = plain(row.person, style="bold")
        if row.overridden:
            person.append(" ")
            person.append(" override ", style=OVERRIDE_STYLE)
        cells = {"schedule": cell(row.schedule), "person": person,
                 "until": Text(local_time(row.until, row.timezone, now) if row.until else "-"),
                 "left": Text(left(row.until, now))}
        for n in range(self._handoffs_shown()):
            cells[f"next{n}"] = handoff_text(row.next[n], row.timezone, now) if n < len(row.next) else Text("-")
        return cells


def handoff_text(shift: Handoff, zone: str, now: datetime) -> Text:
    """ "bob from 17:00 CET (8h)": who takes over, when, and for how long."""
    text = plain(shift.person)
    if shift.overridden:
        text.append(" override", style="yellow")
    text.append(f" from {local_time(shift.starts_at, zone, now)}", style="dim")
    if shift.ends_at is not None:
        text.append(f" ({span(int((shift.ends_at - shift.starts_at).total_seconds()))})", style="dim")
    return text
