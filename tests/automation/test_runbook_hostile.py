"""Runbooks against hostile output and hostile values (issue 13): whatever a command writes
is recorded cleaned and bounded, a timeout stops every process it started, and the typed
parameters refuse what a program would misread."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import tracemalloc

import pytest

from automation.runbook import CAPTURE_BYTES, OUTPUT_LIMIT, run_confirmed
from playbooks import PolicyValueError, load_policy
from playbooks.runbooks import find, prepare, values_from_assignments
from store.database import open_database
from store.operations import IncidentStore
from store.queries import incident_detail

PY = sys.executable

HOSTILE_OUTPUT = (
    "import sys; out = sys.stdout.buffer\n"
    "out.write('reply\\x9b31mC1\\x85next\\x9d0;title\\x9c end\\n'.encode())\n"  # C1 as UTF-8
    "out.write(b'raw \\x9b\\xff\\xfe bytes \\x1b[2J\\x1b]0;owned\\x07 bell\\r\\n')\n"  # not UTF-8, C0
    "out.write('bidi \\u202egnp.exe \\u2066x\\u2069 sep\\u2028line\\u2029\\n'.encode())\n"
    "sys.stderr.write('on stderr\\n')\n"
)

FLOOD = ("import sys; out = sys.stdout.buffer; block = b'x' * 1048575 + b'\\n'\n"
         "out.write(b'THE START\\n')\n"
         "[out.write(block) for _ in range(50)]\n"
         "out.write(b'THE END\\n')\n")

# The leader starts a child that keeps sleeping (holding the output pipe), says its pid,
# and then either waits for it or exits at once: either way the child outlives the timeout.
FORKER = ("import subprocess, sys, time\n"
          "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
          "print(child.pid, flush=True)\n"
          "if sys.argv[1] == 'wait': time.sleep(120)\n")


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


RUNBOOKS = f"""
[[runbooks]]
name = "hostile_output"
description = "Writes controls and bytes that are not UTF-8"
command = [{_toml_string(PY)}, "-c", {_toml_string(HOSTILE_OUTPUT)}]
timeout = "20s"

[[runbooks]]
name = "flood"
description = "Writes 50 MB"
command = [{_toml_string(PY)}, "-c", {_toml_string(FLOOD)}]
timeout = "60s"

[[runbooks]]
name = "forker"
description = "Leaves a child behind"
command = [{_toml_string(PY)}, "-c", {_toml_string(FORKER)}, "{{mode}}"]
timeout = "1s"
[runbooks.params]
mode = {{ type = "choice", choices = ["wait", "exit"] }}

