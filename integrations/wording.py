"""How an outbox message reads, the same for every notifier: the title of each event, the
canonical severity of whatever a payload says, and a value on one bounded line. Shared here
so that no vendor's module imports another's."""
from __future__ import annotations

from typing import Any

from integrations.http import truncate

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

SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
_SEVERITY_ALIASES: dict[str, str] = {
    "critical": "SEV-1", "high": "SEV-2", "medium": "SEV-3", "low": "SEV-4",
    "p1": "SEV-1", "p2": "SEV-2", "p3": "SEV-3", "p4": "SEV-4",
    "1": "SEV-1", "2": "SEV-2", "3": "SEV-3", "4": "SEV-4",
}


def event_title(event: str) -> str:
    """"status_update" -> "Status update"; an event without a title reads as its name."""
    return EVENT_TITLES.get(event, str(event).replace("_", " ").capitalize())


def canonical_severity(value: Any) -> str | None:
    """SEV-1..SEV-4 for SEV-1, sev1, p1, 1, critical / high / medium / low; None if unknown."""
    text = str(value or "").strip()
    if text.upper() in SEVERITIES:
        return text.upper()
    compact = text.lower().replace("-", "").replace("_", "").replace(" ", "")
    if compact.startswith("sev"):
        compact = compact[3:]
    return _SEVERITY_ALIASES.get(compact)


def one_line(text: Any, limit: int) -> str:
    """`text` on one line (whitespace runs collapsed), cut to `limit` characters with an ellipsis."""
    return truncate(" ".join(str(text or "").split()), limit)
