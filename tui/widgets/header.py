"""The top line: product, counts of open incidents by severity, and the UTC clock."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static


class UtcClock(Widget):
    """HH:MM:SS UTC, fixed width: a tick repaints these 12 cells and nothing else
    (Static.update would ask for a new layout every second)."""

    text: reactive[str] = reactive("", layout=False)

    def render(self) -> str:
        return self.text

from tui.formatting import SEVERITY_STYLE
from tui.plain import visible


class SeverityHeader(Horizontal):
    def compose(self):
        yield Static("incident-response", id="brand")
        yield Static(id="counts")
        yield UtcClock(id="clock")

    _counts: tuple | None = None

    def update_counts(self, counts: dict[str, int], now: datetime, outbox: tuple = ()) -> None:
        self.tick(now)
        waiting = tuple((b.integration, b.pending, b.dead) for b in outbox if b.pending or b.dead)
        key = (tuple(sorted(counts.items())), waiting)
        if key == self._counts:
            return  # unchanged: no repaint
        self._counts = key
        text = Text()
        for severity in ("SEV-1", "SEV-2", "SEV-3", "SEV-4"):
            count = counts.get(severity, 0)
            text.append(f" {severity} {count} ", style=SEVERITY_STYLE[severity] if count else "dim")
            text.append(" ")
        for integration, pending, dead in waiting:  # the outbox backlog, while a vendor is down
            text.append(f" {visible(integration)}: {pending} waiting" + (f", {dead} failed" if dead else "") + " ",
                        style="bold black on yellow" if not dead else "bold white on red")
            text.append(" ")
        self.query_one("#counts", Static).update(text)

    def tick(self, now: datetime) -> None:
        # query, not query_one: the once-a-second timer may fire while the app quits and
        # the header's children are already gone (a traceback at quit, seen under load).
        for clock in self.query(UtcClock):
            clock.text = now.strftime("%H:%M:%S UTC")
