"""PagerDuty Events API v2 notifier: trigger, acknowledge and resolve one alert per incident.

  [integrations.pagerduty]
  url = "https://events.pagerduty.com"      # base URL of the Events API v2 (a proxy or a fake in tests)
  routing_key_env = "PAGERDUTY_ROUTING_KEY" # the 32-character integration key comes from this variable

Contract (PagerDuty/api-schema reference/events-v2/openapiv3.json and the Events API v2
docs): POST {url}/v2/enqueue with a JSON body {routing_key, event_action, dedup_key,
payload}; `payload` (summary <= 1024 characters, source, severity in critical / error /
warning / info, optional component / group / class / custom_details) only on trigger;
dedup_key <= 255 characters and required on acknowledge and resolve. 202 means accepted,
400 means the event is invalid and must not be retried, 429 and 5xx and network errors
mean retry later.

Every event of an incident uses the incident id as dedup_key, so the whole lifecycle is
one PagerDuty alert, and re-sending a message after a crash between send and mark-sent
does not page twice: a second trigger with the same dedup_key updates the open alert.
"""
from __future__ import annotations

from typing import Any

import httpx

from integrations.http import json_or_none, parse_retry_after, sanitize
from integrations.notifier import Delivery, OutboxMessage, request_or_retry
from integrations.secrets import secret_from_env
from integrations.text import truncate
from playbooks.severities import canonical_severity

DEFAULT_URL = "https://events.pagerduty.com"
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255

#: Which Events API action each outbox event becomes. Re-triggering an open alert with the
#: same dedup_key updates it (PagerDuty deduplicates), so updates are triggers too.
ACTIONS: dict[str, str] = {
    "declared": "trigger",
    "escalated": "trigger",
    "severity_changed": "trigger",
    "status_update": "trigger",
    "compliance_clock_started": "trigger",
    "compliance_reminder": "trigger",
    "page": "trigger",            # a rule pages the on-call engineer now
    "security_alert": "trigger",  # a rule alerts the Security Team (when it is reached by PagerDuty)
    "acknowledged": "acknowledge",
    "resolved": "resolve",
}

#: SEV-1..SEV-4 to PagerDuty's payload.severity.
SEVERITIES: dict[str, str] = {"SEV-1": "critical", "SEV-2": "error", "SEV-3": "warning", "SEV-4": "info"}
#: When an incident's severity cannot be read, PagerDuty still gets the page, as "error".
FALLBACK_SEVERITY = "error"

# Outcomes by HTTP status besides 2xx: 400 (and the other "this body is wrong" answers) are
# final; everything else (429, 5xx, a proxy's 403/404/407, ...) may heal, so it is retried
# and the outbox dead-letters it after its attempt limit.
_REJECTED_STATUSES = frozenset({400, 413, 415, 422})
_CUSTOM_DETAIL_KEYS = ("event", "title", "severity", "status", "type", "environment", "service",
                       "summary", "message", "url")


def severity_for(value: Any) -> str:
    """PagerDuty's severity for SEV-1..4 (also sev1, p1, 1, critical/high/medium/low); "error" if unknown."""
    return SEVERITIES.get(canonical_severity(value) or "", FALLBACK_SEVERITY)


