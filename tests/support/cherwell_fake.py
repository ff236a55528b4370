"""A contract fake of the Cherwell REST API (token, business object schema, savebusinessobject,
saverelatedbusinessobjects) for the Incident and its Journal - Note, on 127.0.0.1.

  with CherwellFake() as fake:                    # knows CLIENT_ID, USER / PASSWORD, CUSTOMER
      ...
      fake.incidents     # busObRecId -> {field name: value, "journal": [Details, ...]}
      fake.statuses(r)   # the Status values incident r went through, in order
      fake.outage(n)     # the next n requests are answered 503

What it enforces:
- POST /CherwellAPI/token: application/x-www-form-urlencoded, grant_type=password, a known
  client_id (400 {"error": "invalid_client_id"}) and a known username/password (400
  {"error": "invalid_grant", "error_description": "BADREQUEST"}); answers {"access_token",
  "token_type": "bearer", "expires_in", "refresh_token"}. Every /api call needs `Authorization:
  Bearer <a token it issued>` (401 otherwise); writes need Content-Type application/json.
- GET .../getbusinessobjectsummary/busobname/{name}, GET .../getbusinessobjectschema/busobid/{id}
  (fieldDefinitions; relationships only with includerelationships=true).
- POST .../savebusinessobject {"busObId", "busObRecId"?, "fields": [{"dirty", "fieldId", "name",
  "value"}], "persist"}: busObId the Incident's; every field's fieldId must be the one its
  name has on the object (a mismatch or unknown id is a field validation error); only dirty
  fields are written; a new Incident needs ShortDescription, Description, Priority, Status,
  Service, Category, Subcategory and CustomerRecID (a known customer); Priority 1..5 and
  Status from its list; Resolved and Closed need CloseDescription; a Closed incident cannot
  change; an unknown busObRecId is RECORDNOTFOUND. Refusals are 400 with hasError true,
  errorCode, errorMessage and fieldValidationErrors; success is 200 {"busObPublicId",
  "busObRecId", "hasError": false, ...}; public ids run 101, 102, ...
- POST .../saverelatedbusinessobjects: the parent must exist, relationshipId must be the
  Incident's journal relationship, each related object a Journal - Note with Details.
"""
from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs

from tests.support.jira_fake import Answer, Received, VendorFake, content_type, json_answer

CLIENT_ID = "c2a5fa3c-fake-4c4e-9c1d-clientkey0001"
USER = "ir.integration"
PASSWORD = "Ch3rwell-fake-P4ss"
CUSTOMER = "93405caa107c376a2bd15c4c8885a900be316f3a72"
INCIDENT_ID = "6dd53665c0c24cab86870a21cf6434ae"
JOURNAL_ID = "9451b0a3b5a24d5e8a2c8c7e37b2ae0c"  # the fake's own id for its Journal - Note
RELATIONSHIP_ID = "9369187528b417b4a17aaa4646b7f7a78b3c821be9"  # the fake's own relationship id
STATUSES = ("New", "Assigned", "In Progress", "Pending", "Resolved", "Closed", "Reopened")
INCIDENT_FIELDS = ("ShortDescription", "Description", "Priority", "Status", "Source", "Service", "Category",
                   "Subcategory", "CustomerRecID", "CloseDescription", "IncidentID")
REQUIRED = ("ShortDescription", "Description", "Priority", "Status", "Service", "Category", "Subcategory",
            "CustomerRecID")
SHORT_DESCRIPTION_MAX = 250


def _field_ids(bus_ob_id: str, names: tuple[str, ...]) -> dict[str, str]:
    return {name: f"BO:{bus_ob_id},FI:{uuid.uuid5(uuid.NAMESPACE_OID, bus_ob_id + name).hex}" for name in names}


INCIDENT_FIELD_IDS = _field_ids(INCIDENT_ID, INCIDENT_FIELDS)
JOURNAL_FIELD_IDS = _field_ids(JOURNAL_ID, ("Details", "JournalTypeName"))


def _refused(code: str, message: str, field_errors: list[dict[str, str]] | None = None, status: int = 400) -> Answer:
    return json_answer(status, {"busObPublicId": None, "busObRecId": None, "cacheKey": None, "errorCode": code,
                                "errorMessage": message, "fieldValidationErrors": field_errors or [],
                                "hasError": True, "notificationTriggers": []})


