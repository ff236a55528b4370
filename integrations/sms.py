"""SMS notifier: text the on-call contacts through Twilio's Messages API.

  [integrations.sms]
  url = "https://api.twilio.com"            # base URL (a proxy, or a fake in tests)
  account_sid = "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  auth_token_env = "TWILIO_AUTH_TOKEN"      # the auth token comes from this variable
  from_number = "+15005550006"              # E.164, a number of the account
  on_call_contacts = ["+14155550100", "+14155550101"]
  critical_only = true                      # text SEV-1 only

Contract (Twilio Messages resource): POST {url}/2010-04-01/Accounts/{AccountSid}/Messages.json,
form-encoded (application/x-www-form-urlencoded, not JSON) To, From and Body (at most 1600
characters), HTTP Basic auth AccountSid:AuthToken. 201 with the message resource (sid
"SM...") means queued; 400 with Twilio's {"code", "message", "more_info", "status"} means
this request will never be accepted (21211 invalid To, 21212 invalid From, 21617 body too
long...); 401 (20003) means the credentials are wrong; 429 and 5xx mean retry later.

Who is texted: the numbers the router put in the message's `recipients` (the stakeholder
group's members, automation/stakeholders.py; the on-call contacts for the on-call group, SEV-1
only with critical_only). A message routed without recipients (no configuration given) goes
to `on_call_contacts`, SEV-1 only with critical_only.

One request per contact. The outbox message counts as sent only when every contact got it;
if any contact's request hit temporary trouble the whole message is retried, and then
contacts who already got it are texted again (Twilio does not deduplicate, and the outbox
keeps no per-contact state): acceptable for a SEV-1 page, where a second text beats a missing
one. If no request failed temporarily but some were refused, the message is rejected (dead
letter) with how many contacts were reached, so a person fixes the number.
A message that texts no one is recorded as skipped with the reason, never sent. The auth token never appears in a detail; contact numbers are
shown masked.
"""
from __future__ import annotations

from typing import Any, Iterable

import httpx

from integrations.http import json_or_none, parse_retry_after, sanitize
from integrations.notifier import Delivery, OutboxMessage
from integrations.secrets import secret_from_env
from integrations.text import mask_number, one_line
from playbooks.severities import canonical_severity

DEFAULT_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
BODY_MAX = 1600
#: A detail names every contact texted and each one's trouble, so it may be longer than a vendor's reason.
SMS_DETAIL_MAX = 500

# Statuses where Twilio's answer is final for this request.
_REJECTED_STATUSES = frozenset({400, 401, 413, 415, 422})


def sms_body(message: OutboxMessage) -> str:
    """The text: "[SEV-1] INC-… title — declared: summary url", one line, at most 1600 characters."""
    payload = message.payload or {}
    severity = str(payload.get("severity") or "").strip()
    incident = str(payload.get("id") or message.incident_id or "").strip()
    title = str(payload.get("title") or "Incident").strip()
    head = " ".join(part for part in (f"[{severity}]" if severity else "", incident, title) if part)
    text = f"{head} \u2014 {message.event.replace('_', ' ')}"
    status = str(payload.get("status") or "").strip()
    if status:
        text += f" ({status})"
    summary = str(payload.get("summary") or payload.get("message") or "").strip()
    if summary:
        text += f": {summary}"
    url = payload.get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        text += f" {url}"
    return one_line(text, BODY_MAX)


