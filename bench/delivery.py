"""Outbox delivery benchmarks (`make bench`): time from a committed change to the vendor
(a PagerDuty contract fake on loopback) receiving its message, p50/p99; and a 10,000-message
backlog drained while the vendor enforces a rate limit (429 + Retry-After). Nothing fails on a
time: each goal is printed with "met" or "missed" for this run's figures (bench/README.md)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automation.delivery import Deliverer  # noqa: E402
from automation.routing import route_by_matrix  # noqa: E402
from bench.goals import Goal, condition, print_goals  # noqa: E402
from integrations.pagerduty import PagerDutyNotifier  # noqa: E402
from playbooks import load_policy  # noqa: E402
from store.database import open_database  # noqa: E402
from store.operations import IncidentStore  # noqa: E402
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake  # noqa: E402


# bench/README.md says where each goal comes from.
COMMIT_TO_VENDOR = Goal("commit to vendor received, p99", "ms", at_most=1000)
DRAIN_RATE = Goal("backlog drain rate, share of the vendor's limit", "%", at_least=50)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    changes, backlog_size, rate = (30, 1000, 200) if args.quick else (200, 10_000, 200)
    os.environ["PAGERDUTY_ROUTING_KEY"] = ROUTING_KEY
    policy = load_policy()
    with tempfile.TemporaryDirectory(prefix="ir-delivery-") as tmp, PagerDutyFake() as fake:
        db = open_database(f"sqlite:///{tmp}/x.db")
        store = IncidentStore(db, policy, router=route_by_matrix(policy, {"pagerduty"}))
        deliverer = Deliverer(store, {"pagerduty": PagerDutyNotifier(url=fake.url)})
        stop = threading.Event()
        threading.Thread(target=deliverer.run, args=(stop,), kwargs={"interval": 0.1}, daemon=True).start()
        latencies = []
        for n in range(changes):
            incident = store.declare("high", "outage", "production", actor="bench", title=f"latency {n}")
            committed = time.perf_counter()
            while incident.id not in fake.alerts:
                time.sleep(0.001)
            latencies.append((time.perf_counter() - committed) * 1000)
        stop.set()
        time.sleep(0.3)
        # The backlog: a vendor that was down while 10k changes happened, now up but throttling.
        fake.rate_per_second = rate
        fake.down(refuse=True)
        for n in range(backlog_size):
            store.declare("low", "data", "production", actor="bench", title=f"backlog {n}")
        fake.up()
        paced = PagerDutyNotifier(url=fake.url)
        paced.max_per_second = rate  # as `max_per_second = 200` in its config table
        drain = Deliverer(store, {"pagerduty": paced})
        started = time.perf_counter()
        received_before = len(fake.requests)
        while len(fake.requests) - received_before < backlog_size and time.perf_counter() - started < 600:
            if drain.deliver_due(limit=500) == 0:
                time.sleep(0.05)
        drained = time.perf_counter() - started
        delivered = len(fake.requests) - received_before
        drain.close()
        deliverer.close()
        db.dispose()
    results = {
        "commit_to_vendor_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "n": changes,
                                "poll_interval_s": 0.1},
        "backlog": {"messages": backlog_size, "delivered": delivered, "seconds": drained,
                    "per_second": delivered / drained if drained else 0.0, "vendor_limit_per_second": rate,
                    "throttled_answers": fake.throttled},
    }
    print(f"{'figure':<48} {'value':>14}")
    print("-" * 64)
    print(f"{'commit to vendor received, p50 / p99 (ms)':<48} {results['commit_to_vendor_ms']['p50']:>6.1f} / "
          f"{results['commit_to_vendor_ms']['p99']:.1f}")
    b = results["backlog"]
    print(f"{'backlog of %d drained (s)' % b['messages']:<48} {b['seconds']:>14.1f}")
    print(f"{'  delivered / rate (msg/s) / vendor limit':<48} {b['delivered']:>6} / {b['per_second']:.0f} / "
          f"{b['vendor_limit_per_second']}")
    print(f"{'  429 answers while draining':<48} {b['throttled_answers']:>14}")
    print()
    verdicts = [
        COMMIT_TO_VENDOR.check(results["commit_to_vendor_ms"]["p99"]),
        condition("backlog delivered", "every message", b["delivered"] == b["messages"],
                  f"{b['delivered']} of {b['messages']}"),
        condition("vendor's rate limit while draining", "respected: no 429 answer", b["throttled_answers"] == 0,
                  f"{b['throttled_answers']} answers of 429"),
        DRAIN_RATE.check(100 * b["per_second"] / b["vendor_limit_per_second"]),
    ]
    print_goals(verdicts)
    results["goals"] = [v.as_json() for v in verdicts]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "delivery.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
