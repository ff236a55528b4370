"""Custom webhook notifier: a signed JSON POST for proprietary systems (secure channels, SOAR...).

  [integrations.webhook]
  url = "https://hooks.example.com/incident"
  secret_env = "IR_WEBHOOK_SIGNING_SECRET"  # the HMAC key comes from this variable
  name = "webhook"                          # the integration name the comms matrix routes to

The request: POST {url} with the JSON body

  {"event": "declared", "idempotency_key": "...", "incident_id": "INC-...",
   "stakeholder_group": "Security Team", "payload": {...the change: id, title, severity...}}

(UTF-8, keys sorted, no insignificant whitespace; identical for every attempt of a message)
and the headers
  Content-Type: application/json
  X-Signature-256: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed with the secret>
  Idempotency-Key: <the outbox message's idempotency key>   (also in the body)
The receiver recomputes the HMAC over the raw body it read (before parsing it) and compares
in constant time (`verify_signature` does exactly that); it deduplicates on Idempotency-Key,
since a crash between send and mark-sent sends the same message again.

Outcomes: 2xx -> sent; 4xx except 408 and 429 -> rejected (the receiver refuses this body or
this signature); 408, 429, 3xx, 5xx and network trouble -> retry (Retry-After honoured).
Neither the secret nor the URL (which may carry a token) appears in a detail.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from integrations.http import parse_retry_after
from integrations.notifier import Delivery, OutboxMessage
from integrations.secrets import secret_from_env

SIGNATURE_HEADER = "X-Signature-256"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The X-Signature-256 value for `body`: "sha256=" + hex HMAC-SHA256 keyed with `secret`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the signature of exactly `body` under `secret` (constant-time compare)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(body, secret).encode("ascii"), header.strip().encode("ascii", "replace"))


def body_for(message: OutboxMessage) -> bytes:
    """The exact bytes POSTed (and signed) for `message`: the same for every attempt."""
    document = {"event": message.event, "idempotency_key": message.idempotency_key,
                "incident_id": message.incident_id, "stakeholder_group": message.stakeholder_group,
                "payload": message.payload or {}}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


class WebhookNotifier:
    """Delivers outbox messages as signed JSON POSTs to one URL (see the module docstring)."""

    def __init__(self, url: str, secret_env: str = "IR_WEBHOOK_SIGNING_SECRET", name: str = "webhook",
                 timeout: float | None = None) -> None:
        self.url = url
        self.secret_env = secret_env
        self.name = name
        self.integration = name  # several webhooks can be configured under different names
        self.timeout = timeout  # None: the client's own timeout

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """POST the signed body; sent on 2xx, rejected on 4xx (not 408/429), retry otherwise."""
        secret = secret_from_env(self.secret_env)
        if not secret.strip():
            return Delivery("retry", f"Webhook signing secret missing: set the environment variable {self.secret_env}.")
        body = body_for(message)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret),
                   IDEMPOTENCY_HEADER: message.idempotency_key, "User-Agent": "incident-response-webhook/1"}
        what = f"{message.incident_id or 'the message'} {message.event}"
        kwargs: dict[str, Any] = {"content": body, "headers": headers}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        try:
            response = client.post(self.url, **kwargs)
        except httpx.TimeoutException:
            return Delivery("retry", f"The {self.name} endpoint did not answer in time for {what}.")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return Delivery("retry", f"The {self.name} URL is not a valid URL; fix integrations.{self.name}.url.")
        except httpx.TransportError as error:
            return Delivery("retry", f"Could not reach the {self.name} endpoint for {what} ({type(error).__name__}).")
        status = response.status_code
        if 200 <= status < 300:
            return Delivery("sent", f"The {self.name} endpoint accepted {what} ({status}).")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if 400 <= status < 500 and status not in (408, 429):
            hint = " (check the signing secret)" if status in (401, 403) else ""
            return Delivery("rejected", f"The {self.name} endpoint refused {what} ({status}){hint}.")
        return Delivery("retry", f"The {self.name} endpoint answered {status} to {what}; will send again.", retry_after)
