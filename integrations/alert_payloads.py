"""Inbound alert bodies -> what they mean for an incident. Pure: no I/O, no store.

Three forms are understood, one per route of ``incident-response serve``:

Alertmanager webhook (``webhook_config``, payload ``"version": "4"``)
    One notification per alert *group*: ``receiver``, ``status`` (firing|resolved),
    ``groupKey``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``,
    ``externalURL``, ``truncatedAlerts`` and ``alerts[]`` (each: ``status``, ``labels``,
    ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL``, ``fingerprint``).
    Dedup key ``am:<groupKey>``: one incident per group.

Grafana alerting webhook (the contact point's "Webhook" integration)
    The same Alertmanager-like body plus ``orgId``, ``state``, ``title``, ``message``
    and per-alert ``silenceURL``, ``dashboardURL``, ``panelURL``, ``values`` /
    ``valueString``. Dedup key ``grafana:<fingerprint of the first alert>``, or
    ``grafana:<groupKey>`` when the first alert carries no fingerprint.

Generic JSON (for anything else: cron jobs, scripts, other monitors)::

    {
      "key": "db-pool-exhausted",        # required: the dedup key, one open incident per key
      "status": "firing",                # required: "firing" or "resolved"
      "title": "Pool at 100%",           # required when firing (one line, cut to 200 chars)
      "severity": "critical",            # optional, default "high"; any policy alias (p1, sev1, 1 ...)
      "type": "outage",                  # optional, default "outage"; or security, performance, data, integration
      "environment": "production",       # optional, default "production"; or staging, development (prod/stage/dev)
      "service": "checkout",             # optional
      "description": "free text",        # optional, kept on the timeline event
      "rule": "security_anomaly",        # optional: a rule of rules.toml whose actions apply
      "log_query": "failed password",    # optional: narrows the rule's log collection
      "source_ip": "203.0.113.7"         # optional: the address a rule proposes to isolate
    }

    Dedup key ``generic:<key>``. ``incident_type`` is accepted for ``type`` and ``env``
    for ``environment``.

Mapping (Alertmanager and Grafana): the labels ``severity``, ``type`` (or
``incident_type``), ``environment`` (or ``env``) and ``service`` of each alert, falling
back to ``commonLabels``; missing ones default to severity ``high``, type ``outage``,
environment ``production``. An alert that names a rule of ``rules.toml`` (its ``rule``
label, else its ``alertname``) takes that rule's severity and type where its labels give
none, and the rule's actions apply to the incident it opens; its ``log_query`` label and its
source address (``source_ip``, ``src_ip``, ``client_ip``, ``remote_addr``,
``source_address``, ``address``, else ``instance``) fill the actions' arguments. Besides
the policy's own severity names and aliases, the
Prometheus conventions ``warning``/``warn`` (medium), ``error`` (high) and ``info``
(low) are understood. The title is the alert's ``annotations.summary`` (falling back to
``commonAnnotations.summary``), else its ``alertname`` label, else "Alert".

A group opens one incident: its severity is that of the most severe firing alert, and
type, environment, service and title come from that alert. Every alert is checked,
firing or not, so one bad label anywhere rejects the whole body before anything is
written. A dedup key longer than the store's 128 characters (long group keys) becomes
``<prefix>:sha256:<hex digest>``; the original is kept in the event detail.

``startsAt`` is when monitoring saw the condition first, and becomes the incident's detection
time (its response deadline counts from it) only when it is plausible: within the last
30 days and no more than five minutes ahead of the time the notification was received. One
outside that window (year 2, a clock years off) is ignored; with no plausible one the
receive time is used, and the event's detail says so (``startsAt_ignored``: the times set
aside, ``detected_at_from``: "received").

Entry points: :func:`parse` (body -> :class:`Notification`, shape checks only) and
:func:`plan` (notification + policy [+ the receive time] -> :class:`ConditionChange`, every
value checked).
Both raise :class:`PayloadError` with a one-sentence message.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from integrations.text import CONTROL
from playbooks.errors import PolicyValueError
from playbooks.rules import incident_spec

SOURCES = ("alertmanager", "grafana", "generic")
STATUSES = ("firing", "resolved")

DEFAULT_SEVERITY = "high"
DEFAULT_TYPE = "outage"
DEFAULT_ENVIRONMENT = "production"
DEFAULT_TITLE = "Alert"

# Severity words of the Prometheus/Alertmanager world the policy does not name itself.
MONITORING_SEVERITIES = {"warning": "medium", "warn": "medium", "error": "high", "info": "low"}

SEVERITY_LABELS = ("severity",)
TYPE_LABELS = ("type", "incident_type")
ENVIRONMENT_LABELS = ("environment", "env")
SERVICE_LABELS = ("service",)
RULE_LABELS = ("rule",)
LOG_QUERY_LABELS = ("log_query",)
# Where an alert names the address it is about, most specific first: `instance` (Prometheus's
# scrape target, often host:port) only when nothing names the source itself.
ADDRESS_LABELS = ("source_ip", "src_ip", "client_ip", "remote_addr", "source_address", "address", "instance")
MAX_LOG_QUERY = 1000

MAX_DEDUP_KEY = 128  # the store's incident.dedup_key column
MAX_TITLE = 200  # the store's one-line limit
MAX_DETAIL_TEXT = 2000
MAX_DETAIL_ITEMS = 50
# A startsAt outside [received - 30 days, received + 5 minutes] is not believed: taken as the
# detection time it would make the incident born overdue and ruin the month's MTTA.
PLAUSIBLE_PAST = timedelta(days=30)
PLAUSIBLE_FUTURE = timedelta(minutes=5)


class PayloadError(ValueError):
    """The body is not a notification this route understands; the message is one sentence."""


@dataclass(frozen=True)
class Alert:
    """One alert as its labels describe it (raw label values, not yet checked against the policy)."""

    status: str
    severity: str | None = None
    incident_type: str | None = None
    environment: str | None = None
    service: str | None = None
    title: str = DEFAULT_TITLE
    alertname: str | None = None
    fingerprint: str | None = None
    generator_url: str | None = None
    starts_at: datetime | None = None  # aware UTC; None when absent or the zero time
    description: str | None = None
    rule: str | None = None  # the `rule` label, else the alertname (a rule only if rules.toml has it)
    log_query: str | None = None
    address: str | None = None  # raw text: checked as an IP address only when an action uses it


@dataclass(frozen=True)
class Notification:
    """One inbound notification: a dedup key, its overall status, and its alerts."""

    source: str
    dedup_key: str
    status: str
    alerts: tuple[Alert, ...]
    receiver: str | None = None
    external_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific facts for the timeline

    @property
    def firing(self) -> bool:
        return self.status == "firing"


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


# -- small helpers ---------------------------------------------------------------------
def one_line(value: Any, limit: int = MAX_TITLE) -> str | None:
    """Text fit for a one-line field: control characters and runs of whitespace become
    one space, and it is cut to `limit` characters (ending with an ellipsis)."""
    if value is None:
        return None
    text = " ".join(CONTROL.sub(" ", str(value)).split())
    if not text:
        return None
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def _detail_text(value: Any, limit: int = MAX_DETAIL_TEXT) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _object(value: Any, what: str, *, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object, not {_kind(value)}")
    return value


def _string_map(value: Any, what: str) -> dict[str, str]:
    """Labels and annotations: an object of strings (absent or null means empty)."""
    mapping = _object(value, what, required=False)
    for key, item in mapping.items():
        if not isinstance(item, str):
            raise PayloadError(f"{what}[{key!r}] must be a string, not {_kind(item)}")
    return mapping


def _optional_string(body: dict[str, Any], key: str, what: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a string, not {_kind(value)}")
    return value


def _status(value: Any, what: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in STATUSES:
        raise PayloadError(f"{what} is {value!r}; accepted: firing or resolved")
    return value.strip().lower()


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _timestamp(value: Any) -> datetime | None:
    """RFC 3339 (Go writes nanoseconds; Python keeps microseconds); the zero time is None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment.year <= 1:  # Go's zero time: "not set"
        return None
    return moment.astimezone(timezone.utc)


