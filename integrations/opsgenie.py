"""Opsgenie Alert API v2 notifier: one alert per incident, its alias the incident id.

  [integrations.opsgenie]
  url = "https://api.opsgenie.com"     # base URL (https://api.eu.opsgenie.com in the EU; a fake in tests)
  api_key_env = "OPSGENIE_API_KEY"      # the API integration key comes from this variable

Contract (docs.opsgenie.com Alert API): `Authorization: GenieKey <key>`, JSON bodies.
- create: POST {url}/v2/alerts {message (<= 130 characters), alias (<= 512), description
  (<= 15000), priority P1..P5, tags (<= 20, each <= 50), details (string values, <= 8000
  characters in all), entity, source (<= 100)};
- acknowledge / close: POST {url}/v2/alerts/{alias}/acknowledge|close?identifierType=alias
  {source, note};
- add note: POST {url}/v2/alerts/{alias}/notes?identifierType=alias {note, source};
- priority: PUT {url}/v2/alerts/{alias}/priority?identifierType=alias {priority}.
Every request is asynchronous: 202 {"result": "Request will be processed", "requestId"}.
401 (bad key) and 400 / 422 (the body is wrong) are final; 429, 5xx and network trouble are
retried (Retry-After honoured when given).

Events: declared and escalated create the alert (Opsgenie deduplicates on the alias: an open
alert with it only counts one more occurrence, so a re-sent create never pages twice);
acknowledged acknowledges, resolved closes, status_update adds a note, severity_changed sets
the priority. SEV-1..SEV-4 are P1..P4.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from integrations.http import json_or_none, parse_retry_after, sanitize
from integrations.notifier import Delivery, OutboxMessage, request_or_retry
from integrations.secrets import secret_from_env
from integrations.text import truncate
from playbooks.severities import canonical_severity

DEFAULT_URL = "https://api.opsgenie.com"
MESSAGE_MAX = 130
ALIAS_MAX = 512
DESCRIPTION_MAX = 15_000
NOTE_MAX = 25_000
SOURCE_MAX = 100
ENTITY_MAX = 512
TAG_MAX = 50
TAGS_MAX = 20
DETAILS_MAX = 8_000

#: Which Alert API request each outbox event becomes.
ACTIONS: dict[str, str] = {"declared": "create", "escalated": "create", "acknowledged": "acknowledge",
                           "resolved": "close", "status_update": "note", "severity_changed": "priority",
                           "compliance_clock_started": "note", "compliance_reminder": "note",
                           # a rule's page and security alert: an alert (the same alias updates it)
                           "page": "create", "security_alert": "create"}

#: SEV-1..SEV-4 to Opsgenie's priority.
PRIORITIES: dict[str, str] = {"SEV-1": "P1", "SEV-2": "P2", "SEV-3": "P3", "SEV-4": "P4"}
#: When an incident's severity cannot be read it still pages, as P2 (as PagerDuty gets "error").
FALLBACK_PRIORITY = "P2"

_REJECTED_STATUSES = frozenset({400, 413, 415, 422})
_DETAIL_KEYS = ("event", "title", "severity", "status", "type", "environment", "service", "summary", "url")


def priority_for(value: Any) -> str:
    """Opsgenie's priority for SEV-1..4 (also sev1, p1, 1, critical/high/medium/low); P2 if unknown."""
    return PRIORITIES.get(canonical_severity(value) or "", FALLBACK_PRIORITY)