[[runbooks]]
name = "typed"
description = "One parameter of every type"
command = ["true", "{{host}}", "{{count}}", "{{address}}", "{{url}}", "{{mode}}"]
[runbooks.params]
host = {{ type = "name" }}
count = {{ type = "int", min = 1, max = 10 }}
address = {{ type = "ip" }}
url = {{ type = "url" }}
mode = {{ type = "choice", choices = ["fast", "slow"] }}
"""

GOOD = {"host": "db1", "count": "3", "address": "203.0.113.7", "url": "https://cdn.example/a", "mode": "fast"}


@pytest.fixture
def rb_policy(tmp_path):
    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "runbooks.toml").write_text(RUNBOOKS)
    return load_policy(user)


@pytest.fixture
def rb_store(tmp_path, rb_policy, clock):
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    yield IncidentStore(db, rb_policy, clock)
    db.dispose()


def _remediation(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())["remediation"]


def _run(store, incident_id, name, values=None):
    return run_confirmed(store, incident_id, prepare(find(store.policy, name), values or {}),
                         actor="bob", confirmed_by="bob")


def _unsafe(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160
            or c in "\u202e\u2066\u2069\u2028\u2029"]


def test_c1_controls_and_undecodable_bytes_are_recorded_stripped(rb_store):
    incident = rb_store.declare("high", "security", "production", actor="a")
    outcome = _run(rb_store, incident.id, "hostile_output")
    assert outcome.exit_code == 0
    recorded = _remediation(rb_store, incident.id)[0]["outcome"]
    assert recorded.startswith("exit 0\n")
    assert _unsafe(recorded) == []
    # The printable text around the controls is kept; bytes that are not UTF-8 show as U+FFFD.
    assert "reply31mC1next0;title end" in recorded
    assert "raw \ufffd\ufffd\ufffd bytes [2J]0;owned bell\n" in recorded
    assert "bidi gnp.exe x sepline" in recorded and "on stderr" in recorded
    assert recorded == ("exit 0\n" + outcome.output).strip()


def test_fifty_megabytes_of_output_are_capped_in_memory_and_on_the_record(rb_store):
    incident = rb_store.declare("high", "outage", "production", actor="a")
    _run(rb_store, incident.id, "hostile_output")  # warm up imports and the store before measuring
    tracemalloc.start()
    try:
        outcome = _run(rb_store, incident.id, "flood")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Two ends of CAPTURE_BYTES and one read chunk, not 50 MB.
    assert peak < 8 * CAPTURE_BYTES + 4 * 1024 * 1024, peak
    assert outcome.exit_code == 0
    assert len(outcome.output) <= OUTPUT_LIMIT + 120
    assert outcome.output.startswith("THE START\n") and outcome.output.endswith("THE END\n")
    assert f"output cut: {50 * 1024 * 1024 + 18} bytes in all" in outcome.output
    recorded = _remediation(rb_store, incident.id)[-1]["outcome"]
    assert recorded == ("exit 0\n" + outcome.output).strip()


def _gone_within(pid: int, seconds: float) -> bool:
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:  # a pidfd turns readable when the process has ended (a zombie awaiting its reaper counts)
        return bool(select.select([handle], [], [], seconds)[0])
    finally:
        os.close(handle)


@pytest.mark.parametrize("mode", ["wait", "exit"])
def test_a_timeout_stops_every_process_the_command_started(rb_store, mode):
    incident = rb_store.declare("high", "outage", "production", actor="a")
    outcome = _run(rb_store, incident.id, "forker", {"mode": mode})
    assert outcome.summary.startswith("timed out after 1s and was stopped")
    child = int(outcome.output.split()[0])
    try:
        assert _gone_within(child, 10), "the child outlived the runbook's timeout"
    finally:
        try:
            os.kill(child, 9)
        except ProcessLookupError:
            pass
    recorded = _remediation(rb_store, incident.id)[0]["outcome"]
    assert recorded.startswith("timed out after 1s")


@pytest.mark.parametrize("param,value,accepted", [
    ("url", "http://user:secret@cdn.example/a", "no user name or password"),
    ("url", "https://token@cdn.example/a", "no user name or password"),
    ("url", "https://cdn.example:pw@/a", "no user name or password"),
    ("address", "0.0.0.0/0", "no wider than /16 (IPv4) or /32 (IPv6)"),
    ("address", "::/0", "no wider than /16"),
    ("address", "203.0.113.7/0", "no wider than /16"),
    ("address", "10.0.0.0/8", "no wider than /16"),
    ("address", "2001:db8::/16", "no wider than /16"),
    ("count", "--5", "a whole number from 1 to 10"),
    ("count", "-5", "a whole number from 1 to 10"),
    ("host", "--5", "letters, digits"),
    ("address", "--5", "an IP address"),
    ("url", "--5", "an http:// or https:// URL"),
    ("mode", "--5", "fast, slow"),
])
def test_tightened_parameters_are_refused_in_one_sentence(rb_policy, param, value, accepted):
    runbook = find(rb_policy, "typed")
    with pytest.raises(PolicyValueError) as refused:
        prepare(runbook, dict(GOOD, **{param: value}))
    message = str(refused.value)
    assert f"{param}=" in message and "; accepted: " in message and accepted in message
    assert "\n" not in message and message.count(";") == 1


def test_values_just_inside_the_bounds_are_accepted(rb_policy):
    runbook = find(rb_policy, "typed")
    for address in ("203.0.113.0/24", "198.51.0.0/16", "2001:db8::/32", "2001:db8::1"):
        assert prepare(runbook, dict(GOOD, address=address)).params["address"] == address
    assert prepare(runbook, dict(GOOD, url="https://cdn.example:8443/a?b=c")).params["url"].endswith("?b=c")


def test_a_repeated_key_is_refused():
    assert values_from_assignments(["address=203.0.113.7", "port=22"]) == {"address": "203.0.113.7", "port": "22"}
    with pytest.raises(PolicyValueError, match=r"parameter 'address' is given twice; accepted: each parameter once"):
        values_from_assignments(["address=203.0.113.7", "address=198.51.100.1"])


def test_the_shell_refuses_a_repeated_key_before_running_anything(tmp_path):
    db = tmp_path / "x.db"
    env = dict(os.environ, IR_NOW="2024-01-18T14:30:00Z")
    ir = os.path.join(os.path.dirname(PY), "incident-response")
    declared = subprocess.run([ir, "--db", f"sqlite:///{db}", "high", "security", "production"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert declared.returncode == 0, declared.stderr
    incident_id = next(word for word in declared.stdout.split() if word.startswith("INC-"))
    refused = subprocess.run([ir, "--db", f"sqlite:///{db}", "runbook", incident_id, "isolate_suspicious_sources",
                              "address=203.0.113.7", "address=0.0.0.0/0", "--yes"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 2 and "given twice; accepted: each parameter once" in refused.stderr
    assert "Will run" not in refused.stdout and len(refused.stderr.strip().splitlines()) == 1
