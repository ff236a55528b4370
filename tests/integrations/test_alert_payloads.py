"""Alert bodies -> condition changes: pure, against the built-in policy."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from integrations.alert_payloads import PayloadError, parse, plan, understand
from integrations.alert_payloads.notification import MAX_DEDUP_KEY, one_line

# Shaped like Alertmanager's documented webhook_config payload (version 4).
ALERTMANAGER = {
    "receiver": "incident-response",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "ProbeFailure", "instance": "https://server.example.org", "job": "http_checks",
                       "severity": "critical", "service": "checkout"},
            "annotations": {"description": "Instance https://server.example.org has been down for over 5m.",
                            "summary": "BlackBox Probe Failure: https://server.example.org"},
            "startsAt": "2024-01-18T14:20:45.828123456Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
            "fingerprint": "1a30ba71cca2921f",
        },
        {
            "status": "firing",
            "labels": {"alertname": "ProbeFailure", "instance": "https://api.example.org", "job": "http_checks",
                       "severity": "warning"},
            "annotations": {"summary": "BlackBox Probe Failure: https://api.example.org"},
            "startsAt": "2024-01-18T14:18:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success",
            "fingerprint": "2b41cb82ddb3a32a",
        },
    ],
    "groupLabels": {"alertname": "ProbeFailure"},
    "commonLabels": {"alertname": "ProbeFailure", "job": "http_checks"},
    "commonAnnotations": {},
    "externalURL": "http://prometheus.example.org:9093",
    "version": "4",
    "groupKey": "{}/{severity=~\"critical|warning\"}:{alertname=\"ProbeFailure\"}",
    "truncatedAlerts": 0,
}

# Shaped like Grafana's documented alerting webhook body.
GRAFANA = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1", "severity": "p2"},
            "annotations": {"description": "The system has high memory usage",
                            "runbook_url": "https://myrunbook.com/runbook/1234",
                            "summary": "This alert was triggered for zone us-1"},
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
            "valueString": "[ var='B' labels={} value=44.23943737541908 ]",
        },
    ],
    "groupLabels": {"alertname": "High memory usage"},
    "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1", "severity": "p2"},
    "commonAnnotations": {"summary": "This alert was triggered for zone us-1"},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{alertname=\"High memory usage\"}",
    "truncatedAlerts": 0,
    "title": "[FIRING:1] High memory usage (blue us-1)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=44.239",
}


def am(**changes):
    body = copy.deepcopy(ALERTMANAGER)
    body.update(changes)
    return body


def test_alertmanager_group_maps_to_one_firing_change(policy):
    change = understand("alertmanager", am(), policy)
    assert change.firing and not change.resolve
    assert change.dedup_key == "am:" + ALERTMANAGER["groupKey"]
    # The most severe firing alert speaks for the group; 'warning' is understood too.
    assert (change.severity, change.incident_type, change.environment) == ("SEV-1", "outage", "production")
    assert change.title == "BlackBox Probe Failure: https://server.example.org"
    assert change.service == "checkout"
    # Detected when the earliest firing alert started (nanoseconds cut to microseconds).
    assert change.detected_at == datetime(2024, 1, 18, 14, 18, tzinfo=timezone.utc)
    assert change.detail["receiver"] == "incident-response"
    assert change.detail["alertnames"] == ["ProbeFailure"]
    assert change.detail["fingerprints"] == ["1a30ba71cca2921f", "2b41cb82ddb3a32a"]
    assert change.detail["generatorURL"].startswith("http://prometheus.example.org:9090/graph")
    assert change.detail["alerts_firing"] == 2 and change.detail["alerts_resolved"] == 0


def test_prometheus_severity_words_map_onto_the_policy(policy):
    body = am()
    body["alerts"] = [body["alerts"][1]]
    assert understand("alertmanager", body, policy).severity == "SEV-3"  # warning -> medium
    body["alerts"][0]["labels"]["severity"] = "info"
    assert understand("alertmanager", body, policy).severity == "SEV-4"


def test_missing_labels_take_defaults_and_common_labels_fill_in(policy):
    body = am(commonLabels={"alertname": "DiskFull", "env": "stage", "incident_type": "performance"})
    body["alerts"] = [{"status": "firing", "labels": {"alertname": "DiskFull"}, "annotations": {},
                       "startsAt": "0001-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                       "generatorURL": "", "fingerprint": "ffff"}]
    change = understand("alertmanager", body, policy)
    assert (change.severity, change.incident_type, change.environment) == ("SEV-2", "performance", "staging")
    assert change.title == "DiskFull"  # no summary: the alertname
    assert change.detected_at is None  # Go's zero time means "not set"

    body = am(commonLabels={}, commonAnnotations={})
    body["alerts"] = [{"status": "firing", "labels": {}, "annotations": {}}]
    change = understand("alertmanager", body, policy)
    assert (change.severity, change.incident_type, change.environment) == ("SEV-2", "outage", "production")
    assert change.title == "Alert"


def test_resolved_notification_clears_and_resolves(policy):
    body = am(status="resolved")
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2024-01-18T14:40:00Z"
    change = understand("alertmanager", body, policy)
    assert not change.firing and change.resolve
    assert change.dedup_key == "am:" + ALERTMANAGER["groupKey"]


def test_partly_resolved_group_still_fires(policy):
    body = am()
    body["alerts"][0]["status"] = "resolved"
    change = understand("alertmanager", body, policy)
    assert change.firing and not change.resolve
    assert change.severity == "SEV-3"  # only the still-firing warning counts
    assert change.detail["alerts_firing"] == 1 and change.detail["alerts_resolved"] == 1


def test_bad_value_in_a_later_alert_rejects_the_whole_body(policy):
    body = am()
    body["alerts"].append(copy.deepcopy(body["alerts"][0]))
    body["alerts"][2]["labels"]["severity"] = "apocalyptic"
    with pytest.raises(PayloadError, match=r"^alert 3: unknown severity 'apocalyptic'; accepted: critical"):
        understand("alertmanager", body, policy)
    body["alerts"][2]["labels"]["severity"] = "critical"
    body["alerts"][2]["labels"]["environment"] = "moon"
    with pytest.raises(PayloadError, match="alert 3: unknown environment 'moon'"):
        understand("alertmanager", body, policy)


@pytest.mark.parametrize("body, message", [
    ([], "the body must be a JSON object"),
    ({"status": "firing"}, "alerts must be a list"),
    (am(alerts=[]), "no alerts"),
    (am(alerts=["x"]), "alert 1 must be a JSON object"),
    (am(status="pending"), "status is 'pending'"),
    (am(groupKey=None), "no groupKey"),
    (am(version="3"), "version is '3'"),
    (am(commonLabels=["a"]), "commonLabels must be a JSON object"),
])
def test_wrong_shapes_are_refused(policy, body, message):
    with pytest.raises(PayloadError, match=message):
        understand("alertmanager", body, policy)


def test_label_values_must_be_strings(policy):
    body = am()
    body["alerts"][1]["labels"]["severity"] = 1
    with pytest.raises(PayloadError, match=r"alert 2's labels\['severity'\] must be a string"):
        parse("alertmanager", body)


def test_long_group_keys_are_hashed_to_fit_the_store(policy):
    key = "{}:{" + ", ".join(f'label{i}="{"v" * 20}"' for i in range(20)) + "}"
    change = understand("alertmanager", am(groupKey=key), policy)
    assert len(change.dedup_key) <= MAX_DEDUP_KEY
    assert change.dedup_key.startswith("am:sha256:")
    assert change.detail["group_key"] == key
    # Stable: the same group maps to the same key.
    assert understand("alertmanager", am(groupKey=key), policy).dedup_key == change.dedup_key


def test_titles_are_one_bounded_line():
    assert one_line("a\n\tb\x1b[31m  c") == "a b [31m c"
    long = one_line("x" * 500)
    assert len(long) == 200 and long.endswith("\u2026")


def test_grafana_body(policy):
    change = understand("grafana", copy.deepcopy(GRAFANA), policy)
    assert change.dedup_key == "grafana:c6eadffa33fcdf37"
    assert (change.severity, change.incident_type, change.environment) == ("SEV-2", "outage", "production")
    assert change.title == "This alert was triggered for zone us-1"
    assert change.detected_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=timezone.utc)
    assert change.detail["org_id"] == 1 and change.detail["receiver"] == "My Super Webhook"


def test_grafana_falls_back_to_the_group_key(policy):
    body = copy.deepcopy(GRAFANA)
    del body["alerts"][0]["fingerprint"]
    assert understand("grafana", body, policy).dedup_key == "grafana:" + GRAFANA["groupKey"]
    del body["groupKey"]
    with pytest.raises(PayloadError, match="neither a fingerprint"):
        understand("grafana", body, policy)


def test_generic_form(policy):
    change = understand("generic", {"key": "db-pool", "status": "firing", "title": "Pool exhausted",
                                    "severity": "p1", "type": "security", "environment": "prod",
                                    "service": "orders", "description": "all 100 connections busy"}, policy)
    assert change.dedup_key == "generic:db-pool" and change.firing
    assert (change.severity, change.incident_type, change.environment, change.service) == \
        ("SEV-1", "security", "production", "orders")
    assert change.detail == {"source": "generic", "description": "all 100 connections busy"}

    change = understand("generic", {"key": "db-pool", "status": "firing", "title": "t", "severity": 3,
                                    "incident_type": "data", "env": "dev"}, policy)
    assert (change.severity, change.incident_type, change.environment) == ("SEV-3", "data", "development")

    change = understand("generic", {"key": "db-pool", "status": "resolved"}, policy)
    assert not change.firing and change.resolve


@pytest.mark.parametrize("body, message", [
    ({"status": "firing", "title": "t"}, "needs a non-empty \"key\""),
    ({"key": "k", "title": "t"}, "status is None"),
    ({"key": "k", "status": "firing"}, "needs a non-empty \"title\""),
    ({"key": "k", "status": "firing", "title": "t", "severity": "urgent"}, "^unknown severity 'urgent'"),
    ({"key": "k", "status": "firing", "title": "t", "type": "alien"}, "^unknown type 'alien'"),
    ({"key": "k", "status": "firing", "title": ["t"]}, "title must be a string"),
])
def test_generic_refusals(policy, body, message):
    with pytest.raises(PayloadError, match=message):
        understand("generic", body, policy)


def test_unknown_source_is_refused(policy):
    with pytest.raises(PayloadError, match="unknown alert source"):
        plan(parse("nagios", {}), policy)
