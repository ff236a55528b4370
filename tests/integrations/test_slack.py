"""Slack notifier (incoming webhook and Web API) against the contract fake (a real HTTP server on loopback)."""
from __future__ import annotations

import json

import httpx
import pytest

from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.slack import SlackNotifier, parse_reference, war_room_name
from tests.support.slack_fake import TOKEN, SlackFake, block_errors

INCIDENT = "INC-2024-0118-001"
TOKEN_ENV = "SLACK_BOT_TOKEN"
WEBHOOK_ENV = "SLACK_WEBHOOK_URL"


def message(event: str = "declared", *, reference: str | None = None, id: int = 1, **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout", "url": "https://ir.example.com/incidents/INC-2024-0118-001"}
    body.update(payload)
    return OutboxMessage(id=id, incident_id=body.get("id"), integration="slack", event=event,
                         idempotency_key=f"{body.get('id')}:{id}", payload=body, attempts=0,
                         reference=reference, stakeholder_group="Engineering Leads")


@pytest.fixture
def fake():
    with SlackFake() as server:
        yield server


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


@pytest.fixture
def api(fake, monkeypatch) -> SlackNotifier:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return SlackNotifier(mode="web_api", url=fake.url)


@pytest.fixture
def hook(fake, monkeypatch) -> SlackNotifier:
    monkeypatch.setenv(WEBHOOK_ENV, fake.webhook_url)
    return SlackNotifier(mode="webhook")


def deliver(notifier: SlackNotifier, client: httpx.Client, msg: OutboxMessage, secret: str = TOKEN) -> Delivery:
    delivery = notifier.deliver(msg, client)
    assert secret not in delivery.detail and "fakewebhooksecret" not in delivery.detail
    assert delivery.detail and "\n" not in delivery.detail
    return delivery


def test_notifier_satisfies_the_protocol(api):
    instance: Notifier = api
    assert instance.integration == "slack"
    with pytest.raises(ValueError):
        SlackNotifier(mode="rtm")


# -- incoming webhook -------------------------------------------------------------------------------

def test_webhook_post_is_accepted(fake, hook, client):
    delivery = deliver(hook, client, message(), fake.webhook_url)
    assert (delivery.outcome, delivery.reference) == ("sent", None)
    [received] = fake.received
    assert (received.status, received.answer) == (200, b"ok")
    assert received.headers["content-type"].startswith("application/json")
    [body] = fake.webhook_posts
    assert body["text"] == "[SEV-1] INC-2024-0118-001: Checkout API returns 502 \u2014 declared (investigating)"
    header, section, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                 "text": "[SEV-1] INC-2024-0118-001: Checkout API returns 502"}}
    assert section["text"] == {"type": "mrkdwn", "text": "*Declared*\nError rate 35% on checkout"}
    assert [f["text"] for f in section["fields"]] == ["*Severity*\nSEV-1", "*Status*\ninvestigating",
                                                      "*Environment*\nproduction", "*Service*\ncheckout"]
    assert "<https://ir.example.com/incidents/INC-2024-0118-001|Open INC-2024-0118-001>" in \
        context["elements"][0]["text"]
    assert [m["text"] for m in fake.messages("#incidents")] == [body["text"]]


@pytest.mark.parametrize(("status", "error"), [(404, "no_service"), (400, "invalid_payload"),
                                               (403, "action_prohibited"), (410, "channel_is_archived")])
def test_webhook_errors_are_rejected_with_their_name(fake, hook, client, status, error):
    fake.fail_next(1, status=status, body=error)
    delivery = deliver(hook, client, message(), fake.webhook_url)
    assert delivery.outcome == "rejected" and error in delivery.detail and str(status) in delivery.detail
    assert fake.webhook_posts == []


def test_webhook_429_and_500_are_retried(fake, hook, client):
    fake.fail_next(1, status=429, retry_after=4)
    delivery = deliver(hook, client, message(), fake.webhook_url)
    assert (delivery.outcome, delivery.retry_after) == ("retry", 4.0)
    fake.fail_next(1, status=500)
    assert deliver(hook, client, message(), fake.webhook_url).outcome == "retry"
    fake.fail_next(1, status=404, body="<html>proxy says no</html>")  # not Slack's answer: may heal
    assert deliver(hook, client, message(), fake.webhook_url).outcome == "retry"
    assert deliver(hook, client, message(), fake.webhook_url).outcome == "sent"
    assert len(fake.webhook_posts) == 1


def test_webhook_with_a_wrong_secret_is_rejected_without_showing_the_url(fake, client, monkeypatch):
    wrong = fake.webhook_url[:-6] + "zzzzzz"
    monkeypatch.setenv(WEBHOOK_ENV, wrong)
    delivery = deliver(SlackNotifier(mode="webhook"), client, message(), wrong)
    assert delivery.outcome == "rejected" and "invalid_token" in delivery.detail
    assert "/services/" not in delivery.detail


