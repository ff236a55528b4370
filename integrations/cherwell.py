"""Cherwell Service Management notifier: one Incident business object per incident, kept in
step over the Cherwell REST API.

  [integrations.cherwell]
  url = "https://your-server"             # the CSM server; the API lives under /CherwellAPI
  client_id_env = "CHERWELL_CLIENT_ID"    # the REST API client key comes from this variable
  user_env = "CHERWELL_USER"              # the integration account's login from this one
  password_env = "CHERWELL_PASSWORD"      # its password from this one
  customer_rec_id = "93405caa107c..."     # the customer (busObRecId) incidents are filed for
  service = "IT Service"                  # the Incident's Service, Category and Subcategory
  category = "Monitoring"
  subcategory = "Alert"

Contract (Cherwell REST API, V1):
- Token: POST {url}/CherwellAPI/token, form grant_type=password, client_id, username, password
  -> 200 {"access_token", "token_type": "bearer", "expires_in", ...}; 400 {"error":
  "invalid_grant" | "invalid_client_id", "error_description"} for refused credentials. Every
  API call carries `Authorization: Bearer <access_token>`.
- The Incident's ids are read, never configured: GET .../api/V1/getbusinessobjectsummary/busobname/
  Incident -> [{"busObId", "name"}]; GET .../api/V1/getbusinessobjectschema/busobid/{busObId}
  ?includerelationships=true -> {"fieldDefinitions": [{"fieldId", "name"}], "relationships":
  [{"relationshipId", "displayName", "target"}]}; the journal's schema likewise (kept for
  the notifier's life).
- Create and update: POST .../api/V1/savebusinessobject {"busObId", "busObRecId" (updates only),
  "fields": [{"dirty": true, "fieldId", "name", "value"}], "persist": true} -> 200 {"busObPublicId",
  "busObRecId", "hasError", "errorCode", "errorMessage", "fieldValidationErrors"}; an answer with
  hasError true is a refusal even when its status is 200. The busObRecId is the reference.
  Create sets ShortDescription, Description, Priority (SEV-1 "1" .. SEV-4 "4"), Status "New",
  Source, Service, Category, Subcategory and CustomerRecID; severity changed sets Priority;
  resolved sets Status "Resolved" with CloseDescription; closed sets Status "Closed".
- Comments (status updates in the engineer's words, acknowledgements, escalations, severity
  changes): a Journal - Note related through the Incident's journal relationship
  (displayName "Incident Owns Journals"), POST .../api/V1/saverelatedbusinessobjects
  {"parentBusObId", "parentBusObRecId", "relationshipId", "relatedBusinessObjects": [{"busObId",
  "fields": [Details], "persist": true}]}.
- 400 / 404 (and hasError) are final; 401 and 403 too (credentials); 429, 5xx and network
  trouble are retried.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from integrations.http import delivery_for, json_or_none, request_or_retry, sanitize
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate
from integrations.wording import event_title
from playbooks.severities import canonical_severity

SHORT_DESCRIPTION_MAX = 250
TEXT_MAX = 4000
PRIORITIES = {"SEV-1": "1", "SEV-2": "2", "SEV-3": "3", "SEV-4": "4"}
JOURNAL_RELATIONSHIP = "Incident Owns Journals"
JOURNAL_OBJECT = "Journal - Note"


class CherwellNotifier:
    """Delivers outbox messages as a Cherwell Incident and its journal (see the module docstring)."""

    integration = "cherwell"

    def __init__(self, url: str, customer_rec_id: str, service: str, category: str, subcategory: str,
                 client_id_env: str = "CHERWELL_CLIENT_ID", user_env: str = "CHERWELL_USER",
                 password_env: str = "CHERWELL_PASSWORD", source: str = "Event", business_object: str = "Incident",
                 auto_ticket_creation: bool = True, timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.customer_rec_id, self.service, self.category, self.subcategory = customer_rec_id, service, category, subcategory
        self.client_id_env, self.user_env, self.password_env = client_id_env, user_env, password_env
        self.source, self.business_object = source, business_object
        if not isinstance(auto_ticket_creation, bool):
            raise ValueError("integrations.cherwell.auto_ticket_creation must be true or false.")
        self.auto_ticket_creation = auto_ticket_creation
        self.timeout = timeout
        self._ids: dict[str, Any] | None = None  # the Incident's and the journal's ids, read once

    @property
    def api(self) -> str:
        return f"{self.url}/CherwellAPI/api/V1"

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

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Create the Incident or update it; never raises for the vendor's or the network's trouble."""
        client_id = secret_from_env(self.client_id_env).strip()
        user = secret_from_env(self.user_env).strip()
        password = secret_from_env(self.password_env)
        missing = [name for name, value in ((self.client_id_env, client_id), (self.user_env, user),
                                            (self.password_env, password)) if not value]
        if missing:
            return Delivery("retry", f"Cherwell credentials missing: set the environment variable"
                                     f"{'s' if len(missing) > 1 else ''} {' and '.join(missing)}.")
        incident_id = str((message.payload or {}).get("id") or message.incident_id or "").strip()
        if not incident_id:
            return Delivery("rejected", "The message names no incident id to record in Cherwell.")
        rec_id = (message.reference or "").strip()
        if not rec_id and not self.auto_ticket_creation:
            return Delivery("skipped", f"No Cherwell incident was made for {incident_id} and auto_ticket_creation "
                                       f"is off; nothing recorded for the {message.event}.")
        call = _Call(self, client, [password, client_id, user if len(user) >= 4 else ""])
        token = call.token(client_id, user, password)
        if isinstance(token, Delivery):
            return token
        ids = self._ids or call.ids()
        if isinstance(ids, Delivery):
            return ids
        self._ids = ids
        payload = message.payload or {}
        what = f"the {message.event} of {incident_id}"
        if not rec_id:
            severity = str(payload.get("severity") or "").strip()
            title = str(payload.get("title") or payload.get("summary") or "Incident").strip()
            fields = {"ShortDescription": one_line(f"{incident_id}: {title}", SHORT_DESCRIPTION_MAX),
                      "Description": truncate(self.text(message, incident_id, facts=True), TEXT_MAX),
                      "Priority": PRIORITIES.get(canonical_severity(severity) or "", "3"), "Status": "New",
                      "Source": self.source, "Service": self.service, "Category": self.category,
                      "Subcategory": self.subcategory, "CustomerRecID": self.customer_rec_id}
            return call.save(ids, None, fields, f"the Cherwell incident for {incident_id}")
        change: dict[str, str] = {}
        if message.event == "resolved":
            change = {"Status": "Resolved",
                      "CloseDescription": truncate(self.text(message, incident_id, facts=False), TEXT_MAX)}
        elif message.event == "closed":
            change = {"Status": "Closed"}
        elif message.event == "severity_changed":
            change = {"Priority": PRIORITIES.get(canonical_severity(payload.get("severity")) or "", "3")}
        if change:
            saved = call.save(ids, rec_id, change, what)
            if saved.outcome != "sent" or message.event in ("resolved", "closed"):
                return saved
        note = self.text(message, incident_id, facts=message.event != "status_update")
        return call.journal(ids, rec_id, note, what)


