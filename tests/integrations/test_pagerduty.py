"""PagerDuty Events API v2 notifier against the contract fake (a real HTTP server on loopback)."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.http import parse_retry_after
from integrations.pagerduty import PagerDutyNotifier, severity_for
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake

INCIDENT = "INC-2024-0118-001"
ENV = "PAGERDUTY_ROUTING_KEY"


def message(event: str = "declared", *, id: int = 1, **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout", "url": "https://ir.example.com/incidents/INC-2024-0118-001"}
    body.update(payload)
    return OutboxMessage(id=id, incident_id=body.get("id"), integration="pagerduty", event=event,
                         idempotency_key=str(body.get("id")), payload=body, attempts=0)


@pytest.fixture
def fake():
    with PagerDutyFake() as server:
        yield server


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


@pytest.fixture
def notifier(fake, monkeypatch) -> PagerDutyNotifier:
    monkeypatch.setenv(ENV, ROUTING_KEY)
    return PagerDutyNotifier(url=fake.url)


def deliver(notifier: PagerDutyNotifier, client: httpx.Client, msg: OutboxMessage) -> Delivery:
    delivery = notifier.deliver(msg, client)
    assert ROUTING_KEY not in delivery.detail
    assert delivery.detail and "\n" not in delivery.detail
    return delivery


# -- the lifecycle --------------------------------------------------------------------------------

def test_notifier_satisfies_the_protocol(notifier):
    instance: Notifier = notifier
    assert instance.integration == "pagerduty"


def test_trigger_update_acknowledge_resolve_share_one_dedup_key(fake, notifier, client):
    assert deliver(notifier, client, message("declared")).outcome == "sent"
    assert fake.alerts == {INCIDENT: "triggered"}
    assert deliver(notifier, client, message("status_update", status="identified")).outcome == "sent"
    assert fake.alerts == {INCIDENT: "triggered"}  # re-trigger updated the open alert
    assert deliver(notifier, client, message("acknowledged")).outcome == "sent"
    assert fake.alerts == {INCIDENT: "acknowledged"}
    assert deliver(notifier, client, message("resolved")).outcome == "sent"
    assert fake.alerts == {INCIDENT: "resolved"}

    assert fake.actions(INCIDENT) == ["trigger", "trigger", "acknowledge", "resolve"]
    first, update, ack, resolve = fake.requests
    assert first["routing_key"] == ROUTING_KEY
    assert first["payload"] == {
        "summary": "[SEV-1] INC-2024-0118-001: Checkout API returns 502 (investigating)",
        "source": "incident-response", "severity": "critical",
        "component": "checkout", "group": "production", "class": "outage",
        "custom_details": {"event": "declared", "title": "Checkout API returns 502", "severity": "SEV-1",
                           "status": "investigating", "type": "outage", "environment": "production",
                           "service": "checkout", "summary": "Error rate 35% on checkout",
                           "url": "https://ir.example.com/incidents/INC-2024-0118-001"},
    }
    assert first["links"] == [{"href": "https://ir.example.com/incidents/INC-2024-0118-001",
                               "text": "Incident INC-2024-0118-001"}]
    assert "(identified)" in update["payload"]["summary"]
    assert fake.alert_payloads[INCIDENT]["custom_details"]["status"] == "identified"
    assert ack == {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": INCIDENT}
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": INCIDENT}
    assert all(received.headers["content-type"] == "application/json" for received in fake.received)


def test_resending_after_a_lost_answer_does_not_open_a_second_alert(fake, notifier, client):
    fake.delay = 0.3  # PagerDuty takes the event, the answer never arrives in time
    with httpx.Client(timeout=0.1) as impatient:
        lost = notifier.deliver(message("declared"), impatient)
    assert lost.outcome == "retry" and "in time" in lost.detail
    fake.delay = 0.0
    deadline = time.monotonic() + 2
    while not fake.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert deliver(notifier, client, message("declared")).outcome == "sent"
    assert fake.actions(INCIDENT) == ["trigger", "trigger"]
    assert fake.alerts == {INCIDENT: "triggered"}


@pytest.mark.parametrize(("sev", "expected"), [("SEV-1", "critical"), ("SEV-2", "error"),
                                               ("SEV-3", "warning"), ("SEV-4", "info")])
def test_severity_is_mapped(fake, notifier, client, sev, expected):
    assert deliver(notifier, client, message("severity_changed", severity=sev)).outcome == "sent"
    assert fake.requests[-1]["payload"]["severity"] == expected


def test_severity_aliases():
    assert [severity_for(v) for v in ("sev1", "p2", "3", "low", "Critical", None, "bogus")] == [
        "critical", "error", "warning", "info", "critical", "error", "error"]


def test_long_summary_is_truncated_to_1024_characters(fake, notifier, client):
    delivery = deliver(notifier, client, message("escalated", title="x" * 5000))
    assert delivery.outcome == "sent"
    summary = fake.requests[-1]["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("\u2026")


# -- failures -------------------------------------------------------------------------------------

def test_429_with_retry_after_is_retried_after_that_long(fake, notifier, client):
    fake.fail_next(1, status=429, retry_after=7)
    delivery = deliver(notifier, client, message())
    assert (delivery.outcome, delivery.retry_after) == ("retry", 7.0)
    assert "429" in delivery.detail
    assert fake.requests == [] and INCIDENT not in fake.alerts
    assert deliver(notifier, client, message()).outcome == "sent"


def test_500_is_retried(fake, notifier, client):
    fake.fail_next(2, status=500)
    for _ in range(2):
        delivery = deliver(notifier, client, message())
        assert (delivery.outcome, delivery.retry_after) == ("retry", None)
        assert "500" in delivery.detail
    assert deliver(notifier, client, message()).outcome == "sent"


def test_400_is_rejected_without_the_routing_key_in_the_detail(fake, notifier, client):
    fake.fail_next(1, status=400, body={"status": "invalid event", "message": "Event object is invalid",
                                        "errors": [f"routing_key {ROUTING_KEY} is not allowed here",
                                                   "second\nline"]})
    delivery = deliver(notifier, client, message())
    assert delivery.outcome == "rejected"
    assert "[redacted]" in delivery.detail and "second line" in delivery.detail


def test_unknown_routing_key_is_rejected(client, monkeypatch):
    monkeypatch.setenv(ENV, "0THERKEY012345678901234567890123")
    with PagerDutyFake() as fake:
        delivery = PagerDutyNotifier(url=fake.url).deliver(message(), client)
    assert delivery.outcome == "rejected"
    assert "Invalid routing key" in delivery.detail and "0THERKEY" not in delivery.detail


def test_missing_routing_key_variable_is_retried_naming_it(fake, client, monkeypatch):
    monkeypatch.delenv("PD_KEY_FOR_TEST", raising=False)
    delivery = PagerDutyNotifier(url=fake.url, routing_key_env="PD_KEY_FOR_TEST").deliver(message(), client)
    assert delivery.outcome == "retry" and "PD_KEY_FOR_TEST" in delivery.detail
    assert fake.received == []


def test_vendor_down_then_up(fake, notifier, client):
    assert deliver(notifier, client, message()).outcome == "sent"  # leaves a kept-alive connection
    fake.down()
    for _ in range(2):  # the kept-alive connection is dropped, then new ones are refused
        delivery = deliver(notifier, client, message("acknowledged"))
        assert delivery.outcome == "retry" and "Could not reach PagerDuty" in delivery.detail
    fake.up()
    assert deliver(notifier, client, message("acknowledged")).outcome == "sent"
    assert fake.alerts == {INCIDENT: "acknowledged"}


def test_vendor_answering_503(fake, notifier, client):
    fake.down(refuse=False)
    assert deliver(notifier, client, message()).outcome == "retry"
    fake.up()
    assert deliver(notifier, client, message()).outcome == "sent"


def test_garbage_answer_is_retried(fake, notifier, client):
    fake.garbage = True
    delivery = deliver(notifier, client, message())
    assert delivery.outcome == "retry"
    assert fake.requests == []


def test_unknown_event_and_missing_incident_id_are_rejected(fake, notifier, client):
    assert deliver(notifier, client, message("commented")).outcome == "rejected"
    orphan = OutboxMessage(id=9, incident_id=None, integration="pagerduty", event="declared",
                           idempotency_key="", payload={"title": "x", "severity": "SEV-2"}, attempts=0)
    assert deliver(notifier, client, orphan).outcome == "rejected"
    assert fake.received == []


def test_retry_after_parsing():
    now = datetime(2024, 1, 18, 14, 30, tzinfo=timezone.utc)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# -- the fake keeps PagerDuty's contract ----------------------------------------------------------

def post(fake: PagerDutyFake, body, *, content_type: str = "application/json", path: str = "/v2/enqueue",
         method: str = "POST") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.request(method, fake.url + path, content=content, headers={"Content-Type": content_type}, timeout=2)


def trigger(**changes) -> dict:
    """A valid trigger with `changes` applied (payload_x changes payload.x; None removes the field)."""
    event = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "k1",
             "payload": {"summary": "disk full", "source": "db01", "severity": "critical"}}
    for key, value in changes.items():
        target, name = (event["payload"], key[len("payload_"):]) if key.startswith("payload_") else (event, key)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return event


@pytest.mark.parametrize(("body", "error"), [
    (trigger(routing_key=None), "'routing_key' is missing or blank"),
    (trigger(routing_key="short"), "Length of 'routing_key' is incorrect (should be 32 characters)"),
    (trigger(routing_key="R0UTINGKEY-123456789012345678901"), "'routing_key' cannot contain non-alphanumeric"),
    (trigger(routing_key="0THERKEY012345678901234567890123"), "Invalid routing key"),
    (trigger(event_action=None), "'event_action' is missing or blank"),
    (trigger(event_action="page"), "'event_action' is invalid"),
    (trigger(event_action="acknowledge", dedup_key=None), "'dedup_key' is missing or blank"),
    (trigger(event_action="resolve", dedup_key=None), "'dedup_key' is missing or blank"),
    (trigger(dedup_key="k" * 256), "'dedup_key' is too long"),
    (trigger(payload=None), "'payload' is missing"),
    (trigger(payload_summary=None), "'payload.summary' is missing or blank"),
    (trigger(payload_summary="s" * 1025), "'payload.summary' is too long"),
    (trigger(payload_source=None), "'payload.source' is missing or blank"),
    (trigger(payload_severity=None), "'payload.severity' is missing or blank"),
    (trigger(payload_severity="SEV-1"), "'payload.severity' is invalid"),
    (trigger(payload_custom_details="text"), "'payload.custom_details' must be an object"),
    (trigger(links=[{"text": "no href"}]), "'links' entries need a 'href'"),
])
def test_fake_rejects_invalid_events(fake, body, error):
    response = post(fake, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert any(item.startswith(error) for item in answer["errors"]), answer["errors"]
    assert fake.requests == [] and fake.alerts == {}


def test_fake_rejects_wrong_transport(fake):
    assert post(fake, b"{not json").json()["errors"] == ["JSON parse error"]
    assert post(fake, b"[1, 2]").status_code == 400
    assert post(fake, trigger(), content_type="text/plain").status_code == 400
    assert post(fake, trigger(), path="/v1/enqueue").status_code == 404
    assert httpx.get(fake.url + "/v2/enqueue", timeout=2).status_code == 405
    assert fake.requests == []
    assert [r.status for r in fake.received] == [400, 400, 400, 404, 405]


def test_fake_accepts_a_minimal_valid_trigger_and_generates_a_dedup_key(fake):
    response = post(fake, trigger(dedup_key=None), content_type="application/json; charset=utf-8")
    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "success" and answer["message"] == "Event processed"
    assert fake.alerts == {answer["dedup_key"]: "triggered"}


def test_fake_keeps_pagerdutys_dedup_semantics(fake):
    other = "0THERKEY012345678901234567890123"
    fake.routing_keys.add(other)
    ack_unknown = post(fake, {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "nope"})
    assert ack_unknown.status_code == 202 and "nope" not in fake.alerts  # accepted, dropped
    assert post(fake, trigger()).status_code == 202
    assert post(fake, {"routing_key": other, "event_action": "resolve", "dedup_key": "k1"}).status_code == 202
    assert fake.alerts["k1"] == "triggered"  # another integration's resolve does not touch it
    assert post(fake, {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "k1"}).status_code == 202
    assert post(fake, {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "k1"}).status_code == 202
    assert fake.alerts["k1"] == "resolved"  # acknowledging a resolved alert is dropped
    assert post(fake, trigger()).status_code == 202
    assert fake.alerts["k1"] == "triggered"  # a trigger after resolve opens a new alert
