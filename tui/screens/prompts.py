"""Small modal prompts: a line of text, a choice, a role and a person."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from playbooks.policy import ROLES
from tui.plain import plain, visible


class Prompt(ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(Prompt):
    """One line of text; enter saves, esc cancels; empty text is refused."""

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(visible(self.title_text))  # may name a runbook or regime
            yield Input(value=self.value, placeholder=self.placeholder, id="text")
            yield Label("enter save · esc cancel", classes="hint", id="hint")

    def on_mount(self) -> None:
        field = self.query_one("#text", Input)
        field.focus()
        field.cursor_position = len(field.value)  # type after what is prefilled

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.query_one("#hint", Label).update("Type something first (esc to cancel).")
            return
        self.dismiss(text)


class ChoicePrompt(Prompt):
    BINDINGS = [
        Binding("j", "cursor_down", show=False, id="choice.down"),
        Binding("k", "cursor_up", show=False, id="choice.up"),
    ]

    def __init__(self, title: str, choices: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(visible(self.title_text))  # may name a runbook or regime
            # Choices (runbook names, regimes) come from files: shown as data, not markup.
            yield OptionList(*[Option(plain(choice), id=choice) for choice in self.choices], id="choices")
            yield Label("enter choose · esc cancel", classes="hint")

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class RolePrompt(Prompt):
    """Pick a role, type the person; the previous holder is released."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Assign role"
            yield Select([(role.replace("_", " "), role) for role in ROLES], value=ROLES[0], allow_blank=False,
                         id="role")
            yield Input(placeholder="person (name or handle)", id="person")
            yield Label("enter assign · esc cancel", classes="hint", id="hint")

    def on_mount(self) -> None:
        self.query_one("#person", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        person = event.value.strip()
        if not person:
            self.query_one("#hint", Label).update("Type who takes the role (esc to cancel).")
            return
        self.dismiss((self.query_one("#role", Select).value, person))
