"""Which timeline events tell stakeholders something, and the facts routing decides on.

Pure vocabulary: the store writes an outbox row per route (store/outbox.py), the routing
policy lives in automation/routing.py, and both speak these names. A router is asked with
an incident's facts (severity, type, environment, drill), never with its table row, so it
can be called, and tested, from anywhere without a database.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# Timeline event kinds that tell stakeholders something, and the outbox event they become.
NOTIFYING = {"declared": "declared", "acknowledged": "acknowledged", "severity_changed": "severity_changed",
             "status_update": "status_update", "escalated": "escalated", "update_overdue": "update_overdue",
             "compliance_clock_started": "compliance_clock_started", "compliance_reminder": "compliance_reminder"}
# A fired rule's actions (automation/rule_actions.py): each is a message of its own, routed
# to the people the action names whatever the severity's matrix row says.
RULE_ACTION_EVENTS = {"oncall_page": "page", "status_page_update": "status_page", "war_room_start": "war_room",
                      "security_alert": "security_alert"}
NOTIFYING.update(RULE_ACTION_EVENTS)


@dataclass(frozen=True)
class IncidentFacts:
    """What routing may look at: enough to choose channels and groups, nothing to render."""

    id: str
    severity: str
    type: str
    environment: str
    is_drill: bool = False


def facts_of(incident) -> IncidentFacts:
    """The routing facts of anything shaped like an incident (a table row, a read model)."""
    return IncidentFacts(id=incident.id, severity=incident.severity, type=incident.type,
                         environment=incident.environment, is_drill=bool(incident.is_drill))


# (incident facts, outbox event) -> [(integration, stakeholder group[, why not[, addressed]])]:
# who must hear it, and, for a message that may not go out (a drill, an environment that
# pages nobody, a group with no reachable member), why: it is written as a skipped row with
# that reason, never sent. `addressed` ({"groups": [...], "recipients": [...]}) joins the payload.
Router = Callable[[IncidentFacts, str], list[tuple]]


def outbox_event(kind: str, data: dict) -> str | None:
    """The outbox event a timeline event of `kind` becomes, or None when it tells nobody."""
    if kind == "status_changed":
        # "closed" is for the trackers that keep the incident's ticket (the router sends it
        # nowhere else): people were told at "resolved".
        return {"resolved": "resolved", "closed": "closed"}.get(data.get("to"), "status_update")
    return NOTIFYING.get(kind)
