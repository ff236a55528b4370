"""Read-only mode (`--read-only`, `[tui] read_only`), as k9s has: for people who watch an
incident but must not act. Every key that writes is refused in one sentence before any
dialog opens; `StoreScreen.write` refuses too, for a writing path not listed here."""
from __future__ import annotations

REFUSAL = "read-only: this command center watches and does not act; accepted: start it without --read-only"

# Binding ids (the keymap's names, stable when keys are remapped) whose action writes to
# the store. Reading, moving, filtering and the handover file stay allowed.
WRITING_BINDINGS = frozenset({
    "app.declare",
    "dashboard.ack",
    "war_room.tick", "war_room.note", "war_room.update", "war_room.ack", "war_room.status",
    "war_room.severity_up", "war_room.severity_down", "war_room.roles", "war_room.remediate",
    "war_room.runbook", "war_room.collect_logs", "war_room.summary",
    "compliance.mark_exposed", "compliance.met", "compliance.aware_at",
    "outbox.retry", "outbox.retry_all",
    "oncall.override",
    "action_items.done", "action_items.ticket",
    "post_incident.root_cause", "post_incident.detail", "post_incident.factor", "post_incident.impact",
    "post_incident.customers", "post_incident.cost", "post_incident.schedule", "post_incident.attendee",
    "post_incident.facilitator", "post_incident.note", "post_incident.lesson", "post_incident.held",
    "post_incident.add_item", "post_incident.done",
})


def binding_id(node: object, action_name: str) -> str | None:
    """The id of the binding on `node`'s class that runs `action_name` (params ignored)."""
    for cls in type(node).__mro__:
        for binding in cls.__dict__.get("BINDINGS", ()):
            action = getattr(binding, "action", None)
            if action is not None and action.split("(", 1)[0] == action_name:
                return getattr(binding, "id", None)
    return None


def writes(node: object, action_name: str) -> bool:
    """Whether running `action_name` on `node` would write to the store."""
    return binding_id(node, action_name) in WRITING_BINDINGS
