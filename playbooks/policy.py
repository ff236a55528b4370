"""Questions asked of the policy: what does this alias mean, when is a response due,
when is the next update due, who must hear about it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from playbooks.calendar import BusinessCalendar
from playbooks.durations import parse_duration
from playbooks.errors import PolicyValueError
from playbooks.schema import (
    CommsMatrix,
    CompliancePolicy,
    DetectionRules,
    Runbooks,
    SeverityLevel,
    SeverityPolicy,
    StakeholderGroup,
    Workflow,
)
from playbooks.statuses import STATUSES

# "all": an incident that hits every environment (routed as production).
ENVIRONMENTS = ("production", "staging", "development", "all")
ENVIRONMENT_ALIASES = {"prod": "production", "stage": "staging", "stg": "staging", "dev": "development"}

# Incident roles (each held with assumed/released times) and the short names people type.
ROLES = (
    "incident_commander", "communications_lead", "operations_lead", "scribe", "security_lead", "liaison",
)
ROLE_ALIASES = {
    "ic": "incident_commander", "commander": "incident_commander",
    "comms": "communications_lead", "cl": "communications_lead",
    "ops": "operations_lead", "ol": "operations_lead",
    "security": "security_lead", "sec": "security_lead",
}


@dataclass(frozen=True)
class Policy:
    severity: SeverityPolicy
    workflows: dict[str, Workflow]
    comms: CommsMatrix
    rules: DetectionRules
    compliance: CompliancePolicy
    runbooks: Runbooks = field(default_factory=lambda: Runbooks())
    _aliases: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for level in self.severity.levels:
            for alias in (level.id, level.name, *level.aliases):
                self._aliases[alias.lower()] = level.id

    # -- severity ---------------------------------------------------------------
    @property
    def calendar(self) -> BusinessCalendar:
        return self.severity.calendar.build()

    @property
    def levels(self) -> list[SeverityLevel]:
        return sorted(self.severity.levels, key=lambda level: level.id)

    def severity_accepted(self) -> str:
        names = ", ".join(level.name for level in self.levels)
        return f"{names} (or SEV-1..SEV-4, sev1..sev4, p1..p4, 1..4)"

    def level(self, alias: str) -> SeverityLevel:
        """The severity level an alias names ("critical", "p1", "SEV-1", "1" ...)."""
        level_id = self._aliases.get(str(alias).strip().lower())
        if level_id is None:
            raise PolicyValueError(f"unknown severity {alias!r}; accepted: {self.severity_accepted()}")
        return next(level for level in self.severity.levels if level.id == level_id)

    def response_deadline(self, level: SeverityLevel, detected_at: datetime) -> datetime:
        """When the incident must be acknowledged by, on the level's clock."""
        target = level.response_target
        within = parse_duration(target.within)
        if target.clock == "business_hours":
            return self.calendar.add_business_hours(detected_at, within)
        if target.clock == "business_days":
            return self.calendar.add_business_days(detected_at, within.days)
        return detected_at + within

    def next_update_due(self, level: SeverityLevel, after: datetime) -> datetime:
        return after + level.update_cadence

    # -- type and environment ---------------------------------------------------
    def workflow(self, incident_type: str) -> Workflow:
        key = str(incident_type).strip().lower()
        if key not in self.workflows:
            raise PolicyValueError(f"unknown type {incident_type!r}; accepted: {', '.join(self.workflows)}")
        return self.workflows[key]

    def headline(self, incident_type: str) -> str:
        """The status-page headline; a type whose playbook was removed still gets one."""
        workflow = self.workflows.get(incident_type)
        return workflow.headline if workflow else f"{incident_type.capitalize()} Incident"

    @staticmethod
    def environment(value: str) -> str:
        key = str(value).strip().lower()
        key = ENVIRONMENT_ALIASES.get(key, key)
        if key not in ENVIRONMENTS:
            raise PolicyValueError(f"unknown environment {value!r}; accepted: {', '.join(ENVIRONMENTS)}")
        return key

    @staticmethod
    def status(value: str) -> str:
        key = str(value).strip().lower()
        if key not in STATUSES:
            raise PolicyValueError(f"unknown status {value!r}; accepted: {', '.join(STATUSES)}")
        return key

    @staticmethod
    def role(value: str) -> str:
        key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        key = ROLE_ALIASES.get(key, key)
        if key not in ROLES:
            raise PolicyValueError(f"unknown role {value!r}; accepted: {', '.join(ROLES)} (or ic, comms, ops, sec)")
        return key

    # -- communication ----------------------------------------------------------
    def stakeholders(self, level: SeverityLevel) -> list[StakeholderGroup]:
        """The comms-matrix rows that must hear about an incident of this severity."""
        return [group for group in self.comms.groups if level.id in group.severities]
