"""Declare an incident: title, service, severity, type, environment, validated as you type."""
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

# What Textual names ESC 1 .. ESC 4 (textual/_ansi_sequences.py), in severity order.
ESCAPED_DIGITS = ("inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign")
KEY_HINT = "alt+1..4 severity · alt+t type · alt+e environment · esc cancel"  # ctrl+s: on the button


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


def _severity_keys() -> list[Binding]:
    """alt+1..alt+4 pick the severity from any field, the title included (so they are
    priority keys: the title would otherwise take the character). A terminal sends alt+1 as
    ESC 1, which Textual reports as the character macOS types for option+1 (¡ ™ £ ¢): those
    names are bound too, without a description so help lists each severity once."""
    keys = []
    for number, escaped in enumerate(ESCAPED_DIGITS, start=1):
        keys.append(Binding(f"alt+{number}", f"severity({number})", f"SEV-{number}", priority=True,
                            id=f"declare.severity_{number}"))
        keys.append(Binding(escaped, f"severity({number})", priority=True, id=f"declare.severity_{number}_esc"))
    return keys


class FormField(Input):
    """A text field of the declare form that leaves the ESC-digit characters to the form's
    severity keys: Textual drops a binding for any key a focused input would type."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in ESCAPED_DIGITS and super().check_consume_key(key, character)


class DeclareScreen(ModalScreen[str | None]):
    """The title first (focused: say what is broken), then the service; severity, type and
    environment are one key away from any field, so a SEV-1 is `d`, the title, `alt+1`,
    `ctrl+s`. The selects below stay reachable with tab for the mouse-and-tab minded."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="declare.cancel"),
        Binding("ctrl+s,ctrl+enter,ctrl+j", "submit", "Declare", id="declare.submit"),
        *_severity_keys(),
        Binding("alt+t", "cycle('type')", "Type", priority=True, id="declare.type"),
        Binding("alt+e", "cycle('environment')", "Environment", priority=True, id="declare.environment"),
    ]

    def compose(self) -> ComposeResult:
        policy = self.app.store.policy
        # What alt+t and alt+e step through, in the order the selects list them.
        self.cycles = {"type": [w.type for w in policy.workflows.values()], "environment": list(ENVIRONMENTS)}
        with Vertical(classes="dialog", id="declare-dialog") as dialog:
            dialog.border_title = "Declare incident"
            yield FormField(placeholder="Title: what is broken, for whom", id="title")
            yield FormField(placeholder="Service (optional), e.g. checkout-api", id="service")
            yield Select([(f"{level.id} {level.name} — {level.response_time}", level.id) for level in policy.levels],
                         value="SEV-2", allow_blank=False, id="severity")
            yield Select([(w.name, w.type) for w in policy.workflows.values()], value="outage" if "outage" in
                         policy.workflows else next(iter(policy.workflows)), allow_blank=False, id="type")
            yield Select([(env, env) for env in ENVIRONMENTS], value="production", allow_blank=False, id="environment")
            yield Label("", id="problem", classes="problem")
            yield Label(KEY_HINT, classes="hint", id="keys")
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

    def action_severity(self, number: int) -> None:
        levels = [level.id for level in self.app.store.policy.levels]
        if 1 <= number <= len(levels):
            self.query_one("#severity", Select).value = levels[number - 1]

    def action_cycle(self, field: str) -> None:
        """The next type or environment, round to the first after the last."""
        select, values = self.query_one(f"#{field}", Select), self.cycles[field]
        select.value = values[(values.index(select.value) + 1) % len(values)]

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