class TwilioNotifier:
    """Delivers outbox messages as SMS through Twilio (see the module docstring)."""

    integration = "sms"

    def __init__(self, account_sid: str, *, url: str = DEFAULT_URL, auth_token_env: str = "TWILIO_AUTH_TOKEN",
                 from_number: str, on_call_contacts: Iterable[str], critical_only: bool = True,
                 timeout: float | None = None) -> None:
        self.account_sid = account_sid.strip()
        self.url = url.rstrip("/")
        self.auth_token_env = auth_token_env
        self.from_number = from_number.strip()
        self.on_call_contacts = list(dict.fromkeys(c.strip() for c in on_call_contacts if c and c.strip()))
        self.critical_only = critical_only
        self.timeout = timeout  # None: the client's own timeout

    @property
    def endpoint(self) -> str:
        return f"{self.url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Text the message's recipients; sent when all got it, retry / rejected otherwise (module docstring)."""
        payload = message.payload or {}
        what = f"{payload.get('id') or message.incident_id or 'the message'} {message.event}"
        listed = payload.get("recipients")
        if isinstance(listed, list):  # the router's members of the group (critical_only already applied)
            contacts = list(dict.fromkeys(str(c).strip() for c in listed if str(c).strip()))
            who = message.stakeholder_group or "the group"
            if not contacts:
                return Delivery("skipped", f"Not texted: no member of {who} has an sms number ({what}).")
        else:  # no recipients routed: the on-call contacts, SEV-1 only with critical_only
            if self.critical_only and canonical_severity(payload.get("severity")) != "SEV-1":
                severity = str(payload.get("severity") or "unknown severity")
                return Delivery("skipped", f"Not texted: sms is for SEV-1 only ({what} is {severity}).")
            contacts, who = self.on_call_contacts, "on-call contacts"
            if not contacts:
                return Delivery("skipped", f"Not texted: no on-call contacts configured for sms ({what}).")
        token = secret_from_env(self.auth_token_env).strip()
        if not token:
            return Delivery("retry", f"Twilio auth token missing: set the environment variable {self.auth_token_env}.")
        body = sms_body(message)
        reached: list[str] = []
        temporary: list[str] = []
        refused: list[str] = []
        retry_after: float | None = None
        for contact in contacts:
            outcome, reason, wait = self._text(client, contact, body, token)
            if outcome == "sent":
                reached.append(contact)
            elif outcome == "retry":
                temporary.append(f"{mask_number(contact)}: {reason}")
                if wait is not None:
                    retry_after = max(retry_after or 0.0, wait)
            else:
                refused.append(f"{mask_number(contact)}: {reason}")
        total = len(contacts)
        if temporary:
            problems = "; ".join(temporary + refused)
            return Delivery("retry", sanitize(f"Texted {len(reached)} of {total} {who} about {what}; "
                                              f"will text again: {problems}", [token], SMS_DETAIL_MAX) + ".",
                            retry_after)
        if refused:
            return Delivery("rejected", sanitize(f"Texted {len(reached)} of {total} {who} about {what}; "
                                                 f"Twilio refused {'; '.join(refused)}", [token], SMS_DETAIL_MAX) + ".")
        numbers = ", ".join(mask_number(c) for c in contacts)
        return Delivery("sent", sanitize(f"Texted {who} ({numbers}) about {what}", [token], SMS_DETAIL_MAX) + ".")

    def _text(self, client: httpx.Client, to: str, body: str, token: str) -> tuple[str, str, float | None]:
        """One Messages request: (outcome, reason, retry_after)."""
        kwargs: dict[str, Any] = {"data": {"To": to, "From": self.from_number, "Body": body},
                                  "auth": (self.account_sid, token), "headers": {"Accept": "application/json"}}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        try:
            response = client.post(self.endpoint, **kwargs)
        except httpx.TimeoutException:
            return "retry", "Twilio did not answer in time", None
        except httpx.InvalidURL:
            return "retry", "the Twilio URL is not valid; fix integrations.sms.url", None
        except httpx.TransportError as error:
            return "retry", f"could not reach Twilio ({type(error).__name__})", None
        status = response.status_code
        answer = json_or_none(response)
        if 200 <= status < 300:
            if isinstance(answer, dict) and str(answer.get("sid", "")).startswith(("SM", "MM")):
                return "sent", "", None
            return "retry", f"Twilio answered {status} without a message sid", None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        twilio_error = isinstance(answer, dict) and isinstance(answer.get("code"), int)
        reason = _reason(answer).replace(to, mask_number(to))  # Twilio quotes the number
        if status in _REJECTED_STATUSES or (status in (403, 404) and twilio_error):
            if status == 401:
                return "rejected", (f"credentials refused ({reason or status}); check account_sid and "
                                    f"{self.auth_token_env}"), None
            return "rejected", reason or f"status {status}", None
        if status == 429:
            return "retry", f"rate limited (429{', ' + reason if reason else ''})", retry_after
        if status >= 500:
            return "retry", f"Twilio server error ({status})", retry_after
        return "retry", f"Twilio answered {status}; check integrations.sms.url", retry_after


def _reason(answer: Any) -> str:
    """Twilio's "code message" from an error body, or ""."""
    if not isinstance(answer, dict):
        return ""
    code, text = answer.get("code"), answer.get("message")
    parts = [str(code)] if isinstance(code, int) else []
    if isinstance(text, str) and text.strip():
        parts.append(text.strip())
    return " ".join(parts)