def test_missing_secrets_are_retried_naming_the_variable(fake, client, monkeypatch):
    monkeypatch.delenv("SLACK_HOOK_FOR_TEST", raising=False)
    monkeypatch.delenv("SLACK_TOKEN_FOR_TEST", raising=False)
    first = SlackNotifier(mode="webhook", webhook_url_env="SLACK_HOOK_FOR_TEST").deliver(message(), client)
    second = SlackNotifier(mode="web_api", url=fake.url, token_env="SLACK_TOKEN_FOR_TEST").deliver(message(), client)
    assert first.outcome == second.outcome == "retry"
    assert "SLACK_HOOK_FOR_TEST" in first.detail and "SLACK_TOKEN_FOR_TEST" in second.detail
    assert fake.received == []


# -- Web API ----------------------------------------------------------------------------------------

def test_first_message_returns_a_reference_and_updates_thread_under_it(fake, api, client):
    first = deliver(api, client, message("declared"))
    assert first.outcome == "sent"
    channel, ts = parse_reference(first.reference)
    assert channel == fake.incidents.id
    [top] = fake.messages("#incidents")
    assert top["ts"] == ts and top["text"].startswith("[SEV-1] INC-2024-0118-001")
    call = fake.received[0]
    assert call.path == "/api/chat.postMessage"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["content-type"] == "application/json; charset=utf-8"
    assert call.json()["channel"] == "#incidents" and "thread_ts" not in call.json()
    assert "warning" not in json.loads(call.answer)  # charset given: no missing_charset warning

    update = deliver(api, client, message("status_update", reference=first.reference, id=2, status="identified"))
    resolved = deliver(api, client, message("resolved", reference=first.reference, id=3, status="resolved"))
    assert update.outcome == resolved.outcome == "sent"
    assert update.reference == resolved.reference == first.reference
    replies = fake.replies(channel, ts)
    assert [r["text"].split(" \u2014 ")[1] for r in replies] == ["status update (identified)", "resolved (resolved)"]
    assert fake.threads == {(channel, ts): replies}
    assert [m["ts"] for m in fake.messages(channel)] == [ts, replies[1]["ts"]]  # the resolution is broadcast
    assert float(replies[1]["ts"]) > float(replies[0]["ts"]) > float(ts)


