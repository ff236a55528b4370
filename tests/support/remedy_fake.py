"""A contract fake of the BMC Remedy / Helix ITSM AR System REST API (JWT login, the incident
interface forms and Work Info) on 127.0.0.1.

  with RemedyFake() as fake:                      # knows USER / PASSWORD and the person FIRST LAST
      notifier = RemedyNotifier(url=fake.url, first_name=FIRST, last_name=LAST)
      ...
      fake.incidents     # Incident Number -> the entry's values (+ "work_info": [Detailed Description])
      fake.statuses(n)   # the Status values incident n went through, in order
      fake.outage(n)     # the next n requests are answered 503 (the server is down for a while)

What it enforces (AR System REST API; errors are the server's JSON list of {"messageType":
"ERROR", "messageText", "messageAppendedText", "messageNumber"}):
- POST /api/jwt/login needs application/x-www-form-urlencoded with username and password of a
  known account (401 ARERR 623 "Authentication failed" otherwise) and answers the token as
  text/plain. Every /api/arsys request needs `Authorization: AR-JWT <a token it issued>`
  (401 otherwise; a Bearer or Basic header is refused like no header). Writes need
  Content-Type application/json and a body {"values": {...}} (400 otherwise).
- POST /api/arsys/v1/entry/HPD:IncidentInterface_Create: z1D_Action "CREATE"; First_Name,
  Last_Name (a person the People form knows), Description (at most 100 characters), Impact,
  Urgency, Status, Reported Source and Service_Type required and from their selection lists
  (ARERR 326 "Required field cannot be blank." / ARERR 306 "Value does not fall within the
  limits specified for the field."); unknown fields are ARERR 314 (the real server refuses a
  field the form does not have). 201, empty body, Location .../HPD:IncidentInterface_Create/<id>;
  GET on it answers {"values": {"Request ID", "Incident Number", ...}}. Numbers run
  INC000000000101, ...
- GET /api/arsys/v1/entry/HPD:IncidentInterface?q='Incident Number'="INC..." ->
  {"entries": [{"values": {...}, "_links": {...}}]}; other qualifications are 400 (ARERR 1587).
- PUT /api/arsys/v1/entry/HPD:IncidentInterface/<Request ID>: Status from its list; "Resolved"
  needs Status_Reason from the resolved reasons and a Resolution; "Closed" only from Resolved
  (ARERR 1291053 otherwise); a Closed incident cannot change. 204.
- POST /api/arsys/v1/entry/HPD:WorkLog: Incident Number of a known incident, Work Log Type and
  View Access from their lists, Detailed Description required. 201.

Failure switches: `outage(n)` (503 for n requests), and those of the other fakes:
`fail_next(n, status)`, `down()` / `up()`, `garbage = True`, `delay = seconds`.
"""
from __future__ import annotations

import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from tests.support.jira_fake import Answer, Received, VendorFake, content_type, json_answer

USER = "ir.integration"
PASSWORD = "Rem3dy-fake-P4ss"
FIRST, LAST = "Allen", "Allbrook"  # the person incidents are reported for (People form)
DESCRIPTION_MAX = 100

IMPACTS = ("1-Extensive/Widespread", "2-Significant/Large", "3-Moderate/Limited", "4-Minor/Localized")
URGENCIES = ("1-Critical", "2-High", "3-Medium", "4-Low")
STATUSES = ("New", "Assigned", "In Progress", "Pending", "Resolved", "Closed", "Cancelled")
REPORTED_SOURCES = ("Direct Input", "Email", "External Escalation", "Fax", "Self Service", "Systems Management",
                    "Phone", "Voice Mail", "Walk In", "Web", "Other", "BMC Impact Manager Event")
SERVICE_TYPES = ("User Service Restoration", "User Service Request", "Infrastructure Restoration",
                 "Infrastructure Event", "Security Incident")
RESOLVED_REASONS = ("Automated Resolution Reported", "Customer Follow-Up Required", "Future Enhancement",
                    "Infrastructure Change Created", "Monitoring Incident", "No Further Action Required",
                    "Temporary Corrective Action")
WORK_LOG_TYPES = ("General Information", "Working Log", "Incident Task / Action", "Resolution Communications",
                  "Status Update")
VIEW_ACCESS = ("Internal", "Public")

CREATE_FIELDS = {"First_Name", "Last_Name", "Description", "Detailed_Decription", "Impact", "Urgency", "Status",
                 "Reported Source", "Service_Type", "z1D_Action", "Company", "Assigned Group", "Status_Reason"}
REQUIRED_ON_CREATE = ("First_Name", "Last_Name", "Description", "Impact", "Urgency", "Status", "Reported Source",
                      "Service_Type")
