"""Declare an incident: severity, type, environment, title, service, validated as you type."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from playbooks.errors import PolicyValueError
from playbooks.policy import ENVIRONMENTS
from tui.plain import plain
from tui.screens.base import explain

MAX_TITLE = 200


def title_problem(title: str) -> str | None:
    if not title.strip():
        return "A title is required: what is broken, for whom."
    if len(title) > MAX_TITLE:
        return f"The title is {len(title)} characters; at most {MAX_TITLE} fit on the status page."
    return None


def service_problem(service: str) -> str | None:
    if service and (len(service) > 64 or any(c.isspace() for c in service.strip())):
        return "A service is one word of at most 64 characters, like checkout-api."
    return None


class DeclareScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="declare.cancel"),
        Binding("ctrl+s", "submit", "Declare", id="declare.submit"),
    ]

    def compose(self) -> ComposeResult:
        policy = self.app.store.policy
        with Vertical(classes="dialog", id="declare-dialog") as dialog:
            dialog.border_title = "Declare incident"
            yield Select([(f"{level.id} {level.name} — {level.response_time}", level.id) for level in policy.levels],
                         value="SEV-2", allow_blank=False, id="severity")
            yield Select([(w.name, w.type) for w in policy.workflows.values()], value="outage" if "outage" in
                         policy.workflows else next(iter(policy.workflows)), allow_blank=False, id="type")
            yield Select([(env, env) for env in ENVIRONMENTS], value="production", allow_blank=False, id="environment")
            yield Input(placeholder="Title: what is broken, for whom", id="title")
            yield Input(placeholder="Service (optional), e.g. checkout-api", id="service")
            yield Label("", id="problem", classes="problem")
            yield Button("Declare (ctrl+s)", id="declare", variant="error")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()
        self._validate()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._validate()

    def _validate(self) -> str | None:
        problem = title_problem(self.query_one("#title", Input).value) or service_problem(
            self.query_one("#service", Input).value)
        self.query_one("#problem", Label).update(plain(problem))  # it quotes what was typed: data
        self.query_one("#declare", Button).disabled = problem is not None
        return problem

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.action_submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if self._validate() is not None:
            return
        self._declare(
            self.query_one("#severity", Select).value, self.query_one("#type", Select).value,
            self.query_one("#environment", Select).value, self.query_one("#title", Input).value.strip(),
            self.query_one("#service", Input).value.strip() or None,
        )

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _declare(self, severity: str, incident_type: str, environment: str, title: str, service: str | None) -> None:
        app = self.app
        try:
            incident = app.store.declare(severity, incident_type, environment, actor=app.actor, title=title,
                                         service=service)
        except Exception as exc:  # shown in the form: the engineer fixes it and retries
            app.call_from_thread(self.query_one("#problem", Label).update, plain(explain(exc)))
            return
        app.call_from_thread(self.dismiss, incident.id)
