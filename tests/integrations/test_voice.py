"""Voice notifier: phone calls through Twilio's Calls API, against the Twilio contract fake."""
from __future__ import annotations

import base64

import httpx
import pytest

from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.voice import TWIML_MAX, VoiceNotifier, spelled, twiml_for
from tests.support.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TwilioFake, twiml_said, twiml_verbs

INCIDENT = "INC-2024-0118-001"
EXECS = ["+14155550100", "+14155550101"]


def message(event: str = "declared", *, recipients: list[str] | None = EXECS, id: int = 1, **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout", "groups": ["Executive Team"]}
    if recipients is not None:
        body["recipients"] = recipients
    body.update(payload)
    return OutboxMessage(id=id, incident_id=INCIDENT, integration="voice", event=event,
                         idempotency_key=f"{INCIDENT}:{id}:voice", payload=body, attempts=0,
                         stakeholder_group="Executive Team")


@pytest.fixture
def fake():
    with TwilioFake() as server:
        yield server


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


@pytest.fixture
def notifier(fake, monkeypatch) -> VoiceNotifier:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    return VoiceNotifier(ACCOUNT_SID, url=fake.url, from_number=FROM_NUMBER)


def deliver(notifier: VoiceNotifier, client: httpx.Client, msg: OutboxMessage) -> Delivery:
    delivery = notifier.deliver(msg, client)
    assert AUTH_TOKEN not in delivery.detail
    assert delivery.detail and "\n" not in delivery.detail
    for number in (msg.payload or {}).get("recipients") or []:
        if len(number.strip()) > 6:
            assert number.strip() not in delivery.detail  # shown masked
    return delivery


def test_notifier_satisfies_the_protocol(notifier):
    instance: Notifier = notifier
    assert instance.integration == "voice"


# -- the call ---------------------------------------------------------------------------------------

def test_each_recipient_is_called_once_with_the_message_read_out(notifier, client, fake):
    delivery = deliver(notifier, client, message())
    assert delivery == Delivery("sent", f"Called Executive Team (+1\u20260100, +1\u20260101) about {INCIDENT} declared.")
    assert fake.called() == EXECS
    for request in fake.received:
        assert request.method == "POST" and request.path == fake.calls_path()
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        user, _, password = base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")
        assert (user, password) == (ACCOUNT_SID, AUTH_TOKEN)
        assert set(request.form()) == {"To", "From", "Twiml"}
        assert request.form()["From"] == [FROM_NUMBER]
    call = fake.calls[0]
    assert call["verbs"] == ["Say", "Pause", "Say"]
    spoken = call["said"][0]
    assert spoken.startswith("Incident alert. Severity 1. Incident I N C, 2 0 2 4, 0 1 1 8, 0 0 1. "
                             "Checkout API returns 502. Incident declared, status investigating.")
    assert spoken.endswith("Error rate 35% on checkout.")
    assert call["said"][1].startswith("Again: Incident alert. Severity 1.")


def test_a_status_update_is_read_in_the_engineers_words(notifier, client, fake):
    msg = message("status_update", status="identified", message="Rolled back deploy 4812.\nErrors falling",
                  affected="checkout", next_update_due_at="2024-01-18T15:30:00Z")
    assert deliver(notifier, client, msg).outcome == "sent"
    spoken = fake.calls[0]["said"][0]
    assert ("Status update, status identified. Rolled back deploy 4812. Errors falling. Affected: checkout. "
            "Next Update: 2024-01-18 15:30 UTC.") in spoken
    assert "Error rate 35%" not in spoken


def test_spelled_reads_an_id_out():
    assert spelled("INC-2024-0118-001") == "I N C, 2 0 2 4, 0 1 1 8, 0 0 1"
    assert spelled("ab_12") == "a b, 1 2"


@pytest.mark.parametrize("title", [
    "<Play>https://evil.example/prank.mp3</Play>",
    "</Say><Dial>+19005550123</Dial><Say>",
    "Tom & Jerry's \"checkout\" <b>down</b>",
    "]]><Hangup/><![CDATA[",
])
def test_a_title_with_twiml_is_spoken_never_executed(notifier, client, fake, title):
    assert deliver(notifier, client, message(title=title, summary=title)).outcome == "sent"
    call = fake.calls[0]
    assert call["verbs"] == ["Say", "Pause", "Say"]  # no Play, Dial or Hangup of the title's
    assert title in call["said"][0]
    assert title in call["said"][1]


def test_characters_xml_cannot_carry_are_dropped_not_sent(notifier, client, fake):
    assert deliver(notifier, client, message(title="bell\x07 and null\x00 \ufffe end")).outcome == "sent"
    assert "bell and null end" in fake.calls[0]["said"][0]


def test_the_twiml_stays_within_4000_characters(notifier, client, fake):
    msg = message("status_update", message="&<>" * 3000, title="T" * 3000)
    assert len(twiml_for(msg)) <= TWIML_MAX
    assert deliver(notifier, client, msg).outcome == "sent"
    assert "&<>&<>" in fake.calls[0]["said"][0]


# -- who is called ----------------------------------------------------------------------------------

def test_no_member_with_a_phone_is_skipped_and_calls_no_one(notifier, client, fake):
    delivery = deliver(notifier, client, message(recipients=[]))
    assert delivery == Delivery("skipped", f"Not called: no member of Executive Team has a phone number "
                                           f"({INCIDENT} declared).")
    assert fake.received == []


def test_no_recipients_routed_is_skipped_and_calls_no_one(notifier, client, fake):
    delivery = deliver(notifier, client, message(recipients=None))
    assert delivery.outcome == "skipped" and "Executive Team" in delivery.detail
    assert fake.received == []


def test_a_number_listed_twice_is_called_once(notifier, client, fake):
    assert deliver(notifier, client, message(recipients=[EXECS[0], f" {EXECS[0]} ", ""])).outcome == "sent"
    assert fake.called() == [EXECS[0]]


# -- partial failure, as for SMS --------------------------------------------------------------------

def test_an_invalid_number_is_rejected_after_calling_the_others(notifier, client, fake):
    delivery = deliver(notifier, client, message(recipients=[EXECS[0], "+1415"]))
    assert delivery.outcome == "rejected"
    assert delivery.detail.startswith(f"Called 1 of 2 of Executive Team about {INCIDENT} declared; Twilio refused")
    assert "+1415: Twilio rejected the call (400): 21211 Invalid 'To' Phone Number: +1415." in delivery.detail
    assert fake.called() == [EXECS[0]]


def test_temporary_trouble_for_one_retries_the_whole_message(notifier, client, fake):
    fake.fail_next(1, status=503, retry_after=12, to=EXECS[1])
    delivery = deliver(notifier, client, message())
    assert delivery.outcome == "retry" and delivery.retry_after == 12.0
    assert "Called 1 of 2" in delivery.detail and "will call again" in delivery.detail and "503" in delivery.detail
    assert deliver(notifier, client, message()).outcome == "sent"
    assert fake.called() == [EXECS[0], EXECS[0], EXECS[1]]  # the first is called again: no per-recipient state


def test_rate_limiting_is_retried_with_retry_after(notifier, client, fake):
    fake.fail_next(2, status=429, retry_after=30)
    delivery = deliver(notifier, client, message())
    assert delivery.outcome == "retry" and delivery.retry_after == 30.0 and "429" in delivery.detail


def test_wrong_credentials_are_rejected_naming_what_to_check(fake, client, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token-0123456789abcdef0123")
    delivery = VoiceNotifier(ACCOUNT_SID, url=fake.url, from_number=FROM_NUMBER).deliver(message(), client)
    assert delivery.outcome == "rejected"
    assert "credentials (401)" in delivery.detail and "20003" in delivery.detail
    assert "integrations.voice.account_sid and TWILIO_AUTH_TOKEN" in delivery.detail
    assert "wrong-token" not in delivery.detail
    assert fake.calls == []


def test_a_from_number_not_of_the_account_is_rejected(fake, client, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    delivery = VoiceNotifier(ACCOUNT_SID, url=fake.url, from_number="+15005550009").deliver(message(), client)
    assert delivery.outcome == "rejected" and "21210" in delivery.detail
    assert fake.calls == []


def test_no_token_is_a_retry_naming_the_variable(fake, client, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN_FILE", raising=False)
    delivery = VoiceNotifier(ACCOUNT_SID, url=fake.url, from_number=FROM_NUMBER).deliver(message(), client)
    assert delivery == Delivery("retry", "Twilio auth token missing: set the environment variable TWILIO_AUTH_TOKEN.")
    assert fake.received == []


def test_twilio_unreachable_is_a_retry(notifier, client, fake):
    fake.down()
    delivery = deliver(notifier, client, message())
    assert delivery.outcome == "retry" and "Could not reach Twilio" in delivery.detail
    fake.up()
    assert deliver(notifier, client, message()).outcome == "sent"


def test_a_2xx_without_a_call_sid_is_retried(notifier, client, fake):
    fake.fail_next(2, status=200, body={"status": "ok"})
    assert deliver(notifier, client, message()).outcome == "retry"


# -- the fake's Calls contract ----------------------------------------------------------------------

def _create(client: httpx.Client, fake: TwilioFake, auth=(ACCOUNT_SID, AUTH_TOKEN), **form) -> httpx.Response:
    return client.post(fake.url + fake.calls_path(), data=form, auth=auth)


@pytest.mark.parametrize("form,code", [
    ({"From": FROM_NUMBER, "Twiml": "<Response/>"}, 21201),
    ({"To": EXECS[0], "Twiml": "<Response/>"}, 21213),
    ({"To": EXECS[0], "From": FROM_NUMBER}, 21205),
    ({"To": EXECS[0], "From": FROM_NUMBER, "Url": "not a url"}, 21205),
    ({"To": "4155550100", "From": FROM_NUMBER, "Twiml": "<Response/>"}, 21211),
    ({"To": EXECS[0], "From": "+15005550009", "Twiml": "<Response/>"}, 21210),
    ({"To": EXECS[0], "From": FROM_NUMBER, "Twiml": "<Response><Say>" + "x" * 4000 + "</Say></Response>"}, 32018),
    ({"To": EXECS[0], "From": FROM_NUMBER, "Twiml": "<Response><Say>a < b</Say></Response>"}, 12100),
])
def test_the_fake_refuses_what_twilio_refuses(fake, client, form, code):
    response = _create(client, fake, **form)
    assert response.status_code == 400 and response.json()["code"] == code
    assert fake.calls == []


def test_the_fake_refuses_bad_auth_and_json(fake, client):
    form = {"To": EXECS[0], "From": FROM_NUMBER, "Twiml": "<Response><Say>hi</Say></Response>"}
    assert _create(client, fake, auth=(ACCOUNT_SID, "nope"), **form).status_code == 401
    assert client.post(fake.url + fake.calls_path(), json=form, auth=(ACCOUNT_SID, AUTH_TOKEN)).json()["code"] == 21201
    response = _create(client, fake, **form)
    assert response.status_code == 201 and response.json()["sid"].startswith("CA")
    assert response.json()["status"] == "queued"
    assert twiml_said(form["Twiml"]) == ["hi"] and twiml_verbs(form["Twiml"]) == ["Say"]


def test_built_from_the_configuration(fake, client, monkeypatch):
    from automation.notifiers import notifiers_from_config
    from playbooks.config import parse_configuration

    configuration = parse_configuration({"integrations": {"voice": {
        "account_sid": ACCOUNT_SID, "url": fake.url, "auth_token_env": "IR_TWILIO_TOKEN",
        "from_number": FROM_NUMBER, "timeout": 5.0}}})
    notifier = notifiers_from_config(configuration)["voice"]
    assert isinstance(notifier, VoiceNotifier) and notifier.timeout == 5.0
    monkeypatch.setenv("IR_TWILIO_TOKEN", AUTH_TOKEN)
    assert notifier.deliver(message(), client).outcome == "sent"