def test_status_updates_off_skips_them(fake, client, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    notifier = SlackNotifier(mode="web_api", url=fake.url, status_updates=False)
    skipped = deliver(notifier, client, message("status_update", reference="C000000001|1705588200.000100"))
    assert skipped.outcome == "skipped" and "status updates off" in skipped.detail
    assert fake.received == []
    assert deliver(notifier, client, message("declared")).outcome == "sent"  # other events still go


def test_war_room_is_created_and_the_incident_threads_in_it(fake, client, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    notifier = SlackNotifier(mode="web_api", url=fake.url, war_room_creation=True)
    first = deliver(notifier, client, message("declared"))
    assert first.outcome == "sent"
    room = fake.channel("inc-2024-0118-001")
    assert room is not None and room.created_by_api and not room.is_private
    assert fake.api_calls[0] == ("conversations.create", {"name": "inc-2024-0118-001", "is_private": False})
    channel, ts = parse_reference(first.reference)
    assert channel == room.id and [m["ts"] for m in fake.messages(room.id)] == [ts]
    assert fake.messages("#incidents") == []
    update = deliver(notifier, client, message("status_update", reference=first.reference, id=2))
    assert update.outcome == "sent" and len(fake.replies(room.id, ts)) == 1
    assert [method for method, _ in fake.api_calls].count("conversations.create") == 1


def test_war_room_that_exists_already_is_posted_to_by_name(fake, client, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    existing = fake.add_channel("inc-2024-0118-001")  # an earlier attempt created it, then the post failed
    notifier = SlackNotifier(mode="web_api", url=fake.url, war_room_creation=True)
    delivery = deliver(notifier, client, message())
    assert delivery.outcome == "sent" and parse_reference(delivery.reference)[0] == existing.id
    assert [json.loads(r.answer).get("error") for r in fake.received] == ["name_taken", None]
    assert fake.received[1].json()["channel"] == "#inc-2024-0118-001"


def test_war_room_names_follow_slacks_rules():
    assert war_room_name("INC-2024-0118-001") == "inc-2024-0118-001"
    assert war_room_name("Outage 42!") == "inc-outage-42"
    long = war_room_name("X" * 200)
    assert len(long) == 80 and long.startswith("inc-x")


@pytest.mark.parametrize(("setup", "error"), [
    ("bad_token", "invalid_auth"), ("no_channel", "channel_not_found"), ("not_member", "not_in_channel"),
    ("archived", "is_archived"),
])
def test_ok_false_is_rejected_with_the_error_name(fake, client, monkeypatch, setup, error):
    token = "xoxb-wrong-token-0000000" if setup == "bad_token" else TOKEN
    monkeypatch.setenv(TOKEN_ENV, token)
    channel = "#incidents"
    if setup == "no_channel":
        channel = "#nope"
    elif setup == "not_member":
        fake.add_channel("outsider", member=False)
        channel = "#outsider"
    elif setup == "archived":
        fake.add_channel("old", archived=True)
        channel = "#old"
    delivery = deliver(SlackNotifier(mode="web_api", url=fake.url, incident_channel=channel), client, message(),
                       token)
    assert delivery.outcome == "rejected" and error in delivery.detail
    assert all(r.status == 200 for r in fake.received)  # the quirk: HTTP 200 with ok:false
    assert delivery.reference is None


def test_ok_false_error_echoing_the_token_is_redacted(fake, api, client):
    fake.fail_next(1, status=200, body={"ok": False, "error": "invalid_auth", "errors": [f"token {TOKEN} revoked"]})
    delivery = deliver(api, client, message())
    assert delivery.outcome == "rejected" and "[redacted]" in delivery.detail


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "fatal_error"])
def test_transient_ok_false_errors_are_retried(fake, api, client, error):
    fake.error_next(1, error, retry_after=2 if error == "ratelimited" else None)
    delivery = deliver(api, client, message())
    assert delivery.outcome == "retry" and error in delivery.detail
    assert delivery.retry_after == (2.0 if error == "ratelimited" else None)
    assert deliver(api, client, message()).outcome == "sent"


def test_http_429_with_retry_after_is_retried_after_that_long(fake, api, client):
    fake.fail_next(1, status=429, retry_after=7)
    delivery = deliver(api, client, message())
    assert (delivery.outcome, delivery.retry_after) == ("retry", 7.0) and "429" in delivery.detail
    assert fake.messages("#incidents") == []


def test_war_room_creation_failures(fake, client, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    notifier = SlackNotifier(mode="web_api", url=fake.url, war_room_creation=True)
    fake.error_next(1, "restricted_action")
    refused = deliver(notifier, client, message())
    assert refused.outcome == "rejected" and "conversations.create" in refused.detail
    fake.fail_next(1, status=503)
    assert deliver(notifier, client, message()).outcome == "retry"
    assert fake.messages("#incidents") == [] and fake.channel("inc-2024-0118-001") is None


def test_lost_thread_starts_a_new_one(fake, api, client):
    stale = f"{fake.incidents.id}|1000000000.000001"
    delivery = deliver(api, client, message("status_update", reference=stale))
    assert delivery.outcome == "sent" and delivery.reference != stale
    assert parse_reference(delivery.reference)[0] == fake.incidents.id
    assert [json.loads(r.answer).get("error") for r in fake.received] == ["thread_not_found", None]


def test_vendor_down_then_up_and_garbage(fake, api, client):
    assert deliver(api, client, message()).outcome == "sent"
    fake.down()
    for _ in range(2):
        delivery = deliver(api, client, message())
        assert delivery.outcome == "retry" and "Could not reach Slack" in delivery.detail
    fake.up()
    fake.garbage = True
    assert deliver(api, client, message()).outcome == "retry"
    fake.garbage = False
    assert deliver(api, client, message()).outcome == "sent"


def test_long_and_hostile_text_stays_within_block_kit(fake, api, client):
    msg = message(title="<!channel> " + "x" * 400, message="a & b <@U123> " + "y" * 5000, service="s" * 3000)
    delivery = deliver(api, client, msg)
    assert delivery.outcome == "sent", delivery.detail
    posted = fake.messages("#incidents")[0]
    header, section = posted["blocks"][:2]
    assert len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("\u2026")
    assert len(section["text"]["text"]) <= 3000 and "a &amp; b &lt;@U123&gt;" in section["text"]["text"]
    assert all(len(f["text"]) <= 2000 for f in section["fields"])
    assert "<!channel>" not in posted["text"] and "&lt;!channel&gt;" in posted["text"]
    assert block_errors(posted["blocks"]) == []


# -- the fake keeps Slack's contract ---------------------------------------------------------------

def raw(client: httpx.Client, fake: SlackFake, method: str, body, *, token: str | None = TOKEN,
        content_type: str = "application/json; charset=utf-8") -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"{fake.url}/api/{method}", content=content, headers=headers)


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


@pytest.mark.parametrize(("blocks", "error"), [
    ([header("h" * 151)], "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
    ([header("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
    ([{"type": "header", "text": mrkdwn("h")}], "must be one of plain_text [json-pointer:/blocks/0/text/type]"),
    ([{"type": "section", "text": mrkdwn("s" * 3001)}], "must be less than 3001 characters"),
    ([{"type": "section", "fields": [mrkdwn("f")] * 11}], "must be less than 11 items [json-pointer:/blocks/0/fields]"),
    ([{"type": "section", "fields": [mrkdwn("f" * 2001)]}], "[json-pointer:/blocks/0/fields/0/text]"),
    ([{"type": "section"}], "must provide text or fields"),
    ([{"type": "carousel"}], "unsupported type: carousel"),
    ([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "block_id must be unique"),
    ([{"type": "divider"}] * 51, "must be less than 51 items [json-pointer:/blocks]"),
])
def test_fake_rejects_invalid_blocks(fake, client, blocks, error):
    response = raw(client, fake, "chat.postMessage", {"channel": "#incidents", "text": "t", "blocks": blocks})
    assert response.status_code == 200  # the quirk
    answer = response.json()
    assert answer["ok"] is False and answer["error"] == "invalid_blocks"
    assert any(error in item for item in answer["errors"]), answer["errors"]
    assert fake.messages("#incidents") == []
    hook = client.post(fake.webhook_url, json={"text": "t", "blocks": blocks})
    assert (hook.status_code, hook.text) == (400, "invalid_blocks")
    assert fake.webhook_posts == []


def test_fake_web_api_transport_and_auth(fake, client):
    def error(body, **options) -> str | None:
        return raw(client, fake, "chat.postMessage", body, **options).json().get("error")

    ok = {"channel": "#incidents", "text": "t"}
    assert raw(client, fake, "chat.postMessage", ok, token=None).json() == {"ok": False, "error": "not_authed"}
    assert error(ok, token="xoxb-no") == "invalid_auth"
    assert error(b"{nope") == "invalid_json"
    assert error({"channel": "#incidents"}) == "no_text"
    assert error({"text": "t"}) == "channel_not_found"
    assert error(dict(ok, text="x" * 40001)) == "msg_too_long"
    assert error(dict(ok, blocks="[]")) == "invalid_blocks_format"
    assert raw(client, fake, "chat.send", ok).status_code == 404
    no_charset = raw(client, fake, "chat.postMessage", ok, content_type="application/json").json()
    assert no_charset["ok"] is True and no_charset["warning"] == "missing_charset"
    form = client.post(f"{fake.url}/api/chat.postMessage", data={"token": TOKEN, "channel": "general", "text": "hi"})
    assert form.json()["ok"] is True and form.json()["channel"] == fake.channel("general").id


def test_fake_threads_only_under_existing_messages_of_that_channel(fake, client):
    def post(channel: str, **extra) -> dict:
        return raw(client, fake, "chat.postMessage", {"channel": channel, "text": "r", **extra}).json()

    first = post("#incidents")
    assert post(fake.channel("general").id, thread_ts=first["ts"])["error"] == "thread_not_found"
    assert post("#incidents", thread_ts="1.000001")["error"] == "thread_not_found"
    reply = post(first["channel"], thread_ts=first["ts"])
    assert reply["ok"] and reply["message"]["thread_ts"] == first["ts"] and float(reply["ts"]) > float(first["ts"])
    assert [m["ts"] for m in fake.replies("#incidents", first["ts"])] == [reply["ts"]]


@pytest.mark.parametrize(("name", "error"), [
    (None, "invalid_name_required"), ("", "invalid_name_required"), ("Inc-1", "invalid_name_specials"),
    ("inc 1", "invalid_name_specials"), ("inc.1", "invalid_name_specials"), ("---", "invalid_name_punctuation"),
    ("i" * 81, "invalid_name_maxlength"), ("incidents", "name_taken"),
])
def test_fake_enforces_channel_name_rules(fake, client, name, error):
    body = {} if name is None else {"name": name}
    assert raw(client, fake, "conversations.create", body).json() == {"ok": False, "error": error}


def test_fake_creates_channels(fake, client):
    answer = raw(client, fake, "conversations.create", {"name": "i" * 80, "is_private": True}).json()
    assert answer["ok"] and answer["channel"]["is_private"] is True and answer["channel"]["is_member"] is True
    assert fake.channel(answer["channel"]["id"]).name == "i" * 80


def test_fake_webhook_contract(fake, client):
    not_json = client.post(fake.webhook_url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert (not_json.status_code, not_json.text) == (400, "invalid_payload")
    assert client.post(fake.webhook_url, json={"blocks": []}).text == \
        "missing_text_or_fallback_or_attachments"
    assert client.post(fake.url + "/services/T1/B1/x", json={"text": "t"}).status_code == 404
    assert client.post(fake.webhook_url, data={"payload": json.dumps({"text": "form"})}).text == "ok"
    assert [p["text"] for p in fake.webhook_posts] == ["form"]
