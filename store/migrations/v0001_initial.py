"""Schema 1, the first released schema. Frozen: later changes go in new migrations."""
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

VERSION = 1


def _id() -> Column:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _incident_ref(nullable: bool = False, index: bool = True) -> Column:
    return Column("incident_id", String(32), ForeignKey("incident.id"), nullable=nullable, index=index)


def _tables(md: MetaData) -> None:
    incident = Table(
        "incident", md,
        Column("id", String(32), primary_key=True),
        Column("title", String, nullable=False),
        Column("severity", String(8), nullable=False, index=True),
        Column("type", String(32), nullable=False, index=True),
        Column("environment", String(16), nullable=False),
        Column("service", String),
        Column("status", String(16), nullable=False, index=True),
        Column("version", Integer, nullable=False),
        Column("declared_by", String, nullable=False),
        Column("is_drill", Boolean, nullable=False),
        Column("started_at", DateTime),
        Column("detected_at", DateTime, nullable=False),
        Column("declared_at", DateTime, nullable=False, index=True),
        Column("acknowledged_at", DateTime),
        Column("mitigated_at", DateTime),
        Column("resolved_at", DateTime),
        Column("closed_at", DateTime),
        Column("response_due_at", DateTime, nullable=False),
        Column("next_update_due_at", DateTime),
    )
    # The list's order (most severe, then newest) read straight off an index.
    Index("ix_incident_triage", incident.c.severity, incident.c.declared_at.desc(), incident.c.id.desc())
    Table(
        "incident_sequence", md,
        Column("day", String(8), primary_key=True),
        Column("last", Integer, nullable=False),
    )
    Table(
        "checklist_step", md, _id(), _incident_ref(),
        Column("number", Integer, nullable=False),
        Column("phase_index", Integer, nullable=False),
        Column("phase", String, nullable=False),
        Column("text", String, nullable=False),
        Column("done_at", DateTime),
        Column("done_by", String),
        UniqueConstraint("incident_id", "number"),
    )
    Table(
        "role_assignment", md, _id(), _incident_ref(),
        Column("role", String(32), nullable=False),
        Column("person", String, nullable=False),
        Column("assumed_at", DateTime, nullable=False),
        Column("released_at", DateTime),
    )
    Table(
        "timeline_event", md,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        _incident_ref(nullable=True),
        Column("at", DateTime, nullable=False),
        Column("actor", String, nullable=False),
        Column("kind", String(32), nullable=False),
        Column("summary", String, nullable=False),
        Column("data", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    Table(
        "chain_head", md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("last_seq", Integer, nullable=False),
        Column("last_hash", String(64), nullable=False),
    )
    Table(
        "status_update", md, _id(), _incident_ref(),
        Column("posted_at", DateTime, nullable=False),
        Column("posted_by", String, nullable=False),
        Column("status", String(16), nullable=False),
        Column("severity", String(8), nullable=False),
        Column("affected", String),
        Column("message", Text, nullable=False),
        Column("next_update_due_at", DateTime),
    )
    Table(
        "remediation_action", md, _id(), _incident_ref(),
        Column("description", String, nullable=False),
        Column("started_at", DateTime, nullable=False),
        Column("started_by", String, nullable=False),
        Column("finished_at", DateTime),
        Column("outcome", String),
    )
    Table(
        "action_item", md, _id(), _incident_ref(),
        Column("title", String, nullable=False),
        Column("owner", String),
        Column("due_on", DateTime),
        Column("category", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("source", String(16), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("completed_at", DateTime),
    )
    Table(
        "notification", md, _id(), _incident_ref(nullable=True),
        Column("integration", String(32), nullable=False),
        Column("stakeholder_group", String),
        Column("event", String(32), nullable=False),
        Column("idempotency_key", String(128), nullable=False, unique=True),
        Column("payload", Text, nullable=False),
        Column("state", String(16), nullable=False, index=True),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime),
        Column("last_error", String),
        Column("created_at", DateTime, nullable=False),
        Column("sent_at", DateTime),
    )
    Table(
        "metric_sample", md, _id(),
        Column("source", String(64), nullable=False),
        Column("metric", String(64), nullable=False),
        Column("at", DateTime, nullable=False),
        Column("value", Float, nullable=False),
        Index("ix_metric_sample_metric_at", "metric", "at"),
    )
    Table(
        "anomaly", md, _id(),
        Column("at", DateTime, nullable=False, index=True),
        Column("metric", String(64), nullable=False),
        Column("value", Float),
        Column("baseline", Float),
        Column("rule", String),
        Column("description", String, nullable=False),
        _incident_ref(nullable=True, index=False),
    )
    Table(
        "schema_version", md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
    )


GENESIS_HASH = "0" * 64


def upgrade(conn: Connection) -> None:
    md = MetaData()
    _tables(md)
    md.create_all(conn)
    conn.execute(text("INSERT INTO schema_version (id, version) VALUES (1, 0)"))
    conn.execute(text("INSERT INTO chain_head (id, last_seq, last_hash) VALUES (1, 0, :h)"), {"h": GENESIS_HASH})
