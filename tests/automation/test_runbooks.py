"""Response actions: allowlisted argv templates, typed values, no shell, confirmed by a
person, outcome on the timeline and in remediation."""
from __future__ import annotations

import sys

import pytest

from automation.runbook import run_confirmed
from playbooks import PolicyValueError, load_policy
from playbooks.runbooks import find, prepare
from store.database import open_database
from store.operations import IncidentStore
from store.queries import incident_detail

RUNBOOKS = f"""
[[runbooks]]
name = "echo_args"
description = "Shows the argv it got"
command = ["{sys.executable}", "-c", "import sys; print(sys.argv[1:]); sys.exit(int(sys.argv[2]))", "{{url}}", "{{code}}"]
timeout = "10s"
[runbooks.params]
url = {{ type = "url" }}
code = {{ type = "int", min = 0, max = 3 }}

[[runbooks]]
name = "sleepy"
description = "Takes too long"
command = ["{sys.executable}", "-c", "import time; time.sleep(30)"]
timeout = "1s"

[[runbooks]]
name = "missing_tool"
description = "A program this host lacks"
command = ["definitely-not-installed-ir-tool", "{{host}}"]
[runbooks.params]
host = {{ type = "name" }}
"""


@pytest.fixture
def rb_store(tmp_path, clock):
    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "runbooks.toml").write_text(RUNBOOKS)
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    yield IncidentStore(db, load_policy(user), clock)
    db.dispose()


def test_builtin_runbooks_cover_the_spec_actions():
    names = {r.name for r in load_policy().runbooks.runbooks}
    assert {"failover_to_backup", "reroute_traffic", "scale_out", "refresh_cache",
            "isolate_suspicious_sources"} <= names


@pytest.mark.parametrize("values,message", [
    ({"address": "203.0.113.7; rm -rf /"}, "is not valid; accepted: an IP address"),
    ({"address": "$(reboot)"}, "is not valid"),
    ({}, "needs address"),
    ({"address": "203.0.113.7", "port": "22"}, "has no parameter 'port'"),
])
def test_values_are_checked_by_type(values, message):
    with pytest.raises(PolicyValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare(find(load_policy(), "isolate_suspicious_sources"), values)


def test_alert_text_is_an_argument_never_a_command(rb_store, tmp_path):
    incident = rb_store.declare("critical", "security", "production", actor="a")
    canary = tmp_path / "pwned"
    url = f"http://x/$(touch${{IFS}}{canary})`touch${{IFS}}{canary}`"
    command = prepare(find(rb_store.policy, "echo_args"), {"url": url, "code": "0"})
    outcome = run_confirmed(rb_store, incident.id, command, actor="bob", confirmed_by="bob")
    assert outcome.exit_code == 0 and url in outcome.output
    assert not canary.exists()
    with rb_store.db.read() as session:
        shown = incident_detail(session, rb_store.policy, incident.id, rb_store.now())
    remediation = shown["remediation"][0]
    assert remediation["description"].startswith("Runbook echo_args:") and remediation["outcome"].startswith("exit 0")
    assert any("bob confirmed runbook echo_args" in e["summary"] for e in shown["timeline"])


def test_failures_are_recorded_too(rb_store):
    incident = rb_store.declare("high", "outage", "production", actor="a")
    failed = run_confirmed(rb_store, incident.id, prepare(find(rb_store.policy, "echo_args"),
                                                           {"url": "http://x/", "code": "3"}), actor="a", confirmed_by="a")
    assert failed.exit_code == 3
    slow = run_confirmed(rb_store, incident.id, prepare(find(rb_store.policy, "sleepy"), {}), actor="a", confirmed_by="a")
    assert slow.summary.startswith("timed out after 1s")
    missing = run_confirmed(rb_store, incident.id, prepare(find(rb_store.policy, "missing_tool"), {"host": "db1"}),
                            actor="a", confirmed_by="a")
    assert "is not installed on this host" in missing.summary
    with rb_store.db.read() as session:
        outcomes = [a["outcome"].splitlines()[0] for a in incident_detail(session, rb_store.policy, incident.id,
                                                                            rb_store.now())["remediation"]]
    assert outcomes[0] == "exit 3" and outcomes[1].startswith("timed out") and "not installed" in outcomes[2]


def test_a_runbook_cannot_run_a_placeholder_program(tmp_path):
    from playbooks import PlaybookError

    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "runbooks.toml").write_text('[[runbooks]]\nname = "x"\ndescription = "d"\ncommand = ["{prog}"]\n'
                                        '[runbooks.params]\nprog = { type = "name" }\n')
    with pytest.raises(PlaybookError, match="cannot be a placeholder"):
        load_policy(user)
