"""Issue 12, acceptance 5: each rule action performs its effect, seen at the far side — the
outbox row the router wrote and what the contract fake of the vendor received — and log
collection runs with the built-in rules when an alert names a service. A runbook a rule asks
for is proposed with the alert's address and never run."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import threading

import httpx
import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.detector import Detector
from automation.notifiers import notifiers_from_config
from automation.routing import route_by_matrix
from automation.rule_actions import for_alerts
from automation.alert_intake import AlertIntake
from integrations.alert_receiver import AlertServer
from integrations.slack import war_room_name
from playbooks.config import parse_configuration
from playbooks.schema import DetectionRule
from playbooks.samples import Sample
from store.models import Incident, Notification, RemediationAction, TimelineEvent
from store.operations import IncidentStore
from tests.integrations.test_email_sms_webhook import WEBHOOK_SECRET, Receiver
from tests.support import slack_fake, statuspage_fake
from tests.support.log_fakes import ElasticsearchFake, SplunkFake
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake

TOKEN = "rule-actions-receiver-token"


@pytest.fixture
def vendors(monkeypatch):
    for name, value in {"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "SLACK_BOT_TOKEN": slack_fake.TOKEN,
                        "STATUSPAGE_API_KEY": statuspage_fake.API_KEY,
                        "IR_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET}.items():
        monkeypatch.setenv(name, value)
    with PagerDutyFake() as pagerduty, slack_fake.SlackFake() as slack, \
            statuspage_fake.StatuspageFake() as page:
        hooks = Receiver(WEBHOOK_SECRET)
        try:
            yield {"pagerduty": pagerduty, "slack": slack, "statuspage": page, "webhook": hooks}
        finally:
            hooks.close()


def wired(store, vendors, tmp_path, policy=None):
    """The store as `watch` builds it: the matrix's router over these integrations, and a deliverer."""
    configuration = parse_configuration({"integrations": {
        "pagerduty": {"url": vendors["pagerduty"].url},
        # war_room_creation stays false: the rule's start_war_room() opens the channel anyway
        "slack": {"mode": "web_api", "url": vendors["slack"].url, "incident_channel": "#incidents"},
        "statuspage": {"url": vendors["statuspage"].url, "page_id": statuspage_fake.PAGE_ID,
                       "component_mapping": False},
        "webhook": {"url": vendors["webhook"].url},
    }}, tmp_path / "config.toml")
    notifiers = notifiers_from_config(configuration)
    policy = policy or store.policy
    routed = IncidentStore(store.db, policy, store.clock,
                           router=route_by_matrix(policy, set(notifiers), configuration))
    return routed, Deliverer(routed, notifiers, timeout=5)


def rule(*actions: str, name: str = "checkout_errors", **fields) -> DetectionRule:
    return DetectionRule(name=name, description="Checkout errors", conditions=["error_rate > 50%"], match="any",
                         duration="1m", actions=list(actions), **fields)


def fire(detector: Detector, clock, metric: str = "error_rate", value: float = 60.0, minutes: float = 6) -> Incident:
    """Hold a breach past the rule's duration; the incident the rule opened."""
    for _ in range(int(minutes * 2)):
        detector.ingest([Sample("test", metric, clock(), value)])
        clock.advance(seconds=30)
    (incident_id,) = set(detector.incidents.values())
    with detector.store.db.read() as session:
        return session.get(Incident, incident_id)


def rows(store, incident_id: str, event: str) -> list[tuple[str, str | None, str]]:
    with store.db.read() as session:
        return [(n.integration, n.stakeholder_group, n.state) for n in session.exec(
            select(Notification).where(Notification.incident_id == incident_id, Notification.event == event)
            .order_by(Notification.id))]


def timeline(store, incident_id: str, kind: str | None = None) -> list[TimelineEvent]:
    with store.db.read() as session:
        query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
        if kind is not None:
            query = query.where(TimelineEvent.kind == kind)
        return list(session.exec(query.order_by(TimelineEvent.seq)))