class OpsgenieNotifier:
    """Delivers outbox messages as Opsgenie Alert API v2 requests (see the module docstring)."""

    integration = "opsgenie"

    def __init__(self, url: str = DEFAULT_URL, api_key_env: str = "OPSGENIE_API_KEY",
                 source: str = "incident-response", timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.api_key_env = api_key_env
        self.source = truncate(source, SOURCE_MAX)
        self.timeout = timeout  # None: the client's own timeout

    # -- the request ------------------------------------------------------------------------------

    def request_for(self, message: OutboxMessage) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        """(method, url, query, JSON body) for `message`. Raises ValueError (one sentence) if it cannot have one."""
        action = ACTIONS.get(message.event)
        if action is None:
            raise ValueError(f"Opsgenie has no request for outbox event {message.event!r}.")
        payload = message.payload or {}
        alias = str(payload.get("id") or message.incident_id or "").strip()
        if not alias:
            raise ValueError("The message names no incident id to use as Opsgenie alias.")
        if len(alias) > ALIAS_MAX:
            raise ValueError(f"The incident id is longer than Opsgenie's {ALIAS_MAX}-character alias limit.")
        if action == "create":
            return "POST", f"{self.url}/v2/alerts", {}, self._alert(message, alias)
        target = f"{self.url}/v2/alerts/{quote(alias, safe='')}"
        query = {"identifierType": "alias"}
        if action == "priority":
            return "PUT", f"{target}/priority", query, {"priority": priority_for(payload.get("severity"))}
        note = _note(message)
        if action == "note":
            return "POST", f"{target}/notes", query, {"note": note, "source": self.source}
        return "POST", f"{target}/{action}", query, {"note": note, "source": self.source}

    def _alert(self, message: OutboxMessage, alias: str) -> dict[str, Any]:
        payload = message.payload or {}
        severity = str(payload.get("severity") or "").strip()
        title = " ".join(str(payload.get("title") or payload.get("summary") or "Incident").split())
        headline = f"[{severity}] {alias}: {title}" if severity else f"{alias}: {title}"
        alert: dict[str, Any] = {
            "message": truncate(" ".join(headline.split()), MESSAGE_MAX),
            "alias": alias,
            "description": truncate(_description(payload, title), DESCRIPTION_MAX),
            "priority": priority_for(severity),
            "source": self.source,
            "tags": _tags(payload),
            "details": _details(message),
        }
        service = str(payload.get("service") or "").strip()
        if service:
            alert["entity"] = truncate(service, ENTITY_MAX)
        return alert

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Send the request for `message`; sent on 202, rejected on 401/400/422, retry on 429 / 5xx / network trouble."""
        key = secret_from_env(self.api_key_env).strip()
        if not key:
            return Delivery("retry", f"Opsgenie API key missing: set the environment variable {self.api_key_env}.")
        try:
            method, url, query, body = self.request_for(message)
        except ValueError as error:
            return Delivery("rejected", str(error))
        action, alias = ACTIONS[message.event], _alias_of(message)
        what = f"{action} for {alias}"
        kwargs: dict[str, Any] = {"json": body, "params": query,
                                  "headers": {"Authorization": f"GenieKey {key}", "Accept": "application/json"}}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        response = request_or_retry(client, method, url, vendor="Opsgenie", setting="integrations.opsgenie.url",
                                    what=what, **kwargs)
        if isinstance(response, Delivery):
            return response
        return self._outcome(response, what, alias, key)

    def _outcome(self, response: httpx.Response, what: str, alias: str, key: str) -> Delivery:
        status = response.status_code
        if 200 <= status < 300:
            answer = json_or_none(response)
            if isinstance(answer, dict) and answer.get("requestId"):
                request_id = sanitize(str(answer["requestId"]), [key], 80)
                return Delivery("sent", f"Opsgenie took the {what} (request {request_id}).", reference=alias)
            # Not Opsgenie's answer (a proxy's page): creates deduplicate on the alias and
            # acknowledge / close are idempotent, so sending again is safe.
            return Delivery("retry", f"Opsgenie answered {status} without a request id; will send the {what} again.")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        reason = sanitize(_errors_of(response), [key])
        because = f": {reason}." if reason else "."
        if status == 401:
            return Delivery("rejected", f"Opsgenie refused the API key from {self.api_key_env} (401) "
                                        f"for the {what}{because}")
        if status in _REJECTED_STATUSES:
            return Delivery("rejected", f"Opsgenie rejected the {what} ({status}){because}")
        if status == 429:
            return Delivery("retry", f"Opsgenie is rate limiting (429); the {what} waits.", retry_after)
        if status >= 500:
            return Delivery("retry", f"Opsgenie had a server error ({status}) on the {what}.", retry_after)
        return Delivery("retry", f"Opsgenie answered {status} to the {what}; check integrations.opsgenie.url.",
                        retry_after)


def _alias_of(message: OutboxMessage) -> str:
    return str((message.payload or {}).get("id") or message.incident_id or "").strip()


def _note(message: OutboxMessage) -> str:
    payload = message.payload or {}
    text = " ".join(str(payload.get("message") or payload.get("summary") or "").split())
    status = str(payload.get("status") or "").strip()
    if not text:
        text = f"{message.event.replace('_', ' ').capitalize()} in incident-response"
    if status and message.event == "status_update":
        text = f"Status {status}: {text}"
    return truncate(text, NOTE_MAX)


def _description(payload: dict[str, Any], title: str) -> str:
    lines = [title]
    summary = str(payload.get("summary") or "").strip()
    if summary and summary != title:
        lines += ["", summary]
    facts = [f"{label}: {payload[key]}" for key, label in
             (("severity", "Severity"), ("status", "Status"), ("type", "Type"), ("environment", "Environment"),
              ("service", "Service"), ("url", "Incident")) if payload.get(key) not in (None, "")]
    if facts:
        lines += [""] + facts
    return "\n".join(lines)


def _tags(payload: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    for value in ("incident-response", payload.get("severity"), payload.get("type"),
                  payload.get("environment"), payload.get("service")):
        tag = truncate(" ".join(str(value or "").split()), TAG_MAX)
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:TAGS_MAX]


def _details(message: OutboxMessage) -> dict[str, str]:
    """String key/values (Opsgenie's details), at most DETAILS_MAX characters in all."""
    payload = message.payload or {}
    details: dict[str, str] = {"incident_id": _alias_of(message), "event": message.event}
    for key in _DETAIL_KEYS:
        if key != "event" and payload.get(key) not in (None, ""):
            details[key] = " ".join(str(payload[key]).split())
    budget = DETAILS_MAX - sum(len(k) + len(v) for k, v in details.items() if k != "summary")
    if "summary" in details:
        details["summary"] = truncate(details["summary"], max(1, budget - len("summary")))
    return details


def _errors_of(response: httpx.Response) -> str:
    """The reason Opsgenie gave: its `message`, then the field errors of `errors`."""
    answer = json_or_none(response)
    if not isinstance(answer, dict):
        return ""
    parts = []
    if isinstance(answer.get("message"), str) and answer["message"]:
        parts.append(answer["message"])
    errors = answer.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {text}" for field, text in errors.items()]
    elif isinstance(errors, list):
        parts += [str(item) for item in errors]
    return "; ".join(parts)
