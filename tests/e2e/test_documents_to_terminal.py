"""Issue 13: a document printed to standard output (export json/md, rca and review --export,
report) is read in a terminal: stored text planted past validation (a restore, a direct
write) cannot drive it. Every unprintable character but newline and tab comes out as a \\u
escape; JSON still reads back as the same data."""
from __future__ import annotations

import json
import os
import sys
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import text

from store.database import open_database
from store.operations import IncidentStore
from tests.support import lifetime
from tests.support.hostile_text import HOSTILE

IR = str(Path(sys.executable).parent / "incident-response")
PLANTED = HOSTILE["ansi_escape"] + " " + HOSTILE["c1_controls"] + " " + HOSTILE["bidi"]


def raw_controls(output: str) -> list[str]:
    return [c for c in output if not c.isprintable() and c not in "\n\t"
            or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in "\n\t"]


@pytest.fixture
def planted(tmp_path, policy, clock):
    url = f"sqlite:///{tmp_path / 'ir.db'}"
    db = open_database(url)
    store = IncidentStore(db, policy, clock)
    incident = store.declare("high", "outage", "production", actor="alice", title="Checkout down")
    store.add_note(incident.id, "a fine note", actor="bob")
    with db.write() as session:  # as a restore or a teammate's direct write could
        session.execute(text("UPDATE incident SET title = :t WHERE id = :i"), {"t": PLANTED, "i": incident.id})
        session.execute(text("UPDATE timeline_event SET actor = :t WHERE incident_id = :i"),
                        {"t": "mallory" + HOSTILE["c1_controls"], "i": incident.id})
    db.dispose()
    return incident.id, dict(os.environ, IR_DATABASE_URL=url, IR_NOW="2024-01-18T15:00:00Z")


@pytest.mark.parametrize("args", [["export", "{id}", "--format", "json"], ["export", "{id}", "--format", "md"],
                                  ["rca", "{id}"], ["review", "{id}"], ["rca", "{id}", "--export", "json"],
                                  ["report", "--month", "2024-01"], ["report", "--month", "2024-01", "--format", "md"]])
def test_a_document_to_the_terminal_carries_no_raw_control(planted, args):
    incident, env = planted
    result = lifetime.run([IR, *[a.format(id=incident) for a in args]], capture_output=True, text=True,
                          timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == []
    if args[0] == "export" and "json" in args:
        assert json.loads(result.stdout)[0]["title"] == PLANTED  # the same data, escaped only in transit