class PagerDutyNotifier:
    """Delivers outbox messages as PagerDuty Events API v2 events (see the module docstring)."""

    integration = "pagerduty"

    def __init__(self, url: str = DEFAULT_URL, routing_key_env: str = "PAGERDUTY_ROUTING_KEY",
                 source: str = "incident-response", timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.routing_key_env = routing_key_env
        self.source = source
        self.timeout = timeout  # None: the client's own timeout

    @property
    def endpoint(self) -> str:
        return f"{self.url}/v2/enqueue"

    # -- the request ------------------------------------------------------------------------------

    def event_for(self, message: OutboxMessage, routing_key: str) -> dict[str, Any]:
        """The Events API v2 body for `message`. Raises ValueError (one sentence) if it cannot have one."""
        action = ACTIONS.get(message.event)
        if action is None:
            raise ValueError(f"PagerDuty has no event action for outbox event {message.event!r}.")
        payload = message.payload or {}
        dedup_key = str(payload.get("id") or message.incident_id or message.idempotency_key or "").strip()
        if not dedup_key:
            raise ValueError("The message names no incident id to use as PagerDuty dedup_key.")
        if len(dedup_key) > DEDUP_KEY_MAX:
            raise ValueError(f"The incident id is longer than PagerDuty's {DEDUP_KEY_MAX}-character dedup_key limit.")
        body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key}
        if action == "trigger":
            body["payload"] = self._alert_payload(message, dedup_key)
            body["client"] = self.source
            url = payload.get("url")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                body["links"] = [{"href": url, "text": f"Incident {dedup_key}"}]
        return body

    def _alert_payload(self, message: OutboxMessage, dedup_key: str) -> dict[str, Any]:
        payload = message.payload or {}
        severity = str(payload.get("severity") or "").strip()
        title = str(payload.get("title") or payload.get("summary") or "Incident").strip()
        headline = f"[{severity}] {dedup_key}: {title}" if severity else f"{dedup_key}: {title}"
        status = str(payload.get("status") or "").strip()
        if status:
            headline += f" ({status})"
        alert: dict[str, Any] = {
            "summary": truncate(" ".join(headline.split()), SUMMARY_MAX),
            "source": self.source,
            "severity": severity_for(severity),
        }
        for field, key in (("component", "service"), ("group", "environment"), ("class", "type")):
            value = payload.get(key)
            if value not in (None, ""):
                alert[field] = str(value)
        details = {"event": message.event}
        details.update({key: payload[key] for key in _CUSTOM_DETAIL_KEYS
                        if key != "event" and payload.get(key) not in (None, "")})
        alert["custom_details"] = details
        return alert

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """POST the event for `message`; sent on 202, rejected on 400, retry on 429 / 5xx / network trouble."""
        routing_key = secret_from_env(self.routing_key_env).strip()
        if not routing_key:
            return Delivery("retry", f"PagerDuty routing key missing: set the environment variable {self.routing_key_env}.")
        try:
            body = self.event_for(message, routing_key)
        except ValueError as error:
            return Delivery("rejected", str(error))
        action, dedup_key = body["event_action"], body["dedup_key"]
        kwargs: dict[str, Any] = {"json": body, "headers": {"Accept": "application/json"}}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        response = request_or_retry(client, "POST", self.endpoint, vendor="PagerDuty",
                                    setting="integrations.pagerduty.url", what=f"{action} for {dedup_key}", **kwargs)
        if isinstance(response, Delivery):
            return response
        return self._outcome(response, action, dedup_key, routing_key)

    def _outcome(self, response: httpx.Response, action: str, dedup_key: str, routing_key: str) -> Delivery:
        status = response.status_code
        if 200 <= status < 300:
            answer = json_or_none(response)
            if isinstance(answer, dict) and answer.get("status") == "success":
                return Delivery("sent", f"PagerDuty accepted the {action} for {dedup_key}.")
            # A 2xx without PagerDuty's answer is something else (a proxy's page): PagerDuty
            # deduplicates on dedup_key, so sending again is safe.
            return Delivery("retry", f"PagerDuty answered {status} without its success status; will send the {action} again.")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in _REJECTED_STATUSES:
            reason = sanitize(_errors_of(response), [routing_key])
            detail = f"PagerDuty rejected the {action} for {dedup_key} ({status})"
            return Delivery("rejected", f"{detail}: {reason}." if reason else f"{detail}.")
        if status == 429:
            return Delivery("retry", f"PagerDuty is rate limiting (429); the {action} for {dedup_key} waits.", retry_after)
        if status >= 500:
            return Delivery("retry", f"PagerDuty had a server error ({status}) on the {action} for {dedup_key}.", retry_after)
        return Delivery("retry", f"PagerDuty answered {status} to the {action} for {dedup_key}; check integrations.pagerduty.url.",
                        retry_after)


def _errors_of(response: httpx.Response) -> str:
    """The reason PagerDuty gave: its `errors` list, else its `message`, else nothing."""
    answer = json_or_none(response)
    if not isinstance(answer, dict):
        return ""
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(item) for item in errors)
    for key in ("message", "status"):
        if isinstance(answer.get(key), str):
            return answer[key]
    return ""
