"""A contract fake of ServiceNow's Table API for the incident table, on 127.0.0.1.

  with ServiceNowFake() as fake:                  # knows USER / PASSWORD
      notifier = ServiceNowNotifier(url=fake.url)
      ...
      fake.incidents     # sys_id -> the record (ServiceNow's string values) + "work_notes_log"
      fake.states(sys_id)  # the states the record went through, in order
      fake.requests      # every accepted write (method, path, parsed JSON body), in order
      fake.received      # every request that reached the server, accepted or not

What it enforces (Table API; answers in ServiceNow's envelope {"error": {"message",
"detail"}, "status": "failure"} and, where known, its wording):
- Basic auth of a known user, else 401 "User Not Authenticated"; Accept must allow JSON
  (406 otherwise); writes need Content-Type application/json (415 otherwise) and a JSON
  object (400 "Exception while reading request").
- POST /api/now/table/incident, PATCH / PUT /api/now/table/incident/{sys_id}, GET of one
  record, GET of the table with sysparm_query (`field=value` terms joined by ^),
  sysparm_fields and sysparm_limit. Other tables: 400 "Invalid table".
- Fields: only incident fields (400 for unknown ones; the real instance silently drops
  them, which hides typos, so the fake is stricter); short_description required on create
  and at most 160 characters (the real instance cuts it silently: stricter here too),
  description / work_notes / comments / close_notes at most 4000; urgency and impact in
  1..3, state in 1 New / 2 In Progress / 3 On Hold / 6 Resolved / 7 Closed / 8 Canceled,
  category and close_code from their choice lists (400 otherwise).
- ServiceNow's rules: Resolved and Closed need close_code and close_notes (403 "Data Policy
  Exception" naming "Resolution code, Resolution notes"), On Hold needs hold_reason; a
  Closed or Canceled record cannot be changed (403 ACL exception); priority is derived from
  urgency and impact as the default lookup does; numbers run INC0010001, ...
- 201 {"result": record} on create, 200 {"result": record} on update and reads; 404
  "No Record found" for an unknown sys_id.

Failure switches (as the other fakes): `fail_next(n, status=500 | 429 | 401 ...,
retry_after=None, body=None)`, `down()` / `up()`, `down(refuse=False)` (503), `garbage = True`,
`delay = seconds`.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterable

from tests.support.jira_fake import Answer, Received, VendorFake, basic_credentials, content_type, json_answer

USER = "ir.integration"
PASSWORD = "Sn0w-fake-P4ss!word"
SHORT_DESCRIPTION_MAX = 160
TEXT_MAX = 4000

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
CATEGORIES = ("inquiry", "software", "hardware", "network", "database")
# Close codes before and since the Utah release.
CLOSE_CODES = ("Solved (Work Around)", "Solved (Permanently)", "Solved Remotely (Work Around)",
               "Solved Remotely (Permanently)", "Not Solved (Not Reproducible)", "Not Solved (Too Costly)",
               "Closed/Resolved by Caller",
               "Duplicate", "Known error", "No resolution provided", "Resolved by caller", "Resolved by change",
               "Resolved by problem", "Resolved by request", "Solution provided", "Workaround provided", "User error")
HOLD_REASONS = ("1", "3", "4", "5")
FIELDS = {"short_description", "description", "urgency", "impact", "state", "category", "subcategory",
          "close_code", "close_notes", "work_notes", "comments", "correlation_id", "correlation_display",
          "caller_id", "assignment_group", "assigned_to", "cmdb_ci", "business_service", "contact_type",
          "hold_reason", "severity", "opened_by"}
JOURNAL_FIELDS = ("work_notes", "comments")
_TEXT_FIELDS = ("description", "close_notes", "work_notes", "comments")

#: ServiceNow's default priority lookup: (urgency, impact) -> priority.
PRIORITY = {("1", "1"): "1", ("1", "2"): "2", ("2", "1"): "2", ("1", "3"): "3", ("2", "2"): "3", ("3", "1"): "3",
            ("2", "3"): "4", ("3", "2"): "4", ("3", "3"): "5"}

_TABLE_PATH = re.compile(r"^/api/now/table/([^/]+)(?:/([^/]+))?$")


def _failure(status: int, message: str, detail: str | None = None, headers: dict[str, str] | None = None) -> Answer:
    return json_answer(status, {"error": {"message": message, "detail": detail}, "status": "failure"}, headers)


class ServiceNowFake(VendorFake):
    """The Table API's incident table on a free loopback port; see the module docstring."""

    def __init__(self, users: dict[str, str] | None = None, close_codes: Iterable[str] = CLOSE_CODES) -> None:
        self.users = dict(users or {USER: PASSWORD})
        self.close_codes = set(close_codes)
        self.incidents: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._history: dict[str, list[str]] = {}
        self._number = 10000
        super().__init__()

    def failure_body(self, status: int) -> Any:
        messages = {401: ("User Not Authenticated", "Required to provide Auth information"),
                    403: ("Operation Failed", "ACL Exception Update Failed due to security constraints"),
                    404: ("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
                    429: ("Rate limit exceeded", "Too many requests from this user"),
                    400: ("Invalid request", None)}
        message, detail = messages.get(status, ("Internal server error", None))
        return {"error": {"message": message, "detail": detail}, "status": "failure"}

    def states(self, sys_id: str) -> list[str]:
        with self._lock:
            return list(self._history.get(sys_id, []))

    def by_correlation(self, correlation_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [record for record in self.incidents.values() if record.get("correlation_id") == correlation_id]

    # -- the contract -----------------------------------------------------------------------------

    def answer(self, request: Received) -> Answer:
        credentials = basic_credentials(request.headers)
        if credentials is None or self.users.get(credentials[0]) != credentials[1]:
            return _failure(401, "User Not Authenticated", "Required to provide Auth information",
                            {"WWW-Authenticate": 'BASIC realm="Service-now"'})
        accept = request.headers.get("accept", "*/*").lower()
        if not any(kind in accept for kind in ("application/json", "*/*", "application/*")):
            return _failure(406, "Requested response type is not supported", f"Accept: {accept}")
        match = _TABLE_PATH.match(request.path)
        if match is None:
            return _failure(400, "Requested URI does not represent any resource", request.path)
        table, sys_id = match.groups()
        if table != "incident":
            return _failure(400, f"Invalid table {table}")
        if request.method == "GET":
            return self._read(sys_id, request.query)
        if request.method == "POST" and sys_id is None:
            return self._with_json(request, self._create)
        if request.method in ("PATCH", "PUT") and sys_id is not None:
            return self._with_json(request, lambda body: self._update(sys_id, body))
        return _failure(405, "Method not Supported", f"{request.method} {request.path}")

    def _with_json(self, request: Received, handler) -> Answer:
        if content_type(request.headers) != "application/json":
            return _failure(415, "Unsupported Media Type", f"Content-Type: {request.headers.get('content-type', '')}")
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as error:
            return _failure(400, "Exception while reading request", f"Cannot decode: {error}")
        if not isinstance(body, dict):
            return _failure(400, "Exception while reading request", "The payload is not valid JSON.")
        status, headers, payload = handler(body)
        if 200 <= status < 300:
            self.requests.append((request.method, request.path, body))
        return status, headers, payload

    def _field_errors(self, body: dict[str, Any]) -> str | None:
        for name, value in body.items():
            if name not in FIELDS:
                return f"Invalid field: {name}"
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                return f"Invalid value for {name}: expected a string"
        values = {name: str(value) for name, value in body.items()}
        if len(values.get("short_description", "")) > SHORT_DESCRIPTION_MAX:
            return f"short_description is longer than {SHORT_DESCRIPTION_MAX} characters"
        for name in _TEXT_FIELDS:
            if len(values.get(name, "")) > TEXT_MAX:
                return f"{name} is longer than {TEXT_MAX} characters"
        for name in ("urgency", "impact"):
            if name in values and values[name] not in ("1", "2", "3"):
                return f"Invalid value for {name}: {values[name]} (choices 1, 2, 3)"
        if "state" in values and values["state"] not in STATES:
            return f"Invalid value for state: {values['state']}"
        if "category" in values and values["category"] not in CATEGORIES:
            return f"Invalid value for category: {values['category']}"
        if values.get("close_code") and values["close_code"] not in self.close_codes:
            return f"Invalid value for close_code: {values['close_code']}"
        if values.get("hold_reason") and values["hold_reason"] not in HOLD_REASONS:
            return f"Invalid value for hold_reason: {values['hold_reason']}"
        return None

    def _rules(self, record: dict[str, Any]) -> Answer | None:
        """ServiceNow's data policy on the record as it would be after the write."""
        if record["state"] in ("6", "7"):
            missing = [label for field, label in (("close_code", "Resolution code"), ("close_notes", "Resolution notes"))
                       if not str(record.get(field) or "").strip()]
            if missing:
                return _failure(403, "Operation Failed",
                                "Data Policy Exception: \n The following fields are mandatory: " + ", ".join(missing))
        if record["state"] == "3" and not record.get("hold_reason"):
            return _failure(403, "Operation Failed",
                            "Data Policy Exception: \n The following fields are mandatory: On hold reason")
        return None

    def _apply(self, record: dict[str, Any], body: dict[str, Any]) -> None:
        for name, value in body.items():
            text = str(value)
            if name in JOURNAL_FIELDS:
                if text.strip():
                    record.setdefault(f"{name}_log", []).append(text)
                continue
            record[name] = text
        record["priority"] = PRIORITY[(record["urgency"], record["impact"])]
        if record["state"] in ("6", "7"):
            record.setdefault("resolved_at", "2024-01-18 14:30:00")
        elif "state" in body:
            record.pop("resolved_at", None)
        record["active"] = "false" if record["state"] in ("7", "8") else "true"

    def _create(self, body: dict[str, Any]) -> Answer:
        error = self._field_errors(body)
        if error:
            return _failure(400, "Invalid request", error)
        if not str(body.get("short_description") or "").strip():
            return _failure(403, "Operation Failed",
                            "Data Policy Exception: \n The following fields are mandatory: Short description")
        self._number += 1
        sys_id = uuid.uuid4().hex
        record: dict[str, Any] = {"sys_id": sys_id, "number": f"INC{self._number:07d}", "state": "1", "urgency": "3",
                                  "impact": "3", "category": "inquiry", "short_description": "", "description": "",
                                  "close_code": "", "close_notes": "", "correlation_id": "", "correlation_display": "",
                                  "sys_created_on": "2024-01-18 14:30:00", "work_notes_log": [], "comments_log": []}
        self._apply(record, body)
        denied = self._rules(record)
        if denied:
            self._number -= 1
            return denied
        self.incidents[sys_id] = record
        self._history[sys_id] = [record["state"]]
        return json_answer(201, {"result": self._public(record)}, {"Location": f"{self.url}/api/now/table/incident/{sys_id}"})

    def _update(self, sys_id: str, body: dict[str, Any]) -> Answer:
        record = self.incidents.get(sys_id)
        if record is None:
            return _failure(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
        error = self._field_errors(body)
        if error:
            return _failure(400, "Invalid request", error)
        if record["state"] in ("7", "8"):
            return _failure(403, "Operation Failed", "ACL Exception Update Failed due to security constraints")
        after = json.loads(json.dumps(record))
        self._apply(after, body)
        denied = self._rules(after)
        if denied:
            return denied
        self.incidents[sys_id] = after
        if after["state"] != record["state"]:
            self._history[sys_id].append(after["state"])
        return json_answer(200, {"result": self._public(after)})

    def _read(self, sys_id: str | None, query: dict[str, list[str]]) -> Answer:
        fields = [name for name in (query.get("sysparm_fields") or [""])[-1].split(",") if name]
        if sys_id is not None:
            record = self.incidents.get(sys_id)
            if record is None:
                return _failure(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            return json_answer(200, {"result": self._public(record, fields)})
        terms: list[tuple[str, str]] = []
        for term in (query.get("sysparm_query") or [""])[-1].split("^"):
            if not term:
                continue
            name, sep, value = term.partition("=")
            if not sep or not name:
                return _failure(400, "Invalid query", f"Unsupported encoded query term: {term}")
            terms.append((name, value))
        try:
            limit = int((query.get("sysparm_limit") or ["10000"])[-1])
        except ValueError:
            return _failure(400, "Invalid sysparm_limit")
        found = [record for record in self.incidents.values()
                 if all(str(record.get(name, "")) == value for name, value in terms)]
        return json_answer(200, {"result": [self._public(record, fields) for record in found[:max(0, limit)]]})

    @staticmethod
    def _public(record: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        shown = {name: value for name, value in record.items() if not name.endswith("_log")}
        shown.update(work_notes="", comments="")
        return {name: shown.get(name, "") for name in fields} if fields else shown
