"""Jira Cloud notifier: one issue per incident, a comment on it for every later event.

  [integrations.jira]
  url = "https://your-site.atlassian.net"  # the Jira Cloud site (a proxy or a fake in tests)
  project_key = "INC"
  issue_type = "Incident"                   # "Bug", "Task", ... whatever the project offers
  email_env = "JIRA_EMAIL"                  # the Atlassian account's email comes from this variable
  token_env = "JIRA_API_TOKEN"              # its API token from this one
  auto_ticket_creation = true               # false: never file; comment only on an issue labelled
                                            # with the incident id (filed by a person)
  priority_mapping = true                   # the default below; false sends no priority; or a table:
  # priority_mapping = { "SEV-1" = "Highest", "SEV-2" = "High", "SEV-3" = "Medium", "SEV-4" = "Low" }
  labels = ["incident-response"]            # added to every issue, with the incident id and severity
  action_item_issue_type = "Task"           # the issue type an action item becomes (`action ticket N`)

Contract (Jira Cloud platform REST API v3): Basic auth with base64(email:api_token).
- Create: POST {url}/rest/api/3/issue {"fields": {project: {key}, summary (one line, at most
  255 characters), issuetype: {name}, priority: {name}, labels (no spaces), description}}
  -> 201 {"id", "key", "self"}; the key is the incident's reference from then on.
  The description MUST be an Atlassian Document Format document (a plain string is answered
  400 "Operation value must be an Atlassian Document").
- Later events: POST {url}/rest/api/3/issue/{key}/comment {"body": ADF} -> 201; a status
  update's comment is the engineer's words as they typed them (integrations.notifier.update_text).
- Resolved and closed move the issue through its workflow: GET {url}/rest/api/3/issue/{key}
  ?fields=status (an issue already there is not moved twice: a re-send after a crash finds it
  done), GET .../transitions, then POST .../transitions {"transition": {"id"}, "update":
  {"comment": [{"add": {"body": ADF}}]}} -> 204, the comment saying what happened. Resolved
  takes the transition to "Resolved" (else "Done", else any status of the done category);
  closed takes the one to "Closed", and, on a workflow with no Closed status, comments only.
- Before creating, the incident's label is looked up with GET {url}/rest/api/3/search/jql
  (JQL `project = "INC" AND labels = "<incident id>"`): Jira does not deduplicate, so a
  re-send after a crash (or a lost answer) between create and mark-sent finds the issue it
  made instead of opening a second one.
- An action item (outbox event `action_item_ticket`) becomes an issue of its own: summary the
  item's title, an ADF description naming the incident, category, owner and due date, labels
  `action-item`, its category and `<incident id>-action-<n>` (looked up first, the same way,
  so a re-send finds it); its key is stored on the action item, not as the incident's issue.
- 400 (the body is wrong), 401 / 403 (credentials or permissions), 404 (no such issue or
  site) are final; 429 (Retry-After) and 5xx and network trouble are retried. A 400 that only
  objects to `priority` (a project whose create screen has no priority field, or a name the
  site does not have) is re-sent once without it, so the ticket still gets made.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import httpx

from integrations.http import BasicAuthCall, json_or_none, sanitize
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate, without_controls
from integrations.wording import event_title
from playbooks.severities import canonical_severity

SUMMARY_MAX = 255
LABEL_MAX = 255
TEXT_MAX = 32_000  # Jira's rich-text fields hold 32,767 characters

DEFAULT_PRIORITIES: dict[str, str] = {"SEV-1": "Highest", "SEV-2": "High", "SEV-3": "Medium", "SEV-4": "Low"}


#: The workflow statuses each event moves the issue to, by preference (then any "done" status).
TARGET_STATUSES: dict[str, tuple[str, ...]] = {"resolved": ("Resolved", "Done"), "closed": ("Closed",)}
ACTION_ITEM_EVENT = "action_item_ticket"

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


# -- Atlassian Document Format -------------------------------------------------------------------

def adf_text(text: str, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if href:
        node["marks"] = [{"type": "link", "attrs": {"href": href}}]
    return node


def adf_document(paragraphs: Iterable[str | list[dict[str, Any]]]) -> dict[str, Any]:
    """An ADF doc of one paragraph per item: a string (its lines become paragraphs) or inline nodes.

    Empty text nodes are not allowed in ADF, so blank lines are dropped; a document with no
    text at all gets an empty paragraph (which ADF allows).
    """
    content: list[dict[str, Any]] = []
    for item in paragraphs:
        if isinstance(item, str):
            for line in _LINE_BREAKS.split(without_controls(item)):
                line = line.strip()
                if line:
                    content.append({"type": "paragraph", "content": [adf_text(line)]})
        else:
            nodes = [node for node in item if node.get("type") != "text" or node.get("text")]
            if nodes:
                content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content or [{"type": "paragraph"}]}


def _label(value: Any) -> str:
    """A Jira label: no whitespace (Jira refuses labels with spaces), at most 255 characters."""
    return re.sub(r"\s+", "-", str(value or "").strip())[:LABEL_MAX]


class JiraNotifier:
    """Delivers outbox messages as a Jira Cloud issue and its comments (see the module docstring)."""

    integration = "jira"

    def __init__(self, url: str, project_key: str = "INC", email_env: str = "JIRA_EMAIL",
                 token_env: str = "JIRA_API_TOKEN", priority_mapping: Mapping[str, str] | bool | None = None,
                 issue_type: str = "Incident", labels: Iterable[str] = ("incident-response",),
                 auto_ticket_creation: bool = True, timeout: float | None = None,
                 action_item_issue_type: str = "Task") -> None:
        self.url = url.rstrip("/")
        self.project_key = project_key.strip()
        self.email_env = email_env
        self.token_env = token_env
        self.issue_type = issue_type
        self.action_item_issue_type = action_item_issue_type
        if not isinstance(auto_ticket_creation, bool):
            raise ValueError("integrations.jira.auto_ticket_creation must be true or false.")
        self.auto_ticket_creation = auto_ticket_creation
        if priority_mapping is False:
            self.priority_mapping = {severity: "" for severity in DEFAULT_PRIORITIES}  # Jira's default priority
        else:
            self.priority_mapping = dict(DEFAULT_PRIORITIES)
        if not isinstance(priority_mapping, (Mapping, bool, type(None))):
            raise ValueError("integrations.jira.priority_mapping must be true, false or a table of SEV-1..SEV-4 to names.")
        for key, name in (priority_mapping if isinstance(priority_mapping, Mapping) else {}).items():
            severity = canonical_severity(key)
            if severity is None:
                raise ValueError(f"integrations.jira.priority_mapping has an unknown severity {key!r} (use SEV-1..SEV-4).")
            self.priority_mapping[severity] = str(name or "").strip()  # "" leaves the priority to Jira
        self.labels = [label for label in (_label(item) for item in ([labels] if isinstance(labels, str) else labels))
                       if label]
        self.timeout = timeout  # None: the client's own timeout

    # -- endpoints --------------------------------------------------------------------------------

    @property
    def issue_endpoint(self) -> str:
        return f"{self.url}/rest/api/3/issue"

    @property
    def search_endpoint(self) -> str:
        return f"{self.url}/rest/api/3/search/jql"

    def comment_endpoint(self, key: str) -> str:
        return f"{self.url}/rest/api/3/issue/{quote(key, safe='')}/comment"

    def transitions_endpoint(self, key: str) -> str:
        return f"{self.url}/rest/api/3/issue/{quote(key, safe='')}/transitions"

    # -- the requests -----------------------------------------------------------------------------

    def priority_for(self, severity: Any) -> str | None:
        """The Jira priority name for an incident severity; None to leave it to Jira."""
        canonical = canonical_severity(severity)
        return (self.priority_mapping.get(canonical) or None) if canonical else None

    def issue_for(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        """The create-issue body for `message`."""
        payload = message.payload or {}
        severity = str(payload.get("severity") or "").strip()
        title = str(payload.get("title") or payload.get("summary") or "Incident").strip()
        summary = f"[{severity}] {incident_id}: {title}" if severity else f"{incident_id}: {title}"
        labels = list(self.labels)
        for value in (incident_id, severity.lower(), payload.get("type"), payload.get("environment")):
            label = _label(value)
            if label and label not in labels:
                labels.append(label)
        fields: dict[str, Any] = {
            "project": {"key": self.project_key},
            "summary": one_line(summary, SUMMARY_MAX),
            "issuetype": {"name": self.issue_type},
            "labels": labels,
            "description": self.document_for(message, incident_id, with_facts=True),
        }
        priority = self.priority_for(severity)
        if priority:
            fields["priority"] = {"name": priority}
        return {"fields": fields}

    def comment_for(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        """The add-comment body for `message`."""
        return {"body": self.document_for(message, incident_id, with_facts=message.event != "status_update")}

    def document_for(self, message: OutboxMessage, incident_id: str, with_facts: bool) -> dict[str, Any]:
        payload = message.payload or {}
        heading = event_title(message.event)
        title = str(payload.get("title") or "").strip()
        paragraphs: list[str | list[dict[str, Any]]] = [f"{heading}: {incident_id}" + (f" - {title}" if title else "")]
        words = update_text(payload)  # a status update: the engineer's words, affected, next update
        texts = [words] if words else [str(payload.get(key) or "").strip() for key in ("message", "summary")]
        for text in dict.fromkeys(texts):  # a summary that repeats the message is said once
            if text and text != title:
                paragraphs.append(truncate(text, TEXT_MAX // 2))
        if with_facts:
            facts = [f"{label}: {payload[key]}" for key, label in
                     (("severity", "Severity"), ("status", "Status"), ("type", "Type"),
                      ("environment", "Environment"), ("service", "Service"))
                     if payload.get(key) not in (None, "")]
            if facts:
                paragraphs.append(" | ".join(facts))
        url = payload.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            paragraphs.append([adf_text("Command center: "), adf_text(url, href=url)])
        return adf_document(paragraphs)

    def search_params(self, incident_id: str) -> dict[str, str]:
        jql = f'project = "{_jql_quote(self.project_key)}" AND labels = "{_jql_quote(_label(incident_id))}"'
        return {"jql": jql, "fields": "summary", "maxResults": "1"}

    # -- action items -----------------------------------------------------------------------------

    @staticmethod
    def action_item_label(incident_id: str, item_id: Any) -> str:
        """The label that finds an action item's issue again (never the bare incident id, which
        names the incident's own issue)."""
        return _label(f"{incident_id}-action-{item_id}")

    def action_item_issue(self, message: OutboxMessage, incident_id: str) -> dict[str, Any]:
        """The create-issue body for an action item: its title, where it came from, who owns it by when."""
        item = (message.payload or {}).get("action_item") or {}
        tag = str(item.get("tag") or item.get("category") or "").strip()
        incident_title = str(item.get("incident_title") or (message.payload or {}).get("title") or "").strip()
        paragraphs: list[str | list[dict[str, Any]]] = [
            f"Action item {item.get('action_item')} from incident {incident_id}"
            + (f" - {incident_title}" if incident_title else ""),
            " | ".join(part for part in (
                f"Category: {tag}" if tag else "", f"Owner: {item.get('owner') or 'unassigned'}",
                f"Due: {item.get('due_on') or 'no due date'}", f"Status: {item.get('status') or 'open'}") if part),
            f"Incident: {incident_id} ({(message.payload or {}).get('severity') or '-'}, "
            f"{(message.payload or {}).get('type') or '-'} in {(message.payload or {}).get('environment') or '-'})",
        ]
        labels = list(self.labels)
        for value in ("action-item", str(item.get("category") or ""), self.action_item_label(incident_id, item.get("action_item"))):
            label = _label(value)
            if label and label not in labels:
                labels.append(label)
        return {"fields": {
            "project": {"key": self.project_key},
            "summary": one_line(item.get("title") or f"Action item from {incident_id}", SUMMARY_MAX),
            "issuetype": {"name": self.action_item_issue_type},
            "labels": labels,
            "description": adf_document(paragraphs),
        }}

    def _file_action_item(self, call: "BasicAuthCall", message: OutboxMessage, incident_id: str) -> Delivery:
        item = (message.payload or {}).get("action_item") or {}
        if not item.get("action_item"):
            return Delivery("rejected", f"The message names no action item of {incident_id} to file in Jira.")
        label = self.action_item_label(incident_id, item["action_item"])
        what = f"file action item {item['action_item']} of {incident_id}"
        jql = f'project = "{_jql_quote(self.project_key)}" AND labels = "{_jql_quote(label)}"'
        found = call.send("GET", self.search_endpoint, what, params={"jql": jql, "fields": "summary", "maxResults": "1"})
        if isinstance(found, Delivery):
            return found
        if found.status_code in (401, 403, 429) or found.status_code >= 500:
            return call.failure(found, what)
        key = _found_key(found)
        if key:
            return Delivery("sent", f"Jira issue {key} for action item {item['action_item']} already exists; not filed twice.",
                            reference=key)
        response = call.send("POST", self.issue_endpoint, what, json=self.action_item_issue(message, incident_id))
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            answer = json_or_none(response)
            key = answer.get("key") if isinstance(answer, dict) else None
            if isinstance(key, str) and key:
                return Delivery("sent", f"Jira issue {key} filed for action item {item['action_item']} of {incident_id}.",
                                reference=key)
            return Delivery("retry", f"Jira answered {response.status_code} without an issue key; will look again.")
        return call.failure(response, what)

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Create the incident's issue (or find the one made before) or comment on it; never raises."""
        email = secret_from_env(self.email_env).strip()
        token = secret_from_env(self.token_env).strip()
        missing = [name for name, value in ((self.email_env, email), (self.token_env, token)) if not value]
        if missing:
            return Delivery("retry", f"Jira credentials missing: set the environment variable{'s' if len(missing) > 1 else ''} "
                                     f"{' and '.join(missing)}.")
        payload = message.payload or {}
        incident_id = str(payload.get("id") or message.incident_id or "").strip()
        if not incident_id:
            return Delivery("rejected", "The message names no incident id to file in Jira.")
        call = BasicAuthCall(client, (email, token), self.timeout, secrets=(token, email if len(email) >= 4 else ""),
                             vendor="Jira", credentials="account and API token", missing="issue or site",
                             reason_of=_reason)
        if message.event == ACTION_ITEM_EVENT:
            return self._file_action_item(call, message, incident_id)

        key = (message.reference or "").strip()
        if not key:
            found = call.send("GET", self.search_endpoint, f"look up the issue of {incident_id}",
                              params=self.search_params(incident_id))
            if isinstance(found, Delivery):
                return found
            if found.status_code in (401, 403, 429) or found.status_code >= 500:
                return call.failure(found, f"look up the issue of {incident_id}")
            key = _found_key(found)
            if key and message.event == "declared":
                return Delivery("sent", f"Jira issue {key} for {incident_id} already exists; not filed twice.", reference=key)
        if key:
            if message.event in TARGET_STATUSES:
                return self._transition(call, message, incident_id, key)
            return self._comment(call, message, incident_id, key)
        if not self.auto_ticket_creation:
            # Nothing is wrong and nothing will change by retrying: the message is done.
            return Delivery("skipped", f"No Jira issue is labelled {_label(incident_id)} and auto_ticket_creation is off; "
                                    f"nothing filed for the {message.event} of {incident_id}.")
        return self._create(call, message, incident_id)

    def _create(self, call: "BasicAuthCall", message: OutboxMessage, incident_id: str) -> Delivery:
        body = self.issue_for(message, incident_id)
        what = f"create the issue for {incident_id}"
        response = call.send("POST", self.issue_endpoint, what, json=body)
        dropped = ""
        if (not isinstance(response, Delivery) and response.status_code == 400 and "priority" in body["fields"]
                and set(_errors(response)) == {"priority"}):
            del body["fields"]["priority"]
            dropped = " (without a priority: the project refused it)"
            response = call.send("POST", self.issue_endpoint, what, json=body)
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            answer = json_or_none(response)
            key = answer.get("key") if isinstance(answer, dict) else None
            if isinstance(key, str) and key:
                return Delivery("sent", f"Jira issue {key} filed for {incident_id}{dropped}.", reference=key)
            # Not Jira's answer (a proxy's page): the next attempt looks the issue up before filing.
            return Delivery("retry", f"Jira answered {response.status_code} without an issue key; will look again.")
        return call.failure(response, what)

    def _comment(self, call: "BasicAuthCall", message: OutboxMessage, incident_id: str, key: str) -> Delivery:
        what = f"comment the {message.event} of {incident_id} on {key}"
        response = call.send("POST", self.comment_endpoint(key), what, json=self.comment_for(message, incident_id))
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            answer = json_or_none(response)
            if isinstance(answer, dict) and answer.get("id"):
                return Delivery("sent", f"Jira issue {key} commented: {message.event} of {incident_id}.", reference=key)
            return Delivery("retry", f"Jira answered {response.status_code} without a comment id; will comment again.")
        return call.failure(response, what)


    def _transition(self, call: "BasicAuthCall", message: OutboxMessage, incident_id: str, key: str) -> Delivery:
        """Move the issue to the event's status (see the module docstring); never twice."""
        wanted = TARGET_STATUSES[message.event]
        what = f"move {key} to {wanted[0]} ({message.event} of {incident_id})"
        issue = call.send("GET", f"{self.issue_endpoint}/{quote(key, safe='')}", what, params={"fields": "status"})
        if isinstance(issue, Delivery):
            return issue
        if not 200 <= issue.status_code < 300:
            return call.failure(issue, what)
        answer = json_or_none(issue)
        fields = answer.get("fields") if isinstance(answer, dict) else None
        status = fields.get("status") if isinstance(fields, dict) and isinstance(fields.get("status"), dict) else {}
        name, done = str(status.get("name") or ""), _category(status) == "done"
        if name in wanted or (done and message.event == "resolved"):
            return Delivery("sent", f"Jira issue {key} is already {name}: the {message.event} of {incident_id} "
                                    f"was recorded before.", reference=key)
        found = call.send("GET", self.transitions_endpoint(key), what)
        if isinstance(found, Delivery):
            return found
        if not 200 <= found.status_code < 300:
            return call.failure(found, what)
        answer = json_or_none(found)
        listed = answer.get("transitions") if isinstance(answer, dict) else None
        transitions = [t for t in listed if isinstance(t, dict)] if isinstance(listed, list) else []
        by_status = {str((t.get("to") or {}).get("name") or ""): t for t in transitions}
        chosen = next((by_status[status] for status in wanted if status in by_status), None)
        if chosen is None and message.event == "resolved":
            chosen = next((t for t in transitions if _category(t.get("to") or {}) == "done"), None)
        if chosen is None:
            if done:  # a workflow with no Closed status: the issue is done already; the comment records the close
                return self._comment(call, message, incident_id, key)
            return Delivery("rejected", f"Jira offers no transition from {sanitize(name, ())} to "
                                        f"{' or '.join(wanted)} on {key}; move it by hand ({message.event} of {incident_id}).")
        body = {"transition": {"id": str(chosen.get("id"))},
                "update": {"comment": [{"add": {"body": self.comment_for(message, incident_id)["body"]}}]}}
        response = call.send("POST", self.transitions_endpoint(key), what, json=body)
        if isinstance(response, Delivery):
            return response
        if 200 <= response.status_code < 300:
            target = str((chosen.get("to") or {}).get("name") or chosen.get("name") or "")
            return Delivery("sent", f"Jira issue {key} moved to {sanitize(target, ())}: {message.event} of {incident_id}.",
                            reference=key)
        return call.failure(response, what)


