"""Microsoft Teams notifier against the Workflows webhook contract fake (a real HTTP server on loopback)."""
from __future__ import annotations

import json

import httpx
import pytest

from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.teams import MESSAGE_MAX, TeamsNotifier, envelope_for, markdown_escape
from tests.support.teams_fake import SIGNATURE, TeamsFake, card_problem, markdown_in, shown, texts

INCIDENT = "INC-2024-0118-001"
ENV = "TEAMS_WEBHOOK_URL"


def message(event: str = "declared", *, id: int = 1, groups: list[str] | None = None, **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout", "url": "https://ir.example.com/incidents/INC-2024-0118-001",
            "groups": groups if groups is not None else ["Engineering", "Executive Team"]}
    body.update(payload)
    return OutboxMessage(id=id, incident_id=INCIDENT, integration="teams", event=event,
                         idempotency_key=f"{INCIDENT}:{id}:teams", payload=body, attempts=0,
                         stakeholder_group=", ".join(body["groups"]) if body["groups"] else None)


@pytest.fixture
def fake():
    with TeamsFake() as server:
        yield server


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


@pytest.fixture
def notifier(fake, monkeypatch) -> TeamsNotifier:
    monkeypatch.setenv(ENV, fake.webhook_url)
    return TeamsNotifier()


def deliver(notifier: TeamsNotifier, client: httpx.Client, msg: OutboxMessage, fake: TeamsFake) -> Delivery:
    delivery = notifier.deliver(msg, client)
    assert SIGNATURE not in delivery.detail and fake.webhook_url not in delivery.detail
    assert delivery.detail and "\n" not in delivery.detail
    return delivery


def shown_texts(card: dict) -> list[str]:
    return [shown(text) for text in texts(card)]


# -- the card ---------------------------------------------------------------------------------------

def test_notifier_satisfies_the_protocol(notifier):
    instance: Notifier = notifier
    assert instance.integration == "teams"


def test_declared_posts_the_documented_envelope_and_is_sent(notifier, client, fake):
    delivery = deliver(notifier, client, message(), fake)
    assert delivery.outcome == "sent"
    assert delivery.detail == (f"Teams accepted the declared card for {INCIDENT} for Engineering, Executive Team.")
    [request] = fake.received
    assert request.method == "POST" and request.status == 202
    assert request.headers["content-type"] == "application/json"
    document = request.json()
    assert document["type"] == "message"
    [attachment] = document["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card_problem(document) is None
    shown_ = shown_texts(card)
    assert shown_[0] == f"[SEV-1] {INCIDENT}: Checkout API returns 502"
    assert shown_[1] == "Incident declared \u2014 investigating"
    assert "Error rate 35% on checkout" in shown_
    assert ["For", "Engineering, Executive Team"] == shown_[-2:]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": f"Open {INCIDENT}",
                                "url": "https://ir.example.com/incidents/INC-2024-0118-001"}]
    assert fake.cards == [card]


def test_a_status_update_carries_the_engineers_words(notifier, client, fake):
    msg = message("status_update", status="identified", message="Rolled back deploy 4812.\nErrors falling.",
                  affected="checkout, payments", next_update_due_at="2024-01-18T15:30:00Z")
    assert deliver(notifier, client, msg, fake).outcome == "sent"
    shown_ = shown_texts(fake.cards[0])
    assert shown_[1] == "Status update \u2014 identified"
    assert shown_[2:6] == ["Rolled back deploy 4812.", "Errors falling.", "Affected: checkout, payments",
                           "Next Update: 2024-01-18 15:30 UTC"]
    assert "Error rate 35% on checkout" not in shown_  # the engineer's words, not the stock summary


def test_the_groups_fall_back_to_the_comms_matrix_row(notifier, client, fake):
    msg = OutboxMessage(id=3, incident_id=INCIDENT, integration="teams", event="resolved",
                        idempotency_key="k3", payload={"id": INCIDENT, "title": "t"}, attempts=0,
                        stakeholder_group="Security Team")
    assert deliver(notifier, client, msg, fake).detail.endswith("for Security Team.")
    assert shown_texts(fake.cards[0])[-2:] == ["For", "Security Team"]


# -- text from outside is data ---------------------------------------------------------------------

HOSTILE = [
    "**Checkout down** [click here](https://evil.example/phish)",
    "_urgent_ <https://evil.example> &amp; `rm -rf`",
    "- not a list",
    "1. not a numbered list",
    "# not a heading",
    "> not a quote",
    "{{DATE(2017-02-14T06:00:00Z, SHORT)}}",
    "back\\slash \\*still literal\\*",
]


@pytest.mark.parametrize("title", HOSTILE)
def test_a_title_never_becomes_markdown(notifier, client, fake, title):
    if "\\" not in title:
        assert markdown_in(title), "the case must hold Markdown a TextBlock would render"
    assert deliver(notifier, client, message(title=title, summary=title, service=title), fake).outcome == "sent"
    card = fake.cards[0]
    for text in texts(card):
        assert markdown_in(text) == [], text
    shown_ = shown_texts(card)
    assert shown_[0] == f"[SEV-1] {INCIDENT}: {' '.join(title.split())}"  # shown exactly as typed
    assert title in shown_


def test_markdown_escape_keeps_plain_words_plain():
    assert markdown_escape("Checkout API returns 502 after deploy 4812") == "Checkout API returns 502 after deploy 4812"
    assert markdown_escape("line\x00one\u2028two") == "line one two"
    assert markdown_in(markdown_escape("**b** [l](u)")) == []
    assert markdown_in("**b** [l](u)") == ["bold", "link"]  # the check itself sees Markdown


