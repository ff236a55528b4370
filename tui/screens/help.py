"""Every key that works here now, from the live bindings of the screen help was opened
over (so remapped keys show as remapped, and a key its screen does not offer yet, e.g.
opening an incident when none is open, or one read-only mode refuses, is not listed):
that screen's keys, the focused list's, then the app-wide ones, each binding once."""
from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# The focused list's moves (its own cursor bindings, listed as one pair), and what enter does
# in each list that does something with it.
MOVES = [("j / ↓", "move down"), ("k / ↑", "move up")]
ENTER = {"IncidentTable": "open the selected incident", "Timeline": "show the highlighted event in full"}
SCREEN_NAMES = {
    "DashboardScreen": "Dashboard", "WarRoomScreen": "War room", "PostIncidentScreen": "Post-incident",
    "ReportsScreen": "Reports", "ComplianceScreen": "Compliance", "OutboxScreen": "Outbox",
    "ActionItemsScreen": "Action items", "OnCallScreen": "On call",
}
LIST_NAMES = {"IncidentTable": "Incident list", "Checklist": "Checklist", "Timeline": "Timeline",
              "CorrectiveActions": "Corrective actions"}
WIDE = 120  # from this many columns, each key's binding id (the keymap's name) is shown too
# Longer words for the footer's short labels.
MEANING = {
    "tick": "tick / untick the highlighted checklist step", "note": "add a note to the timeline",
    "update": "compose and post a status update", "ack": "acknowledge the incident",
    "status": "move status: investigating, identified, monitoring, resolved, closed",
    "raise_severity": "raise severity (towards SEV-1)", "lower_severity": "lower severity (towards SEV-4)",
    "role": "assign a role (commander, comms, ops, scribe, ...)",
    "remediate": "start a remediation, or end a running one: done (outcome) or cancelled",
    "runbook": "run a response action (you confirm the exact command)",
    "collect_logs": "collect this incident's logs as evidence (SHA-256 on the timeline)",
    "export": "handover snapshot: SVG of the war room + Markdown", "back": "back to the screen before",
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
    "go_back": "back one screen (on the dashboard q quits)",
    "interrupt": "press twice to quit from anywhere",
    "command_palette": "command palette: this screen's actions and the open incidents, by name",
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
    # The declare form: the severity, type and environment from any field, the title included.
    **{f"severity({n})": "pick this severity (works while typing the title)" for n in range(1, 5)},
    "cycle('type')": "the next incident type", "cycle('environment')": "the next environment",
    "submit": "page and start the clocks of the chosen severity",
    # The role prompt.
    "role(1)": "the next role", "role(-1)": "the previous role",
    "release": "the highlighted role's holder steps down (on the timeline)",
}


@dataclass
class KeyRow:
    keys: list[str]
    label: str
    binding_id: str = ""


@dataclass
class KeySection:
    title: str
    rows: list[KeyRow] = field(default_factory=list)


def key_sections(under: Screen) -> list[KeySection]:
    """The keys that work on `under` now, grouped: its own, the focused list's, app-wide.
    A binding with several keys (`[` and `←`) is one row; so is one action on the screen
    and app-wide under the same name (the dashboard's q and ctrl+q, both Quit)."""
    app = under.app
    focused = under.focused
    screen = KeySection(SCREEN_NAMES.get(type(under).__name__, "This screen"))
    focused_list = KeySection(LIST_NAMES.get(type(focused).__name__, "The list"))
    everywhere = KeySection("Everywhere")
    rows: dict[tuple[str, str], KeyRow] = {}
    for key, active in under.active_bindings.items():
        binding, node = active.binding, active.node
        if not active.enabled or not binding.description:
            continue
        if binding.action.startswith(("app.", "screen.")):  # Textual's focus/copy keys: not ours to list
            continue
        if node is under:
            section = screen
        elif node is app:
            section = everywhere
        elif node is focused and binding.id is not None and not binding.action.startswith("cursor_"):
            section = focused_list  # the focused widget's own keys (the timeline's filters); moves are MOVES
        else:
            continue
        display = app.get_key_display(binding)
        row = rows.get((binding.action, binding.description))
        if row is not None:
            if display not in row.keys:
                row.keys.append(display)
            if binding.id and binding.id not in row.binding_id.split(", "):
                row.binding_id = ", ".join(filter(None, (row.binding_id, binding.id)))
            continue
        meaning = MEANING.get(binding.action, binding.description.lower())
        label = binding.description[:1].upper() + binding.description[1:]  # Textual's own "palette"
        row = rows[(binding.action, binding.description)] = KeyRow([display], f"{label}: {meaning}",
                                                                 binding.id or "")
        section.rows.append(row)
    if focused is not None and any(b.binding.action == "cursor_down" and b.node is focused
                                   for b in under.active_bindings.values()):
        focused_list.rows[:0] = [KeyRow([keys], what) for keys, what in MOVES]
        if type(focused).__name__ in ENTER:
            focused_list.rows.insert(2, KeyRow(["enter"], ENTER[type(focused).__name__]))
    return [section for section in (screen, focused_list, everywhere) if section.rows]


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
        # Keys come from config.toml's keymap too: every cell is Text, never markup.
        wide = self.app.size.width >= WIDE
        sections = key_sections(self.under)
        rows = [row for section in sections for row in section.rows]
        key_width = max((len(" ".join(row.keys)) for row in rows), default=1)
        id_width = max((len(row.binding_id) for row in rows), default=1)
        parts = []
        for section in sections:
            table = Table.grid(padding=(0, 2), expand=True)  # one table a section, the key column equally wide in each
            table.add_column(style="bold cyan", no_wrap=True, width=key_width)
            table.add_column(ratio=1)
            if wide:
                table.add_column(style="dim", no_wrap=True, width=id_width)
            for row in section.rows:
                table.add_row(Text(" ".join(row.keys)), Text(row.label), *([Text(row.binding_id)] if wide else []))
            parts += [Text(section.title, style="bold underline"), table, Text("")]
        with VerticalScroll(classes="dialog", id="help-dialog") as dialog:
            dialog.border_title = "Keys (esc closes)" + (" · binding ids for [tui.keymap]" if wide else "")
            yield Static(Group(*parts[:-1]))

    def action_close(self) -> None:
        self.dismiss(None)
