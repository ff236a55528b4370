"""Compliance for one security or data incident: mark what data was exposed, see the
regimes it brings in with their requirements and who must be notified, watch each
obligation's clock count down from awareness, and record when one was met (by you, now).

The regimes are the policy's (compliance.toml): configurable, not legal advice; the
screen says so.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer, SelectionList, Static
from textual.widgets.selection_list import Selection

from playbooks.clock import iso_z
from playbooks.schema import DATA_CLASSES
from tui.plain import plain, plain_block, visible
from tui.screens.base import IncidentScreen
from tui.widgets.compliance_clocks import obligation_state

if TYPE_CHECKING:
    from store.read_models.incident import ComplianceObligation


def _short(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


class ObligationList(Widget, can_focus=True):
    """One line per obligation with its countdown; j/k move; the screen's m marks it met."""

    BINDINGS = [
        Binding("j,down", "move(1)", "Down", show=False, id="compliance.obligations.down"),
        Binding("k,up", "move(-1)", "Up", show=False, id="compliance.obligations.up"),
    ]
    DEFAULT_CSS = """
    ObligationList {
        height: auto;
        min-height: 1;
    }
    """

    cursor: reactive[int] = reactive(0)
    now: reactive[datetime | None] = reactive(None, layout=False)

    class Moved(Message):
        """The highlighted obligation changed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.obligations: tuple[ComplianceObligation, ...] = ()

    def show(self, obligations: tuple[ComplianceObligation, ...], now: datetime) -> None:
        self.obligations = tuple(obligations)
        self.cursor = min(self.cursor, max(0, len(self.obligations) - 1))
        self.now = now
        self.refresh(layout=True)

    @property
    def highlighted(self) -> ComplianceObligation | None:
        return self.obligations[self.cursor] if self.obligations else None

    def action_move(self, step: int) -> None:
        if self.obligations:
            self.cursor = (self.cursor + step) % len(self.obligations)
            self.post_message(self.Moved())

    def render(self):
        if not self.obligations:
            return Text("No clock runs yet: select the exposed data and press e.", style="dim")
        now = self.now or datetime.utcnow()
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True, width=1)
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis", style="dim", ratio=1)
        for index, o in enumerate(self.obligations):
            mine = index == self.cursor
            grid.add_row(Text("›" if mine else " ", style="bold cyan"), Text(o.regime, style="reverse" if mine and self.has_focus else ""),
                         obligation_state(o, now), plain(o.name))
        return grid


class ComplianceScreen(IncidentScreen):
    DEFAULT_CSS = """
    #compliance-head {
        height: 2;
        background: $panel;
    }
    #compliance-body {
        height: auto;
    }
    #exposure-pane {
        width: 1fr;
        height: auto;
        padding: 0;
    }
    #data-classes {
        height: auto;
        border: none;
        padding: 0;
    }
    #obligations-pane {
        width: 1fr;
        height: 100%;
    }
    #requirements-pane {
        height: 1fr;
        min-height: 5;
    }
    #disclaimer {
        height: auto;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="compliance.back"),
        Binding("e", "mark_exposed", "Mark exposed", id="compliance.mark_exposed"),
        Binding("m", "mark_met", "Met", id="compliance.met"),
        Binding("w", "aware_at", "Aware at", id="compliance.aware_at"),
    ]

    def __init__(self, incident_id: str) -> None:
        super().__init__(incident_id)
        self.aware_at: datetime | None = None  # None: the incident's detection

    def compose(self) -> ComposeResult:
        yield Static(id="compliance-head")
        with Horizontal(id="compliance-body"):
            with Vertical(id="exposure-pane", classes="pane") as pane:
                pane.border_title = "Data exposed"
                yield SelectionList[str](id="data-classes")
            with Vertical(id="obligations-pane", classes="pane") as pane:
                pane.border_title = "Obligations"
                yield ObligationList(id="obligations")
        with VerticalScroll(id="requirements-pane", classes="pane") as pane:
            pane.border_title = "Requirements"
            yield Static(id="requirements")
        yield Static(id="disclaimer", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        policy = self.center.store.policy
        self.query_one("#disclaimer", Static).update(plain_block(policy.compliance.disclaimer))  # a file's words: data
        self.query_one(SelectionList).focus()
        self.load()

    def on_incident_screen_loaded(self, message: IncidentScreen.Loaded) -> None:
        d = self.detail = message.detail
        self.incident_id = d.id
        now = self.center.clock()
        self._show_head()
        marked = {e.data_class: e for e in d.data_exposed}
        policy = self.center.store.policy.compliance
        classes = self.query_one(SelectionList)
        highlighted = classes.highlighted
        pending = set(classes.selected) - set(marked)  # a selection not yet marked survives a reload
        classes.clear_options()
        for cls in DATA_CLASSES:
            prompt = Text(f"{cls:<18}", style="bold" if cls in marked else "", no_wrap=True, overflow="ellipsis")
            prompt.append(f"{' '.join(r.id for r in policy.regimes_for([cls])):<13} ", style="cyan")
            if cls in marked:
                prompt.append(f"marked {marked[cls].marked_at:%H:%M} by {visible(marked[cls].marked_by)}", style="dim")
            classes.add_option(Selection(prompt, cls, cls in marked or cls in pending, id=cls))
        classes.highlighted = highlighted if highlighted is not None else 0
        self.query_one(ObligationList).show(d.compliance, now)
        running = sum(1 for o in d.compliance if o.met_at is None)
        self.query_one("#obligations-pane").border_title = f"Obligations ({running} running)"
        self._show_requirements()

    def _show_head(self) -> None:
        d = self.detail
        head = Text()
        head.append(f" {visible(d.id)} ", style="bold")
        head.append(f"{visible(d.severity)} {visible(d.type)} · {visible(d.environment)} · {visible(d.title)}\n")
        if self.aware_at is None:
            head.append(f" Aware since {_short(d.detected_at)} (detection)", style="dim")
        else:
            head.append(f" Aware since {self.aware_at:%Y-%m-%d %H:%M} UTC (yours, for the next marking)", style="yellow")
        head.append("  ·  w changes it", style="dim")
        head.no_wrap, head.overflow = True, "ellipsis"
        self.query_one("#compliance-head", Static).update(head)

    def _show_requirements(self) -> None:
        """The focused list decides: the highlighted obligation, or what the highlighted
        data class brings in."""
        if self.detail is None:
            return
        policy = self.center.store.policy
        running = {o.regime: o for o in self.detail.compliance}
        obligations = self.query_one(ObligationList)
        if obligations.has_focus and obligations.highlighted is not None:
            regimes = [r for r in policy.compliance.regimes if r.id == obligations.highlighted.regime]
            heading = None
        else:
            cls = self.query_one(SelectionList).highlighted
            value = self.query_one(SelectionList).get_option_at_index(cls).value if cls is not None else None
            regimes = policy.compliance.regimes_for([value]) if value else []
            mark = next((e for e in self.detail.data_exposed if e.data_class == value), None)
            heading = Text(f"{value} ", style="bold") if value else None
            if heading is not None:
                heading.append(f"(marked exposed {_short(mark.marked_at)} by {visible(mark.marked_by)}) " if mark
                               else "(not marked) ", style="dim")
                heading.append("brings in:", style="bold")
        parts: list = [heading] if heading else []
        now = self.center.clock()
        for regime in regimes:
            title = Text(f"{regime.id}  ", style="bold cyan")
            title.append(f"{regime.name}  ", style="bold")
            state = running.get(regime.id)
            if state is not None:
                title.append_text(obligation_state(state, now))
            parts.append(title)
            parts.append(Text(regime.deadline_text + (f" (due {_short(state.due_at)})" if state else ""),
                              style="italic"))
            parts += [Text(f"• {item}") for item in regime.requires]
            parts.append(Text(f"Notify: {', '.join(regime.notify)}", style="dim"))
            if state is not None and state.note:
                parts.append(plain_block(f"Note: {state.note}", style="dim"))
            parts.append(Text(""))
        self.query_one("#requirements", Static).update(Group(*parts) if parts else Text(""))

    def on_selection_list_selection_highlighted(self, _event) -> None:
        self._show_requirements()

    def on_obligation_list_moved(self, _event) -> None:
        self._show_requirements()

    def on_descendant_focus(self, _event) -> None:
        self._show_requirements()

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled) -> None:
        cls = event.selection.value
        if self.detail and cls in {e.data_class for e in self.detail.data_exposed} \
                and cls not in event.selection_list.selected:
            event.selection_list.select(cls)  # the timeline has it; a mark is not taken back
            self.notify(f"{cls} is marked exposed on the timeline; a mark is not taken back.", severity="warning")

    def store_changed(self, incident_ids: set[str | None]) -> None:
        if self.incident_id in incident_ids:
            self.load()

    def tick(self) -> None:
        for obligations in self.query(ObligationList):
            obligations.now = self.center.clock()

    # -- actions ----------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss(None)

    def action_mark_exposed(self) -> None:
        if self.detail is None:
            return
        from store.compliance import mark_exposure

        marked = {e.data_class for e in self.detail.data_exposed}
        new = [cls for cls in self.query_one(SelectionList).selected if cls not in marked]
        if not new:
            self.notify("Select the exposed data first (space), then press e.", severity="warning")
            return
        store, actor, incident_id, aware_at = self.center.store, self.center.actor, self.incident_id, self.aware_at
        self.write(lambda: mark_exposure(store, incident_id, new, actor=actor, aware_at=aware_at),
                   f"Marked exposed: {', '.join(new)}")

    def action_mark_met(self) -> None:
        obligation = self.query_one(ObligationList).highlighted
        if obligation is None:
            self.notify("No obligation yet: mark the exposed data first (space, then e).", severity="warning")
            return
        regime = obligation.regime
        if obligation.met_at:
            self.notify(f"{regime} was met {_short(obligation.met_at)} by {obligation.met_by}.",
                        severity="warning")
            return
        from tui.screens.prompts import ChoicePrompt, TextPrompt

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id

        def met(note: str | None = None) -> None:
            from store.compliance import mark_obligation_met

            self.write(lambda: mark_obligation_met(store, incident_id, regime, actor=actor, note=note),
                       f"{regime} met, recorded for {actor}")

        def answered(choice: str | None) -> None:
            if choice == "Mark met":
                met()
            elif choice == "Mark met with a note":
                self.app.push_screen(TextPrompt(f"{regime} met: note", "e.g. the regulator's reference"),
                                     lambda note: met(note) if note else None)

        self.app.push_screen(ChoicePrompt(f"{regime}: notification made? Recorded as {actor}, now",
                                          ["Mark met", "Mark met with a note", "Cancel"]), answered)

    def action_aware_at(self) -> None:
        if self.detail is None:
            return
        from playbooks.errors import PolicyValueError
        from store.compliance import parse_aware_at
        from tui.screens.prompts import TextPrompt

        current = self.aware_at.isoformat(timespec="minutes") + "Z" if self.aware_at else iso_z(self.detail.detected_at)

        def chosen(text: str | None) -> None:
            if not text:
                return
            try:
                self.aware_at = parse_aware_at(text)
            except PolicyValueError as exc:
                self.notify(str(exc), severity="warning", timeout=8)
                return
            self._show_head()

        self.app.push_screen(TextPrompt("When did you become aware? (UTC, ISO 8601)", "2024-01-15T14:30Z",
                                        value=current), chosen)
