"""`incident-response watch` and the command center run the same automation: from one
config.toml and one user rules.toml, a health check that reports down fires a rule whose
begin_log_collection() pulls the service's logs from Splunk (the contract fake) onto the
incident's timeline, under `watch` (a real subprocess) and under the command center
(headless), each on a database of its own so neither's detection lease holds the other off."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import select

from automation.log_collection import EVENT_KIND
from store.models import Incident, TimelineEvent
from tests.support import lifetime
from tests.support.log_fakes import SplunkFake

TOKEN_VARIABLE = "IR_TEST_SPLUNK_TOKEN"
SPLUNK_TOKEN = "splunk-same-automation-token"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# Long enough for a cold start of the program, the first health check and the collection on
# a loaded machine; both halves normally finish in a few seconds.
DEADLINE_S = 45.0

CONFIG_TOML = """\
[sources.host]
enabled = false

[sources.health]
interval = 1

[[sources.health.checks]]
name = "checkout"
url = "{health_url}"
timeout = 2

[logs.splunk]
url = "{splunk_url}"
token_env = "{token_variable}"
timeout = 5
"""

# The user's rules.toml replaces the built-in one: this is the only rule in force.
RULES_TOML = """\
[[rules]]
name = "checkout_health_down"
description = "The checkout health check answers with an error."
conditions = ["health.checkout.up < 1"]
duration = "0s"
actions = [
    "create_incident(severity='high', type='outage', service='checkout')",
    "begin_log_collection()",
]
"""


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("IR_NOW", raising=False)  # the rule and the log window run on real time


@pytest.fixture
def failing_health_endpoint():
    """The checkout service's health URL, answering 500 to every GET (so the check is down)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = b"database unreachable"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


@pytest.fixture
def splunk():
    """Splunk with the last minutes of checkout's logs, and one line of another service."""
    now = time.time()
    events = [
        {"_time": int(now - 240), "service": "checkout", "_raw": "ERROR pool exhausted: 50/50 connections in use"},
        {"_time": int(now - 120), "service": "checkout", "_raw": "WARN /healthz answered 500 in 12ms"},
        {"_time": int(now - 100), "service": "billing", "_raw": "billing is fine and not part of this incident"},
    ]
    with SplunkFake(token=SPLUNK_TOKEN, events=events) as fake:
        yield fake


@pytest.fixture
def configured(tmp_path, monkeypatch, failing_health_endpoint, splunk):
    """config.toml (through IR_CONFIG) and the user's playbooks/rules.toml, for both halves."""
    from store.paths import user_playbooks_dir

    health_url, _ = failing_health_endpoint
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_TOML.format(health_url=health_url, splunk_url=splunk.url, token_variable=TOKEN_VARIABLE))
    playbooks = user_playbooks_dir()  # under the test's XDG_CONFIG_HOME
    playbooks.mkdir(parents=True)
    (playbooks / "rules.toml").write_text(RULES_TOML)
    monkeypatch.setenv("IR_CONFIG", str(config))
    monkeypatch.setenv(TOKEN_VARIABLE, SPLUNK_TOKEN)
    return config


def _open_store(url: str):
    from playbooks import load_policy
    from playbooks.clock import utc_now
    from store.database import open_database
    from store.operations import IncidentStore
    from store.paths import user_playbooks_dir

    return IncidentStore(open_database(url), load_policy(user_playbooks_dir()), utc_now)


def _collection(store) -> tuple[Incident, TimelineEvent] | None:
    """The incident the rule opened and its log-collection event, once both are stored."""
    with store.db.read() as session:
        event = session.exec(select(TimelineEvent).where(TimelineEvent.kind == EVENT_KIND)).first()
        if event is None:
            return None
        incident = session.exec(select(Incident).where(Incident.id == event.incident_id)).one()
        session.expunge_all()
        return incident, event


