"""Every key that works here, from the live bindings (so remapped keys show as remapped)."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

MOVES = [("j / ↓", "move down"), ("k / ↑", "move up"), ("ctrl+p", "command palette: every action by name")]


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("question_mark", "close", "Close", show=False, id="help.close_again"),
        Binding("q", "close", "Close", show=False, id="help.close_q"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        seen = set()
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            if not binding.description or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            table.add_row(self.app.get_key_display(binding), binding.description)
        for key, what in MOVES:
            table.add_row(key, what)
        with VerticalScroll(classes="dialog", id="help-dialog") as dialog:
            dialog.border_title = "Keys (esc closes)"
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
