"""[contacts.*], [groups.*], [drills] and [environments.*]: who an incident's messages reach —
the people and the stakeholder groups they belong to, and what a drill or an incident outside
production may set off."""
from __future__ import annotations

from pydantic import Field, field_validator

from playbooks.config.integrations import IntegrationsTable
from playbooks.config.table import E164, EMAIL, SLACK_MEMBER, Table


# --- [contacts.*], [groups.*]: the people a stakeholder group's messages reach ----------------
class Contact(Table):
    """A person who may be told about an incident, by any of these addresses. Person-addressed
    channels (SMS, a phone call, e-mail) reach the members of a stakeholder group."""

    email: str | None = Field(None, pattern=EMAIL, description="e-mail address", examples=["cto@example.com"])
    sms: str | None = Field(None, pattern=E164, description="mobile number texted, E.164", examples=["+14155550100"])
    phone: str | None = Field(None, pattern=E164, description="number called for SEV-1, E.164",
                              examples=["+14155550100"])
    slack: str | None = Field(None, pattern=SLACK_MEMBER, description="Slack member id", examples=["U012AB3CD"])


class StakeholderGroupTable(Table):
    """Who is in a comms-matrix group (its name as in comms.toml, e.g. "Executive Team")."""

    members: list[str] = Field(default_factory=list, description="names of [contacts.NAME] tables",
                               examples=[["cto"]])


# --- [drills], [environments.*]: who real notifications may reach ----------------------------
class DrillsTable(Table):
    """Drills reach no one real: a drill's messages go only to the integrations listed here;
    every other one is recorded as skipped ("drill"), never sent."""

    integrations: list[str] = Field(default_factory=list, description=(
        "integrations a drill may use (default none), e.g. a practice Slack channel"), examples=[["slack"]])

    @field_validator("integrations")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        known = list(IntegrationsTable.model_fields)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not an integration; accepted: {', '.join(known)}")
        return names


class EnvironmentPolicy(Table):
    """What an incident in this environment may set off. Defaults: production (and "all")
    pages and publishes; staging and development tell only their chat and e-mail groups."""

    pages: bool = Field(description="page people: PagerDuty, Opsgenie, SMS", examples=[False])
    publishes: bool = Field(description="publish on the public status page", examples=[False])


DEFAULT_ENVIRONMENTS = {
    "production": EnvironmentPolicy(pages=True, publishes=True),
    "staging": EnvironmentPolicy(pages=False, publishes=False),
    "development": EnvironmentPolicy(pages=False, publishes=False),
}