def test_the_card_fits_the_28_kb_limit_however_long_the_words(notifier, client, fake):
    words = "\n".join(f"step {i}: " + "*" * 300 for i in range(400))  # escaping doubles it
    msg = message("status_update", message=words, title="T" * 5000)
    body = envelope_for(msg)
    assert len(body) <= MESSAGE_MAX
    assert deliver(notifier, client, msg, fake).outcome == "sent"
    assert shown_texts(fake.cards[0])[2].startswith("step 0: ***")


def test_the_fake_refuses_an_oversized_message(fake, client):
    document = json.loads(envelope_for(message()))
    document["attachments"][0]["content"]["body"].append({"type": "TextBlock", "text": "x" * MESSAGE_MAX})
    response = client.post(fake.webhook_url, json=document)
    assert response.status_code == 413


@pytest.mark.parametrize("change,problem", [
    (lambda d: d.update(type="card"), "'message'"),
    (lambda d: d.update(attachments=[]), "attachments"),
    (lambda d: d["attachments"][0].update(contentType="application/json"), "contentType"),
    (lambda d: d["attachments"][0].update(contentUrl="https://x"), "contentUrl"),
    (lambda d: d["attachments"][0]["content"].update(type="MessageCard"), "AdaptiveCard"),
    (lambda d: d["attachments"][0]["content"].update(version="2.0"), "version"),
    (lambda d: d["attachments"][0]["content"].update(body=[{"type": "TextBlock"}]), "TextBlock"),
])
def test_the_fake_refuses_a_wrong_shape_with_400(fake, client, change, problem):
    document = json.loads(envelope_for(message()))
    change(document)
    response = client.post(fake.webhook_url, json=document)
    assert response.status_code == 400
    assert problem in response.json()["error"]["message"]
    assert fake.cards == []


def test_the_fake_refuses_another_content_type_and_method(fake, client):
    body = envelope_for(message())
    assert client.post(fake.webhook_url, content=body, headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.get(fake.webhook_url).status_code == 405
    assert fake.cards == []


# -- outcomes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_throttling_and_server_errors_are_retried_with_retry_after(notifier, client, fake, status):
    fake.fail_next(1, status=status, retry_after=7)
    delivery = deliver(notifier, client, message(), fake)
    assert delivery.outcome == "retry" and delivery.retry_after == 7.0
    assert str(status) in delivery.detail
    assert deliver(notifier, client, message(), fake).outcome == "sent"
    assert len(fake.cards) == 1


def test_a_teams_outage_for_a_while_retries_until_it_recovers(notifier, client, fake):
    fake.failing(503)
    outcomes = [deliver(notifier, client, message(), fake).outcome for _ in range(3)]
    assert outcomes == ["retry"] * 3 and fake.cards == []
    fake.recover()
    assert deliver(notifier, client, message(), fake).outcome == "sent"


def test_a_wrong_signature_is_rejected_without_showing_the_url(client, fake, monkeypatch):
    wrong = fake.webhook_url.replace(SIGNATURE, "not-the-signature")
    monkeypatch.setenv(ENV, wrong)
    delivery = TeamsNotifier().deliver(message(), client)
    assert delivery.outcome == "rejected"
    assert delivery.detail.startswith("Teams refused the credentials (401)")
    assert f"check the webhook URL in {ENV}" in delivery.detail
    assert "not-the-signature" not in delivery.detail and wrong not in delivery.detail


def test_a_deleted_flow_is_rejected(client, fake, monkeypatch):
    monkeypatch.setenv(ENV, fake.webhook_url.replace("/workflows/", "/workflows/gone"))
    delivery = TeamsNotifier().deliver(message(), client)
    assert delivery.outcome == "rejected" and "(404)" in delivery.detail


def test_no_url_is_a_retry_naming_the_variable(client, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv(f"{ENV}_FILE", raising=False)
    delivery = TeamsNotifier().deliver(message(), client)
    assert delivery == Delivery("retry", f"Teams webhook URL missing: set the environment variable {ENV}.")


def test_a_variable_that_is_not_a_url_is_a_retry_saying_what_is_accepted(client, monkeypatch):
    monkeypatch.setenv(ENV, "see the wiki")
    delivery = TeamsNotifier().deliver(message(), client)
    assert delivery.outcome == "retry" and ENV in delivery.detail and "see the wiki" not in delivery.detail


def test_network_trouble_is_a_retry(notifier, client, fake):
    fake.down()
    delivery = deliver(notifier, client, message(), fake)
    assert delivery.outcome == "retry" and "Could not reach Teams" in delivery.detail
    fake.up()
    assert deliver(notifier, client, message(), fake).outcome == "sent"


def test_the_configured_timeout_is_used(fake, monkeypatch):
    monkeypatch.setenv(ENV, fake.webhook_url)
    seen: list[dict] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(202)

    with httpx.Client(transport=httpx.MockTransport(record)) as mock:
        assert TeamsNotifier(timeout=3.5).deliver(message(), mock).outcome == "sent"
    assert seen[0]["read"] == 3.5


def test_built_from_the_configuration(fake, monkeypatch):
    from automation.notifiers import notifiers_from_config
    from playbooks.config import parse_configuration

    configuration = parse_configuration({"integrations": {"teams": {"webhook_url_env": "IR_TEAMS_HOOK",
                                                                     "timeout": 5.0}}})
    notifier = notifiers_from_config(configuration)["teams"]
    assert isinstance(notifier, TeamsNotifier) and notifier.timeout == 5.0
    monkeypatch.setenv("IR_TEAMS_HOOK", fake.webhook_url)
    with httpx.Client(timeout=2.0) as http:
        assert notifier.deliver(message(), http).outcome == "sent"
