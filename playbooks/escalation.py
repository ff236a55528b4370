"""Escalation policies planned: which of an incident's steps are due at an instant, which have
run already, and who each one reaches. Pure: every instant is given (naive ones are UTC, as
the store keeps them); the loop that runs the plan is automation/oncall_escalation.py.

- Step k of a policy is due at the declaration plus the `after` of steps 1..k.
- With `repeat` = n the policy runs n more rounds; each round starts after the previous
  round's last step by the longest `after` (a round of "0s, 5m" pages at 0, 5, then 10, 15 …),
  so a repeat never pages at the instant of the step before it.
- The steps are numbered 1, 2, … across rounds; a step that has run is on the timeline with
  its policy and number, so it never runs twice.
- Once the incident is acknowledged (or no longer open) nothing more is due, whatever was due
  before: an acknowledgement answers the page, including one still waiting to go out.
- A schedule step reaches whoever is on call at the instant the step is due (overrides
  included); a contact step that person; a group step its members.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping

from playbooks.config.escalation import EscalationPolicy, parsed_target
from playbooks.schedules import Resolver, aware


@dataclass(frozen=True)
class PlannedStep:
    """One step of one round: `number` counts across rounds (1-based), `step` within the
    policy (1-based), `round` from 0."""

    policy: str
    number: int
    step: int
    round: int
    notify: str
    due_at: datetime


@dataclass(frozen=True)
class DueStep:
    """A step due now and not yet run, with the people it reaches."""

    planned: PlannedStep
    persons: tuple[str, ...]


def applies(name: str, policy: EscalationPolicy, severity: str, incident_type: str,
            escalation_targets: Iterable[str] = ()) -> bool:
    """Whether policy `name` escalates an incident of this severity and type: its `severities`
    list the severity, or (none listed) the severity's escalation targets name the policy; and
    its `types`, when given, list the type."""
    if policy.severities:
        severity_matches = severity in policy.severities
    else:
        severity_matches = name.casefold() in {target.casefold() for target in escalation_targets}
    return severity_matches and (not policy.types or incident_type in policy.types)


def plan(name: str, policy: EscalationPolicy, declared_at: datetime) -> list[PlannedStep]:
    """Every step of every round, in order, with the instant it is due."""
    delays = [step.delay for step in policy.steps]
    pause = max(delays, default=timedelta(0))
    planned: list[PlannedStep] = []
    at = declared_at
    for round_ in range(policy.repeat + 1):
        if round_:
            at += pause  # the gap after the last step before the round starts again
        for index, (step, delay) in enumerate(zip(policy.steps, delays)):
            at += delay
            planned.append(PlannedStep(name, len(planned) + 1, index + 1, round_, step.notify, at))
    return planned


def due_steps(name: str, policy: EscalationPolicy, *, declared_at: datetime, now: datetime,
              done: Iterable[int] = (), acknowledged_at: datetime | None = None, is_open: bool = True,
              reach: Callable[[str, datetime], tuple[str, ...]] | None = None) -> list[DueStep]:
    """The steps of policy `name` due at `now` that have not run (`done`: the numbers on the
    timeline), each with the people it reaches (`reach(notify, at)`; see `reached`). None once
    the incident is acknowledged or closed."""
    if acknowledged_at is not None or not is_open:
        return []
    finished = set(done)
    now = aware(now)
    return [DueStep(step, reach(step.notify, step.due_at) if reach else ())
            for step in plan(name, policy, declared_at)
            if aware(step.due_at) <= now and step.number not in finished]


def reached(resolvers: Mapping[str, Resolver], group_members: Callable[[str], list[str]]
            ) -> Callable[[str, datetime], tuple[str, ...]]:
    """`reach(notify, at)`: who a step's target is at `at` — the person on call on a schedule
    (its resolver carries the stored overrides), a contact, or a group's members."""
    def reach(notify: str, at: datetime) -> tuple[str, ...]:
        kind, target = parsed_target(notify)
        if kind == "schedule":
            # Only the instant itself: no need to look ahead for the next handoff.
            return (resolvers[target].shifts(at, at + timedelta(seconds=1))[0].person,)
        if kind == "contact":
            return (target,)
        return tuple(dict.fromkeys(group_members(target)))
    return reach


def step_summary(step: DueStep, policy: EscalationPolicy) -> str:
    """What the timeline (and so each text) says about a step that ran."""
    planned = step.planned
    whole = len(policy.steps)
    round_note = f", round {planned.round + 1} of {policy.repeat + 1}" if policy.repeat else ""
    who = ", ".join(step.persons) or "no one"
    return (f"Not acknowledged: escalation {planned.policy} step {planned.step} of {whole}{round_note} "
            f"pages {who} ({planned.notify})")


__all__ = ["DueStep", "PlannedStep", "applies", "due_steps", "plan", "reached", "step_summary"]
