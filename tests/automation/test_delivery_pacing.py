"""Pacing below a vendor's rate limit (`max_per_second`) holds however late a request
arrives: the vendor counts arrivals, and a request arrives at some moment between our
sending it and its answer. A CI run caught a 429 when the first of a backlog arrived more
than the window's margin after it was sent."""
from __future__ import annotations

import threading
import time

import pytest

from automation.delivery import Deliverer
from automation.routing import route_by_matrix
from integrations.notifier import Delivery
from store.operations import IncidentStore

LIMIT = 5


class LateArrivals:
    """A vendor that records when each request arrives, the first one late in its call (a
    connection being set up, a busy machine), and answers at once after arriving."""

    max_per_second = LIMIT

    def __init__(self, first_late_s: float) -> None:
        self.arrivals: list[float] = []
        self.first_late_s = first_late_s
        self.lock = threading.Lock()

    def deliver(self, message, client) -> Delivery:
        if not self.arrivals:
            time.sleep(self.first_late_s)
        with self.lock:
            self.arrivals.append(time.monotonic())
        return Delivery("sent", "accepted")

    def most_in_one_second(self) -> int:
        return max(sum(1 for t in self.arrivals if start <= t < start + 1.0) for start in self.arrivals)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_second_of_arrivals_holds_more_than_the_limit_when_the_first_arrives_late(store):
    routed = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, {"pagerduty"}))
    for n in range(2 * LIMIT + 2):
        routed.declare("low", "data", "production", actor="a", title=f"backlog {n}")
    vendor = LateArrivals(first_late_s=0.3)  # well past the window's margin over a second
    deliverer = Deliverer(routed, {"pagerduty": vendor}, timeout=5)
    try:
        assert deliverer.deliver_due(limit=100) == 2 * LIMIT + 2
    finally:
        deliverer.close()
    assert len(vendor.arrivals) == 2 * LIMIT + 2
    assert vendor.most_in_one_second() <= LIMIT, [round(t - vendor.arrivals[0], 3) for t in vendor.arrivals]
