"""A fixed demo data set: the spec's dashboard example, for screenshots, snapshots and trying
the command center (`incident-response demo`-style seeding). Deterministic for a given clock."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from store.models import Anomaly, MetricSample
from store.operations import IncidentStore

# (metric, baseline, now) — the spec's "System Health Overview" numbers.
HEALTH = [
    ("error_rate", 4.2, 12.3),
    ("response_time", 0.6, 2.4),
    ("throughput", 2267.0, 1247.0),
    ("cpu", 55.0, 89.0),
    ("memory", 64.0, 76.0),
]
ANOMALIES = [
    (-7, "error_rate", "Spike in database connection errors"),
    (-4, "health_check", "Load balancer health check failures"),
    (-2, "support_tickets", "Customer report surge (+300% support tickets)"),
    (0, "dependency_latency", "Third-party API response degradation"),
]


def seed_demo(store: IncidentStore, clock) -> dict[str, str]:
    """Declare the spec's two active incidents (and a few more), with history and health.

    `clock` must be a settable clock (tests' FrozenClock): the seed moves it through the
    incident's first hour and leaves it at "now".
    """
    now = clock()
    ids: dict[str, str] = {}
    clock.moment = now - timedelta(hours=2)
    perf = store.declare("high", "performance", "production", actor="maria", title="Search latency degradation",
                         service="search-api")
    ids["performance"] = perf.id
    store.acknowledge(perf.id, actor="maria")
    store.assign_role(perf.id, "ic", "maria", actor="maria")
    clock.moment = now - timedelta(minutes=45)
    outage = store.declare("critical", "outage", "production", actor="sam",
                           title="All users unable to access main application", service="web")
    ids["outage"] = outage.id
    clock.moment = now - timedelta(minutes=43)
    store.acknowledge(outage.id, actor="sam")
    store.assign_role(outage.id, "ic", "sam", actor="sam")
    store.assign_role(outage.id, "comms", "priya", actor="sam")
    store.tick(outage.id, ["1", "2", "3"], actor="sam")
    clock.moment = now - timedelta(minutes=40)
    store.post_status_update(outage.id, "We are currently investigating reports of users being unable to access "
                             "our main application.", actor="priya", affected="All users unable to access main application")
    clock.moment = now - timedelta(minutes=30)
    store.add_note(outage.id, "Database connection errors spiking since 14:25", actor="sam")
    store.change_status(outage.id, "identified", actor="sam")
    store.tick(outage.id, ["4", "6", "7"], actor="sam")
    for minutes, text in [(25, "Database connection pool increased"), (20, "Additional application instances deployed"),
                          (15, "CDN cache refresh initiated"), (10, "Third-party vendor contacted")]:
        clock.moment = now - timedelta(minutes=minutes)
        store.start_remediation(outage.id, text, actor="sam")
    clock.moment = now - timedelta(hours=26)
    minor = store.declare("low", "data", "staging", actor="li", title="Nightly export has duplicate rows")
    ids["data"] = minor.id
    clock.moment = now
    _seed_health(store, now)
    return ids


def _seed_health(store: IncidentStore, now: datetime) -> None:
    with store.db.write() as session:
        for metric, baseline, current in HEALTH:
            for index in range(60):  # an hour at one sample a minute: flat, then the incident
                at = now - timedelta(minutes=59 - index)
                if index < 40:
                    value = baseline * (1 + 0.03 * math.sin(index / 3))
                else:
                    value = baseline + (current - baseline) * (index - 39) / 20
                session.add(MetricSample(source="demo", metric=metric, at=at, value=round(value, 3)))
        for minutes, metric, text in ANOMALIES:
            session.add(Anomaly(at=now + timedelta(minutes=minutes) - timedelta(minutes=5), metric=metric,
                                description=text, rule="demo"))
