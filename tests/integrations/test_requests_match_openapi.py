"""Our notifiers' requests, as the contract fakes recorded them, checked against the vendors'
own published OpenAPI / Swagger descriptions (tests/support/openapi/<vendor>.json, each
naming the repository, path and commit it was copied from): every body, path and query
parameter must validate, and every field we send must be one the vendor describes.

Covered: PagerDuty Events API v2 (trigger, acknowledge, resolve), Twilio Messages (create),
Opsgenie Alert API (create, acknowledge, add note, close), Slack Web API (conversations.create,
chat.postMessage, threaded and broadcast). Not covered, because no vendor-published description
was found in the stored copies: Statuspage, Jira (Atlassian's platform swagger exists only as
third-party mirrors and was not extracted), ServiceNow, Slack incoming webhooks, and Opsgenie's
PUT .../priority (its payload is defined, but the stored paths file has no such operation).
"""
from __future__ import annotations

import json

import httpx
import pytest

from integrations.notifier import Delivery, OutboxMessage
from integrations.opsgenie import OpsgenieNotifier
from integrations.pagerduty import PagerDutyNotifier
from integrations.slack import SlackNotifier
from integrations.sms import TwilioNotifier
from tests.support.openapi_check import SPEC_DIR, VENDORS, check_request, spec
from tests.support.opsgenie_fake import API_KEY as GENIE_KEY, OpsgenieFake
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake
from tests.support.slack_fake import TOKEN as SLACK_TOKEN, SlackFake
from tests.support.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TwilioFake

INCIDENT = "INC-2024-0118-001"
ONCALL = ["+14155550100", "+14155550101"]


def message(event: str, integration: str, *, msg_id: int = 1, reference: str | None = None,
            **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout after deploy 4812", "event": event,
            "url": "https://ir.example.com/incidents/INC-2024-0118-001"}
    body.update(payload)
    return OutboxMessage(id=msg_id, incident_id=INCIDENT, integration=integration, event=event,
                         idempotency_key=f"{INCIDENT}:{msg_id}:{integration}", payload=body, attempts=0,
                         reference=reference, stakeholder_group="Engineering")


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


def conforms(vendor: str, method: str, path: str, body: bytes, headers: dict[str, str],
             query: dict[str, list[str]] | None = None) -> str:
    """The operationId the request went to, after asserting it matches the vendor's description."""
    content_type = headers.get("content-type", "")
    found = spec(vendor).operation_for(method, path)
    assert found is not None, f"{vendor}: {method} {path} is not an operation of the published description"
    problems = check_request(vendor, method, path, body=body, content_type=content_type, query=query)
    assert problems == [], f"{method} {path} {body[:400]!r}"
    undocumented = spec(vendor).undocumented_fields(method, path, body=body, content_type=content_type)
    assert undocumented == [], f"{vendor} {method} {path}: fields the vendor does not describe: {undocumented}"
    return found[0].operation_id


def sent(delivery: Delivery) -> Delivery:
    assert delivery.outcome == "sent", delivery.detail
    return delivery


# -- the vendor files ------------------------------------------------------------------------------

@pytest.mark.parametrize("vendor", VENDORS)
def test_each_vendor_file_names_where_it_was_copied_from(vendor):
    document = json.loads((SPEC_DIR / f"{vendor}.json").read_text())
    sources = document["x-source"] if isinstance(document["x-source"], list) else [document["x-source"]]
    for source in sources:
        assert "/" in source["repository"] and source["path"]
        assert len(source["commit"]) == 40 and int(source["commit"], 16) >= 0
    assert spec(vendor).operations


# -- PagerDuty Events API v2 -----------------------------------------------------------------------

def test_pagerduty_trigger_acknowledge_resolve_match_the_events_v2_schema(client, monkeypatch):
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    with PagerDutyFake() as fake:
        notifier = PagerDutyNotifier(url=fake.url)
        for number, event in enumerate(("declared", "status_update", "severity_changed", "acknowledged", "resolved")):
            sent(notifier.deliver(message(event, "pagerduty", msg_id=number), client))
        received = list(fake.received)
    assert [r.json()["event_action"] for r in received] == ["trigger", "trigger", "trigger", "acknowledge", "resolve"]
    assert {r.status for r in received} == {202}
    for request in received:
        assert conforms("pagerduty", request.method, request.path, request.body, request.headers) == "createV2Event"


# -- Twilio Messages --------------------------------------------------------------------------------

