"""How an outbox message reads, the same for every notifier: the title of each event. Shared
here so that no vendor's module imports another's (a severity's canonical name is
playbooks.severities.canonical_severity; a value on one bounded line is integrations.text.one_line)."""
from __future__ import annotations

#: How each outbox event reads at the head of a comment, card or call.
EVENT_TITLES: dict[str, str] = {
    "declared": "Incident declared",
    "acknowledged": "Incident acknowledged",
    "status_update": "Status update",
    "escalated": "Incident escalated",
    "severity_changed": "Severity changed",
    "resolved": "Incident resolved",
    "closed": "Incident closed",
    "compliance_clock_started": "Regulatory clock started",
    "compliance_reminder": "Regulatory deadline reminder",
    "page": "On-call page",
    "security_alert": "Security alert",
}


def event_title(event: str) -> str:
    """"status_update" -> "Status update"; an event without a title reads as its name."""
    return EVENT_TITLES.get(event, str(event).replace("_", " ").capitalize())
