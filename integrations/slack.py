"""Slack notifier: an incoming webhook, or the Web API with a war room and threaded updates.

  [integrations.slack]
  mode = "webhook"                      # or "web_api"
  webhook_url_env = "SLACK_WEBHOOK_URL" # webhook mode: the webhook URL (itself a secret) comes from this variable
  url = "https://slack.com"             # web_api mode: base URL of the Web API (a proxy or a fake in tests)
  token_env = "SLACK_BOT_TOKEN"         # web_api mode: the bot token (xoxb-...) comes from this variable
  incident_channel = "#incidents"       # web_api mode: where an incident's first message goes
  war_room_creation = false             # web_api mode: open a channel per incident (conversations.create)
  status_updates = true                 # false: status_update events are not posted

Contract (Slack's docs for incoming webhooks, chat.postMessage, conversations.create and
Block Kit):
- Incoming webhook: POST the webhook URL with a JSON body {text, blocks}. Slack answers 200
  with the plain text `ok`; errors are plain-text names with a status: 400 invalid_payload /
  invalid_blocks, 403 action_prohibited / invalid_token, 404 no_service / channel_not_found,
  410 channel_is_archived (all final), 429 with Retry-After and 500 rollup_error (retried).
  A webhook posts to its own channel and cannot thread: it gives no message ts back.
- Web API: POST {url}/api/<method> with `Authorization: Bearer <token>` and a JSON body.
  The quirk: a failure is HTTP 200 with {"ok": false, "error": "<name>"}. ratelimited (also
  as HTTP 429 with Retry-After), internal_error, fatal_error, service_unavailable and
  request_timeout are retried; any other error (invalid_auth, not_authed, channel_not_found,
  not_in_channel, is_archived, invalid_blocks, missing_scope...) is final.
- An incident's first message (no reference yet) goes to the war room when
  war_room_creation (conversations.create {"name": "inc-2024-0118-001", "is_private": false};
  name_taken means an earlier attempt, or a person, already opened it, so the message is
  posted to it by name), else to incident_channel. The Delivery's reference is
  "<channel id>|<ts>" of that message; every later message of the incident is posted with
  thread_ts so the updates thread under it (the resolution is also broadcast to the channel).
- A rule's start_war_room() (outbox event `war_room`) opens the incident's channel whatever
  war_room_creation says, posts there, and later messages thread under that post. A webhook
  cannot open a channel, so in webhook mode the message is skipped with that reason.
- A message addressed to persons (its payload carries `recipients`: an escalation step's row,
  one person's Slack member ids from [contacts.NAME] slack) is a direct message, never a
  channel post: chat.postMessage with `channel` set to the member's id (U… / W…) posts in the
  app's DM with them (Slack's documented rule; no conversations.open first; chat:write). It
  is "sent" only when Slack accepted a message to each of them; an unknown member answers
  channel_not_found, which is final (dead-lettered with Slack's error). A webhook cannot
  address a person, so in webhook mode it is skipped with that reason. A DM threads under
  nothing and leaves the incident's channel thread (the reference) as it was.
- Block Kit limits kept: header text plain_text <= 150 characters, section text mrkdwn
  <= 3000, at most 10 section fields of <= 2000 each; `&`, `<` and `>` in text are escaped
  so a title cannot mention @channel or forge a link.

chat.postMessage has no idempotency key: a message whose answer was lost (timeout, crash
between send and mark-sent) is posted again when retried. A notifier never raises for
Slack's or the network's trouble, and never puts the token or the webhook URL in a detail.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from integrations.http import parse_retry_after, sanitize
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate

DEFAULT_URL = "https://slack.com"
MODES = ("webhook", "web_api")

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
TEXT_MAX = 4000          # Slack truncates message text beyond 40,000; a notification needs far less
CHANNEL_NAME_MAX = 80

#: Web API errors that may heal by themselves; every other `ok: false` error is final.
RETRY_ERRORS = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error",
                          "service_unavailable", "request_timeout"})

EVENT_LABELS: dict[str, str] = {
    "declared": "declared",
    "status_update": "status update",
    "acknowledged": "acknowledged",
    "escalated": "escalated",
    "severity_changed": "severity changed",
    "resolved": "resolved",
    "war_room": "war room opened",
    "page": "on-call paged",
    "security_alert": "security alert",
    "escalation_step": "escalation step",
}
#: The event that opens the incident's own channel (a rule's start_war_room()).
WAR_ROOM_EVENT = "war_room"
#: Events whose threaded reply is also shown in the channel, not only in the thread.
BROADCAST_EVENTS = frozenset({"resolved"})

_WEBHOOK_ERROR = re.compile(r"^[a-z][a-z_]{1,63}$")
#: A Slack member id (user U…, or an Enterprise Grid user W…): what a direct message is sent to.
_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_CHANNEL_NAME_BAD = re.compile(r"[^a-z0-9_-]+")


def war_room_name(incident_id: str) -> str:
    """The war-room channel for an incident: "INC-2024-0118-001" -> "inc-2024-0118-001" (Slack's name rules)."""
    name = _CHANNEL_NAME_BAD.sub("-", incident_id.strip().lower()).strip("-_")
    if not name.startswith("inc-"):
        name = f"inc-{name}" if name else "inc"
    return name[:CHANNEL_NAME_MAX].rstrip("-_")


def escape(text: str) -> str:
    """Text safe for Slack message text and mrkdwn: &, < and > escaped (no mentions, no forged links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit(text: str, limit: int) -> str:
    """`text` escaped and cut to `limit` characters without leaving half an entity."""
    text = escape(text)
    if len(text) <= limit:
        return text
    return re.sub(r"&[a-z]*$", "", text[: limit - 1]) + "\u2026"


def parse_reference(reference: str | None) -> tuple[str, str] | None:
    """(channel id, ts) from a "<channel>|<ts>" reference; None if absent or not one of ours."""
    if not reference or "|" not in reference:
        return None
    channel, _, ts = reference.rpartition("|")
    if not channel or not re.fullmatch(r"\d+\.\d+", ts):
        return None
    return channel, ts


class SlackNotifier:
    """Delivers outbox messages to Slack (see the module docstring)."""

    integration = "slack"

    def __init__(self, mode: Literal["webhook", "web_api"] = "webhook", url: str = DEFAULT_URL,
                 webhook_url_env: str = "SLACK_WEBHOOK_URL", token_env: str = "SLACK_BOT_TOKEN",
                 incident_channel: str = "#incidents", war_room_creation: bool = False,
                 status_updates: bool = True, timeout: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"Slack mode {mode!r} is not known; accepted: webhook, web_api.")
        if not isinstance(incident_channel, str) or not incident_channel.strip():
            raise ValueError("The Slack incident_channel is empty; give a channel name like #incidents or an id.")
        self.mode = mode
        self.url = url.rstrip("/")
        self.webhook_url_env = webhook_url_env
        self.token_env = token_env
        self.incident_channel = incident_channel.strip()
        self.war_room_creation = bool(war_room_creation)
        self.status_updates = bool(status_updates)
        self.timeout = timeout  # None: the client's own timeout

    def api_endpoint(self, method: str) -> str:
        return f"{self.url}/api/{method}"

    # -- the message ------------------------------------------------------------------------------

    @staticmethod
    def _facts(message: OutboxMessage) -> dict[str, str]:
        payload = message.payload or {}
        facts = {key: one_line(payload.get(key) or "") for key in
                 ("severity", "status", "environment", "service", "title", "summary", "message", "url")}
        facts["id"] = one_line(payload.get("id") or message.incident_id or "")
        facts["title"] = facts["title"] or facts["summary"] or "Incident"
        facts["event"] = EVENT_LABELS.get(message.event, message.event.replace("_", " "))
        return facts

    def text_for(self, message: OutboxMessage) -> str:
        """The notification text: "[SEV-1] INC-2024-0118-001: Checkout down — declared (investigating)"."""
        facts = self._facts(message)
        return _fit(_headline(facts, with_event=True), TEXT_MAX)

    def blocks_for(self, message: OutboxMessage) -> list[dict[str, Any]]:
        """Block Kit: a header, a section with the event and its fields, a context with the link."""
        facts = self._facts(message)
        header = truncate(_headline(facts, with_event=False), HEADER_MAX)
        payload = message.payload or {}
        # A status update in the engineer's words (with Affected and Next Update); else the change.
        detail = update_text(payload) or str(payload.get("summary") or "").strip()
        lead = f"*{escape(facts['event'].capitalize())}*"
        text = lead + ("\n" + _fit(detail, SECTION_TEXT_MAX - len(lead) - 1) if detail else "")
        fields = [{"type": "mrkdwn", "text": f"*{name}*\n{_fit(facts[key] or '-', FIELD_MAX - len(name) - 3)}"}
                  for name, key in (("Severity", "severity"), ("Status", "status"),
                                    ("Environment", "environment"), ("Service", "service"))]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}, "fields": fields},
        ]
        context = []
        url = facts["url"]
        if url.startswith(("http://", "https://")) and not re.search(r"[\s|<>]", url):
            context.append(f"<{url}|Open {escape(facts['id'] or 'the incident')}>")
        if message.stakeholder_group:
            context.append(f"For {escape(one_line(message.stakeholder_group))}")
        if context:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": truncate(" \u00b7 ".join(context), SECTION_TEXT_MAX)}]})
        return blocks

    # -- one attempt ------------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Post `message` to Slack; sent / retry / rejected as the module docstring says."""
        if message.event == "status_update" and not self.status_updates:
            return Delivery("skipped", "Slack status updates off (integrations.slack.status_updates); not posted.")
        recipients = (message.payload or {}).get("recipients")
        if isinstance(recipients, list):  # addressed to persons: their DMs, never a channel
            return self._deliver_direct(message, recipients, client)
        if self.mode == "webhook":
            if message.event == WAR_ROOM_EVENT:
                return Delivery("skipped", "Slack webhook mode cannot open a war-room channel "
                                           "(integrations.slack.mode = \"web_api\" can); not posted.")
            return self._deliver_webhook(message, client)
        return self._deliver_web_api(message, client)

    def _what(self, message: OutboxMessage) -> str:
        facts = self._facts(message)
        return f"the {facts['event']} message for {facts['id']}" if facts["id"] else f"the {facts['event']} message"

    def _kwargs(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"content": json.dumps(body).encode(),
                                  "headers": {"Content-Type": "application/json; charset=utf-8", **headers}}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs

    # webhook ----------------------------------------------------------------------------------------

    def _deliver_webhook(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        webhook_url = secret_from_env(self.webhook_url_env).strip()
        if not webhook_url:
            return Delivery("retry", f"Slack webhook URL missing: set the environment variable {self.webhook_url_env}.")
        what = self._what(message)
        body = {"text": self.text_for(message), "blocks": self.blocks_for(message)}
        try:
            response = client.post(webhook_url, **self._kwargs(body, {}))
        except httpx.TimeoutException:
            return Delivery("retry", f"The Slack webhook did not answer {what} in time.")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return Delivery("retry", f"The Slack webhook URL in {self.webhook_url_env} is not a valid http(s) URL.")
        except httpx.TransportError as error:
            return Delivery("retry", f"Could not reach the Slack webhook for {what} ({type(error).__name__}).")
        status, answer = response.status_code, response.text.strip()
        secret = webhook_url
        if status == 200:
            if answer == "ok":
                return Delivery("sent", f"Slack accepted {what} (webhook).")
            return Delivery("retry", f"The Slack webhook answered 200 without `ok`; will post {what} again.")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return Delivery("retry", f"Slack is rate limiting (429); {what} waits.", retry_after)
        if status >= 500:
            return Delivery("retry", f"Slack had a server error ({status}) on {what}.", retry_after)
        if 400 <= status < 500 and _WEBHOOK_ERROR.match(answer):
            return Delivery("rejected", f"Slack rejected {what} ({status} {sanitize(answer, [secret], 200)}).")
        return Delivery("retry", f"The Slack webhook answered {status} to {what}; check {self.webhook_url_env}.",
                        retry_after)

    # direct messages --------------------------------------------------------------------------------

    def direct_text(self, message: OutboxMessage) -> str:
        """A DM's text (what the person's notification shows): the incident, then what the
        timeline says, e.g. "[SEV-1] INC-…: Checkout down — Not acknowledged: escalation …"."""
        facts = self._facts(message)
        said = facts["summary"] or facts["event"]
        return _fit(f"{_headline(facts, with_event=False)} \u2014 {said}", TEXT_MAX)

    def _deliver_direct(self, message: OutboxMessage, recipients: list, client: httpx.Client) -> Delivery:
        person = one_line(message.stakeholder_group or "") or "the person"
        members = list(dict.fromkeys(str(item).strip() for item in recipients if str(item).strip()))
        if not members:
            return Delivery("skipped", f"Slack: no member id to message for {person}.")
        if self.mode == "webhook":
            return Delivery("skipped", f"Slack webhook mode cannot send {person} a direct message "
                                       "(integrations.slack.mode = \"web_api\" can); not sent.")
        wrong = next((member for member in members if not _MEMBER_ID.match(member)), None)
        if wrong is not None:
            return Delivery("rejected", f"Slack direct messages go to member ids (U… or W…); "
                                        f"\"{truncate(one_line(wrong), 40)}\" for {person} is not one.")
        token = secret_from_env(self.token_env).strip()
        if not token:
            return Delivery("retry", f"Slack bot token missing: set the environment variable {self.token_env}.")
        what = self._what(message)
        body: dict[str, Any] = {"text": self.direct_text(message), "blocks": self.blocks_for(message)}
        for member in members:
            answer = self._call(client, "chat.postMessage", dict(body, channel=member), token,
                                f"{what} to {person} ({member})")
            if not isinstance(answer, dict):
                # Members before this one were messaged; a retry messages them again (no idempotency key).
                return answer.delivery
        return Delivery("sent", f"Slack sent {what} to {person} as a direct message ({', '.join(members)}).")

    # web API ----------------------------------------------------------------------------------------

    def _deliver_web_api(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        token = secret_from_env(self.token_env).strip()
        if not token:
            return Delivery("retry", f"Slack bot token missing: set the environment variable {self.token_env}.")
        what = self._what(message)
        body: dict[str, Any] = {"text": self.text_for(message), "blocks": self.blocks_for(message)}
        parent = None if message.event == WAR_ROOM_EVENT else parse_reference(message.reference)
        if parent is not None:
            channel, thread_ts = parent
            threaded = dict(body, channel=channel, thread_ts=thread_ts)
            if message.event in BROADCAST_EVENTS:
                threaded["reply_broadcast"] = True
            answer = self._call(client, "chat.postMessage", threaded, token, what)
            if isinstance(answer, dict):
                return Delivery("sent", f"Slack posted {what} in the incident's thread ({channel}).",
                                reference=message.reference)
            if answer.error != "thread_not_found":
                return answer.delivery
            # The first message is gone (deleted): start a new thread in the same channel.
            body["channel"] = channel
            return self._post_first(client, body, token, what, note=" (its earlier thread was gone)")

        channel = self.incident_channel
        incident_id = str((message.payload or {}).get("id") or message.incident_id or "").strip()
        if (self.war_room_creation or message.event == WAR_ROOM_EVENT) and incident_id:
            name = war_room_name(incident_id)
            created = self._call(client, "conversations.create", {"name": name, "is_private": False}, token,
                                 f"the war room #{name}")
            if isinstance(created, dict):
                channel = str((created.get("channel") or {}).get("id") or f"#{name}")
            elif created.error == "name_taken":
                channel = f"#{name}"  # opened before (an earlier attempt, or a person): post there
            else:
                return created.delivery
        body["channel"] = channel
        return self._post_first(client, body, token, what)

    def _post_first(self, client: httpx.Client, body: dict[str, Any], token: str, what: str,
                    note: str = "") -> Delivery:
        answer = self._call(client, "chat.postMessage", body, token, what)
        if not isinstance(answer, dict):
            return answer.delivery
        channel, ts = answer.get("channel"), answer.get("ts")
        if not isinstance(channel, str) or not isinstance(ts, str) or not channel or not ts:
            # Posted, but without the ids to thread under: later messages start their own thread.
            return Delivery("sent", f"Slack posted {what} in {body['channel']}{note} but gave no message ts.")
        return Delivery("sent", f"Slack posted {what} in {body['channel']}{note}.", reference=f"{channel}|{ts}")

    def _call(self, client: httpx.Client, method: str, body: dict[str, Any], token: str,
              what: str) -> dict[str, Any] | _Failed:
        """Slack's `ok: true` answer to one Web API call, or what its failure means."""
        try:
            response = client.post(self.api_endpoint(method),
                                   **self._kwargs(body, {"Authorization": f"Bearer {token}"}))
        except httpx.TimeoutException:
            return _Failed.retry(f"Slack did not answer {method} for {what} in time.")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return _Failed.retry("The Slack URL is not a valid http(s) URL; fix integrations.slack.url.")
        except httpx.TransportError as error:
            return _Failed.retry(f"Could not reach Slack for {method} of {what} ({type(error).__name__}).")
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return _Failed.retry(f"Slack is rate limiting {method} (429); {what} waits.", retry_after)
        if status >= 500:
            return _Failed.retry(f"Slack had a server error ({status}) on {method} for {what}.", retry_after)
        if status != 200:
            return _Failed.retry(f"Slack answered {status} to {method} for {what}; check integrations.slack.url.",
                                 retry_after)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            return _Failed.retry(f"Slack answered {method} for {what} without its `ok` field; will try again.")
        if answer["ok"]:
            return answer
        # The quirk: HTTP 200 and {"ok": false, "error": "..."}.
        error = sanitize(str(answer.get("error") or "unknown_error"), [token], 80)
        if error in RETRY_ERRORS:
            return _Failed(Delivery("retry", f"Slack could not take {method} for {what} now ({error}).", retry_after),
                           error)
        reasons = answer.get("errors")
        reason = ""
        if isinstance(reasons, list) and reasons:
            reason = ": " + sanitize("; ".join(str(item) for item in reasons[:3]), [token], 300)
        return _Failed(Delivery("rejected", f"Slack rejected {method} for {what} ({error}{reason})."), error)


@dataclass(frozen=True)
class _Failed:
    """A Web API call that did not succeed: the Delivery it means, and Slack's error name if it gave one."""

    delivery: Delivery
    error: str | None = None

    @classmethod
    def retry(cls, detail: str, retry_after: float | None = None) -> "_Failed":
        return cls(Delivery("retry", detail, retry_after))


def _headline(facts: dict[str, str], *, with_event: bool) -> str:
    headline = f"{facts['id']}: {facts['title']}" if facts["id"] else facts["title"]
    if facts["severity"]:
        headline = f"[{facts['severity']}] {headline}"
    if with_event:
        headline += f" \u2014 {facts['event']}"
        if facts["status"]:
            headline += f" ({facts['status']})"
    return headline
