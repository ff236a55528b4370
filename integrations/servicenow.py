"""ServiceNow notifier: one record in the incident table per incident, updated as it moves.

  [integrations.servicenow]
  url = "https://your-instance.service-now.com"  # the instance (a proxy or a fake in tests)
  user_env = "SERVICENOW_USER"                   # the integration user's name comes from this variable
  password_env = "SERVICENOW_PASSWORD"           # its password from this one
  category = "software"
  close_code = "Solved (Permanently)"            # releases since Utah call it "Solution provided"
  auto_ticket_creation = true                    # false: never create; update only a record whose
                                                 # correlation_id is the incident id (made by a person)

Contract (ServiceNow Table API): Basic auth, JSON in and out (Content-Type and Accept
application/json).
- Create: POST {url}/api/now/table/incident {short_description (at most 160 characters),
  description, urgency and impact ("1" high, "2" medium, "3" low: SEV-1 1/1, SEV-2 1/2,
  SEV-3 2/2, SEV-4 3/3), category, correlation_id (the incident id), correlation_display}
  -> 201 {"result": {"sys_id", "number", ...}}; the sys_id is the incident's reference.
- Later events: PATCH {url}/api/now/table/incident/{sys_id}: acknowledged -> state "2"
  (In Progress); resolved -> state "6" (Resolved) with close_code and close_notes (the
  instance's data policy makes both mandatory when resolving); escalated / severity changed
  -> urgency and impact again; each with a work note. Status updates are work notes in the
  engineer's words (integrations.notifier.update_text). Closed -> state "7" (Closed) with the
  close code and notes again; a record already closed is not written twice (ServiceNow refuses
  any change to a closed record, so a re-send after a crash looks first).
- Before creating, GET {url}/api/now/table/incident?sysparm_query=correlation_id=<incident id>
  looks for the record made before: ServiceNow does not deduplicate, so a re-send after a
  crash (or a lost answer) between create and mark-sent updates that record instead of
  opening a second one.
- 400 (the body is wrong), 401, 403 (ACL or data policy), 404 (no such record or instance)
  are final; 429 (Retry-After), 5xx and network trouble are retried.
"""
from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

import httpx

from integrations.http import BasicAuthCall, json_or_none
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate
from integrations.wording import event_title
from playbooks.severities import canonical_severity

SHORT_DESCRIPTION_MAX = 160
TEXT_MAX = 4000  # description, close_notes and work_notes fields on a default instance
CORRELATION_ID_MAX = 100

#: (urgency, impact) per severity; ServiceNow derives the priority from the pair.
URGENCY_IMPACT: dict[str, tuple[str, str]] = {
    "SEV-1": ("1", "1"), "SEV-2": ("1", "2"), "SEV-3": ("2", "2"), "SEV-4": ("3", "3"),
}
#: When an incident's severity cannot be read, the record is still made, as medium / medium.
FALLBACK_URGENCY_IMPACT = ("2", "2")

STATE_IN_PROGRESS = "2"
STATE_RESOLVED = "6"
STATE_CLOSED = "7"

_SAFE_QUERY_VALUE = re.compile(r"^[A-Za-z0-9._:/@+-]+$")  # no ^ = or spaces: safe in an encoded query


def urgency_impact(severity: Any) -> tuple[str, str]:
    """ServiceNow's (urgency, impact) for an incident severity."""
    return URGENCY_IMPACT.get(canonical_severity(severity) or "", FALLBACK_URGENCY_IMPACT)


