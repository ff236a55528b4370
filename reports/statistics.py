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

if TYPE_CHECKING:
    from store.reporting import PeriodColumns, PeriodTotals

SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def duration_stats(seconds: list[float], unit_s: float, *, ordered: bool = False) -> dict[str, Any]:
    """mean, median and nearest-rank p90 of durations, in the unit (60: minutes, 3600: hours)."""
    if not seconds:
        return {"mean": None, "median": None, "p90": None, "count": 0}
    values = seconds if ordered else sorted(seconds)
    n = len(values)
    middle = n // 2
    median = values[middle] if n % 2 else (values[middle - 1] + values[middle]) / 2
    p90 = values[math.ceil(0.9 * n) - 1]
    return {"mean": rounded(math.fsum(values) / n / unit_s), "median": rounded(median / unit_s),
            "p90": rounded(p90 / unit_s), "count": n}


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


def figures(partials: list[Partial]) -> dict[str, Any]:
    """The figures of the parts together (e.g. the months of a year). The "_means_s" key
    (unrounded means, for the trend) is dropped by public()."""
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
    return {
        "total": total,
        "by_severity": by_severity,
        "mttd_minutes": duration_stats(detection, 60, ordered=True),
        "mtta_minutes": duration_stats(response, 60, ordered=True),
        "mttr_hours": duration_stats(resolution, 3600, ordered=True),
        "within_sla_pct": round(100 * within / judged, 1) if judged else None,
        "_means_s": (_mean(detection), _mean(response), _mean(resolution)),
    }


def public(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if not k.startswith("_")}


def trend(current: dict[str, Any], previous: "PeriodTotals", previous_key: str) -> dict[str, Any]:
    detection, response, resolution = current["_means_s"]
    has_data = previous.total > 0
    return {
        "vs": previous_key,
        "mttd_pct": _pct_change(detection, previous.mean_detection_s) if has_data else None,
        "mtta_pct": _pct_change(response, previous.mean_response_s) if has_data else None,
        "mttr_pct": _pct_change(resolution, previous.mean_resolution_s) if has_data else None,
        "total_pct": _pct_change(current["total"], previous.total) if has_data else None,
    }


def satisfaction(scores: list[float], previous: "PeriodTotals", previous_key: str) -> dict[str, Any]:
    """The period's mean customer satisfaction over its scored incidents and its change in
    points against the previous period's mean (pure). Means to two decimals, as the JSON
    gives them; the change is taken before rounding."""
    mean = _mean(scores)
    before = previous.mean_satisfaction if previous.scored else None
    change = None if mean is None or before is None else round(mean - before, 2)
    return {"mean": rounded(mean), "scored_incidents": len(scores), "previous_mean": rounded(before),
            "change": change, "vs": previous_key}
