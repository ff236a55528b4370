"""The `:` command line, as in k9s and vim: open any incident by its full or short id
(resolved and closed ones too), jump to a screen, or run an action of the screen beneath
by name (`:ack` in a war room).

The line checks what was typed before it closes: an id is looked up in a worker (the same
resolution as the CLI's, store/incident_ids.py) and a refusal stays on the line, one
sentence naming what is accepted, so a typo is fixed rather than retyped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label

from tui.plain import plain

if TYPE_CHECKING:
    from tui.app import CommandCenter

SCREENS = ("dashboard", "outbox", "reports", "actions", "help", "quit")
# Other words for a screen (vim's :q among them).
SCREEN_ALIASES = {"q": "quit", "home": "dashboard", "action-items": "actions", "report": "reports"}
# Words people reach for that name an existing action under another name. A status word
# opens the status picker, where the move is confirmed, rather than moving at once.
ACTION_ALIASES = {
    "resolve": "status", "close": "status", "monitor": "status", "monitoring": "status", "identified": "status",
    "acknowledge": "ack", "handover": "export", "roles": "role", "assign": "role", "logs": "collect_logs",
    "review": "post_incident", "pir": "post_incident", "rca": "post_incident", "sev+": "raise_severity",
    "sev-": "lower_severity", "severity": "raise_severity",
}
HINT = "an incident id (0118-001), dashboard, outbox, reports, actions, help, quit, or an action · esc closes"


@dataclass(frozen=True)
class Command:
    """What the line asks for: open an incident, go to a screen, or run an action there."""

    kind: str  # "incident", "screen" or "action"
    target: str  # the full incident id, the screen's name, or the action's name


def screen_actions(screen: Screen) -> dict[str, str]:
    """Every name an action of `screen` answers to (its binding id's last part, its action,
    its footer label), for the actions the screen offers now; the first name of each is the
    one the refusal lists. Its own bindings, even a key a focused list also uses (enter)."""
    names: dict[str, str] = {}
    for bindings in screen._bindings.key_to_bindings.values():
        for binding in bindings:
            action = binding.action
            if not binding.description or "." in action or screen.check_action(action, ()) is False:
                continue
            label = binding.description.lower().replace(" ", "_")
            for name in (binding.id.rsplit(".", 1)[-1] if binding.id else None, action, label):
                if name:
                    names.setdefault(name, action)
    return names


def offered_names(actions: dict[str, str]) -> list[str]:
    """One name per action (the first it answers to), to say what is accepted."""
    first: dict[str, str] = {}
    for name, action in actions.items():
        first.setdefault(action, name)
    return sorted(first.values())


class CommandLine(ModalScreen):
    """One line at the top: enter runs what was typed, esc closes."""

    DEFAULT_CSS = """
    CommandLine #command-box {
        width: 100%;
        height: auto;
        border: round $accent;
        background: $panel;
        padding: 0 1;
    }
    CommandLine #command {
        border: none;
        height: 1;
        padding: 0;
    }
    CommandLine #command-hint {
        color: $text-muted;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Close", id="command_line.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    @property
    def center(self) -> "CommandCenter":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box") as box:
            box.border_title = ":"
            yield Input(placeholder="command or incident id", id="command")
            yield Label(HINT, id="command-hint", markup=False)

    def on_mount(self) -> None:
        self.styles.align = ("center", "top")  # over the header, as k9s's prompt; not in the middle
        self.query_one("#command", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def refuse(self, sentence: str) -> None:
        """The reason stays on the line (the text too, to fix); it is data, never markup."""
        self.query_one("#command-hint", Label).update(plain(sentence))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from store.incident_ids import looks_like_incident_id

        text = event.value.strip().removeprefix(":").strip()
        if not text:
            self.dismiss(None)
            return
        if looks_like_incident_id(text):
            if self.center.store is None:
                self.refuse("The incident store is still opening; try again in a moment.")
                return
            self.find_incident(text)
            return
        word = text.lower()
        word = SCREEN_ALIASES.get(word, word)
        if word in SCREENS:
            self.dismiss(Command("screen", word))
            return
        actions = screen_actions(self.under)
        action = actions.get(word) or (ACTION_ALIASES.get(word) if ACTION_ALIASES.get(word) in actions.values()
                                       else None)
        if action is not None:
            self.dismiss(Command("action", action))
            return
        here = offered_names(actions)
        offered = f", or an action here ({', '.join(here)})" if here else ""
        self.refuse(f"Unknown command {text!r}; accepted: an incident id (INC-2024-0118-001 or 0118-001), "
                    f"{', '.join(SCREENS)}{offered}.")

    @work(thread=True, exclusive=True, group="command", exit_on_error=False)
    def find_incident(self, text: str) -> None:
        from store.incident_ids import resolve_incident_id
        from tui.screens.base import explain

        store = self.center.store
        try:
            with store.db.read() as session:
                incident_id = resolve_incident_id(session, text, store.now())
        except Exception as error:  # unknown, ambiguous, or the database: one sentence on the line
            self.app.call_from_thread(self.refuse, explain(error))
            return
        self.app.call_from_thread(self.dismiss, Command("incident", incident_id))


def carry_out(center: "CommandCenter", under: Screen, command: Command | None) -> None:
    """Do what the line asked for, on the screen it was opened over."""
    if command is None:
        return
    if command.kind == "incident":
        center.open_war_room(command.target)
    elif command.kind == "action":
        center.call_later(center.run_action, command.target, under)
    elif command.target == "quit":
        center.call_later(center.action_quit)
    elif command.target == "help":
        center.action_help()
    else:
        go_to(center, command.target)


def go_to(center: "CommandCenter", name: str) -> None:
    """The dashboard (every screen above it closed), or a store screen over this one."""
    from tui.screens.dashboard import DashboardScreen

    if name == "dashboard":
        while len(center.screen_stack) > 2 and not isinstance(center.screen, DashboardScreen):
            center.pop_screen()
        return
    if center.store_or_warn() is None:
        return
    from tui.screens.action_items import ActionItemsScreen
    from tui.screens.outbox import OutboxScreen
    from tui.screens.reports import ReportsScreen

    screen_class = {"outbox": OutboxScreen, "reports": ReportsScreen, "actions": ActionItemsScreen}[name]
    if not isinstance(center.screen, screen_class):
        center.push_screen(screen_class())
