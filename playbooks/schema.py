"""The pydantic schema every playbook file is checked against.

Field names follow the spec's words; durations are strings like "15m" or "2h".
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from playbooks.calendar import WEEKDAYS, BusinessCalendar
from playbooks.durations import parse_duration
from playbooks.rules import INCIDENT_ACTIONS, parse_action, parse_condition

SEVERITY_IDS = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # nan would pass every comparison


def _duration(value: str) -> str:
    parse_duration(value)  # raises with the accepted forms
    return value


class CalendarConfig(Strict):
    timezone: str = "UTC"
    days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    opens: str = "09:00"
    closes: str = "17:00"
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; accepted: an IANA name like 'UTC' or 'Europe/Berlin'")
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in WEEKDAYS]
        if bad or not value:
            raise ValueError(f"unknown weekday {bad}; accepted: {', '.join(WEEKDAYS)}")
        return value

    @field_validator("opens", "closes", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> str:
        if isinstance(value, time):  # TOML's native 09:00:00
            value = value.isoformat(timespec="minutes")
        try:
            parsed = time.fromisoformat(str(value))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is not None:
            raise ValueError(f"{value!r} is not a local time of day; accepted: HH:MM like '09:00' (the zone is `timezone`)")
        return str(value)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> "CalendarConfig":
        if time.fromisoformat(self.opens) >= time.fromisoformat(self.closes):
            raise ValueError(f"opens ({self.opens}) is not earlier than closes ({self.closes}); accepted: opens < closes")
        return self

    def build(self) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self.timezone,
            days=tuple(self.days),
            opens=time.fromisoformat(self.opens),
            closes=time.fromisoformat(self.closes),
            holidays=frozenset(self.holidays),
        )


class ResponseTarget(Strict):
    """How soon an incident must be acknowledged, and on which clock."""

    within: str
    clock: Literal["wall", "business_hours", "business_days"] = "wall"

    check_duration_fields = field_validator("within")(lambda cls, v: _duration(v))

    @model_validator(mode="after")
    def _whole_days_for_business_days(self) -> "ResponseTarget":
        within = parse_duration(self.within)
        if within <= timedelta(0):
            raise ValueError(f"within {self.within!r} is not positive; accepted: a duration above zero")
        if self.clock == "business_days" and (within.days < 1 or within % timedelta(days=1)):
            raise ValueError(f"within {self.within!r} is not whole days; accepted with clock business_days: '1d', '5d', ...")
        return self


class SeverityLevel(Strict):
    id: Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4"]
    name: str
    aliases: list[str]
    color: str
    impact: str
    customer_impact: str
    revenue_impact: str
    response_time: str  # the spec's words, shown to people
    response_target: ResponseTarget
    escalation: str
    escalation_targets: list[str]
    communication: str
    update_every: str
    # A held post-incident review before the incident may be closed (the spec: SEV-1 and SEV-2).
    review_required: bool = False

    @field_validator("update_every")
    @classmethod
    def _positive_cadence(cls, value: str) -> str:
        if parse_duration(value) < timedelta(minutes=1):
            raise ValueError(f"update_every {value!r} is under a minute; accepted: a cadence like '30m', '2h', '1d'")
        return value

    @property
    def update_cadence(self) -> timedelta:
        return parse_duration(self.update_every)


class SeverityPolicy(Strict):
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    levels: list[SeverityLevel]
    # The currency a root cause analysis states its estimated cost in.
    cost_currency: str = Field(default="USD", min_length=1, max_length=8)

    @model_validator(mode="after")
    def _all_four_once(self) -> "SeverityPolicy":
        ids = [level.id for level in self.levels]
        if sorted(ids) != list(SEVERITY_IDS):
            raise ValueError(f"levels must define each of {', '.join(SEVERITY_IDS)} exactly once, got {', '.join(ids)}")
        seen: dict[str, str] = {}
        for level in self.levels:
            for alias in [level.id, level.name, *level.aliases]:
                key = alias.lower()
                if seen.get(key, level.id) != level.id:
                    raise ValueError(f"alias {alias!r} is used by both {seen[key]} and {level.id}")
                seen[key] = level.id
        return self


class WorkflowPhase(Strict):
    name: str
    icon: str = ""
    window: str  # the spec's words, e.g. "0-15 minutes"
    starts_at: str = "0m"
    ends_at: str | None = None  # None: "varies", no time box end
    steps: list[str] = Field(min_length=1)

    check_duration_fields = field_validator("starts_at", "ends_at")(
        lambda cls, v: v if v is None else _duration(v)
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> "WorkflowPhase":
        if self.ends_at is not None and parse_duration(self.ends_at) <= parse_duration(self.starts_at):
            raise ValueError(f"phase {self.name!r}: ends_at must be later than starts_at")
        return self


class Workflow(Strict):
    type: str
    name: str
    title: str
    headline: str  # status-page headline, e.g. "Service Outage"
    description: str = ""
    phases: list[WorkflowPhase] = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _type_name(cls, value: str) -> str:
        if not _TYPE_NAME.match(value):
            raise ValueError(f"{value!r} is not a type name; accepted: lower-case letters, digits, '-' or '_'")
        return value


class StakeholderGroup(Strict):
    name: str
    severities: list[Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4"]]
    channel: str  # the spec's words, e.g. "Phone/SMS"
    integrations: list[str]  # notifier kinds that carry it, e.g. ["sms"]
    # Contacts (config.toml [contacts.NAME]) in the group, besides config.toml's [groups."NAME"] members.
    members: list[str] = []


class CommsMatrix(Strict):
    groups: list[StakeholderGroup] = Field(min_length=1)


class DetectionRule(Strict):
    name: str
    description: str = ""
    conditions: list[str] = Field(min_length=1)
    match: Literal["any", "all"] = "any"
    duration: str
    actions: list[str] = Field(min_length=1)
    # What the rule's actions act on when the rule (or an alert naming it) fires: the
    # service whose logs begin_log_collection() collects, and the search it narrows them
    # by. An alert's `service` and `log_query` labels fill them when the rule names none.
    service: str | None = Field(default=None, min_length=1, max_length=200)
    log_query: str | None = Field(default=None, min_length=1, max_length=1000)

    check_duration_fields = field_validator("duration")(lambda cls, v: _duration(v))

    @model_validator(mode="wrap")
    @classmethod
    def _conditions_and_actions_parse(cls, data: object, handler) -> "DetectionRule":
        # After the fields check out, parse each condition and action; the error is
        # placed on the item (rules.0.conditions.1) so the loader can name it.
        rule = handler(data)
        errors = []
        opens_incident = None
        for field_name, parse in (("conditions", parse_condition), ("actions", parse_action)):
            for index, text in enumerate(getattr(rule, field_name)):
                try:
                    parsed = parse(text)
                except ValueError as exc:
                    errors.append(_item_error(field_name, index, text, str(exc)))
                    continue
                if field_name == "actions" and parsed.name in INCIDENT_ACTIONS:
                    if opens_incident is not None:
                        errors.append(_item_error(field_name, index, text, (
                            f"{text!r} opens a second incident after {opens_incident!r}; "
                            "accepted: at most one create_incident or create_security_incident per rule")))
                    opens_incident = opens_incident or text
        if errors:
            raise ValidationError.from_exception_data("DetectionRule", errors)
        return rule


def _item_error(field_name: str, index: int, text: str, message: str) -> dict:
    return {"type": PydanticCustomError("value_error", "Value error, {msg}", {"msg": message}),
            "loc": (field_name, index), "input": text}


class DetectionRules(Strict):
    rules: list[DetectionRule]

    @model_validator(mode="after")
    def _unique_names(self) -> "DetectionRules":
        names = [rule.name for rule in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # the detector keeps one state and one open incident per rule name
            raise ValueError(f"rule name {twice[0]!r} is used twice; accepted: a unique name per rule")
        return self


DataClass = Literal["personal_data", "health_data", "card_data", "financial_records", "customer_data"]
DATA_CLASSES: tuple[str, ...] = get_args(DataClass)
_REGIME_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class ComplianceRegime(Strict):
    id: str
    name: str
    applies_to: list[DataClass]
    requires: list[str] = Field(min_length=1)
    notify: list[str] = Field(min_length=1)
    deadline: str | None  # None: no fixed deadline; the requirement text says what applies
    deadline_text: str
    clock_starts: Literal["awareness", "declared", "detected"] = "awareness"
    # "business_days": the deadline counts working days of the severity calendar (SOX's
    # "four business days"); it must then be whole days.
    deadline_clock: Literal["wall", "business_days"] = "wall"

    check_duration_fields = field_validator("deadline")(lambda cls, v: v if v is None else _duration(v))

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str) -> str:
        if not _REGIME_ID.match(value):
            raise ValueError(f"regime id {value!r} is not a short name; accepted: letters, digits, '_', '.', '-', "
                             "up to 32 characters, like 'GDPR' or 'PCI-DSS'")
        return value

    @model_validator(mode="after")
    def _whole_business_days(self) -> "ComplianceRegime":
        if self.deadline_clock == "business_days":
            within = parse_duration(self.deadline) if self.deadline else None
            if within is None or within.days < 1 or within % timedelta(days=1):
                raise ValueError(f"deadline {self.deadline!r} is not whole days; accepted with deadline_clock "
                                 "business_days: '1d', '4d', ...")
        return self

    def due(self, start: datetime, calendar: BusinessCalendar) -> datetime | None:
        """When the obligation falls due for a clock started at `start` (naive UTC)."""
        if self.deadline is None:
            return None
        within = parse_duration(self.deadline)
        if self.deadline_clock == "business_days":
            return calendar.add_business_days(start, within.days)
        return start + within


class CompliancePolicy(Strict):
    disclaimer: str
    regimes: list[ComplianceRegime] = Field(min_length=1)
    # Incident types on which exposed data may be marked (and so clocks started).
    incident_types: list[str] = Field(default_factory=lambda: ["security", "data"], min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "CompliancePolicy":
        ids = [regime.id.upper() for regime in self.regimes]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"regime id {twice[0]!r} is used twice; accepted: a unique id per regime")
        return self

    def regimes_for(self, data_classes) -> list[ComplianceRegime]:
        """The regimes any of these data classes brings into play, in file order."""
        wanted = set(data_classes)
        return [regime for regime in self.regimes if wanted & set(regime.applies_to)]


class RunbookParam(Strict):
    type: Literal["name", "int", "ip", "url", "choice"]
    min: int | None = None
    max: int | None = None
    choices: list[str] | None = None

    @model_validator(mode="after")
    def _choices_for_choice(self) -> "RunbookParam":
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice parameter needs choices; accepted: choices = ['a', 'b']")
        return self


class Runbook(Strict):
    """A response action: an argv template (no shell) with typed placeholders."""

    name: str
    description: str
    command: list[str] = Field(min_length=1)
    timeout: str = "1m"
    params: dict[str, RunbookParam] = Field(default_factory=dict)

    check_duration_fields = field_validator("timeout")(lambda cls, v: _duration(v))

    @model_validator(mode="after")
    def _placeholders_are_params(self) -> "Runbook":
        from playbooks.runbooks import PLACEHOLDER

        used = {name for part in self.command for name in PLACEHOLDER.findall(part)}
        unknown = used - set(self.params)
        if unknown:
            raise ValueError(f"command uses {{{sorted(unknown)[0]}}} but params do not define it; "
                             f"accepted: placeholders named in [runbooks.params]")
        if PLACEHOLDER.search(self.command[0]):
            raise ValueError("the program (first word) cannot be a placeholder; accepted: a fixed program name")
        return self


class Runbooks(Strict):
    runbooks: list[Runbook] = Field(default_factory=list)
