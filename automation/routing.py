"""Who hears about a change: the comms matrix (playbooks/comms.toml) over the integrations
configured on this installation, within what the incident may set off: a drill reaches only
the integrations `[drills]` lists, and an environment that does not page or publish reaches
no pager and no public page. What may not go out is still written, as a skipped row with the
reason, so the war room and the outbox say who was not told and why."""
from __future__ import annotations

from playbooks.config import Configuration
from store import outbox

# Who hears that a regulator's clock started, whatever the incident's severity (comms-matrix rows).
COMPLIANCE_GROUPS = ("Legal/Compliance", "Security Team")
# Integrations that wake a person up, and the one that speaks to the public.
PAGING = frozenset({"pagerduty", "opsgenie", "sms"})
PUBLISHING = frozenset({"statuspage"})
# Trackers that keep one ticket per incident. With auto_ticket_creation on, each follows the
# incident's lifecycle whatever the matrix says (no stakeholder group: the ticket is the
# incident's record, not a message to a group); "closed" reaches them and nothing else.
TICKETING = frozenset({"jira", "servicenow", "remedy", "cherwell"})
TICKET_LIFECYCLE = frozenset({"declared", "status_update", "severity_changed", "resolved", "closed"})


def route_by_matrix(policy, enabled: set[str], configuration: Configuration | None = None) -> outbox.Router:
    """The comms matrix decides who hears what: each stakeholder group of the incident's
    severity, on each of its channels that is configured here."""
    configuration = configuration or Configuration()
    # A tracker enabled here with no table in `configuration` (a caller that passed none) files
    # tickets: auto_ticket_creation's default.
    ticketing = sorted(name for name in TICKETING & enabled
                       if getattr(getattr(configuration.integrations, name, None), "auto_ticket_creation", True))

    def wanted(incident, event: str) -> list[tuple[str, str | None]]:
        if event in TICKET_LIFECYCLE:
            tickets = [(integration, None) for integration in ticketing]
            if event == "closed":
                return tickets
            return tickets + [(integration, group) for integration, group in matrix(incident, event)
                              if integration not in ticketing]  # one ticket update per event, not one per group
        return matrix(incident, event)

    def matrix(incident, event: str) -> list[tuple[str, str | None]]:
        if event == "action_item_ticket":  # follow-up work goes to the tracker, nowhere else
            return [("jira", None)] if "jira" in enabled else []
        if event == "update_overdue":  # a nudge for the comms lead, on internal channels only
            return [(integration, "Communications lead") for integration in ("slack", "email")
                    if integration in enabled]
        if event in ("compliance_clock_started", "compliance_reminder"):  # a legal deadline: any severity
            return [(integration, group.name) for group in policy.comms.groups if group.name in COMPLIANCE_GROUPS
                    for integration in group.integrations if integration in enabled]
        level = policy.level(incident.severity)
        return [(integration, group.name) for group in policy.stakeholders(level)
                for integration in group.integrations if integration in enabled]

    def route(incident, event: str) -> list[tuple[str, str | None, str | None]]:
        return [(integration, group, why_not(configuration, incident, integration))
                for integration, group in wanted(incident, event)]
    return route


def why_not(configuration: Configuration, incident, integration: str) -> str | None:
    """Why a message of this incident may not go out on this integration; None when it may."""
    if incident.is_drill and integration not in configuration.drills.integrations:
        return "drill: a drill reaches only the integrations [drills] integrations lists"
    environment = configuration.environment(incident.environment)
    if integration in PAGING and not environment.pages:
        return (f"{incident.environment}: this environment pages nobody "
                f"([environments.{incident.environment}] pages = true to change it)")
    if integration in PUBLISHING and not environment.publishes:
        return (f"{incident.environment}: this environment publishes nothing "
                f"([environments.{incident.environment}] publishes = true to change it)")
    return None
