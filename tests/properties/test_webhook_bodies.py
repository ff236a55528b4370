"""Property: any webhook body gets a documented answer, and a refusal writes nothing.

AlertReceiver.receive(source, body) for the alertmanager, grafana and generic routes, with
random bytes, random JSON, and the documented example payloads (Alertmanager v4, Grafana,
generic) with keys dropped, values retyped or pushed out of range, labels of any text:

  * it returns (status, payload), never raises; status is 200, 400, 409 or 503;
  * the payload is plain JSON (no NaN); an error is {"error": one printable line};
  * any answer but 200 leaves every table as it was, and so does {"incident": null}.

A handful go through the real HTTP server (AlertServer on port 0) too: no 500, ever.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from automation.alert_intake import AlertIntake
from integrations.alert_receiver import AlertReceiver, AlertServer
from tests.integrations.test_alert_payloads import ALERTMANAGER, GRAFANA
from tests.properties.common import note, property_settings
from tests.properties.digest import table_digest
from tests.properties.toml_text import mutated

TOKEN = "property-token-0123456789"
SOURCES = ("alertmanager", "grafana", "generic")
GENERIC = {"key": "db-pool-exhausted", "status": "firing", "title": "Pool at 100%", "severity": "critical",
           "type": "outage", "environment": "production", "service": "checkout", "description": "free text"}
EXAMPLES = {"alertmanager": ALERTMANAGER, "grafana": GRAFANA, "generic": GENERIC}
ANSWERS = {200, 400, 409, 503}  # receive()'s documented statuses (401/404/405/411/413 are HTTP's)

LABEL_WORDS = ["critical", "high", "medium", "low", "warning", "warn", "error", "info", "p1", "SEV-2", "4", "urgent",
               "outage", "security", "performance", "data", "integration", "meteor", "production", "prod",
               "staging", "dev", "moon", "firing", "resolved", "FIRING", "pending", "", " ", "\x1b[2J", "a\nb",
               "\u2028", "\ud800", "caf\udce9", "\udfff\ud800", "x" * 5000, "0001-01-01T00:00:00Z", "2024-01-18T14:20:45.828123456Z",
               "9999-12-31T23:59:59Z", "2024-13-01T00:00:00Z", "not a time", "-0001-01-01T00:00:00Z"]
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=30), st.sampled_from(LABEL_WORDS))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
JSON_KEYS = st.sampled_from(["status", "alerts", "labels", "annotations", "severity", "type", "env", "environment",
                             "service", "summary", "alertname", "groupKey", "fingerprint", "startsAt", "key",
                             "title", "version", "commonLabels", "incident_type"]) | st.text(max_size=8)
JSON_EXTREMES = [0, -1, 2**63, -(2**63) - 1, 10**400, 1e308, "", " ", None, True, [], {}, *LABEL_WORDS]


def body_bytes(value) -> bytes:
    # A lone surrogate cannot be UTF-8: it goes out as the bytes Python would not decode.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def labelled(draw, source: str) -> dict:
    """A valid example whose label values are any of the words monitoring might send."""
    body = copy.deepcopy(EXAMPLES[source])
    word = st.sampled_from(LABEL_WORDS) | st.text(max_size=12)
    if draw(st.booleans()):  # half the time only words the policy knows: deeper, into the store
        word = st.sampled_from(["critical", "warning", "p2", "security", "data", "staging", "prod", "checkout",
                                "Disk full on db-1", "2024-01-18T14:00:00Z"])
    if source == "generic":
        for key in ("severity", "type", "environment", "title", "key", "status", "service", "description"):
            if draw(st.booleans()):
                body[key] = draw(word)
        return body
    for alert in body["alerts"]:
        for key in ("severity", "type", "environment", "env", "service", "alertname"):
            if draw(st.booleans()):
                alert["labels"][key] = draw(word)
        if draw(st.booleans()):
            alert["annotations"][draw(st.sampled_from(["summary", "description"]))] = draw(word)
        if draw(st.booleans()):
            alert[draw(st.sampled_from(["fingerprint", "generatorURL"]))] = draw(word)
        if draw(st.booleans()):
            alert["startsAt"] = draw(word)
        if draw(st.booleans()):
            alert["status"] = draw(st.sampled_from(["firing", "resolved"]))
    body["status"] = draw(st.sampled_from(["firing", "resolved"]))
    if draw(st.booleans()):
        body[draw(st.sampled_from(["groupKey", "receiver", "externalURL"]))] = draw(word)
    return body


@st.composite
def requests(draw) -> tuple[str, bytes]:
    source = draw(st.sampled_from(SOURCES))
    shape = draw(st.sampled_from(["bytes", "json", "mutated", "mutated", "mutated", "labelled", "labelled",
                                  "other route", "text"]))
    if shape == "bytes":
        return source, draw(st.binary(max_size=200))
    if shape == "json":
        return source, body_bytes(draw(JSON_VALUES))
    if shape == "mutated":
        return source, body_bytes(draw(mutated(EXAMPLES[source], values=JSON_VALUES, keys=JSON_KEYS,
                                               extremes=JSON_EXTREMES)))
    if shape == "labelled":
        return source, body_bytes(draw(labelled(source)))
    if shape == "other route":
        return source, body_bytes(EXAMPLES[draw(st.sampled_from([s for s in SOURCES if s != source]))])
    text = body_bytes(draw(labelled(source))).decode("utf-8", "surrogatepass")
    cut = draw(st.integers(0, len(text)))
    hostile = draw(st.sampled_from([text[:cut], text.replace('"firing"', "NaN", 1), text + "x", "\ufeff" + text,
                                    "[" * 100_000, '{"status": Infinity}', text.replace("{", "{" * 3, 1)]))
    return source, hostile.encode("utf-8", "surrogatepass")


def fast_folder() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="ir-webhook-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))


@pytest.fixture
def receiver(policy, clock):
    from store.database import open_database
    from store.operations import IncidentStore

    folder = fast_folder()
    db = open_database(f"sqlite:///{folder / 'incidents.db'}")
    yield AlertReceiver(AlertIntake(IncidentStore(db, policy, clock)), token=TOKEN)
    db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def answer_once(receiver: AlertReceiver, source: str, body: bytes) -> None:
    before = table_digest(receiver.intake.store.db)
    status, payload = receiver.receive(source, body)
    note(f"{status}")
    assert status in ANSWERS, (status, payload)
    text = json.dumps(payload, allow_nan=False)  # plain JSON on the wire
    assert isinstance(payload, dict) and json.loads(text) == payload
    if status != 200:
        assert set(payload) == {"error"}, payload
        message = payload["error"]
        assert isinstance(message, str) and message and len(message.splitlines()) == 1, repr(message)
        assert message.isprintable(), repr(message)
        assert table_digest(receiver.intake.store.db) == before, f"{status} {message} but the store changed"
        return
    assert "incident" in payload, payload
    if payload["incident"] is None:
        assert table_digest(receiver.intake.store.db) == before, "no incident, yet the store changed"


@property_settings(400)
@given(request=requests())
@example(request=("alertmanager", body_bytes({**ALERTMANAGER, "groupKey": "\x1b[2J\n" * 40})))
@example(request=("generic", body_bytes({**GENERIC, "title": "caf\ud800"})))
@example(request=("generic", b'{"key": "k", "status": "firing", "title": NaN}'))
@example(request=("grafana", b"[" * 100_000))
# Found: a lone surrogate escape ("\\udcff", valid JSON) in a description, an alertname or a
# group key reached the audit chain's hash and raised UnicodeEncodeError (a 500 over HTTP).
@example(request=("generic", json.dumps({**GENERIC, "description": "\udcff"}).encode()))
@example(request=("alertmanager", json.dumps({**ALERTMANAGER, "commonLabels": {"alertname": "\udcff"}}).encode()))
@example(request=("alertmanager", json.dumps({**ALERTMANAGER, "status": "resolved", "groupKey": "g\udcff",
                                              "alerts": [{"status": "resolved"}]}).encode()))
def test_any_body_gets_a_documented_answer_and_a_refusal_writes_nothing(receiver, request):
    answer_once(receiver, *request)


@pytest.mark.postgres
@property_settings(60)
@given(request=requests())
def test_any_body_on_both_backends(store, request):
    answer_once(AlertReceiver(AlertIntake(store), token=TOKEN), *request)


@pytest.fixture
def server(receiver):
    with AlertServer(receiver.intake, port=0, token=TOKEN) as running:
        yield running


@property_settings(40)
@given(request=requests(), headers=st.sampled_from([
    {"Authorization": f"Bearer {TOKEN}"},
    {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain; charset=latin-1"},
    {"Authorization": "Bearer wrong"},
    {},
]))
@example(request=("generic", json.dumps({**GENERIC, "description": "\udcff"}).encode()),
         headers={"Authorization": f"Bearer {TOKEN}"})
def test_over_http_no_body_gets_a_500(server, request, headers):
    source, body = request
    before = table_digest(server.receiver.intake.store.db)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        answer = client.post(f"/alerts/{source}", content=body, headers=headers)
    note(f"HTTP {answer.status_code}")
    assert answer.status_code in ANSWERS | {401}, (answer.status_code, answer.text)
    payload = answer.json()
    if answer.status_code != 200:
        assert set(payload) == {"error"} and len(payload["error"].splitlines()) == 1, payload
        assert table_digest(server.receiver.intake.store.db) == before
    else:
        assert "Authorization" in headers and headers["Authorization"].endswith(TOKEN)