class ServiceNowNotifier:
    """Delivers outbox messages as a ServiceNow incident record (see the module docstring)."""

    integration = "servicenow"

    def __init__(self, url: str, user_env: str = "SERVICENOW_USER", password_env: str = "SERVICENOW_PASSWORD",
                 category: str = "software", close_code: str = "Solved (Permanently)",
                 source: str = "incident-response", auto_ticket_creation: bool = True,
                 timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.user_env = user_env
        self.password_env = password_env
        self.category = category
        self.close_code = close_code
        self.source = source
        if not isinstance(auto_ticket_creation, bool):
            raise ValueError("integrations.servicenow.auto_ticket_creation must be true or false.")
        self.auto_ticket_creation = auto_ticket_creation
        self.timeout = timeout  # None: the client's own timeout

    @property
    def table_endpoint(self) -> str:
        return f"{self.url}/api/now/table/incident"

    def record_endpoint(self, sys_id: str) -> str:
        return f"{self.table_endpoint}/{quote(sys_id, safe='')}"

    # -- the requests -----------------------------------------------------------------------------

    def record_for(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        """The create body for `message` (a later event's state is included when it is the first one sent)."""
        payload = message.payload or {}
        severity = str(payload.get("severity") or "").strip()
        title = str(payload.get("title") or payload.get("summary") or "Incident").strip()
        headline = f"[{severity}] {incident_id}: {title}" if severity else f"{incident_id}: {title}"
        urgency, impact = urgency_impact(severity)
        record: dict[str, Any] = {
            "short_description": one_line(headline, SHORT_DESCRIPTION_MAX),
            "description": truncate(self._text(message, incident_id, facts=True), TEXT_MAX),
            "urgency": urgency,
            "impact": impact,
            "category": self.category,
        }
        if len(incident_id) <= CORRELATION_ID_MAX:
            record["correlation_id"] = incident_id
            record["correlation_display"] = self.source
        if message.event != "declared":
            record.update(self._state_change(message, incident_id))
        return record

    def update_for(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        """The PATCH body for `message`."""
        update = self._state_change(message, incident_id)
        if message.event in ("escalated", "severity_changed", "declared"):
            urgency, impact = urgency_impact((message.payload or {}).get("severity"))
            update.update(urgency=urgency, impact=impact)
        if message.event not in ("resolved", "closed"):
            update["work_notes"] = truncate(self._text(message, incident_id, facts=message.event != "status_update"),
                                            TEXT_MAX)
        return update

    def _state_change(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        if message.event == "acknowledged":
            return {"state": STATE_IN_PROGRESS}
        if message.event in ("resolved", "closed"):
            return {"state": STATE_RESOLVED if message.event == "resolved" else STATE_CLOSED,
                    "close_code": self.close_code,
                    "close_notes": truncate(self._text(message, incident_id, facts=False), TEXT_MAX)}
        return {}

    def _text(self, message: OutboxMessage, incident_id: str, facts: bool) -> str:
        payload = message.payload or {}
        heading = event_title(message.event)
        title = str(payload.get("title") or "").strip()
        lines = [f"{heading}: {incident_id}" + (f" - {title}" if title else "")]
        words = update_text(payload)  # a status update: the engineer's words, affected, next update
        texts = [words] if words else [str(payload.get(key) or "").strip() for key in ("message", "summary")]
        for text in dict.fromkeys(texts):  # a summary that repeats the message is said once
            if text and text != title:
                lines.append(text)
        if facts:
            lines += [f"{label}: {payload[key]}" for key, label in
                      (("severity", "Severity"), ("status", "Status"), ("type", "Type"),
                       ("environment", "Environment"), ("service", "Service"))
                      if payload.get(key) not in (None, "")]
        url = payload.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            lines.append(f"Command center: {url}")
        return "\n".join(lines)

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Create the incident record (or find the one made before) or update it; never raises."""
        user = secret_from_env(self.user_env).strip()
        password = secret_from_env(self.password_env)
        missing = [name for name, value in ((self.user_env, user), (self.password_env, password)) if not value]
        if missing:
            return Delivery("retry", f"ServiceNow credentials missing: set the environment variable{'s' if len(missing) > 1 else ''} "
                                     f"{' and '.join(missing)}.")
        payload = message.payload or {}
        incident_id = str(payload.get("id") or message.incident_id or "").strip()
        if not incident_id:
            return Delivery("rejected", "The message names no incident id to record in ServiceNow.")
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        call = BasicAuthCall(client, (user, password), self.timeout,
                             secrets=(password, user if len(user) >= 4 else "", basic),
                             vendor="ServiceNow", credentials="user and password", missing="record or instance",
                             reason_of=_reason)

        sys_id = (message.reference or "").strip()
        if not sys_id and _SAFE_QUERY_VALUE.match(incident_id) and len(incident_id) <= CORRELATION_ID_MAX:
            what = f"look up the record of {incident_id}"
            found = call.send("GET", self.table_endpoint, what, params={
                "sysparm_query": f"correlation_id={incident_id}",
                "sysparm_fields": "sys_id,number", "sysparm_limit": "1"})
            if isinstance(found, Delivery):
                return found
            if found.status_code in (401, 403, 429) or found.status_code >= 500:
                return call.failure(found, what)
            sys_id, number = _first_record(found)
            if sys_id and message.event == "declared":
                return Delivery("sent", f"ServiceNow incident {number or sys_id} for {incident_id} already exists; "
                                        f"not recorded twice.", reference=sys_id)
        if sys_id:
            return self._update(call, message, incident_id, sys_id)
        if not self.auto_ticket_creation:
            # Nothing is wrong and nothing will change by retrying: the message is done.
            return Delivery("skipped", f"No ServiceNow record has correlation_id {incident_id} and "
                                       f"auto_ticket_creation is off; nothing recorded for the {message.event}.")
        return self._create(call, message, incident_id)

    def _create(self, call: "BasicAuthCall", message: OutboxMessage, incident_id: str) -> Delivery:
        what = f"record {incident_id}"
        response = call.send("POST", self.table_endpoint, what, json=self.record_for(message, incident_id))
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            sys_id, number = _record_of(response)
            if sys_id:
                return Delivery("sent", f"ServiceNow incident {number or sys_id} recorded for {incident_id}.",
                                reference=sys_id)
            # Not ServiceNow's answer (a hibernating instance's page): the next attempt looks first.
            return Delivery("retry", f"ServiceNow answered {response.status_code} without a record; will look again.")
        return call.failure(response, what)

    def _update(self, call: "BasicAuthCall", message: OutboxMessage, incident_id: str, sys_id: str) -> Delivery:
        what = f"update {incident_id} ({message.event})"
        if message.event == "closed":
            found = call.send("GET", self.record_endpoint(sys_id), what, params={"sysparm_fields": "sys_id,number,state"})
            if isinstance(found, Delivery):
                return found
            if not 200 <= found.status_code < 300:
                return call.failure(found, what)
            answer = json_or_none(found)
            record = answer.get("result") if isinstance(answer, dict) else None
            if isinstance(record, dict) and str(record.get("state")) == STATE_CLOSED:
                return Delivery("sent", f"ServiceNow incident {record.get('number') or sys_id} is already closed: "
                                        f"the close of {incident_id} was recorded before.", reference=sys_id)
        response = call.send("PATCH", self.record_endpoint(sys_id), what, json=self.update_for(message, incident_id))
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            found, number = _record_of(response)
            if found:
                return Delivery("sent", f"ServiceNow incident {number or sys_id} updated: {message.event} of {incident_id}.",
                                reference=sys_id)
            return Delivery("retry", f"ServiceNow answered {response.status_code} without the record; will update again.")
        return call.failure(response, what)


def _record_of(response: httpx.Response) -> tuple[str, str]:
    answer = json_or_none(response)
    result = answer.get("result") if isinstance(answer, dict) else None
    if isinstance(result, dict) and isinstance(result.get("sys_id"), str) and result["sys_id"]:
        return result["sys_id"], str(result.get("number") or "")
    return "", ""


def _first_record(response: httpx.Response) -> tuple[str, str]:
    """The first record a query found; ("", "") if none (or the query could not run)."""
    if not 200 <= response.status_code < 300:
        return "", ""  # the lookup is a safeguard: a query the instance cannot run must not block recording
    answer = json_or_none(response)
    result = answer.get("result") if isinstance(answer, dict) else None
    if isinstance(result, list) and result and isinstance(result[0], dict):
        sys_id = result[0].get("sys_id")
        if isinstance(sys_id, str) and sys_id:
            return sys_id, str(result[0].get("number") or "")
    return "", ""


def _reason(response: httpx.Response) -> str:
    """What ServiceNow said: {"error": {"message", "detail"}, "status": "failure"}."""
    answer = json_or_none(response)
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return ""
    return ": ".join(str(error[key]) for key in ("message", "detail") if error.get(key))