UPDATE_FIELDS = {"Status", "Status_Reason", "Resolution", "Impact", "Urgency", "Description", "Detailed_Decription"}
WORK_LOG_FIELDS = {"Incident Number", "Work Log Type", "Description", "Detailed Description", "View Access",
                   "Secure Work Log"}
SELECTIONS = {"Impact": IMPACTS, "Urgency": URGENCIES, "Status": STATUSES, "Reported Source": REPORTED_SOURCES,
              "Service_Type": SERVICE_TYPES, "Work Log Type": WORK_LOG_TYPES, "View Access": VIEW_ACCESS}

_ENTRY = re.compile(r"^/api/arsys/v1/entry/([^/]+)(?:/([^/]+))?$")
_QUALIFICATION = re.compile(r"""^'Incident Number'\s*=\s*"([^"]+)"$""")


def ar_error(status: int, number: int, text: str, appended: str | None = None) -> Answer:
    return json_answer(status, [{"messageType": "ERROR", "messageText": text, "messageAppendedText": appended,
                                 "messageNumber": number}])


BLANK = (326, "Required field cannot be blank.")
LIMITS = (306, "Value does not fall within the limits specified for the field.")


class RemedyFake(VendorFake):
    """The AR System REST API's incident forms on a free loopback port; see the module docstring."""

    def __init__(self, accounts: dict[str, str] | None = None, people: tuple[tuple[str, str], ...] = ((FIRST, LAST),)):
        self.accounts = dict(accounts or {USER: PASSWORD})
        self.people = set(people)
        self.tokens: set[str] = set()
        self.incidents: dict[str, dict[str, Any]] = {}  # Incident Number -> values
        self._by_request: dict[str, str] = {}  # Request ID -> Incident Number
        self._by_create: dict[str, str] = {}  # the create form's entry id -> Incident Number
        self._history: dict[str, list[str]] = {}
        self._number = 100
        super().__init__()

    def failure_body(self, status: int) -> Any:
        return [{"messageType": "ERROR", "messageText": f"HTTP {status}", "messageAppendedText": None,
                 "messageNumber": 9999}]

    def outage(self, requests: int) -> None:
        """The server is down for the next `requests` requests: each is answered 503."""
        self.fail_next(requests, status=503)

    def statuses(self, number: str) -> list[str]:
        with self._lock:
            return list(self._history.get(number, []))

    def work_info(self, number: str) -> list[str]:
        with self._lock:
            return list(self.incidents[number]["work_info"])

    # -- the contract -----------------------------------------------------------------------------

    def answer(self, request: Received) -> Answer:
        if request.path == "/api/jwt/login":
            return self._login(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "AR-JWT" or token.strip() not in self.tokens:
            return ar_error(401, 623, "Authentication failed", "the AR-JWT token is missing, unknown or expired")
        match = _ENTRY.match(request.path)
        if match is None:
            return ar_error(404, 9999, "Not found", request.path)
        form, entry_id = match.groups()
        if request.method in ("POST", "PUT"):
            if content_type(request.headers) != "application/json":
                return ar_error(415, 9999, "Unsupported Media Type", "Content-Type must be application/json")
            try:
                body = json.loads(request.body)
            except (ValueError, UnicodeDecodeError):
                return ar_error(400, 9999, "The request body is not JSON.")
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                return ar_error(400, 9999, "The request body must be {\"values\": {field: text}}.")
        if form == "HPD:IncidentInterface_Create" and request.method == "POST" and entry_id is None:
            return self._create(values)
        if form == "HPD:IncidentInterface_Create" and request.method == "GET" and entry_id is not None:
            number = self._by_create.get(entry_id)
            if number is None:
                return ar_error(404, 302, "Entry does not exist in database.")
            return json_answer(200, {"values": self._values(number)})
        if form == "HPD:IncidentInterface" and request.method == "GET" and entry_id is None:
            return self._query(request.query)
        if form == "HPD:IncidentInterface" and request.method == "PUT" and entry_id is not None:
            return self._update(entry_id, values)
        if form == "HPD:WorkLog" and request.method == "POST" and entry_id is None:
            return self._work_log(values)
        return ar_error(405 if form in ("HPD:IncidentInterface_Create", "HPD:IncidentInterface", "HPD:WorkLog")
                        else 404, 303, f"Form does not exist on server or the method is not allowed: {form}")

    def _login(self, request: Received) -> Answer:
        if request.method != "POST":
            return 405, {"Allow": "POST"}, b""
        if content_type(request.headers) != "application/x-www-form-urlencoded":
            return ar_error(415, 9999, "Unsupported Media Type", "the login takes a form")
        form = parse_qs(request.body.decode("utf-8", "replace"))
        user, password = (form.get("username") or [""])[-1], (form.get("password") or [""])[-1]
        if not user or self.accounts.get(user) != password:
            return ar_error(401, 623, "Authentication failed", user)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"Content-Type": "text/plain;charset=UTF-8"}, token.encode()

    def _check(self, values: dict[str, str], allowed: set[str], required: tuple[str, ...]) -> Answer | None:
        for name in values:
            if name not in allowed:
                return ar_error(400, 314, "The field does not exist on this form.", name)
        for name in required:
            if not values.get(name, "").strip():
                return ar_error(400, *BLANK, name)
        for name, choices in SELECTIONS.items():
            if name in values and values[name] not in choices:
                return ar_error(400, *LIMITS, f"{name}: {values[name]}")
        if len(values.get("Description", "")) > DESCRIPTION_MAX:
            return ar_error(400, 306, "Value exceeds the field's maximum length.", f"Description: {DESCRIPTION_MAX}")
        return None

    def _create(self, values: dict[str, str]) -> Answer:
        if values.get("z1D_Action") != "CREATE":
            return ar_error(400, *BLANK, "z1D_Action must be CREATE on the create interface")
        refused = self._check(values, CREATE_FIELDS, REQUIRED_ON_CREATE)
        if refused:
            return refused
        if (values["First_Name"], values["Last_Name"]) not in self.people:
            return ar_error(400, 1291000, "The customer is not a known person in the People form.",
                            f"{values['First_Name']} {values['Last_Name']}")
        if values["Status"] in ("Resolved", "Closed", "Cancelled"):
            return ar_error(400, *LIMITS, "an incident is created New, Assigned, In Progress or Pending")
        self._number += 1
        number, request_id, create_id = f"INC{self._number:012d}", f"{self._number:015d}", f"IDGAA{self._number:010d}"
        stored = {name: value for name, value in values.items() if name != "z1D_Action"}
        self.incidents[number] = {**stored, "Incident Number": number, "Request ID": request_id, "work_info": []}
        self._by_request[request_id], self._by_create[create_id] = number, number
        self._history[number] = [values["Status"]]
        location = f"{self.url}/api/arsys/v1/entry/HPD:IncidentInterface_Create/{create_id}"
        return 201, {"Location": location}, b""

    def _values(self, number: str) -> dict[str, Any]:
        return {name: value for name, value in self.incidents[number].items() if name != "work_info"}

    def _query(self, query: dict[str, list[str]]) -> Answer:
        match = _QUALIFICATION.match((query.get("q") or [""])[-1].strip())
        if match is None:
            return ar_error(400, 1587, "The qualification line is not valid.", (query.get("q") or [""])[-1])
        number = match.group(1)
        entries = [] if number not in self.incidents else [{
            "values": self._values(number),
            "_links": {"self": [{"href": f"{self.url}/api/arsys/v1/entry/HPD:IncidentInterface/"
                                         f"{self.incidents[number]['Request ID']}"}]}}]
        return json_answer(200, {"entries": entries})

    def _update(self, request_id: str, values: dict[str, str]) -> Answer:
        number = self._by_request.get(request_id)
        if number is None:
            return ar_error(404, 302, "Entry does not exist in database.", request_id)
        refused = self._check(values, UPDATE_FIELDS, ())
        if refused:
            return refused
        incident = self.incidents[number]
        if incident["Status"] == "Closed":
            return ar_error(400, 1291053, "A closed incident cannot be modified.", number)
        status = values.get("Status", incident["Status"])
        if status == "Resolved":
            reason = values.get("Status_Reason", incident.get("Status_Reason", ""))
            if reason not in RESOLVED_REASONS:
                return ar_error(400, *LIMITS, f"Status_Reason: {reason or '(blank)'}")
            if not values.get("Resolution", incident.get("Resolution", "")).strip():
                return ar_error(400, *BLANK, "Resolution")
        if status == "Closed" and incident["Status"] != "Resolved":
            return ar_error(400, 1291053, "Only a resolved incident can be closed.", incident["Status"])
        incident.update(values)
        if status != self._history[number][-1]:
            self._history[number].append(status)
        return 204, {}, b""

    def _work_log(self, values: dict[str, str]) -> Answer:
        refused = self._check(values, WORK_LOG_FIELDS, ("Incident Number", "Work Log Type", "Detailed Description"))
        if refused:
            return refused
        number = values["Incident Number"]
        if number not in self.incidents:
            return ar_error(400, 1291010, "The incident does not exist.", number)
        self.incidents[number]["work_info"].append(values["Detailed Description"])
        return 201, {"Location": f"{self.url}/api/arsys/v1/entry/HPD:WorkLog/WLG{len(self.incidents[number]['work_info']):012d}"}, b""
