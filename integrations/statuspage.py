"""Atlassian Statuspage notifier: one public incident per incident, walked through its statuses.

  [integrations.statuspage]
  url = "https://api.statuspage.io"     # base URL of the REST API (a proxy or a fake in tests)
  page_id = "kctbh9vrtdwd"               # the page the incidents are published on
  api_key_env = "STATUSPAGE_API_KEY"     # the API key comes from this variable
  auto_updates = true                    # false: only declare and resolve reach the page
  component_mapping = true               # true: the page's component named like the service;
                                         # false: no components; or a table:
  # [integrations.statuspage.component_mapping]
  # checkout = "8kbf7d35c070"            # service -> Statuspage component id

Contract (developer.statuspage.io, Incidents): `Authorization: OAuth <key>`; create with
POST {url}/v1/pages/{page_id}/incidents and a JSON body {"incident": {name, status, body,
component_ids, components, metadata}} -> 201 with the incident (its `id` is kept as the
Delivery reference); later messages PATCH {url}/v1/pages/{page_id}/incidents/{id} with
{"incident": {status, body, component_ids, components}} -> 200. Incident status is one of
investigating / identified / monitoring / resolved; a component's is operational /
degraded_performance / partial_outage / major_outage (/ under_maintenance). 401 (bad key),
400 / 422 (the body is wrong, e.g. a transition the page refuses) and 404 on an update (the
incident is gone) are final; 420 and 429 (rate limit, 1 request a second per key), 5xx and
network trouble are retried.

What is published (the page is public, so only the headline and the public text go out: never
the internal summary, the incident id or the incident's URL):
- declared: a new incident, named by its public headline (`payload["public_headline"]`: the
  playbook's headline for the type, e.g. "Service Outage", never the internal title), in the
  incident's status; an update whose engineer chose a headline (`payload["headline"]`) renames it;
- status_update, resolved: an update with the new status and the comms lead's words when
  they wrote one (`payload["message"]`, then "Affected: ..." and "Next Update: ..."), else
  Statuspage's stock sentence for that status;
- status_page (a rule's update_status_page('identified')): the incident opened, or moved, in
  the status the rule named (`payload["page_status"]`), with Statuspage's stock sentence for it;
- severity_changed: the components' statuses only, no public text;
- acknowledged, escalated: nothing (internal news); answered "skipped" without a request.
With auto_updates = false, status_update and severity_changed are not published either: the
comms lead words the page by hand between the automatic open and resolve.
Components come from component_mapping[payload["service"]] (a comma-separated service
names several): SEV-1 major_outage, SEV-2 partial_outage, SEV-3 and SEV-4
degraded_performance, operational once resolved. With component_mapping = true the
page's components are read (GET {url}/v1/pages/{page_id}/components, kept for 5 minutes)
and a service matches the component of the same name or id, ignoring case.

Statuspage does not deduplicate, so the incident id is stored in the incident's `metadata`
and, before creating one, the page's unresolved incidents are searched for it: a create whose
answer was lost (timeout, crash between send and mark-sent) is adopted, not published twice.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from integrations.http import json_or_none, parse_retry_after, sanitize
from integrations.notifier import Delivery, OutboxMessage, request_or_retry, update_text
from integrations.secrets import secret_from_env
from integrations.text import truncate
from playbooks.severities import canonical_severity

DEFAULT_URL = "https://api.statuspage.io"
NAME_MAX = 255
BODY_MAX = 10_000
METADATA_KEY = "incident_response"  # metadata[METADATA_KEY]["incident_id"] names our incident
COMPONENTS_TTL = 300.0  # seconds the page's component names are kept (component_mapping = true)

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")

#: Our incident status (payload["status"]) to Statuspage's; "closed" is resolved after review.
STATUSES: dict[str, str] = {"investigating": "investigating", "identified": "identified",
                            "monitoring": "monitoring", "resolved": "resolved", "closed": "resolved"}

#: SEV-1..SEV-4 to the status of the affected components while the incident is open.
COMPONENT_IMPACT: dict[str, str] = {"SEV-1": "major_outage", "SEV-2": "partial_outage",
                                    "SEV-3": "degraded_performance", "SEV-4": "degraded_performance"}
#: When the severity cannot be read, the components still show trouble.
FALLBACK_IMPACT = "partial_outage"

#: Statuspage's stock text for each status, used when the message carries no public text.
STOCK_BODIES: dict[str, str] = {
    "investigating": "We are currently investigating this issue.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
}

# What each outbox event does on the page (see the module docstring).
_CREATE, _UPDATE, _COMPONENTS, _SKIP = "create", "update", "components", "skip"
ACTIONS: dict[str, str] = {"declared": _CREATE, "status_update": _UPDATE, "resolved": _UPDATE,
                           "severity_changed": _COMPONENTS, "acknowledged": _SKIP, "escalated": _SKIP,
                           # a regulator's clock is never public news
                           "compliance_clock_started": _SKIP, "compliance_reminder": _SKIP,
                           # a rule's update_status_page('<status>') opens or moves the page's
                           # incident to that status; its other actions are internal news
                           "status_page": _UPDATE, "page": _SKIP, "war_room": _SKIP, "security_alert": _SKIP}

_REJECTED_STATUSES = frozenset({400, 413, 415, 422})


def incident_status_for(value: Any) -> str | None:
    """Statuspage's incident status for our incident status; None if it has none."""
    return STATUSES.get(str(value or "").strip().lower())


