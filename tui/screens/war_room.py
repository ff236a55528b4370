"""The war room: one incident, run from the keyboard."""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer

from playbooks.statuses import STATUS_MOVES, STATUSES
from tui.drafts import NOTE, STATUS_UPDATE, DraftSlot
from tui.screens.base import IncidentScreen
from tui.widgets.checklist import Checklist
from tui.widgets.compliance_clocks import ObligationCountdowns
from tui.widgets.pinned_summary import PinnedSummary
from tui.widgets.timeline import Timeline
from tui.widgets.war_room_panes import IncidentBanner, SidePane

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail

SEVERITY_ORDER = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
_TICKS = threading.Lock()  # ticks are written in workers; this keeps them in the order pressed


def next_status_forward(current: str) -> str | None:
    """The status after `current` in the lifecycle: the status picker's default, so `s`
    `enter` never moves an incident back (going back stays one deliberate `k` away)."""
    later = [status for status in STATUS_MOVES[current] if STATUSES.index(status) > STATUSES.index(current)]
    return later[0] if later else None


def still_open_before_resolving(detail: IncidentDetail) -> list[str]:
    """What resolving would leave behind, one line each (stored text shown as data)."""
    from tui.plain import visible

    left = []
    if detail.acknowledged_at is None:
        left.append(f"{detail.id} was never acknowledged (MTTA stays unset; nobody confirmed they responded).")
    for action in detail.running_remediation:
        left.append(f"Remediation still running: {visible(action.description)}")
    return left


