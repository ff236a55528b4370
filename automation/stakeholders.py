"""Who is in each stakeholder group and how to reach them: the comms matrix's groups
(playbooks comms.toml) with their members (config.toml `[groups."NAME"] members`, and
`members` in comms.toml) and the members' addresses (`[contacts.NAME]`).

Person-addressed channels — SMS, a phone call, e-mail — go to the group's members and to no
one else; a group with no member reachable on a channel is a start-up warning, and its
messages there are skipped, never sent."""
from __future__ import annotations

from dataclasses import dataclass

from playbooks.config import Configuration

# Integration -> the contact field that addresses a person on it.
PERSON_ADDRESSED = {"sms": "sms", "voice": "phone", "email": "email"}
_WHAT = {"sms": "an sms number", "phone": "a phone number", "email": "an e-mail address"}


@dataclass(frozen=True)
class Directory:
    """The people of the comms matrix, as this installation's configuration names them."""

    configuration: Configuration
    policy: object  # playbooks.policy.Policy (its comms matrix)

    def members(self, group: str) -> list[str]:
        """The contact names in `group`: config.toml's members, then comms.toml's."""
        names = list((self.configuration.groups.get(group) or _NO_GROUP).members)
        for row in self.policy.comms.groups:
            if row.name == group:
                names += row.members
        return list(dict.fromkeys(names))

    def addresses(self, group: str, integration: str) -> list[str]:
        """The addresses `integration` reaches `group`'s members at, once each, in member order.
        E-mail also reaches the group's `[integrations.email.recipients]` addresses."""
        field = PERSON_ADDRESSED[integration]
        found = [getattr(contact, field) for name in self.members(group)
                 if (contact := self.configuration.contacts.get(name)) is not None and getattr(contact, field)]
        email = self.configuration.integrations.email
        if integration == "email" and email is not None and email.recipients:
            found += email.recipients.get(group, [])
        return list(dict.fromkeys(found))

    def unreachable_reason(self, group: str, integration: str) -> str:
        """Why a group's message on a person-addressed channel reaches no one (for a skipped row)."""
        field = PERSON_ADDRESSED[integration]
        return (f"no member: no member of {group} has {_WHAT[field]} "
                f'(add members = [...] under [groups."{group}"] and their [contacts.NAME] {field})')

    def warnings(self) -> list[str]:
        """Start-up warnings: each enabled person-addressed channel of a matrix row that reaches
        nobody (its messages will be skipped), and each member named with no contact."""
        enabled = self.configuration.integrations.configured()
        found: list[str] = []
        for row in self.policy.comms.groups:
            for name in row.members:
                if name not in self.configuration.contacts:
                    found.append(f"{row.name}: comms.toml names member {name!r}, who has no [contacts.{name}] "
                                 "table in config.toml; accepted: names of [contacts.NAME] tables")
            for integration in row.integrations:
                if integration in PERSON_ADDRESSED and integration in enabled \
                        and not self.addresses(row.name, integration):
                    found.append(f"{row.name}: {self.unreachable_reason(row.name, integration)}; "
                                 f"its {integration} messages will be skipped")
        return found


class _NoGroup:
    members: list[str] = []


_NO_GROUP = _NoGroup()
