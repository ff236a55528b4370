"""Schema 13: outbox claims. A deliverer takes a pending message for a while
(claimed_by, claimed_until) before it sends it, so several deliverers on several hosts
never send the same row, and a claim left by a process that died ends by itself: the row
is taken again once claimed_until has passed (store/outbox.py claim). Frozen once released."""
from sqlalchemy import Connection, text

VERSION = 13


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE notification ADD COLUMN claimed_by VARCHAR(128)"))
    conn.execute(text("ALTER TABLE notification ADD COLUMN claimed_until "
                      + ("DATETIME" if conn.dialect.name == "sqlite" else "TIMESTAMP WITHOUT TIME ZONE")))