def on_call_for_sev1_only(policy):
    """A matrix whose On-Call Engineers row is SEV-1 only: a SEV-3's declaration pages nobody."""
    groups = [g.model_copy(update={"severities": ["SEV-1"]}) if g.name == "On-Call Engineers" else g
              for g in policy.comms.groups]
    return dataclasses.replace(policy, comms=policy.comms.model_copy(update={"groups": groups}))


# -- page_oncall_engineer() -------------------------------------------------------------------

def test_page_oncall_engineer_pages_the_on_call_group_now_whatever_the_severity_row(store, vendors, tmp_path, clock):
    routed, deliverer = wired(store, vendors, tmp_path, on_call_for_sev1_only(store.policy))
    detector = Detector(routed)
    detector.rules = [rule("create_incident(severity='medium')", "page_oncall_engineer()")]
    incident = fire(detector, clock)
    assert incident.severity == "SEV-3"
    assert all(integration != "pagerduty" for integration, _, _ in rows(routed, incident.id, "declared"))
    assert rows(routed, incident.id, "page") == [("pagerduty", "On-Call Engineers", "pending")]

    deliverer.deliver_due()
    assert rows(routed, incident.id, "page") == [("pagerduty", "On-Call Engineers", "sent")]
    assert vendors["pagerduty"].actions(incident.id) == ["trigger"]
    assert vendors["pagerduty"].alert_payloads[incident.id]["custom_details"]["event"] == "page"
    (event,) = timeline(routed, incident.id, "oncall_page")
    assert "page_oncall_engineer()" in event.summary


def test_a_drills_page_is_skipped_with_drill_and_reaches_no_pager(store, vendors, tmp_path, clock):
    routed, deliverer = wired(store, vendors, tmp_path)
    detector = Detector(routed, is_drill=True)
    detector.rules = [rule("create_incident(severity='critical')", "page_oncall_engineer()")]
    incident = fire(detector, clock)
    deliverer.deliver_due()
    assert rows(routed, incident.id, "page") == [("pagerduty", "On-Call Engineers", "skipped")]
    with routed.db.read() as session:
        (reason,) = [n.last_error for n in session.exec(select(Notification).where(Notification.event == "page"))]
    assert reason.startswith("drill")
    assert vendors["pagerduty"].requests == []


# -- update_status_page('<status>') -------------------------------------------------------------

def test_update_status_page_opens_the_public_incident_in_the_status_it_names(store, vendors, tmp_path, clock):
    routed, deliverer = wired(store, vendors, tmp_path)
    detector = Detector(routed)
    detector.rules = [rule("create_incident(severity='medium')", "update_status_page('identified')")]
    incident = fire(detector, clock)
    assert rows(routed, incident.id, "declared") and \
        all(integration != "statuspage" for integration, _, _ in rows(routed, incident.id, "declared"))
    assert rows(routed, incident.id, "status_page") == [("statuspage", "External Customers", "pending")]

    deliverer.deliver_due()
    assert rows(routed, incident.id, "status_page") == [("statuspage", "External Customers", "sent")]
    (page_incident,) = vendors["statuspage"].incidents
    assert vendors["statuspage"].statuses(page_incident) == ["identified"]


# -- start_war_room() ---------------------------------------------------------------------------

def test_start_war_room_creates_the_incidents_slack_channel(store, vendors, tmp_path, clock):
    """The built-in critical_outage rule, every action at once; war_room_creation is off."""
    routed, deliverer = wired(store, vendors, tmp_path)
    incident = fire(Detector(routed), clock)  # error_rate 60% for 6 minutes: critical_outage
    assert rows(routed, incident.id, "war_room") == [("slack", None, "pending")]
    deliverer.deliver_due()
    assert rows(routed, incident.id, "war_room") == [("slack", None, "sent")]

    slack = vendors["slack"]
    name = war_room_name(incident.id)
    assert ("conversations.create", {"name": name, "is_private": False}) in slack.api_calls
    (opened,) = slack.messages(f"#{name}")
    assert incident.id in opened["text"] and "war room opened" in opened["text"]
    assert len(slack.messages("#incidents")) == 1  # the declaration, before the room existed
    # The rest of critical_outage did its part too: paged now, and the page says investigating.
    assert vendors["pagerduty"].actions(incident.id) == ["trigger", "trigger"]
    (page_incident,) = vendors["statuspage"].incidents
    assert vendors["statuspage"].statuses(page_incident)[-1] == "investigating"
    # Later news threads in the war room.
    routed.post_status_update(incident.id, "Rolled back the deploy", actor="alice")
    deliverer.deliver_due()
    assert [m["text"] for m in slack.replies(f"#{name}", opened["ts"])] and \
        "Rolled back the deploy" in json.dumps(slack.replies(f"#{name}", opened["ts"]))


