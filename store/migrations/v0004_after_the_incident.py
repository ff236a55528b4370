"""Schema 4: what is written after an incident and what regulators are owed: root cause
analysis, post-incident review, data exposure marks and compliance obligations; action
items gain the tracker ticket they became. Frozen once released."""
from sqlalchemy import (
    Column, Connection, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint, text,
)

VERSION = 4


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE action_item ADD COLUMN ticket VARCHAR(64)"))
    md = MetaData()
    Table("incident", md, Column("id", String(32), primary_key=True))  # for the foreign keys only
    Table(
        "root_cause_analysis", md,
        Column("incident_id", String(32), ForeignKey("incident.id"), primary_key=True),
        Column("impact", Text),
        Column("customers_affected", Integer),
        Column("estimated_cost", Float),
        Column("root_cause", Text),
        Column("root_cause_details", Text, nullable=False),
        Column("contributing_factors", Text, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("updated_by", String, nullable=False),
    )
    Table(
        "post_incident_review", md,
        Column("incident_id", String(32), ForeignKey("incident.id"), primary_key=True),
        Column("scheduled_at", DateTime),
        Column("held_at", DateTime),
        Column("facilitator", String),
        Column("attendees", Text, nullable=False),
        Column("agenda_notes", Text, nullable=False),
        Column("lessons_learned", Text, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("updated_by", String, nullable=False),
    )
    Table(
        "data_exposure", md,
        Column("incident_id", String(32), ForeignKey("incident.id"), primary_key=True),
        Column("data_class", String(32), primary_key=True),
        Column("marked_at", DateTime, nullable=False),
        Column("marked_by", String, nullable=False),
    )
    Table(
        "compliance_obligation", md,
        Column("id", Integer, primary_key=True),
        Column("incident_id", String(32), ForeignKey("incident.id"), nullable=False),
        Column("regime", String(32), nullable=False),
        Column("aware_at", DateTime, nullable=False),
        Column("due_at", DateTime, nullable=False),
        Column("met_at", DateTime),
        Column("met_by", String),
        Column("note", String),
        UniqueConstraint("incident_id", "regime"),
        Index("ix_compliance_obligation_incident_id", "incident_id"),
        Index("ix_compliance_obligation_due_at", "due_at"),
    )
    for name in ("root_cause_analysis", "post_incident_review", "data_exposure", "compliance_obligation"):
        md.tables[name].create(conn)
