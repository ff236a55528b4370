"""The inbound alert receiver as a real HTTP server on 127.0.0.1, driven with httpx."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from automation.alert_intake import AlertIntake
from integrations.alert_receiver import AlertReceiver, AlertServer, ReceiverConfigError, serve
from store.models import Incident, TimelineEvent
from tests.integrations.test_alert_payloads import ALERTMANAGER, GRAFANA

TOKEN = "test-token-0123456789"
SECRET = "test-hmac-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(store):
    """On both backends: for what the store must do."""
    with AlertServer(AlertIntake(store), port=0, token=TOKEN, secret=SECRET) as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=5, headers=AUTH) as c:
        yield c


@pytest.fixture
def lite_store(tmp_path, policy, clock):
    """SQLite only: for the HTTP mechanics, which do not depend on the backend."""
    from store.database import open_database
    from store.operations import IncidentStore

    db = open_database(f"sqlite:///{tmp_path / 'receiver.db'}")
    yield IncidentStore(db, policy, clock)
    db.dispose()


@pytest.fixture
def lite_server(lite_store):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, secret=SECRET) as running:
        yield running


@pytest.fixture
def lite_client(lite_server):
    with httpx.Client(base_url=lite_server.url, timeout=5, headers=AUTH) as c:
        yield c


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """The signing headers: HMAC-SHA256 of '<unix seconds>:<body>' and the timestamp it signs."""
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Signature-256": f"sha256={digest}", "X-Signature-Timestamp": timestamp}


def counts(store) -> tuple[int, int]:
    with store.db.read() as session:
        return (session.exec(select(func.count()).select_from(Incident)).one(),
                session.exec(select(func.count()).select_from(TimelineEvent)).one())


def kinds(store, incident_id: str) -> list[str]:
    with store.db.read() as session:
        events = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                              .order_by(TimelineEvent.seq)).all()
        return [e.kind for e in events]


def incident(store, incident_id: str) -> Incident:
    with store.db.read() as session:
        return session.get(Incident, incident_id)


def resolved(body: dict) -> dict:
    body = copy.deepcopy(body)
    body["status"] = "resolved"
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2024-01-18T14:40:00Z"
    return body


def raw_request(server: AlertServer, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes as they are and read the answer (for what httpx will not send)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        header, _, rest = data.partition(b"\r\n\r\n")
        length = int(next((line.split(b":")[1] for line in header.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), b"0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(header.split()[1]), rest


# -- the happy paths ------------------------------------------------------------------
def test_alertmanager_group_opens_dedups_and_resolves(store, client):
    r = client.post("/alerts/alertmanager", json=ALERTMANAGER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    first = r.json()
    assert first["created"] is True and first["incident"].startswith("INC-2024-0118-")
    opened = incident(store, first["incident"])
    assert (opened.severity, opened.type, opened.environment, opened.status) == \
        ("SEV-1", "outage", "production", "investigating")
    assert opened.title == "BlackBox Probe Failure: https://server.example.org"
    assert opened.service == "checkout"
    assert opened.dedup_key == "am:" + ALERTMANAGER["groupKey"]
    assert opened.declared_by == "alertmanager"

    again = client.post("/alerts/alertmanager", json=ALERTMANAGER)
    assert again.json() == {"incident": first["incident"], "created": False}
    assert counts(store)[0] == 1
    assert kinds(store, first["incident"]).count("condition_firing") == 1

    done = client.post("/alerts/alertmanager", json=resolved(ALERTMANAGER))
    assert done.json() == {"incident": first["incident"], "created": False}
    assert incident(store, first["incident"]).status == "resolved"
    events = kinds(store, first["incident"])
    assert "condition_cleared" in events and events[-1] == "status_changed"

    # The group fires again after resolution: a new incident.
    reopened = client.post("/alerts/alertmanager", json=ALERTMANAGER).json()
    assert reopened["created"] is True and reopened["incident"] != first["incident"]


def test_resolved_for_an_unknown_group_changes_nothing(store, client):
    before = counts(store)
    r = client.post("/alerts/alertmanager", json=resolved(ALERTMANAGER))
    assert r.status_code == 200 and r.json() == {"incident": None}
    assert counts(store) == before


def test_grafana_firing_and_resolved(store, client):
    r = client.post("/alerts/grafana", json=GRAFANA)
    assert r.status_code == 200, r.text
    opened = r.json()
    assert opened["created"] is True
    row = incident(store, opened["incident"])
    assert (row.severity, row.dedup_key) == ("SEV-2", "grafana:c6eadffa33fcdf37")
    assert client.post("/alerts/grafana", json=resolved(GRAFANA)).json()["incident"] == opened["incident"]
    assert incident(store, opened["incident"]).status == "resolved"


def test_generic_firing_and_resolved(store, client):
    body = {"key": "nightly-backup", "status": "firing", "title": "Nightly backup failed", "severity": "p3",
            "type": "data", "environment": "staging", "service": "backup"}
    opened = client.post("/alerts/generic", json=body).json()
    row = incident(store, opened["incident"])
    assert (row.severity, row.type, row.environment, row.service, row.dedup_key) == \
        ("SEV-3", "data", "staging", "backup", "generic:nightly-backup")
    assert client.post("/alerts/generic", json=body).json()["created"] is False
    client.post("/alerts/generic", json={"key": "nightly-backup", "status": "resolved"})
    assert incident(store, opened["incident"]).status == "resolved"


def test_concurrent_deliveries_of_one_group_open_one_incident(store, server):
    def post(_):
        with httpx.Client(timeout=10, headers=AUTH) as c:
            return c.post(f"{server.url}/alerts/alertmanager", json=ALERTMANAGER).json()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(6)))
    assert len({a["incident"] for a in answers}) == 1
    assert sum(a["created"] for a in answers) == 1
    assert counts(store)[0] == 1


# -- authentication -------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Basic {TOKEN}"},
    {"X-Signature-256": "sha256=" + "0" * 64},
    {"X-Signature-256": hmac.new(SECRET.encode(), b"other body", hashlib.sha256).hexdigest()},
], ids=["none", "wrong-token", "not-bearer", "bad-signature", "unprefixed-signature"])
def test_unauthenticated_requests_get_401_and_write_nothing(lite_store, lite_server, headers):
    before = counts(lite_store)
    body = json.dumps(ALERTMANAGER).encode()
    r = httpx.post(f"{lite_server.url}/alerts/alertmanager", content=body,
                   headers={"Content-Type": "application/json", **headers}, timeout=5)
    assert r.status_code == 401
    assert "error" in r.json() and TOKEN not in r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert counts(lite_store) == before


def test_valid_hmac_signature_is_accepted(lite_store, lite_server):
    body = json.dumps(ALERTMANAGER).encode()
    r = httpx.post(f"{lite_server.url}/alerts/alertmanager", content=body,
                   headers={"Content-Type": "application/json", **signed(body)}, timeout=5)
    assert r.status_code == 200 and r.json()["created"] is True


def test_token_comes_from_the_environment(lite_store, monkeypatch):
    monkeypatch.setenv("IR_WEBHOOK_TOKEN", "from-env")
    monkeypatch.delenv("IR_WEBHOOK_SECRET", raising=False)
    with AlertServer(AlertIntake(lite_store), port=0) as running:
        url = f"{running.url}/alerts/generic"
        body = {"key": "k", "status": "resolved"}
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer from-env"}).status_code == 200
        assert httpx.post(url, json=body, headers=AUTH).status_code == 401


def test_refuses_to_start_without_a_token(lite_store, monkeypatch):
    monkeypatch.delenv("IR_WEBHOOK_TOKEN", raising=False)
    monkeypatch.delenv("IR_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ReceiverConfigError, match="needs a token; set IR_WEBHOOK_TOKEN"):
        AlertServer(AlertIntake(lite_store), port=0)
    with pytest.raises(ReceiverConfigError):
        serve(AlertIntake(lite_store), port=0, token="", secret="")


def test_signature_needs_a_configured_secret(lite_store):
    from integrations.alert_receiver import Refused

    receiver = AlertReceiver(AlertIntake(lite_store), token=TOKEN, secret="")
    headers = {name.lower(): value for name, value in signed(b"{}", secret="").items()}
    with pytest.raises(Refused) as refused:
        receiver.gate("generic", headers)
    assert refused.value.status == 401
    assert receiver.bearer_ok(f"bearer {TOKEN}") and not receiver.bearer_ok(f"Bearer {TOKEN}x")


# -- limits and malformed requests ----------------------------------------------------
def test_oversized_body_gets_413_before_it_is_read(lite_store, lite_server):
    before = counts(lite_store)
    # Only the headers are sent: the answer must come without waiting for 10 MB.
    head = (f"POST /alerts/alertmanager HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
            "Content-Type: application/json\nContent-Length: 10000000\n")
    status, body = raw_request(lite_server, head)
    assert status == 413 and "at most 1048576 bytes" in json.loads(body)["error"]
    # A client that asks first (Expect: 100-continue) is refused before it sends anything.
    status, _ = raw_request(lite_server, head + "Expect: 100-continue\n")
    assert status == 413
    assert counts(lite_store) == before


def test_small_limit_applies_to_real_bodies(lite_store):
    with AlertServer(AlertIntake(lite_store), port=0, token=TOKEN, max_body=512) as running:
        r = httpx.post(f"{running.url}/alerts/alertmanager", json=ALERTMANAGER, headers=AUTH, timeout=5)
        assert r.status_code == 413
    assert counts(lite_store)[0] == 0


def test_missing_content_length_gets_411(lite_store, lite_server):
    head = f"POST /alerts/generic HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
    status, body = raw_request(lite_server, head)
    assert status == 411 and "Content-Length" in json.loads(body)["error"]
    chunked = (f"POST /alerts/generic HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
               "Transfer-Encoding: chunked\n")
    status, _ = raw_request(lite_server, chunked, b"2\r\n{}\r\n0\r\n\r\n")
    assert status == 411
    assert counts(lite_store) == (0, 0)


@pytest.mark.parametrize("content", [b"{not json", b"", "{\"key\": \"\xff\"}".encode("latin-1"), b"[1, 2]",
                                     b'{"status": "firing", "alerts": "many"}', b"NaN"],
                         ids=["malformed", "empty", "not-utf8", "list", "alerts-not-list", "nan"])
def test_malformed_bodies_get_400(lite_store, lite_client, content):
    before = counts(lite_store)
    r = lite_client.post("/alerts/alertmanager", content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error and "\n" not in error
    assert counts(lite_store) == before


def test_bad_severity_in_a_later_alert_writes_nothing(store, client):
    client.post("/alerts/generic", json={"key": "other", "status": "firing", "title": "Something else"})
    before = counts(store)
    body = copy.deepcopy(ALERTMANAGER)
    body["alerts"].append(copy.deepcopy(body["alerts"][0]))
    body["alerts"][2]["labels"]["severity"] = "apocalyptic"
    r = client.post("/alerts/alertmanager", json=body)
    assert r.status_code == 400
    assert r.json()["error"].startswith("alert 3: unknown severity 'apocalyptic'; accepted:")
    assert counts(store) == before


def test_overlong_label_text_is_cut_not_refused(lite_store, lite_client):
    r = lite_client.post("/alerts/generic",
                         json={"key": "k", "status": "firing", "title": "t", "service": "s" * 500})
    assert r.status_code == 200  # long text is cut to one line, not refused
    assert len(incident(lite_store, r.json()["incident"]).service) == 200


def test_unknown_path_and_wrong_methods(lite_store, lite_server, lite_client):
    assert lite_client.post("/alerts/nagios", json={}).status_code == 404
    assert lite_client.get("/").status_code == 404
    for method in ("GET", "PUT", "DELETE", "PATCH", "FOO"):
        r = lite_client.request(method, "/alerts/alertmanager")
        assert r.status_code == 405, method
        assert r.headers["allow"] == "POST"
    assert lite_client.head("/alerts/grafana").status_code == 405
    assert counts(lite_store) == (0, 0)


def test_keep_alive_connection_survives_answers(lite_store, lite_client):
    # One client, one pooled connection: refusals close it, and the next request still works.
    assert lite_client.post("/alerts/generic", content=b"nope").status_code == 400
    assert lite_client.post("/alerts/generic", json={"key": "a", "status": "resolved"}).status_code == 200
    assert lite_client.post("/alerts/generic", json={"key": "b", "status": "resolved"}).status_code == 200


# -- lifecycle ------------------------------------------------------------------------
def test_stop_is_prompt_with_an_idle_keep_alive_client(lite_store):
    running = AlertServer(AlertIntake(lite_store), port=0, token=TOKEN).start()
    client = httpx.Client(base_url=running.url, headers=AUTH, timeout=5)
    try:
        assert client.post("/alerts/generic", json={"key": "a", "status": "resolved"}).status_code == 200
        started = time.monotonic()
        running.stop()
        assert time.monotonic() - started < 3
        running.stop()  # idempotent
        with pytest.raises(httpx.TransportError):
            client.post("/alerts/generic", json={"key": "a", "status": "resolved"})
    finally:
        client.close()


def test_serve_runs_until_its_stop_event(lite_store):
    stop, started = threading.Event(), []
    thread = threading.Thread(target=serve, args=(AlertIntake(lite_store),),
                              kwargs={"port": 0, "token": TOKEN, "stop_event": stop, "on_start": started.append})
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        r = httpx.post(f"{started[0].url}/alerts/generic", headers=AUTH,
                       json={"key": "k", "status": "firing", "title": "Served"}, timeout=5)
        assert r.status_code == 200 and r.json()["created"] is True
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_port_in_use_is_one_sentence(lite_store, lite_server):
    with pytest.raises(ReceiverConfigError, match=f"cannot listen on 127.0.0.1:{lite_server.port}"):
        AlertServer(AlertIntake(lite_store), port=lite_server.port, token=TOKEN).start()
