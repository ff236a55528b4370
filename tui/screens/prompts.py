"""Small modal prompts: a line of text, a choice, a role and a person."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from playbooks.policy import ROLES
from tui.plain import plain, visible, visible_lines
from tui.screens.drafted_dialog import DraftKeeping
from tui.widgets.war_room_panes import ROLE_LABELS

if TYPE_CHECKING:
    from tui.drafts import DraftSlot


class Prompt(ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(DraftKeeping, Prompt):
    """One line of text; enter (or ctrl+s, ctrl+enter) saves, esc cancels; empty text is
    refused. Given a draft slot, esc keeps what was typed, the next prompt for the same
    incident and field restores it, and ctrl+d discards it; the caller discards it once the
    text is saved (a save that fails keeps it)."""

    BINDINGS = [
        Binding("ctrl+s,ctrl+enter,ctrl+j", "save", "Save", id="prompt.save"),
        # priority: the input's own ctrl+d (delete right) would otherwise take the key.
        Binding("ctrl+d", "discard", "Discard draft", priority=True, id="prompt.discard"),
    ]

    def __init__(self, title: str, placeholder: str = "", value: str = "",
                 draft: "DraftSlot | None" = None) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.draft = draft
        kept = draft.values() if draft else None
        self.restored = bool(kept and kept.get("text"))
        if self.restored:
            self.value = kept["text"]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(visible(self.title_text))  # may name a runbook or regime
            yield Input(value=self.value, placeholder=self.placeholder, id="text")
            if self.draft is None:
                hint = "enter save · esc cancel"
            else:
                hint = ("draft restored · " if self.restored else "") + "enter save · esc keep draft · ctrl+d discard"
            yield Label(hint, classes="hint", id="hint")

    def _written(self) -> dict[str, str]:
        return {"text": self.query_one("#text", Input).value}

    def _worth_keeping(self, written: dict[str, str]) -> bool:
        return bool(written["text"].strip())  # emptied by hand: nothing is left to keep

    def action_save(self) -> None:
        self._submit(self.query_one("#text", Input).value)

    def on_mount(self) -> None:
        field = self.query_one("#text", Input)
        field.focus()
        field.cursor_position = len(field.value)  # type after what is prefilled

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit(event.value)

    def _submit(self, value: str) -> None:
        text = value.strip()
        if not text:
            self.query_one("#hint", Label).update("Type something first (esc to cancel).")
            return
        self._keep_draft()  # until the caller has saved it
        self.dismiss(text)


class ChoicePrompt(Prompt):
    """Pick one of `choices`; `default` is highlighted (the safe or the usual answer, so
    `enter` alone never does the surprising thing). `body`, when given, is shown in full,
    wrapped, above the choices: what is about to happen, never cut at the dialog's width."""

    BINDINGS = [
        Binding("j", "cursor_down", show=False, id="choice.down"),
        Binding("k", "cursor_up", show=False, id="choice.up"),
    ]

    def __init__(self, title: str, choices: list[str], default: str | None = None, body: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.default = default if default in choices else None
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = Content(visible(self.title_text))  # may name a runbook or regime
            if self.body is not None:  # a command or a warning: data, wrapped, never markup
                yield Static(Content(visible_lines(self.body)), id="body", classes="body")
            # Choices (runbook names, regimes) come from files: shown as data, not markup.
            yield OptionList(*[Option(plain(choice), id=choice) for choice in self.choices], id="choices")
            yield Label("enter choose · esc cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.default is not None:
            options.highlighted = self.choices.index(self.default)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


ROLE_KEYS = "↑/↓ role · enter assign · ctrl+d release · esc cancel"


class RoleChange(NamedTuple):
    """What the role prompt answers: `person` takes `role`, or (release) its holder gives it up."""

    role: str
    person: str
    release: bool = False


class RolePrompt(Prompt):
    """Every role with who holds it; the name is prefilled with who acts here (selected, so
    typing replaces it), so "assign me as commander" is `r` `enter`. ↑/↓ pick the role from
    the name field (no tabbing), ctrl+d releases the highlighted role's holder (as k9s
    deletes). The previous holder of a role that is assigned is released by the store."""

    BINDINGS = [
        # priority: the name field would take ↑/↓ (it scrolls); they move the role list instead.
        Binding("down", "role(1)", "Next role", priority=True, id="role.next"),
        Binding("up", "role(-1)", "Previous role", priority=True, id="role.previous"),
        # priority: the name field's own ctrl+d (delete right) would otherwise take the key.
        Binding("ctrl+d", "release", "Release role", priority=True, id="role.release"),
    ]

    def __init__(self, actor: str = "", held: dict[str, str] | None = None) -> None:
        super().__init__()
        self.actor = actor
        self.held = dict(held or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="role-dialog") as dialog:
            dialog.border_title = "Roles: assign or release"
            roles = OptionList(*[Option(self._row(role), id=role) for role in ROLES], id="role")
            roles.can_focus = False  # the name field keeps the keys; ↑/↓ move this list
            yield roles
            yield Input(value=self.actor, placeholder="person (name or handle)", id="person")
            yield Label(ROLE_KEYS, classes="hint", id="hint")

    def _row(self, role: str) -> Text:
        holder = self.held.get(role)
        label = Text(f"{ROLE_LABELS.get(role, role.replace('_', ' ')):<15}")
        # A holder's name is data (a teammate typed it): never markup.
        return label.append_text(plain(holder, style="bold") if holder else Text("unassigned", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#role", OptionList).highlighted = 0
        self.query_one("#person", Input).focus()  # focus selects the prefilled name: typing replaces it

    @property
    def role(self) -> str:
        return ROLES[self.query_one("#role", OptionList).highlighted or 0]

    def action_role(self, step: int) -> None:
        roles = self.query_one("#role", OptionList)
        roles.highlighted = ((roles.highlighted or 0) + step) % len(ROLES)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#person", Input).focus()  # a click picks the role; the name is still asked

    def action_release(self) -> None:
        holder = self.held.get(self.role)
        if holder is None:
            self.query_one("#hint", Label).update(
                f"Nobody holds {ROLE_LABELS.get(self.role, self.role)}; ↑/↓ to a held role to release it.")
            return
        self.dismiss(RoleChange(self.role, holder, release=True))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        person = event.value.strip()
        if not person:
            self.query_one("#hint", Label).update("Type who takes the role (esc to cancel).")
            return
        self.dismiss(RoleChange(self.role, person))

