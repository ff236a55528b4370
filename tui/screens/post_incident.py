"""After the incident, for one incident: the root cause analysis, the post-incident review
and the corrective actions, edited from the keyboard through the prompt screens and
exported as Markdown (RCA and PIR) to the export folder."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer

from playbooks.clock import iso_z
from store.read_models.review import PostIncidentDetail
from tui.screens.base import IncidentScreen
from tui.widgets.review_panes import CorrectiveActions, PostIncidentBanner, ReviewPane, RootCausePane

CATEGORY_CHOICES = ["immediate", "short-term", "long-term", "process"]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PostIncidentScreen(IncidentScreen):
    DEFAULT_CSS = """
    PostIncidentScreen #pi-banner { height: 1; background: $panel; }
    PostIncidentScreen #pi-body { height: 1fr; }
    PostIncidentScreen #rca-pane { width: 1fr; }
    PostIncidentScreen #pir-pane { width: 1fr; }
    PostIncidentScreen #actions-pane { height: auto; max-height: 9; min-height: 4; padding: 0; }
    PostIncidentScreen #actions { height: auto; max-height: 7; border: none; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="post_incident.back"),
        Binding("c", "root_cause", "Cause", id="post_incident.root_cause"),
        Binding("t", "detail", "Detail", show=False, id="post_incident.detail"),
        Binding("f", "factor", "Factor", show=False, id="post_incident.factor"),
        Binding("i", "impact", "Impact", show=False, id="post_incident.impact"),
        Binding("u", "customers", "Customers", show=False, id="post_incident.customers"),
        Binding("e", "cost", "Cost", show=False, id="post_incident.cost"),
        Binding("w", "schedule", "When", show=False, id="post_incident.schedule"),
        Binding("p", "attendee", "Attendee", show=False, id="post_incident.attendee"),
        Binding("g", "facilitator", "Facilitator", show=False, id="post_incident.facilitator"),
        Binding("n", "agenda_note", "Note", id="post_incident.note"),
        Binding("l", "lesson", "Lesson", show=False, id="post_incident.lesson"),
        Binding("h", "held", "Held", id="post_incident.held"),
        Binding("a", "add_item", "Add action", id="post_incident.add_item"),
        Binding("d", "toggle_done", "Done", id="post_incident.done"),
        Binding("x", "export", "Export", id="post_incident.export"),
    ]

    def compose(self) -> ComposeResult:
        yield PostIncidentBanner(id="pi-banner")
        with Horizontal(id="pi-body"):
            with VerticalScroll(id="rca-pane", classes="pane") as pane:
                pane.border_title = "Root cause analysis"
                yield RootCausePane(id="rca")
            with VerticalScroll(id="pir-pane", classes="pane") as pane:
                pane.border_title = "Post-incident review"
                yield ReviewPane(id="pir")
        with Vertical(id="actions-pane", classes="pane") as pane:
            pane.border_title = "Corrective actions"
            yield CorrectiveActions(id="actions")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CorrectiveActions).focus()
        self.load()

    def read(self, session, store) -> PostIncidentDetail:
        from store.review_queries import read_pir, read_rca

        now = store.now()
        return PostIncidentDetail(read_rca(session, store.policy, self.incident_id, now),
                                  read_pir(session, store.policy, self.incident_id, now))

    def on_incident_screen_loaded(self, message: IncidentScreen.Loaded) -> None:
        detail: PostIncidentDetail = message.detail
        self.detail = detail
        self.incident_id = detail.rca.summary.id
        self.query_one(PostIncidentBanner).detail = detail
        self.query_one(RootCausePane).detail = detail.rca
        self.query_one(ReviewPane).detail = detail.pir
        items = detail.rca.corrective_actions
        self.query_one(CorrectiveActions).show(items)
        overdue = sum(1 for item in items if item.overdue)
        done = sum(1 for item in items if item.done)
        title = f"Corrective actions ({done}/{len(items)} done" + (f", {overdue} OVERDUE)" if overdue else ")")
        pane = self.query_one("#actions-pane")
        if pane.border_title != title:
            pane.border_title = title

    def store_changed(self, incident_ids: set[str | None]) -> None:
        if self.incident_id in incident_ids:
            self.load()

    # -- editing ---------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def _ask(self, title: str, placeholder: str, then, value: str = "") -> None:
        from tui.screens.prompts import TextPrompt

        def answered(text: str | None) -> None:
            if text:
                then(text)

        self.app.push_screen(TextPrompt(title, placeholder, value=value), answered)

    def _rca(self, done: str, **fields) -> None:
        from store.review import update_rca

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        self.write(lambda: update_rca(store, incident_id, actor=actor, **fields), done)

    def _review(self, done: str, **fields) -> None:
        from store.review import update_review

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id
        self.write(lambda: update_review(store, incident_id, actor=actor, **fields), done)

    def _current(self, value_of: Callable[[PostIncidentDetail], object]) -> str:
        """What a prompt starts with: the value as recorded, empty when there is none yet."""
        value = value_of(self.detail) if self.detail is not None else None
        return "" if value is None else str(value)

    def action_root_cause(self) -> None:
        self._ask("Root cause", "e.g. Database connection pool misconfiguration",
                  lambda text: self._rca("Root cause saved", root_cause=text),
                  value=self._current(lambda d: d.rca.root_cause.text))

    def action_detail(self) -> None:
        self._ask("Add a root cause detail", "e.g. Recent deployment changed default connection limits",
                  lambda text: self._rca("Detail added", add_details=[text]))

    def action_factor(self) -> None:
        self._ask("Add a contributing factor", "e.g. Inadequate load testing scenarios",
                  lambda text: self._rca("Contributing factor added", add_factors=[text]))

    def action_impact(self) -> None:
        self._ask("Impact", "e.g. 100% of users unable to access application",
                  lambda text: self._rca("Impact saved", impact=text), value=self._current(lambda d: d.rca.summary.impact))

    def action_customers(self) -> None:
        self._ask("Customers affected", "a whole number", lambda text: self._rca("Customers saved", customers_affected=text),
                  value=self._current(lambda d: d.rca.impact_assessment.customers_affected))

    def action_cost(self) -> None:
        currency = self.center.store.policy.severity.cost_currency
        self._ask(f"Estimated cost ({currency})", "e.g. 45000", lambda text: self._rca("Cost saved", estimated_cost=text),
                  value=self._current(lambda d: d.rca.impact_assessment.estimated_cost))

    def action_schedule(self) -> None:
        current = self._current(lambda d: iso_z(d.pir.review.scheduled_at))  # as the prompt accepts it
        self._ask("Review meets at (UTC)", "ISO 8601, e.g. 2024-01-22T15:00:00Z",
                  lambda text: self._review("Review scheduled", scheduled_at=text), value=current)

    def action_attendee(self) -> None:
        self._ask("Add an attendee", "name or handle", lambda text: self._review("Attendee added", add_attendees=[text]))

    def action_facilitator(self) -> None:
        self._ask("Facilitator", "who runs the meeting", lambda text: self._review("Facilitator saved", facilitator=text),
                  value=self._current(lambda d: d.pir.review.facilitator))

    def action_agenda_note(self) -> None:
        if self.detail is None:
            return
        from tui.screens.prompts import ChoicePrompt

        agenda = self.detail.pir.review.agenda
        choices = [f"{item.number}. {item.title} ({item.minutes} min)" for item in agenda]

        def chosen(choice: str | None) -> None:
            if not choice:
                return
            number = int(choice.split(".")[0])
            current = agenda[number - 1].notes or ""
            self._ask(f"Notes: {choice}", "what was said and decided",
                      lambda text: self._review("Agenda notes saved", notes={number: text}), value=current)

        self.app.push_screen(ChoicePrompt("Notes for agenda item", choices), chosen)

    def action_lesson(self) -> None:
        self._ask("Add a lesson learned", "e.g. Load tests must replay production traffic",
                  lambda text: self._review("Lesson added", add_lessons=[text]))

    def action_held(self) -> None:
        from tui.screens.prompts import ChoicePrompt

        def confirmed(answer: str | None) -> None:
            if answer == "Held now":
                self._review("Post-incident review marked held", held=True)

        self.app.push_screen(ChoicePrompt("Mark the review held now?", ["Held now", "Cancel"]), confirmed)

    def action_add_item(self) -> None:
        from tui.screens.prompts import ChoicePrompt

        store, actor, incident_id = self.center.store, self.center.actor, self.incident_id

        def with_owner(text: str, title: str, category: str) -> None:
            words = [] if text.strip() == "-" else text.split()
            due = next((w for w in words if _DATE.match(w)), None)
            owner = " ".join(w for w in words if w != due) or None
            from store.review import add_action_item

            self.write(lambda: add_action_item(store, incident_id, title, actor=actor, category=category,
                                               owner=owner, due=due), "Action item added")

        def with_category(category: str | None, title: str) -> None:
            if category:
                self._ask("Owner and due date", "e.g. alice 2024-01-25 (or - for neither)",
                          lambda text: with_owner(text, title, category))

        def with_title(title: str) -> None:
            self.app.push_screen(ChoicePrompt(f"Category of: {title}", CATEGORY_CHOICES),
                                 lambda category: with_category(category, title))

        self._ask("New action item", "what will be done, e.g. Add connection pool alerting", with_title)

    def action_toggle_done(self) -> None:
        item_id = self.query_one(CorrectiveActions).highlighted_item_id
        if item_id is None or self.detail is None:
            self.notify("No action item highlighted; a adds one.", severity="warning")
            return
        from store.review import complete_action_item, reopen_action_item

        item = next(i for i in self.detail.rca.corrective_actions if i.id == item_id)
        store, actor = self.center.store, self.center.actor
        if item.done:
            self.write(lambda: reopen_action_item(store, item_id, actor=actor), f"Action item {item_id} reopened")
        else:
            self.write(lambda: complete_action_item(store, item_id, actor=actor), f"Action item {item_id} done")

    def action_export(self) -> None:
        self._ask("Write the RCA and PIR (Markdown) to folder", "a folder path",
                  self._export_to, value=str(self.center.settings.export_dir))

    def _export_to(self, folder: str) -> None:
        from playbooks.errors import PolicyValueError
        from store.paths import user_path
        from tui.handover import confirm_replace

        try:
            directory = user_path(folder, "folder")
        except PolicyValueError as exc:
            self.notify(str(exc), severity="warning", timeout=8, markup=False)
            return
        # Files already there are replaced only once the engineer confirms (as for the handover).
        confirm_replace(self.center, (directory / f"{self.incident_id}-rca.md", directory / f"{self.incident_id}-pir.md"),
                        lambda force: self._export(directory, force))

    def _export(self, directory: Path, force: bool = False) -> None:
        from playbooks.errors import PolicyValueError
        from reports.pir import pir_markdown
        from reports.rca import rca_markdown
        from store.review_queries import read_pir, read_rca
        from tui.export import write_export
        from tui.handover import REPLACE_HINT

        store, incident_id, app = self.center.store, self.incident_id, self.app

        def write() -> None:
            with store.db.read() as session:
                now = store.now()
                rca = rca_markdown(read_rca(session, store.policy, incident_id, now))
                pir = pir_markdown(read_pir(session, store.policy, incident_id, now))
            try:
                rca_path = write_export(rca, directory / f"{incident_id}-rca.md", force=force, hint=REPLACE_HINT)
                write_export(pir, directory / f"{incident_id}-pir.md", force=force, hint=REPLACE_HINT)
            except PolicyValueError as exc:  # a file or link that appeared since the question
                app.call_from_thread(app.notify, str(exc), severity="warning", timeout=10, markup=False)
                return
            except OSError as exc:
                app.call_from_thread(app.notify, f"cannot write to {directory} ({exc.strerror}); accepted: a writable "
                                     "folder", severity="warning", timeout=10, markup=False)
                return
            app.call_from_thread(app.notify, f"Written: {rca_path} and {incident_id}-pir.md", timeout=6, markup=False)

        self.run_worker(write, thread=True, exit_on_error=False, group="export")
