"""Who hears about a change: the comms matrix (playbooks/comms.toml) over the integrations
configured on this installation, within what the incident may set off: a drill reaches only
the integrations `[drills]` lists, and an environment that does not page or publish reaches
no pager and no public page. What may not go out is still written, as a skipped row with the
reason, so the war room and the outbox say who was not told and why."""
from __future__ import annotations

from dataclasses import dataclass

from automation.stakeholders import PERSON_ADDRESSED, Directory
from playbooks.comms import Router, facts_of
from playbooks.config import Configuration

# Who hears that a regulator's clock started, whatever the incident's severity (comms-matrix rows).
COMPLIANCE_GROUPS = ("Legal/Compliance", "Security Team")
# Integrations that wake a person up, and the one that speaks to the public.
PAGING = frozenset({"pagerduty", "opsgenie", "sms", "voice"})
PUBLISHING = frozenset({"statuspage"})
# Trackers that keep one ticket per incident. With auto_ticket_creation on, each follows the
# incident's lifecycle whatever the matrix says (no stakeholder group: the ticket is the
# incident's record, not a message to a group); "closed" reaches them and nothing else.
TICKETING = frozenset({"jira", "servicenow", "remedy", "cherwell"})
TICKET_LIFECYCLE = frozenset({"declared", "status_update", "severity_changed", "resolved", "closed"})
# The comms matrix's own events (the rest are routed by purpose: tickets, nudges, legal clocks).
MATRIX_EVENTS = frozenset({"declared", "acknowledged", "severity_changed", "status_update", "escalated", "resolved"})
# A phone call is for news that must wake someone: an incident becoming SEV-1, not each update.
CALLING_EVENTS = frozenset({"declared", "escalated", "severity_changed", "page"})
ON_CALL_GROUP = "On-Call Engineers"
SECURITY_GROUP = "Security Team"


def route_by_matrix(policy, enabled: set[str], configuration: Configuration | None = None) -> Router:
    """The comms matrix decides who hears what: each stakeholder group of the incident's
    severity, on each of its channels that is configured here."""
    # With a configuration, person-addressed channels go to the groups' members (automation/stakeholders.py).
    directory = Directory(configuration, policy) if configuration is not None else None
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
        if event == "page":  # a rule pages the on-call group now, whatever the severity's matrix row
            return [(integration, group.name) for group in policy.comms.groups if group.name == ON_CALL_GROUP
                    for integration in group.integrations if integration in PAGING and integration in enabled]
        if event == "status_page":  # a rule opens or moves the public incident to the status it names
            return [(integration, group.name) for group in policy.comms.groups for integration in group.integrations
                    if integration in PUBLISHING and integration in enabled] or \
                [(integration, None) for integration in sorted(PUBLISHING & enabled)]
        if event == "war_room":  # a rule opens the incident's own channel
            return [("slack", None)] if "slack" in enabled else []
        if event == "security_alert":  # a rule alerts the Security Team on its channels, any severity
            return [(integration, group.name) for group in policy.comms.groups if group.name == SECURITY_GROUP
                    for integration in group.integrations if integration in enabled]
        level = policy.level(incident.severity)
        return [(integration, group.name) for group in policy.stakeholders(level)
                for integration in group.integrations if integration in enabled]

    def route(incident, event: str) -> list[tuple[str, str | None, str | None, dict | None]]:
        rows = [(integration, group, why_not(configuration, incident, integration))
                for integration, group in wanted(incident, event)]
        if directory is None:  # no configuration given: the notifiers' own recipients (older callers)
            return rows
        if event in MATRIX_EVENTS or event == "page":  # a rule's page texts the on-call contacts too
            rows += on_call_texts(configuration, incident)
        return one_message_per_channel(addressed(directory, configuration, incident, event, rows))
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