def _label(labels: dict[str, str], common: dict[str, str], names: tuple[str, ...]) -> str | None:
    for source in (labels, common):
        for name in names:
            value = source.get(name)
            if value is not None and value.strip():
                return value.strip()
    return None


def dedup_key(prefix: str, raw: str) -> str:
    """`prefix:raw`, or `prefix:sha256:<hex>` when that would not fit the store's column
    or holds characters a one-line field refuses."""
    key = f"{prefix}:{raw}"
    if len(key) <= MAX_DEDUP_KEY and not CONTROL.search(key) and raw == raw.strip():
        return key
    return f"{prefix}:sha256:{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()}"


# -- Alertmanager and Grafana ----------------------------------------------------------
def _alertmanager_like(body: Any) -> tuple[dict[str, Any], list[Alert]]:
    body = _object(body, "the body")
    status = _status(body.get("status"), "the notification's status")
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError(f"the body's alerts must be a list, not {_kind(alerts)}")
    if not alerts:
        raise PayloadError("the notification has no alerts; accepted: at least one alert")
    common_labels = _string_map(body.get("commonLabels"), "commonLabels")
    common_annotations = _string_map(body.get("commonAnnotations"), "commonAnnotations")
    _string_map(body.get("groupLabels"), "groupLabels")
    parsed = []
    for number, raw in enumerate(alerts, start=1):
        what = f"alert {number}"
        raw = _object(raw, what)
        labels = _string_map(raw.get("labels"), f"{what}'s labels")
        annotations = _string_map(raw.get("annotations"), f"{what}'s annotations")
        alertname = labels.get("alertname") or common_labels.get("alertname")
        summary = annotations.get("summary") or common_annotations.get("summary")
        title = one_line(summary) or one_line(alertname) or DEFAULT_TITLE
        parsed.append(Alert(
            status=_status(raw.get("status", status), f"{what}'s status"),
            severity=_label(labels, common_labels, SEVERITY_LABELS),
            incident_type=_label(labels, common_labels, TYPE_LABELS),
            environment=_label(labels, common_labels, ENVIRONMENT_LABELS),
            service=one_line(_label(labels, common_labels, SERVICE_LABELS)),
            title=title,
            alertname=one_line(alertname),
            fingerprint=one_line(_optional_string(raw, "fingerprint", f"{what}'s fingerprint"), 128),
            generator_url=_detail_text(_optional_string(raw, "generatorURL", f"{what}'s generatorURL")),
            starts_at=_timestamp(raw.get("startsAt")),
            description=_detail_text(annotations.get("description") or common_annotations.get("description")),
            rule=one_line(_label(labels, common_labels, RULE_LABELS)) or one_line(alertname),
            log_query=one_line(_label(labels, common_labels, LOG_QUERY_LABELS), MAX_LOG_QUERY),
            address=one_line(_label(labels, common_labels, ADDRESS_LABELS), 100),
        ))
    return body, parsed


