"""Against a real Prometheus scraping an exporter whose value the test sets: a breach held
past the rule's duration opens exactly one incident; clearing adds the event."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlmodel import select

from automation.sources import PolledSource
from automation.watch import Watch
from integrations.errors import SourceUnavailable
from integrations.prometheus import PrometheusSource
from playbooks import load_policy
from store.database import open_database
from store.models import Incident, TimelineEvent
from store.operations import IncidentStore

FAST_RULES = """
[[rules]]
name = "critical_outage"
description = "The service is failing for most users."
conditions = ["error_rate > 50%", "response_time > 30s"]
match = "any"
duration = "3s"
actions = ["create_incident(severity='critical', type='outage')", "page_oncall_engineer()"]
"""


def wait_until(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


@pytest.fixture
def live_store(tmp_path):
    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "rules.toml").write_text(FAST_RULES)
    db = open_database(f"sqlite:///{tmp_path / 'incidents.db'}")
    yield IncidentStore(db, load_policy(user))
    db.dispose()


def test_prometheus_instant_query_reads_the_exporter(prometheus, exporter):
    exporter.set("app_error_rate_percent", 12.5)
    source = PrometheusSource(prometheus.url, {"error_rate": "app_error_rate_percent"})
    assert wait_until(lambda: source.sample(), 15)[0].value == 12.5
    with pytest.raises(SourceUnavailable, match="rejected"):
        PrometheusSource(prometheus.url, {"x": "sum(("}).sample()


def test_held_breach_opens_one_incident_and_clearing_is_recorded(prometheus, exporter, live_store):
    exporter.set("app_error_rate_percent", 2.0)
    exporter.set("app_latency_seconds", 0.3)
    source = PrometheusSource(prometheus.url, {"error_rate": "app_error_rate_percent",
                                               "response_time": "app_latency_seconds"})
    assert wait_until(lambda: source.sample(), 15), "Prometheus has not scraped the exporter"
    watch = Watch(live_store, [PolledSource("prometheus", source.sample, interval=0.5, timeout=3)])
    stop = threading.Event()
    thread = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    thread.start()
    try:
        def opened():
            with live_store.db.read() as session:
                return session.exec(select(Incident)).all()

        time.sleep(2)
        assert opened() == []
        exporter.set("app_error_rate_percent", 64.0)
        incidents = wait_until(opened, 20)
        assert incidents and len(incidents) == 1
        incident = incidents[0]
        assert (incident.severity, incident.type, incident.dedup_key) == ("SEV-1", "outage", "rule:critical_outage")
        breach_to_incident = incident.declared_at
        time.sleep(4)  # still breaching: still one incident
        assert len(opened()) == 1
        exporter.set("app_error_rate_percent", 1.0)

        def cleared():
            with live_store.db.read() as session:
                return session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                                TimelineEvent.kind == "condition_cleared")).first()

        assert wait_until(cleared, 20)
        assert breach_to_incident is not None
    finally:
        stop.set()
        thread.join(10)
