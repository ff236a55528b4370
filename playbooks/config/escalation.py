"""[escalation.*]: who is paged, in what order, until someone acknowledges — steps naming a
schedule (whoever is on call then), a contact or a group, each after a delay. Planning is
playbooks/escalation.py; `watch` (and the command center) runs it (automation/oncall_escalation.py)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator
from typing_extensions import TypeAliasType

from playbooks.config.table import Table
from playbooks.durations import ACCEPTED as DURATION_ACCEPTED, parse_duration
from playbooks.severities import canonical_severity

TARGET_KINDS = ("schedule", "contact", "group")
TARGET_ACCEPTED = '"schedule:NAME", "contact:NAME" or "group:NAME"'
_TARGET = re.compile(r"^(schedule|contact|group):(\S(?:.*\S)?)$")


def _unknown_keys(cls: type[Table], data: Any) -> Any:
    """A step is a value inside the policy's table, so the reader cannot name its keys in its
    refusal; it says its own accepted keys."""
    if isinstance(data, dict):
        unknown = [key for key in data if key not in cls.model_fields]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a known key; accepted: {', '.join(cls.model_fields)}")
    return data


def parsed_target(text: str) -> tuple[str, str]:
    """("schedule", "primary") from "schedule:primary"; ValueError naming what is accepted."""
    match = _TARGET.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a step target; accepted: {TARGET_ACCEPTED}")
    return match.group(1), match.group(2)


class EscalationStep(Table):
    """One step: page `notify` `after` the step before it (the first: after the declaration)."""

    notify: str = Field(description=f"who is paged: {TARGET_ACCEPTED}")
    after: str = Field("0s", description='the delay after the step before (the first: after declaring), like "5m"')

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return _unknown_keys(cls, data)

    @field_validator("notify")
    @classmethod
    def _notify(cls, text: str) -> str:
        parsed_target(text)
        return text.strip()

    @field_validator("after")
    @classmethod
    def _after(cls, text: str) -> str:
        parse_duration(text)
        return text

    @property
    def delay(self) -> timedelta:
        return parse_duration(self.after)


# A list of inline tables inside [escalation.NAME]: documented as a plain key (see LayerTable in oncall.py).
StepTable = TypeAliasType("table", EscalationStep)


class EscalationPolicy(Table):
    """An escalation policy: while an incident it applies to is open and unacknowledged, each
    step pages its target `after` the step before (step k is due at the declaration plus the
    delays of steps 1..k), every person on their own channels (SMS, a phone call for SEV-1,
    e-mail), each step on the timeline. After the last step the whole policy runs again
    `repeat` times, each round starting after the last step by the longest delay. It applies to
    the incidents whose severity is in `severities`, or, with no `severities`, whose severity's
    escalation targets (severity.toml) name this policy; and, with `types`, only to those types.
    Acknowledging stops it. An incident no policy applies to escalates as before: once, to the
    severity's targets, when its response time has passed."""

    steps: list[StepTable] = Field(min_length=1, description=(
        'the steps in order, each `{ notify = "schedule:NAME" | "contact:NAME" | "group:NAME", after = "5m" }`'),
        examples=[[{"notify": "schedule:primary", "after": "0s"}, {"notify": "contact:cto", "after": "15m"}]])
    repeat: int = Field(0, ge=0, le=20, description="how many times the whole policy runs again after its last step")
    severities: list[str] = Field(default_factory=list, description=(
        "the severities it applies to (SEV-1..SEV-4 or an alias); none: those whose escalation targets name it"),
        examples=[["SEV-1"]])
    types: list[str] = Field(default_factory=list, description="incident types it applies to (none: every type)",
                             examples=[["outage", "security"]])

    @field_validator("severities")
    @classmethod
    def _severities(cls, names: list[str]) -> list[str]:
        levels = []
        for name in names:
            level = canonical_severity(name)
            if level is None:
                raise ValueError(f"{name!r} is not a severity; accepted: SEV-1..SEV-4, critical/high/medium/low, "
                                 "sev1, p1, 1 …")
            levels.append(level)
        return list(dict.fromkeys(levels))

    @model_validator(mode="after")
    def _repeat_needs_a_delay(self) -> "EscalationPolicy":
        if self.repeat and not any(step.delay for step in self.steps):
            raise ValueError(f"repeat = {self.repeat} with every step after 0s would page everyone again at once; "
                             f"accepted: repeat = 0, or a step with a delay ({DURATION_ACCEPTED})")
        return self

    def targets(self) -> list[tuple[str, str]]:
        """Every (kind, name) the steps name, in step order."""
        return [parsed_target(step.notify) for step in self.steps]


def checked_targets(policies: dict[str, EscalationPolicy], *, schedules, contacts, groups) -> None:
    """Each step names a schedule, contact or group this file defines; ValueError otherwise."""
    known = {"schedule": (schedules, "[schedules.NAME]"), "contact": (contacts, "[contacts.NAME]"),
             "group": (groups, '[groups."NAME"]')}
    for name, policy in policies.items():
        for kind, target in policy.targets():
            tables, form = known[kind]
            if target not in tables:
                defined = ", ".join(tables) or "none defined"
                raise ValueError(f"escalation {name!r} notifies {kind}:{target}, which has no {form} table; "
                                 f"accepted: {kind}: and the name of a {form} table ({defined})")
