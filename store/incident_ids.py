"""Incident ids as people type them: the full id, or the short one the dashboard shows.

The dashboard at 80 columns shows `0118-001` (MMDD-NNN, the id without `INC-YYYY-`), and
`2024-0118-001` is what is left when someone drops the prefix. Both name one incident when
the store holds exactly one with that day and number, or one of this year (a short id
read off the screen almost always means this year's). Used by every CLI command that takes
an id and by the command center's `:` line, so both accept and refuse the same text.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from store.errors import IncidentNotFound
from store.models import Incident
from store.operations import normalise_id

FULL_ID = re.compile(r"INC-\d{4}-\d{4}-\d{3,}")
# MMDD-NNN (as on the dashboard) or YYYY-MMDD-NNN (the full id without INC-).
SHORT_ID = re.compile(r"(?:(?P<year>\d{4})-)?(?P<day>\d{4})-(?P<number>\d{3,})")
ACCEPTED = "accepted: a full id like INC-2026-0115-001 or the short one the dashboard shows (0115-001)"


class AmbiguousIncidentId(IncidentNotFound):
    """A short id that more than one incident ends with (none of them this year's)."""


def is_short_id(text: str) -> bool:
    """True for `0118-001` or `2024-0118-001`: text that needs the store to become an id."""
    return SHORT_ID.fullmatch(normalise_id(text)) is not None


def looks_like_incident_id(text: str) -> bool:
    """A full or short incident id (whether or not such an incident exists)."""
    wanted = normalise_id(text)
    return FULL_ID.fullmatch(wanted) is not None or SHORT_ID.fullmatch(wanted) is not None


def resolve_incident_id(session: Session, text: str, now: datetime) -> str:
    """The full id `text` names: itself when such an incident exists, else the one incident
    a short id ends with (this year's first). Raises IncidentNotFound (one sentence) when
    none does, AmbiguousIncidentId when several of other years do."""
    wanted = normalise_id(text)
    if session.get(Incident, wanted) is not None:
        return wanted
    short = SHORT_ID.fullmatch(wanted)
    if short is None:
        raise IncidentNotFound(f"no incident {text!r}; {ACCEPTED}")
    year, day, number = short.group("year"), short.group("day"), short.group("number")
    if year is not None:
        candidate = f"INC-{year}-{day}-{number}"
        if session.get(Incident, candidate) is None:
            raise IncidentNotFound(f"no incident {candidate}; {ACCEPTED}")
        return candidate
    this_year = f"INC-{now:%Y}-{day}-{number}"
    if session.get(Incident, this_year) is not None:
        return this_year
    # LIKE treats _ and % specially; the digits and dash matched above contain neither.
    matches = sorted(session.execute(select(Incident.id).where(Incident.id.like(f"INC-____-{day}-{number}")))
                     .scalars(), reverse=True)
    if not matches:
        raise IncidentNotFound(f"no incident ends with {wanted}; {ACCEPTED}")
    if len(matches) > 1:
        raise AmbiguousIncidentId(
            f"{wanted} names {len(matches)} incidents ({', '.join(matches[:5])}); accepted: one of their full ids")
    return matches[0]
