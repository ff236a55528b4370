"""Pin the incident's current summary and next steps (`S` in the war room).

Prefilled with what is pinned now, so an edit starts from it. Given a draft slot, `esc` keeps
what was written (restored by the next `S`), ctrl+d discards it; the caller discards it once
the summary is pinned (a pin that fails keeps it). ctrl+s or ctrl+enter pins."""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from tui.plain import visible
from tui.screens.drafted_dialog import DraftKeeping

if TYPE_CHECKING:
    from store.read_models.incident import PinnedSummary
    from tui.drafts import DraftSlot

PINNED_SUMMARY = "summary"  # the draft's field (tui/drafts.py keeps drafts by incident and field)


class SummaryEditor(DraftKeeping, ModalScreen[tuple[str, str | None] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="summary.cancel"),
        # A terminal without the kitty keyboard protocol sends ctrl+enter as a line feed (ctrl+j).
        Binding("ctrl+s,ctrl+enter,ctrl+j", "pin", "Pin", id="summary.pin"),
        # priority: the text area's own ctrl+d (delete right) would otherwise take the key.
        Binding("ctrl+d", "discard", "Discard draft", priority=True, id="summary.discard"),
    ]

    DEFAULT_CSS = """
    #summary-text { height: 5; }
    #summary-next { height: 4; }
    """

    def __init__(self, incident_id: str, pinned: PinnedSummary | None, draft: "DraftSlot | None" = None) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.draft = draft
        self.prefill = {"summary": pinned.summary if pinned else "", "next_steps": (pinned.next_steps if pinned else None) or ""}
        kept = draft.values() if draft else None
        self.restored = bool(kept)
        self.start = {**self.prefill, **kept} if kept else self.prefill

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="summary-dialog") as dialog:
            dialog.border_title = Content(f"Pinned summary of {visible(self.incident_id)}")
            yield Label("Where it stands now", classes="hint")
            yield TextArea(self.start["summary"], id="summary-text", soft_wrap=True)
            yield Label("Next steps (and who)", classes="hint")
            yield TextArea(self.start["next_steps"], id="summary-next", soft_wrap=True)
            if self.draft is None:
                hint = "ctrl+s pin · tab next field · esc cancel"
            else:
                hint = ("draft restored · " if self.restored else "") + "ctrl+s pin · esc keep draft · ctrl+d discard"
            yield Label(hint, classes="hint", id="hint")

    def on_mount(self) -> None:
        area = self.query_one("#summary-text", TextArea)
        area.focus()
        area.move_cursor(area.document.end)  # type after what is pinned

    def _written(self) -> dict[str, str]:
        return {"summary": self.query_one("#summary-text", TextArea).text,
                "next_steps": self.query_one("#summary-next", TextArea).text}

    def action_pin(self) -> None:
        written = self._written()
        summary = written["summary"].strip()
        if not summary:
            self.query_one("#hint", Label).update("The summary is empty; write where the incident stands.")
            return
        self._keep_draft()  # until the caller has pinned it: a refused pin loses nothing
        self.dismiss((summary, written["next_steps"].strip() or None))
