"""Customer satisfaction (CSAT): the score, 1.0 to 5.0, customers gave an incident's
handling, recorded on the incident for the monthly report.

One check for every door (the `csat` command, the JSON import): a finite number from 1.0
to 5.0, kept to two decimals. Recording a score is a timeline event like any change, so
the audit trail says who set it, when, and what it was before.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from playbooks.errors import PolicyValueError
from playbooks.clock import iso_z
from playbooks.timeline import TimelineKind

LOWEST, HIGHEST = 1.0, 5.0
ACCEPTED = f"accepted: a number from {LOWEST:.1f} to {HIGHEST:.1f}, like 4.2"
EVENT_KIND = TimelineKind.CUSTOMER_SATISFACTION


def score_problem(value: object) -> str | None:
    """What is wrong with `value` as a score (the words after its name), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"is not a number; {ACCEPTED}"
    # An int is compared as an int: a huge one from JSON must not overflow a float.
    if isinstance(value, float) and not math.isfinite(value):
        return f"is not a finite number; {ACCEPTED}"
    if not LOWEST <= value <= HIGHEST:
        return f"is out of range; {ACCEPTED}"
    return None


def checked_score(value: object) -> float:
    """A score as kept: two decimals (a survey's mean needs no more, and the report shows one)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number: object = float(text)
        except ValueError:
            number = text
        shown = value
    else:
        number, shown = value, value
    problem = score_problem(number)
    if problem:
        raise PolicyValueError(f"customer satisfaction {shown!r} {problem}")
    return round(float(number), 2)


def score_text(score: float) -> str:
    """4.5 -> "4.5/5.0", 4.25 -> "4.25/5.0", 4.0 -> "4.0/5.0"."""
    shown = f"{score:.2f}".rstrip("0")
    return (shown + "0" if shown.endswith(".") else shown) + f"/{HIGHEST:.1f}"


@dataclass(frozen=True)
class SatisfactionRecorded:
    incident_id: str
    score: float
    previous: float | None
    changed: bool  # False: the incident already had this score, nothing was written


def record_satisfaction(store, incident_id: str, score: object, *, actor: str) -> SatisfactionRecorded:
    """Set an incident's score, with a timeline event naming who set it and the score before.

    Any status is accepted, closed included: surveys come back after the incident is over.
    The same score again writes nothing (like a step already ticked)."""
    score = checked_score(score)
    with store.db.write() as session:
        incident = store.load(session, incident_id)
        previous = incident.customer_satisfaction
        if previous == score:
            return SatisfactionRecorded(incident.id, score, previous, False)
        incident.customer_satisfaction = score
        now = store.now()
        was = f" (was {score_text(previous)})" if previous is not None else ""
        store.record_event(session, incident, now, actor, EVENT_KIND,
                           f"Customer satisfaction {score_text(score)}{was}",
                           {"score": score, "previous": previous, "recorded_at": iso_z(now)})
        return SatisfactionRecorded(incident.id, score, previous, True)