def _assert_logs_collected(store, splunk, searches_before: int, evidence_root: Path) -> str:
    """What both halves must show: one incident from the rule, for checkout, whose timeline
    holds the checkout lines Splunk returned, word for word, from a search for checkout."""
    with store.db.read() as session:
        incidents = session.exec(select(Incident)).all()
        assert [(i.severity, i.type, i.service, i.dedup_key) for i in incidents] == \
            [("SEV-2", "outage", "checkout", "rule:checkout_health_down")]
        events = session.exec(select(TimelineEvent).where(TimelineEvent.kind == EVENT_KIND)).all()
        assert len(events) == 1, [e.summary for e in events]
        event, incident_id = events[0], incidents[0].id
    assert event.incident_id == incident_id
    assert event.actor == "automation"
    assert event.summary == "Collected 2 log lines from splunk"
    data = json.loads(event.data)
    assert data["service"] == "checkout" and data["failed"] == []
    (entry,) = data["files"]
    assert entry["source"] == "splunk" and entry["lines"] == 2
    path = Path(entry["path"])
    assert path.parent == evidence_root / "evidence" / incident_id
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["_raw"] for row in rows] == ["ERROR pool exhausted: 50/50 connections in use",
                                             "WARN /healthz answered 500 in 12ms"]
    assert all(row["service"] == "checkout" for row in rows)

    new = splunk.requests[searches_before:]
    assert len(new) == 1, new
    assert new[0]["headers"]["Authorization"] == f"Bearer {SPLUNK_TOKEN}"
    (search,) = splunk.searches[searches_before:]
    assert search.startswith('search index=main service="checkout" earliest='), search
    return incident_id


def _watch_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The test's own environment (IR_CONFIG, the token, XDG_CONFIG_HOME with the rules) with a
    home, data and state folder of the subprocess's own, and its database."""
    environment = {name: value for name, value in os.environ.items() if name not in PROXY_VARIABLES}
    own = tmp_path / "watch-process"
    environment.update({
        "HOME": str(own / "home"),
        "XDG_DATA_HOME": str(own / "data"),
        "XDG_STATE_HOME": str(own / "state"),
        "XDG_CACHE_HOME": str(own / "cache"),
        "IR_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    })
    return environment


def _watch_half(program: Path, splunk, tmp_path: Path) -> None:
    """`incident-response watch` as a real process on a database of its own."""
    url = f"sqlite:///{tmp_path / 'watch.db'}"
    environment = _watch_environment(tmp_path, url)
    # The schema is made here first, so the polling below never meets a half-migrated file.
    store = _open_store(url)
    process = lifetime.popen([str(program), "watch", "--seconds", str(DEADLINE_S)], env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + DEADLINE_S
        found = None
        while found is None and time.monotonic() < deadline:
            try:
                process.wait(timeout=0.2)  # returns before the deadline only if `watch` stopped
                break
            except subprocess.TimeoutExpired:
                pass
            found = _collection(store)
        if found is None:
            process.kill()
            out, err = process.communicate(timeout=10)
            pytest.fail(f"watch stored no log collection within {DEADLINE_S:g} s (exit {process.returncode}); "
                        f"stdout: {out!r}; stderr: {err!r}")
        incident_id = _assert_logs_collected(store, splunk, 0,
                                             Path(environment["XDG_DATA_HOME"]) / "incident-response")
    finally:
        store.db.dispose()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # `watch` stops cleanly on SIGTERM
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "watching health; delivering to no integration; rules: checkout_health_down"
    assert f"collected 2 log lines for {incident_id}" in lines


async def _command_center_half(configuration, splunk, tmp_path: Path) -> None:
    """The command center, headless, detecting on a database of its own."""
    from store.paths import data_dir
    from tui.app import Settings, make_app

    searches_before = len(splunk.requests)
    store = _open_store(f"sqlite:///{tmp_path / 'command-center.db'}")
    try:
        app = make_app(store, Settings(actor="tester", export_dir=tmp_path / "handover", configuration=configuration,
                                       detect=True, watch=False))
        async with app.run_test() as pilot:
            deadline = time.monotonic() + DEADLINE_S
            while _collection(store) is None:
                assert time.monotonic() < deadline, \
                    f"the command center stored no log collection within {DEADLINE_S:g} s"
                await pilot.pause(0.2)
            _assert_logs_collected(store, splunk, searches_before, data_dir())
            await pilot.press("q")
    finally:
        store.db.dispose()


async def test_watch_and_the_command_center_both_collect_logs_when_the_rule_fires(configured, splunk, tmp_path,
                                                                                  failing_health_endpoint):
    from tui.configuration import load_checked_configuration

    program = Path(sys.executable).with_name("incident-response")
    assert program.exists(), f"{program} is missing: install the project into this virtualenv"
    _watch_half(program, splunk, tmp_path)

    configuration = load_checked_configuration()  # the same file, through IR_CONFIG, as `watch` read
    assert configuration.path == configured and configuration.logs.splunk.url == splunk.url
    await _command_center_half(configuration, splunk, tmp_path)
    _url, hits = failing_health_endpoint
    assert hits and set(hits) == {"/healthz"}  # what fired both times was the configured check
