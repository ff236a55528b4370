"""`incident-response silence` as a team runs it, with the installed program: a maintenance
window added, listed, held against a real `serve` (the matching alert declares nothing and is
listed as suppressed, another declares), grouped by [alerts] group_by, expired on the audit
chain; and refusals in one sentence, exit 2, that write nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

IR = str(Path(sys.executable).parent / "incident-response")
NOW = "2026-03-02T10:00:00Z"


def ir(db: str, *args, env=None, check=True):
    result = subprocess.run([IR, "--db", db, *args], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "IR_NOW": NOW, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    # A store to silence in: the first declaration creates it.
    ir(url, "--title", "Existing incident", "low", "performance", "staging")
    return url


def chain_head(db: str) -> str:
    """The audit chain's head (seq, hash): any write of a silence would move it."""
    return ir(db, "audit", "anchor").stdout


def test_add_list_expire_and_the_audit_chain(db):
    added = ir(db, "silence", "add", "--match", "service=checkout", "--match", "instance!=web-9", "--for", "2h",
               "--reason", "database upgrade")
    assert added.stdout.startswith("Silence 1: service=checkout, instance!=web-9 from 2026-03-02T10:00:00Z "
                                   "until 2026-03-02T12:00:00Z")
    [listed] = json.loads(ir(db, "silence", "list", "--json").stdout)
    assert (listed["id"], listed["state"], listed["reason"], listed["suppressed"]) == (1, "active",
                                                                                     "database upgrade", 0)
    assert listed["matchers"] == [{"label": "service", "operator": "=", "value": "checkout"},
                                  {"label": "instance", "operator": "!=", "value": "web-9"}]
    assert "active" in ir(db, "silence", "list").stdout

    # After its end it is no longer listed as active, and --all shows it ended.
    later = {"IR_NOW": "2026-03-02T12:00:00Z"}
    assert ir(db, "silence", "list", env=later).stdout.strip() == "No silences active or ahead"
    assert json.loads(ir(db, "silence", "list", "--all", "--json", env=later).stdout)[0]["state"] == "ended"

    ir(db, "silence", "add", "--match", "alertname=DiskFull", "--until", "2026-03-03T00:00Z", "--reason", "resize")
    expired = ir(db, "silence", "expire", "2")
    assert expired.stdout.startswith("Expired silence 2 (alertname=DiskFull) at 2026-03-02T10:00:00Z")
    assert ir(db, "audit", "verify").returncode == 0


@pytest.mark.parametrize("args, message", [
    (["add", "--match", "service=checkout", "--for", "2h"], "reason"),
    (["add", "--for", "2h", "--reason", "r"], "at least one matcher"),
    (["add", "--match", "service=~check.*", "--for", "2h", "--reason", "r"], "regular expression"),
    (["add", "--match", "nolabel", "--for", "2h", "--reason", "r"], "has no = or !="),
    (["add", "--match", "9x=a", "--for", "2h", "--reason", "r"], "names no label"),
    (["add", "--match", "team!=db", "--for", "2h", "--reason", "r"], "with a value"),
    (["add", "--match", "service=a", "--reason", "r"], "--for DURATION or --until INSTANT"),
    (["add", "--match", "service=a", "--for", "2h", "--until", "2026-03-03T00:00Z", "--reason", "r"], "one way"),
    (["add", "--match", "service=a", "--for", "-1h", "--reason", "r"], "--for"),
    (["add", "--match", "service=a", "--until", "yesterday", "--reason", "r"], "not an instant"),
    (["add", "--match", "service=a", "--from", "2026-03-01T00:00Z", "--until", "2026-03-01T06:00Z",
      "--reason", "r"], "already past"),
    (["add", "--match", "service=a", "--until", "2026-03-01T00:00Z", "--reason", "r"], "before it starts"),
    (["add", "--match", "service=a", "--for", "1h", "--reason", "\x1b[2J"], "control character"),
    (["expire", "7"], "no silence 7"),
    (["expire", "x1"], "not a silence id"),
    (["expire"], "one silence id"),
    (["list", "--match", "service=a"], "belongs to `silence add`"),
    (["mute"], "not a silence action"),
])
def test_refusals_are_one_sentence_exit_2_and_write_nothing(db, args, message):
    before = chain_head(db)
    result = ir(db, "silence", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "\x1b" not in result.stderr and result.stdout == ""
    assert chain_head(db) == before  # adding or expiring a silence is an event on the chain


def test_listing_is_read_only_and_writing_is_refused_read_only(db):
    assert ir(db, "--read-only", "silence", "list").returncode == 0
    refused = ir(db, "--read-only", "silence", "add", "--match", "service=a", "--for", "1h", "--reason", "r",
                 check=False)
    assert refused.returncode == 2 and "read-only" in refused.stderr


def test_a_real_serve_holds_silenced_alerts_and_groups_by_labels(db, tmp_path):
    from tests.support import lifetime
    from tests.support.postgres import free_port

    ir(db, "silence", "add", "--match", "service=checkout", "--for", "2h", "--reason", "checkout \x7f maintenance",
       check=False)  # refused (a control character): nothing written
    ir(db, "silence", "add", "--match", "service=checkout", "--for", "2h", "--reason", "checkout maintenance")
    config = tmp_path / "config.toml"
    config.write_text('[sources.host]\nenabled = false\n[alerts]\ngroup_by = ["alertname", "service"]\n')
    port = free_port()
    env = dict(os.environ, IR_WEBHOOK_TOKEN="tok-silence", IR_CONFIG=str(config), IR_NOW=NOW)
    server = lifetime.popen([IR, "--db", db, "serve", "--port", str(port)], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert "Listening on" in server.stdout.readline()
        auth = {"Authorization": "Bearer tok-silence"}

        def post(key: str, service: str, title: str) -> dict:
            body = {"key": key, "status": "firing", "title": title, "service": service,
                    "labels": {"alertname": "ErrorBudgetBurn"}}
            answer = httpx.post(f"http://127.0.0.1:{port}/alerts/generic", json=body, headers=auth, timeout=10)
            assert answer.status_code == 200, answer.text
            return answer.json()

        assert post("burn-1", "checkout", "Checkout burning its error budget") == {"incident": None}
        first = post("burn-2", "search", "Search burning its error budget")
        second = post("burn-3", "search", "Search again, other words")  # the same labels: the same incident
        assert first["created"] and second == {"incident": first["incident"], "created": False}
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)

    [suppressed] = json.loads(ir(db, "silence", "suppressed", "--json").stdout)
    assert (suppressed["silence"], suppressed["source"], suppressed["title"]) == (
        1, "generic", "Checkout burning its error budget")
    assert suppressed["labels"] == {"alertname": "ErrorBudgetBurn", "key": "burn-1", "service": "checkout"}
    assert json.loads(ir(db, "silence", "list", "--json").stdout)[0]["suppressed"] == 1
    assert "generic: Checkout burning its error budget" in ir(db, "silence", "suppressed").stdout
    listed = json.loads(ir(db, "list", "--json").stdout)
    assert [i["title"] for i in listed if i["title"] != "Existing incident"] == ["Search burning its error budget"]
