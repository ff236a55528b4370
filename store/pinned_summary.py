"""The pinned "current summary / next steps" of an incident: what someone joining at 3 a.m.
reads first, in the war room and in the handover.

Pinning is a timeline event like any change (kind `summary_pinned`), so the audit chain
covers every summary ever pinned, who pinned it and when; the latest one is the pinned one.
Nothing is told to stakeholders (the outbox routes no `summary_pinned`): it is the team's
own note to itself.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from playbooks.timeline import TimelineKind
from playbooks.validation import checked_text
from store.read_models.incident import PinnedSummary

EVENT_KIND = TimelineKind.SUMMARY_PINNED


def pin_summary(store, incident_id: str, summary: str, next_steps: str | None = None, *, actor: str):
    """Pin `summary` (and the `next_steps`, if any) on the incident; returns the timeline event.

    Both are checked like a note (control characters, bidi controls and separators refused,
    newlines kept). A closed incident keeps the summary it was closed with."""
    summary = checked_text(summary, "summary", multiline=True)
    next_steps = checked_text(next_steps, "next steps", required=False, multiline=True)
    with store.db.write() as session:
        incident = store.load_for_change(session, incident_id, "take a new summary")
        text = f"Summary: {summary}" + (f"\nNext steps: {next_steps}" if next_steps else "")
        return store.record_event(session, incident, store.now(), actor, EVENT_KIND, text,
                                  {"summary": summary, "next_steps": next_steps})


def read_pinned(events: Iterable[Any]) -> PinnedSummary | None:
    """The pinned summary among an incident's timeline events (oldest first): the latest
    `summary_pinned` one; None when none was pinned.

    The event's data is read as data: a row that does not hold a text summary (a damaged or
    hand-made row) is passed over rather than shown as something it is not."""
    for event in reversed(list(events)):
        if event.kind != EVENT_KIND:
            continue
        try:
            data = json.loads(event.data or "{}")
        except ValueError:
            continue
        summary, next_steps = (data.get("summary"), data.get("next_steps")) if isinstance(data, dict) else (None, None)
        if not isinstance(summary, str) or not summary:
            continue
        return PinnedSummary(summary, next_steps if isinstance(next_steps, str) and next_steps else None,
                             event.actor, event.at, event.seq)
    return None
