"""Deliver the outbox: due messages go to their notifier; success marks them sent, a
temporary failure reschedules with backoff (Retry-After honoured), a permanent one or too
many attempts dead-letters them for a person to retry. A message is marked sent only after
the vendor accepted it, so a crash in between re-sends it: vendors that deduplicate
(PagerDuty dedup_key, Opsgenie alias) see it once, and none is ever lost.

Every deliverer claims what it sends (store/outbox.py claim_due/take: a lease on the row),
so any number of them — `watch` on several hosts, command centers, a shell command's own
attempt — share one outbox and each message goes out once. Every `watch` delivers, not only
the leader: the claims already keep them apart, and when one is killed the others go on at
their next pass (a second), taking its unsent claims once those run out (CLAIM_S), instead
of everything waiting for a new leader; only the one message it was sending when it died
waits out the longer send hold, and may reach a vendor twice (it may have arrived)."""
from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections import deque
from contextlib import contextmanager
from datetime import timedelta
from typing import Callable, Iterator

import httpx
from sqlalchemy import select as sa_select
from sqlmodel import Session

from integrations.notifier import Notifier, OutboxMessage
from integrations.secrets import SecretFileError
from store import outbox
from store.activity_log import ActivityLog
from store.models import Notification, VendorReference
from store.operations import IncidentStore
from store.review import TICKET_EVENT, record_ticket


# A little over a second, counted from when each request was answered: the vendor counts
# arrivals, and a request arrives at some moment between our sending it and its answer,
# however late a loaded machine or network makes that moment (see _pace).
PACING_WINDOW_S = 1.05
# How long a claimed batch is held before it is sent: short, so a deliverer that died leaves
# its batch to the others within seconds. Each message is held longer right before it is
# sent (_claim), for as long as its request may take.
CLAIM_S = 5.0


