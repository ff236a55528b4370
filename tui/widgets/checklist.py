"""The type's checklist grouped by phase, with each phase's time box; space ticks."""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.plain import visible


class Checklist(OptionList):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="checklist.down"),
        Binding("k", "cursor_up", "Up", show=False, id="checklist.up"),
    ]

    def show(self, detail: dict[str, Any]) -> None:
        highlighted = self.highlighted_option.id if self.highlighted_option is not None else None
        phases = {p["name"]: p for p in detail["phases"]}
        options: list[Option] = []
        current = None
        for step in detail["checklist"]:
            if step["phase"] != current:
                current = step["phase"]
                phase = phases.get(current, {"window": "", "done": 0, "total": 0, "overdue": False})
                heading = Text(f"{visible(current)} ", style="bold")
                heading.append(f"({visible(phase['window'])}) {phase['done']}/{phase['total']}", style="dim")
                if phase["overdue"]:
                    heading.append("  OVERDUE", style="bold red")
                options.append(Option(heading, id=f"phase-{len(options)}", disabled=True))
            mark = Text("[x] " if step["done"] else "[ ] ", style="green" if step["done"] else "")
            line = mark + Text(f"{step['number']:>2}. {visible(step['text'])}", style="dim" if step["done"] else "")
            options.append(Option(line, id=f"step-{step['number']}"))
        self.set_options(options)
        target = highlighted or next((o.id for o in options if not o.disabled), None)
        if target is not None:
            try:
                self.highlighted = self.get_option_index(target)
            except Exception:
                pass

    @property
    def highlighted_step(self) -> int | None:
        option = self.highlighted_option
        if option is None or not option.id or not option.id.startswith("step-"):
            return None
        return int(option.id.removeprefix("step-"))
