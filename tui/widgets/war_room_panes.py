"""The war room's banner and side pane, rendered from the incident detail (the timeline: widgets/timeline.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.formatting import SEVERITY_STYLE, countdown, countdown_with_deadline, is_overdue
from tui.plain import first_line, plain, visible

if TYPE_CHECKING:
    from playbooks.config import Configuration
    from store.read_models.incident import IncidentDetail, RemediationEntry


@dataclass(frozen=True)
class NotificationReach:
    """Whom this installation can tell: the integrations config.toml enables, and for each
    comms-matrix group the integrations that carry it. Read once when the war room opens
    (the configuration is read once at the door)."""

    enabled: frozenset[str] = frozenset()
    carriers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def reaches(self, group: str) -> bool:
        """False when none of the group's integrations is configured here (an unknown group: True)."""
        carriers = self.carriers.get(group)
        return carriers is None or bool(self.enabled & set(carriers))

    def escalates(self, severity: str, groups: list[str]) -> bool:
        """Whether an unacknowledged incident of `severity` escalates to anyone: only SEV-1/2
        escalate (automation/escalation.py), through the outbox to the severity's groups."""
        return severity in escalating() and any(self.reaches(group) for group in groups)


def escalating() -> tuple[str, ...]:
    """The severities automation/escalation.py escalates (imported late: it brings the ORM,
    and the war room's module may load before the store has opened)."""
    from automation.escalation import ESCALATING

    return ESCALATING


def notification_reach(configuration: "Configuration", policy: Any | None) -> NotificationReach:
    carriers = {g.name: tuple(g.integrations) for g in policy.comms.groups} if policy is not None else {}
    return NotificationReach(frozenset(configuration.integrations.configured()), carriers)


def _reach_of(widget) -> NotificationReach:
    """The reach of the app a widget is in (the command center, or none in a bare test app)."""
    configuration = getattr(widget.app, "configuration", None)
    if configuration is None:
        return NotificationReach()
    store = getattr(widget.app, "store", None)
    return notification_reach(configuration, store.policy if store is not None else None)


def _hhmm(moment: datetime | None) -> str:
    return f"{moment:%H:%M}" if moment else "-"


class IncidentBanner(Static):
    """Two lines: who/what/where/status, then the clocks that matter."""

    detail: reactive[IncidentDetail | None] = reactive(None, layout=False)
    now: reactive[datetime | None] = reactive(None, layout=False)

    def render(self):
        d = self.detail
        if d is None:
            return Text("Loading…", style="dim")
        now = self.now or datetime.utcnow()
        policy = d.policy
        top = Text()
        # Stored words are appended as data, every unprintable character escaped.
        top.append(f" {visible(d.severity)} ", style=SEVERITY_STYLE.get(d.severity, ""))
        top.append(f" {visible(d.id)} ", style="bold")
        top.append(f"{visible(d.type)} · {visible(d.environment)} · ")
        top.append(visible(d.status).upper(), style="bold cyan")
        top.append(f" · {visible(d.title)}")
        bottom = Text(" ")
        # Every clock with its units and sign ("14:57" read as a time of day), and the time it
        # falls due where there is room; under 100 columns the warnings come before the deadlines.
        roomy = self.size.width >= 100
        clock = countdown_with_deadline if roomy else countdown
        if d.acknowledged_at is None and d.status not in ("resolved", "closed"):
            due = policy.response_due_at
            bottom.append(f"ACK DUE {clock(due, now)}",
                          style="bold red reverse" if is_overdue(due, now) else "bold yellow")
        else:
            bottom.append(f"ack'd {_hhmm(d.acknowledged_at)}", style="green")
        due = policy.next_update_due_at
        if due is not None:
            bottom.append("  UPDATE DUE ")
            bottom.append(clock(due, now), style="bold red reverse" if is_overdue(due, now) else "bold")
        bottom.append("  ·  ", style="dim")
        bottom.append_text(self._escalation(d))
        bottom.append(f"  ·  updates every {visible(policy.update_cadence)}", style="dim")
        top.no_wrap = bottom.no_wrap = True
        top.overflow = bottom.overflow = "ellipsis"
        return Group(top, bottom)

    reach: NotificationReach | None = None

    def on_mount(self) -> None:
        self.reach = _reach_of(self)

    def _escalation(self, d: IncidentDetail) -> Text:
        """The policy's escalation, promised only when something here would carry it."""
        groups = [g.group for g in d.policy.stakeholders]
        if d.severity in escalating() and not (self.reach or NotificationReach()).escalates(d.severity, groups):
            return Text("escalates to nobody: no notifications", style="bold yellow")
        return Text(visible(d.policy.escalation), style="dim")


ROLE_LABELS = {"incident_commander": "commander", "communications_lead": "comms lead",
               "operations_lead": "ops lead", "scribe": "scribe", "security_lead": "security lead", "liaison": "liaison"}
ALWAYS_SHOWN = ("incident_commander", "communications_lead", "operations_lead")


