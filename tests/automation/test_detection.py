"""Rules applied to samples: anomalies, one incident per firing rule, cleared events;
drills end to end; host metrics on the dashboard with no configuration."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from automation.detector import Detector
from automation.drills import SCENARIOS, run_drill
from store.dashboard import read_dashboard
from playbooks.samples import Sample
from store.models import Anomaly, Incident, MetricSample, TimelineEvent


def feed(detector, clock, metric, value, minutes, step_s=30):
    for _ in range(int(minutes * 60 / step_s)):
        detector.ingest([Sample("test", metric, clock(), value)])
        clock.advance(seconds=step_s)


def incidents(store):
    with store.db.read() as session:
        return session.exec(select(Incident)).all()


def kinds(store, incident_id):
    with store.db.read() as session:
        return [e.kind for e in session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                                             .order_by(TimelineEvent.seq)).all()]


def test_a_breach_held_past_duration_opens_exactly_one_incident(store, clock):
    detector = Detector(store)
    feed(detector, clock, "error_rate", 2.0, 2)
    assert incidents(store) == []
    feed(detector, clock, "error_rate", 60.0, 4.5)  # shorter than the rule's 5 minutes
    assert incidents(store) == []
    feed(detector, clock, "error_rate", 60.0, 2)  # now held past 5 minutes
    opened = incidents(store)
    assert len(opened) == 1
    incident = opened[0]
    assert (incident.severity, incident.type, incident.dedup_key) == ("SEV-1", "outage", "rule:critical_outage")
    feed(detector, clock, "error_rate", 70.0, 5)  # still firing: no second incident
    assert len(incidents(store)) == 1
    feed(detector, clock, "error_rate", 1.0, 1)
    assert "condition_cleared" in kinds(store, incident.id)
    assert any("page_oncall_engineer()" in s for s in _summaries(store, incident.id))
    with store.db.read() as session:
        anomaly_rules = [a.rule for a in session.exec(select(Anomaly)).all()]
        stored = session.exec(select(MetricSample)).all()
    assert anomaly_rules == ["critical_outage"]
    assert len(stored) > 0


def _summaries(store, incident_id):
    with store.db.read() as session:
        return [e.summary for e in session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id))]


def test_firing_again_after_resolution_opens_a_new_incident(store, clock):
    detector = Detector(store)
    feed(detector, clock, "error_rate", 60.0, 6)
    first = incidents(store)[0]
    store.resolve(first.id, actor="alice")
    feed(detector, clock, "error_rate", 1.0, 1)
    feed(detector, clock, "error_rate", 60.0, 6)
    assert len(incidents(store)) == 2


def test_two_detectors_on_one_database_share_the_incident(store, clock):
    one, two = Detector(store), Detector(store)
    feed(one, clock, "error_rate", 60.0, 6)
    feed(two, clock, "error_rate", 60.0, 6)
    assert len(incidents(store)) == 1
    assert "condition_firing" in kinds(store, incidents(store)[0].id)


def test_both_drills_run_end_to_end(store):
    for name in SCENARIOS:
        ids = run_drill(store, name, actor="trainer")
        assert len(ids) == 1
        with store.db.read() as session:
            incident = session.get(Incident, ids[0])
            samples = session.exec(select(MetricSample)).all()
        assert incident.is_drill and incident.title.startswith("[DRILL]")
        assert incident.type == ("security" if name == "credential-stuffing" else "outage")
        assert "condition_cleared" in kinds(store, incident.id)
        assert samples == []  # drills never pollute live health


def test_host_metrics_reach_the_dashboard_with_no_configuration(store, tmp_path):
    from automation.config import sources_from_config
    from automation.sources import SourcePoller

    from playbooks.config import load_configuration

    sources = sources_from_config(load_configuration(tmp_path / "none.toml"))
    assert [s.name for s in sources] == ["host"]
    detector = Detector(store)
    poller = SourcePoller(sources, detector.ingest)
    assert poller.poll_once(sources[0])
    with store.db.read() as session:
        data = read_dashboard(session, store.now() + timedelta(seconds=1))
    shown = {h.metric: h.value for h in data.health}
    assert data.has_metric_source
    assert 0 <= shown["cpu"] <= 100 and 0 < shown["memory"] <= 100


def test_a_dead_source_is_marked_stale_and_others_go_on(store):
    import time

    from automation.sources import PolledSource, SourcePoller

    delivered = []

    def hangs():
        time.sleep(5)
        return []

    slow = PolledSource("slow", hangs, interval=1, timeout=0.2)
    good = PolledSource("good", lambda: [Sample("good", "cpu", store.now(), 1.0)], interval=1, timeout=1)
    poller = SourcePoller([slow, good], delivered.extend)
    started = time.monotonic()
    assert poller.poll_once(slow) == [] and slow.status.stale and "did not answer" in slow.status.last_error
    assert time.monotonic() - started < 1.0
    assert poller.poll_once(good) and not good.status.stale and delivered


def test_begin_log_collection_keeps_evidence_when_the_rule_fires(store, clock, tmp_path, monkeypatch):
    import time

    from automation.log_collection import EVENT_KIND
    from playbooks.schema import DetectionRule
    from tests.support.log_fakes import SplunkFake

    monkeypatch.setenv("SPLUNK_TOKEN", "splunk-secret")
    events = [{"_time": "2024-01-18T14:31:00Z", "service": "login", "_raw": "failed password for admin"}]
    with SplunkFake("splunk-secret", events) as fake:
        from integrations.splunk import SplunkSource

        detector = Detector(store)
        detector.rules = [DetectionRule(
            name="stuffing", description="Credential stuffing", conditions=["failed_login_attempts > 1000/hour"],
            match="any", duration="1m",
            actions=["create_security_incident(severity='high', service='login')", "begin_log_collection()"])]
        detector.log_sources = {"splunk": SplunkSource(fake.url)}
        feed(detector, clock, "failed_login_attempts", 4000.0, 2)
        incident = incidents(store)[0]
        assert incident.service == "login"
        for _ in range(100):  # collection runs off the sampling thread
            if EVENT_KIND in kinds(store, incident.id):
                break
            time.sleep(0.05)
        assert EVENT_KIND in kinds(store, incident.id)
        assert fake.searches and 'service="login"' in fake.searches[0]


def test_config_builds_every_configured_source(tmp_path, monkeypatch):
    import pytest

    from automation.config import sources_from_config
    from playbooks.config import parse_configuration
    from playbooks.errors import PlaybookError

    config = {"sources": {
        "host": {"enabled": False},
        "prometheus": {"url": "http://127.0.0.1:9090", "interval": 15, "queries": {"error_rate": "x"}},
        "datadog": {"queries": {"error_rate": "avg:x{*}"}},
        "newrelic": {"account_id": 1, "queries": {"error_rate": "SELECT 1 FROM Transaction"}},
        "cloudwatch": {"region": "eu-west-1", "queries": {"cpu": {"namespace": "AWS/EC2",
                                                                 "metric_name": "CPUUtilization"}}},
        "health": {"checks": [{"name": "api", "url": "http://127.0.0.1:1/healthz"}]},
    }}
    names = [s.name for s in sources_from_config(parse_configuration(config, tmp_path / "c.toml"))]
    assert names == ["prometheus", "datadog", "newrelic", "cloudwatch", "health"]
    for broken, message in [({"prometheus": {"url": "ftp://x", "queries": {"a": "b"}}}, "accepted: an http://"),
                            ({"grafana": {}}, "sources.grafana is not a known table"),
                            ({"host": {"interval": 0}}, "sources.host.interval is 0; accepted: a number of at least 1"),
                            ({"cloudwatch": {"region": "eu-west-1", "queries": {"cpu": {
                                "namespace": "AWS/EC2", "metric_name": "CPU", "stat": "Mean"}}}},
                             "c.toml: sources.cloudwatch.queries.cpu: ")]:
        with pytest.raises(PlaybookError, match=message):
            sources_from_config(parse_configuration({"sources": broken}, tmp_path / "c.toml"))
