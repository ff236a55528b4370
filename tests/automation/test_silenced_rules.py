"""A rule breach a silence matches declares nothing and is recorded as suppressed; still
firing when the silence ends, it declares then; cleared under the silence, it never does."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from automation.detector import Detector
from playbooks.silences import parse_matchers
from store.models import Incident
from store.silences import add_silence, suppressed_alerts
from tests.automation.test_detection import feed


def incidents(store):
    with store.db.read() as session:
        return session.exec(select(Incident)).all()


def test_a_silenced_rule_is_suppressed_and_declares_when_the_silence_ends(store, clock):
    silence = add_silence(store, parse_matchers(["alertname=critical_outage"]), clock.moment,
                          clock.moment + timedelta(minutes=10), reason="load test", actor="lead")
    detector = Detector(store)
    feed(detector, clock, "error_rate", 60.0, 8)  # fires after 5 minutes, inside the silence
    assert incidents(store) == []
    [suppressed] = suppressed_alerts(store)
    assert (suppressed.silence_id, suppressed.source, suppressed.dedup_key) == (silence.id, "rule",
                                                                                "rule:critical_outage")
    assert suppressed.labels["rule"] == "critical_outage" and suppressed.labels["severity"] == "critical"
    feed(detector, clock, "error_rate", 60.0, 3)  # past the silence's end, still firing
    [incident] = incidents(store)
    assert incident.dedup_key == "rule:critical_outage"
    assert len(suppressed_alerts(store)) == 1  # the breach was recorded once, not per sample


def test_a_rule_that_clears_under_its_silence_never_declares(store, clock):
    add_silence(store, parse_matchers(["rule=critical_outage"]), clock.moment, clock.moment + timedelta(minutes=15),
                reason="failover drill", actor="lead")
    detector = Detector(store)
    feed(detector, clock, "error_rate", 60.0, 7)
    feed(detector, clock, "error_rate", 1.0, 10)  # cleared, then the silence ends
    assert incidents(store) == []
    assert len(suppressed_alerts(store)) == 1


def test_a_silence_of_another_service_does_not_hold_the_rule(store, clock):
    add_silence(store, parse_matchers(["alertname=some_other_rule"]), clock.moment,
                clock.moment + timedelta(hours=1), reason="x", actor="lead")
    detector = Detector(store)
    feed(detector, clock, "error_rate", 60.0, 7)
    assert len(incidents(store)) == 1 and suppressed_alerts(store) == []
