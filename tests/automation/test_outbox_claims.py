"""Outbox claims (issue 16): deliverers on several hosts share one outbox; a row is claimed
(FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite) with a lease before it is
sent, so no two send it, and a claim left by a process that died runs out and is retried."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlmodel import Session, select

from automation.delivery import CLAIM_S, Deliverer
from automation.routing import route_by_matrix
from integrations.notifier import Delivery
from store import outbox
from store.models import Notification
from store.operations import IncidentStore

VENDORS = {"pagerduty", "slack", "sms", "statuspage"}


class CountingVendor:
    """Accepts every message and counts each idempotency key it was sent."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.hold = hold
        self.arrived = threading.Event()

    def deliver(self, message, client) -> Delivery:
        with self.lock:
            self.received[message.idempotency_key] += 1
        self.arrived.set()
        if self.hold is not None:
            assert self.hold.wait(10)
        return Delivery("sent", "accepted")


def _routed(store) -> IncidentStore:
    return IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, VENDORS))


def _rows(store) -> list[Notification]:
    with store.db.read() as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))


def _claim(store, claimer: str, limit: int = 100) -> list[int]:
    now = store.now()
    with Session(store.db.write_engine) as session, session.begin():
        return [row.id for row in outbox.claim_due(session, claimer, now, now + timedelta(seconds=CLAIM_S), limit)]


def test_claims_keep_deliverers_apart_and_a_dead_claimers_batch_is_taken_when_its_lease_ends(store, clock):
    routed = _routed(store)
    for n in range(3):
        routed.declare("critical", "outage", "production", actor="alice", title=f"Checkout down {n}")
    pending = [row.id for row in _rows(store) if row.state == "pending"]
    assert len(pending) >= 6

    first = _claim(store, "host-a", limit=4)
    second = _claim(store, "host-b")
    assert first == pending[:4] and second == pending[4:]  # disjoint, nothing left out
    assert _claim(store, "host-c") == []  # everything is held
    held = {row.id: (row.claimed_by, row.claimed_until) for row in _rows(store) if row.id in pending}
    assert {who for who, _ in held.values()} == {"host-a", "host-b"}

    clock.advance(seconds=CLAIM_S - 1)
    assert _claim(store, "host-c") == []  # still within the lease
    clock.advance(seconds=1)
    # host-a and host-b died without sending: their leases ended, host-c takes every row.
    assert _claim(store, "host-c") == pending


def test_of_deliverers_racing_for_one_row_exactly_one_takes_it(store):
    _routed(store).declare("critical", "outage", "production", actor="alice", title="Checkout down")
    row = next(row for row in _rows(store) if row.state == "pending")
    start = threading.Barrier(6)
    won: list[str] = []

    def race(claimer: str) -> None:
        start.wait()
        now = store.now()
        with Session(store.db.write_engine) as session, session.begin():
            if outbox.take(session, row.id, claimer, now, now + timedelta(seconds=30)):
                won.append(claimer)

    threads = [threading.Thread(target=race, args=(f"host-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    assert next(r for r in _rows(store) if r.id == row.id).claimed_by == won[0]


def test_four_deliverers_at_once_send_every_message_exactly_once(store):
    routed = _routed(store)
    for n in range(8):
        incident = routed.declare("critical", "outage", "production", actor="alice", title=f"Checkout down {n}")
        routed.acknowledge(incident.id, actor="bob")
    expected = {row.idempotency_key for row in _rows(store) if row.state == "pending"}
    vendor = CountingVendor()
    deliverers = [Deliverer(routed, {name: vendor for name in VENDORS}) for _ in range(4)]
    start = threading.Barrier(len(deliverers))
    errors: list[BaseException] = []

    def drain(deliverer: Deliverer) -> None:
        start.wait()
        try:
            for _ in range(200):  # a bound; each pass claims a few rows
                deliverer.deliver_due(limit=3)
                if not any(row.state == "pending" for row in _rows(store)):
                    return
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(d,)) for d in deliverers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for deliverer in deliverers:
        deliverer.close()
    assert errors == []
    assert {row.state for row in _rows(store) if row.idempotency_key in expected} == {"sent"}
    assert set(vendor.received) == expected
    assert set(vendor.received.values()) == {1}
    assert all(row.attempts == 1 and row.claimed_until is None for row in _rows(store) if row.state == "sent")


def test_a_deliverer_whose_hold_ran_out_leaves_the_row_to_the_one_that_took_it(store, clock):
    routed = _routed(store)
    routed.declare("low", "data", "production", actor="alice", title="Export slow")  # one pagerduty row
    [row] = [row for row in _rows(store) if row.state == "pending"]
    release = threading.Event()
    slow = CountingVendor(hold=release)
    stuck = Deliverer(routed, {"pagerduty": slow})
    quick_vendor = CountingVendor()
    quick = Deliverer(routed, {"pagerduty": quick_vendor})
    worker = threading.Thread(target=stuck.deliver_due)
    worker.start()
    try:
        assert slow.arrived.wait(10)
        assert quick.deliver_due() == 0  # held by the one sending it
        clock.advance(minutes=5)  # far past its hold: as if it hung or died mid-send
        assert quick.deliver_due() == 1
    finally:
        release.set()
        worker.join(10)
        stuck.close()
        quick.close()
    [after] = _rows(store)
    # The late answer changes nothing: the row is the taker's, sent once by its count.
    assert (after.state, after.attempts, after.claimed_by) == ("sent", 1, quick.claimer)
