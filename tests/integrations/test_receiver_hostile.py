"""The alert receiver against hostile input (issue 13, acceptance 2): a 1 MB request line,
Content-Length in non-ASCII digits and junk beside a valid alert; signed requests replayed
late or twice; 500 slow connections; SIGTERM with a request in flight; a startsAt in year 2;
a resolve delivered twice. And the activity log's redaction, linear on bounded fields.

Nothing here asserts a duration: the valid request's own time, measured alone in the same
test, only sets the generous timeout it is awaited with.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from automation.alert_intake import AlertIntake
from integrations.alert_receiver import (
    GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER, AlertServer,
)
from store.activity_log import ActivityLog, Redactor, read_activity
from store.models import Incident, TimelineEvent
from tests.integrations.test_alert_payloads import ALERTMANAGER
from tests.support import lifetime

TOKEN = "hostile-test-token-0123456789"
SECRET = "hostile-test-hmac-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GENERIC = {"key": "checkout-5xx", "status": "firing", "title": "Checkout 5xx above 5%", "severity": "high"}
IR = str(Path(sys.executable).parent / "incident-response")


@pytest.fixture
def lite_store(tmp_path, policy, clock):
    """SQLite: the HTTP mechanics do not depend on the backend."""
    from store.database import open_database
    from store.operations import IncidentStore

    db = open_database(f"sqlite:///{tmp_path / 'receiver.db'}")
    yield IncidentStore(db, policy, clock)
    db.dispose()


@pytest.fixture
def activity(tmp_path):
    return ActivityLog(tmp_path / "state" / "activity.jsonl", secrets=[TOKEN, SECRET])


class Clock:
    """The receiver's wall clock (Unix seconds), moved by the test."""

    def __init__(self) -> None:
        self.now = 1_705_588_200.0  # 2024-01-18T14:30:00Z

    def __call__(self) -> float:
        return self.now


def signed(body: bytes, at: float, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(at))
    digest = hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Signature-256": f"sha256={digest}", "X-Signature-Timestamp": timestamp}


def post_valid(server: AlertServer, key: str, timeout: float) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{server.url}/alerts/generic", json=dict(GENERIC, key=key), headers=AUTH,
                          timeout=timeout)
    return response, time.monotonic() - started


def exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are; everything the server answers until it closes (or b"" on a reset)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the rest was read: what it answered is still there to read
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def incidents(store) -> list[Incident]:
    with store.db.read() as session:
        return list(session.exec(select(Incident)).all())


def events(store, incident_id: str) -> list[TimelineEvent]:
    with store.db.read() as session:
        return list(session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                                 .order_by(TimelineEvent.seq)).all())