def parse_alertmanager(body: Any) -> Notification:
    """An Alertmanager webhook (version 4) notification."""
    body, alerts = _alertmanager_like(body)
    version = body.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError(f"the Alertmanager payload version is {version!r}; accepted: \"4\"")
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key.strip():
        raise PayloadError("the notification has no groupKey; accepted: an Alertmanager webhook body")
    truncated = body.get("truncatedAlerts")
    truncated = truncated if isinstance(truncated, int) and not isinstance(truncated, bool) else 0
    return Notification(
        source="alertmanager", dedup_key=dedup_key("am", group_key), status=_status(body["status"], "status"),
        alerts=tuple(alerts), receiver=one_line(_optional_string(body, "receiver", "receiver")),
        external_url=_detail_text(_optional_string(body, "externalURL", "externalURL")),
        extra={"group_key": _detail_text(group_key), **({"truncated_alerts": truncated} if truncated else {})},
    )


def parse_grafana(body: Any) -> Notification:
    """A Grafana alerting webhook notification."""
    body, alerts = _alertmanager_like(body)
    group_key = body.get("groupKey")
    if group_key is not None and not isinstance(group_key, str):
        raise PayloadError(f"groupKey must be a string, not {_kind(group_key)}")
    anchor = alerts[0].fingerprint or (group_key.strip() if group_key else None)
    if not anchor:
        raise PayloadError("the notification has neither a fingerprint on its first alert nor a groupKey")
    extra: dict[str, Any] = {}
    if group_key:
        extra["group_key"] = _detail_text(group_key)
    if isinstance(body.get("orgId"), (int, str)) and not isinstance(body.get("orgId"), bool):
        extra["org_id"] = body["orgId"] if isinstance(body["orgId"], int) else one_line(body["orgId"], 64)
    if isinstance(body.get("state"), str):
        extra["state"] = one_line(body["state"], 32)
    return Notification(
        source="grafana", dedup_key=dedup_key("grafana", anchor), status=_status(body["status"], "status"),
        alerts=tuple(alerts), receiver=one_line(_optional_string(body, "receiver", "receiver")),
        external_url=_detail_text(_optional_string(body, "externalURL", "externalURL")), extra=extra,
    )


