"""Import of historical incidents from JSON, and the JSON export that round-trips
through it.

The import form is a list of objects, one per incident:
  title, severity (any alias), type, environment, status,
  started_at, detected_at, declared_at, acknowledged_at, mitigated_at, resolved_at,
  closed_at (ISO 8601 text with a time zone, from year 1900 up to now; detected_at and
  declared_at required, the others optional, in that order), and optionally id, service, is_drill, customer_satisfaction (a number from
  1.0 to 5.0, or null; kept to two decimals).
The export adds fields the import ignores (policy, checklist, timeline, ...).
Everything is validated before anything is written, and written in one transaction.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from playbooks.errors import PolicyValueError
from playbooks.statuses import OPEN_STATUSES
from playbooks.clock import iso_z, to_utc_naive
from playbooks.timeline import TimelineKind
from store.models import Incident
from store.operations import IncidentStore
from store.satisfaction import score_problem
from playbooks.validation import checked_text as check_text

LIFECYCLE = ("started_at", "detected_at", "declared_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")
# Keys `export --format json` writes that describe, rather than define, an incident.
EXPORT_ONLY_KEYS = frozenset({
    "severity_name", "version", "declared_by", "policy", "phases", "checklist", "roles", "status_updates",
    "remediation", "timeline", "notifications", "data_exposed", "compliance", "public_headline", "pinned_summary",
})
ID_PATTERN = re.compile(r"INC-([0-9]{4})-([0-9]{2})([0-9]{2})-[0-9]{3,6}")
FUTURE_SLACK = timedelta(minutes=5)  # clocks disagree a little; a timestamp beyond this is a typo
EARLIEST = datetime(1900, 1, 1)  # the reports' earliest year too; before it a time is a typo (year 2, 0001)
YEARS = "a time from year 1900 up to now"
TIMESTAMP_FORM = "ISO 8601 text with a time zone, like 2024-01-15T14:30:00Z or 2024-01-15T16:30:00+02:00"


class ImportError_(PolicyValueError):
    """The import file is not acceptable; nothing was written."""


class ImportedIncident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    title: str
    severity: str
    type: str
    environment: str
    status: str
    service: str | None = None
    is_drill: bool = False
    started_at: datetime | None = None
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    customer_satisfaction: float | None = None

    @field_validator(*LIFECYCLE, mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        # Before pydantic's own coercion, which would take 1705588200 (a number) as a time.
        if value is not None and not isinstance(value, str):
            raise ValueError(f"({value!r}) is not a timestamp; accepted: {TIMESTAMP_FORM}")
        return value

    @field_validator(*LIFECYCLE)
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        # A time without a zone is ambiguous by up to a day: taking it as UTC would move an
        # incident written in local time and corrupt every duration measured from it.
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"({value.isoformat()}) has no time zone; accepted: {TIMESTAMP_FORM}")
        try:
            moment = to_utc_naive(value)
        except OverflowError:
            moment = None
        if moment is None or moment < EARLIEST:
            raise ValueError(f"({value.isoformat()}) is out of range; accepted: {YEARS}")
        return moment

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = ID_PATTERN.fullmatch(value)
        try:
            date(int(match[1]), int(match[2]), int(match[3])) if match else None
        except ValueError:
            match = None
        if not match:
            raise ValueError(f"{value!r} is not an incident id; accepted: INC-YYYY-MMDD-NNN with a real date")
        return value

    @field_validator("customer_satisfaction", mode="before")
    @classmethod
    def _satisfaction(cls, value: object) -> float | None:
        # Before pydantic's own coercion: "4.5" (a string) or true would pass as a float there.
        if value is None:
            return None
        problem = score_problem(value)
        if problem:
            raise ValueError(f"({value!r}) {problem}")
        return round(float(value), 2)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return check_text(value, "title")

    @field_validator("service")
    @classmethod
    def _service(cls, value: str | None) -> str | None:
        return check_text(value, "service", required=False)

    @model_validator(mode="after")
    def _in_order(self) -> "ImportedIncident":
        present = [(name, getattr(self, name)) for name in LIFECYCLE if getattr(self, name) is not None]
        for (first, a), (second, b) in zip(present, present[1:]):
            if a > b:
                raise ValueError(f"field {second} ({iso_z(b)}) is before {first} ({iso_z(a)}); "
                                 f"accepted: {' <= '.join(LIFECYCLE)}")
        return self


def _check_record(store: IncidentStore, raw: Any, where: str) -> ImportedIncident:
    if not isinstance(raw, dict):
        raise ImportError_(f"{where} is not an object; accepted: a list of incident objects")
    fields = {k: v for k, v in raw.items() if k not in EXPORT_ONLY_KEYS}
    try:
        record = ImportedIncident.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if not field:  # a check across fields (the lifecycle order) names its fields itself
            raise ImportError_(f"{where}: {message}") from None
        if error["type"] == "missing":
            required = [name for name, info in ImportedIncident.model_fields.items() if info.is_required()]
            message = f"is required; accepted: incident objects with {', '.join(required)}"
        elif error["type"] == "extra_forbidden":
            message = f"is not a known field; accepted: {', '.join(ImportedIncident.model_fields)}"
        elif error["type"].startswith("datetime") or error["type"].startswith("timezone"):
            message = f"({error.get('input')!r}) is not a timestamp; accepted: {TIMESTAMP_FORM}"
        elif error["type"] in ("string_type", "bool_type"):
            message = "has the wrong type; accepted: " + ("a string" if error["type"] == "string_type" else "true or false")
        elif "accepted" not in message:
            message += "; accepted: the import form in the README"
        raise ImportError_(f"{where}: field {field} {message}") from None
    field = "severity"
    try:
        level = store.policy.level(record.severity)
        field = "type"
        workflow = store.policy.workflow(record.type)
        field = "environment"
        environment = store.policy.environment(record.environment)
        field = "status"
        status = store.policy.status(record.status)
    except PolicyValueError as exc:
        raise ImportError_(f"{where}: field {field}: {exc}") from None
    if status in ("resolved", "closed") and record.resolved_at is None:
        raise ImportError_(f"{where}: status {status} needs resolved_at; accepted: a resolved_at timestamp")
    if status == "closed" and record.closed_at is None:
        raise ImportError_(f"{where}: status closed needs closed_at; accepted: a closed_at timestamp")
    if status in OPEN_STATUSES and (record.resolved_at or record.closed_at):
        raise ImportError_(f"{where}: status {status} cannot have resolved_at or closed_at; accepted: resolved or closed")
    latest = store.now() + FUTURE_SLACK
    for name in LIFECYCLE:
        moment = getattr(record, name)
        if moment is not None and moment > latest:
            raise ImportError_(f"{where}: field {name} ({iso_z(moment)}) is in the future; accepted: times up to now")
    try:
        store.policy.response_deadline(level, record.detected_at)
    except (OverflowError, ValueError):
        raise ImportError_(f"{where}: field detected_at ({iso_z(record.detected_at)}) is out of range; "
                           f"accepted: {YEARS}") from None
    return record.model_copy(update={"severity": level.id, "type": workflow.type, "environment": environment,
                                      "status": status})


def parse_import(store: IncidentStore, text: str, source: str = "input") -> list[ImportedIncident]:
    """Check a whole import document; raise ImportError_ naming the first bad record."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"{source}: line {exc.lineno} column {exc.colno}: {exc.msg}; accepted: JSON") from None
    except RecursionError:
        raise ImportError_(f"{source}: is nested too deeply; accepted: a flat list of incident objects") from None
    if not isinstance(data, list):
        raise ImportError_(f"{source}: the top level is not a list; accepted: a list of incident objects")
    records = [_check_record(store, raw, f"{source}: incident {index + 1}") for index, raw in enumerate(data)]
    seen: set[str] = set()  # one pass: a 100k-record history is checked in linear time
    for record in records:
        if record.id in seen:
            raise ImportError_(f"{source}: id {record.id} appears twice; accepted: each id once")
        if record.id:
            seen.add(record.id)
    return records