class Deliverer:
    def __init__(self, store: IncidentStore, notifiers: dict[str, Notifier], *, timeout: float = 10.0,
                 on_event: Callable[[str], None] | None = None, activity: ActivityLog | None = None) -> None:
        self.store = store
        self.notifiers = notifiers
        self.client = httpx.Client(timeout=timeout)
        self.on_event = on_event or (lambda line: None)
        self.activity = activity
        # A vendor that said "slow down" (429 + Retry-After) gets nothing until then: the
        # other messages for it wait too instead of hammering it one by one.
        self.paused_until: dict[str, object] = {}
        # Vendors with a known limit (`max_per_second` in their config table) are paced
        # below it, so a drained backlog is not a stream of 429s: send times of the last second.
        self._sent: dict[str, deque[float]] = {}
        # Who holds a claim: this deliverer only (a restarted process is someone else).
        self.claimer = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"

    def close(self) -> None:
        self.client.close()

    def deliver_due(self, limit: int = 100) -> int:
        """One pass over due messages; returns how many were sent."""
        now = self.store.now()
        with self._claims() as session:
            batch = outbox.claim_due(session, self.claimer, now, now + timedelta(seconds=CLAIM_S), limit)
        sent = 0
        for row in batch:
            until = self.paused_until.get(row.integration)
            if until is not None and self.store.now() < until:
                self._let_go(row)
                continue
            sent += self._deliver(row)
        return sent

    @contextmanager
    def _claims(self) -> Iterator[Session]:
        """A short transaction of its own for claims: they are bookkeeping, not events, so
        they do not wait for the audit chain's lock (SQLite's BEGIN IMMEDIATE still serialises)."""
        with Session(self.store.db.write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _let_go(self, row: Notification) -> None:
        with self._claims() as session:
            outbox.let_go(session, row.id, self.claimer)

    def _pace(self, integration: str, notifier: Notifier | None) -> None:
        """Wait, if need be, so that no more than max_per_second requests go to this
        vendor in any one second (a sliding window, as vendors count). Each request's place
        in the window is taken now and moved to when it was answered (_answered): a request
        sent a window after the one max_per_second before it was answered arrives a window
        after that one arrived, even when that one arrived late."""
        limit = getattr(notifier, "max_per_second", None)
        if not limit:
            return
        sent = self._sent.setdefault(integration, deque())
        while True:
            now = time.monotonic()
            while sent and now - sent[0] >= PACING_WINDOW_S:
                sent.popleft()
            if len(sent) < limit:
                sent.append(now)
                return
            time.sleep(PACING_WINDOW_S - (now - sent[0]))

    def _answered(self, integration: str, notifier: Notifier | None) -> None:
        if getattr(notifier, "max_per_second", None) and self._sent.get(integration):
            self._sent[integration][-1] = time.monotonic()

    def _claim(self, row: Notification) -> bool:
        """Take the message for this attempt, so another deliverer (a `watch`, a command
        center, a shell command's own attempt) does not send it at the same time. It is held
        for longer than a request may take; if this process dies mid-send, the message is
        claimable again when the hold ends and is tried again then."""
        now = self.store.now()
        hold = now + timedelta(seconds=self.client.timeout.read or 10.0) * 2 + timedelta(seconds=10)
        with self._claims() as session:
            return outbox.take(session, row.id, self.claimer, now, hold)

    def deliver_one(self, row: Notification) -> int:
        """One attempt at one message (1 if it was sent)."""
        return self._deliver(row)

    def _waits_for_earlier(self, row: Notification) -> bool:
        """True while an earlier message of the same incident to the same integration is still
        pending. Later messages build on the first (the ticket a comment goes on, the thread a
        reply joins, the alert an acknowledgement finds), so they go out in the order they were
        written, also while the first waits out a vendor's outage (or another deliverer's claim);
        without this, an update due before the retried create would file the ticket itself."""
        if row.incident_id is None or row.event == TICKET_EVENT:
            return False  # an action item's ticket is a ticket of its own
        with self.store.db.read() as session:
            earlier = session.execute(sa_select(Notification.id).where(
                Notification.incident_id == row.incident_id, Notification.integration == row.integration,
                Notification.state == "pending", Notification.event != TICKET_EVENT,
                Notification.id < row.id).limit(1)).first()
        return earlier is not None

    def _deliver(self, row: Notification) -> int:
        if self._waits_for_earlier(row):
            self._let_go(row)
            return 0  # tried after the earlier one is sent, skipped or dead-lettered
        notifier = self.notifiers.get(row.integration)
        self._pace(row.integration, notifier)
        if not self._claim(row):
            return 0  # another deliverer has it
        with self.store.db.read() as session:
            known = session.get(VendorReference, (row.incident_id, row.integration)) if row.incident_id else None
        message = OutboxMessage(row.id, row.incident_id, row.integration, row.event, row.idempotency_key,
                                json.loads(row.payload), row.attempts, known.reference if known else None,
                                row.stakeholder_group)
        reference = None
        if notifier is None:
            result_outcome, detail, retry_after = "retry", f"{row.integration} is not configured", 300.0
        else:
            try:
                result = notifier.deliver(message, self.client)
                result_outcome, detail, retry_after = result.outcome, result.detail, result.retry_after
                reference = result.reference
            except SecretFileError as exc:  # the person must fix the file: say exactly how
                result_outcome, detail, retry_after = "retry", str(exc), 300.0
            except Exception as exc:  # a notifier bug must not stop the others
                result_outcome, detail, retry_after = "retry", f"{row.integration} failed: {type(exc).__name__}", None
            finally:
                self._answered(row.integration, notifier)
        now = self.store.now()
        with self.store.db.write() as session:
            current = session.get(Notification, row.id)
            if current is None or current.state != "pending" or current.claimed_by != self.claimer:
                return 0  # another deliverer got there first (our hold ran out and it took the row)
            current.attempts += 1
            current.claimed_until = None  # done with it: a retry is anyone's at its next attempt
            if result_outcome == "sent":
                current.state, current.sent_at, current.last_error = "sent", now, None
                if reference and row.event == TICKET_EVENT:  # an action item's own ticket, not the incident's
                    record_ticket(self.store, session, message.payload, reference, now)
                elif reference and row.incident_id:
                    session.merge(VendorReference(incident_id=row.incident_id, integration=row.integration,
                                                  reference=reference[:256]))
            elif result_outcome == "skipped":  # the notifier addressed no one: not sent, and why
                current.state, current.last_error, current.next_attempt_at = "skipped", detail, None
            elif result_outcome == "rejected" or current.attempts >= outbox.MAX_ATTEMPTS:
                current.state, current.last_error = "dead", detail
            else:
                current.next_attempt_at = now + outbox.backoff(current.attempts, retry_after)
                current.last_error = detail
                if retry_after is not None:
                    self.paused_until[row.integration] = current.next_attempt_at
            session.add(current)
            state, attempts = current.state, current.attempts
        if self.activity is not None:
            self.activity.write("delivery", integration=row.integration, notification=row.id,
                                incident=row.incident_id, message_event=row.event, group=row.stakeholder_group,
                                outcome=result_outcome, state=state, attempts=attempts, detail=detail,
                                retry_after=retry_after)
        self.on_event(f"{row.integration} {row.event} {row.incident_id}: {result_outcome} ({detail})")
        return 1 if result_outcome == "sent" else 0

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception as exc:  # the database may be briefly unavailable: try again
                self.on_event(f"delivery paused: {exc}")
                if self.activity is not None:
                    self.activity.write("delivery_paused", error=f"{type(exc).__name__}: {exc}")
            stop.wait(interval)
