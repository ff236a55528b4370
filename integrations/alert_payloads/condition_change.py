"""What a notification means for an incident: every alert checked against the policy, and the
one :class:`ConditionChange` to make (raise or clear the condition). Pure: no I/O, no store."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from integrations.alert_payloads.notification import DEFAULT_TITLE, Alert, Notification, PayloadError, parse
from playbooks.errors import PolicyValueError
from playbooks.rules import incident_spec

DEFAULT_SEVERITY = "high"
DEFAULT_TYPE = "outage"
DEFAULT_ENVIRONMENT = "production"

# Severity words of the Prometheus/Alertmanager world the policy does not name itself.
MONITORING_SEVERITIES = {"warning": "medium", "warn": "medium", "error": "high", "info": "low"}

MAX_DETAIL_ITEMS = 50
# A startsAt outside [received - 30 days, received + 5 minutes] is not believed: taken as the
# detection time it would make the incident born overdue and ruin the month's MTTA.
PLAUSIBLE_PAST = timedelta(days=30)
PLAUSIBLE_FUTURE = timedelta(minutes=5)


@dataclass(frozen=True)
class ConditionChange:
    """What to do to the store: raise the condition (firing) or clear it (resolved).

    Severity, type and environment are the policy's canonical values.
    """

    dedup_key: str
    firing: bool
    resolve: bool
    severity: str | None = None
    incident_type: str | None = None
    environment: str | None = None
    title: str = DEFAULT_TITLE
    service: str | None = None
    detected_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None  # the rule of rules.toml the alert named: its actions apply
    log_query: str | None = None
    address: str | None = None
    # The notification it was planned from (its alerts and their labels): silences match each
    # alert's labels, `group_by` regroups it, a partly silenced one is planned again without
    # the silenced alerts.
    notification: Notification | None = field(default=None, compare=False, repr=False)



# -- meaning ---------------------------------------------------------------------------
def severity_level(policy, value: str | None):
    """The policy's severity level for a label value (policy aliases first, then the
    Prometheus words); raises PolicyValueError."""
    raw = DEFAULT_SEVERITY if value is None else value
    try:
        return policy.level(raw)
    except PolicyValueError:
        mapped = MONITORING_SEVERITIES.get(str(raw).strip().lower())
        if mapped is None:
            raise PolicyValueError(
                f"unknown severity {raw!r}; accepted: {policy.severity_accepted()}, "
                f"or {', '.join(MONITORING_SEVERITIES)}"
            ) from None
        return policy.level(mapped)


def plan(notification: Notification, policy, received_at: datetime | None = None) -> ConditionChange:
    """Check every alert against the policy and decide the one change to make.

    `received_at` (aware, or naive UTC) is when the notification arrived: a startsAt outside
    the plausible window around it is set aside (see the module docstring); without it every
    startsAt is taken as given. Raises PayloadError naming the first bad alert; nothing here
    touches the store.
    """
    several = len(notification.alerts) > 1 or notification.source != "generic"
    checked = []
    for number, alert in enumerate(notification.alerts, start=1):
        rule = named_rule(policy, alert)
        spec = incident_spec(rule) if rule is not None else None
        if rule is None and alert.rule is not None:
            alert = replace(alert, rule=None)  # an alertname that is no rule: nothing to carry out
        elif spec is not None:  # the rule's incident where the labels say nothing
            alert = replace(alert, severity=alert.severity or spec[0], incident_type=alert.incident_type or spec[1])
        try:
            level = severity_level(policy, alert.severity)
            workflow = policy.workflow(alert.incident_type or DEFAULT_TYPE)
            environment = policy.environment(alert.environment or DEFAULT_ENVIRONMENT)
        except PolicyValueError as exc:
            raise PayloadError(f"alert {number}: {exc}" if several else str(exc)) from None
        checked.append((alert, level, workflow.type, environment))

    firing = [item for item in checked if item[0].status == "firing"]
    resolved = [item for item in checked if item[0].status == "resolved"]
    rank = {level.id: index for index, level in enumerate(policy.levels)}
    # The most severe firing alert speaks for the group (the first of equals).
    pool = firing if notification.firing and firing else checked
    alert, level, incident_type, environment = min(pool, key=lambda item: rank.get(item[1].id, len(rank)))

    detail: dict[str, Any] = {"source": notification.source}
    if notification.receiver:
        detail["receiver"] = notification.receiver
    names = sorted({a.alertname for a, *_ in checked if a.alertname})
    if names:
        detail["alertnames"] = names[:MAX_DETAIL_ITEMS]
    prints = [a.fingerprint for a, *_ in checked if a.fingerprint]
    if prints:
        detail["fingerprints"] = prints[:MAX_DETAIL_ITEMS]
    if alert.generator_url:
        detail["generatorURL"] = alert.generator_url
    if notification.external_url:
        detail["externalURL"] = notification.external_url
    if alert.description:
        detail["description"] = alert.description
    if alert.rule:
        detail["rule"] = alert.rule
    if notification.source != "generic":
        detail["alerts_firing"] = len(firing)
        detail["alerts_resolved"] = len(resolved)
        # The group's alerts as sent, each with its labels: the incident lists them (show).
        detail["alerts"] = [_listed(a) for a, *_ in checked[:MAX_DETAIL_ITEMS]]
        if len(checked) > MAX_DETAIL_ITEMS:
            detail["alerts_not_listed"] = len(checked) - MAX_DETAIL_ITEMS
    detail.update(notification.extra)

    if not notification.firing:
        return ConditionChange(dedup_key=notification.dedup_key, firing=False, resolve=True, title=alert.title,
                               detail=detail, notification=notification)
    starts = [a.starts_at for a, *_ in firing if a.starts_at is not None]
    if received_at is not None:
        received = received_at if received_at.tzinfo else received_at.replace(tzinfo=timezone.utc)
        believed = [s for s in starts if received - PLAUSIBLE_PAST <= s <= received + PLAUSIBLE_FUTURE]
        ignored = sorted(set(starts) - set(believed))
        if ignored:
            detail["startsAt_ignored"] = [_rfc3339(s) for s in ignored[:MAX_DETAIL_ITEMS]]
            if not believed:
                detail["detected_at_from"] = "received"
                believed = [received]
        starts = believed
    return ConditionChange(
        dedup_key=notification.dedup_key, firing=True, resolve=False, severity=level.id,
        incident_type=incident_type, environment=environment, title=alert.title, service=alert.service,
        detected_at=min(starts) if starts else None, detail=detail, rule=alert.rule, log_query=alert.log_query,
        address=alert.address, notification=notification,
    )


def _listed(alert: Alert) -> dict[str, Any]:
    listed: dict[str, Any] = {"status": alert.status}
    if alert.fingerprint:
        listed["fingerprint"] = alert.fingerprint
    listed["labels"] = alert.label_map
    return listed


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def named_rule(policy, alert: Alert):
    """The rule of the policy's rules.toml the alert names, or None."""
    if not alert.rule:
        return None
    rules = getattr(getattr(policy, "rules", None), "rules", None) or []
    return next((rule for rule in rules if rule.name == alert.rule), None)


def understand(source: str, body: Any, policy, received_at: datetime | None = None) -> ConditionChange:
    """parse + plan in one call."""
    return plan(parse(source, body), policy, received_at)
