"""The post-incident screen's panes: the root cause analysis and the review, rendered
from the read models of store.review_queries' read_rca / read_pir; the corrective actions
as a list."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from store.read_models.review import ActionItemRow, PirDetail, PostIncidentDetail, RcaDetail
from tui.formatting import SEVERITY_STYLE
from tui.plain import plain, plain_block, visible


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def _heading(text: str) -> Text:
    return Text(text, style="bold underline")


def _missing(text: str) -> Text:
    return Text(text, style="dim italic")


class PostIncidentBanner(Static):
    """One line: severity, id, title, duration and where the review stands."""

    detail: reactive[PostIncidentDetail | None] = reactive(None, layout=False)

    def render(self):
        d = self.detail
        if d is None:
            return Text("Loading…", style="dim")
        summary, review = d.rca.summary, d.pir.review
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {visible(summary.severity_id)} ", style=SEVERITY_STYLE.get(summary.severity_id, ""))
        line.append(f" {visible(summary.id)} ", style="bold")
        line.append(f"{visible(summary.duration)} · ")
        if review.held:
            line.append(f"review held {_when(review.held_at)}", style="bold green")
        elif review.scheduled_at:
            line.append(f"review {_when(review.scheduled_at)}", style="bold yellow")
        else:
            required = d.rca.incident.review_required
            line.append("REVIEW NOT SCHEDULED" if required else "no review scheduled",
                        style="bold red" if required else "dim")
        line.append(f" · {visible(summary.title)}")
        return line


class RootCausePane(Static):
    """The RCA template's sections: summary, root cause and details, factors, impact, audit."""

    detail: reactive[RcaDetail | None] = reactive(None, layout=True)

    def render(self):
        d = self.detail
        if d is None:
            return Text("Loading…", style="dim")
        summary, root, impact = d.summary, d.root_cause, d.impact_assessment
        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(ratio=1)
        # Every stored word is data (Text, escapes shown), never markup.
        facts.add_row("Severity", plain(f"{summary.severity} ({summary.severity_id})"))
        facts.add_row("Duration", plain(summary.duration))
        facts.add_row("Impact", plain_block(summary.impact) if summary.impact else _missing("not recorded (i)"))
        customers = impact.customers_affected
        facts.add_row("Customers", f"{customers:,}" if customers is not None else _missing("not recorded (u)"))
        facts.add_row("Cost", plain(impact.estimated_cost_text) if impact.estimated_cost is not None
                      else _missing(f"not estimated (e, {impact.currency})"))
        parts: list[Any] = [facts, Text(), _heading("Root cause")]
        parts.append(plain_block(root.summary) if root.determined else _missing("not determined yet (c)"))
        parts += [plain_block(f"• {text}") for text in root.details] or [_missing("no details yet (t)")]
        parts += [Text(), _heading("Contributing factors")]
        parts += [plain_block(f"{n}. {text}") for n, text in enumerate(d.contributing_factors, 1)] \
            or [_missing("none recorded yet (f)")]
        parts += [Text(), _heading("Timeline")]
        parts += [Text.assemble((visible(line.time), "bold"), f" - {visible(line.text)}") for line in d.timeline]
        audit = d.audit_trail
        parts += [Text(), plain(audit.text, style="green" if audit.ok else "bold red")]
        return Group(*parts)


class ReviewPane(Static):
    """The PIR: when, who, the agenda with its time boxes and notes, lessons learned."""

    detail: reactive[PirDetail | None] = reactive(None, layout=True)

    def render(self):
        d = self.detail
        if d is None:
            return Text("Loading…", style="dim")
        review = d.review
        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(ratio=1)
        facts.add_row("Scheduled", _when(review.scheduled_at) + " UTC" if review.scheduled_at
                      else _missing("not scheduled (w)"))
        facts.add_row("Held", Text(_when(review.held_at) + " UTC", style="green") if review.held
                      else _missing("not yet (h)"))
        facts.add_row("Facilitator", plain(review.facilitator) if review.facilitator else _missing("not named (g)"))
        facts.add_row("Attendees", plain(", ".join(review.attendees)) if review.attendees
                      else _missing("nobody yet (p)"))
        parts: list[Any] = [facts, Text(), _heading(f"Agenda ({d.total_minutes} min)")]
        for item in review.agenda:
            parts.append(Text.assemble((f"{item.number}. {visible(item.title)}", "bold"), f" ({item.minutes} min)"))
            parts.append(Padding(plain_block(item.notes) if item.notes else _missing("no notes yet (n)"), (0, 0, 0, 3)))
        parts += [Text(), _heading("Lessons learned")]
        parts += [plain_block(f"• {lesson}") for lesson in review.lessons_learned] or [_missing("none yet (l)")]
        return Group(*parts)


def action_item_prompt(item: ActionItemRow) -> Text:
    """"[x] [Immediate] Add alerting · alice · due 2024-01-25 · OPS-1", overdue loudly."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("[x] " if item.done else "[~] " if item.status == "in-progress" else "[ ] ")
    line.append(f"{item.id}. ", style="dim")
    line.append(f"[{visible(item.tag)}] ", style="bold cyan")
    line.append(visible(item.title), style="dim" if item.done else "")
    line.append(f" · {visible(item.owner or 'no owner')}", style="dim")
    if item.due_on:
        line.append(f" · due {item.due_on.isoformat()}")
    if item.overdue:
        line.append(" OVERDUE ", style="bold white on red")
    if item.ticket:
        line.append(f" · {visible(item.ticket)}", style="magenta")
    return line


class CorrectiveActions(OptionList):
    """The incident's action items; the highlighted one is what `d` marks done."""

    def show(self, items: tuple[ActionItemRow, ...]) -> None:
        highlighted = self.highlighted_item_id
        self.clear_options()
        if not items:
            self.add_option(Option(Text("No action items yet: a adds one.", style="dim"), id="none", disabled=True))
            return
        self.add_options([Option(action_item_prompt(item), id=f"item-{item.id}") for item in items])
        ids = [f"item-{item.id}" for item in items]
        self.highlighted = ids.index(f"item-{highlighted}") if highlighted is not None and f"item-{highlighted}" in ids else 0

    @property
    def highlighted_item_id(self) -> int | None:
        if self.highlighted is None or self.option_count == 0:
            return None
        option_id = self.get_option_at_index(self.highlighted).id or ""
        return int(option_id[5:]) if option_id.startswith("item-") else None
