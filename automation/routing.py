"""Who hears about a change: the comms matrix (playbooks/comms.toml) over the integrations
configured on this installation."""
from __future__ import annotations

from store import outbox


def route_by_matrix(policy, enabled: set[str]) -> outbox.Router:
    """The comms matrix decides who hears what: each stakeholder group of the incident's
    severity, on each of its channels that is configured here."""
    def route(incident, event: str) -> list[tuple[str, str | None]]:
        level = policy.level(incident.severity)
        return [(integration, group.name) for group in policy.stakeholders(level)
                for integration in group.integrations if integration in enabled]
    return route