class CherwellFake(VendorFake):
    """The Cherwell REST API's Incident on a free loopback port; see the module docstring."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.incidents: dict[str, dict[str, Any]] = {}
        self._history: dict[str, list[str]] = {}
        self._public = 100
        super().__init__()

    def failure_body(self, status: int) -> Any:
        return {"Message": f"HTTP {status}"}

    def outage(self, requests: int) -> None:
        self.fail_next(requests, status=503)

    def statuses(self, rec_id: str) -> list[str]:
        with self._lock:
            return list(self._history.get(rec_id, []))

    def answer(self, request: Received) -> Answer:
        if request.path == "/CherwellAPI/token":
            return self._token(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            return json_answer(401, {"Message": "Authorization has been denied for this request."})
        path = request.path.removeprefix("/CherwellAPI/api/V1/")
        if request.method == "GET" and path == "getbusinessobjectsummary/busobname/Incident":
            return json_answer(200, [{"busObId": INCIDENT_ID, "name": "Incident", "displayName": "Incident"}])
        match = re.match(r"^getbusinessobjectschema/busobid/([^/]+)$", path)
        if request.method == "GET" and match:
            return self._schema(match.group(1), (request.query.get("includerelationships") or ["false"])[-1])
        if request.method == "POST" and path in ("savebusinessobject", "saverelatedbusinessobjects"):
            if content_type(request.headers) != "application/json":
                return json_answer(415, {"Message": "The request entity's media type is not supported."})
            try:
                body = json.loads(request.body)
            except (ValueError, UnicodeDecodeError):
                return json_answer(400, {"Message": "The request is invalid."})
            if not isinstance(body, dict):
                return json_answer(400, {"Message": "The request is invalid."})
            return self._save(body) if path == "savebusinessobject" else self._save_related(body)
        return json_answer(404, {"Message": f"No HTTP resource was found that matches {request.path}"})

    def _token(self, request: Received) -> Answer:
        if request.method != "POST" or content_type(request.headers) != "application/x-www-form-urlencoded":
            return json_answer(400, {"error": "unsupported_grant_type"})
        form = {key: values[-1] for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "password":
            return json_answer(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID:
            return json_answer(400, {"error": "invalid_client_id", "error_description": "client_id is not valid"})
        if form.get("username") != USER or form.get("password") != PASSWORD:
            return json_answer(400, {"error": "invalid_grant", "error_description": "BADREQUEST"})
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return json_answer(200, {"access_token": token, "token_type": "bearer", "expires_in": 1199,
                                 "refresh_token": secrets.token_hex(8), "as:client_id": CLIENT_ID, "username": USER})

    def _schema(self, bus_ob_id: str, relationships: str) -> Answer:
        known = {INCIDENT_ID: ("Incident", INCIDENT_FIELD_IDS), JOURNAL_ID: ("Journal - Note", JOURNAL_FIELD_IDS)}
        if bus_ob_id not in known:
            return json_answer(400, {"errorCode": "BUSOBNOTFOUND", "errorMessage": "Business object not found",
                                     "hasError": True})
        name, fields = known[bus_ob_id]
        answer: dict[str, Any] = {"busObId": bus_ob_id, "name": name, "fieldDefinitions": [
            {"fieldId": fid, "name": fname, "displayName": fname, "required": fname in REQUIRED}
            for fname, fid in fields.items()], "hasError": False}
        if relationships.lower() == "true" and bus_ob_id == INCIDENT_ID:
            answer["relationships"] = [{"relationshipId": RELATIONSHIP_ID, "displayName": "Incident Owns Journals",
                                        "target": JOURNAL_ID, "cardinality": "OneToMany"}]
        return json_answer(200, answer)

    @staticmethod
    def _values(fields: Any, ids: dict[str, str]) -> dict[str, str] | Answer:
        if not isinstance(fields, list):
            return _refused("GENERALFAILURE", "fields must be a list")
        values: dict[str, str] = {}
        errors = []
        for field in fields:
            if not isinstance(field, dict) or not isinstance(field.get("value"), str):
                return _refused("GENERALFAILURE", "each field needs fieldId, name and a string value")
            if ids.get(str(field.get("name"))) != field.get("fieldId"):
                errors.append({"error": "Field not found or name and id disagree", "errorCode": "FIELDNOTFOUND",
                               "fieldId": str(field.get("fieldId"))})
            elif field.get("dirty") is True:  # only dirty fields are written
                values[field["name"]] = field["value"]
        return _refused("FIELDVALIDATIONERROR", "Field validation failed", errors) if errors else values

    def _save(self, body: dict[str, Any]) -> Answer:
        if body.get("busObId") != INCIDENT_ID:
            return _refused("BUSOBNOTFOUND", "Business object not found")
        values = self._values(body.get("fields"), INCIDENT_FIELD_IDS)
        if not isinstance(values, dict):
            return values
        rec_id = body.get("busObRecId")
        if rec_id is None:
            missing = [name for name in REQUIRED if not values.get(name, "").strip()]
            if missing:
                return _refused("FIELDVALIDATIONERROR", "Required fields are empty",
                                [{"error": "Required", "errorCode": "REQUIRED", "fieldId": INCIDENT_FIELD_IDS[n]}
                                 for n in missing])
            record: dict[str, Any] = {"journal": []}
            before = None
        else:
            if rec_id not in self.incidents:
                return _refused("RECORDNOTFOUND", "Record not found", status=404)
            record = json.loads(json.dumps(self.incidents[rec_id]))
            before = record["Status"]
            if before == "Closed":
                return _refused("GENERALFAILURE", "A closed Incident cannot be changed")
        record.update(values)
        if record.get("Priority") not in ("1", "2", "3", "4", "5"):
            return _refused("FIELDVALIDATIONERROR", "Priority must be 1 to 5",
                            [{"error": "Invalid value", "errorCode": "INVALID", "fieldId": INCIDENT_FIELD_IDS["Priority"]}])
        if record.get("Status") not in STATUSES:
            return _refused("FIELDVALIDATIONERROR", "Status is not one of the list",
                            [{"error": "Invalid value", "errorCode": "INVALID", "fieldId": INCIDENT_FIELD_IDS["Status"]}])
        if record["Status"] in ("Resolved", "Closed") and not record.get("CloseDescription", "").strip():
            return _refused("FIELDVALIDATIONERROR", "A resolved Incident needs a close description",
                            [{"error": "Required", "errorCode": "REQUIRED",
                              "fieldId": INCIDENT_FIELD_IDS["CloseDescription"]}])
        if record.get("CustomerRecID") != CUSTOMER:
            return _refused("FIELDVALIDATIONERROR", "Customer not found",
                            [{"error": "Invalid value", "errorCode": "INVALID",
                              "fieldId": INCIDENT_FIELD_IDS["CustomerRecID"]}])
        if len(record.get("ShortDescription", "")) > SHORT_DESCRIPTION_MAX:
            return _refused("FIELDVALIDATIONERROR", "ShortDescription is too long")
        if rec_id is None:
            self._public += 1
            rec_id = uuid.uuid4().hex + "00"
            record["IncidentID"] = str(self._public)
            self._history[rec_id] = [record["Status"]]
        elif record["Status"] != before:
            self._history[rec_id].append(record["Status"])
        if body.get("persist") is True:
            self.incidents[rec_id] = record
        return json_answer(200, {"busObPublicId": record["IncidentID"], "busObRecId": rec_id, "cacheKey": None,
                                 "errorCode": None, "errorMessage": None, "fieldValidationErrors": [],
                                 "hasError": False, "notificationTriggers": []})

    def _save_related(self, body: dict[str, Any]) -> Answer:
        parent = self.incidents.get(str(body.get("parentBusObRecId")))
        if body.get("parentBusObId") != INCIDENT_ID or parent is None:
            return _refused("RECORDNOTFOUND", "Parent record not found", status=404)
        if body.get("relationshipId") != RELATIONSHIP_ID:
            return _refused("RELATIONSHIPNOTFOUND", "Relationship not found")
        related = body.get("relatedBusinessObjects")
        if not isinstance(related, list) or not related:
            return _refused("GENERALFAILURE", "relatedBusinessObjects must name at least one object")
        notes = []
        for item in related:
            if not isinstance(item, dict) or item.get("busObId") != JOURNAL_ID:
                return _refused("BUSOBNOTFOUND", "Related business object not found")
            values = self._values(item.get("fields"), JOURNAL_FIELD_IDS)
            if not isinstance(values, dict):
                return values
            if not values.get("Details", "").strip():
                return _refused("FIELDVALIDATIONERROR", "Details are required")
            notes.append(values["Details"])
        if parent["Status"] == "Closed":
            return _refused("GENERALFAILURE", "A closed Incident cannot be changed")
        parent["journal"].extend(notes)
        return json_answer(200, {"parentBusObId": INCIDENT_ID, "parentBusObRecId": body["parentBusObRecId"],
                                 "relatedBusinessObjects": [], "hasError": False, "errorCode": None})
