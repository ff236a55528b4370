"""Compose a status update, prefilled from the spec's template; ctrl+s posts it. The
composer shows who will get it before it posts, and the public headline the page will carry
(the playbook's, or one the engineer types; never the internal title unless they type it).
Given a draft slot, `esc` keeps what was written (restored by the next `u`), ctrl+d discards it;
the caller discards it once the update is posted."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.content import Content
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea

from reports.status_page import status_page_text
from playbooks.clock import to_utc_naive
from tui.plain import visible, visible_lines
from tui.screens.drafted_dialog import DraftKeeping

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail
    from tui.drafts import DraftSlot

# The prefilled public words name neither the title nor the headline. The title is internal
# (it may carry a host name or an attacker's address); the headline is its own field, the name
# the page shows above these words; and a name forced into a sentence in lower case reads
# wrong to customers ("payments api in eu-west").
DEFAULT_MESSAGES = {
    "investigating": "We are currently investigating this issue. Our engineering team is working to identify "
                     "the cause.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved. Service is operating normally.",
}


class UpdateComposer(DraftKeeping, ModalScreen[tuple[str, str | None, str | None] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="update.cancel"),
        # A terminal without the kitty keyboard protocol sends ctrl+enter as a line feed (ctrl+j).
        Binding("ctrl+s,ctrl+enter,ctrl+j", "post", "Post", id="update.post"),
        # priority: the text area's own ctrl+d (delete right) would otherwise take the key.
        Binding("ctrl+d", "discard", "Discard draft", priority=True, id="update.discard"),
    ]

    def __init__(self, detail: IncidentDetail, headline: str, now: datetime,
                 audience: list[str] | None = None, draft: "DraftSlot | None" = None) -> None:
        super().__init__()
        self.detail = detail
        self.headline = headline  # what the public page calls the incident now
        self.now = now
        self.audience = audience or []  # "Engineering Leads, Customer Support: slack", ...
        self.draft = draft
        # The headline field starts from the public headline: the internal title is not for customers.
        self.prefill = {"headline": headline, "affected": "", "message": DEFAULT_MESSAGES.get(detail.status, "")}
        kept = draft.values() if draft else None
        self.restored = bool(kept)
        self.start = {**self.prefill, **kept} if kept else self.prefill

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="update-dialog") as dialog:
            dialog.border_title = Content(f"Status update for {visible(self.detail.id)}")
            yield Input(value=self.start["headline"], placeholder="Public headline", id="headline")
            yield Input(value=self.start["affected"], placeholder="Affected: who or what (e.g. checkout for EU customers)",
                        id="affected")
            yield TextArea(self.start["message"], id="message", soft_wrap=True)
            yield Label("", id="preview", classes="preview")
            yield Label(Content(visible(self._audience_line())), id="audience", classes="hint")
            if self.draft is None:
                hint = "ctrl+s post · esc cancel"
            else:
                hint = ("draft restored · " if self.restored else "") + "ctrl+s post · esc keep draft · ctrl+d discard"
            yield Label(hint, classes="hint", id="hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self._preview()

    def on_text_area_changed(self, _event) -> None:
        self._preview()

    def on_input_changed(self, _event) -> None:
        self._preview()

    def _audience_line(self) -> str:
        if not self.audience:
            return "Goes to: no one outside (no integration configured)"
        return "Goes to: " + "; ".join(self.audience)

    def _preview(self) -> None:
        cadence_due = self.detail.policy.next_update_due_at
        headline = self.query_one("#headline", Input).value.strip() or self.headline
        text = status_page_text(self.detail, headline, self.query_one(TextArea).text.strip() or "…",
                                self.query_one("#affected", Input).value.strip() or None, to_utc_naive(self.now), cadence_due)
        # The title and the engineer's words as data: escapes shown, never sent to the terminal.
        self.query_one("#preview", Label).update(Content(visible_lines(text.split("\n\n")[0])))

    def _written(self) -> dict[str, str]:
        return {"headline": self.query_one("#headline", Input).value,
                "affected": self.query_one("#affected", Input).value, "message": self.query_one(TextArea).text}

    def action_post(self) -> None:
        message = self.query_one(TextArea).text.strip()
        if not message:
            self.query_one("#hint", Label).update("The update is empty; write what customers should know.")
            return
        self._keep_draft()  # until the caller has posted it: a refused post loses nothing
        headline = self.query_one("#headline", Input).value.strip()
        chosen = headline if headline and headline != self.headline else None  # only a change renames the page
        self.dismiss((message, self.query_one("#affected", Input).value.strip() or None, chosen))
