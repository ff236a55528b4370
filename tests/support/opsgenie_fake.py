"""A contract fake of Opsgenie's Alert API v2: a real HTTP server on 127.0.0.1.

  with OpsgenieFake() as fake:                   # knows API_KEY
      notifier = OpsgenieNotifier(url=fake.url)
      ...
      fake.requests      # every accepted request: {"action", "identifier", "identifier_type", "body", "requestId"}
      fake.received      # every request that reached the server, accepted or not
      fake.alerts        # alias -> its latest alert: {"id", "tinyId", "alias", "message", "status"
                         #   ("open" | "closed"), "acknowledged", "count", "priority", "notes", ...}
      fake.request_status  # requestId -> what became of the asynchronous request

What it enforces (docs.opsgenie.com Alert API; the answers copy Opsgenie's shape:
{"message", "errors"?, "took", "requestId"}):
- `Authorization: GenieKey <key>`: missing or another scheme 401 "Could not authenticate";
  a key that is not a UUID 401 "Key format is not valid!"; an unknown one 401.
- Paths: POST /v2/alerts (create); POST /v2/alerts/{identifier}/acknowledge | close |
  unacknowledge | notes; PUT /v2/alerts/{identifier}/priority | message | description;
  GET /v2/alerts/{identifier}; GET /v2/alerts/requests/{requestId}. 404 elsewhere, 405 for
  another method. `identifierType` in id / tiny / alias (default id), 422 otherwise.
- Content-Type application/json when there is a body (415), a JSON object (400 otherwise).
- Create, 422 "Request body is not processable. Please check the errors." with the field
  errors: message required and at most 130 characters, alias <= 512, description <= 15000,
  priority in P1..P5, tags a list of at most 20 strings of at most 50 characters, details
  an object of strings of at most 8000 characters in all, entity <= 512, source <= 100,
  user <= 100, note <= 25000, actions at most 10 strings of at most 50, responders and
  visibleTo lists of {type, id | name | username} with type in team / user / escalation /
  schedule (Alertmanager's receiver sends these). Action bodies: user, source, note lengths;
  notes need a note; priority needs P1..P5; message and description the create's limits.
- Deduplication on the alias: a create whose alias has an open alert only adds one to its
  count (and records lastOccurredAt); otherwise (none yet, or closed) it opens a new one.
- Every accepted request is answered 202 {"result": "Request will be processed", "took",
  "requestId"} and processed at once; an action on an alert that does not exist is still
  202, and its request status says "Alert does not exist" (as Opsgenie does asynchronously).

Failure switches (tests.support.statuspage_fake.LoopbackFake): `fail_next(n, status, retry_after,
body)`, `down()` / `up()`, `garbage = True`, `delay = seconds`.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterable

from tests.support.statuspage_fake import Answer, LoopbackFake, Received, json_answer, now_iso

API_KEY = "5f0c8f2e-3b1a-4c6d-9e7f-0a1b2c3d4e5f"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
IDENTIFIER_TYPES = ("id", "tiny", "alias")
RESPONDER_TYPES = ("team", "user", "escalation", "schedule")
MESSAGE_MAX = 130
ALIAS_MAX = 512
DESCRIPTION_MAX = 15_000
NOTE_MAX = 25_000
SOURCE_MAX = 100
USER_MAX = 100
ENTITY_MAX = 512
TAG_MAX = 50
TAGS_MAX = 20
DETAILS_MAX = 8_000
ACTIONS_MAX = 10
ACTION_MAX = 50
RESPONDERS_MAX = 50

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_POST_ACTIONS = ("acknowledge", "close", "unacknowledge", "notes")
_PUT_ACTIONS = ("priority", "message", "description")
_UNPROCESSABLE = "Request body is not processable. Please check the errors."


def _answer(status: int, message: str, errors: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> Answer:
    body: dict[str, Any] = {"message": message, "took": 0.001, "requestId": str(uuid.uuid4())}
    if errors:
        body["errors"] = errors
    return json_answer(status, body, headers)


def _check_text(errors: dict[str, str], body: dict[str, Any], field: str, limit: int,
                required: bool = False) -> None:
    value = body.get(field)
    if value is None:
        if required:
            errors[field] = f"{field.capitalize()} can not be empty."
        return
    if not isinstance(value, str):
        errors[field] = f"{field.capitalize()} must be a string."
    elif required and not value.strip():
        errors[field] = f"{field.capitalize()} can not be empty."
    elif len(value) > limit:
        errors[field] = f"{field.capitalize()} can not be longer than {limit} characters."


def _check_strings(errors: dict[str, str], body: dict[str, Any], field: str, count: int, limit: int) -> None:
    value = body.get(field)
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors[field] = f"{field.capitalize()} must be a list of strings."
    elif len(value) > count:
        errors[field] = f"{field.capitalize()} can not have more than {count} items."
    elif any(len(item) > limit for item in value):
        errors[field] = f"{field.capitalize()} items can not be longer than {limit} characters."


def _check_recipients(errors: dict[str, str], body: dict[str, Any], field: str) -> None:
    value = body.get(field)
    if value is None:
        return
    if not isinstance(value, list) or len(value) > RESPONDERS_MAX:
        errors[field] = f"{field} must be a list of at most {RESPONDERS_MAX} recipients."
        return
    for item in value:
        if (not isinstance(item, dict) or item.get("type") not in RESPONDER_TYPES
                or not any(isinstance(item.get(k), str) and item[k] for k in ("id", "name", "username"))):
            errors[field] = f"{field} entries need a type ({', '.join(RESPONDER_TYPES)}) and an id, name or username."
            return


def validate_create(body: dict[str, Any]) -> dict[str, str]:
    """Field -> Opsgenie's complaint for a create body; {} if valid."""
    errors: dict[str, str] = {}
    _check_text(errors, body, "message", MESSAGE_MAX, required=True)
    _check_text(errors, body, "alias", ALIAS_MAX)
    _check_text(errors, body, "description", DESCRIPTION_MAX)
    _check_text(errors, body, "entity", ENTITY_MAX)
    _check_text(errors, body, "source", SOURCE_MAX)
    _check_text(errors, body, "user", USER_MAX)
    _check_text(errors, body, "note", NOTE_MAX)
    priority = body.get("priority")
    if priority is not None and priority not in PRIORITIES:
        errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]."
    _check_strings(errors, body, "tags", TAGS_MAX, TAG_MAX)
    _check_strings(errors, body, "actions", ACTIONS_MAX, ACTION_MAX)
    details = body.get("details")
    if details is not None:
        if not isinstance(details, dict) or not all(isinstance(v, str) for v in details.values()):
            errors["details"] = "Details must be an object of string values."
        elif sum(len(k) + len(v) for k, v in details.items()) > DETAILS_MAX:
            errors["details"] = f"Details can not be longer than {DETAILS_MAX} characters."
    _check_recipients(errors, body, "responders")
    _check_recipients(errors, body, "visibleTo")
    return errors


