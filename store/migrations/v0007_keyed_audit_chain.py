"""Schema 7: the audit chain covers incident state and may be keyed. Each timeline event
may keep `state`, the canonical JSON of its incident's recorded fields after the change
(hashed with the event, so a direct UPDATE of an incident no longer matches its chain), and
`mac`, an HMAC-SHA256 of its hash under the audit key (IR_AUDIT_KEY), so the chain cannot
be recomputed by someone without the key. Existing events keep neither (NULL): their hashes
stay as they were. Frozen once released."""
from sqlalchemy import Connection, text

VERSION = 7


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE timeline_event ADD COLUMN state TEXT"))
    conn.execute(text("ALTER TABLE timeline_event ADD COLUMN mac VARCHAR(64)"))
