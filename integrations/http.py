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
- `BasicAuthCall`: one attempt's requests to a Basic-auth vendor (Jira, ServiceNow).
- For the metric and log sources: `env_secret` (a credential, or SourceUnavailable naming
  its variable), `redact` (a source's error reason), `checked_config` (a [sources.*] table),
  `checked_limit` (a log line limit), `where` (a URL without credentials or path).

A vendor whose 2xx needs a closer look (Twilio's sid, PagerDuty's "success") checks that
before calling `delivery_for`; the rest of the status table is the same for every vendor.
"""
from __future__ import annotations

import base64
import math
from dataclasses import fields
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import httpx

from integrations.errors import SourceUnavailable
from integrations.notifier import Delivery, request_or_retry
from integrations.secrets import SecretFileError, secret_from_env
from integrations.text import one_line, redacted
from playbooks.errors import PolicyValueError

__all__ = ["DETAIL_MAX", "LOG_USER_AGENT", "BasicAuthCall", "checked_config", "checked_limit", "delivery_for",
           "env_secret", "is_retryable", "json_or_none", "parse_retry_after", "redact", "reply_reason",
           "request_or_retry", "sanitize", "where"]

#: The longest vendor reason a detail quotes: enough to fix the request, short enough for one screen line.
DETAIL_MAX = 300

# 408 Request Timeout and 429 Too Many Requests are the two 4xx answers that say "later".
_RETRYABLE_4XX = frozenset({408, 429})
# The keys vendors put their error text under, in the order they are tried.
_REASON_KEYS = ("message", "error_description", "error", "errors", "errorMessages", "detail", "title", "code")


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
    return one_line(redacted(str(text if text is not None else ""), secrets), limit).rstrip(".")


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


class BasicAuthCall:
    """One attempt's requests to a Basic-auth vendor (Jira, ServiceNow): transport trouble and
    non-2xx answers become the Delivery the outbox records, never with a secret."""

    def __init__(self, client: httpx.Client, auth: tuple[str, str], timeout: float | None,
                 secrets: Iterable[str], *, vendor: str, credentials: str, missing: str,
                 reason_of: Callable[[httpx.Response], str] = reply_reason) -> None:
        self.vendor = vendor
        self.reason_of = reason_of  # how this vendor words its errors
        self.credentials = credentials  # what to check on a 401
        self.missing = missing  # what a 404 means
        self.client = client
        self.auth = auth
        self.timeout = timeout
        # The Authorization header's credential, never to appear in a detail either.
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self.secrets = [*secrets, basic]

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response | Delivery:
        kwargs.setdefault("headers", {"Accept": "application/json"})
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        try:
            return self.client.request(method, url, auth=self.auth, **kwargs)
        except httpx.TimeoutException:
            return Delivery("retry", f"{self.vendor} did not answer in time (to {what}).")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return Delivery("retry", f"The {self.vendor} URL is not a valid URL; fix integrations.{self.vendor.lower()}.url.")
        except httpx.TransportError as error:
            return Delivery("retry", f"Could not reach {self.vendor} to {what} ({type(error).__name__}).")

    def failure(self, response: httpx.Response, what: str) -> Delivery:
        """The Delivery for a non-2xx answer to a write."""
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return Delivery("retry", f"{self.vendor} is rate limiting (429); waiting to {what}.", retry_after)
        if status >= 500:
            return Delivery("retry", f"{self.vendor} had a server error ({status}) trying to {what}.", retry_after)
        if status == 401:
            return Delivery("rejected", f"{self.vendor} refused the credentials (401) trying to {what}; "
                                        f"check the {self.credentials} variables.")
        reason = sanitize(self.reason_of(response), self.secrets)
        if status == 403:
            detail = f"{self.vendor} refused permission (403) to {what}"
        elif status == 404:
            detail = f"{self.vendor} found no such {self.missing} (404) trying to {what}"
        elif status in (400, 405, 409, 413, 415, 422):
            detail = f"{self.vendor} rejected the request (status {status}) to {what}"
        else:
            return Delivery("retry", f"{self.vendor} answered {status} trying to {what}; check integrations.{self.vendor.lower()}.url.",
                            retry_after)
        return Delivery("rejected", f"{detail}: {reason}." if reason else f"{detail}.")


# -- shared by the metric and log sources ------------------------------------------------------

#: What the log sources (Splunk, Elasticsearch) call themselves in a request.
LOG_USER_AGENT = "incident-response-log-collection"
#: The most log lines one collection may ask a log source for.
MAX_LOG_LIMIT = 1_000_000


def env_secret(env: str, vendor: str) -> str:
    """The secret in environment variable `env` (or the owner-only file `env`_FILE names), read
    now; missing, blank or an unsafe file -> SourceUnavailable naming it."""
    try:
        value = secret_from_env(env)
    except SecretFileError as exc:
        raise SourceUnavailable(f"{vendor} credentials: {exc}") from None
    if not value.strip():
        raise SourceUnavailable(f"{vendor} credentials are missing: environment variable {env} is not set")
    return value.strip()


def redact(text: str, secrets: Iterable[str]) -> str:
    """A source's error reason: one line, at most 200 characters, any secret shown as ***."""
    return one_line(redacted(text, secrets, "***"), 200)


def checked_config(where: str, table: dict[str, Any], cls: type, *, url_key: str | None,
                   ignored: tuple[str, ...] = ("interval", "enabled")) -> dict[str, Any]:
    """A metric source's table: known keys only, URL and numbers sane, queries a table. Raises
    ValueError, one sentence naming the key and what is accepted."""
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(str(key) for key in table if key not in known and key not in ignored)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]} is not known; accepted: {', '.join(sorted(known | set(ignored)))}")
    values = {key: value for key, value in table.items() if key in known}
    if url_key and url_key in values:
        url = values[url_key]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"{where}.{url_key} is {url!r}; accepted: an http:// or https:// URL")
    for key in ("timeout", "window"):
        if key in values:
            value = values[key]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 86400:
                raise ValueError(f"{where}.{key} is {value!r}; accepted: a positive number of seconds")
            values[key] = float(value)
    for key, value in values.items():
        if key.endswith("_env") and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{where}.{key} is {value!r}; accepted: the name of an environment variable")
    queries = values.get("queries")
    if not isinstance(queries, dict) or not queries:
        raise ValueError(f"{where}.queries must map metric names to queries; accepted: error_rate = '...'")
    values["queries"] = dict(queries)
    return values


def checked_limit(limit: Any) -> int:
    """A log line limit, or a one-sentence refusal naming the accepted range."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LOG_LIMIT:
        raise PolicyValueError(f"the log line limit {limit!r} is out of range; accepted: 1..{MAX_LOG_LIMIT}")
    return limit


def where(url: str) -> str:
    """scheme://host[:port] of a URL, never its user, password, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'http'}://{host}{port}"
