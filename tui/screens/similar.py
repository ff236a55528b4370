""""This happened before", one key from the war room (`h`): the past incidents most like
this one (same service and type first, then the closest text), each with what it turned out
to be (root cause) and what was done about it (corrective actions); `enter` opens one's
war room. The store is searched in a worker; the list gets `SimilarIncident`s. Everything
stored (titles, causes, actions) is shown as data."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui.formatting import SEVERITY_STYLE
from tui.plain import plain, visible
from tui.screens.base import DeliversLatest, post_latest, report_worker_failure

if TYPE_CHECKING:  # store.search loads SQLAlchemy: the worker imports it, the screen's import does not
    from store.search import SimilarIncident

def similar_row(similar: SimilarIncident) -> Group:
    """One past incident: id, severity, status, title and why it is alike on the first line;
    then its root cause and each corrective action, wrapped under their label, never cut
    (stored text as data)."""
    hit = similar.hit
    alike = [reason for reason, holds in (("same service", similar.same_service), ("same type", similar.same_type))
             if holds]
    head = Text.assemble(plain(hit.id, style="bold"), " ",
                         plain(f" {hit.severity} ", style=SEVERITY_STYLE.get(hit.severity, "bold")), " ",
                         plain(hit.status, style="cyan"), "  ", plain(hit.title, style="bold"))
    if alike:
        head.append(f"  ({', '.join(alike)})", style="dim")
    details = Table.grid(padding=(0, 1))
    details.add_column(style="dim", no_wrap=True)  # the labels: "Root cause", "Actions"
    details.add_column(overflow="fold")
    details.add_row(" Root cause", plain(similar.root_cause) if similar.root_cause
                    else Text("not recorded", style="dim italic"))
    if not similar.corrective_actions:
        details.add_row(" Actions", Text("none recorded", style="dim italic"))
    for number, action in enumerate(similar.corrective_actions):
        details.add_row(" Actions" if number == 0 else "", Text.assemble("• ", plain(action)))
    return Group(head, details)


def nothing_similar(incident_id: str) -> str:
    return (f"No past incident looks like {visible(incident_id)}: none shares its service, type or the words "
            "of its title and first notes.")


class SimilarIncidentsScreen(DeliversLatest, ModalScreen[str | None]):
    """Dismissed with the chosen incident's id (enter), or None (esc, q)."""

    # The dialog's width is in command_center.tcss (the app's .dialog rule outranks DEFAULT_CSS).
    DEFAULT_CSS = """
    SimilarIncidentsScreen #similar-list { height: auto; max-height: 1fr; border: none; padding: 0; }
    SimilarIncidentsScreen #similar-summary { height: auto; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Back", id="similar.close"),
        Binding("q", "close", "Back", show=False, id="similar.close_q"),
        Binding("j", "cursor_down", show=False, id="similar.down"),
        Binding("k", "cursor_up", show=False, id="similar.up"),
    ]

    class Loaded(Message, bubble=False):  # for this screen only
        """What the worker found: the most similar incidents, best first (empty: none)."""

        def __init__(self, similar: list[SimilarIncident]) -> None:
            super().__init__()
            self.similar = similar

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.similar: list[SimilarIncident] | None = None  # None: still looking

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="similar-dialog") as dialog:
            dialog.border_title = Content(f"Like {visible(self.incident_id)}: similar past incidents")
            dialog.border_subtitle = "esc back"
            yield Static(Text("Looking through past incidents…", style="dim"), id="similar-summary")
            yield OptionList(id="similar-list")
            yield Label("enter opens its war room · j/k move · esc back", classes="hint", id="similar-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(thread=True, exclusive=True, group="similar", exit_on_error=False)
    def load(self) -> None:
        from store.search import similar_incidents

        store = self.app.store  # type: ignore[attr-defined]
        with store.db.read() as session:
            similar = similar_incidents(session, self.incident_id)
        post_latest(self, self.Loaded(similar))

    def on_similar_incidents_screen_loaded(self, message: Loaded) -> None:
        self.similar = message.similar
        summary = self.query_one("#similar-summary", Static)
        options = self.query_one(OptionList)
        options.clear_options()
        if not message.similar:
            summary.update(Text(nothing_similar(self.incident_id)))
            options.display = False
            self.query_one("#similar-hint", Label).update("esc back")
            return
        count = len(message.similar)
        summary.update(Text(f"{count} incident{'s' if count > 1 else ''} like {visible(self.incident_id)}, "
                            "most alike first:", style="dim"))
        items: list[Option | None] = []
        for similar in message.similar:
            if items:
                items.append(None)  # a rule between incidents: each takes several lines
            items.append(Option(similar_row(similar), id=similar.hit.id))
        options.add_options(items)
        options.highlighted = 0

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(None)
