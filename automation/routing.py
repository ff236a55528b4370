"""Who hears about a change: the comms matrix (playbooks/comms.toml) over the integrations
configured on this installation."""
from __future__ import annotations

from store import outbox


def route_by_matrix(policy, enabled: set[str]) -> outbox.Router:
    """The comms matrix decides who hears what: each stakeholder group of the incident's
    severity, on each of its channels that is configured here."""
    def route(incident, event: str) -> list[tuple[str, str | None]]:
        if event == "action_item_ticket":  # follow-up work goes to the tracker, nowhere else
            return [("jira", None)] if "jira" in enabled else []
        if event == "update_overdue":  # a nudge for the comms lead, on internal channels only
            return [(integration, "Communications lead") for integration in ("slack", "email")
                    if integration in enabled]
        level = policy.level(incident.severity)
        return [(integration, group.name) for group in policy.stakeholders(level)
                for integration in group.integrations if integration in enabled]
    return route
