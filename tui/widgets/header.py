"""The top of the dashboard: product, counts of open incidents by severity and the UTC clock;
under them who this keyboard acts as, which store it writes to, whether anyone can be
notified from here, and any outbox backlog."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from tui.formatting import SEVERITY_STYLE
from tui.plain import plain, visible

if TYPE_CHECKING:
    from store.database import Database

NOBODY_PAGED = "notifications: not configured — nobody will be paged"
NOBODY_PAGED_SHORT = "no notifications: nobody paged"


class UtcClock(Widget):
    """HH:MM:SS UTC, fixed width: a tick repaints these 12 cells and nothing else
    (Static.update would ask for a new layout every second)."""

    text: reactive[str] = reactive("", layout=False)

    def render(self) -> str:
        return self.text


def store_label(db: "Database | None") -> str:
    """The store in a few words: the SQLite file's name, or PostgreSQL's host/database
    (from the masked URL: no password ever reaches the screen)."""
    if db is None:
        return "store opening…"
    if db.sqlite_path is not None:
        return db.sqlite_path.name
    from store.database import masked_url

    masked = masked_url(db.url)
    try:
        from sqlalchemy.engine import make_url

        url = make_url(masked)
    except Exception:  # not parseable: the masked URL says at least where
        return masked
    host = url.host or "localhost"
    return f"{host}{f':{url.port}' if url.port else ''}/{url.database or ''}"


def identity_line(actor: str, store: str, notifying: list[str], waiting: tuple = (), *, compact: bool = False,
                  read_only: bool = False) -> Text:
    """ "as alice · incidents.db · notifications: slack, pagerduty", loud when nothing is
    configured to tell anyone; then each integration's outbox backlog. Every part is data.
    `compact`: a window under 80 columns, where the long warning would take a third line."""
    text = Text(" as ", style="dim")
    text.append_text(plain(actor, style="bold"))
    text.append(" · ", style="dim")
    text.append_text(plain(store))
    text.append(" · ", style="dim")
    if notifying:
        text.append_text(plain(f"notifications: {', '.join(notifying)}"))
    else:
        text.append(NOBODY_PAGED_SHORT if compact else NOBODY_PAGED, style="bold black on yellow")
    for integration, pending, dead in waiting:  # the outbox backlog, while a vendor is down
        text.append("  ")
        text.append(f" {visible(integration)}: {pending} waiting" + (f", {dead} failed" if dead else "") + " ",
                    style="bold black on yellow" if not dead else "bold white on red")
    if read_only:  # first, where the eye starts: this keyboard cannot act
        return Text.assemble((" READ-ONLY ", "bold white on blue"), text)
    return text


class SeverityHeader(Vertical):
    def compose(self):
        with Horizontal(id="header-top"):
            yield Static("incident-response", id="brand")
            yield Static(id="counts")
            yield UtcClock(id="clock")
        # Its own line, wrapped rather than cut: at 80 columns an outbox note read "slack:".
        yield Static(id="identity")

    _counts: tuple | None = None
    _identity: tuple | None = None

    def on_mount(self) -> None:
        self.show_identity()

    def show_identity(self, waiting: tuple = ()) -> None:
        """From the command center: its actor, its store and the configuration read at the door."""
        app = self.app
        actor = getattr(app, "actor", "")
        configuration = getattr(app, "configuration", None)
        notifying = list(configuration.integrations.configured()) if configuration is not None else \
            list(getattr(getattr(app, "settings", None), "notifying", ()))  # before config.toml's whole check
        store = getattr(app, "store", None)
        read_only = bool(getattr(getattr(app, "settings", None), "read_only", False))
        # READ-ONLY takes 11 columns: the short warning keeps the line whole at 80.
        compact = 0 < self.size.width < (92 if read_only else 80)
        key = (actor, store_label(store.db if store is not None else None), tuple(notifying), waiting, compact,
               read_only)
        if key == self._identity:
            return  # unchanged: no repaint
        self._identity = key
        self.query_one("#identity", Static).update(identity_line(*key[:2], list(key[2]), waiting, compact=compact,
                                                                 read_only=read_only))

    def on_resize(self) -> None:
        # Under 80 columns the product's name gives its room to the four severity counts.
        self.query_one("#brand").display = self.size.width >= 80
        self.show_identity(self._identity[3] if self._identity else ())

    def update_counts(self, counts: dict[str, int], now: datetime, outbox: tuple = ()) -> None:
        self.tick(now)
        waiting = tuple((b.integration, b.pending, b.dead) for b in outbox if b.pending or b.dead)
        self.show_identity(waiting)
        key = tuple(sorted(counts.items()))
        if key == self._counts:
            return  # unchanged: no repaint
        self._counts = key
        text = Text()
        for severity in ("SEV-1", "SEV-2", "SEV-3", "SEV-4"):
            count = counts.get(severity, 0)
            text.append(f" {severity} {count} ", style=SEVERITY_STYLE[severity] if count else "dim")
            text.append(" ")
        self.query_one("#counts", Static).update(text)

    def tick(self, now: datetime) -> None:
        # query, not query_one: the once-a-second timer may fire while the app quits and
        # the header's children are already gone (a traceback at quit, seen under load).
        for clock in self.query(UtcClock):
            clock.text = now.strftime("%H:%M:%S UTC")
