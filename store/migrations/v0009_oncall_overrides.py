"""Schema 9: on-call overrides — someone on call for a schedule over a span of time, on top of
the rotation config.toml gives it (store/oncall.py). Cancelled ones are kept (cancelled_at).
Frozen once released."""
from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table

VERSION = 9


def upgrade(conn: Connection) -> None:
    md = MetaData()
    table = Table(
        "oncall_override", md,
        Column("id", Integer, primary_key=True),
        Column("schedule", String(200), nullable=False),
        Column("person", String(200), nullable=False),
        Column("starts_at", DateTime, nullable=False),
        Column("ends_at", DateTime, nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("cancelled_at", DateTime, nullable=True),
    )
    Index("ix_oncall_override_schedule", table.c.schedule)
    table.create(conn)
