"""Heartbeats end to end (issue 16, acceptance 5): beats through a real `serve` receiver on
127.0.0.1, the check `watch` runs driven by the store's frozen clock. A miss opens exactly one
incident through the declaration path; a late beat clears and resolves it."""
from __future__ import annotations

import threading

import httpx
import pytest
from sqlmodel import select

from automation.alert_intake import AlertIntake
from automation.heartbeats import HeartbeatCheck
from automation.watch import Watch
from integrations.alert_receiver import AlertServer
from playbooks.config import parse_configuration
from playbooks.errors import PolicyValueError
from store.models import Heartbeat, Incident
from tests.integrations.test_alert_receiver import AUTH, SECRET, TOKEN, kinds, raw_request, signed

NAME = "nightly-backup"
HEARTBEATS = parse_configuration({"heartbeats": {
    NAME: {"interval": "1h", "grace": "5m", "service": "backups", "labels": {"team": "storage"}},
    "hourly-sync": {"interval": "1h", "severity": "high"},
}}).heartbeats
KEY = f"heartbeat:{NAME}"


@pytest.fixture
def server(store):
    with AlertServer(AlertIntake(store, heartbeats=HEARTBEATS), port=0, token=TOKEN, secret=SECRET) as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=5, headers=AUTH) as c:
        yield c


@pytest.fixture
def check(store):
    return HeartbeatCheck(store, {NAME: HEARTBEATS[NAME]})


def incidents_of(store, key: str = KEY) -> list[Incident]:
    with store.db.read() as session:
        return list(session.exec(select(Incident).where(Incident.dedup_key == key).order_by(Incident.declared_at)))


def beat(client, name: str = NAME) -> httpx.Response:
    return client.post(f"/heartbeat/{name}")  # no body: a cron job's curl sends none


def test_beats_on_time_keep_it_quiet(store, clock, client, check):
    assert check.check() == []  # starts watching now
    for _ in range(4):
        clock.advance(minutes=64)  # within interval + grace of the previous beat, never of the first
        assert check.check() == []
        r = beat(client)
        assert r.status_code == 200, r.text
        assert r.json() == {"heartbeat": NAME, "cleared": None}
    assert check.check() == [] and incidents_of(store) == []
    with store.db.read() as session:
        assert session.get(Heartbeat, NAME).last_beat_at == clock.moment


def test_a_miss_opens_one_incident_and_a_late_beat_clears_it(store, clock, client, check):
    started = clock.moment
    assert check.check() == []
    clock.advance(minutes=65)
    assert check.check() == []  # exactly interval + grace: not yet missed
    clock.advance(seconds=1)
    opened = check.check()
    assert len(opened) == 1
    incident = incidents_of(store)[0]
    assert incident.id == opened[0]
    assert incident.title == f"No heartbeat from {NAME} since watching began at {started.isoformat()}Z"
    assert (incident.severity, incident.type, incident.environment, incident.service, incident.status) == \
        ("SEV-2", "outage", "production", "backups", "investigating")
    assert incident.declared_by == "heartbeat"

    for minutes in (0, 1, 30, 600):  # later checks of the same silence open nothing more
        clock.advance(minutes=minutes)
        assert check.check() == []
    assert [i.id for i in incidents_of(store)] == opened

    r = beat(client)
    assert r.status_code == 200, r.text
    assert r.json() == {"heartbeat": NAME, "cleared": opened[0]}
    cleared = incidents_of(store)[0]
    assert cleared.status == "resolved"
    assert kinds(store, cleared.id) == ["declared", "condition_cleared", "status_changed"]
    assert beat(client).json() == {"heartbeat": NAME, "cleared": None}  # a second beat clears nothing

    # The next silence is a new miss: a new incident, titled by the last beat.
    last_beat = clock.moment
    clock.advance(hours=2)
    again = check.check()
    assert len(again) == 1 and again != opened
    assert incidents_of(store)[-1].title == f"No heartbeat from {NAME} since {last_beat.isoformat()}Z"


def test_a_miss_resolved_by_hand_is_not_declared_again_until_a_beat(store, clock, client, check):
    check.check()
    clock.advance(hours=2)
    [first] = check.check()
    with store.db.write() as session:
        store.move_status(session, session.get(Incident, first), "resolved", "alice")
    clock.advance(hours=1)
    assert check.check() == []  # the same silence: already declared once
    assert len(incidents_of(store)) == 1


