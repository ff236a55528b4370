"""A span of time from the command line, as `oncall override` and `silence add` take it:
`--from INSTANT` (default: now) and its end, one way: `--for DURATION` or `--until INSTANT`."""
from __future__ import annotations

from datetime import datetime, timedelta

INSTANT_ACCEPTED = "ISO 8601 like 2026-03-29T09:00:00+02:00 or 2026-03-29T07:00Z (UTC without an offset)"


def instant(text: str, option: str) -> datetime:
    """An instant typed after `option`, as naive UTC (the store's form)."""
    from playbooks.clock import to_utc_naive
    from tui.cli import UsageError

    try:
        return to_utc_naive(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an instant; accepted: {INSTANT_ACCEPTED}") from None


def span(starts_text: str | None, for_text: str | None, until_text: str | None, now: datetime,
         what: str) -> tuple[datetime, datetime]:
    """(start, end) of `what` ("an override", "a silence"); refused in one sentence when the
    end is given neither way or both, or --for is no time at all."""
    from tui.cli import UsageError

    starts = instant(starts_text, "--from") if starts_text else now
    if (for_text is None) == (until_text is None):
        raise UsageError(f"{what} needs its end, one way; accepted: --for DURATION or --until INSTANT")
    if for_text is None:
        return starts, instant(until_text, "--until")
    from playbooks.durations import parse_duration

    try:
        length = parse_duration(for_text)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    if length <= timedelta(0):
        raise UsageError(f"--for {for_text!r} is no time at all; accepted: a duration like 2h or 1d")
    return starts, starts + length
