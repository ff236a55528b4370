"""The top line: product, counts of open incidents by severity, and the UTC clock."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.containers import Horizontal
from textual.widgets import Static

from tui.formatting import SEVERITY_STYLE


class SeverityHeader(Horizontal):
    def compose(self):
        yield Static("incident-response", id="brand")
        yield Static(id="counts")
        yield Static(id="clock")

    def update_counts(self, counts: dict[str, int], now: datetime) -> None:
        text = Text()
        for severity in ("SEV-1", "SEV-2", "SEV-3", "SEV-4"):
            count = counts.get(severity, 0)
            text.append(f" {severity} {count} ", style=SEVERITY_STYLE[severity] if count else "dim")
            text.append(" ")
        self.query_one("#counts", Static).update(text)
        self.tick(now)

    def tick(self, now: datetime) -> None:
        self.query_one("#clock", Static).update(now.strftime("%H:%M:%S UTC"))