def component_status_for(severity: Any, incident_status: str | None) -> str:
    """The status of an affected component: by severity while open, operational once resolved."""
    if incident_status == "resolved":
        return "operational"
    level = canonical_severity(severity)
    return COMPONENT_IMPACT[level] if level else FALLBACK_IMPACT


class StatuspageNotifier:
    """Delivers outbox messages as one Statuspage incident per incident (see the module docstring)."""

    integration = "statuspage"

    def __init__(self, page_id: str, url: str = DEFAULT_URL, api_key_env: str = "STATUSPAGE_API_KEY",
                 component_mapping: Mapping[str, str] | bool | None = None, auto_updates: bool = True,
                 timeout: float | None = None) -> None:
        page_id = str(page_id or "").strip()
        if not page_id or "/" in page_id:
            raise ValueError("integrations.statuspage.page_id must name the Statuspage page (its id).")
        if not isinstance(component_mapping, (Mapping, bool, type(None))) or (
                isinstance(component_mapping, Mapping)
                and not all(isinstance(v, str) and v.strip() for v in component_mapping.values())):
            raise ValueError("integrations.statuspage.component_mapping must be true, false or a table of "
                             "service names to component ids.")
        if not isinstance(auto_updates, bool):
            raise ValueError("integrations.statuspage.auto_updates must be true or false.")
        self.page_id = page_id
        self.url = url.rstrip("/")
        self.api_key_env = api_key_env
        self.match_by_name = component_mapping is True
        self.component_mapping: dict[str, str] = (
            {str(k): v.strip() for k, v in component_mapping.items()} if isinstance(component_mapping, Mapping) else {})
        self.auto_updates = auto_updates
        self.timeout = timeout  # None: the client's own timeout
        self._by_name: tuple[float, dict[str, str]] | None = None  # (read at, lower-cased name or id -> id)

    @property
    def incidents_url(self) -> str:
        return f"{self.url}/v1/pages/{self.page_id}/incidents"

    # -- the request ------------------------------------------------------------------------------

    def components_for(self, payload: dict[str, Any], incident_status: str | None,
                       by_name: dict[str, str] | None = None) -> dict[str, str]:
        """component id -> component status for the incident's service(s): from component_mapping,
        or from `by_name` (lower-cased component name or id -> id) when component_mapping is true."""
        status = component_status_for(payload.get("severity"), incident_status)
        if self.match_by_name:
            ids = [(by_name or {}).get(name.lower()) for name in _services(payload)]
        else:
            ids = [self.component_mapping.get(name) for name in _services(payload)]
        return {cid: status for cid in ids if cid}

    def action_for(self, event: str) -> str:
        """What `event` does on the page: create, update, components or skip. ValueError if unknown."""
        action = ACTIONS.get(event)
        if action is None:
            raise ValueError(f"Statuspage has nothing to do for outbox event {event!r}.")
        if not self.auto_updates and event in ("status_update", "severity_changed"):
            return _SKIP
        return action

    def incident_for(self, message: OutboxMessage, *, create: bool,
                     by_name: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The {"incident": {...}} body for `message`: a create's or an update's; None when
        there is nothing to publish. Raises ValueError (one sentence) if it cannot have one."""
        action = self.action_for(message.event)
        if action == _SKIP:
            return None
        payload = message.payload or {}
        named = payload.get("page_status") if message.event == "status_page" else payload.get("status")
        status = "resolved" if message.event == "resolved" else incident_status_for(named)
        components = self.components_for(payload, status, by_name)
        incident: dict[str, Any] = {}
        if create:
            # The public headline (the playbook's for the type, or the engineer's choice): the
            # internal title is an engineer's shorthand and never published on its own.
            title = " ".join(str(payload.get("public_headline") or "").split()) or _type_headline(payload)
            if not title:
                raise ValueError("The message has no public headline to name the Statuspage incident.")
            incident_id = _incident_id(message)
            if not incident_id:
                raise ValueError("The message names no incident id to find its Statuspage incident by.")
            status = status or "investigating"
            incident["name"] = truncate(title, NAME_MAX)
            incident["status"] = status
            incident["body"] = self._public_text(payload, status)
            incident["metadata"] = {METADATA_KEY: {"incident_id": incident_id}}
        elif action == _COMPONENTS:
            if not components:
                return None
            # The components follow the severity; the page's status and text stay as they are.
        elif status is not None:
            incident["status"] = status
            incident["body"] = self._public_text(payload, status)
            if payload.get("headline"):  # the engineer chose a new public headline with this update
                incident["name"] = truncate(" ".join(str(payload["headline"]).split()), NAME_MAX)
        if components:
            incident["component_ids"] = sorted(components)
            incident["components"] = components
        return {"incident": incident} if incident else None

    @staticmethod
    def _public_text(payload: dict[str, Any], status: str) -> str:
        text = update_text(payload)  # the comms lead's words, Affected and Next Update
        return truncate(text, BODY_MAX) if text else STOCK_BODIES[status]

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Create or update the page's incident for `message`; never raises for vendor or network trouble."""
        reference = message.reference
        try:
            if self.action_for(message.event) == _SKIP:
                return Delivery("skipped", f"Nothing to publish on Statuspage for {message.event}.",
                                reference=reference)
        except ValueError as error:
            return Delivery("rejected", str(error))
        key = secret_from_env(self.api_key_env).strip()
        if not key:
            return Delivery("retry", f"Statuspage API key missing: set the environment variable {self.api_key_env}.",
                            reference=reference)
        call = _Call(self, client, key)
        by_name = None
        if self.match_by_name and _services(message.payload or {}):
            by_name = call.component_names()
            if isinstance(by_name, Delivery):
                return Delivery(by_name.outcome, by_name.detail, by_name.retry_after, reference)
        try:
            body = self.incident_for(message, create=reference is None, by_name=by_name)
        except ValueError as error:
            return Delivery("rejected", str(error))
        if body is None:
            return Delivery("skipped", f"Nothing to publish on Statuspage for {message.event}.",
                            reference=reference)
        if reference is None:
            found = call.find(_incident_id(message))
            if isinstance(found, Delivery):
                return found
            if found is not None and message.event == "declared":
                return Delivery("sent", f"Statuspage already had incident {found} for {_incident_id(message)}; kept it.",
                                reference=found)
            if found is not None:
                reference = found
                body = self.incident_for(message, create=False, by_name=by_name)
                if body is None:
                    return Delivery("skipped", f"Nothing to publish on Statuspage for {message.event}.",
                                    reference=reference)
        if reference is None:
            return call.create(body)
        return call.update(reference, body)


class _Call:
    """The requests of one delivery attempt, sharing the key and the error handling."""

    def __init__(self, notifier: StatuspageNotifier, client: httpx.Client, key: str) -> None:
        self.notifier = notifier
        self.client = client
        self.key = key

    def _send(self, method: str, url: str, what: str, body: Any = None) -> httpx.Response | Delivery:
        kwargs: dict[str, Any] = {"headers": {"Authorization": f"OAuth {self.key}", "Accept": "application/json"}}
        if body is not None:
            kwargs["json"] = body
        if self.notifier.timeout is not None:
            kwargs["timeout"] = self.notifier.timeout
        return request_or_retry(self.client, method, url, vendor="Statuspage", setting="integrations.statuspage.url",
                                what=what, **kwargs)

    def component_names(self) -> dict[str, str] | Delivery:
        """The page's components, lower-cased name and id -> id (kept COMPONENTS_TTL seconds)."""
        notifier = self.notifier
        if notifier._by_name is not None and time.monotonic() - notifier._by_name[0] < COMPONENTS_TTL:
            return notifier._by_name[1]
        what = "list of the page's components"
        response = self._send("GET", f"{notifier.url}/v1/pages/{notifier.page_id}/components", what)
        if isinstance(response, Delivery):
            return response
        if response.status_code != 200:
            return self._failure(response, what, update=False)
        answer = json_or_none(response)
        if not isinstance(answer, list):
            return Delivery("retry", "Statuspage answered the component list without a list; will try again.")
        by_name: dict[str, str] = {}
        for component in answer:
            if isinstance(component, dict) and isinstance(component.get("id"), str) and component["id"]:
                by_name[component["id"].lower()] = component["id"]
                if isinstance(component.get("name"), str) and component["name"].strip():
                    by_name.setdefault(" ".join(component["name"].split()).lower(), component["id"])
        notifier._by_name = (time.monotonic(), by_name)
        return by_name

    def find(self, incident_id: str) -> str | Delivery | None:
        """The id of the page's unresolved incident made for `incident_id`, None if there is none."""
        what = f"search for {incident_id}"
        response = self._send("GET", f"{self.notifier.incidents_url}/unresolved", what)
        if isinstance(response, Delivery):
            return response
        if response.status_code != 200:
            return self._failure(response, what, update=False)
        answer = json_or_none(response)
        if not isinstance(answer, list):
            return Delivery("retry", "Statuspage answered the incident search without a list; will try again.")
        for incident in answer:
            if not isinstance(incident, dict):
                continue
            metadata = incident.get("metadata")
            ours = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
            if isinstance(ours, dict) and ours.get("incident_id") == incident_id and incident.get("id"):
                return str(incident["id"])
        return None

    def create(self, body: dict[str, Any]) -> Delivery:
        status = body["incident"]["status"]
        what = f"new {status} incident"
        response = self._send("POST", self.notifier.incidents_url, what, body)
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            answer = json_or_none(response)
            if isinstance(answer, dict) and isinstance(answer.get("id"), str) and answer["id"]:
                return Delivery("sent", f"Statuspage published incident {answer['id']} ({status}).",
                                reference=answer["id"])
            # It may exist now: the next attempt finds it by its metadata instead of creating another.
            return Delivery("retry", f"Statuspage answered {response.status_code} without the incident id; "
                                     "will look for it again.")
        return self._failure(response, what, update=False)

    def update(self, reference: str, body: dict[str, Any]) -> Delivery:
        incident = body["incident"]
        change = incident.get("status") or "components"
        what = f"{change} update of incident {reference}"
        response = self._send("PATCH", f"{self.notifier.incidents_url}/{reference}", what, body)
        if isinstance(response, Delivery):
            return Delivery(response.outcome, response.detail, response.retry_after, reference)
        if 200 <= response.status_code < 300:
            answer = json_or_none(response)
            if isinstance(answer, dict) and answer.get("id"):
                return Delivery("sent", f"Statuspage took the {what}.", reference=reference)
            return Delivery("retry", f"Statuspage answered {response.status_code} without the incident; "
                                     f"will send the {what} again.", reference=reference)
        failure = self._failure(response, what, update=True)
        return Delivery(failure.outcome, failure.detail, failure.retry_after, reference)

    def _failure(self, response: httpx.Response, what: str, *, update: bool) -> Delivery:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        reason = sanitize(_error_of(response), [self.key])
        because = f": {reason}." if reason else "."
        if status == 401:
            return Delivery("rejected", f"Statuspage refused the API key from {self.notifier.api_key_env} "
                                        f"(401) for the {what}{because}")
        if status in _REJECTED_STATUSES:
            return Delivery("rejected", f"Statuspage rejected the {what} ({status}){because}")
        if status == 404 and update:
            return Delivery("rejected", f"Statuspage no longer has the incident for the {what} (404){because}")
        if status in (420, 429):
            return Delivery("retry", f"Statuspage is rate limiting ({status}); the {what} waits.", retry_after)
        if status >= 500:
            return Delivery("retry", f"Statuspage had a server error ({status}) on the {what}.", retry_after)
        return Delivery("retry", f"Statuspage answered {status} to the {what}; check integrations.statuspage.url "
                                 "and page_id.", retry_after)


def _services(payload: dict[str, Any]) -> list[str]:
    """The incident's service names: `service` as a string (comma-separated) or a list."""
    services = payload.get("service")
    if isinstance(services, str):
        names = services.split(",")
    elif isinstance(services, (list, tuple)):
        names = [str(name) for name in services]
    else:
        names = []
    return [" ".join(name.split()) for name in names if name.strip()]


def _incident_id(message: OutboxMessage) -> str:
    payload = message.payload or {}
    return str(payload.get("id") or message.incident_id or "").strip()


def _error_of(response: httpx.Response) -> str:
    """The reason Statuspage gave: its `error` (a sentence or a list of them), else `message`."""
    answer = json_or_none(response)
    if not isinstance(answer, dict):
        return ""
    for key in ("error", "errors", "message"):
        value = answer.get(key)
        if isinstance(value, list) and value:
            return "; ".join(str(item) for item in value)
        if isinstance(value, str) and value:
            return value
    return ""


def _type_headline(payload: dict[str, Any]) -> str:
    """"Outage Incident" for a message written before payloads carried a public headline."""
    kind = " ".join(str(payload.get("type") or "").replace("_", " ").split())
    return f"{kind.capitalize()} Incident" if kind else ""
