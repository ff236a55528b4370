"""Microsoft Teams notifier: an Adaptive Card posted to a channel through a Workflows webhook.

  [integrations.teams]
  webhook_url_env = "TEAMS_WEBHOOK_URL"    # the flow's URL (it carries its signature) comes from this variable
  timeout = 10                             # optional

In the channel: Workflows -> "Send webhook alerts to a channel" (the Power Automate trigger
"When a Teams webhook request is received"); its URL is the secret.

Contract (Teams: send Adaptive Cards through a webhook; the Workflows trigger): POST the URL
with Content-Type application/json and the envelope

  {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
    "contentUrl": null, "content": {"type": "AdaptiveCard", "version": "1.4", "body": [...]}}]}

at most 28 KB (the documented message size limit; larger is refused "Request Entity too
large"). The trigger answers 202 Accepted with an empty body when the flow started; 429
(throttled, Retry-After), 408 and 5xx are retried; 401 (a URL whose signature is wrong or
was regenerated), 404 (the flow was deleted or turned off) and 400 are final.

The card: the incident's head line ("[SEV-1] INC-…: title"), the event with the status, the
summary or, for a status update, the engineer's words (integrations.notifier.update_text),
facts (service, environment, type) and the groups it is for (payload["groups"]), and a
button to the incident when the payload carries its URL. TextBlocks render a Markdown subset
(bold, italic, links, lists, {{DATE()}} functions): every text from outside is escaped, so a
title such as "**down** [click](https://evil)" is shown as typed, never as a link or bold.
Long texts are cut so the message always fits the 28 KB limit.

"Sent" means Teams accepted a card for the channel's members. Neither the URL nor its
signature ever appears in a detail.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from integrations.http import delivery_for, request_or_retry
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import one_line, truncate
from integrations.wording import event_title

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"  # rendered by Teams desktop, web and mobile
MESSAGE_MAX = 28 * 1024  # bytes of the request body (Teams' documented message size limit)
_MARGIN = 512  # room kept under the limit, for a relay that re-encodes the body
TITLE_MAX = 500
TEXT_MAX = 8000  # the engineer's words and the summary, before the size limit cuts further

_SEVERITY_COLOURS = {"SEV-1": "Attention", "SEV-2": "Warning"}

# Characters a TextBlock's Markdown subset (CommonMark) gives meaning anywhere in a line:
# emphasis, links and autolinks, code, entities, and the {{DATE()}} functions' braces.
_INLINE = re.compile(r"([\\`*_\[\]()<>{}&~])")
# Markers that make a block only at the start of a line: headings, lists, quotes, numbered lists.
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+(?=[.)]))")


def markdown_escape(text: Any) -> str:
    """`text` as a TextBlock shows it literally: control characters dropped, every Markdown
    character backslash-escaped (CommonMark renders an escaped punctuation mark as itself)."""
    line = one_line(text)
    line = _INLINE.sub(r"\\\1", line)
    match = _LINE_START.match(line)
    if match:
        marker = match.group(2)
        if marker[0].isdigit():  # "1." -> "1\." : the number stays, the list marker goes
            end = match.end()
            line = line[:end] + "\\" + line[end:]
        else:
            line = line[: match.start(2)] + "\\" + line[match.start(2):]
    return line


def _lines(text: str) -> list[str]:
    """Non-blank lines of `text`, each with its whitespace runs collapsed."""
    return [" ".join(line.split()) for line in str(text).splitlines() if line.strip()]


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": markdown_escape(text), "wrap": True, **style}


def groups_of(message: OutboxMessage) -> list[str]:
    """The stakeholder groups this message is for: payload["groups"], else its comms-matrix row."""
    groups = (message.payload or {}).get("groups")
    if isinstance(groups, list):
        names = [" ".join(str(g).split()) for g in groups if str(g or "").strip()]
        if names:
            return list(dict.fromkeys(names))
    return [message.stakeholder_group] if message.stakeholder_group else []


def card_for(message: OutboxMessage, text_max: int = TEXT_MAX) -> dict[str, Any]:
    """The Adaptive Card for `message`, its long texts cut to `text_max` characters."""
    payload = message.payload or {}
    severity = " ".join(str(payload.get("severity") or "").split())
    incident = " ".join(str(payload.get("id") or message.incident_id or "").split())
    title = " ".join(str(payload.get("title") or "Incident").split())
    head = ": ".join(part for part in (incident, title) if part)
    if severity:
        head = f"[{severity}] {head}"
    event = event_title(message.event)
    status = " ".join(str(payload.get("status") or "").split())
    body: list[dict[str, Any]] = [
        _text_block(truncate(head, TITLE_MAX), size="Large", weight="Bolder",
                    color=_SEVERITY_COLOURS.get(severity.upper(), "Default")),
        _text_block(f"{event} \u2014 {status}" if status else event, weight="Bolder", spacing="Small"),
    ]
    words = update_text(payload) if message.event == "status_update" else ""
    if not words:
        words = str(payload.get("summary") or payload.get("message") or "")
    for line in _lines(truncate(words.strip(), text_max)):
        body.append(_text_block(line))
    facts = [{"title": markdown_escape(name), "value": markdown_escape(truncate(" ".join(str(value).split()), 200))}
             for name, value in (("Severity", severity), ("Service", payload.get("service")),
                                 ("Environment", payload.get("environment")), ("Type", payload.get("type")))
             if value not in (None, "")]
    groups = groups_of(message)
    if groups:
        facts.append({"title": "For", "value": markdown_escape(truncate(", ".join(groups), 500))})
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": body,
                            "msteams": {"width": "Full"}}
    url = payload.get("url")
    if isinstance(url, str) and re.match(r"^https?://[^\s/]+\S*$", url) and len(url) <= 2000:
        card["actions"] = [{"type": "Action.OpenUrl", "title": f"Open {incident or 'the incident'}"[:100],
                            "url": url}]
    return card


def envelope_for(message: OutboxMessage) -> bytes:
    """The exact bytes POSTed: the card in Teams' message envelope, always within the size limit
    (the long texts are cut shorter until it fits)."""
    text_max = TEXT_MAX
    while True:
        document = {"type": "message", "attachments": [
            {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card_for(message, text_max)}]}
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(body) <= MESSAGE_MAX - _MARGIN or text_max <= 0:
            return body
        text_max = 0 if text_max < 64 else text_max // 2


class TeamsNotifier:
    """Delivers outbox messages as Adaptive Cards to a Teams channel (see the module docstring)."""

    integration = "teams"

    def __init__(self, webhook_url_env: str = "TEAMS_WEBHOOK_URL", timeout: float | None = None) -> None:
        self.webhook_url_env = webhook_url_env
        self.timeout = timeout  # None: the client's own timeout

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """POST the card for `message`; sent on 2xx (Teams answers 202), else as integrations.http reads it."""
        payload = message.payload or {}
        incident = payload.get("id") or message.incident_id or "the incident"
        what = f"the {message.event.replace('_', ' ')} card for {incident}"
        url = secret_from_env(self.webhook_url_env).strip()
        if not url:
            return Delivery("retry", f"Teams webhook URL missing: set the environment variable {self.webhook_url_env}.")
        if not url.lower().startswith(("https://", "http://")):
            return Delivery("retry", f"The variable {self.webhook_url_env} does not hold an http(s) URL; "
                                     "accepted: the URL of the channel's Workflows webhook.")
        kwargs: dict[str, Any] = {"content": envelope_for(message), "headers": {"Content-Type": "application/json"}}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        response = request_or_retry(client, "POST", url, vendor="Teams", setting=self.webhook_url_env,
                                    what=what, **kwargs)
        if isinstance(response, Delivery):
            return response
        groups = groups_of(message)
        sent = f"Teams accepted {what}" + (f" for {', '.join(groups)}." if groups else ".")
        return delivery_for(response, vendor="Teams", what=what, sent=sent, secrets=_secrets_of(url),
                            setting=self.webhook_url_env, credentials=f"the webhook URL in {self.webhook_url_env}")


def _secrets_of(url: str) -> list[str]:
    """The URL and its signature: what a vendor's reply must never carry into a detail."""
    secrets = [url]
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return secrets
    return secrets + [value for key in ("sig", "signature", "code") for value in query.get(key, []) if value]
