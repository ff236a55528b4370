"""BMC Remedy / Helix ITSM notifier: one incident per incident, kept in step over the AR
System REST API.

  [integrations.remedy]
  url = "https://your-server:8443"       # the AR System REST endpoint (a proxy or a fake in tests)
  user_env = "REMEDY_USER"               # the integration account's login comes from this variable
  password_env = "REMEDY_PASSWORD"       # its password from this one
  first_name = "Allen"                   # the person (People form) incidents are reported for
  last_name = "Allbrook"

Contract (AR System REST API, `/api/jwt` and `/api/arsys/v1`):
- Login: POST {url}/api/jwt/login, form username and password (application/x-www-form-urlencoded)
  -> 200 with the token as plain text; every later request carries `Authorization: AR-JWT <token>`.
  401 is a refused login. Errors come as a JSON list of {"messageType", "messageText",
  "messageAppendedText", "messageNumber"} (ARERR numbers).
- Create: POST {url}/api/arsys/v1/entry/HPD:IncidentInterface_Create {"values": {First_Name,
  Last_Name, Description (the summary, at most 100 characters), Detailed_Decription (sic: the
  form's field name), Impact, Urgency, Status, Reported Source, Service_Type, z1D_Action
  "CREATE"}} -> 201 with a Location header naming the new entry; GET on the Location reads its
  "Incident Number" back, which is the incident's reference from then on.
- Impact "1-Extensive/Widespread" .. "4-Minor/Localized" and Urgency "1-Critical" .. "4-Low"
  from the severity (SEV-1 1/1 .. SEV-4 4/4).
- Later events find the incident's entry with GET {url}/api/arsys/v1/entry/HPD:IncidentInterface
  ?q='Incident Number'="INC..." (its Request ID and Status), then:
  status update, acknowledgement, escalation -> a Work Info entry, POST .../entry/HPD:WorkLog
  {"values": {Incident Number, Work Log Type "General Information", Description (100),
  Detailed Description (the engineer's words, integrations.notifier.update_text), View Access
  "Internal"}}; severity changed -> PUT .../entry/HPD:IncidentInterface/{Request ID} with the
  new Impact and Urgency, and a Work Info entry; resolved -> PUT Status "Resolved",
  Status_Reason and Resolution; closed -> PUT Status "Closed". 204 on success. An incident
  already Resolved / Closed is not moved twice (a re-send after a crash finds it there).
- 400 (ARERR: a required field blank, a value outside the field's list), 401, 403, 404 are
  final; 429, 5xx and network trouble are retried.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from integrations.http import delivery_for, json_or_none, request_or_retry, sanitize
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate
from integrations.wording import event_title
from playbooks.severities import canonical_severity

DESCRIPTION_MAX = 100  # the Description (summary) field of HPD:Help Desk
TEXT_MAX = 4000

#: (Impact, Urgency) per severity: the forms' selection values.
IMPACT_URGENCY: dict[str, tuple[str, str]] = {
    "SEV-1": ("1-Extensive/Widespread", "1-Critical"),
    "SEV-2": ("2-Significant/Large", "2-High"),
    "SEV-3": ("3-Moderate/Limited", "3-Medium"),
    "SEV-4": ("4-Minor/Localized", "4-Low"),
}
FALLBACK_IMPACT_URGENCY = IMPACT_URGENCY["SEV-3"]
SECURITY_SERVICE_TYPE = "Security Incident"
CREATE_FORM = "HPD:IncidentInterface_Create"
INCIDENT_FORM = "HPD:IncidentInterface"
WORK_LOG_FORM = "HPD:WorkLog"


def impact_urgency(severity: Any) -> tuple[str, str]:
    """Remedy's (Impact, Urgency) for an incident severity."""
    return IMPACT_URGENCY.get(canonical_severity(severity) or "", FALLBACK_IMPACT_URGENCY)


