"""Durations as people write them in playbooks: "15m", "2h", "1d", "1h30m", "90s"."""
import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_SECONDS = 3650 * 86400
ACCEPTED = 'a number with a unit, like "30s", "15m", "2h", "1d", "1w" or "1h30m"'


def parse_duration(text: str) -> timedelta:
    """Parse "1h30m"-style text; raise ValueError naming what is accepted."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError(f"empty duration; accepted: {ACCEPTED}")
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"{text!r} is not a duration; accepted: {ACCEPTED}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text!r} is longer than ten years; accepted: {ACCEPTED}, up to 3650d")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Short human form: "45m", "2h 05m", "3d 4h"; negative durations get a minus sign."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m"
    return f"{sign}{seconds}s"
