"""The report's figures from what the store read, month by month: counts by severity,
mean / median / nearest-rank p90 of each duration, the share within SLA, the trend against
the previous period and the customer satisfaction. Pure: the store gives the columns
(store.reporting), this module only sums, sorts and divides. The definitions are in
reports/monthly.py's docstring and in every report (DEFINITIONS).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reports.report_model import CustomerSatisfaction, DurationStats, Figures, Trend

if TYPE_CHECKING:
    from store.reporting import PeriodColumns, PeriodTotals

SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def duration_stats(seconds: list[float], unit_s: float, *, ordered: bool = False) -> DurationStats:
    """mean, median and nearest-rank p90 of durations, in the unit (60: minutes, 3600: hours)."""
    if not seconds:
        return DurationStats(None, None, None, 0)
    values = seconds if ordered else sorted(seconds)
    n = len(values)
    middle = n // 2
    median = values[middle] if n % 2 else (values[middle - 1] + values[middle]) / 2
    p90 = values[math.ceil(0.9 * n) - 1]
    return DurationStats(rounded(math.fsum(values) / n / unit_s), rounded(median / unit_s), rounded(p90 / unit_s), n)


def _pct_change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous * 100, 1)


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


@dataclass
class Partial:
    """One part's (a month's) counts and sorted durations, combined for longer periods."""

    total: int
    by_severity: Counter
    detection: list[float]
    response: list[float]
    resolution: list[float]
    within: int
    judged: int  # incidents with a verdict: acknowledged, or past their deadline unacknowledged
    satisfaction: list[float]  # the scores of the incidents that have one


def _present(values: tuple) -> list[float]:
    present = [v for v in values if v is not None]
    present.sort()
    return present


def partial(part: "PeriodColumns") -> Partial:
    return Partial(part.total, Counter(part.severity), _present(part.detection_s), _present(part.response_s),
                   _present(part.resolution_s), part.within_sla.count(True),  # True == 1: SQLite's 1 counts
                   part.total - part.within_sla.count(None), _present(part.satisfaction))


def _merged(lists: list[list[float]]) -> list[float]:
    if len(lists) == 1:
        return lists[0]
    merged = [v for values in lists for v in values]
    merged.sort()  # Timsort merges the already sorted runs
    return merged


@dataclass(frozen=True)
class Combined:
    """The figures of some parts together, with the unrounded mean durations (seconds:
    detection, response, resolution) the trend is computed from."""

    figures: Figures
    means_s: tuple[float | None, float | None, float | None]


def figures(partials: list[Partial]) -> Combined:
    """The figures of the parts together (e.g. the months of a year)."""
    total = sum(p.total for p in partials)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for p in partials:
        for severity, count in p.by_severity.items():
            by_severity[severity] = by_severity.get(severity, 0) + count
    detection = _merged([p.detection for p in partials])
    response = _merged([p.response for p in partials])
    resolution = _merged([p.resolution for p in partials])
    within = sum(p.within for p in partials)
    judged = sum(p.judged for p in partials)
    return Combined(
        Figures(total, tuple(by_severity.items()), duration_stats(detection, 60, ordered=True),
                duration_stats(response, 60, ordered=True), duration_stats(resolution, 3600, ordered=True),
                round(100 * within / judged, 1) if judged else None),
        (_mean(detection), _mean(response), _mean(resolution)))


def trend(current: Combined, previous: "PeriodTotals", previous_key: str) -> Trend:
    detection, response, resolution = current.means_s
    if previous.total == 0:
        return Trend(previous_key, None, None, None, None)
    return Trend(previous_key, _pct_change(detection, previous.mean_detection_s),
                 _pct_change(response, previous.mean_response_s), _pct_change(resolution, previous.mean_resolution_s),
                 _pct_change(current.figures.total, previous.total))


def customer_satisfaction(scores: list[float], previous: "PeriodTotals", previous_key: str) -> CustomerSatisfaction:
    """The period's mean customer satisfaction over its scored incidents and its change in
    points against the previous period's mean (pure). Means to two decimals, as the JSON
    gives them; the change is taken before rounding."""
    mean = _mean(scores)
    before = previous.mean_satisfaction if previous.scored else None
    change = None if mean is None or before is None else round(mean - before, 2)
    return CustomerSatisfaction(rounded(mean), len(scores), rounded(before), change, previous_key)


def satisfaction(scores: list[float], previous: "PeriodTotals", previous_key: str) -> dict[str, Any]:
    """customer_satisfaction() in its JSON form."""
    return customer_satisfaction(scores, previous, previous_key).as_json()
