"""What the dashboard shows in place of the incident table while nothing is open: how to
declare, where the database is, what feeds System Health and where the config file is.

Everything here that comes from outside (paths, URLs, source names) goes into rich Text as
plain data, so a `[` in a path is shown, never read as markup.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.plain import plain, visible

if TYPE_CHECKING:
    from store.database import Database

DECLARE_EXAMPLE = 'incident-response critical outage production --title "Checkout down"'
HOST_METRICS = "this host (CPU, memory, load, disk, network)"
# [sources.NAME] as automation.config names them; a name not listed is shown as it is.
SOURCE_NAMES = {"host": HOST_METRICS, "prometheus": "Prometheus", "health": "HTTP health checks",
                "datadog": "Datadog", "newrelic": "New Relic", "cloudwatch": "CloudWatch"}


def database_location(db: "Database") -> str:
    """The SQLite file, or the database URL with any password masked."""
    if db.sqlite_path is not None:
        return str(db.sqlite_path)
    from store.database import masked_url

    return masked_url(db.url)


def metric_sources_text(sources: tuple[str, ...]) -> str:
    if not sources:
        return "none configured ([sources.*] in the config file adds them)"
    return ", ".join(SOURCE_NAMES.get(name, name) for name in sources)


def _is_file(path: str) -> bool:
    try:
        return Path(path).expanduser().is_file()
    except (OSError, RuntimeError):  # unreadable folder, or ~name of a user this host does not know
        return False


class Welcome(Static):
    """The empty incident area. `show` repaints it; until the store has opened `db` is None."""

    def __init__(self, **kwargs) -> None:
        super().__init__(markup=False, **kwargs)
        self._shown: tuple | None = None

    def show(self, db: "Database | None", sources: tuple[str, ...], config_path: str, settled: int = 0,
             problem: str = "") -> None:
        """`problem`: why the store did not open (one sentence), shown instead of "opening"."""
        written = bool(config_path) and _is_file(config_path)
        key = (db is None or database_location(db), sources, config_path, written, settled, problem)
        if key == self._shown:
            return  # the dashboard reloads every few seconds: repaint only what changed
        self._shown = key
        text = Text()
        if problem:
            text.append("The incident store did not open: ", style="bold red")
            text.append(visible(problem))
        elif db is None:
            text.append("Opening the incident store…", style="bold")
        else:
            text.append("No open incidents", style="bold green")
            if settled:
                text.append(f"; {settled} resolved or closed (incident-response list --status all lists them)")
            text.append(".\nDeclare one: ")
            text.append("d", style="bold reverse")
            text.append(" here, or from a shell:\n  ")
            text.append(DECLARE_EXAMPLE, style="cyan")
        # Label and value in columns, so a long path wraps under its value, not under the label.
        # Every cell is Text: a str cell would be read as markup.
        facts = Table.grid(padding=(0, 1))
        facts.add_column(no_wrap=True, style="bold")
        facts.add_column(overflow="fold")  # a long path folds; cut short it would point nowhere
        where = database_location(db) if db is not None else "not open" if problem else "opening…"
        # A path or URL is shown with any unprintable character escaped, as the CLI shows it.
        facts.add_row(Text("Database:"), plain(where))
        facts.add_row(Text("Metrics:"), plain(metric_sources_text(sources)))
        if config_path:
            where = plain(config_path)
            if written:
                where.append(" (incident-response config check checks it)", style="dim")
            else:
                where.append(" (not written yet: incident-response init writes one)", style="dim")
            facts.add_row(Text("Config:"), where)
        self.update(Group(text, facts))