def _category(status: dict) -> str:
    """The status category key ("new", "indeterminate", "done") of a Jira status object."""
    category = status.get("statusCategory") if isinstance(status, dict) else None
    return str(category.get("key") or "") if isinstance(category, dict) else ""


def _jql_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _found_key(response: httpx.Response) -> str:
    """The key of the first issue a search found; "" if none (or the search could not run)."""
    if not 200 <= response.status_code < 300:
        return ""  # the lookup is a safeguard: a search Jira cannot run must not block filing
    answer = json_or_none(response)
    issues = answer.get("issues") if isinstance(answer, dict) else None
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        key = issues[0].get("key")
        return key if isinstance(key, str) else ""
    return ""


def _errors(response: httpx.Response) -> dict[str, str]:
    answer = json_or_none(response)
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}


def _reason(response: httpx.Response) -> str:
    """What Jira said: its errorMessages and field errors."""
    answer = json_or_none(response)
    if not isinstance(answer, dict):
        return ""
    messages = answer.get("errorMessages")
    parts = [str(item) for item in messages if item] if isinstance(messages, list) else []
    parts += [f"{field}: {text}" for field, text in _errors(response).items()]
    if not parts and isinstance(answer.get("message"), str):
        parts.append(answer["message"])
    return "; ".join(parts)
