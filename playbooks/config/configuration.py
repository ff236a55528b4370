"""The whole file: the Configuration root, every table optional, and where it was read from."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, PrivateAttr, field_validator

from playbooks.config.alerts import AlertsTable
from playbooks.config.audience import (
    DEFAULT_ENVIRONMENTS,
    Contact,
    DrillsTable,
    EnvironmentPolicy,
    StakeholderGroupTable,
)
from playbooks.config.escalation import EscalationPolicy, checked_targets
from playbooks.config.heartbeats import Heartbeat, checked_heartbeat_names
from playbooks.config.integrations import Integration, IntegrationsTable
from playbooks.config.oncall import Schedule
from playbooks.config.program import StoreTable, TuiTable
from playbooks.config.sources import LogsTable, SourcesTable
from playbooks.config.table import Table


# --- the whole file --------------------------------------------------------------------------
class Configuration(Table):
    """config.toml: every table is optional; with no file at all the command center runs on the
    embedded default (a local SQLite file, this host's metrics, no notifications)."""

    store: StoreTable = Field(default_factory=StoreTable, description="[store]")
    tui: TuiTable = Field(default_factory=TuiTable, description="[tui]")
    sources: SourcesTable = Field(default_factory=SourcesTable, description="[sources.*]")
    logs: LogsTable = Field(default_factory=LogsTable, description="[logs.*]")
    integrations: IntegrationsTable = Field(default_factory=IntegrationsTable, description="[integrations.*]")
    drills: DrillsTable = Field(default_factory=DrillsTable, description="[drills]")
    alerts: AlertsTable = Field(default_factory=AlertsTable, description="[alerts]")
    environments: dict[str, EnvironmentPolicy] = Field(default_factory=dict, description=(
        "[environments.NAME]: production, staging or development"), examples=[{"staging": {}}])
    contacts: dict[str, Contact] = Field(default_factory=dict, description=(
        "[contacts.NAME]: a person and their addresses"), examples=[{"cto": {}}])
    groups: dict[str, StakeholderGroupTable] = Field(default_factory=dict, description=(
        '[groups."GROUP NAME"]: a stakeholder group\'s members'), examples=[{"Executive Team": {}}])
    schedules: dict[str, Schedule] = Field(default_factory=dict, description=(
        "[schedules.NAME]: an on-call rotation of contacts"), examples=[{"primary": {}}])
    heartbeats: dict[str, Heartbeat] = Field(default_factory=dict, description=(
        "[heartbeats.NAME]: a job that must report by POST /heartbeat/NAME"), examples=[{"nightly-backup": {}}])
    escalation: dict[str, EscalationPolicy] = Field(default_factory=dict, description=(
        "[escalation.NAME]: who is paged, step by step, until someone acknowledges"), examples=[{"sev1": {}}])

    @field_validator("groups")
    @classmethod
    def _members_known(cls, groups: dict[str, StakeholderGroupTable], info) -> dict[str, StakeholderGroupTable]:
        contacts = info.data.get("contacts") or {}
        for name, group in groups.items():
            unknown = [member for member in group.members if member not in contacts]
            if unknown:
                known = ", ".join(contacts) or "none defined yet"
                raise ValueError(f"{name!r} names {unknown[0]!r}, who has no [contacts.{unknown[0]}] table; "
                                 f"accepted: names of [contacts.NAME] tables ({known})")
        return groups

    @field_validator("schedules")
    @classmethod
    def _schedule_members_known(cls, schedules: dict[str, Schedule], info) -> dict[str, Schedule]:
        contacts = info.data.get("contacts") or {}
        for name, schedule in schedules.items():
            unknown = [member for member in schedule.all_members() if member not in contacts]
            if unknown:
                known = ", ".join(contacts) or "none defined yet"
                raise ValueError(f"schedule {name!r} names {unknown[0]!r}, who has no [contacts.{unknown[0]}] "
                                 f"table; accepted: names of [contacts.NAME] tables ({known})")
        return schedules

    @field_validator("escalation")
    @classmethod
    def _escalation_targets_known(cls, policies: dict[str, EscalationPolicy], info) -> dict[str, EscalationPolicy]:
        checked_targets(policies, schedules=info.data.get("schedules") or {},
                        contacts=info.data.get("contacts") or {}, groups=info.data.get("groups") or {})
        return policies

    @field_validator("heartbeats")
    @classmethod
    def _heartbeat_names(cls, heartbeats: dict[str, Heartbeat]) -> dict[str, Heartbeat]:
        checked_heartbeat_names(heartbeats)
        return heartbeats

    @field_validator("environments")
    @classmethod
    def _environments_known(cls, tables: dict[str, EnvironmentPolicy]) -> dict[str, EnvironmentPolicy]:
        unknown = [name for name in tables if name not in DEFAULT_ENVIRONMENTS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an environment; accepted: {', '.join(DEFAULT_ENVIRONMENTS)} "
                             "(\"all\" follows production)")
        return tables

    def environment(self, name: str) -> EnvironmentPolicy:
        """The policy of an incident's environment ("all", and any other, as production)."""
        name = name if name in DEFAULT_ENVIRONMENTS else "production"
        return self.environments.get(name) or DEFAULT_ENVIRONMENTS[name]

    # Where it came from (None: no file, the embedded default); not a key of the file.
    _path: Path | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        return self._path

    def secret_variables(self) -> list[tuple[str, str]]:
        """Every (key path, variable name) of an `_env` key in effect (switched-off
        integrations left out), in file order: the variables that hold this configuration's
        secrets."""
        found: list[tuple[str, str]] = []

        def walk(table: BaseModel, where: str) -> None:
            for name in type(table).model_fields:
                value = getattr(table, name)
                if isinstance(value, Integration) and not value.enabled:
                    continue
                if isinstance(value, BaseModel):
                    walk(value, f"{where}.{name}" if where else name)
                elif name.endswith("_env") and isinstance(value, str):
                    found.append((f"{where}.{name}", value))

        for section in ("sources", "logs", "integrations"):
            walk(getattr(self, section), section)
        return found