def on_call_texts(configuration: Configuration, incident) -> list[tuple[str, str, str | None]]:
    """`[integrations.sms] on_call_contacts` are texted as the on-call group; `critical_only`
    limits that list (and only it) to SEV-1."""
    sms = configuration.integrations.sms
    if sms is None or not sms.enabled or not sms.on_call_contacts:
        return []
    reason = why_not(configuration, incident, "sms")
    if reason is None and sms.critical_only and incident.severity != "SEV-1":
        reason = (f"critical-only: on-call contacts are texted for SEV-1 only ({incident.severity}; "
                  "[integrations.sms] critical_only = false to change it)")
    return [("sms", ON_CALL_GROUP, reason)]


def addressed(directory: Directory, configuration: Configuration, incident, event: str,
              rows: list[tuple[str, str | None, str | None]]) -> list[tuple[str, str | None, str | None, list | None]]:
    """Each row with the addresses it goes to (person-addressed channels; None for the rest),
    and the reason it goes to no one when the group has no reachable member."""
    out = []
    for integration, group, reason in rows:
        if integration == "voice":
            if event not in CALLING_EVENTS:
                continue  # an update is texted and mailed, not phoned
            if reason is None and incident.severity != "SEV-1":
                reason = f"critical-only: phone calls are for SEV-1 only ({incident.severity})"
        if integration == "email" and reason is None and group:
            reason = _email_switch(configuration, group)
        recipients = None
        if integration in PERSON_ADDRESSED and group:
            sms = configuration.integrations.sms
            if integration == "sms" and group == ON_CALL_GROUP and sms is not None:
                recipients = list(dict.fromkeys(sms.on_call_contacts + directory.addresses(group, "sms")))
            else:
                recipients = directory.addresses(group, integration)
            if reason is None and not recipients:
                reason = directory.unreachable_reason(group, integration)
        out.append((integration, group, reason, recipients))
    return out


def _email_switch(configuration: Configuration, group: str) -> str | None:
    email = configuration.integrations.email
    if email is None:
        return None
    name = group.casefold()
    if name in {g.casefold() for g in email.executive_groups} and not email.executive_notifications:
        return "executive mail is off ([integrations.email] executive_notifications = true to change it)"
    if name in {g.casefold() for g in email.customer_groups} and not email.customer_updates:
        return "customer mail is off ([integrations.email] customer_updates = true to change it)"
    return None


def one_message_per_channel(rows) -> list[tuple[str, str | None, str | None, dict | None]]:
    """Groups that share a channel get one message naming them all: per integration, every row
    that may go out becomes one, to the union of their recipients (each person once). Skipped
    rows stay one per group, each with its reason."""
    merged: dict[str, tuple[list[str], list[str] | None]] = {}
    out: list[tuple[str, str | None, str | None, dict | None]] = []
    for integration, group, reason, recipients in rows:
        if reason is not None:
            out.append((integration, group, reason, {"groups": [group] if group else []}))
            continue
        groups, addresses = merged.setdefault(integration, ([], None if recipients is None else []))
        if group and group not in groups:
            groups.append(group)
        if recipients is not None:
            addresses = list(dict.fromkeys((addresses or []) + recipients))
            merged[integration] = (groups, addresses)
    for integration, (groups, addresses) in merged.items():
        extra: dict = {"groups": groups}
        if addresses is not None:
            extra["recipients"] = addresses
        out.append((integration, ", ".join(groups) or None, None, extra))
    return out


@dataclass(frozen=True)
class Heard:
    """Who a message about to be written would reach: for the composer to show before it posts."""

    integration: str
    groups: str | None
    skipped: str | None  # why it would not go out; None when it would


def who_hears(store, incident_id: str, event: str = "status_update") -> list[Heard]:
    """The rows the store's router would write for `event` on this incident, without writing them."""
    from store.models import Incident

    if store.router is None:
        return []
    with store.db.read() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return []
        rows = store.router(facts_of(incident), event)
    return [Heard(integration, group, rest[0] if rest else None) for integration, group, *rest in rows]
