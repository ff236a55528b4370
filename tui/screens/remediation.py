"""`m` in the war room: start a remediation, or end a running one as done (with its outcome)
or cancelled (with why). The dialog that ends one defaults to Cancel (changes nothing)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tui.plain import first_line

if TYPE_CHECKING:
    from store.read_models.incident import IncidentDetail, RemediationEntry
    from tui.screens.war_room import WarRoomScreen

CANCEL = "Cancel"
START_ANOTHER = "Start another"


def running_remediation(detail: IncidentDetail) -> tuple[RemediationEntry, ...]:
    """The incident's remediation actions that have not ended, oldest first."""
    return detail.running_remediation


def done_choice(action: RemediationEntry) -> str:
    return f"#{action.id} done (record the outcome)"


def cancelled_choice(action: RemediationEntry) -> str:
    return f"#{action.id} cancelled (say why)"


def ask_remediation(screen: "WarRoomScreen") -> None:
    """What `m` offers: with nothing running, the prompt that starts one; else a choice
    between ending each running one (done / cancelled), starting another, and Cancel."""
    from tui.screens.prompts import ChoicePrompt

    running = running_remediation(screen.detail)
    if not running:
        _start(screen)
        return
    ends = {}
    for action in running:
        ends[done_choice(action)] = (action, "done")
        ends[cancelled_choice(action)] = (action, "cancelled")
    # What is running, in the body: stored text, wrapped, never cut at the dialog's width.
    body = "\n".join(f"#{a.id} {first_line(a.description)} (since {a.started_at:%H:%M} UTC)"
                     for a in running)

    def chosen(answer: str | None) -> None:
        if answer == START_ANOTHER:
            _start(screen)
        elif answer in ends:
            action, how = ends[answer]
            _end(screen, action, how)

    title = "Remediation running" if len(running) == 1 else f"{len(running)} remediations running"
    screen.app.push_screen(ChoicePrompt(title, [CANCEL, *ends, START_ANOTHER], default=CANCEL, body=body), chosen)


def _start(screen: "WarRoomScreen") -> None:
    from tui.screens.prompts import TextPrompt

    store, actor, incident_id = screen.center.store, screen.center.actor, screen.incident_id

    def save(text: str | None) -> None:
        if text:
            screen.write(lambda: store.start_remediation(incident_id, text, actor=actor), "Remediation started")

    screen.app.push_screen(TextPrompt("Start remediation", "e.g. Database connection pool increased"), save)


def _end(screen: "WarRoomScreen", action: RemediationEntry, how: str) -> None:
    from tui.screens.prompts import TextPrompt

    store, actor, incident_id, action_id = screen.center.store, screen.center.actor, screen.incident_id, action.id
    if how == "done":
        prompt = TextPrompt(f"Remediation #{action_id} done: the outcome", "e.g. error rate back to baseline")
    else:
        prompt = TextPrompt(f"Remediation #{action_id} cancelled: why", "e.g. made it worse; rolled back")

    def save(text: str | None) -> None:
        if not text:
            return  # esc: the remediation keeps running
        if how == "done":
            screen.write(lambda: store.finish_remediation(incident_id, action_id, actor=actor, outcome=text),
                         f"Remediation #{action_id} done")
        else:
            screen.write(lambda: store.cancel_remediation(incident_id, action_id, actor=actor, reason=text),
                         f"Remediation #{action_id} cancelled")

    screen.app.push_screen(prompt, save)
