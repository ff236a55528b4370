"""Voice notifier: a phone call to each recipient through Twilio's Calls API, reading the message out.

  [integrations.voice]
  account_sid = "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  url = "https://api.twilio.com"            # base URL (a proxy, or a fake in tests)
  auth_token_env = "TWILIO_AUTH_TOKEN"      # the auth token comes from this variable
  from_number = "+15005550006"              # E.164, a voice-capable number of the account
  timeout = 10                              # optional

Contract (Twilio Calls resource): POST {url}/2010-04-01/Accounts/{AccountSid}/Calls.json,
form-encoded (application/x-www-form-urlencoded) To, From and Twiml (the instructions
inline, at most 4000 characters: error 32018 beyond), HTTP Basic auth AccountSid:AuthToken.
201 with the call resource (sid "CA...", status "queued") means Twilio will place the call;
400 with Twilio's {"code", "message", "more_info", "status"} is final (21201 no To, 21205
no instructions, 21210 a From that is not the account's, 21211 invalid To, 21213 no From...);
401 (20003) means the credentials are wrong; 408, 429 and 5xx mean retry later.

Who is called: the numbers the router put in the message's `recipients` (the members of the
stakeholder group with a phone number). Absent or empty: nobody is called and the message
is skipped with the reason, never sent.

What is said, as TwiML `<Response><Say>…</Say><Pause/><Say>…</Say></Response>`: the
severity, the incident id read out character by character, the title, the event and status,
and the summary or, for a status update, the engineer's words
(integrations.notifier.update_text); then the head again, for whoever missed the start.
Every text is XML-escaped and stripped of characters XML cannot carry: a title holding
`<Play>https://…</Play>` is spoken as words, never executed.

One call per recipient, with the partial-failure rules of integrations/sms.py: sent only when
every recipient's call was accepted; any temporary trouble retries the whole message (and
recipients already reached are called again: the outbox keeps no per-recipient state, and a
second call beats a missing one); if nothing failed temporarily but some calls were refused,
the message is rejected with how many recipients were reached, so a person fixes the number.
The auth token never appears in a detail; numbers are shown masked.
"""
from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

import httpx

from integrations.http import delivery_for, json_or_none, request_or_retry, sanitize
from integrations.notifier import Delivery, OutboxMessage, update_text
from integrations.secrets import secret_from_env
from integrations.text import mask_number, truncate
from integrations.wording import event_title
from playbooks.severities import canonical_severity

DEFAULT_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
TWIML_MAX = 4000  # Twilio error 32018 beyond
TITLE_MAX = 300
WORDS_MAX = 2000

# Characters XML 1.0 cannot carry at all (escaping cannot save them): Twilio would fail to parse the TwiML.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")


def spelled(identifier: str) -> str:
    """An incident id as a voice reads it out: "INC-2024-001" -> "I N C, 2 0 2 4, 0 0 1"."""
    groups = [" ".join(ch for ch in part if ch.isalnum()) for part in re.split(r"[^0-9A-Za-z]+", identifier)]
    return ", ".join(group for group in groups if group)


def _spoken_severity(value: Any) -> str:
    level = canonical_severity(value)  # SEV-1, sev1, p1, critical ... all read "Severity 1"
    if level:
        return f"Severity {level[-1]}"
    text = " ".join(str(value or "").split())
    return f"Severity {text}" if text else ""


def _plain(text: Any, limit: int) -> str:
    """One line of `text` as data: characters XML cannot carry dropped, whitespace collapsed, bounded."""
    return truncate(" ".join(_NOT_XML.sub(" ", str(text if text is not None else "")).split()), limit)


def _sentence(text: str) -> str:
    return text if not text or text[-1] in ".!?" else text + "."


def spoken_parts(message: OutboxMessage, words_max: int = WORDS_MAX) -> tuple[str, str]:
    """(head, rest) of what the call says, as plain text (not yet XML-escaped)."""
    payload = message.payload or {}
    incident = str(payload.get("id") or message.incident_id or "").strip()
    head = ["Incident alert."]
    severity = _spoken_severity(payload.get("severity"))
    if severity:
        head.append(_sentence(severity))
    if incident:
        head.append(_sentence(f"Incident {spelled(_plain(incident, 80))}"))
    title = _plain(payload.get("title"), TITLE_MAX)
    if title:
        head.append(_sentence(title))
    event = event_title(message.event)
    status = _plain(payload.get("status"), 60)
    rest = [_sentence(f"{event}, status {status}" if status else event)]
    words = update_text(payload) if message.event == "status_update" else ""
    words = words or str(payload.get("summary") or payload.get("message") or "")
    for line in words.splitlines():
        line = _plain(line, words_max)
        if line:
            rest.append(_sentence(line))
    return " ".join(head), truncate(" ".join(rest), words_max + 200)


