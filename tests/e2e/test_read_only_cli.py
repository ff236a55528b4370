"""`--read-only` on the command line: commands that write are refused before anything is
opened (exit 2, one line, nothing written); commands that read still answer."""
from __future__ import annotations

import json

from tests.e2e.test_cli import db, ir  # noqa: F401 (db: the store on SQLite and PostgreSQL)
from tests.e2e.test_short_ids import refused

NOW = "2024-01-18T15:00:00Z"


def test_writing_commands_are_refused_under_read_only_and_reading_ones_answer(db):
    incident = ir("high", "outage", "production", "--no-tui", "--title", "Checkout down", db=db, now=NOW).stdout.strip()
    before = json.loads(ir("show", incident, "--json", db=db, now=NOW).stdout)

    for command in (["--read-only", "ack", incident], ["note", incident, "looking", "--read-only"],
                    ["--read-only", "severity", incident, "critical"], ["--read-only", "resolve", incident]):
        sentence = refused(ir(*command, db=db, now=NOW, check=False))
        writing = command[1] if command[0] == "--read-only" else command[0]
        assert sentence == (f"incident-response: read-only: `{writing}` writes and --read-only only watches; "
                            "accepted: list, show, export, audit, report, compliance, actions, backup, search, "
                            "or the command without --read-only")
    sentence = refused(ir("--read-only", "critical", "outage", "production", "--no-tui", "--title", "x",
                          db=db, now=NOW, check=False))
    assert "read-only: `declare` writes" in sentence

    after = json.loads(ir("show", incident, "--json", db=db, now=NOW).stdout)
    assert after == before  # not acknowledged, no note, same severity and status, same timeline
    listed = ir("--read-only", "list", "--json", db=db, now=NOW)
    assert [row["id"] for row in json.loads(listed.stdout)] == [incident]


def test_a_refused_declaration_leaves_no_database_behind(tmp_path):
    path = tmp_path / "new.db"
    refused(ir("--read-only", "critical", "outage", "production", "--no-tui", db=f"sqlite:///{path}", now=NOW,
               check=False))
    assert not path.exists()