def import_incidents(store: IncidentStore, records: list[ImportedIncident], *, actor: str) -> list[str]:
    """Write checked records in one transaction; returns their ids."""
    now = store.now()
    written: list[str] = []
    reserved = frozenset(r.id for r in records if r.id)  # allocated ids must not take these
    with store.db.write() as session:
        for record in records:
            if record.id and session.get(Incident, record.id) is not None:
                raise ImportError_(f"incident {record.id} already exists; accepted: new ids, or omit id to allocate one")
        for record in records:
            level = store.policy.level(record.severity)
            workflow = store.policy.workflow(record.type)
            incident = Incident(
                id=record.id or store.allocate_id(session, record.declared_at, reserved),
                title=record.title, severity=level.id, type=workflow.type, environment=record.environment,
                service=record.service, status=record.status, declared_by=actor, is_drill=record.is_drill,
                customer_satisfaction=record.customer_satisfaction,
                **{name: getattr(record, name) for name in LIFECYCLE},
                response_due_at=store.policy.response_deadline(level, record.detected_at),
                next_update_due_at=(store.policy.next_update_due(level, now)
                                    if record.status in OPEN_STATUSES else None),
                version=0,
            )
            store.add_with_checklist(session, incident, workflow)
            data = {name: iso_z(getattr(record, name)) for name in LIFECYCLE}
            if record.customer_satisfaction is not None:  # the audit trail says who brought the score in
                data["customer_satisfaction"] = record.customer_satisfaction
            store.record_event(session, incident, now, actor, TimelineKind.IMPORTED,
                         f"Imported {level.id} {workflow.type} in {record.environment}: {record.title}", data)
            written.append(incident.id)
    return written


def read_import(store: IncidentStore, path: Path) -> list[ImportedIncident]:
    """Read and check an import file; only `store.policy` and `store.now()` are used, so
    the CLI checks a file before it opens (or creates) a database."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{path}: cannot be read ({exc}); accepted: a readable UTF-8 JSON file") from None
    return parse_import(store, text, str(path))


def import_file(store: IncidentStore, path: Path, *, actor: str) -> list[str]:
    return import_incidents(store, read_import(store, path), actor=actor)


def export_json(detail: dict[str, Any]) -> str:
    """The export of one incident: a one-element import document with its full detail."""
    return json.dumps([detail], indent=2, ensure_ascii=False)
