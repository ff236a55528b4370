"""The type's checklist grouped by phase, with each phase's time box; space ticks."""
from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.plain import visible

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail


# What the list shows of a phase and a step. Mutable on purpose, unlike the read model they
# are copied from: a tick is painted (and its phase counted) before the store has it.
@dataclass
class ShownPhase:
    window: str = ""
    done: int = 0
    total: int = 0
    overdue: bool = False


@dataclass
class ShownStep:
    number: int
    phase: str
    text: str
    done: bool


def _heading(name: str, phase: ShownPhase) -> Text:
    heading = Text(f"{visible(name)} ", style="bold")
    heading.append(f"({visible(phase.window)}) {phase.done}/{phase.total}", style="dim")
    if phase.overdue:
        heading.append("  OVERDUE", style="bold red")
    return heading


def _step_line(step: ShownStep) -> Text:
    mark = Text("[x] " if step.done else "[ ] ", style="green" if step.done else "")
    return mark + Text(f"{step.number:>2}. {visible(step.text)}", style="dim" if step.done else "")


class Checklist(OptionList):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="checklist.down"),
        Binding("k", "cursor_up", "Up", show=False, id="checklist.up"),
    ]

    # What the list shows now (phases by name, steps by number): show() rebuilds only when
    # the incident's checklist differs from it, and mark() changes one row of it.
    _phases: dict[str, ShownPhase] = {}
    _steps: dict[int, ShownStep] = {}
    _heading_ids: dict[str, str] = {}
    # Ticks painted but not yet committed (step number -> done): a reload that lands before
    # the write commits shows them as the person left them, not as the store had them.
    _pending: dict[int, bool] = {}

    def _shown(self) -> tuple:
        return (tuple((name, astuple(phase)) for name, phase in self._phases.items()),
                tuple((number, astuple(step)) for number, step in self._steps.items()))

    def show(self, detail: IncidentDetail) -> None:
        # The list's own state (what it paints and counts while a tick is pending), copied
        # from the read model so mark() can change it.
        known = {p.name: p for p in detail.phases}
        phases: dict[str, ShownPhase] = {}
        steps: dict[int, ShownStep] = {}
        for step in detail.checklist:
            if step.phase not in phases:
                phase = known.get(step.phase)
                phases[step.phase] = (ShownPhase(phase.window, phase.done, phase.total, phase.overdue)
                                      if phase is not None else ShownPhase())
            steps[step.number] = ShownStep(step.number, step.phase, step.text, step.done)
        for number, done in self._pending.items():
            step = steps.get(number)
            if step is not None and step.done != done:
                step.done = done
                phases[step.phase].done += 1 if done else -1
        before = self._shown()
        self._phases, self._steps = phases, steps
        if self.option_count and self._shown() == before:
            return  # nothing on the list changed (a note, a role, our own tick already marked): keep every row
        highlighted = self.highlighted_option.id if self.highlighted_option is not None else None
        scrolled = self.scroll_y
        options: list[Option] = []
        self._heading_ids = {}
        current = None
        for step in steps.values():
            if step.phase != current:
                current = step.phase
                self._heading_ids[current] = f"phase-{len(options)}"
                options.append(Option(_heading(current, phases[current]), id=self._heading_ids[current],
                                      disabled=True))
            options.append(Option(_step_line(step), id=f"step-{step.number}"))
        self.set_options(options)  # (which scrolls to the top: the reader's place is put back below)
        self.scroll_to(y=scrolled, animate=False, immediate=True)
        target = highlighted or next((o.id for o in options if not o.disabled), None)
        if target is not None:
            try:
                self.highlighted = self.get_option_index(target)
            except Exception:
                pass

    def mark(self, number: int, done: bool) -> None:
        """Show step `number` ticked (or not) at once, and its phase's count, before the
        write is committed: a tick is painted within its keypress. Then committed() once the
        store took it, or refused() to put the row back."""
        if number in self._steps:
            self._pending = {**self._pending, number: done}
            self._paint(number, done)

    def committed(self, number: int) -> None:
        """The store took the tick; the reload that follows shows what it holds."""
        self._pending = {n: d for n, d in self._pending.items() if n != number}

    def refused(self, number: int) -> None:
        """The store refused the tick: the row goes back to what it showed before."""
        done = self._pending.get(number)
        self.committed(number)
        if done is not None:
            self._paint(number, not done)

    def _paint(self, number: int, done: bool) -> None:
        step = self._steps[number]
        if step.done == done:
            return
        step.done = done
        self.replace_option_prompt(f"step-{number}", _step_line(step))
        phase = self._phases.get(step.phase)
        if phase is not None:
            phase.done += 1 if done else -1
            self.replace_option_prompt(self._heading_ids[step.phase], _heading(step.phase, phase))

    def is_done(self, number: int) -> bool | None:
        """Whether step `number` is shown ticked (None: no such step on the list)."""
        step = self._steps.get(number)
        return None if step is None else step.done

    @property
    def highlighted_step(self) -> int | None:
        option = self.highlighted_option
        if option is None or not option.id or not option.id.startswith("step-"):
            return None
        return int(option.id.removeprefix("step-"))
