"""The baseline for the command center's start-up, and for its keypress-to-painted: the
smallest Textual app that paints, and whose `space` flips one line between "[ ]" and "[x]"
(the same change on screen as a tick, with nothing behind it)."""
from textual.app import App, ComposeResult
from textual.widgets import Static


class Minimal(App):
    BINDINGS = [("space", "flip", "Flip")]

    def compose(self) -> ComposeResult:
        yield Static("minimal app ready")
        yield Static("[ ]  1. step", id="step", markup=False)

    def action_flip(self) -> None:
        step = self.query_one("#step", Static)
        done = str(step.content).startswith("[x]")
        step.update("[ ]  1. step" if done else "[x]  1. step")


if __name__ == "__main__":
    Minimal().run()