def test_unauthenticated_beats_are_refused_and_record_nothing(store, clock, server, check):
    url = f"{server.url}/heartbeat/{NAME}"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    signed(b"", secret="not-the-secret")):
        r = httpx.post(url, headers=headers, timeout=5)
        assert r.status_code == 401, headers
        assert "credentials" in r.json()["error"] or "signature" in r.json()["error"]
    with store.db.read() as session:
        assert session.get(Heartbeat, NAME) is None
    # The signed form of the alert endpoints works for a beat too (an empty body signed).
    r = httpx.post(url, headers=signed(b""), timeout=5)
    assert r.status_code == 200, r.text
    with store.db.read() as session:
        assert session.get(Heartbeat, NAME).last_beat_at == clock.moment


def test_unknown_heartbeat_is_404_once_authenticated(store, server, client):
    r = beat(client, "no-such-job")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error.startswith("there is no heartbeat 'no-such-job'; accepted:") and error.count(". ") == 0
    assert NAME in error
    # Without credentials the caller learns nothing about which heartbeats exist.
    assert httpx.post(f"{server.url}/heartbeat/no-such-job", timeout=5).status_code == 401
    assert client.post("/heartbeat/").status_code == 404
    assert client.post(f"/heartbeat/{NAME}/extra").status_code == 404
    assert client.get(f"/heartbeat/{NAME}").status_code == 405


def test_a_beat_without_content_length_has_no_body(store, clock, server):
    status, body = raw_request(server, f"POST /heartbeat/{NAME} HTTP/1.1\nHost: x\n"
                                       f"Authorization: Bearer {TOKEN}\nConnection: close\n")
    assert status == 200, body
    with store.db.read() as session:
        assert session.get(Heartbeat, NAME).last_beat_at == clock.moment
    # The alert endpoints still want a body with its length.
    status, _ = raw_request(server, f"POST /alerts/generic HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
                                    "Connection: close\n")
    assert status == 411


def test_watch_loop_runs_the_check(store, clock, monkeypatch):
    """The watch loop's periodic checks include the heartbeats: its event is awaited, not slept for."""
    import automation.watch

    monkeypatch.setattr(automation.watch, "ESCALATION_CHECK_S", 0.01)
    heard = threading.Event()
    lines: list[str] = []

    def on_event(line: str) -> None:
        lines.append(line)
        if line.startswith("No heartbeat"):
            heard.set()

    check = HeartbeatCheck(store, {NAME: HEARTBEATS[NAME]})
    check.check()  # watched from the frozen clock's now
    clock.advance(hours=2)
    watch = Watch(store, [], heartbeats={NAME: HEARTBEATS[NAME]}, on_event=on_event)
    stop = threading.Event()
    runner = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert heard.wait(30), lines
    finally:
        stop.set()
        runner.join(30)
    assert len(incidents_of(store)) == 1
    assert [line for line in lines if line.startswith("No heartbeat")] == \
        [f"{incidents_of(store)[0].title}: {incidents_of(store)[0].id}"]


def test_heartbeat_of_a_type_without_workflow_is_refused(store):
    odd = parse_configuration({"heartbeats": {"x": {"interval": "1h", "type": "plumbing"}}}).heartbeats
    with pytest.raises(PolicyValueError, match=r"^\[heartbeats\.x\] type is 'plumbing', which has no workflow; "
                                               r"accepted: .*outage"):
        HeartbeatCheck(store, odd)


def test_the_commands_wire_heartbeats_from_config_toml(tmp_path, store):
    """`serve` takes beats of the configured heartbeats; `watch` is built to check them (and has
    work with nothing else configured)."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from automation.loop import build_watch, has_work
    from tests.support import lifetime
    from tests.support.postgres import free_port

    config = tmp_path / "config.toml"
    config.write_text(f'[sources.host]\nenabled = false\n[heartbeats.{NAME}]\ninterval = "1h"\n')
    watch = build_watch(store, parse_configuration({"sources": {"host": {"enabled": False}},
                                                    "heartbeats": {NAME: {"interval": "1h"}}}))
    assert list(watch.heartbeats.heartbeats) == [NAME] and has_work(watch)

    port = free_port()
    env = dict(os.environ, IR_WEBHOOK_TOKEN="tok-123", IR_CONFIG=str(config))
    server = lifetime.popen([str(Path(sys.executable).parent / "incident-response"), "--db",
                             f"sqlite:///{tmp_path / 'a.db'}", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert "/heartbeat/NAME" in server.stdout.readline()
        auth = {"Authorization": "Bearer tok-123"}
        r = httpx.post(f"http://127.0.0.1:{port}/heartbeat/{NAME}", headers=auth, timeout=10)
        assert r.status_code == 200 and r.json() == {"heartbeat": NAME, "cleared": None}
        assert httpx.post(f"http://127.0.0.1:{port}/heartbeat/other", headers=auth, timeout=10).status_code == 404
        assert httpx.post(f"http://127.0.0.1:{port}/heartbeat/{NAME}", timeout=10).status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