class SidePane(Static):
    """Roles, who must be told (comms matrix for this severity), updates, remediation."""

    detail: reactive[IncidentDetail | None] = reactive(None, layout=True)
    reach: NotificationReach | None = None
    actor = ""

    def on_mount(self) -> None:
        self.reach = _reach_of(self)
        self.actor = getattr(self.app, "actor", "")

    def render(self):
        d = self.detail
        if d is None:
            return Text("")
        reach = self.reach or NotificationReach()
        parts = []
        roles = Table.grid(padding=(0, 1), expand=True)
        roles.add_column(no_wrap=True, style="dim")
        roles.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        held = d.held_roles
        for role, label in ROLE_LABELS.items():
            if role in held or role in ALWAYS_SHOWN:
                roles.add_row(label, plain(held.get(role, "unassigned"), style="bold" if role in held else "red"))
        # Who this keyboard acts as (a shared jump-host account says nothing about it).
        heading = Text.assemble(("Roles", "bold underline"), ("  you: ", "dim"), plain(self.actor, style="bold"))
        heading.no_wrap, heading.overflow = True, "ellipsis"
        parts += [heading if self.actor else Text("Roles", style="bold underline"), roles, Text("")]
        parts.append(Text("Stakeholders", style="bold underline"))
        told = {n.group: n for n in d.notifications}
        rows = []
        for group in d.policy.stakeholders:
            state = told.get(group.group)
            if state is None and not reach.reaches(group.group):  # nothing here could tell them
                status = Text("not configured", style="bold red")
            elif state is None:
                status = Text("not yet", style="yellow")
            elif state.state == "sent":
                status = Text(f"sent {_hhmm(state.last_sent_at)}", style="green")
            elif state.state == "pending":
                status = Text(f"{state.pending} waiting", style="yellow")
            elif state.state == "skipped":  # nobody was told, on purpose: say why in a word
                reason = (state.skip_reasons or ("skipped",))[0].split(":", 1)[0]
                status = Text(f"skipped ({visible(reason)})", style="dim")
            else:
                status = Text(f"{state.failed} failed", style="bold red")
            rows.append((plain(group.group), status, plain(group.channel)))
        if self.size.width < 40:  # an 80-column terminal: the channel is in the comms matrix
            parts += stakeholders_by_state(rows)
        else:
            groups = Table.grid(padding=(0, 1), expand=True)
            # The state is never cut ("not config…" says nothing): the channel gives way first.
            groups.add_column(no_wrap=True, overflow="ellipsis", min_width=15)
            groups.add_column(no_wrap=True, width=max([9] + [row[1].cell_len for row in rows]))
            groups.add_column(no_wrap=True, overflow="ellipsis", style="dim", ratio=1)
            for row in rows:
                groups.add_row(*row)
            parts.append(groups)
        parts.append(Text(""))
        parts.append(Text("Status updates", style="bold underline"))
        for update in d.status_updates[-3:]:
            parts.append(Text.assemble((_hhmm(update.posted_at) + " ", "bold"), first_line(update.message)))
        if not d.status_updates:
            parts.append(Text("none yet (u to post)", style="dim"))
        parts.append(Text(f"next due {_hhmm(d.policy.next_update_due_at)} UTC", style="dim"))
        parts += remediation_lines(d.remediation)
        return Group(*parts)


def stakeholders_by_state(rows: list[tuple[Text, Text, Text]]) -> list[Text]:
    """The stakeholder groups under their state, for a side pane too narrow for a name and
    a state on one line: each state once ("not configured", "sent 14:02"), then the groups
    in it, whole (a long name wraps; the state is never cut)."""
    by_state: dict[str, tuple[Text, list[Text]]] = {}
    for name, status, _channel in rows:
        by_state.setdefault(status.plain, (status, []))[1].append(name)
    lines = []
    for status, names in by_state.values():
        lines.append(status)
        lines += [Text.assemble("  ", name) for name in names]
    return lines


SHOWN_FINISHED = 3  # remediation that ended: the latest few, with their outcome


def remediation_lines(actions: tuple[RemediationEntry, ...]) -> list[Text]:
    """What is running (m ends it: done or cancelled) and how the latest ones ended."""
    running = [a for a in actions if a.finished_at is None]
    ended = sorted((a for a in actions if a.finished_at is not None),
                   key=lambda a: (a.finished_at, a.id))[-SHOWN_FINISHED:]
    if not running and not ended:
        return []
    heading = Text.assemble(("Remediation", "bold underline"), ("  m to end" if running else "", "dim"))
    lines = [Text(""), heading]
    lines += [Text(f"#{a.id} {visible(a.description)} (since {_hhmm(a.started_at)})") for a in running]
    for a in ended:
        outcome = str(a.outcome or "done")
        cancelled = outcome == "cancelled" or outcome.startswith("cancelled: ")
        word, why = ("cancelled", outcome[len("cancelled: "):]) if cancelled else ("done", outcome)
        line = Text.assemble(f"#{a.id} {visible(a.description)} · ", (word, "yellow" if cancelled else "green"))
        if why and why != word:
            line.append(f": {visible(why)}")
        line.append(f" ({_hhmm(a.finished_at)})", style="dim")
        lines.append(line)
    return lines

