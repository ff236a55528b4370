"""One timeline event in full: when, who, what kind, the whole summary (every line of a
note), and the fields recorded with it. Everything stored is shown as data."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from playbooks.clock import iso_z
from store.read_models.incident import TimelineEntry, timeline_kind
from tui.plain import plain, plain_block, visible
from tui.widgets.timeline import TAG_STYLE, kind_of

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class EventInFull:
    """A timeline event and the fields recorded with it."""

    entry: TimelineEntry
    data: dict[str, Any]


def read_event(session: Session, incident_id: str, seq: int) -> EventInFull | None:
    """The stored event `seq` of `incident_id` with its data fields (None: not this incident's)."""
    # Imported here, in the war room's worker: importing the dialog stays off SQLModel.
    from store.models import TimelineEvent

    row = session.get(TimelineEvent, seq)
    if row is None or row.incident_id != incident_id:
        return None
    try:
        data = json.loads(row.data or "{}")
    except ValueError:  # a damaged row is still shown: its raw text, as data
        data = {"data": row.data}
    return EventInFull(TimelineEntry(row.seq, row.at, row.actor, timeline_kind(row.kind), row.summary),
                       data if isinstance(data, dict) else {"data": data})


def _value(value: Any) -> Text:
    if isinstance(value, str):
        return plain_block(value)
    return plain(json.dumps(value, ensure_ascii=False, sort_keys=True))


class TimelineEventScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "close", "Close", id="timeline_event.close"),
        Binding("q", "close", "Close", show=False, id="timeline_event.close_q"),
    ]

    def __init__(self, event: EventInFull) -> None:
        super().__init__()
        self.event = event

    def body(self) -> Group:
        """What the dialog shows (also what tests read)."""
        e = self.event.entry
        kind = kind_of(e)
        head = Table.grid(padding=(0, 1))
        head.add_column(style="dim", no_wrap=True)
        head.add_column()
        head.add_row("at", Text(f"{visible(iso_z(e.at))} UTC", style="bold"))
        head.add_row("by", plain(e.actor, style="cyan"))
        head.add_row("kind", Text.assemble((kind, TAG_STYLE[kind]), "  (", plain(str(e.kind)), ")"))
        parts: list[Any] = [head, Text(""), plain_block(e.summary)]
        data = self.event.data
        if data:
            fields = Table.grid(padding=(0, 1))
            fields.add_column(style="dim", no_wrap=True)
            fields.add_column()
            for key, value in data.items():
                fields.add_row(plain(key), _value(value))
            parts += [Text(""), Text("Recorded with it", style="bold underline"), fields]
        return Group(*parts)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="timeline-event") as dialog:
            dialog.border_title = Content(f"Event #{self.event.entry.seq}")
            dialog.border_subtitle = "esc closes"
            yield Static(self.body(), id="timeline-event-body")

    def action_close(self) -> None:
        self.dismiss(None)
