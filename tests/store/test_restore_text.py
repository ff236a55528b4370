"""Issue 13: a restored row is text from outside. A backup holding a terminal escape, a C1
control, a bidi control or a line separator in any text column (planted in the file, or by a
direct write before the backup was taken) is refused in one sentence naming the table, the
row and the column, and nothing is written; a backup of text the program accepts restores."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from store.backup import BackupRefused, backup, restore
from store.database import open_database
from store.models import Incident
from tests.support.hostile_text import HOSTILE

PLANTED = {"ansi": "\x1b[2J", "c1": "\x9b31m", "bidi": "\u202e", "separator": "\u2028", "bell": "\x07"}


@pytest.mark.parametrize("form", ["sqlite", "json"])
@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_backup_with_planted_control_text_is_refused(store, clock, tmp_path, form, case):
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    store.add_note(incident.id, "fine note", actor="bob")
    with store.db.write() as session:  # a direct write, as a teammate with database access could
        session.execute(text("UPDATE incident SET title = :t WHERE id = :i"),
                        {"t": f"Checkout {PLANTED[case]}down", "i": incident.id})
    source = backup(store.db, tmp_path / f"b.{'db' if form == 'sqlite' else 'json'}",
                    **({"format": "json"} if form == "json" else {})).path
    target = open_database(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        with pytest.raises(BackupRefused) as refused:
            restore(target, source)
        sentence = str(refused.value)
        assert "\n" not in sentence and "table incident" in sentence and "in title" in sentence
        assert f"U+{ord(PLANTED[case][0]):04X}" in sentence
        assert PLANTED[case][0] not in sentence  # named by its code point, shown escaped
        with target.read() as session:
            assert session.query(Incident).count() == 0  # nothing written
    finally:
        target.dispose()


def test_hostile_but_printable_text_restores_as_it_was(store, clock, tmp_path):
    """Markup, HTML and Markdown are data: stored, restored and shown literally, not refused."""
    printable = [HOSTILE[k] for k in ("rich_markup", "textual_action", "html", "markdown")]
    incident = store.declare("high", "outage", "production", actor="alice", title="[eu] checkout <b>down</b>")
    for note in printable:
        store.add_note(incident.id, note, actor="bob")
    source = backup(store.db, tmp_path / "b.json", format="json").path
    target = open_database(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        restore(target, source)
        with target.read() as session:
            assert session.get(Incident, incident.id).title == "[eu] checkout <b>down</b>"
            summaries = [row[0] for row in session.execute(text("SELECT summary FROM timeline_event"))]
        assert all(note in summaries for note in printable)
    finally:
        target.dispose()