class WarRoomScreen(IncidentScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="war_room.back"),
        Binding("space", "tick", "Tick", id="war_room.tick"),
        Binding("n", "note", "Note", id="war_room.note"),
        Binding("u", "update", "Update", id="war_room.update"),
        Binding("a", "ack", "Ack", id="war_room.ack"),
        Binding("s", "status", "Status", id="war_room.status"),
        Binding("plus", "raise_severity", "Sev+", show=False, id="war_room.severity_up"),
        Binding("minus", "lower_severity", "Sev-", show=False, id="war_room.severity_down"),
        Binding("r", "role", "Roles", id="war_room.roles"),
        Binding("m", "remediate", "Remediate", show=False, id="war_room.remediate"),
        Binding("e", "runbook", "Runbook", show=False, id="war_room.runbook"),
        Binding("l", "collect_logs", "Logs", show=False, id="war_room.collect_logs"),
        Binding("x", "export", "Handover", show=False, id="war_room.export"),
        Binding("p", "post_incident", "Post-incident", show=False, id="war_room.post_incident"),
        Binding("c", "compliance", "Compliance", show=False, id="war_room.compliance"),
        Binding("o", "outbox", "Outbox", show=False, id="war_room.outbox"),
        Binding("t", "timeline", "Timeline", show=False, id="war_room.timeline"),  # the pane says "t to read"
        Binding("h", "similar", "History", id="war_room.similar"),
        Binding("S", "summary", "Summary", show=False, id="war_room.summary"),  # the pinned line names it
    ]

    def compose(self) -> ComposeResult:
        yield IncidentBanner(id="banner")
        yield PinnedSummary(id="pinned-summary")
        with Horizontal(id="war-room-body"):
            with Vertical(id="checklist-pane", classes="pane") as pane:
                pane.border_title = "Checklist"
                yield Checklist(id="checklist")
            with VerticalScroll(id="side-pane", classes="pane") as pane:
                pane.border_title = "Team & comms"
                yield ObligationCountdowns(id="obligation-clocks")
                yield SidePane(id="side")
        yield Timeline(id="timeline", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Checklist).focus()
        self.load()

    def on_incident_screen_loaded(self, message: IncidentScreen.Loaded) -> None:
        detail: IncidentDetail = message.detail
        self.detail = detail
        self.incident_id = detail.id
        banner = self.query_one(IncidentBanner)
        banner.now = self.center.clock()
        banner.detail = detail
        self.query_one(Checklist).show(detail)
        self.query_one(SidePane).detail = detail
        self.query_one(PinnedSummary).show(detail.pinned_summary)
        self.query_one(ObligationCountdowns).show(
            detail.compliance, detail.type in self.center.store.policy.compliance.incident_types, self.center.clock())
        self.query_one(Timeline).show(detail.timeline)

    def store_changed(self, incident_ids: set[str | None]) -> None:
        if self.incident_id in incident_ids:
            self.load()

    def tick(self) -> None:
        for banner in self.query(IncidentBanner):
            banner.now = self.center.clock()
        for clocks in self.query(ObligationCountdowns):
            clocks.now = self.center.clock()

    # -- actions ----------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_timeline(self) -> None:
        self.query_one(Timeline).focus()

    def on_timeline_left(self, message: Timeline.Left) -> None:
        self.query_one(Checklist).focus()

    def on_timeline_event_chosen(self, message: Timeline.EventChosen) -> None:
        self.show_event(message.seq)

    @work(thread=True, exclusive=True, group="event", exit_on_error=False)
    def show_event(self, seq: int) -> None:
        """One event in full, with the fields recorded with it (read from the store)."""
        from tui.screens.timeline_event import TimelineEventScreen, read_event

        store = self.center.store
        with store.db.read() as session:
            event = read_event(session, self.incident_id, seq)
        if event is not None:
            self.app.call_from_thread(self.app.push_screen, TimelineEventScreen(event))

    def _ready(self) -> bool:
        if self.detail is None:
            self.notify("Still loading the incident.", severity="warning")
            return False
        return True

    def action_tick(self) -> None:
        checklist = self.query_one(Checklist)
        step = checklist.highlighted_step
        if step is None or not self._ready():
            return
        done = not checklist.is_done(step)
        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id

        def tick() -> None:
            try:
                with _TICKS:  # one at a time, in the order pressed: space twice ends unticked
                    store.tick(incident_id, [str(step)], actor=actor, done=done)
            except BaseException:
                self.app.call_from_thread(checklist.refused, step)
                raise  # and the write's failure is told in one sentence, as for every write
            self.app.call_from_thread(checklist.committed, step)

        # Painted now, written in a worker: the row changes within the keypress, not after
        # the commit and the reload of every pane (a refused write puts it back).
        if not self.center.settings.read_only:
            checklist.mark(step, done)
        self.write(tick)

    def action_ack(self) -> None:
        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        self.write(lambda: store.acknowledge(incident_id, actor=actor), f"{incident_id} acknowledged")

    def action_note(self) -> None:
        from tui.screens.prompts import TextPrompt

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id

        draft = self._draft(NOTE)

        def save(text: str | None) -> None:
            if text:
                def add() -> None:
                    store.add_note(incident_id, text, actor=actor)
                    self.app.call_from_thread(draft.discard)  # saved: the draft has done its job

                self.write(add, "Note added")

        self.app.push_screen(TextPrompt("Note", "What happened, what you saw, what you decided", draft=draft), save)

    def _draft(self, field: str) -> DraftSlot:
        return DraftSlot(self.center.drafts, self.incident_id, field)

    def action_remediate(self) -> None:
        """Start a remediation, or end a running one: done (with its outcome) or cancelled."""
        from tui.screens.remediation import ask_remediation

        if self._ready():
            ask_remediation(self)

    def action_status(self) -> None:
        if not self._ready():
            return
        from tui.screens.prompts import ChoicePrompt

        current = self.detail.status
        moves = STATUS_MOVES[current]
        if not moves:
            self.notify(f"{self.incident_id} is {current}; no further status moves.", severity="warning")
            return
        store, actor, incident_id, version = (self.center.store, self.center.actor, self.incident_id,
                                              self.detail.version)

        def apply(status: str) -> None:
            def change() -> None:
                store.change_status(incident_id, status, actor=actor, expected_version=version)
                self.app.call_from_thread(self._offer_update, status)

            self.write(change, f"{incident_id} is now {status}")

        def move(status: str | None) -> None:
            if not status:
                return
            left = still_open_before_resolving(self.detail) if status == "resolved" else []
            if not left:
                apply(status)
                return
            self.app.push_screen(
                ChoicePrompt(f"Resolve {incident_id} with this still open?", ["Cancel", "Resolve anyway"],
                             default="Cancel", body="\n".join(left)),
                lambda answer: apply(status) if answer == "Resolve anyway" else None)

        self.app.push_screen(ChoicePrompt(f"Move {incident_id} from {current} to", list(moves),
                                          default=next_status_forward(current)), move)

    def _offer_update(self, status: str) -> None:
        """After a status change, the update that says so is one `enter` away (prefilled for the new status)."""
        if status == "closed" or self.app.screen is not self:
            return  # a closed incident takes no updates; elsewhere the question would come out of nowhere
        self.load()  # the move is committed; changes are told to the screen on top, which is about to be the question
        from tui.screens.prompts import ChoicePrompt

        self.app.push_screen(ChoicePrompt(f"{self.incident_id} is now {status}. Post an update now?", ["Yes", "No"],
                                          default="Yes"),
                             lambda answer: self._compose_update(status) if answer == "Yes" else None)

    def _change_severity(self, step: int) -> None:
        if not self._ready():
            return
        index = SEVERITY_ORDER.index(self.detail.severity) + step
        if not 0 <= index < len(SEVERITY_ORDER):
            self.notify(f"{self.detail.severity} is already the {'highest' if step < 0 else 'lowest'} severity.",
                        severity="warning")
            return
        from tui.screens.prompts import TextPrompt

        target = SEVERITY_ORDER[index]
        store, actor, incident_id, version = (self.center.store, self.center.actor, self.incident_id,
                                              self.detail.version)

        def with_reason(reason: str | None) -> None:  # the prompt refuses an empty reason; esc changes nothing
            if reason:
                self.write(lambda: store.change_severity(incident_id, target, actor=actor, expected_version=version,
                                                         reason=reason), f"{incident_id} is now {target}")

        # The cadence and who is told change with it: one key is not enough, and the why goes on the timeline.
        verb = "Escalate" if step < 0 else "Downgrade"
        self.app.push_screen(TextPrompt(f"{verb} {incident_id} {self.detail.severity} -> {target}: why?",
                                        "reason (goes on the timeline)"), with_reason)

    def action_raise_severity(self) -> None:
        self._change_severity(-1)

    def action_lower_severity(self) -> None:
        self._change_severity(+1)

    def action_role(self) -> None:
        from tui.plain import visible
        from tui.screens.prompts import RoleChange, RolePrompt

        if not self._ready():
            return
        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        held = self.detail.held_roles

        def change(choice: RoleChange | None) -> None:
            if choice is None:
                return
            role, person = choice.role, choice.person
            if choice.release:
                self.write(lambda: store.release_role(incident_id, role, actor=actor),
                           f"{visible(person)} released {role.replace('_', ' ')}")
            else:
                self.write(lambda: store.assign_role(incident_id, role, person, actor=actor),
                           f"{visible(person)} is {role.replace('_', ' ')}")

        self.app.push_screen(RolePrompt(actor, held), change)

    def action_update(self) -> None:
        if not self._ready():
            return
        self._compose_update()

    def _compose_update(self, status: str | None = None) -> None:
        """The composer, prefilled for `status` (just moved to) or the shown one; a draft wins."""
        from tui.screens.update_composer import UpdateComposer

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        draft = self._draft(STATUS_UPDATE)

        def post(result: tuple[str, str | None, str | None] | None) -> None:
            if result:
                message, affected, headline = result

                def send() -> None:
                    store.post_status_update(incident_id, message, actor=actor, affected=affected, headline=headline)
                    self.app.call_from_thread(draft.discard)  # posted: the draft has done its job

                self.write(send, "Status update posted")

        from automation.routing import who_hears

        headline = self.detail.public_headline or store.policy.headline(self.detail.type)
        audience = [f"{heard.groups or heard.integration}: {heard.integration}"
                    + (f" (skipped: {heard.skipped.split(':', 1)[0]})" if heard.skipped else "")
                    for heard in who_hears(store, incident_id)]
        detail = replace(self.detail, status=status) if status else self.detail
        self.app.push_screen(UpdateComposer(detail, headline, self.center.clock(), audience, draft=draft), post)

    def action_collect_logs(self) -> None:
        """begin_log_collection: logs of this incident's service and window, kept as evidence."""
        from automation.config import log_sources_from_config
        from automation.log_collection import collect_logs

        sources = log_sources_from_config(self.center.configuration)
        if not sources:
            self.notify("No log source is configured; add [logs.splunk] or [logs.elasticsearch] to config.toml.",
                        severity="warning", timeout=8)
            return
        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        self.write(lambda: collect_logs(store, incident_id, sources, actor=actor),
                   "Log collection finished; the evidence is on the timeline")

    def action_runbook(self) -> None:
        """Pick a response action, give its parameters, read the exact command, confirm."""
        from playbooks.errors import PolicyValueError
        from playbooks.runbooks import find, prepare, values_from_assignments
        from tui.screens.prompts import ChoicePrompt, TextPrompt

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        runbooks = store.policy.runbooks.runbooks
        if not runbooks:
            self.notify("No runbooks are configured; add playbooks/runbooks.toml.", severity="warning")
            return

        def confirmed(answer: str | None, command) -> None:
            if answer == "Run it":
                from automation.runbook import run_confirmed
                from store.activity_log import activity_log_from_config

                activity = activity_log_from_config(self.center.configuration, clock=store.now)
                self.write(lambda: run_confirmed(store, incident_id, command, actor=actor, confirmed_by=actor,
                                                 activity=activity),
                           f"Runbook {command.runbook} finished; see the timeline")

        def with_params(text: str | None, name: str) -> None:
            if text is None:
                return
            try:  # a key given twice is refused, as from the shell: which address to block is never a guess
                command = prepare(find(store.policy, name), values_from_assignments(text.split()))
            except PolicyValueError as exc:
                self.notify(str(exc), severity="warning", timeout=8)
                return
            # Outward and destructive: the whole command in the body (wrapped, never cut), Cancel by default.
            self.app.push_screen(ChoicePrompt(f"Run {name} on this host?", ["Cancel", "Run it"], default="Cancel",
                                              body=command.shown()),
                                 lambda answer: confirmed(answer, command))

        def chosen(name: str | None) -> None:
            if not name:
                return
            runbook = find(store.policy, name)
            if not runbook.params:
                with_params("", name)
                return
            template = " ".join(f"{p}=" for p in runbook.params)
            self.app.push_screen(TextPrompt(f"{name}: parameters", "key=value ...", value=template),
                                 lambda text: with_params(text, name))

        self.app.push_screen(ChoicePrompt("Response action", [r.name for r in runbooks]), chosen)

    def action_outbox(self) -> None:
        from tui.screens.outbox import OutboxScreen

        self.app.push_screen(OutboxScreen(self.incident_id))

    def action_compliance(self) -> None:
        """Mark exposed data and meet regulatory obligations (security and data incidents)."""
        if not self._ready():
            return
        types = self.center.store.policy.compliance.incident_types
        if self.detail.type not in types and not self.detail.compliance:
            self.notify(f"{self.incident_id} is of type {self.detail.type}; exposed data is marked on "
                        f"{' or '.join(types)} incidents only.", severity="warning")
            return
        from tui.screens.compliance import ComplianceScreen

        self.app.push_screen(ComplianceScreen(self.incident_id), lambda _: self.load())

    def action_post_incident(self) -> None:
        from tui.screens.post_incident import PostIncidentScreen

        self.app.push_screen(PostIncidentScreen(self.incident_id))

    def action_export(self) -> None:
        from tui.handover import ask_and_export

        ask_and_export(self.center, self.incident_id)

    def action_summary(self) -> None:
        """Pin where the incident stands and what comes next (prefilled with what is pinned; a draft wins)."""
        if not self._ready():
            return
        from tui.screens.summary_editor import PINNED_SUMMARY, SummaryEditor

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        draft = self._draft(PINNED_SUMMARY)

        def pin(result: tuple[str, str | None] | None) -> None:
            if result:
                summary, next_steps = result

                def write() -> None:
                    store.pin_summary(incident_id, summary, next_steps, actor=actor)
                    self.app.call_from_thread(draft.discard)  # pinned: the draft has done its job

                self.write(write, "Summary pinned")

        self.app.push_screen(SummaryEditor(incident_id, self.detail.pinned_summary, draft=draft), pin)

    def action_similar(self) -> None:
        """This happened before: the most similar past incidents, their root cause and corrective actions."""
        from tui.screens.similar import SimilarIncidentsScreen

        self.app.push_screen(SimilarIncidentsScreen(self.incident_id),
                             lambda chosen: self.center.open_war_room(chosen) if chosen else None)
