"""How times, severities and metrics look on screen. Pure functions, easy to test."""
from __future__ import annotations

from datetime import datetime, timedelta

from playbooks.durations import format_duration

SEVERITY_STYLE = {"SEV-1": "bold white on red", "SEV-2": "bold black on dark_orange",
                  "SEV-3": "black on yellow", "SEV-4": "white on blue"}
SPARK = "▁▂▃▄▅▆▇█"


def elapsed(since: datetime, now: datetime) -> str:
    return format_duration(max(now - since, timedelta(0)))


def countdown(due: datetime | None, now: datetime) -> str:
    """"12:03" left, or "-4:10" overdue; hours shown when more than one is left."""
    if due is None:
        return "-"
    seconds = int((due - now).total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rem = divmod(seconds, 3600)
    minutes, secs = divmod(rem, 60)
    if hours >= 48:
        return f"{sign}{hours // 24}d"
    if hours:
        return f"{sign}{hours}h{minutes:02d}"
    return f"{sign}{minutes}:{secs:02d}"


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
