"""Email (a real aiosmtpd server on loopback), SMS (the Twilio contract fake) and the signed
custom webhook (a receiving server in this file that checks the signature itself)."""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from integrations.email import EmailNotifier, message_id_for, subject_for
from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.sms import TwilioNotifier, sms_body
from integrations.webhook import WebhookNotifier, verify_signature
from tests.support.postgres import free_port
from tests.support.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TwilioFake

INCIDENT = "INC-2024-0118-001"
SMTP_USER, SMTP_PASSWORD = "ir-mailer", "s3cret-smtp-pa55word"
WEBHOOK_SECRET = "whsec-0123456789abcdef-signing"
EXECS = ["cto@example.com", "vp-eng@example.com"]
SUPPORT = ["support-leads@example.com"]
ONCALL = ["+14155550100", "+447700900123"]
SECRETS = (SMTP_PASSWORD, AUTH_TOKEN, WEBHOOK_SECRET)

# The plain-text loopback server takes AUTH without TLS on purpose (the STARTTLS tests require it).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def message(event: str = "declared", *, integration: str = "email", group: str | None = "Executive Team",
            seq: int = 1, **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout", "url": "https://ir.example.com/incidents/INC-2024-0118-001"}
    body.update(payload)
    return OutboxMessage(id=seq, incident_id=INCIDENT, integration=integration, event=event,
                         idempotency_key=f"{INCIDENT}:{seq}:{integration}:{group or '-'}", payload=body,
                         attempts=0, stakeholder_group=group)


def clean(delivery: Delivery) -> Delivery:
    """Every detail is one line without a secret."""
    assert delivery.detail and "\n" not in delivery.detail
    for secret in SECRETS:
        assert secret not in delivery.detail
    return delivery


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


# == email over a real SMTP server ================================================================

