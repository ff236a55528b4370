"""Reading an inbound alert body: the three forms (Alertmanager, Grafana, generic; see the
package docstring) -> one :class:`Notification`. Shape checks only; what it means for an
incident is condition_change.py's. Pure: no I/O, no store."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from integrations.text import CONTROL

SOURCES = ("alertmanager", "grafana", "generic")
STATUSES = ("firing", "resolved")

DEFAULT_TITLE = "Alert"

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
MAX_LABELS = 64  # labels kept per alert (Prometheus alerts carry a dozen; a hostile body thousands)
MAX_LABEL_NAME = 100


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
    # Every label (commonLabels under the alert's own; the generic form's fields), sorted: what
    # silences match and `group_by` groups on, never the summary text.
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


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


def kept_labels(*layers: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The labels of an alert as kept: later layers over earlier ones, each value one line of at
    most 200 characters, at most MAX_LABELS of them, sorted by name."""
    merged: dict[str, str] = {}
    for layer in layers:
        for name, value in layer.items():
            name = one_line(name, MAX_LABEL_NAME)
            if name:
                merged[name] = one_line(value) or ""
    return tuple(sorted(merged.items()))[:MAX_LABELS]


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
            labels=kept_labels(common_labels, labels),
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
    """The documented generic form (see the package docstring)."""
    body = _object(body, "the body")
    key = body.get("key")
    if isinstance(key, bool) or not isinstance(key, (str, int)) or not str(key).strip():
        raise PayloadError("the body needs a non-empty \"key\" string (the dedup key)")
    status = _status(body.get("status"), "status")
    title = _generic_value(body, ("title",), "title")
    if status == "firing" and not title:
        raise PayloadError("a firing alert needs a non-empty \"title\"")
    fields = {name: value for name, value in (
        ("key", str(key).strip()),
        ("service", _generic_value(body, ("service",), "service")),
        ("severity", _generic_value(body, ("severity",), "severity")),
        ("type", _generic_value(body, ("type", "incident_type"), "type")),
        ("environment", _generic_value(body, ("environment", "env"), "environment")),
        ("rule", _generic_value(body, RULE_LABELS, "rule")),
    ) if value is not None}
    alert = Alert(
        status=status,
        labels=kept_labels(_string_map(body.get("labels"), "labels"), fields),
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

