"""Schema 2: incidents opened by a detection rule or an inbound alert carry its dedup key
(rule name, Alertmanager group key, Grafana fingerprint...), so a firing condition keeps
one open incident. Frozen once released."""
from sqlalchemy import Connection, text

VERSION = 2


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE incident ADD COLUMN dedup_key VARCHAR(128)"))
    conn.execute(text("CREATE INDEX ix_incident_dedup_key ON incident (dedup_key)"))