class RemedyNotifier:
    """Delivers outbox messages as a Remedy incident and its Work Info (see the module docstring)."""

    integration = "remedy"
    vendor = "Remedy"

    def __init__(self, url: str, first_name: str, last_name: str, user_env: str = "REMEDY_USER",
                 password_env: str = "REMEDY_PASSWORD", reported_source: str = "Systems Management",
                 service_type: str = "Infrastructure Restoration", status_reason: str = "No Further Action Required",
                 auto_ticket_creation: bool = True, timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.first_name, self.last_name = first_name, last_name
        self.user_env, self.password_env = user_env, password_env
        self.reported_source = reported_source
        self.service_type = service_type
        self.status_reason = status_reason
        if not isinstance(auto_ticket_creation, bool):
            raise ValueError("integrations.remedy.auto_ticket_creation must be true or false.")
        self.auto_ticket_creation = auto_ticket_creation
        self.timeout = timeout

    def entry_endpoint(self, form: str, entry_id: str | None = None) -> str:
        base = f"{self.url}/api/arsys/v1/entry/{quote(form, safe=':')}"
        return f"{base}/{quote(entry_id, safe='')}" if entry_id else base

    # -- what is said -----------------------------------------------------------------------------

    def create_values(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        payload = message.payload or {}
        severity = str(payload.get("severity") or "").strip()
        title = str(payload.get("title") or payload.get("summary") or "Incident").strip()
        impact, urgency = impact_urgency(severity)
        security = str(payload.get("type") or "").strip().lower() == "security"
        return {
            "First_Name": self.first_name, "Last_Name": self.last_name,
            "Description": one_line(f"{incident_id}: {title}", DESCRIPTION_MAX),
            "Detailed_Decription": truncate(self.text(message, incident_id, facts=True), TEXT_MAX),
            "Impact": impact, "Urgency": urgency, "Status": "Assigned",
            "Reported Source": self.reported_source,
            "Service_Type": SECURITY_SERVICE_TYPE if security else self.service_type,
            "z1D_Action": "CREATE",
        }

    def text(self, message: OutboxMessage, incident_id: str, facts: bool) -> str:
        payload = message.payload or {}
        heading = event_title(message.event)
        title = str(payload.get("title") or "").strip()
        lines = [f"{heading}: {incident_id}" + (f" - {title}" if title else "")]
        words = update_text(payload)  # a status update: the engineer's words, affected, next update
        texts = [words] if words else [str(payload.get(key) or "").strip() for key in ("message", "summary")]
        lines += [text for text in dict.fromkeys(texts) if text and text != title]
        if facts:
            lines += [f"{label}: {payload[key]}" for key, label in
                      (("severity", "Severity"), ("status", "Status"), ("type", "Type"),
                       ("environment", "Environment"), ("service", "Service")) if payload.get(key) not in (None, "")]
        return "\n".join(lines)

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Create the incident or update it; never raises for the vendor's or the network's trouble."""
        user = secret_from_env(self.user_env).strip()
        password = secret_from_env(self.password_env)
        missing = [name for name, value in ((self.user_env, user), (self.password_env, password)) if not value]
        if missing:
            return Delivery("retry", f"Remedy credentials missing: set the environment variable"
                                     f"{'s' if len(missing) > 1 else ''} {' and '.join(missing)}.")
        incident_id = str((message.payload or {}).get("id") or message.incident_id or "").strip()
        if not incident_id:
            return Delivery("rejected", "The message names no incident id to record in Remedy.")
        number = (message.reference or "").strip()
        if not number and not self.auto_ticket_creation:
            return Delivery("skipped", f"No Remedy incident was made for {incident_id} and auto_ticket_creation "
                                       f"is off; nothing recorded for the {message.event}.")
        session = _Session(self, client, secrets=[password, user if len(user) >= 4 else ""])
        token = session.login(user, password)
        if isinstance(token, Delivery):
            return token
        if not number:
            return self._create(session, message, incident_id)
        return self._update(session, message, incident_id, number)

    def _create(self, session: "_Session", message: OutboxMessage, incident_id: str) -> Delivery:
        what = f"the Remedy incident for {incident_id}"
        response = session.send("POST", self.entry_endpoint(CREATE_FORM), what,
                                json={"values": self.create_values(message, incident_id)})
        if isinstance(response, Delivery) or not 200 <= response.status_code < 300:
            return session.outcome(response, what)
        # The token goes only to the configured server: the Location's entry id is read
        # from its path, and the entry is read back at our own URL.
        marker = f"/api/arsys/v1/entry/{CREATE_FORM}/"
        path = urlsplit(response.headers.get("Location", "")).path
        entry_id = unquote(path.split(marker, 1)[1]) if marker in path else ""
        location = self.entry_endpoint(CREATE_FORM, entry_id) if entry_id and "/" not in entry_id else ""
        if not location:
            return Delivery("retry", f"Remedy answered {response.status_code} without the new entry's Location; "
                                     f"will try again.")
        read = session.send("GET", location, f"the number of {what}")
        if isinstance(read, Delivery) or not 200 <= read.status_code < 300:
            return session.outcome(read, f"the number of {what}")
        answer = json_or_none(read)
        values = answer.get("values") if isinstance(answer, dict) else None
        number = str(values.get("Incident Number") or "").strip() if isinstance(values, dict) else ""
        if not number:
            return Delivery("retry", "Remedy made the entry but gave no Incident Number yet; will look again.")
        return Delivery("sent", f"Remedy incident {sanitize(number)} recorded for {incident_id}.", reference=number)

    def _update(self, session: "_Session", message: OutboxMessage, incident_id: str, number: str) -> Delivery:
        what = f"the {message.event} of {incident_id} on Remedy incident {number}"
        found = session.send("GET", self.entry_endpoint(INCIDENT_FORM), what, params={
            "q": f"'Incident Number'=\"{number}\"", "fields": "values(Request ID,Incident Number,Status)"})
        if isinstance(found, Delivery) or not 200 <= found.status_code < 300:
            return session.outcome(found, what)
        answer = json_or_none(found)
        entries = answer.get("entries") if isinstance(answer, dict) else None
        values = entries[0].get("values") if isinstance(entries, list) and entries and isinstance(entries[0], dict) else None
        if not isinstance(values, dict) or not values.get("Request ID"):
            return Delivery("rejected", f"Remedy has no incident {sanitize(number)} (for {incident_id}); "
                                        f"it was deleted or the account cannot see it.")
        request_id, status = str(values["Request ID"]), str(values.get("Status") or "")
        done = Delivery("sent", f"Remedy incident {sanitize(number)} updated: {message.event} of {incident_id}.",
                        reference=number)
        if message.event in ("resolved", "closed"):
            target = "Resolved" if message.event == "resolved" else "Closed"
            if status == target or status == "Closed":
                return Delivery("sent", f"Remedy incident {sanitize(number)} is already {status}: the "
                                        f"{message.event} of {incident_id} was recorded before.", reference=number)
            change = {"Status": target}
            if target == "Resolved":
                change.update({"Status_Reason": self.status_reason,
                               "Resolution": truncate(self.text(message, incident_id, facts=False), TEXT_MAX)})
            put = session.send("PUT", self.entry_endpoint(INCIDENT_FORM, request_id), what, json={"values": change})
            return session.outcome(put, what, done)
        if message.event == "severity_changed":
            impact, urgency = impact_urgency((message.payload or {}).get("severity"))
            put = session.send("PUT", self.entry_endpoint(INCIDENT_FORM, request_id), what,
                               json={"values": {"Impact": impact, "Urgency": urgency}})
            if isinstance(put, Delivery) or not 200 <= put.status_code < 300:
                return session.outcome(put, what)
        text = self.text(message, incident_id, facts=message.event not in ("status_update",))
        work_info = {"Incident Number": number, "Work Log Type": "General Information",
                     "Description": one_line(text.splitlines()[0], DESCRIPTION_MAX),
                     "Detailed Description": truncate(text, TEXT_MAX), "View Access": "Internal"}
        posted = session.send("POST", self.entry_endpoint(WORK_LOG_FORM), what, json={"values": work_info})
        return session.outcome(posted, what, done)


class _Session:
    """One attempt's requests: the AR-JWT token, and every answer as the Delivery the outbox records."""

    def __init__(self, notifier: RemedyNotifier, client: httpx.Client, secrets: list[str]) -> None:
        self.notifier, self.client, self.secrets = notifier, client, [s for s in secrets if s]
        self.token = ""

    def login(self, user: str, password: str) -> str | Delivery:
        what = "the Remedy login"
        response = self.send("POST", f"{self.notifier.url}/api/jwt/login", what,
                             data={"username": user, "password": password}, auth=False)
        if isinstance(response, Delivery) or not 200 <= response.status_code < 300:
            return self.outcome(response, what)
        if not response.text.strip() or "text/html" in response.headers.get("content-type", ""):
            return Delivery("retry", "Remedy answered the login without a token; will log in again.")
        self.token = response.text.strip()
        self.secrets.append(self.token)
        return self.token

    def send(self, method: str, url: str, what: str, auth: bool = True, **kwargs: Any) -> httpx.Response | Delivery:
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"AR-JWT {self.token}"
        if self.notifier.timeout is not None:
            kwargs["timeout"] = self.notifier.timeout
        return request_or_retry(self.client, method, url, vendor="Remedy", setting="integrations.remedy.url",
                                what=what, headers=headers, **kwargs)

    def outcome(self, response: httpx.Response | Delivery, what: str, sent: Delivery | None = None) -> Delivery:
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300 and sent is not None:
            return sent
        return delivery_for(response, vendor="Remedy", what=what, sent=f"Remedy accepted {what}.",
                            secrets=self.secrets, setting="integrations.remedy.url",
                            credentials=f"{self.notifier.user_env} and {self.notifier.password_env}",
                            reason=_reason(response))


def _reason(response: httpx.Response) -> str:
    """What the AR System said: its messages' text, appended text and ARERR number."""
    answer = json_or_none(response)
    items = answer if isinstance(answer, list) else [answer] if isinstance(answer, dict) else []
    parts = []
    for item in items[:3]:
        if isinstance(item, dict) and item.get("messageText"):
            text = str(item["messageText"])
            if item.get("messageAppendedText"):
                text += f" ({item['messageAppendedText']})"
            if item.get("messageNumber") is not None:
                text += f" [ARERR {item['messageNumber']}]"
            parts.append(text)
    return "; ".join(parts)
