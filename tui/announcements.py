"""What the command center announces when the store changes: timeline events in, toasts out.

Pure (no Textual, no store session): the app reads the new events in its change worker and
shows what `announce` returns. Announced: a new SEV-1/2, an escalation, a missed status
update, an incident raised to SEV-1/2, and any change someone else made to the incident the
user has open. The user's own changes are never announced back to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Literal

if TYPE_CHECKING:
    from store.dashboard import RecentEvent

URGENT = ("SEV-1", "SEV-2")
# Kinds announced whichever incident they are on (the store query asks for these, plus
# every kind on the open incident).
ANNOUNCED_KINDS = ("declared", "escalated", "update_overdue", "severity_changed")
MAX_TOASTS = 4  # a burst (an import, a storm of alerts) is a few toasts and a count, not a wall
MAX_TEXT = 160  # a toast is a glance: a long note is read in the war room

Level = Literal["information", "warning"]  # "error" is kept for what failed


@dataclass(frozen=True)
class Announcement:
    seq: int
    incident_id: str | None
    title: str
    message: str
    level: Level


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())  # a multi-line note on one line
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _about(event: "RecentEvent") -> Announcement | None:
    """The toast for one event by someone else, or None when it is not news."""
    incident = event.incident_id or "—"
    title = _short(event.title or event.data.get("title"))
    if event.kind == "declared":
        severity = event.data.get("severity") or event.severity
        if severity in URGENT:
            drill = " (drill)" if event.data.get("drill") else ""
            return Announcement(event.seq, event.incident_id, f"New {severity}{drill}",
                                f"{incident}: {title} — declared by {_short(event.actor)}",
                                "warning")
    elif event.kind == "escalated":
        return Announcement(event.seq, event.incident_id, f"Escalated: {incident}",
                            f"{title} — {_short(event.summary)}", "warning")
    elif event.kind == "update_overdue":
        return Announcement(event.seq, event.incident_id, f"Update overdue: {incident}",
                            f"{title} — {_short(event.summary)}", "warning")
    elif event.kind == "severity_changed" and event.data.get("to") in URGENT \
            and str(event.data.get("from", "SEV-9")) > str(event.data.get("to")):
        return Announcement(event.seq, event.incident_id, f"Now {event.data['to']}: {incident}",
                            f"{title} — {_short(event.summary)} (by {_short(event.actor)})", "warning")
    return None


def announce(events: Iterable["RecentEvent"], *, actor: str, open_incident: str | None) -> list[Announcement]:
    """One announcement per event worth one, oldest first, at most MAX_TOASTS (the last
    one then counts the rest). `actor` is who this command center acts as; `open_incident`
    the incident whose war room is open (None on the dashboard)."""
    found = []
    for event in events:
        if event.actor == actor:
            continue  # the user's own change: they know
        news = _about(event)
        if news is None and open_incident is not None and event.incident_id == open_incident:
            news = Announcement(event.seq, event.incident_id, f"{_short(event.actor)} changed {open_incident}",
                                _short(event.summary),
                                "warning" if event.kind in ("severity_changed", "status_changed") else "information")
        if news is not None:
            found.append(news)
    if len(found) > MAX_TOASTS:
        rest = found[MAX_TOASTS - 1:]
        incidents = len({news.incident_id for news in rest})
        found = found[:MAX_TOASTS - 1] + [Announcement(
            rest[-1].seq, None, f"{len(rest)} more changes",
            f"on {incidents} incident{'s' if incidents != 1 else ''}; the dashboard lists them",
            "warning")]
    return found


def new_incidents(events: Iterable["RecentEvent"]) -> set[str]:
    """Incidents declared in these events: their dashboard rows flash once."""
    return {event.incident_id for event in events if event.kind == "declared" and event.incident_id}
