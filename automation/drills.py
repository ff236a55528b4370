"""Drills: synthetic metric streams fed through the real rules and store, so a team can
practise on an incident that looks real. Drill incidents are marked as drills (and kept
out of reports); their samples are not stored, so live health stays true.

Time is simulated: the scenario's timeline ends "now", samples every 15 s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from automation.detector import Detector
from playbooks.samples import Sample
from store.operations import IncidentStore

STEP = timedelta(seconds=15)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    minutes: int
    # metric -> function of minutes since the start -> value in canonical units
    curves: dict[str, Callable[[float], float]]


def _ramp(start: float, peak: float, rise_at: float, peak_at: float, fall_at: float, end_at: float):
    def value(t: float) -> float:
        if t < rise_at or t >= end_at:
            return start
        if t < peak_at:
            return start + (peak - start) * (t - rise_at) / (peak_at - rise_at)
        if t < fall_at:
            return peak
        return peak + (start - peak) * (t - fall_at) / (end_at - fall_at)
    return value


SCENARIOS = {
    "db-pool-exhaustion": Scenario(
        "db-pool-exhaustion",
        "A deployment shrinks the database connection pool; requests queue, time out and fail "
        "(the spec's RCA example).",
        30,
        {
            "error_rate": _ramp(0.8, 62.0, 5, 8, 20, 24),       # percent
            "response_time": _ramp(0.4, 34.0, 5, 9, 20, 24),    # seconds
            "availability": _ramp(99.95, 91.0, 5, 8, 20, 24),   # percent
            "throughput": _ramp(2200.0, 900.0, 5, 8, 20, 24),
        },
    ),
    "credential-stuffing": Scenario(
        "credential-stuffing",
        "A botnet replays leaked passwords against the login endpoint.",
        20,
        {
            "failed_login_attempts": _ramp(40.0, 5200.0, 4, 5, 14, 16),  # per hour
            "unusual_traffic_patterns": _ramp(0.0, 1.0, 4, 4.5, 14, 15),  # signal
        },
    ),
}


def accepted() -> str:
    return ", ".join(SCENARIOS)


def run_drill(store: IncidentStore, name: str, *, actor: str = "drill",
              on_event: Callable[[str], None] | None = None) -> list[str]:
    """Play a scenario through the rules; returns the ids of the drill incidents it opened."""
    from playbooks.errors import PolicyValueError

    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise PolicyValueError(f"unknown drill {name!r}; accepted: {accepted()}")
    detector = Detector(store, actor=actor, is_drill=True, keep_samples=False, on_event=on_event)
    end = store.now()
    start = end - timedelta(minutes=scenario.minutes)
    moment = start
    while moment <= end:
        minutes = (moment - start).total_seconds() / 60
        samples = [Sample("drill", metric, moment, curve(minutes)) for metric, curve in scenario.curves.items()]
        detector.ingest(samples, now=moment)
        moment += STEP
    return sorted(set(detector.incidents.values()))
