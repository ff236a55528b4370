"""The shared HTTP toolkit a notifier is built on, so every vendor reads an answer the same way.

- `request_or_retry` (from integrations.notifier): one request; network trouble becomes the
  retry Delivery, in one sentence naming the setting to fix.
- `delivery_for(response, ...)`: a vendor's HTTP status as the Delivery the outbox records:
  2xx -> sent; 408, 429 and 5xx -> retry, honouring Retry-After; every other 4xx -> rejected
  (the vendor will never accept this request as it is), with the vendor's reason.
- `parse_retry_after`: Retry-After as seconds (delta-seconds or an HTTP date).
- `reply_reason` / `sanitize`: what a vendor said, fit for a Delivery detail: one line,
  bounded, without control characters and without any secret (a vendor may echo the token
  or the webhook URL it was sent). The detail is data: whoever shows it escapes it.
- `json_or_none`: the answer's JSON, or None when it is not JSON (a proxy's HTML page).

A vendor whose 2xx needs a closer look (Twilio's sid, PagerDuty's "success") checks that
before calling `delivery_for`; the rest of the status table is the same for every vendor.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable

import httpx

from integrations.notifier import Delivery, request_or_retry

__all__ = ["DETAIL_MAX", "delivery_for", "is_retryable", "json_or_none", "parse_retry_after", "reply_reason",
           "request_or_retry", "sanitize", "truncate"]

#: The longest vendor reason a detail quotes: enough to fix the request, short enough for one screen line.
DETAIL_MAX = 300

# 408 Request Timeout and 429 Too Many Requests are the two 4xx answers that say "later".
_RETRYABLE_4XX = frozenset({408, 429})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# The keys vendors put their error text under, in the order they are tried.
_REASON_KEYS = ("message", "error_description", "error", "errors", "errorMessages", "detail", "title", "code")


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON document; None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None


def sanitize(text: Any, secrets: Iterable[str] = (), limit: int = DETAIL_MAX) -> str:
    """`text` fit for a detail: every secret replaced by [redacted], one line (control
    characters and line breaks become spaces), at most `limit` characters, no trailing full
    stop (the detail's own sentence ends it)."""
    text = str(text if text is not None else "")
    # Longest first, so a secret that contains another is redacted whole.
    for secret in sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return truncate(" ".join(_CONTROL.sub(" ", text).split()), limit).rstrip(".")


def reply_reason(response: httpx.Response) -> str:
    """What the vendor said about a refusal, raw (sanitize it): the first of the usual error
    keys of a JSON answer (`{"error": {"message": ...}}` too), else a short text body."""
    answer = json_or_none(response)
    if answer is not None:
        return _reason_in(answer)
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("text/html"):
        return ""  # a proxy's or a login page: its markup says nothing a person can act on
    try:
        return response.text[: DETAIL_MAX * 4]
    except (UnicodeDecodeError, LookupError):
        return ""


def _reason_in(answer: Any, depth: int = 0) -> str:
    if depth > 3:
        return ""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list):
        return "; ".join(part for part in (_reason_in(item, depth + 1) for item in answer[:5]) if part)
    if isinstance(answer, dict):
        for key in _REASON_KEYS:
            value = answer.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            reason = _reason_in(value, depth + 1) if value not in (None, "", [], {}) else ""
            if reason:
                return reason
    return ""


def is_retryable(status: int) -> bool:
    """True for the statuses that say "try later": 408, 429, 5xx (and 3xx, which a notifier
    does not follow: the URL is wrong or moved, which a person fixes without losing the message)."""
    return status in _RETRYABLE_4XX or status >= 500 or 300 <= status < 400


def delivery_for(response: httpx.Response, *, vendor: str, what: str, sent: str,
                 secrets: Iterable[str] = (), setting: str | None = None, credentials: str | None = None,
                 reason: str | None = None, reference: str | None = None) -> Delivery:
    """The Delivery for the vendor's answer to `what` ("the declared card for INC-1").

    2xx -> sent with `sent` as detail (and `reference`); 429, 408, 5xx -> retry, after
    Retry-After when given; 3xx -> retry, naming `setting` (the URL's key) to fix; 401/403 ->
    rejected, naming `credentials` (what a person checks: "TEAMS_WEBHOOK_URL"); any other 4xx -> rejected with the vendor's reason (`reason` when the
    caller read it already, else `reply_reason`). No detail ever holds one of `secrets`."""
    status = response.status_code
    if 200 <= status < 300:
        return Delivery("sent", sent, reference=reference)
    secrets = list(secrets)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    said = sanitize(reason if reason is not None else reply_reason(response), secrets)
    said_part = f": {said}" if said else ""
    if status == 429:
        return Delivery("retry", f"{vendor} is rate limiting (429); {what} waits{said_part}.", retry_after)
    if status == 408:
        return Delivery("retry", f"{vendor} timed out reading {what} (408); it will be sent again.", retry_after)
    if status >= 500:
        return Delivery("retry", f"{vendor} had a server error ({status}) on {what}; it will be sent again.",
                        retry_after)
    if 300 <= status < 400 or status < 200:
        fix = f"; check {setting}" if setting else ""
        return Delivery("retry", f"{vendor} answered {status} to {what}{fix}.", retry_after)
    if status in (401, 403):
        fix = f"; check {credentials}" if credentials else ""
        kind = "credentials" if status == 401 else "permission"
        return Delivery("rejected", f"{vendor} refused the {kind} ({status}) for {what}{said_part}{fix}.")
    return Delivery("rejected", f"{vendor} rejected {what} ({status}){said_part}.")