# -- alert_security_team() ----------------------------------------------------------------------

def test_alert_security_team_reaches_the_security_teams_channel(store, vendors, tmp_path, clock):
    routed, deliverer = wired(store, vendors, tmp_path)
    detector = Detector(routed)
    detector.rules = [rule("create_incident(severity='low', type='performance')", "alert_security_team()")]
    incident = fire(detector, clock)
    assert rows(routed, incident.id, "security_alert") == [("webhook", "Security Team", "pending")]
    deliverer.deliver_due()
    assert rows(routed, incident.id, "security_alert") == [("webhook", "Security Team", "sent")]
    alerts = [json.loads(r["body"]) for r in vendors["webhook"].requests
              if json.loads(r["body"])["event"] == "security_alert"]
    assert len(alerts) == 1 and all(r["valid"] for r in vendors["webhook"].requests)
    (alert,) = alerts
    assert alert["stakeholder_group"] == "Security Team" and alert["incident_id"] == incident.id
    assert alert["payload"]["rule"]["rule"] == "checkout_errors"
    assert alert["payload"]["rule"]["conditions"] == ["error_rate 60% (> 50%)"]


# -- begin_log_collection(), from an alert naming a built-in rule --------------------------------

def alertmanager(labels: dict, starts_at: str = "2024-01-18T14:25:00Z") -> dict:
    return {"receiver": "incident-response", "status": "firing", "version": "4",
            "groupKey": "{}:{alertname=\"security_anomaly\"}", "groupLabels": {"alertname": "security_anomaly"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
            "alerts": [{"status": "firing", "labels": {"alertname": "security_anomaly", **labels},
                        "annotations": {"summary": "Credential stuffing on login"}, "startsAt": starts_at,
                        "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "5f1d2c3b4a596877"}]}


def post(server: AlertServer, body: dict) -> dict:
    answer = httpx.post(f"{server.url}/alerts/alertmanager", json=body,
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_begin_log_collection_runs_with_the_built_in_rules_when_an_alert_names_a_service(store, monkeypatch):
    from integrations.elasticsearch import ElasticsearchSource
    from integrations.splunk import SplunkSource

    monkeypatch.setenv("SPLUNK_TOKEN", "splunk-test-token")
    monkeypatch.setenv("ES_API_KEY", "es-test-key")
    events = [{"_time": "2024-01-18T14:26:00Z", "service": "login", "_raw": "failed password for admin"},
              {"_time": "2024-01-18T14:26:30Z", "service": "login", "_raw": "GET /healthz 200"},
              {"_time": "2024-01-18T14:26:40Z", "service": "billing", "_raw": "failed password for bob"}]
    documents = [{"@timestamp": "2024-01-18T14:26:00Z", "service": {"name": "login"},
                  "message": "failed password for root"},
                 {"@timestamp": "2024-01-18T14:27:00Z", "service": {"name": "login"}, "message": "GET /healthz 200"}]
    collected = threading.Event()
    with SplunkFake(events=events) as splunk, ElasticsearchFake(documents=documents) as elastic:
        sources = {"splunk": SplunkSource(splunk.url), "elasticsearch": ElasticsearchSource(elastic.url)}
        on_opened = for_alerts(store, log_sources=sources,
                               on_event=lambda line: collected.set() if line.startswith("collected") else None)
        with AlertServer(AlertIntake(store, on_opened=on_opened), port=0, token=TOKEN) as server:
            answer = post(server, alertmanager({"service": "login", "log_query": "failed password",
                                                "source_ip": "203.0.113.7"}))
        assert answer["created"] is True
        assert collected.wait(20), "the log collection did not finish"

    with store.db.read() as session:
        incident = session.get(Incident, answer["incident"])
    # The alert named the built-in security_anomaly rule: its incident, its actions.
    assert (incident.type, incident.severity, incident.service) == ("security", "SEV-2", "login")
    (evidence,) = timeline(store, incident.id, "evidence_collected")
    data = json.loads(evidence.data)
    assert (data["service"], data["query"]) == ("login", "failed password")
    assert {f["source"]: f["lines"] for f in data["files"]} == {"splunk": 1, "elasticsearch": 1}
    (search,) = splunk.searches
    assert 'service="login" "failed password"' in search
    (body,) = elastic.bodies
    assert {"simple_query_string": {"query": "failed password", "default_operator": "and"}} in \
        body["query"]["bool"]["filter"]


def test_a_rules_own_service_and_log_query_fill_begin_log_collection(store, clock, monkeypatch):
    from integrations.splunk import SplunkSource

    monkeypatch.setenv("SPLUNK_TOKEN", "splunk-test-token")
    events = [{"_time": "2024-01-18T14:31:00Z", "service": "checkout", "_raw": "pool exhausted"},
              {"_time": "2024-01-18T14:31:10Z", "service": "checkout", "_raw": "GET / 200"}]
    collected = threading.Event()
    with SplunkFake(events=events) as splunk:
        detector = Detector(store, on_event=lambda line: collected.set() if line.startswith("collected") else None)
        detector.rules = [rule("create_incident()", "begin_log_collection()", service="checkout",
                               log_query="pool exhausted")]
        detector.log_sources = {"splunk": SplunkSource(splunk.url)}
        incident = fire(detector, clock)
        assert collected.wait(20), "the log collection did not finish"
    assert incident.service == "checkout"
    (evidence,) = timeline(store, incident.id, "evidence_collected")
    assert [f["lines"] for f in json.loads(evidence.data)["files"]] == [1]
    assert '"pool exhausted"' in splunk.searches[0]


# -- isolate_suspicious_sources() ---------------------------------------------------------------

def test_isolate_suspicious_sources_is_proposed_with_the_alerts_address_and_never_run(store, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError(f"a command ran unattended: {args}")

    monkeypatch.setattr(subprocess, "run", never)
    monkeypatch.setattr(subprocess, "Popen", never)
    with AlertServer(AlertIntake(store, on_opened=for_alerts(store)), port=0, token=TOKEN) as server:
        # Prometheus's instance label (host:port) names the address when nothing more precise does.
        answer = post(server, alertmanager({"instance": "203.0.113.7:9100"}))
    (proposal,) = timeline(store, answer["incident"], "runbook_proposed")
    data = json.loads(proposal.data)
    assert data["runbook"] == "isolate_suspicious_sources" and data["params"] == {"address": "203.0.113.7"}
    assert data["argv"] == ["iptables", "--insert", "INPUT", "--source", "203.0.113.7", "--jump", "DROP"]
    assert "not run" in proposal.summary and \
        f"incident-response runbook {answer['incident']} isolate_suspicious_sources address=203.0.113.7" in proposal.summary
    assert timeline(store, answer["incident"], "remediation_started") == []
    with store.db.read() as session:
        assert session.exec(select(RemediationAction)).all() == []


def test_an_address_that_is_no_ip_is_not_proposed_and_says_why(store):
    with AlertServer(AlertIntake(store, on_opened=for_alerts(store)), port=0, token=TOKEN) as server:
        answer = post(server, alertmanager({"source_ip": "attacker.example; rm -rf /"}))
    assert timeline(store, answer["incident"], "runbook_proposed") == []
    notes = [e.summary for e in timeline(store, answer["incident"], "note")]
    assert any("isolate_suspicious_sources() was not carried out" in n and "accepted: an IP address" in n
               for n in notes)
