"""Compose a status update, prefilled from the spec's template; ctrl+s posts it. The
composer shows who will get it before it posts, and the public headline the page will carry
(the playbook's, or one the engineer types; never the internal title unless they type it)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea

from reports.status_page import status_page_text
from store.clock import iso_z
from tui.plain import visible, visible_lines

DEFAULT_MESSAGES = {
    "investigating": "We are currently investigating reports of {title}. Our engineering team has been notified "
                     "and is actively working to identify the root cause.",
    "identified": "The cause of {title} has been identified and a fix is being implemented.",
    "monitoring": "A fix has been deployed for {title}. We are monitoring recovery.",
    "resolved": "{title} has been resolved. Service is operating normally.",
}


class UpdateComposer(ModalScreen[tuple[str, str | None, str | None] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="update.cancel"),
        Binding("ctrl+s", "post", "Post", id="update.post"),
    ]

    def __init__(self, detail: dict[str, Any], headline: str, now: datetime,
                 audience: list[str] | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.headline = headline  # what the public page calls the incident now
        self.now = now
        self.audience = audience or []  # "Engineering Leads, Customer Support: slack", ...

    def compose(self) -> ComposeResult:
        # Prefilled from the public headline: the internal title is not for customers.
        message = DEFAULT_MESSAGES.get(self.detail["status"], "").format(title=self.headline.lower())
        with Vertical(classes="dialog", id="update-dialog") as dialog:
            dialog.border_title = Content(f"Status update for {visible(self.detail['id'])}")
            yield Input(value=self.headline, placeholder="Public headline", id="headline")
            yield Input(value="", placeholder="Affected: who or what (e.g. checkout for EU customers)",
                        id="affected")
            yield TextArea(message, id="message", soft_wrap=True)
            yield Label("", id="preview", classes="preview")
            yield Label(Content(visible(self._audience_line())), id="audience", classes="hint")
            yield Label("ctrl+s post · esc cancel", classes="hint", id="hint")

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
        cadence_due = self.detail["policy"]["next_update_due_at"]
        headline = self.query_one("#headline", Input).value.strip() or self.headline
        text = status_page_text(self.detail, headline, self.query_one(TextArea).text.strip() or "…",
                                self.query_one("#affected", Input).value.strip() or None, iso_z(self.now), cadence_due)
        # The title and the engineer's words as data: escapes shown, never sent to the terminal.
        self.query_one("#preview", Label).update(Content(visible_lines(text.split("\n\n")[0])))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_post(self) -> None:
        message = self.query_one(TextArea).text.strip()
        if not message:
            self.query_one("#hint", Label).update("The update is empty; write what customers should know.")
            return
        headline = self.query_one("#headline", Input).value.strip()
        chosen = headline if headline and headline != self.headline else None  # only a change renames the page
        self.dismiss((message, self.query_one("#affected", Input).value.strip() or None, chosen))
