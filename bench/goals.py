"""Goals of the benchmarks and their verdicts, in one place for every bench/*.py.

A benchmark states each goal once (a limit, or a condition) and hands it the figure it
measured in this run; the verdict ("met" / "missed") is computed from that figure, never
written by hand. A figure that could not be measured (a server missing, NaN) is "missed":
a goal nobody checked is not a goal met.

    from bench.goals import Goal, print_goals
    tick = Goal("tick keypress to painted, p95", "ms", at_most=50)
    print_goals([tick.check(p95_ms)])

prints

    goals (where each comes from: bench/README.md)
      tick keypress to painted, p95: <= 50 ms; measured 48.2 ms: met
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MET, MISSED = "met", "missed"


@dataclass(frozen=True)
class Verdict:
    name: str
    goal: str          # what was asked, as printed: "<= 50 ms", "faster than Prometheus+Alertmanager"
    measured: str      # what this run measured, as printed
    met: bool
    value: float | None = None  # the figure compared, when the goal is numeric

    @property
    def word(self) -> str:
        return MET if self.met else MISSED

    def line(self) -> str:
        return f"{self.name}: {self.goal}; measured {self.measured}: {self.word}"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "goal": self.goal, "measured": self.measured, "value": self.value,
                "verdict": self.word}


@dataclass(frozen=True)
class Goal:
    """A numeric goal: the figure must be at most (or at least) a limit."""

    name: str
    unit: str
    at_most: float | None = None
    at_least: float | None = None

    def __post_init__(self) -> None:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError(f"goal {self.name!r} needs exactly one of at_most and at_least")

    @property
    def text(self) -> str:
        sign, limit = ("<=", self.at_most) if self.at_most is not None else (">=", self.at_least)
        return f"{sign} {_number(limit)}{_unit(self.unit)}"

    def check(self, value: float | None, *, why_missing: str = "") -> Verdict:
        """The verdict for `value`, the figure measured this run (None: not measured)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return Verdict(self.name, self.text, f"nothing ({why_missing or 'not measured'})", False)
        met = value <= self.at_most if self.at_most is not None else value >= self.at_least
        return Verdict(self.name, self.text, f"{_number(value)}{_unit(self.unit)}", met, float(value))


def condition(name: str, goal: str, holds: bool | None, measured: str) -> Verdict:
    """A goal that is a condition (only clock cells written, faster than a baseline, audit ok);
    `holds` is computed from this run's figures, None when they could not be measured."""
    return Verdict(name, goal, measured, bool(holds))


def print_goals(verdicts: list[Verdict]) -> None:
    print("goals (where each comes from: bench/README.md)")
    for verdict in verdicts:
        print(f"  {verdict.line()}")


def _unit(unit: str) -> str:
    return unit if unit in ("x", "%") else f" {unit}" if unit else ""


def _number(value: float) -> str:
    if abs(value) >= 1000 or (float(value).is_integer() and abs(value) >= 1):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
