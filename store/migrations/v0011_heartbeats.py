"""Schema 11: heartbeats — per configured [heartbeats.NAME], since when it is watched, its last
beat (POST /heartbeat/NAME on serve) and when its current silence was declared missed
(store/heartbeats.py). Frozen once released."""
from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table

VERSION = 11


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table(
        "heartbeat", md,
        Column("name", String(100), primary_key=True),
        Column("watching_since", DateTime, nullable=False),
        Column("last_beat_at", DateTime, nullable=True),
        Column("missed_at", DateTime, nullable=True),
    ).create(conn)