def terminal_safe(text: str) -> bool:
    """No control, format (bidi, zero-width) or separator character a terminal would obey."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


# -- hostile requests beside a valid alert --------------------------------------------------
HOSTILE = {
    "1 MB request line": b"GET /" + b"a" * 1_048_576 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "1 MB header": b"POST /alerts/generic HTTP/1.1\r\nX-Junk: " + b"b" * 1_048_576 + b"\r\n\r\n",
    "superscript digit": (b"POST /alerts/generic HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode()
                          + b"\r\nContent-Length: \xb2\r\n\r\n{}"),
    "arabic-indic digits": (b"POST /alerts/generic HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode()
                            + "\r\nContent-Length: \u0661\u0662\r\n\r\n".encode() + b"{}"),
    "escape in the path": b"POST /alerts/\x1b]0;pwned\x07\x1b[2J HTTP/1.1\r\n\r\n",
    "bidi in the method": "PO\u202eST /alerts/generic HTTP/1.1\r\n\r\n".encode(),
    "TLS hello": bytes.fromhex("1603010200010001fc0303") + os.urandom(64),
    "nul bytes": b"\x00" * 4096 + b"\r\n\r\n",
}


def test_hostile_requests_beside_a_valid_alert(lite_store, activity, caplog):
    caplog.set_level("INFO", logger="integrations.alert_receiver")
    # A short deadline: the TLS hello never ends its head, so it is dropped at the deadline.
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, request_deadline=3) as server:
        server.receiver.activity = activity
        alone, baseline = post_valid(server, "alone", timeout=30)
        assert alone.status_code == 200 and alone.json()["created"] is True
        bound = max(10.0, 50 * baseline)  # generous: what the hostile neighbours may cost it at most

        answers: dict[str, bytes] = {}

        def attack(name: str) -> None:
            answers[name] = exchange(server.port, HOSTILE[name], timeout=bound)

        attackers = [threading.Thread(target=attack, args=(name,)) for name in HOSTILE]
        for thread in attackers:
            thread.start()
        beside, _ = post_valid(server, "beside", timeout=bound)
        for thread in attackers:
            thread.join(bound)
            assert not thread.is_alive()
        assert beside.status_code == 200 and beside.json()["created"] is True

    # Each was refused in one JSON sentence (or the connection reset under its still-unread
    # megabyte); the TLS hello, never a whole head, was dropped at the deadline without a word.
    assert answers["TLS hello"] == b""
    expected = {"1 MB request line": 414, "1 MB header": 431, "superscript digit": 400,
                "arabic-indic digits": 400, "escape in the path": 400, "bidi in the method": 400,
                "nul bytes": 400}
    for name, status in expected.items():
        if answers[name] or not name.startswith("1 MB"):
            assert status_of(answers[name]) == status, (name, answers[name][:200])
            error = json.loads(answers[name].partition(b"\r\n\r\n")[2])["error"]
            assert error and "\n" not in error and terminal_safe(error)
    assert sorted(i.dedup_key for i in incidents(lite_store)) == ["generic:alone", "generic:beside"]

    # Nothing unauthenticated verbatim: counted, with short escaped samples, in one record.
    records = read_activity(activity.path)
    refused = [r for r in records if r["event"] == "inbound_refused"]
    assert len(refused) == 1 and refused[0]["count"] == len(HOSTILE)
    assert len(refused[0]["samples"]) <= 3
    raw_text = activity.path.read_text(encoding="utf-8")
    assert len(raw_text) < 8_000 and "a" * 100 not in raw_text and "b" * 100 not in raw_text
    assert terminal_safe(raw_text.replace("\n", ""))
    assert [r["path"] for r in records if r["event"] == "inbound_alert"] == ["/alerts/generic"] * 2
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "a" * 100 not in logged and terminal_safe(logged.replace("\n", ""))
    assert "refused 8 unauthenticated requests" in logged


def test_an_escape_in_the_path_is_shown_escaped(lite_store, activity, caplog):
    caplog.set_level("INFO", logger="integrations.alert_receiver")
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN) as server:
        server.receiver.activity = activity
        assert status_of(exchange(server.port, HOSTILE["escape in the path"])) == 400
    sample = read_activity(activity.path)[0]["samples"][0]
    assert sample["target"] == "POST /alerts/\\x1b]0;pwned\\x07\\x1b[2J HTTP/1.1"
    assert "\x1b" not in activity.path.read_text() and all("\x1b" not in r.getMessage() for r in caplog.records)


def test_a_flood_of_junk_is_one_record_not_a_rotation(lite_store, tmp_path):
    activity = ActivityLog(tmp_path / "small.jsonl", secrets=[], max_bytes=4096)
    activity.write("delivery", integration="pagerduty", detail="the page that must not be rotated out")
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN) as server:
        server.receiver.activity = activity
        for n in range(300):
            assert status_of(exchange(server.port, f"POST /alerts/generic?n={n}&{'x' * 2000} HTTP/1.1\r\n"
                                                   "Content-Length: 2\r\n\r\n{}".encode())) == 401
    records = read_activity(activity.path)
    assert [r["event"] for r in records] == ["delivery", "inbound_refused"]
    assert records[1]["count"] == 300 and records[1]["by_status"] == {"401": 300}
    assert not activity.path.with_name("small.jsonl.1").exists()


@pytest.mark.parametrize("length", [b"\xb2", "\u0661\u0662".encode(), b"+2", b"0x2", b"2, 3", b"-1", b"2 2",
                                    b"99999999999999999999"])
def test_content_length_must_be_ascii_digits(lite_store, length):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN) as server:
        answer = exchange(server.port, b"POST /alerts/generic HTTP/1.1\r\nAuthorization: Bearer "
                          + TOKEN.encode() + b"\r\nContent-Length: " + length + b"\r\n\r\n{}")
    assert status_of(answer) == 400
    assert "ASCII digits" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert incidents(lite_store) == []


# -- credentials before the body ---------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    b"",
    b"Authorization: Bearer wrong\r\n",
    b"X-Signature-256: sha256=" + b"0" * 64 + b"\r\n",  # no timestamp
    b"X-Signature-256: sha256=" + b"0" * 64 + b"\r\nX-Signature-Timestamp: 1000\r\n",  # stale
], ids=["none", "wrong-token", "no-timestamp", "stale"])
def test_unauthenticated_large_bodies_are_refused_before_they_are_sent(lite_store, headers):
    # The head alone: the answer comes without the megabyte it announces.
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, secret=SECRET) as server:
        answer = exchange(server.port, b"POST /alerts/generic HTTP/1.1\r\nHost: x\r\n" + headers
                          + b"Content-Length: 1000000\r\n\r\n")
    assert status_of(answer) == 401


# -- signed requests: timestamp and replay cache ---------------------------------------------
def test_a_signed_request_replayed_is_refused_fresh_or_late(lite_store):
    clock = Clock()
    body = json.dumps(dict(GENERIC, key="signed")).encode()
    headers = {"Content-Type": "application/json", **signed(body, clock.now)}
    with AlertServer(AlertIntake(lite_store), port=0, secret=SECRET, token="", clock=clock) as server:
        url = f"{server.url}/alerts/generic"
        first = httpx.post(url, content=body, headers=headers, timeout=10)
        assert first.status_code == 200 and first.json()["created"] is True

        clock.now += 60  # within five minutes: the replay cache knows it
        replay = httpx.post(url, content=body, headers=headers, timeout=10)
        assert replay.status_code == 401 and "replay" in replay.json()["error"]

        clock.now += 241  # five minutes and a second after it was signed: too old, cache or not
        late = httpx.post(url, content=body, headers=headers, timeout=10)
        assert late.status_code == 401 and "301 seconds old" in late.json()["error"]

        ahead = httpx.post(url, content=body, headers={**headers, **signed(body, clock.now + 120)}, timeout=10)
        assert ahead.status_code == 401 and "ahead" in ahead.json()["error"]

        # The same body signed afresh is a new request (the incident is already open).
        again = httpx.post(url, content=body, headers=signed(body, clock.now), timeout=10)
        assert again.status_code == 200 and again.json()["created"] is False
        # A body changed under a valid signature is refused.
        forged = httpx.post(url, content=body.replace(b"high", b"low!"), headers=signed(body, clock.now - 1),
                            timeout=10)
        assert forged.status_code == 401
    assert len(incidents(lite_store)) == 1


def test_two_copies_of_one_signed_request_at_once_act_once(lite_store):
    clock = Clock()
    body = json.dumps(dict(GENERIC, key="twice")).encode()
    headers = signed(body, clock.now)
    with AlertServer(AlertIntake(lite_store), port=0, secret=SECRET, token="", clock=clock) as server:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: httpx.post(f"{server.url}/alerts/generic", content=body,
                                                         headers=headers, timeout=10).status_code, range(8)))
    assert sorted(answers) == [200] + [401] * 7


def test_grafana_hmac_form_is_accepted(lite_store):
    clock = Clock()
    body = json.dumps(dict(GENERIC, key="grafana-form")).encode()
    timestamp = str(int(clock.now))
    digest = hmac.new(SECRET.encode(), f"{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    with AlertServer(AlertIntake(lite_store), port=0, secret=SECRET, token="", clock=clock) as server:
        r = httpx.post(f"{server.url}/alerts/generic", content=body, timeout=10,
                       headers={GRAFANA_SIGNATURE_HEADER: digest, GRAFANA_TIMESTAMP_HEADER: timestamp})
        assert r.status_code == 200
        # Grafana without a timestamp header signs the body alone: refused, it could be replayed forever.
        bare = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        r = httpx.post(f"{server.url}/alerts/generic", content=body, timeout=10,
                       headers={GRAFANA_SIGNATURE_HEADER: bare})
        assert r.status_code == 401 and GRAFANA_TIMESTAMP_HEADER in r.json()["error"]


def test_per_source_credentials(lite_store):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN,
                     credentials={"grafana": {"token": "grafana-only-token"}}) as server:
        body = {"key": "k", "status": "resolved"}
        assert httpx.post(f"{server.url}/alerts/generic", json=body, headers=AUTH).status_code == 200
        grafana = f"{server.url}/alerts/grafana"
        assert httpx.post(grafana, json={}, headers=AUTH).status_code == 401
        r = httpx.post(grafana, json={}, headers={"Authorization": "Bearer grafana-only-token"})
        assert r.status_code == 400  # past the door; the empty body is what is refused


# -- connections: many slow ones, a cap, a deadline --------------------------------------------
def open_slow(port: int, count: int) -> list[socket.socket]:
    """Connections that send part of a head, then nothing."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"POST /alerts/generic HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    return sockets


