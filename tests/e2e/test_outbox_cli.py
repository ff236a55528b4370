"""`incident-response outbox`, run as a user would: list what waits, retry what failed."""
from __future__ import annotations

import json
import os

from sqlalchemy import create_engine, text

from tests.e2e.test_cli import ir


def test_outbox_lists_and_retries_dead_letters(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[integrations.pagerduty]\nurl = "http://127.0.0.1:9"\n')
    monkeypatch.setenv("IR_CONFIG", str(config))
    db = f"sqlite:///{tmp_path / 'a.db'}"
    incident = ir("critical", "outage", "production", "--no-tui", "--title", "Checkout down", db=db,
                  now="2024-01-18T14:30:00Z").stdout.strip()
    listed = json.loads(ir("outbox", "--json", db=db).stdout)
    assert [(m["incident"], m["integration"], m["group"], m["state"]) for m in listed] == [
        (incident, "pagerduty", "On-Call Engineers", "pending")]
    assert "No dead messages." in ir("outbox", "--state", "dead", db=db).stdout
    # The vendor refused it for good: a person sends it again once the cause is fixed.
    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE notification SET state = 'dead', attempts = 12, "
                          "last_error = 'PagerDuty answered 400 (invalid routing key).'"))
    shown = ir("outbox", "--incident", incident.lower(), db=db).stdout
    assert "dead" in shown and "invalid routing key" in shown
    number = str(listed[0]["id"])
    assert ir("outbox", "retry", number, db=db).stdout.strip() == f"1 message(s) queued again: {number}"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT state, attempts FROM notification")).one() == ("pending", 0)
        kinds = conn.execute(text("SELECT kind, actor FROM timeline_event ORDER BY seq")).all()
    assert kinds[-1] == ("notification_retried", os.environ["USER"])
    assert "(none had failed)" in ir("outbox", "retry", "dead", db=db).stdout
    assert ir("audit", "verify", db=db).returncode == 0
    engine.dispose()


def test_outbox_mistakes_are_one_line_and_change_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    ir("low", "outage", "staging", "--no-tui", db=db)
    for args, words in ((["outbox", "retry", "abc"], "not a message number"),
                        (["outbox", "retry", "99"], "there is no message 99"),
                        (["outbox", "retry"], "retry needs message numbers"),
                        (["outbox", "--state", "lost"], "--state lost is not known"),
                        (["outbox", "resend"], "invalid choice")):
        result = ir(*args, db=db, check=False)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr
