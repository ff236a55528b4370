"""The incident record as SQLModel tables.

Datetimes are naive UTC everywhere (SQLite has no zones; PostgreSQL columns are
`timestamp without time zone`), converted at the edges.
Changing a table means adding a migration in store/migrations/; a test compares
the migrated schema with these models.
"""
from __future__ import annotations

from pydantic import NaiveDatetime as UTCNaive  # sqlmodel stores these as given
from sqlalchemy import Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel


class Incident(SQLModel, table=True):
    # Migration 1 also creates ix_incident_triage (severity, declared_at DESC, id DESC)
    # for the incident list's order.
    __tablename__ = "incident"

    id: str = Field(primary_key=True, max_length=32)  # INC-YYYY-MMDD-NNN
    title: str
    severity: str = Field(max_length=8, index=True)  # SEV-1..SEV-4
    type: str = Field(max_length=32, index=True)
    environment: str = Field(max_length=16)
    service: str | None = None
    status: str = Field(max_length=16, index=True)
    # Bumped on every change: a change made on a stale view is refused (optimistic lock).
    version: int = 1
    declared_by: str
    is_drill: bool = False
    # Lifecycle, in order; MTTD/MTTA/MTTR are differences of these.
    started_at: UTCNaive | None = None
    detected_at: UTCNaive
    declared_at: UTCNaive = Field(index=True)
    acknowledged_at: UTCNaive | None = None
    mitigated_at: UTCNaive | None = None
    resolved_at: UTCNaive | None = None
    closed_at: UTCNaive | None = None
    # Set when a rule or an inbound alert opened it: one open incident per firing condition.
    dedup_key: str | None = Field(default=None, max_length=128, index=True)
    # Policy as applied at declaration / last severity change.
    response_due_at: UTCNaive
    next_update_due_at: UTCNaive | None = None
    # Seconds between lifecycle timestamps, kept with them on every write (see
    # keep_durations below; schema 5), so MTTD/MTTA/MTTR over a year of incidents is a
    # read of numbers instead of parsing three dates per incident.
    detection_s: float | None = None   # detected_at - started_at (MTTD)
    response_s: float | None = None    # acknowledged_at - detected_at (MTTA)
    resolution_s: float | None = None  # resolved_at - detected_at (MTTR)
    # What the customers said afterwards, 1.0..5.0 (schema 6); None until a survey comes
    # back, so an unscored incident never drags the monthly mean towards zero.
    customer_satisfaction: float | None = None


def _seconds(later, earlier) -> float | None:
    # Milliseconds: what schema 5 fills in for older rows (in SQL) gives the same numbers.
    return None if later is None or earlier is None else round((later - earlier).total_seconds(), 3)


@event.listens_for(Incident, "before_insert")
@event.listens_for(Incident, "before_update")
def keep_durations(_mapper, _connection, incident: Incident) -> None:
    """Every ORM write of an incident (declare, ack, status, import, restore through the
    models) recomputes its durations from its timestamps: they cannot drift apart."""
    for name, value in durations_of(incident).items():
        setattr(incident, name, value)


def durations_of(incident) -> dict[str, float | None]:
    """The durations an incident's timestamps give (anything with the timestamp attributes:
    a model, or a row the store's Core writes read); what keep_durations stores, and what
    those writes store themselves, since no ORM event fires for them."""
    return {"detection_s": _seconds(incident.detected_at, incident.started_at),
            "response_s": _seconds(incident.acknowledged_at, incident.detected_at),
            "resolution_s": _seconds(incident.resolved_at, incident.detected_at)}


class IncidentSequence(SQLModel, table=True):
    """The last number handed out per day: ids are allocated under the write lock."""

    __tablename__ = "incident_sequence"

    day: str = Field(primary_key=True, max_length=8)  # YYYYMMDD
    last: int = 0


class ChecklistStep(SQLModel, table=True):
    __tablename__ = "checklist_step"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    number: int  # 1..N across all phases, what people type in `tick ID 3`
    phase_index: int
    phase: str
    text: str
    done_at: UTCNaive | None = None
    done_by: str | None = None


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignment"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    role: str = Field(max_length=32)
    person: str
    assumed_at: UTCNaive
    released_at: UTCNaive | None = None