@pytest.mark.parametrize("max_connections", [512, 100], ids=["default-cap", "cap-below-the-flood"])
def test_500_slow_connections_do_not_starve_a_valid_request(lite_store, max_connections):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, max_connections=max_connections) as server:
        alone, baseline = post_valid(server, "alone", timeout=30)
        assert alone.status_code == 200
        slow = open_slow(server.port, 500)
        try:
            beside, _ = post_valid(server, "beside-the-slow", timeout=max(10.0, 50 * baseline))
            assert beside.status_code == 200 and beside.json()["created"] is True
        finally:
            for sock in slow:
                sock.close()


def test_when_every_connection_is_busy_a_newcomer_hears_503(lite_store):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, max_connections=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as busy:
            busy.sendall(b"POST /alerts/generic HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode()
                         + b"\r\nContent-Length: 40\r\nExpect: 100-continue\r\n\r\n")
            assert busy.recv(100).startswith(b"HTTP/1.1 100 Continue")  # in flight: it cannot be dropped
            assert status_of(exchange(server.port, b"POST /alerts/generic HTTP/1.1\r\n\r\n")) == 503


def test_a_slow_client_is_dropped_at_the_deadline(lite_store):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, request_deadline=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(b"POST /alerts/generic HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode()
                         + b"\r\nContent-Length: 40\r\n\r\n{")  # and never the rest
            answer = b""
            while chunk := slow.recv(4096):  # the server closes it: no timeout on this side fires
                answer += chunk
        assert status_of(answer) == 408


