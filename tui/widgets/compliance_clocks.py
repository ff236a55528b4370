"""Regulatory clocks on screen: each running obligation as a countdown from awareness
("GDPR in 71h58m"), loud once overdue ("GDPR 2h10m over"), and who met it and when
once it is met. The war room shows one incident's; the dashboard every running one.

Both widgets are a few lines tall and hidden when there is nothing to show, so a screen
without compliance clocks looks exactly as it did before.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.formatting import countdown, deadline
from tui.plain import plain, visible

if TYPE_CHECKING:
    from store.compliance import RunningObligation
    from store.read_models.incident import ComplianceObligation

OVERDUE_STYLE = "bold white on red"


def countdown_text(due_at: datetime, now: datetime) -> Text:
    """ "in 71h45m", or "2h10m over" in the loud style (tui.formatting.countdown, as every clock)."""
    seconds = int((due_at - now).total_seconds())
    if seconds < 0:
        return Text(countdown(due_at, now), style=OVERDUE_STYLE)
    return Text(countdown(due_at, now), style="bold yellow" if seconds < 6 * 3600 else "bold")


def met_text(met_at: datetime, met_by: str | None) -> Text:
    return Text(f"met {met_at:%d %b %H:%M} by {visible(met_by)}", style="green")


def obligation_state(obligation: ComplianceObligation, now: datetime) -> Text:
    """The state of one obligation of an incident's detail (`IncidentDetail.compliance`)."""
    if obligation.met_at is not None:
        return met_text(obligation.met_at, obligation.met_by)
    return countdown_text(obligation.due_at, now)


class ObligationCountdowns(Widget):
    """The war room's compliance lines, above the team and comms."""

    DEFAULT_CSS = """
    ObligationCountdowns {
        height: auto;
        display: none;
    }
    """

    now: reactive[datetime | None] = reactive(None, layout=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.obligations: tuple[ComplianceObligation, ...] = ()
        self.applies = False

    def show(self, obligations: tuple[ComplianceObligation, ...], applies: bool, now: datetime) -> None:
        """`applies`: exposed data can be marked on this incident (a security or data one)."""
        self.obligations, self.applies = tuple(obligations), applies
        self.display = bool(obligations) or applies
        self.now = now
        self.refresh(layout=True)

    def render(self):
        now = self.now or datetime.utcnow()
        title = Text("Compliance", style="bold underline")
        if not self.obligations:
            return Group(title, Text("no exposed data marked (c)", style="dim"), Text(""))
        # One line an obligation, the regime first and never cut (in a grid a narrow side pane
        # squeezed it to "G…"); the deadline and whom to notify follow only where they fit.
        lines = []
        for o in self.obligations:
            line = Text.assemble(plain(o.regime, style="bold"), " ", obligation_state(o, now))
            if o.met_at is None:
                extra = Text(f" (by {deadline(o.due_at, now)})", style="dim")
                if o.notify:
                    extra.append_text(plain(f" notify {o.notify[0]}", style="dim"))
                line.append_text(extra)
            line.no_wrap, line.overflow = True, "ellipsis"
            lines.append(line)
        return Group(title, *lines, Text(""))


class ComplianceClocks(Widget):
    """The dashboard's running obligations across incidents, soonest due first: a strip of
    at most three lines (no border), so the panes around it keep their room at 80x24."""

    DEFAULT_CSS = """
    ComplianceClocks {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $panel;
        display: none;
    }
    """
    MAX_LINES = 3

    now: reactive[datetime | None] = reactive(None, layout=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.running: tuple["RunningObligation", ...] = ()

    def show(self, running: tuple["RunningObligation", ...], now: datetime) -> None:
        changed = tuple(running) != self.running
        self.running = tuple(running)
        self.display = bool(self.running)
        self.now = now
        if changed:
            self.refresh(layout=True)

    def render(self):
        now = self.now or datetime.utcnow()
        wide = self.size.width >= 100
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(no_wrap=True, overflow="ellipsis", style="dim", ratio=1)
        shown = self.running if len(self.running) <= self.MAX_LINES else self.running[: self.MAX_LINES - 1]
        for r in shown:
            grid.add_row(plain(r.regime), countdown_text(r.due_at, now), plain(r.incident_id if wide else r.incident_id[-8:]),
                         plain(f"notify {', '.join(r.notify)}" + (f" · {r.title}" if wide else "")))
        if len(shown) < len(self.running):  # its own line: in the grid it would widen a column
            return Group(grid, Text(f"+{len(self.running) - len(shown)} more regulatory clocks "
                                    "(incident-response compliance)", style="dim"))
        return grid