class TimelineEvent(SQLModel, table=True):
    """Append-only. Each event's hash covers the previous event's hash (audit chain)."""

    __tablename__ = "timeline_event"

    seq: int = Field(primary_key=True)  # global order; gaps mean a deleted event
    incident_id: str | None = Field(default=None, foreign_key="incident.id", index=True, max_length=32)
    at: UTCNaive
    actor: str
    kind: str = Field(max_length=32)
    summary: str
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # Schema 7: the incident's recorded fields after the change (canonical JSON, hashed with
    # the event) and an HMAC-SHA256 of the hash under the audit key (store/audit.py).
    state: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    mac: str | None = Field(default=None, max_length=64)


class ChainHead(SQLModel, table=True):
    """One row: the last event of the chain, so a deleted tail is noticed too."""

    __tablename__ = "chain_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = 0
    last_hash: str = Field(max_length=64)


class StatusUpdate(SQLModel, table=True):
    __tablename__ = "status_update"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    posted_at: UTCNaive
    posted_by: str
    status: str = Field(max_length=16)
    severity: str = Field(max_length=8)
    affected: str | None = None
    message: str = Field(sa_column=Column(Text, nullable=False))
    next_update_due_at: UTCNaive | None = None


class RemediationAction(SQLModel, table=True):
    __tablename__ = "remediation_action"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    description: str
    started_at: UTCNaive
    started_by: str
    finished_at: UTCNaive | None = None
    outcome: str | None = None


class ActionItem(SQLModel, table=True):
    """A follow-up from the incident or its review."""

    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    title: str
    owner: str | None = None
    due_on: UTCNaive | None = None
    category: str = Field(default="short-term", max_length=16)  # immediate/short-term/long-term/process
    status: str = Field(default="open", max_length=16)
    source: str = Field(default="incident", max_length=16)  # incident | review
    created_at: UTCNaive
    completed_at: UTCNaive | None = None
    # The tracker's key (e.g. Jira "INC-42") once the item became a ticket (schema 4).
    ticket: str | None = Field(default=None, max_length=64)


class RootCauseAnalysis(SQLModel, table=True):
    """One per incident, written after it: what broke, why, and what it cost.

    Lists are canonical JSON arrays of strings; the timeline and the corrective actions
    (action_item rows) come from their own tables, so nothing is written twice.
    """

    __tablename__ = "root_cause_analysis"

    incident_id: str = Field(foreign_key="incident.id", primary_key=True, max_length=32)
    impact: str | None = Field(default=None, sa_column=Column(Text))
    customers_affected: int | None = None
    estimated_cost: float | None = None  # in the currency the policy names; None when not estimated
    root_cause: str | None = Field(default=None, sa_column=Column(Text))
    root_cause_details: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    contributing_factors: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    updated_at: UTCNaive
    updated_by: str


class PostIncidentReview(SQLModel, table=True):
    """The review meeting: when, who, notes per agenda item (JSON object keyed by the
    item's number), lessons learned (JSON array)."""

    __tablename__ = "post_incident_review"

    incident_id: str = Field(foreign_key="incident.id", primary_key=True, max_length=32)
    scheduled_at: UTCNaive | None = None
    held_at: UTCNaive | None = None
    facilitator: str | None = None
    attendees: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    agenda_notes: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    lessons_learned: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    updated_at: UTCNaive
    updated_by: str


class DataExposure(SQLModel, table=True):
    """What a security or data incident exposed (personal_data, health_data, card_data,
    financial_records): each class starts the clocks of the regimes that apply to it."""

    __tablename__ = "data_exposure"

    incident_id: str = Field(foreign_key="incident.id", primary_key=True, max_length=32)
    data_class: str = Field(primary_key=True, max_length=32)
    marked_at: UTCNaive
    marked_by: str