class Mailbox:
    """aiosmtpd handler: keeps what it accepted; can refuse recipients or the message."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.sessions: list[dict[str, Any]] = []
        self.refuse: dict[str, str] = {}     # address -> SMTP answer to its RCPT
        self.data_answer: str | None = None  # an SMTP answer to DATA instead of accepting
        self.mechanisms: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_answer:
            return self.data_answer
        self.envelopes.append(envelope)
        self.sessions.append({"tls": session.ssl is not None, "authenticated": session.authenticated})
        return "250 Message accepted for delivery"

    def authenticator(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
              and auth_data.password == SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)

    def mails(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.envelopes]


class SMTPServer:
    def __init__(self, *, auth: bool = True, tls_context: ssl.SSLContext | None = None) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        kwargs: dict[str, Any] = {"auth_require_tls": tls_context is not None}
        if auth:
            kwargs.update(authenticator=self.mailbox.authenticator, auth_required=True)
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="mx.test", ready_timeout=5, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture
def smtp_env(monkeypatch):
    monkeypatch.setenv("SMTP_USERNAME", SMTP_USER)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)


def mailer(port: int, **options) -> EmailNotifier:
    settings: dict[str, Any] = {"sender": "incidents@example.com", "starttls": False, "timeout": 2,
                                "recipients": {"Executive Team": EXECS, "Customer Support": SUPPORT,
                                               "External Customers": ["status@example.com"]}}
    settings.update(options)
    return EmailNotifier("127.0.0.1", port, **settings)


def test_email_notifier_satisfies_the_protocol():
    instance: Notifier = mailer(25)
    assert instance.integration == "email"


def test_email_reaches_the_group_with_subject_and_stable_message_id(smtp_server, smtp_env):
    notifier = mailer(smtp_server.port)
    delivery = clean(notifier.deliver(message(), None))
    assert delivery.outcome == "sent" and "Executive Team" in delivery.detail

    (envelope,), (mail,) = smtp_server.mailbox.envelopes, smtp_server.mailbox.mails()
    assert envelope.mail_from == "incidents@example.com"
    assert envelope.rcpt_tos == EXECS
    assert smtp_server.mailbox.mechanisms == ["PLAIN"]
    assert smtp_server.mailbox.sessions == [{"tls": False, "authenticated": True}]
    assert mail["Subject"] == "[SEV-1] INC-2024-0118-001 Checkout API returns 502 \u2014 declared"
    assert mail["From"] == "incidents@example.com"
    assert [a.addr_spec for a in mail["To"].addresses] == EXECS
    key = f"{INCIDENT}:1:email:Executive Team"
    assert mail["Message-ID"] == message_id_for(key, "incidents@example.com")
    assert mail["Message-ID"].startswith("<ir.") and mail["Message-ID"].endswith("@example.com>")
    assert mail["Auto-Submitted"] == "auto-generated" and mail["X-Incident-ID"] == INCIDENT
    text = mail.get_content()
    assert "Severity: SEV-1" in text and "Error rate 35% on checkout" in text
    assert "Details: https://ir.example.com/incidents/INC-2024-0118-001" in text
    assert SMTP_PASSWORD not in envelope.original_content.decode()

    # A resend after a crash between send and mark-sent carries the same Message-ID; the next
    # message of the incident has its own, and both point at the same thread.
    assert notifier.deliver(message(), None).outcome == "sent"
    assert notifier.deliver(message("status_update", seq=2, status="identified"), None).outcome == "sent"
    first, resend, update = smtp_server.mailbox.mails()
    assert resend["Message-ID"] == first["Message-ID"] != update["Message-ID"]
    assert update["References"] == first["References"] == update["In-Reply-To"]
    assert update["Subject"].endswith("\u2014 status update")


def test_recipients_follow_the_stakeholder_group(smtp_server, smtp_env):
    notifier = mailer(smtp_server.port)
    assert notifier.deliver(message(group="customer support"), None).outcome == "sent"
    assert smtp_server.mailbox.envelopes[-1].rcpt_tos == SUPPORT
    delivery = clean(notifier.deliver(message(group="Legal/Compliance"), None))
    assert delivery.outcome == "skipped" and "no recipients for Legal/Compliance" in delivery.detail
    assert len(smtp_server.mailbox.envelopes) == 1


def test_executive_and_customer_switches(smtp_server, smtp_env):
    quiet = mailer(smtp_server.port, executive_notifications=False)
    delivery = clean(quiet.deliver(message(group="Executive Team"), None))
    assert delivery.outcome == "skipped" and "Executive email notifications are off" in delivery.detail
    delivery = clean(quiet.deliver(message(group="External Customers"), None))  # customer_updates defaults off
    assert delivery.outcome == "skipped" and "Customer email updates are off" in delivery.detail
    assert smtp_server.mailbox.envelopes == []
    assert mailer(smtp_server.port, customer_updates=True).deliver(message(group="External Customers"), None).outcome == "sent"
    assert smtp_server.mailbox.envelopes[-1].rcpt_tos == ["status@example.com"]


def test_wrong_password_is_rejected_without_the_password(smtp_server, monkeypatch):
    monkeypatch.setenv("SMTP_USERNAME", SMTP_USER)
    monkeypatch.setenv("SMTP_PASSWORD", "not-the-password")
    delivery = clean(mailer(smtp_server.port).deliver(message(), None))
    assert delivery.outcome == "rejected" and "refused the credentials" in delivery.detail
    assert "not-the-password" not in delivery.detail and "SMTP_PASSWORD" in delivery.detail
    assert smtp_server.mailbox.envelopes == []


def test_missing_credentials(smtp_server, monkeypatch):
    monkeypatch.delenv("SMTP_USERNAME", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    delivery = clean(mailer(smtp_server.port).deliver(message(), None))  # the server requires AUTH: 530
    assert delivery.outcome == "rejected" and "530" in delivery.detail and "SMTP_USERNAME" in delivery.detail
    monkeypatch.setenv("SMTP_USERNAME", SMTP_USER)
    delivery = clean(mailer(smtp_server.port).deliver(message(), None))
    assert delivery.outcome == "retry" and "SMTP_PASSWORD" in delivery.detail
    assert smtp_server.mailbox.envelopes == []


def test_server_down_is_retried_then_delivered(smtp_env):
    port = free_port()
    delivery = clean(mailer(port).deliver(message(), None))
    assert delivery.outcome == "retry" and "Could not reach the SMTP server" in delivery.detail
    server = SMTPServer()
    try:
        assert mailer(server.port).deliver(message(), None).outcome == "sent"
    finally:
        server.stop()


@pytest.mark.parametrize(("refuse", "outcome", "words"), [
    ({a: "550 5.1.1 No such user" for a in EXECS}, "rejected", "refused every recipient"),
    ({a: "450 4.2.1 Mailbox busy" for a in EXECS}, "retry", "refused every recipient"),
    ({EXECS[1]: "550 5.1.1 No such user"}, "rejected", "Emailed 1 of 2 recipients"),
    ({EXECS[1]: "451 4.3.0 Try later"}, "retry", "Emailed 1 of 2 recipients"),
])
def test_refused_recipients(smtp_server, smtp_env, refuse, outcome, words):
    smtp_server.mailbox.refuse = refuse
    delivery = clean(mailer(smtp_server.port).deliver(message(), None))
    assert delivery.outcome == outcome and words in delivery.detail


@pytest.mark.parametrize(("answer", "outcome"), [("451 4.3.0 Temporary failure", "retry"),
                                                 ("554 5.6.0 Message rejected", "rejected")])
def test_refused_message(smtp_server, smtp_env, answer, outcome):
    smtp_server.mailbox.data_answer = answer
    delivery = clean(mailer(smtp_server.port).deliver(message(), None))
    assert delivery.outcome == outcome and answer[:3] in delivery.detail


def test_starttls_required_but_not_offered_is_not_sent_in_the_clear(smtp_server, smtp_env):
    delivery = clean(mailer(smtp_server.port, starttls=True).deliver(message(), None))
    assert delivery.outcome == "retry" and "STARTTLS" in delivery.detail
    assert smtp_server.mailbox.mechanisms == [] and smtp_server.mailbox.envelopes == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SMTPServer(tls_context=context)
    yield server
    server.stop()


def test_starttls_with_a_trusted_certificate(tls_server, smtp_env, certificate):
    notifier = mailer(tls_server.port, starttls=True, ca_file=str(certificate[0]))
    assert clean(notifier.deliver(message(), None)).outcome == "sent"
    assert tls_server.mailbox.sessions == [{"tls": True, "authenticated": True}]
    assert tls_server.mailbox.envelopes[0].rcpt_tos == EXECS


def test_starttls_with_an_untrusted_certificate_is_retried(tls_server, smtp_env):
    delivery = clean(mailer(tls_server.port, starttls=True).deliver(message(), None))
    assert delivery.outcome == "retry" and "TLS" in delivery.detail
    assert tls_server.mailbox.mechanisms == [] and tls_server.mailbox.envelopes == []


def test_subject_is_one_line():
    odd = message(title="Disk\nfull\r\n  on db01", severity="SEV-2")
    assert subject_for(odd) == "[SEV-2] INC-2024-0118-001 Disk full on db01 \u2014 declared"


# == SMS through the Twilio contract fake =========================================================

@pytest.fixture
def twilio():
    with TwilioFake() as fake:
        yield fake


@pytest.fixture
def texter(twilio, monkeypatch) -> TwilioNotifier:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    return TwilioNotifier(ACCOUNT_SID, url=twilio.url, from_number=FROM_NUMBER, on_call_contacts=ONCALL)


def sms(**payload) -> OutboxMessage:
    return message(integration="sms", group="Executive Team", **payload)


def test_sms_notifier_satisfies_the_protocol(texter):
    instance: Notifier = texter
    assert instance.integration == "sms"


def test_sev1_texts_every_contact_form_encoded(twilio, texter, client):
    delivery = clean(texter.deliver(sms(), client))
    assert delivery.outcome == "sent" and "Texted on-call contacts (+1\u20260100, +4\u20260123)" in delivery.detail
    assert twilio.texted() == ONCALL
    assert {m["body"] for m in twilio.messages} == {sms_body(sms())}
    assert twilio.messages[0]["body"].startswith("[SEV-1] INC-2024-0118-001 Checkout API returns 502 \u2014 declared")
    for request in twilio.received:
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.headers["authorization"] == "Basic " + base64.b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        assert set(request.form()) == {"To", "From", "Body"} and request.form()["From"] == [FROM_NUMBER]


def test_sev2_is_not_texted_when_critical_only(twilio, texter, client, monkeypatch):
    delivery = clean(texter.deliver(sms(severity="SEV-2"), client))
    assert delivery.outcome == "skipped" and "sms is for SEV-1 only" in delivery.detail
    assert twilio.received == []
    everything = TwilioNotifier(ACCOUNT_SID, url=twilio.url, from_number=FROM_NUMBER, on_call_contacts=ONCALL,
                                critical_only=False)
    assert everything.deliver(sms(severity="SEV-2"), client).outcome == "sent"
    assert twilio.texted() == ONCALL


def test_bad_number_is_rejected_after_texting_the_others(twilio, client, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    notifier = TwilioNotifier(ACCOUNT_SID, url=twilio.url, from_number=FROM_NUMBER,
                              on_call_contacts=[ONCALL[0], "+1415555"])
    delivery = clean(notifier.deliver(sms(), client))
    assert delivery.outcome == "rejected"
    assert "Texted 1 of 2" in delivery.detail and "21211" in delivery.detail
    assert "+1\u20265555" in delivery.detail and "+1415555" not in delivery.detail  # masked
    assert twilio.texted() == [ONCALL[0]]


def test_temporary_failure_retries_and_the_resend_texts_everybody_again(twilio, texter, client):
    twilio.fail_next(1, status=500, to=ONCALL[1])
    delivery = clean(texter.deliver(sms(), client))
    assert delivery.outcome == "retry" and "Texted 1 of 2" in delivery.detail and "500" in delivery.detail
    assert clean(texter.deliver(sms(), client)).outcome == "sent"
    assert twilio.texted() == [ONCALL[0], ONCALL[0], ONCALL[1]]  # the documented caveat: no per-contact state


def test_429_retry_after_is_honoured(twilio, texter, client):
    twilio.fail_next(2, status=429, retry_after=9)
    delivery = clean(texter.deliver(sms(), client))
    assert (delivery.outcome, delivery.retry_after) == ("retry", 9.0) and "429" in delivery.detail


def test_wrong_token_is_rejected_and_missing_token_retried(twilio, client, monkeypatch):
    notifier = TwilioNotifier(ACCOUNT_SID, url=twilio.url, from_number=FROM_NUMBER, on_call_contacts=ONCALL[:1])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token-0000")
    delivery = clean(notifier.deliver(sms(), client))
    assert delivery.outcome == "rejected" and "20003" in delivery.detail and "wrong-token" not in delivery.detail
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    delivery = clean(notifier.deliver(sms(), client))
    assert delivery.outcome == "retry" and "TWILIO_AUTH_TOKEN" in delivery.detail
    assert twilio.messages == []


def test_twilio_down_then_up(twilio, texter, client):
    twilio.down()
    delivery = clean(texter.deliver(sms(), client))
    assert delivery.outcome == "retry" and "could not reach Twilio" in delivery.detail
    twilio.up()
    assert texter.deliver(sms(), client).outcome == "sent"


def test_long_text_is_cut_to_1600_characters(twilio, texter, client):
    assert texter.deliver(sms(summary="x" * 5000), client).outcome == "sent"
    assert all(len(m["body"]) == 1600 for m in twilio.messages)


def twilio_post(fake: TwilioFake, *, data: dict | None = None, json_body: dict | None = None,
                auth: tuple[str, str] | None = (ACCOUNT_SID, AUTH_TOKEN), sid: str = ACCOUNT_SID,
                method: str = "POST") -> httpx.Response:
    return httpx.request(method, fake.url + fake.messages_path(sid), data=data, json=json_body, auth=auth, timeout=2)


GOOD = {"To": ONCALL[0], "From": FROM_NUMBER, "Body": "hello"}


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"json_body": GOOD}, 400, 21604),                          # JSON is not form parameters
    ({"data": GOOD, "auth": None}, 401, 20003),
    ({"data": GOOD, "auth": (ACCOUNT_SID, "nope")}, 401, 20003),
    ({"data": GOOD, "sid": "AC" + "f" * 32}, 401, 20003),         # path account != credentials
    ({"data": {**GOOD, "To": ""}}, 400, 21604),
    ({"data": {**GOOD, "From": ""}}, 400, 21603),
    ({"data": {**GOOD, "Body": ""}}, 400, 21602),
    ({"data": {**GOOD, "To": "4155550100"}}, 400, 21211),
    ({"data": {**GOOD, "To": "+1234567890123456"}}, 400, 21211),
    ({"data": {**GOOD, "From": "+1-500-555"}}, 400, 21212),
    ({"data": {**GOOD, "From": "+15005550009"}}, 400, 21606),
    ({"data": {**GOOD, "Body": "x" * 1601}}, 400, 21617),
    ({"data": GOOD, "method": "GET"}, 405, 20004),
])
def test_twilio_fake_enforces_the_contract(twilio, kwargs, status, code):
    response = twilio_post(twilio, **kwargs)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert twilio.messages == []


def test_twilio_fake_accepts_a_valid_message(twilio):
    response = twilio_post(twilio, data={**GOOD, "Body": "x" * 1600})
    assert response.status_code == 201
    answer = response.json()
    assert answer["sid"].startswith("SM") and answer["status"] == "queued" and answer["to"] == ONCALL[0]
    assert httpx.post(twilio.url + "/2010-04-01/Messages.json", timeout=2).status_code == 404


# == the signed custom webhook ====================================================================

class Receiver:
    """A receiving endpoint that checks X-Signature-256 itself (not with the notifier's code)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.requests: list[dict[str, Any]] = []
        self.answer: tuple[int, dict[str, str]] | None = None  # force a status (and headers)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                valid = receiver.valid(body, self.headers.get("X-Signature-256", ""))
                receiver.requests.append({"body": body, "headers": dict(self.headers.items()), "valid": valid})
                status, headers = receiver.answer or ((204, {}) if valid else (401, {}))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/incident"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def valid(self, body: bytes, header: str) -> bool:
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = Receiver(WEBHOOK_SECRET)
    yield endpoint
    endpoint.close()


@pytest.fixture
def hook(receiver, monkeypatch) -> WebhookNotifier:
    monkeypatch.setenv("IR_WEBHOOK_SIGNING_SECRET", WEBHOOK_SECRET)
    return WebhookNotifier(receiver.url)


def hooked(**payload) -> OutboxMessage:
    return message(integration="webhook", group="Security Team", **payload)


def test_webhook_notifier_satisfies_the_protocol(hook):
    instance: Notifier = hook
    assert instance.integration == "webhook"
    assert WebhookNotifier("http://x", name="soar").integration == "soar"


def test_signed_post_is_verified_by_the_receiver(receiver, hook, client):
    delivery = clean(hook.deliver(hooked(), client))
    assert delivery.outcome == "sent"
    (request,) = receiver.requests
    assert request["valid"]
    assert request["headers"]["Content-Type"] == "application/json"
    key = f"{INCIDENT}:1:webhook:Security Team"
    assert request["headers"]["Idempotency-Key"] == key
    document = json.loads(request["body"])
    assert document["event"] == "declared" and document["idempotency_key"] == key
    assert document["incident_id"] == INCIDENT and document["stakeholder_group"] == "Security Team"
    assert document["payload"]["title"] == "Checkout API returns 502"
    assert WEBHOOK_SECRET.encode() not in request["body"]
    assert verify_signature(request["body"], WEBHOOK_SECRET, request["headers"]["X-Signature-256"])

    # The same message again: the same bytes and signature, so the receiver can deduplicate.
    assert hook.deliver(hooked(), client).outcome == "sent"
    again = receiver.requests[1]
    assert again["body"] == request["body"]
    assert again["headers"]["X-Signature-256"] == request["headers"]["X-Signature-256"]


def test_tampering_breaks_the_signature(receiver, client, monkeypatch):
    monkeypatch.setenv("IR_WEBHOOK_SIGNING_SECRET", "an-attackers-guess")
    delivery = clean(WebhookNotifier(receiver.url).deliver(hooked(), client))
    assert delivery.outcome == "rejected" and "401" in delivery.detail and "signing secret" in delivery.detail
    assert receiver.requests[-1]["valid"] is False
    assert "an-attackers-guess" not in delivery.detail

    # A genuine signature does not cover a modified body.
    monkeypatch.setenv("IR_WEBHOOK_SIGNING_SECRET", WEBHOOK_SECRET)
    assert WebhookNotifier(receiver.url).deliver(hooked(), client).outcome == "sent"
    genuine = receiver.requests[-1]
    signature = genuine["headers"]["X-Signature-256"]
    tampered = genuine["body"].replace(b"SEV-1", b"SEV-4")
    assert tampered != genuine["body"]
    assert receiver.valid(genuine["body"], signature) and not receiver.valid(tampered, signature)
    assert not verify_signature(tampered, WEBHOOK_SECRET, signature)


@pytest.mark.parametrize(("status", "headers", "outcome", "retry_after"), [
    (200, {}, "sent", None),
    (202, {}, "sent", None),
    (400, {}, "rejected", None),
    (422, {}, "rejected", None),
    (408, {}, "retry", None),
    (429, {"Retry-After": "3"}, "retry", 3.0),
    (302, {"Location": "http://elsewhere.invalid/"}, "retry", None),
    (500, {}, "retry", None),
    (503, {"Retry-After": "12"}, "retry", 12.0),
])
def test_webhook_outcomes(receiver, hook, client, status, headers, outcome, retry_after):
    receiver.answer = (status, headers)
    delivery = clean(hook.deliver(hooked(), client))
    assert (delivery.outcome, delivery.retry_after) == (outcome, retry_after)
    assert "/hooks/incident" not in delivery.detail  # the URL may carry a token


def test_webhook_missing_secret_and_unreachable(receiver, client, monkeypatch):
    monkeypatch.delenv("IR_WEBHOOK_SIGNING_SECRET", raising=False)
    delivery = clean(WebhookNotifier(receiver.url).deliver(hooked(), client))
    assert delivery.outcome == "retry" and "IR_WEBHOOK_SIGNING_SECRET" in delivery.detail
    assert receiver.requests == []
    monkeypatch.setenv("IR_WEBHOOK_SIGNING_SECRET", WEBHOOK_SECRET)
    delivery = clean(WebhookNotifier(f"http://127.0.0.1:{free_port()}/x").deliver(hooked(), client))
    assert delivery.outcome == "retry" and "Could not reach" in delivery.detail
