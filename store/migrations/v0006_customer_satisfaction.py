"""Schema 6: each incident may keep the customer satisfaction score its survey gave
(1.0..5.0), for the monthly report's "Customer satisfaction" line. Existing incidents have
none (NULL): a score is never invented for them. Frozen once released."""
from sqlalchemy import Connection, text

VERSION = 6


def upgrade(conn: Connection) -> None:
    kind = "FLOAT" if conn.dialect.name == "sqlite" else "DOUBLE PRECISION"
    conn.execute(text(f"ALTER TABLE incident ADD COLUMN customer_satisfaction {kind}"))