def twiml_for(message: OutboxMessage) -> str:
    """The TwiML the call runs: the message said once, then its head again; within Twilio's
    4000 characters (the update's words are cut shorter until it fits)."""
    words_max = WORDS_MAX
    while True:
        head, rest = spoken_parts(message, words_max)
        twiml = (f"<Response><Say>{escape(head)} {escape(rest)}</Say><Pause length=\"1\"/>"
                 f"<Say>Again: {escape(head)}</Say></Response>")
        if len(twiml) <= TWIML_MAX or words_max <= 0:
            return twiml if len(twiml) <= TWIML_MAX else f"<Response><Say>{escape(truncate(head, 1500))}</Say></Response>"
        words_max = 0 if words_max < 64 else words_max // 2


def _twilio_reason(answer: Any) -> str:
    """Twilio's "code message" from an error body, or ""."""
    if not isinstance(answer, dict):
        return ""
    code, text = answer.get("code"), answer.get("message")
    parts = [str(code)] if isinstance(code, int) else []
    if isinstance(text, str) and text.strip():
        parts.append(text.strip())
    return " ".join(parts)


class VoiceNotifier:
    """Delivers outbox messages as phone calls through Twilio (see the module docstring)."""

    integration = "voice"

    def __init__(self, account_sid: str, *, url: str = DEFAULT_URL, auth_token_env: str = "TWILIO_AUTH_TOKEN",
                 from_number: str, timeout: float | None = None) -> None:
        self.account_sid = account_sid.strip()
        self.url = url.rstrip("/")
        self.auth_token_env = auth_token_env
        self.from_number = from_number.strip()
        self.timeout = timeout  # None: the client's own timeout

    @property
    def endpoint(self) -> str:
        return f"{self.url}/{API_VERSION}/Accounts/{self.account_sid}/Calls.json"

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Call every recipient; sent when every call was accepted, retry / rejected otherwise (module docstring)."""
        payload = message.payload or {}
        what = f"{payload.get('id') or message.incident_id or 'the message'} {message.event}"
        groups = payload.get("groups")
        who = message.stakeholder_group or (", ".join(str(g) for g in groups) if isinstance(groups, list) else "")
        who = who or "the group"
        listed = payload.get("recipients")
        if not isinstance(listed, list):
            return Delivery("skipped", f"Not called: no recipients were routed for {who} ({what}).")
        recipients = list(dict.fromkeys(str(r).strip() for r in listed if str(r or "").strip()))
        if not recipients:
            return Delivery("skipped", f"Not called: no member of {who} has a phone number ({what}).")
        token = secret_from_env(self.auth_token_env).strip()
        if not token:
            return Delivery("retry", f"Twilio auth token missing: set the environment variable {self.auth_token_env}.")
        twiml = twiml_for(message)
        reached: list[str] = []
        temporary: list[str] = []
        refused: list[str] = []
        retry_after: float | None = None
        for number in recipients:
            outcome = self._call(client, number, twiml, token)
            if outcome.outcome == "sent":
                reached.append(number)
            elif outcome.outcome == "retry":
                temporary.append(f"{mask_number(number)}: {outcome.detail.rstrip('.')}")
                if outcome.retry_after is not None:
                    retry_after = max(retry_after or 0.0, outcome.retry_after)
            else:
                refused.append(f"{mask_number(number)}: {outcome.detail.rstrip('.')}")
        total = len(recipients)
        secrets = [token]
        if temporary:
            problems = "; ".join(temporary + refused)
            return Delivery("retry", sanitize(f"Called {len(reached)} of {total} of {who} about {what}; "
                                              f"will call again: {problems}", secrets, 500) + ".", retry_after)
        if refused:
            return Delivery("rejected", sanitize(f"Called {len(reached)} of {total} of {who} about {what}; "
                                                 f"Twilio refused {'; '.join(refused)}", secrets, 500) + ".")
        numbers = ", ".join(mask_number(n) for n in recipients)
        return Delivery("sent", sanitize(f"Called {who} ({numbers}) about {what}", [token], 500) + ".")

    def _call(self, client: httpx.Client, to: str, twiml: str, token: str) -> Delivery:
        """One Calls request, as the Delivery it would be on its own."""
        kwargs: dict[str, Any] = {"data": {"To": to, "From": self.from_number, "Twiml": twiml},
                                  "auth": (self.account_sid, token), "headers": {"Accept": "application/json"}}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        response = request_or_retry(client, "POST", self.endpoint, vendor="Twilio", setting="integrations.voice.url",
                                    what="call", **kwargs)
        if isinstance(response, Delivery):
            return response
        answer = json_or_none(response)
        status = response.status_code
        if 200 <= status < 300:
            if isinstance(answer, dict) and str(answer.get("sid", "")).startswith("CA"):
                return Delivery("sent", "Twilio queued the call.")
            # Not Twilio's call resource (a proxy's page): the call may not exist, so ask again.
            return Delivery("retry", f"Twilio answered {status} without a call sid.")
        reason = _twilio_reason(answer).replace(to, mask_number(to))  # Twilio quotes the number
        return delivery_for(response, vendor="Twilio", what="the call", sent="", secrets=[token],
                            setting="integrations.voice.url", reason=reason,
                            credentials=f"integrations.voice.account_sid and {self.auth_token_env}")