class OpsgenieFake(LoopbackFake):
    """Opsgenie's Alert API v2 on a free loopback port; see the module docstring."""

    def __init__(self, api_keys: Iterable[str] = (API_KEY,)) -> None:
        self.api_keys = set(api_keys)
        self.alerts: dict[str, dict[str, Any]] = {}     # alias -> its latest alert
        self.history: list[dict[str, Any]] = []          # every alert ever opened, oldest first
        self.requests: list[dict[str, Any]] = []
        self.request_status: dict[str, dict[str, Any]] = {}
        self._tiny = 0
        super().__init__()

    def failure_body(self, status: int) -> Any:
        texts = {429: "You are making too many requests! To avoid errors, we recommend you limit requests.",
                 401: "Could not authenticate", 422: _UNPROCESSABLE, 503: "Service Unavailable"}
        return {"message": texts.get(status, "Internal Server Error"), "took": 0.0, "requestId": str(uuid.uuid4())}

    def actions(self, alias: str) -> list[str]:
        """The accepted request actions sent for `alias`, in order."""
        with self._lock:
            return [r["action"] for r in self.requests if r["identifier"] == alias or r["body"].get("alias") == alias]

    # -- the contract -----------------------------------------------------------------------------

    def contract(self, request: Received) -> Answer:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme != "GenieKey" or not key:
            return _answer(401, "Could not authenticate")
        if not _UUID.match(key):
            return _answer(401, "Key format is not valid!")
        if key not in self.api_keys:
            return _answer(401, "Could not authenticate")
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["v2", "alerts"] or len(parts) > 4:
            return _answer(404, "No handler found for path")
        method = request.method
        if len(parts) == 2:
            return self._create(request) if method == "POST" else _answer(405, "Method Not Allowed")
        if len(parts) == 4 and parts[2] == "requests":
            if method != "GET":
                return _answer(405, "Method Not Allowed")
            status = self.request_status.get(parts[3])
            if status is None:
                return _answer(404, "Request not found. It might not be processed, yet.")
            return json_answer(200, {"data": status, "took": 0.001, "requestId": str(uuid.uuid4())})
        identifier_type = (request.query.get("identifierType") or ["id"])[-1]
        if identifier_type not in IDENTIFIER_TYPES:
            return _answer(422, f"Invalid identifierType [{identifier_type}]. "
                                f"Should be one of [id, tiny, alias]")
        identifier = parts[2]
        if len(parts) == 3:
            if method != "GET":
                return _answer(405, "Method Not Allowed")
            alert = self._find(identifier, identifier_type)
            if alert is None:
                return _answer(404, "Alert does not exist")
            return json_answer(200, {"data": alert, "took": 0.001, "requestId": str(uuid.uuid4())})
        action = parts[3]
        if action not in _POST_ACTIONS + _PUT_ACTIONS:
            return _answer(404, "No handler found for path")
        if (method == "POST") != (action in _POST_ACTIONS) or method not in ("POST", "PUT"):
            return _answer(405, "Method Not Allowed")
        return self._act(request, action, identifier, identifier_type)

    def _body(self, request: Received, required: bool) -> dict[str, Any] | Answer:
        if not request.body.strip() and not required:
            return {}
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _answer(415, "Content type must be application/json")
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return _answer(400, "Could not parse request body")
        if not isinstance(body, dict):
            return _answer(400, "Could not parse request body")
        return body

    def _accepted(self, action: str, identifier: str | None, identifier_type: str | None, body: dict[str, Any],
                  outcome: dict[str, Any]) -> Answer:
        request_id = str(uuid.uuid4())
        self.requests.append({"action": action, "identifier": identifier, "identifier_type": identifier_type,
                              "body": body, "requestId": request_id})
        self.request_status[request_id] = {"action": action.capitalize(), "processedAt": now_iso(),
                                           "integrationId": "fake-integration", **outcome}
        return json_answer(202, {"result": "Request will be processed", "took": 0.002, "requestId": request_id})

    def _create(self, request: Received) -> Answer:
        body = self._body(request, required=True)
        if not isinstance(body, dict):
            return body
        errors = validate_create(body)
        if errors:
            return _answer(422, _UNPROCESSABLE, errors)
        alias = body.get("alias") or str(uuid.uuid4())
        stamp = now_iso()
        alert = self.alerts.get(alias)
        if alert is not None and alert["status"] == "open":
            alert["count"] += 1
            alert["lastOccurredAt"] = stamp
            alert["updatedAt"] = stamp
            outcome = {"isSuccess": True, "status": "Alert is deduplicated", "alertId": alert["id"], "alias": alias}
            return self._accepted("create", None, None, body, outcome)
        self._tiny += 1
        alert = {"id": str(uuid.uuid4()), "tinyId": str(self._tiny), "alias": alias, "message": body["message"],
                 "description": body.get("description", ""), "status": "open", "acknowledged": False,
                 "isSeen": False, "count": 1, "priority": body.get("priority") or "P3",
                 "tags": list(body.get("tags") or []), "details": dict(body.get("details") or {}),
                 "entity": body.get("entity", ""), "source": body.get("source") or "", "owner": "",
                 "responders": list(body.get("responders") or []), "notes": [],
                 "createdAt": stamp, "updatedAt": stamp, "lastOccurredAt": stamp}
        if body.get("note"):
            alert["notes"].append(body["note"])
        self.alerts[alias] = alert
        self.history.append(alert)
        return self._accepted("create", None, None, body,
                              {"isSuccess": True, "status": "Created alert", "alertId": alert["id"], "alias": alias})

    def _find(self, identifier: str, identifier_type: str) -> dict[str, Any] | None:
        if identifier_type == "alias":
            return self.alerts.get(identifier)
        field = "id" if identifier_type == "id" else "tinyId"
        matches = [alert for alert in self.history if alert[field] == identifier]
        return matches[-1] if matches else None

    def _act(self, request: Received, action: str, identifier: str, identifier_type: str) -> Answer:
        body = self._body(request, required=action in _PUT_ACTIONS + ("notes",))
        if not isinstance(body, dict):
            return body
        errors: dict[str, str] = {}
        _check_text(errors, body, "user", USER_MAX)
        _check_text(errors, body, "source", SOURCE_MAX)
        _check_text(errors, body, "note", NOTE_MAX, required=action == "notes")
        if action == "priority" and body.get("priority") not in PRIORITIES:
            errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]."
        if action == "message":
            _check_text(errors, body, "message", MESSAGE_MAX, required=True)
        if action == "description":
            _check_text(errors, body, "description", DESCRIPTION_MAX, required=True)
        if errors:
            return _answer(422, _UNPROCESSABLE, errors)
        alert = self._find(identifier, identifier_type)
        if alert is None:
            return self._accepted(action, identifier, identifier_type, body,
                                  {"isSuccess": False, "status": "Alert does not exist"})
        outcome = {"isSuccess": True, "status": f"{action.capitalize()} done", "alertId": alert["id"],
                   "alias": alert["alias"]}
        if action == "acknowledge":
            if alert["status"] == "closed":
                outcome = {"isSuccess": False, "status": "Alert is already closed", "alertId": alert["id"]}
            else:
                alert["acknowledged"] = True
        elif action == "unacknowledge":
            alert["acknowledged"] = False
        elif action == "close":
            alert["status"] = "closed"
        elif action in _PUT_ACTIONS:
            alert[action] = body[action]
        if body.get("note"):
            alert["notes"].append(body["note"])
        alert["updatedAt"] = now_iso()
        return self._accepted(action, identifier, identifier_type, body, outcome)