def test_twilio_messages_match_the_api_v2010_create_message_schema(client, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    with TwilioFake() as fake:
        notifier = TwilioNotifier(ACCOUNT_SID, url=fake.url, from_number=FROM_NUMBER, on_call_contacts=ONCALL)
        sent(notifier.deliver(message("declared", "sms"), client))
        sent(notifier.deliver(message("resolved", "sms", msg_id=2, status="resolved"), client))
        received = list(fake.received)
    assert len(received) == 2 * len(ONCALL) and {r.status for r in received} == {201}
    for request in received:
        assert conforms("twilio", request.method, request.path, request.body, request.headers) == "CreateMessage"


# -- Opsgenie Alert API -----------------------------------------------------------------------------

def test_opsgenie_create_acknowledge_note_close_match_the_alert_api_swagger(client, monkeypatch):
    monkeypatch.setenv("OPSGENIE_API_KEY", GENIE_KEY)
    with OpsgenieFake() as fake:
        notifier = OpsgenieNotifier(url=fake.url)
        for number, event in enumerate(("declared", "acknowledged", "status_update", "severity_changed", "resolved")):
            sent(notifier.deliver(message(event, "opsgenie", msg_id=number, severity="SEV-2"
                                          if event == "severity_changed" else "SEV-1"), client))
        received = list(fake.received)
        assert fake.alerts[INCIDENT]["status"] == "closed"
    assert all(200 <= r.status < 300 for r in received)
    checked = []
    for request in received:
        if (request.method, request.path) == ("PUT", f"/v2/alerts/{INCIDENT}/priority"):
            # Described only as a payload definition (UpdateAlertPriorityPayload), with no
            # operation in the stored paths file: nothing to check it against.
            assert spec("opsgenie").operation_for(request.method, request.path) is None
            continue
        checked.append(conforms("opsgenie", request.method, request.path, request.body, request.headers,
                                request.query))
    assert checked == ["createAlert", "acknowledgeAlert", "addNote", "closeAlert"]


# -- Slack Web API ----------------------------------------------------------------------------------

def test_slack_war_room_and_threaded_messages_match_the_web_api_spec(client, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    with SlackFake() as fake:
        notifier = SlackNotifier(mode="web_api", url=fake.url, war_room_creation=True)
        first = sent(notifier.deliver(message("declared", "slack"), client))
        sent(notifier.deliver(message("status_update", "slack", msg_id=2, reference=first.reference,
                                      status="identified", message="Rolled back deploy 4812"), client))
        sent(notifier.deliver(message("resolved", "slack", msg_id=3, reference=first.reference, status="resolved"),
                              client))
        received = list(fake.received)
    assert all(r.status == 200 and json.loads(r.answer)["ok"] for r in received)
    operations = [conforms("slack", r.method, r.path, r.body, r.headers) for r in received]
    assert operations == ["conversations_create", "chat_postMessage", "chat_postMessage", "chat_postMessage"]
    assert json.loads(received[-1].body)["reply_broadcast"] is True


# -- the check is not vacuous -----------------------------------------------------------------------

@pytest.mark.parametrize("vendor, method, path, body, content_type, expected", [
    ("pagerduty", "POST", "/v2/enqueue",
     {"routing_key": ROUTING_KEY, "event_action": "trigger", "payload": {"summary": "s", "source": "x",
                                                                         "severity": "sev1"}},
     "application/json", "payload/severity: 'sev1' is not one of"),
    ("pagerduty", "POST", "/v2/enqueue", {"event_action": "resolve", "dedup_key": "k"}, "application/json",
     "'routing_key' is a required property"),
    ("opsgenie", "POST", "/v2/alerts", {"message": "m", "priority": "high"}, "application/json",
     "priority: 'high' is not one of"),
    ("opsgenie", "POST", "/v2/alerts/INC-1/notes", {"source": "x"}, "application/json",
     "'note' is a required property"),
    ("slack", "POST", "/api/chat.postMessage", {"text": "hi"}, "application/json",
     "'channel' is a required property"),
    ("slack", "POST", "/api/conversations.create", {"name": "inc-1", "is_private": "no"}, "application/json",
     "is_private: 'no' is not of type 'boolean'"),
    ("twilio", "POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", "To=%2B14155550100&Body=hi",
     "application/x-www-form-urlencoded", "one of From, MessagingServiceSid is required"),
    ("twilio", "POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
     json.dumps({"To": "+14155550100", "From": FROM_NUMBER, "Body": "hi"}), "application/json",
     "Content-Type application/json is not one it takes"),
])
def test_the_check_finds_what_the_published_schema_forbids(vendor, method, path, body, content_type, expected):
    raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    problems = check_request(vendor, method, path, body=raw, content_type=content_type)
    assert any(expected in problem for problem in problems), problems


def test_fields_the_vendor_does_not_describe_are_found():
    body = {"routing_key": ROUTING_KEY, "event_action": "trigger", "severity": "critical",
            "payload": {"summary": "s", "source": "x", "severity": "critical", "custom": 1}}
    assert spec("pagerduty").undocumented_fields("POST", "/v2/enqueue", body=json.dumps(body).encode(),
                                                 content_type="application/json") == ["payload.custom", "severity"]
    assert check_request("opsgenie", "GET", "/v2/alerts/x/logs") == [
        "opsgenie: GET /v2/alerts/x/logs is not an operation of the vendor's description"]
