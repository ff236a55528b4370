"""Schema 5: each incident keeps the seconds between its lifecycle timestamps (detection,
response, resolution), so the monthly and yearly reports read numbers instead of parsing
dates for every incident; existing rows are filled in here. Frozen once released."""
from sqlalchemy import Connection, text

VERSION = 5

_PAIRS = {"detection_s": ("detected_at", "started_at"), "response_s": ("acknowledged_at", "detected_at"),
          "resolution_s": ("resolved_at", "detected_at")}


def upgrade(conn: Connection) -> None:
    sqlite = conn.dialect.name == "sqlite"
    for column in _PAIRS:
        conn.execute(text(f"ALTER TABLE incident ADD COLUMN {column} {'FLOAT' if sqlite else 'DOUBLE PRECISION'}"))
    # Rounded to milliseconds, as store/models.py keeps them (julianday's float error is
    # far below that).
    if sqlite:
        seconds = "ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"
    else:
        seconds = "ROUND(EXTRACT(EPOCH FROM {later} - {earlier})::numeric, 3)::float8"
    assignments = ", ".join(f"{column} = {seconds.format(later=later, earlier=earlier)}"
                            for column, (later, earlier) in _PAIRS.items())
    conn.execute(text(f"UPDATE incident SET {assignments}"))
