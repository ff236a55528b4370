"""Schema 10: silences (maintenance windows) and the alerts they suppressed (store/silences.py).
Frozen once released."""
from sqlalchemy import Column, Connection, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

VERSION = 10


def upgrade(conn: Connection) -> None:
    md = MetaData()
    silence = Table(
        "silence", md,
        Column("id", Integer, primary_key=True),
        Column("matchers", Text, nullable=False),
        Column("starts_at", DateTime, nullable=False),
        Column("ends_at", DateTime, nullable=False),
        Column("reason", String(200), nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("expired_at", DateTime, nullable=True),
        Column("expired_by", String(200), nullable=True),
    )
    Index("ix_silence_ends_at", silence.c.ends_at)
    suppressed = Table(
        "suppressed_alert", md,
        Column("id", Integer, primary_key=True),
        Column("silence_id", Integer, ForeignKey("silence.id"), nullable=False),
        Column("at", DateTime, nullable=False),
        Column("source", String(32), nullable=False),
        Column("dedup_key", String(128), nullable=True),
        Column("title", String(200), nullable=False),
        Column("labels", Text, nullable=False),
    )
    Index("ix_suppressed_alert_silence_id", suppressed.c.silence_id)
    md.create_all(conn)
