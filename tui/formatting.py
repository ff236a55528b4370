"""How times, severities and metrics look on screen. Pure functions, easy to test."""
from __future__ import annotations

from datetime import datetime

SEVERITY_STYLE = {"SEV-1": "bold white on red", "SEV-2": "bold black on dark_orange",
                  "SEV-3": "black on yellow", "SEV-4": "white on blue"}
SPARK = "▁▂▃▄▅▆▇█"


def elapsed(since: datetime, now: datetime) -> str:
    """How long ago, in the countdowns' units: "45m", "2h05m", "1d2h"."""
    return span(max(int((now - since).total_seconds()), 0))


def span(seconds: int) -> str:
    """A length of time with its units and no sign: "45s", "14m", "1h59m", "71h45m", "4d4h", "9d".
    Never "14:57", which next to a clock reads as a time of day."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 100:  # a 72-hour regulatory clock reads in hours, as the regulation says
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    # A week or more: the hours are noise; under that they still tell "tonight" from "tomorrow".
    return f"{days}d{hours}h" if hours and days < 7 else f"{days}d"


def countdown(due: datetime | None, now: datetime) -> str:
    """Time left with its sign in words: "in 14m", "27m over", "due now"; "-" without a deadline."""
    if due is None:
        return "-"
    seconds = int((due - now).total_seconds())
    if seconds > 0:
        return f"in {span(seconds)}"
    if seconds < 0:
        return f"{span(seconds)} over"
    return "due now"


def deadline(due: datetime, now: datetime) -> str:
    """The absolute deadline, where there is room: "17:04", or "18 Jan 14:20" on another day (UTC)."""
    return due.strftime("%H:%M") if due.date() == now.date() else due.strftime("%d %b %H:%M")


def countdown_with_deadline(due: datetime | None, now: datetime) -> str:
    """ "in 14m (by 17:04)", "27m over (since 16:22)": the countdown and when it is, where there is room."""
    if due is None:
        return "-"
    return f"{countdown(due, now)} ({'since' if is_overdue(due, now) else 'by'} {deadline(due, now)})"


def is_overdue(due: datetime | None, now: datetime) -> bool:
    return due is not None and now > due


SHORT_LABELS = {"error_rate": "Errors", "response_time": "Latency", "throughput": "Throughput", "cpu": "CPU",
                "memory": "Memory", "availability": "Avail.", "load": "Load", "disk": "Disk"}
METRIC_LABELS = {
    "error_rate": ("Error Rate", "%"), "response_time": ("Response Time", "s"), "throughput": ("Throughput", " req/min"),
    "cpu": ("CPU Usage", "%"), "memory": ("Memory Usage", "%"), "availability": ("Availability", "%"),
    "load": ("Load (per CPU)", "%"), "disk": ("Disk Usage", "%"),
}


def metric_value(metric: str, value: float, *, short: bool = False) -> str:
    _, unit = METRIC_LABELS.get(metric, (metric, ""))
    if unit == " req/min":
        return f"{value:,.0f}{'/min' if short else unit}"
    if unit == "s":
        return f"{value:.1f}{unit}"
    return f"{value:.1f}{unit}"


def change_from_baseline(metric: str, value: float, baseline: float | None, *, short: bool = False) -> str:
    """The spec's "(⬆️ 8.1% from baseline)": absolute for % and s, relative otherwise."""
    if baseline is None:
        return "no baseline"
    if short:
        return change_from_baseline(metric, value, baseline).removesuffix(" from baseline")
    _, unit = METRIC_LABELS.get(metric, (metric, ""))
    diff = value - baseline
    arrow = "⬆" if diff > 0 else "⬇" if diff < 0 else "="
    if unit in ("%", "s"):
        return f"{arrow} {abs(diff):.1f}{unit} from baseline"
    if baseline == 0:
        return f"{arrow} from baseline 0"
    return f"{arrow} {abs(diff) / abs(baseline) * 100:.0f}% from baseline"


def sparkline(values: tuple[float, ...], width: int) -> str:
    if not values:
        return ""
    values = values[-width:]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1)))] for v in values)


def clock_time(moment: datetime) -> str:
    return moment.strftime("%H:%M")