class ComplianceObligation(SQLModel, table=True):
    """A regulatory deadline running for an incident: due counted from awareness; met
    when someone records that the notification was made."""

    __tablename__ = "compliance_obligation"
    __table_args__ = (UniqueConstraint("incident_id", "regime"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    regime: str = Field(max_length=32)
    aware_at: UTCNaive
    due_at: UTCNaive = Field(index=True)
    met_at: UTCNaive | None = None
    met_by: str | None = None
    note: str | None = None


class Notification(SQLModel, table=True):
    """Outbox row: written with the change that caused it, delivered later."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str | None = Field(default=None, foreign_key="incident.id", index=True, max_length=32)
    integration: str = Field(max_length=32)
    stakeholder_group: str | None = None
    event: str = Field(max_length=32)
    idempotency_key: str = Field(unique=True, max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", max_length=16, index=True)  # pending|sent|dead|skipped (why: last_error)
    attempts: int = 0
    next_attempt_at: UTCNaive | None = None
    last_error: str | None = None
    created_at: UTCNaive
    sent_at: UTCNaive | None = None
    # Who is delivering it and until when (store/outbox.py claim): another deliverer leaves it
    # alone until then; a claim of a process that died simply runs out.
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_until: UTCNaive | None = None


class VendorReference(SQLModel, table=True):
    """What an integration calls an incident, so later messages reach the same thread/ticket."""

    __tablename__ = "vendor_reference"

    incident_id: str = Field(foreign_key="incident.id", primary_key=True, max_length=32)
    integration: str = Field(primary_key=True, max_length=32)
    reference: str = Field(max_length=256)


class MetricSample(SQLModel, table=True):
    __tablename__ = "metric_sample"
    __table_args__ = (Index("ix_metric_sample_metric_at", "metric", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    metric: str = Field(max_length=64)
    at: UTCNaive
    value: float


class Anomaly(SQLModel, table=True):
    __tablename__ = "anomaly"

    id: int | None = Field(default=None, primary_key=True)
    at: UTCNaive = Field(index=True)
    metric: str = Field(max_length=64)
    value: float | None = None
    baseline: float | None = None
    rule: str | None = None
    description: str
    incident_id: str | None = Field(default=None, foreign_key="incident.id", max_length=32)


class OncallOverride(SQLModel, table=True):
    """Someone on call for a schedule from `starts_at` until `ends_at`, over its rotation
    (store/oncall.py). Cancelled ones stay, with when, as the audit trail says who did it."""

    __tablename__ = "oncall_override"

    id: int | None = Field(default=None, primary_key=True)
    schedule: str = Field(max_length=200, index=True)  # names and actors: one line (playbooks/validation.py)
    person: str = Field(max_length=200)
    starts_at: UTCNaive
    ends_at: UTCNaive
    created_by: str = Field(max_length=200)
    created_at: UTCNaive
    cancelled_at: UTCNaive | None = None


class Silence(SQLModel, table=True):
    """A maintenance window: alerts and rule breaches whose labels match every matcher declare
    and page nothing from `starts_at` until `ends_at` (store/silences.py, playbooks/silences.py).
    Expired by hand: `expired_at` set, kept for the record."""

    __tablename__ = "silence"

    id: int | None = Field(default=None, primary_key=True)
    matchers: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON [[label, "=" | "!=", value]]
    starts_at: UTCNaive
    ends_at: UTCNaive = Field(index=True)
    reason: str = Field(max_length=200)
    created_by: str = Field(max_length=200)
    created_at: UTCNaive
    expired_at: UTCNaive | None = None
    expired_by: str | None = Field(default=None, max_length=200)


class SuppressedAlert(SQLModel, table=True):
    """An alert or rule breach a silence kept from declaring: recorded, never lost from sight."""

    __tablename__ = "suppressed_alert"

    id: int | None = Field(default=None, primary_key=True)
    silence_id: int = Field(foreign_key="silence.id", index=True)
    at: UTCNaive
    source: str = Field(max_length=32)  # alertmanager, grafana, generic, rule
    dedup_key: str | None = Field(default=None, max_length=128)
    title: str = Field(max_length=200)
    labels: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON object of strings


class Heartbeat(SQLModel, table=True):
    """One configured heartbeat as watched: since when, its last beat, and whether its current
    silence has already opened an incident (store/heartbeats.py), so one miss opens one."""

    __tablename__ = "heartbeat"

    name: str = Field(primary_key=True, max_length=100)  # the [heartbeats.NAME] key
    watching_since: UTCNaive
    last_beat_at: UTCNaive | None = None
    missed_at: UTCNaive | None = None  # when this silence was declared missed; cleared by a beat


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True)
    version: int
