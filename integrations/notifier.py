"""The shared interface between the outbox deliverer and every outbound notifier.

The outbox stores an `OutboxMessage` per notification in the same transaction as the
change that caused it; the deliverer hands each due message to the `Notifier` of its
integration together with an httpx client, and records the `Delivery` it gets back:
`sent` marks the row done — only when the vendor accepted a message addressed to someone;
`skipped` marks it done without sending, because this notifier addresses no one for it (the
channel is off for this event, no recipient for the group, SMS for SEV-1 only), with the
reason; `retry` schedules another attempt with backoff (honouring `retry_after` when the
vendor gave one); `rejected` dead-letters it at once because the vendor will never accept
it as it is.

A notifier never raises for a vendor's or the network's trouble: it answers a Delivery.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import httpx


@dataclass(frozen=True)
class OutboxMessage:
    """One notification waiting in the outbox, as the deliverer hands it to a notifier."""

    id: int
    incident_id: str | None
    integration: str          # "pagerduty", ...
    event: str                # "declared" | "acknowledged" | "resolved" | "status_update" | "escalated" | "severity_changed"
    idempotency_key: str      # stable per message; PagerDuty uses the incident's dedup_key
    # What the change said: id, title, severity (SEV-1..4), type, environment, service, status,
    # summary; a status update adds the engineer's words: message, affected, next_update_due_at.
    payload: dict
    attempts: int
    # What this integration answered for this incident before (Slack thread ts, Statuspage
    # incident id, Jira issue key, ServiceNow sys_id...), or None on the first message.
    reference: str | None = None
    stakeholder_group: str | None = None  # the comms-matrix row this message is for


@dataclass(frozen=True)
class Delivery:
    """What became of one attempt to deliver an OutboxMessage."""

    outcome: Literal["sent", "skipped", "retry", "rejected"]
    detail: str               # one sentence, never a secret
    retry_after: float | None = None   # seconds, from Retry-After when the vendor gave one
    reference: str | None = None  # the vendor's id for the incident's thread/ticket/page, kept for next time


def update_text(payload: dict) -> str:
    """A status update as the engineer composed it: their words, then Affected and Next
    Update when they gave them ("" when the message carries no update). The one wording
    every channel that publishes an update uses (Statuspage, Slack, e-mail)."""
    words = str(payload.get("message") or "").strip()
    if not words:
        return ""
    lines = [words]
    affected = " ".join(str(payload.get("affected") or "").split())
    due = str(payload.get("next_update_due_at") or "").strip()
    if affected or due:
        lines.append("")
    if affected:
        lines.append(f"Affected: {affected}")
    if due:
        lines.append(f"Next Update: {_utc_minute(due)}")
    return "\n".join(lines)


def _utc_minute(iso: str) -> str:
    """'2024-01-18T15:30:00Z' -> '2024-01-18 15:30 UTC' (the text as it came when unparseable)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return " ".join(iso.split())


class Notifier(Protocol):
    """An outbound integration: turns an OutboxMessage into the vendor's request."""

    integration: str

    def deliver(self, message: OutboxMessage, client: httpx.Client) -> Delivery:
        """Make one attempt to deliver `message` over `client`; never raises for vendor or network trouble."""
        ...


def request_or_retry(client: httpx.Client, method: str, url: str, *, vendor: str, setting: str, what: str,
                     **kwargs) -> httpx.Response | Delivery:
    """Send one request; when the network fails (no answer in time, a bad URL, no
    connection), the retry Delivery a notifier answers instead, in one sentence that
    names the setting to fix and holds no secret."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        return Delivery("retry", f"{vendor} did not answer the {what} in time.")
    except httpx.InvalidURL:
        return Delivery("retry", f"The {vendor} URL is not a valid URL; fix {setting}.")
    except httpx.TransportError as error:
        return Delivery("retry", f"Could not reach {vendor} for the {what} ({type(error).__name__}).")
