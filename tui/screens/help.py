"""Every key that works here now, from the live bindings (so remapped keys show as remapped,
and a key its screen does not offer yet, e.g. opening an incident when none is open, is
not listed)."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# The focused list's own keys: listed only while a list has the focus (none on an empty dashboard).
MOVES = [("j / ↓", "move down"), ("k / ↑", "move up"), ("enter", "open the selected incident")]
PALETTE = ("ctrl+p", "command palette: every action by name")
# Longer words for the footer's short labels.
MEANING = {
    "tick": "tick / untick the highlighted checklist step", "note": "add a note to the timeline",
    "update": "compose and post a status update", "ack": "acknowledge the incident",
    "status": "move status: investigating, identified, monitoring, resolved, closed",
    "raise_severity": "raise severity (towards SEV-1)", "lower_severity": "lower severity (towards SEV-4)",
    "role": "assign a role (commander, comms, ops, scribe, ...)", "remediate": "start a remediation action",
    "runbook": "run a response action (you confirm the exact command)",
    "collect_logs": "collect this incident's logs as evidence (SHA-256 on the timeline)",
    "export": "handover snapshot: SVG of the war room + Markdown", "back": "back to the dashboard",
    "compliance": "exposed data and regulatory clocks (security and data incidents)",
    "mark_exposed": "mark the selected data classes exposed; starts their regimes' clocks",
    "mark_met": "record the highlighted obligation met, by you, now", "aware_at": "set when you became aware",
    "declare": "declare a new incident", "quit": "quit", "help": "this list of keys", "open": "open the war room",
    "reports": "monthly report: figures, weekly incidents by severity, MTTx by month",
    "previous_month": "the month before", "next_month": "the month after",
    "post_incident": "after the incident: root cause analysis, post-incident review, corrective actions",
    "action_items": "every open and overdue action item across incidents",
    "root_cause": "set the root cause", "detail": "add a root cause detail", "factor": "add a contributing factor",
    "impact": "describe the impact", "customers": "customers affected", "cost": "estimated cost",
    "schedule": "schedule the review (UTC)", "attendee": "add a review attendee", "facilitator": "name the facilitator",
    "agenda_note": "notes for an agenda item (1-5)", "lesson": "add a lesson learned",
    "held": "mark the review held now (SEV-1/2 close after it)", "add_item": "add an action item (category, owner, due)",
    "toggle_done": "mark the highlighted action item done (again: reopen)", "ticket": "make the action item a Jira ticket",
    "open_incident": "open the action item's incident", "toggle_all": "show or hide done action items",
    "outbox": "notifications sent, waiting and failed; retry failed ones",
    "retry": "send the highlighted failed message again", "retry_all": "send every failed message shown again",
    "filter": "show all, waiting or failed messages",
    "go_back": "back one screen (on the dashboard q quits)", "interrupt": "press twice to quit from anywhere",
    "command_line": "open an incident by id (0118-001), go to a screen, or run an action by name",
    "filter_incidents": "filter the list by id, title, service, severity or status (esc clears)",
    "toggle_history": "list resolved and closed incidents too (again: open only)",
    "clear_filter": "clear the filter",
    "timeline": "read the timeline: every event, scroll back to the first, enter shows one in full",
    "cycle_filter": "timeline: next kind (all, notes, updates, status, automation)",
    "filter('all')": "timeline: every event", "filter('notes')": "timeline: notes only",
    "filter('updates')": "timeline: status updates only",
    "filter('status')": "timeline: status, severity, role and checklist changes only",
    "filter('automation')": "timeline: what automation did (escalations, alerts, evidence)",
    "leave": "back to the checklist", "first": "the first (oldest) event", "last": "the newest event",
    "similar": "similar past incidents: their root cause and corrective actions (enter opens one)",
    "summary": "pin the current summary and next steps (shown at the top; in the handover)",
}


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
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            # The screen's and the app's keys; the focused list's own scrolling keys are in MOVES.
            # The focused widget's own keys too (the timeline's filters), but not its moves (MOVES below).
            focused_own = (active.node is self.under.focused and binding.id is not None
                           and not binding.action.startswith("cursor_"))
            if (not binding.description or active.node not in (self.under, self.app) and not focused_own
                    or not active.enabled):
                continue
            if binding.action.startswith(("app.", "screen.")):  # Textual's focus/copy keys: not ours to list
                continue
            meaning = MEANING.get(binding.action, binding.description.lower())
            table.add_row(self.app.get_key_display(binding), f"{binding.description}: {meaning}")
        if self.under.focused is not None:
            for key, what in MOVES:
                table.add_row(key, what)
        table.add_row(*PALETTE)
        with VerticalScroll(classes="dialog", id="help-dialog") as dialog:
            dialog.border_title = "Keys (esc closes)"
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
