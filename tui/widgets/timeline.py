"""The war room's timeline: every event of the incident, focusable (`t`), scrollable, each
row marked with its kind, filtered by kind, and `enter` opens an event in full.

Someone joining mid-incident reads back from here, so nothing is dropped: the list holds
every event; a row is one line (a long summary is cut with an ellipsis, a multi-line note
says how many lines follow) and the whole text is one `enter` away."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.plain import first_line, visible

if TYPE_CHECKING:
    from store.read_models.incident import TimelineEntry

# The four kinds a reader filters by. "status" is every change a person made to the
# incident's state (status, severity, roles, checklist, remediation, compliance, review).
NOTES, UPDATES, STATUS, AUTOMATION = "notes", "updates", "status", "automation"
KINDS = (NOTES, UPDATES, STATUS, AUTOMATION)
TAG = {NOTES: "note", UPDATES: "update", STATUS: "status", AUTOMATION: "auto"}
TAG_STYLE = {NOTES: "bold yellow", UPDATES: "bold green", STATUS: "cyan", AUTOMATION: "magenta"}
TAG_WIDTH = max(len(tag) for tag in TAG.values())

# What the machine did (escalation, nudges, alert rules, collected evidence, retries),
# whoever's key started it; and the actors the automation writes as.
AUTOMATION_EVENTS = frozenset({
    "escalated", "update_overdue", "condition_firing", "condition_cleared", "oncall_page", "status_page_update",
    "war_room_start", "security_alert", "runbook_proposed", "notification_retried", "evidence_collected",
    "compliance_reminder", "imported",
})
AUTOMATION_ACTORS = frozenset({"automation", "alertmanager", "drill"})


def kind_of(event: TimelineEntry) -> str:
    """Which of the four kinds a timeline event is (every event is one of them)."""
    if event.kind == "note":
        return NOTES
    if event.kind == "status_update":
        return UPDATES
    if event.kind in AUTOMATION_EVENTS or event.actor in AUTOMATION_ACTORS:
        return AUTOMATION
    return STATUS


def event_row(event: TimelineEntry) -> Text:
    """One line: time, kind tag, actor, the summary's first line (stored text as data)."""
    kind = kind_of(event)
    at = f"{event.at:%H:%M}" if event.at else "--:--"
    row = Text.assemble((at, "bold"), " ", (TAG[kind].ljust(TAG_WIDTH), TAG_STYLE[kind]), " ",
                        (f"{visible(event.actor)}:", "cyan"), " ", first_line(event.summary))
    more = str(event.summary or "").count("\n")
    if more:  # the rest is in the event's full view (enter)
        row.append(f"  (+{more} line{'s' if more > 1 else ''}, enter)", style="dim")
    return row


class Timeline(OptionList):
    """The incident's events, oldest first; follows new events while the reader is at the
    bottom and keeps their place while they read back."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="timeline.down"),
        Binding("k", "cursor_up", "Up", show=False, id="timeline.up"),
        Binding("g", "first", "First", show=False, id="timeline.first"),
        Binding("G", "last", "Last", show=False, id="timeline.last"),
        Binding("f", "cycle_filter", "Filter", id="timeline.filter"),
        Binding("1", "filter('all')", "All", show=False, id="timeline.all"),
        Binding("2", "filter('notes')", "Notes", show=False, id="timeline.notes"),
        Binding("3", "filter('updates')", "Updates", show=False, id="timeline.updates"),
        Binding("4", "filter('status')", "Status", show=False, id="timeline.status"),
        Binding("5", "filter('automation')", "Automation", show=False, id="timeline.automation"),
        Binding("escape", "leave", "Checklist", id="timeline.leave"),
    ]

    @dataclass
    class EventChosen(Message):
        """The reader asked for one event in full (enter or a click)."""

        seq: int

    @dataclass
    class Left(Message):
        """The reader is done here (esc): the screen decides where the focus goes."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.events: list[TimelineEntry] = []
        self.kind_filter = "all"

    def on_mount(self) -> None:
        self._title()

    def show(self, events: tuple[TimelineEntry, ...]) -> None:
        """The incident's events (oldest first), as the war room loaded them."""
        self.events = list(events)
        self._rebuild()

    @property
    def shown(self) -> list[TimelineEntry]:
        """The events the filter lets through, in order."""
        if self.kind_filter == "all":
            return self.events
        return [e for e in self.events if kind_of(e) == self.kind_filter]

    @property
    def highlighted_seq(self) -> int | None:
        option = self.highlighted_option
        return int(option.id.removeprefix("event-")) if option is not None and option.id else None

    def _rebuild(self) -> None:
        at_bottom = self.highlighted is None or self.highlighted >= self.option_count - 1
        kept, scroll_y = self.highlighted_seq, self.scroll_y
        shown = self.shown
        self.set_options([Option(event_row(e), id=f"event-{e.seq}") for e in shown])
        self._title()
        if not shown:
            return
        ids = {f"event-{e.seq}" for e in shown}
        if at_bottom or f"event-{kept}" not in ids:
            self.highlighted = len(shown) - 1  # following the incident as it happens
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        else:  # reading back: the same event highlighted, the page where it was
            self.highlighted = self.get_option_index(f"event-{kept}")
            self.call_after_refresh(self.scroll_to, y=scroll_y, animate=False, immediate=True)

    def _title(self) -> None:
        total, shown = len(self.events), len(self.shown)
        if self.kind_filter == "all":
            self.border_title = f"Timeline ({total})"
        else:
            self.border_title = f"Timeline: {self.kind_filter} ({shown} of {total})"
        self.border_subtitle = "f filter · enter full" if self.has_focus else "t to read"

    def on_focus(self) -> None:
        self._title()

    def on_blur(self) -> None:
        self._title()

    def action_filter(self, kind: str) -> None:
        self.kind_filter = kind if kind in KINDS else "all"
        self._rebuild()

    def action_cycle_filter(self) -> None:
        order = ("all", *KINDS)
        self.action_filter(order[(order.index(self.kind_filter) + 1) % len(order)])

    def action_leave(self) -> None:
        self.post_message(self.Left())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.EventChosen(int(event.option.id.removeprefix("event-"))))
