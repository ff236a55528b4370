"""Schema 8: full-text search over what was said about each incident ("this happened
before"): its title, its notes (timeline events of kind "note"), its status updates and its
root cause analysis (root cause and details).

SQLite: one FTS5 table, `incident_text`, one row per piece of text, kept by triggers on the
four source tables, so every writer (the store, import, restore, a second process) indexes
in the transaction that writes. Its rowid is the source row's rowid times 4 plus the kind
(0 title, 1 note, 2 update, 3 RCA), so a changed or deleted source row finds its entry
without a scan. A Python whose SQLite lacks FTS5 gets no table: store/search.py then falls
back to LIKE and says so.

PostgreSQL: GIN indexes on the same texts' to_tsvector('english', ...), which the database
keeps current by itself. Both are outside the SQLModel tables (named fts_/incident_text so
the schema test knows them). Frozen once released.
"""
import sqlite3

from sqlalchemy import Connection, text

VERSION = 8

# The pieces of text each source row contributes, as SQL over NEW/OLD.
_RCA_BODY = "coalesce({row}root_cause, '') || ' ' || coalesce({row}root_cause_details, '')"

_SQLITE = [
    # One text column per kind (a row fills its own), so bm25 weighs a title match above a
    # note's through the table's persistent rank (below) and ORDER BY rank stays in FTS5.
    "CREATE VIRTUAL TABLE incident_text USING fts5("
    "title, note, status_update, root_cause, incident_id UNINDEXED, kind UNINDEXED, "
    "tokenize = 'porter unicode61')",
    "INSERT INTO incident_text (incident_text, rank) VALUES ('rank', 'bm25(3.0, 1.0, 1.2, 2.0)')",
    # incident title
    "CREATE TRIGGER incident_text_title_insert AFTER INSERT ON incident BEGIN "
    "INSERT INTO incident_text (rowid, title, incident_id, kind) VALUES (new.rowid * 4, new.title, new.id, 'title'); "
    "END",
    "CREATE TRIGGER incident_text_title_update AFTER UPDATE OF title ON incident BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.rowid * 4; "
    "INSERT INTO incident_text (rowid, title, incident_id, kind) VALUES (new.rowid * 4, new.title, new.id, 'title'); "
    "END",
    "CREATE TRIGGER incident_text_title_delete AFTER DELETE ON incident BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.rowid * 4; END",
    # notes
    "CREATE TRIGGER incident_text_note_insert AFTER INSERT ON timeline_event "
    "WHEN new.kind = 'note' AND new.incident_id IS NOT NULL BEGIN "
    "INSERT INTO incident_text (rowid, note, incident_id, kind) "
    "VALUES (new.seq * 4 + 1, new.summary, new.incident_id, 'note'); END",
    "CREATE TRIGGER incident_text_note_update AFTER UPDATE ON timeline_event BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.seq * 4 + 1; "
    "INSERT INTO incident_text (rowid, note, incident_id, kind) "
    "SELECT new.seq * 4 + 1, new.summary, new.incident_id, 'note' "
    "WHERE new.kind = 'note' AND new.incident_id IS NOT NULL; END",
    "CREATE TRIGGER incident_text_note_delete AFTER DELETE ON timeline_event BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.seq * 4 + 1; END",
    # status updates
    "CREATE TRIGGER incident_text_update_insert AFTER INSERT ON status_update BEGIN "
    "INSERT INTO incident_text (rowid, status_update, incident_id, kind) "
    "VALUES (new.id * 4 + 2, new.message, new.incident_id, 'update'); END",
    "CREATE TRIGGER incident_text_update_update AFTER UPDATE ON status_update BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.id * 4 + 2; "
    "INSERT INTO incident_text (rowid, status_update, incident_id, kind) "
    "VALUES (new.id * 4 + 2, new.message, new.incident_id, 'update'); END",
    "CREATE TRIGGER incident_text_update_delete AFTER DELETE ON status_update BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.id * 4 + 2; END",
    # root cause analysis
    "CREATE TRIGGER incident_text_rca_insert AFTER INSERT ON root_cause_analysis BEGIN "
    "INSERT INTO incident_text (rowid, root_cause, incident_id, kind) "
    f"VALUES (new.rowid * 4 + 3, {_RCA_BODY.format(row='new.')}, new.incident_id, 'rca'); END",
    "CREATE TRIGGER incident_text_rca_update AFTER UPDATE ON root_cause_analysis BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.rowid * 4 + 3; "
    "INSERT INTO incident_text (rowid, root_cause, incident_id, kind) "
    f"VALUES (new.rowid * 4 + 3, {_RCA_BODY.format(row='new.')}, new.incident_id, 'rca'); END",
    "CREATE TRIGGER incident_text_rca_delete AFTER DELETE ON root_cause_analysis BEGIN "
    "DELETE FROM incident_text WHERE rowid = old.rowid * 4 + 3; END",
    # what the store already holds
    "INSERT INTO incident_text (rowid, title, incident_id, kind) SELECT rowid * 4, title, id, 'title' FROM incident",
    "INSERT INTO incident_text (rowid, note, incident_id, kind) SELECT seq * 4 + 1, summary, incident_id, 'note' "
    "FROM timeline_event WHERE kind = 'note' AND incident_id IS NOT NULL",
    "INSERT INTO incident_text (rowid, status_update, incident_id, kind) SELECT id * 4 + 2, message, incident_id, 'update' "
    "FROM status_update",
    "INSERT INTO incident_text (rowid, root_cause, incident_id, kind) "
    f"SELECT rowid * 4 + 3, {_RCA_BODY.format(row='')}, incident_id, 'rca' "
    "FROM root_cause_analysis",
]

_POSTGRESQL = [
    "CREATE INDEX fts_incident_title ON incident USING gin (to_tsvector('english', title))",
    "CREATE INDEX fts_timeline_note ON timeline_event USING gin (to_tsvector('english', summary)) "
    "WHERE kind = 'note'",
    "CREATE INDEX fts_status_update_message ON status_update USING gin (to_tsvector('english', message))",
    "CREATE INDEX fts_root_cause_analysis ON root_cause_analysis USING gin "
    f"(to_tsvector('english', {_RCA_BODY.format(row='')}))",
]


def sqlite_has_fts5() -> bool:
    """Whether this Python's SQLite was built with FTS5 (most are; some minimal ones not)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(body)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def upgrade(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        if not sqlite_has_fts5():
            return  # store/search.py searches with LIKE and says so
        statements = _SQLITE
    else:
        statements = _POSTGRESQL
    for statement in statements:
        conn.execute(text(statement))