class _Call:
    """One attempt's requests: the bearer token, and every answer as the Delivery the outbox records."""

    def __init__(self, notifier: CherwellNotifier, client: httpx.Client, secrets: list[str]) -> None:
        self.notifier, self.client, self.secrets = notifier, client, [s for s in secrets if s]
        self.access_token = ""

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response | Delivery:
        headers = {"Accept": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        if self.notifier.timeout is not None:
            kwargs["timeout"] = self.notifier.timeout
        return request_or_retry(self.client, method, url, vendor="Cherwell", setting="integrations.cherwell.url",
                                what=what, headers=headers, **kwargs)

    def refusal(self, response: httpx.Response | Delivery, what: str) -> Delivery:
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:  # 2xx, but not the answer asked for (a proxy's page)
            return Delivery("retry", f"Cherwell answered {response.status_code} to {what} without its data; "
                                     f"will try again.")
        return delivery_for(response, vendor="Cherwell", what=what, sent="", secrets=self.secrets,
                            setting="integrations.cherwell.url", reason=_reason(response),
                            credentials=f"{self.notifier.client_id_env}, {self.notifier.user_env} and "
                                        f"{self.notifier.password_env}")

    def token(self, client_id: str, user: str, password: str) -> str | Delivery:
        what = "the Cherwell token request"
        response = self.send("POST", f"{self.notifier.url}/CherwellAPI/token", what, data={
            "grant_type": "password", "client_id": client_id, "username": user, "password": password})
        answer = json_or_none(response) if not isinstance(response, Delivery) else None
        if not isinstance(response, Delivery) and response.status_code == 400 and isinstance(answer, dict) \
                and str(answer.get("error", "")).startswith("invalid_"):
            return Delivery("rejected", f"Cherwell refused the credentials ({sanitize(answer['error'], self.secrets)}); "
                                        f"check {self.notifier.client_id_env}, {self.notifier.user_env} and "
                                        f"{self.notifier.password_env}.")
        if isinstance(answer, dict) and isinstance(answer.get("access_token"), str) and answer["access_token"]:
            self.access_token = answer["access_token"]
            self.secrets.append(self.access_token)
            return self.access_token
        return self.refusal(response, what)

    def ids(self) -> dict[str, Any] | Delivery:
        """The Incident's busObId and field ids, and the journal relationship's (see the docstring)."""
        name = self.notifier.business_object
        what = f"the Cherwell {name} schema"
        summary = self.send("GET", f"{self.notifier.api}/getbusinessobjectsummary/busobname/{quote(name, safe='')}", what)
        answer = json_or_none(summary) if not isinstance(summary, Delivery) else None
        if not (isinstance(answer, list) and answer and isinstance(answer[0], dict) and answer[0].get("busObId")):
            return self.refusal(summary, what)
        incident = self.schema(str(answer[0]["busObId"]), what)
        if isinstance(incident, Delivery):
            return incident
        relationship = next((r for r in incident["relationships"] if r.get("displayName") == JOURNAL_RELATIONSHIP), None)
        if relationship is None:
            return Delivery("rejected", f"Cherwell's {name} has no '{JOURNAL_RELATIONSHIP}' relationship to keep notes in.")
        journal = self.schema(str(relationship.get("target")), f"the Cherwell {JOURNAL_OBJECT} schema")
        if isinstance(journal, Delivery):
            return journal
        return {"busObId": incident["busObId"], "fields": incident["fields"], "relationshipId":
                str(relationship.get("relationshipId")), "journal": journal}

    def schema(self, bus_ob_id: str, what: str) -> dict[str, Any] | Delivery:
        response = self.send("GET", f"{self.notifier.api}/getbusinessobjectschema/busobid/{quote(bus_ob_id, safe='')}",
                             what, params={"includerelationships": "true"})
        answer = json_or_none(response) if not isinstance(response, Delivery) else None
        if not isinstance(answer, dict) or not isinstance(answer.get("fieldDefinitions"), list):
            return self.refusal(response, what)
        fields = {str(f.get("name")): str(f.get("fieldId")) for f in answer["fieldDefinitions"] if isinstance(f, dict)}
        relationships = [r for r in answer.get("relationships") or [] if isinstance(r, dict)]
        return {"busObId": bus_ob_id, "fields": fields, "relationships": relationships}

    @staticmethod
    def fields(known: dict[str, str], values: dict[str, str]) -> list[dict[str, Any]] | str:
        unknown = [name for name in values if name not in known]
        if unknown:
            return unknown[0]
        return [{"dirty": True, "fieldId": known[name], "name": name, "value": value} for name, value in values.items()]

    def save(self, ids: dict[str, Any], rec_id: str | None, values: dict[str, str], what: str) -> Delivery:
        fields = self.fields(ids["fields"], values)
        if isinstance(fields, str):
            return Delivery("rejected", f"Cherwell's {self.notifier.business_object} has no field {fields!r}.")
        body: dict[str, Any] = {"busObId": ids["busObId"], "fields": fields, "persist": True}
        if rec_id:
            body["busObRecId"] = rec_id
        response = self.send("POST", f"{self.notifier.api}/savebusinessobject", what, json=body)
        answer = json_or_none(response) if not isinstance(response, Delivery) else None
        if (not isinstance(response, Delivery) and 200 <= response.status_code < 300 and isinstance(answer, dict)
                and not answer.get("hasError") and answer.get("busObRecId")):
            public = sanitize(answer.get("busObPublicId") or answer["busObRecId"])
            return Delivery("sent", f"Cherwell incident {public} {'updated' if rec_id else 'recorded'}: {what}.",
                            reference=str(answer["busObRecId"]))
        return self.refusal(response, what) if not (isinstance(answer, dict) and answer.get("hasError")) else \
            Delivery("rejected", f"Cherwell refused {what}: {sanitize(_reason_in(answer), self.secrets)}.")

    def journal(self, ids: dict[str, Any], rec_id: str, note: str, what: str) -> Delivery:
        journal = ids["journal"]
        fields = self.fields(journal["fields"], {"Details": truncate(note, TEXT_MAX)})
        if isinstance(fields, str):
            return Delivery("rejected", f"Cherwell's {JOURNAL_OBJECT} has no field {fields!r}.")
        body = {"parentBusObId": ids["busObId"], "parentBusObRecId": rec_id, "relationshipId": ids["relationshipId"],
                "relatedBusinessObjects": [{"busObId": journal["busObId"], "fields": fields, "persist": True}]}
        response = self.send("POST", f"{self.notifier.api}/saverelatedbusinessobjects", what, json=body)
        answer = json_or_none(response) if not isinstance(response, Delivery) else None
        if not isinstance(response, Delivery) and 200 <= response.status_code < 300 and isinstance(answer, dict) \
                and not answer.get("hasError"):
            return Delivery("sent", f"Cherwell incident journal noted: {what}.", reference=rec_id)
        if isinstance(answer, dict) and answer.get("hasError"):
            return Delivery("rejected", f"Cherwell refused {what}: {sanitize(_reason_in(answer), self.secrets)}.")
        return self.refusal(response, what)


def _reason_in(answer: dict) -> str:
    parts = [str(answer.get(key)) for key in ("errorCode", "errorMessage") if answer.get(key)]
    for error in answer.get("fieldValidationErrors") or []:
        if isinstance(error, dict):
            parts.append(f"{error.get('fieldId', '')}: {error.get('error', '')}")
    return "; ".join(parts)


def _reason(response: httpx.Response) -> str:
    answer = json_or_none(response)
    if isinstance(answer, dict):
        return _reason_in(answer) or str(answer.get("error_description") or answer.get("Message") or "")
    return ""
