"""Time as the store sees it: naive UTC, injected so tests can freeze it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc_naive(moment: datetime) -> datetime:
    """Aware datetimes are converted to UTC; naive ones are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def iso_z(moment: datetime | None) -> str | None:
    """ISO 8601 with a Z, the form every export and --json output uses."""
    if moment is None:
        return None
    return to_utc_naive(moment).isoformat(timespec="seconds") + "Z"