def test_listen_backlog_is_at_least_128(lite_store):
    from integrations.http_server import LISTEN_BACKLOG

    assert LISTEN_BACKLOG >= 128
    # The kernel holds that many completed handshakes while the receiver is busy: open them
    # all at once and every one is answered.
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN) as server:
        sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(128)]
        try:
            for sock in sockets:
                sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert all(status_of(sock.recv(4096)) == 404 for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()


# -- SIGTERM ----------------------------------------------------------------------------------
def test_sigterm_answers_the_request_in_flight_and_exits_cleanly(tmp_path):
    from tests.support.postgres import free_port

    db = f"sqlite:///{tmp_path / 'a.db'}"
    port = free_port()
    env = dict(os.environ, IR_WEBHOOK_TOKEN=TOKEN, XDG_STATE_HOME=str(tmp_path / "state"))
    server = lifetime.popen([IR, "--db", db, "serve", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert f"Listening on http://127.0.0.1:{port}" in server.stdout.readline()
        body = json.dumps(dict(GENERIC, key="in-flight")).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /alerts/generic HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
                         + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nExpect: 100-continue\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")  # the head is in: in flight
            server.send_signal(signal.SIGTERM)
            assert server.stdout.readline().startswith("Stopping: no new connections")
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            sock.sendall(body)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert status_of(answer) == 200 and b'"created": true' in answer
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    listed = subprocess.run([IR, "--db", db, "list", "--json"], capture_output=True, text=True, env=env,
                            timeout=60, check=True)
    assert [row["title"] for row in json.loads(listed.stdout)] == [GENERIC["title"]]


# -- startsAt outside a plausible window, resolve twice ----------------------------------------
@pytest.mark.parametrize("starts_at", ["0002-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "2023-11-01T00:00:00Z"],
                         ids=["year-2", "year-2999", "older-than-30-days"])
def test_an_implausible_starts_at_falls_back_to_the_receive_time(lite_store, clock, starts_at):
    body = copy.deepcopy(ALERTMANAGER)
    for alert in body["alerts"]:
        alert["startsAt"] = starts_at
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN) as server:
        r = httpx.post(f"{server.url}/alerts/alertmanager", json=body, headers=AUTH, timeout=10)
    assert r.status_code == 200, r.text
    incident = incidents(lite_store)[0]
    assert incident.detected_at == lite_store.now() == incident.declared_at
    assert incident.response_due_at > lite_store.now()  # not born overdue
    declared = events(lite_store, incident.id)[0]
    assert declared.kind == "declared"
    detail = json.loads(declared.data)
    assert detail["startsAt_ignored"] == [starts_at] and detail["detected_at_from"] == "received"


def test_a_plausible_starts_at_is_kept(lite_store):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN) as server:
        r = httpx.post(f"{server.url}/alerts/alertmanager", json=ALERTMANAGER, headers=AUTH, timeout=10)
    assert r.status_code == 200
    incident = incidents(lite_store)[0]
    assert incident.detected_at.isoformat() == "2024-01-18T14:18:00"  # the earlier alert's startsAt


def resolved(body: dict) -> dict:
    body = copy.deepcopy(body)
    body["status"] = "resolved"
    for alert in body["alerts"]:
        alert["status"] = "resolved"
    return body


def test_a_resolve_delivered_twice_resolves_once(store):
    with AlertServer(AlertIntake(store), port=0, token=TOKEN) as server:
        url = f"{server.url}/alerts/alertmanager"
        opened = httpx.post(url, json=ALERTMANAGER, headers=AUTH, timeout=10).json()["incident"]
        first = httpx.post(url, json=resolved(ALERTMANAGER), headers=AUTH, timeout=10)
        second = httpx.post(url, json=resolved(ALERTMANAGER), headers=AUTH, timeout=10)
    assert (first.status_code, first.json()) == (200, {"incident": opened, "created": False})
    assert (second.status_code, second.json()) == (200, {"incident": None})
    kinds = [e.kind for e in events(store, opened)]
    assert kinds.count("condition_cleared") == 1 and kinds.count("status_changed") == 1


def test_concurrent_resolves_answer_success_once_and_never_409(store):
    with AlertServer(AlertIntake(store), port=0, token=TOKEN) as server:
        url = f"{server.url}/alerts/alertmanager"
        opened = httpx.post(url, json=ALERTMANAGER, headers=AUTH, timeout=10).json()["incident"]

        def resolve(_):
            with httpx.Client(timeout=30, headers=AUTH) as client:
                r = client.post(url, json=resolved(ALERTMANAGER))
                return r.status_code, r.json()

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(resolve, range(6)))
    assert sorted(json.dumps(a) for a in answers) == sorted(
        [json.dumps([200, {"incident": opened, "created": False}])] + [json.dumps([200, {"incident": None}])] * 5)
    kinds = [e.kind for e in events(store, opened)]
    assert kinds.count("condition_cleared") == 1 and kinds.count("status_changed") == 1


# -- the redactor: linear on bounded fields ---------------------------------------------------
def _repeats(pattern: str):
    """(min, max, nested?, last?) of every repetition in a regular expression's parse tree."""
    import re._parser as parser  # the stdlib's own parser: the tree the engine runs
    from re._constants import MAX_REPEAT, MAXREPEAT, MIN_REPEAT, SUBPATTERN, BRANCH

    found = []

    def walk(items, inside: bool, tail: bool):
        items = list(items)
        for index, (op, value) in enumerate(items):
            last = tail and index == len(items) - 1
            if op in (MAX_REPEAT, MIN_REPEAT):
                low, high, sub = value
                found.append((low, high, inside, last))
                walk(sub, True, last)
            elif op is SUBPATTERN:
                walk(value[-1], inside, last)
            elif op is BRANCH:
                for branch in value[1]:
                    walk(branch, inside, last)

    walk(parser.parse(pattern), False, True)
    return found, MAXREPEAT


def test_redaction_patterns_cannot_backtrack_over_the_whole_field():
    from store.activity_log import _CREDENTIALS, BEARER, URL_CREDENTIALS

    for pattern in (URL_CREDENTIALS.pattern, BEARER.pattern, _CREDENTIALS.pattern):
        repeats, unbounded = _repeats(pattern)
        assert repeats and not any(nested for _low, _high, nested, _last in repeats)
        # Every repetition is bounded, or is the last thing in the pattern (nothing after it to
        # retry): the work from any start position is bounded by a constant, so a pass is linear.
        assert all(high != unbounded and high <= 256 or last for _low, high, _nested, last in repeats), pattern


def test_a_1mb_field_is_cut_before_any_pattern_sees_it(monkeypatch):
    import store.activity_log as activity_log

    seen: list[int] = []
    real = activity_log._CREDENTIALS

    class Spy:
        def finditer(self, text):
            seen.append(len(text))
            return real.finditer(text)

    monkeypatch.setattr(activity_log, "_CREDENTIALS", Spy())
    redactor = Redactor([SECRET])
    line = "GET /" + "a" * 1_048_576 + " HTTP/1.1"
    out = redactor.text(line)
    assert seen == [activity_log.MAX_FIELD_CHARS + activity_log.MATCH_REACH]
    assert out.startswith("GET /aaa") and out.endswith(f"\u2026[+{len(line) - activity_log.MAX_FIELD_CHARS} chars]")
    # What used to be quadratic (a long run the scheme pattern retried from every letter) and
    # secrets or tokens at the cut are still hidden whole.
    for hostile in ("x" * 1_048_576 + "://", "a:" * 524_288, "Bearer " + "t" * 1_048_576,
                    "z" * 4090 + SECRET + "z" * 10, "z" * 4090 + "https://user:pa55word@host/"):
        text = redactor.text(hostile)
        assert len(text) <= activity_log.MAX_FIELD_CHARS + 40
        assert SECRET not in text and "pa55" not in text and "tttttttt" not in text[-60:]


def test_activity_lines_escape_what_a_terminal_would_obey(tmp_path):
    log = ActivityLog(tmp_path / "a.jsonl", secrets=[])
    hostile = "vendor said \x9b31m red \u202e evil \u2028 next \x1b[2J"
    log.write("delivery", detail=hostile)
    raw = (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert terminal_safe(raw.rstrip("\n")) and re.search(r"\\u009b", raw)
    assert read_activity(tmp_path / "a.jsonl")[0]["detail"] == hostile  # the data itself is kept