# -- generic ---------------------------------------------------------------------------
def _generic_value(body: dict[str, Any], names: tuple[str, ...], what: str) -> str | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise PayloadError(f"{what} must be a string, not {_kind(value)}")
        if str(value).strip():
            return str(value).strip()
    return None


def parse_generic(body: Any) -> Notification:
    """The documented generic form (see the module docstring)."""
    body = _object(body, "the body")
    key = body.get("key")
    if isinstance(key, bool) or not isinstance(key, (str, int)) or not str(key).strip():
        raise PayloadError("the body needs a non-empty \"key\" string (the dedup key)")
    status = _status(body.get("status"), "status")
    title = _generic_value(body, ("title",), "title")
    if status == "firing" and not title:
        raise PayloadError("a firing alert needs a non-empty \"title\"")
    alert = Alert(
        status=status,
        severity=_generic_value(body, ("severity",), "severity"),
        incident_type=_generic_value(body, ("type", "incident_type"), "type"),
        environment=_generic_value(body, ("environment", "env"), "environment"),
        service=one_line(_generic_value(body, ("service",), "service")),
        title=one_line(title) or DEFAULT_TITLE,
        description=_detail_text(_generic_value(body, ("description",), "description")),
        rule=one_line(_generic_value(body, RULE_LABELS, "rule")),
        log_query=one_line(_generic_value(body, LOG_QUERY_LABELS, "log_query"), MAX_LOG_QUERY),
        address=one_line(_generic_value(body, ADDRESS_LABELS, "the source address"), 100),
    )
    return Notification(source="generic", dedup_key=dedup_key("generic", str(key).strip()), status=status,
                        alerts=(alert,))


PARSERS: dict[str, Callable[[Any], Notification]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "generic": parse_generic,
}


def parse(source: str, body: Any) -> Notification:
    """The notification in a decoded JSON body from `source` (alertmanager|grafana|generic)."""
    try:
        parser = PARSERS[source]
    except KeyError:
        raise PayloadError(f"unknown alert source {source!r}; accepted: {', '.join(SOURCES)}") from None
    return parser(body)


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
    detail.update(notification.extra)

    if not notification.firing:
        return ConditionChange(dedup_key=notification.dedup_key, firing=False, resolve=True, title=alert.title,
                               detail=detail)
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
        address=alert.address,
    )


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
