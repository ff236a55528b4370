"""Jira Cloud and ServiceNow notifiers against their contract fakes (real HTTP servers on loopback)."""
from __future__ import annotations

import base64

import httpx
import pytest

from integrations.jira import JiraNotifier, adf_document
from playbooks.severities import canonical_severity
from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.servicenow import ServiceNowNotifier, urgency_impact
from tests.support import jira_fake, servicenow_fake
from tests.support.jira_fake import JiraFake
from tests.support.servicenow_fake import ServiceNowFake

INCIDENT = "INC-2024-0118-001"
SECRETS = (jira_fake.API_TOKEN, servicenow_fake.PASSWORD)


def message(integration: str, event: str = "declared", *, reference: str | None = None, number: int = 1,
            **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout", "url": "https://ir.example.com/incidents/INC-2024-0118-001"}
    body.update(payload)
    return OutboxMessage(id=number, incident_id=body["id"], integration=integration, event=event,
                         idempotency_key=f"{body['id']}:{event}:{number}", payload=body, attempts=0,
                         reference=reference, stakeholder_group="engineering")


def deliver(notifier, client: httpx.Client, msg: OutboxMessage) -> Delivery:
    delivery = notifier.deliver(msg, client)
    for secret in SECRETS + (base64.b64encode(f"{jira_fake.EMAIL}:{jira_fake.API_TOKEN}".encode()).decode(),
                             base64.b64encode(f"{servicenow_fake.USER}:{servicenow_fake.PASSWORD}".encode()).decode()):
        assert secret not in delivery.detail
    assert delivery.detail and "\n" not in delivery.detail
    return delivery


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


# == Jira ==========================================================================================

@pytest.fixture
def jira():
    with JiraFake() as server:
        yield server


@pytest.fixture
def jira_notifier(jira, monkeypatch) -> JiraNotifier:
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", jira_fake.API_TOKEN)
    return JiraNotifier(url=jira.url)


def test_jira_notifier_satisfies_the_protocol(jira_notifier):
    instance: Notifier = jira_notifier
    assert instance.integration == "jira"


def test_jira_issue_in_adf_with_mapped_priority_then_comments_on_the_same_key(jira, jira_notifier, client):
    first = deliver(jira_notifier, client, message("jira"))
    assert first.outcome == "sent" and first.reference == "INC-1"
    issue = jira.issues["INC-1"]["fields"]
    assert issue["project"] == {"key": "INC"} and issue["issuetype"] == {"name": "Incident"}
    assert issue["priority"] == {"name": "Highest"}
    assert issue["summary"] == "[SEV-1] INC-2024-0118-001: Checkout API returns 502"
    assert issue["labels"] == ["incident-response", INCIDENT, "sev-1", "outage", "production"]
    description = issue["description"]
    assert description["type"] == "doc" and description["version"] == 1 and jira_fake.adf_errors(description) == []
    text = jira_fake.adf_text(description)
    assert "Error rate 35% on checkout" in text and "Severity: SEV-1" in text
    link = description["content"][-1]["content"][-1]
    assert link["marks"] == [{"type": "link", "attrs": {"href": "https://ir.example.com/incidents/INC-2024-0118-001"}}]

    ack = deliver(jira_notifier, client, message("jira", "acknowledged", reference="INC-1", number=2,
                                                 message="Acknowledged by alice"))
    update = deliver(jira_notifier, client, message("jira", "status_update", reference="INC-1", number=3,
                                                    status="identified", message="Bad deploy 4711\nrolling back"))
    resolved = deliver(jira_notifier, client, message("jira", "resolved", reference="INC-1", number=4,
                                                      message="Rollback complete"))
    assert [d.outcome for d in (ack, update, resolved)] == ["sent"] * 3
    assert {d.reference for d in (ack, update, resolved)} == {"INC-1"}
    assert list(jira.issues) == ["INC-1"]
    comments = jira.comments("INC-1")
    assert comments[0].startswith("Incident acknowledged: INC-2024-0118-001") and "Acknowledged by alice" in comments[0]
    assert "Bad deploy 4711\nrolling back" in comments[1]  # each line its own paragraph, no raw newlines
    assert comments[2].startswith("Incident resolved") and "Rollback complete" in comments[2]
    methods = [(method, path) for method, path, _ in jira.requests]
    # Resolving moves the issue through its workflow, the comment riding on the transition.
    assert methods == ([("POST", "/rest/api/3/issue")] + [("POST", "/rest/api/3/issue/INC-1/comment")] * 2
                       + [("POST", "/rest/api/3/issue/INC-1/transitions")])
    assert jira.issues["INC-1"]["status"] == "Resolved"
    auth = jira.received[-1].headers["authorization"]
    assert auth == "Basic " + base64.b64encode(f"{jira_fake.EMAIL}:{jira_fake.API_TOKEN}".encode()).decode()


@pytest.mark.parametrize("severity, priority", [("SEV-2", "High"), ("SEV-3", "Medium"), ("sev4", "Low"),
                                                ("p1", "Highest")])
def test_jira_priority_mapping_defaults(jira, jira_notifier, client, severity, priority):
    assert deliver(jira_notifier, client, message("jira", severity=severity)).outcome == "sent"
    assert jira.issues["INC-1"]["fields"]["priority"] == {"name": priority}


def test_jira_priority_mapping_is_configurable(jira, client, monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", jira_fake.API_TOKEN)
    notifier = JiraNotifier(url=jira.url, project_key="OPS", issue_type="Bug",
                            priority_mapping={"sev1": "High", "SEV-4": "Lowest"})
    assert deliver(notifier, client, message("jira")).outcome == "sent"
    assert deliver(notifier, client, message("jira", number=2, severity="SEV-4", id="INC-2024-0118-002")).outcome == "sent"
    assert jira.issues["OPS-1"]["fields"]["priority"] == {"name": "High"}
    assert jira.issues["OPS-1"]["fields"]["issuetype"] == {"name": "Bug"}
    assert jira.issues["OPS-2"]["fields"]["priority"] == {"name": "Lowest"}
    with pytest.raises(ValueError, match="SEV-9"):
        JiraNotifier(url=jira.url, priority_mapping={"SEV-9": "High"})


def test_jira_priority_mapping_true_or_false_as_in_the_spec_example(jira, client, monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", jira_fake.API_TOKEN)
    assert JiraNotifier(url=jira.url, priority_mapping=True).priority_for("SEV-2") == "High"
    assert deliver(JiraNotifier(url=jira.url, priority_mapping=False), client, message("jira")).outcome == "sent"
    assert "priority" not in jira.issues["INC-1"]["fields"]
    with pytest.raises(ValueError):
        JiraNotifier(url=jira.url, priority_mapping="yes")


def test_jira_without_auto_ticket_creation_only_comments_on_a_labelled_issue(jira, client, monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", jira_fake.API_TOKEN)
    notifier = JiraNotifier(url=jira.url, auto_ticket_creation=False)
    skipped = deliver(notifier, client, message("jira"))
    assert skipped.outcome == "skipped" and skipped.reference is None and "auto_ticket_creation" in skipped.detail
    assert jira.issues == {}
    # a person files the ticket with the incident's label: later events land on it
    filed = client.post(f"{jira.url}/rest/api/3/issue", auth=(jira_fake.EMAIL, jira_fake.API_TOKEN), json={"fields": {
        "project": {"key": "INC"}, "summary": "Checkout down", "issuetype": {"name": "Incident"}, "labels": [INCIDENT]}})
    assert filed.status_code == 201
    update = deliver(notifier, client, message("jira", "status_update", number=2, message="Rolling back"))
    assert update.outcome == "sent" and update.reference == "INC-1"
    assert "Rolling back" in jira.comments("INC-1")[0]


def test_jira_project_without_priority_field_still_gets_its_ticket(client, monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", jira_fake.API_TOKEN)
    with JiraFake(priority_on_screen=False) as fake:
        delivery = deliver(JiraNotifier(url=fake.url), client, message("jira"))
        assert delivery.outcome == "sent" and "without a priority" in delivery.detail
        assert "priority" not in fake.issues["INC-1"]["fields"]


def test_jira_summary_is_one_line_of_at_most_255_characters(jira, jira_notifier, client):
    assert deliver(jira_notifier, client, message("jira", title="Checkout\ndown " + "x" * 400)).outcome == "sent"
    summary = jira.issues["INC-1"]["fields"]["summary"]
    assert len(summary) == 255 and "\n" not in summary and summary.endswith("\u2026")


def test_jira_fake_rejects_a_plain_string_description_like_jira(jira, client):
    auth = (jira_fake.EMAIL, jira_fake.API_TOKEN)
    fields = {"project": {"key": "INC"}, "summary": "Checkout down", "issuetype": {"name": "Incident"}}
    plain = client.post(f"{jira.url}/rest/api/3/issue", auth=auth,
                        json={"fields": {**fields, "description": "Checkout is down"}})
    assert plain.status_code == 400
    assert plain.json() == {"errorMessages": [], "errors": {"description": jira_fake.NOT_ADF}}
    empty_text = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]}
    assert client.post(f"{jira.url}/rest/api/3/issue", auth=auth,
                       json={"fields": {**fields, "description": empty_text}}).status_code == 400
    good = client.post(f"{jira.url}/rest/api/3/issue", auth=auth,
                       json={"fields": {**fields, "description": adf_document(["Checkout is down"])}})
    assert good.status_code == 201 and good.json()["key"] == "INC-1"
    comment = client.post(f"{jira.url}/rest/api/3/issue/INC-1/comment", auth=auth, json={"body": "plain"})
    assert comment.status_code == 400
    assert client.post(f"{jira.url}/rest/api/3/issue", json={"fields": fields}).status_code == 401
    assert client.post(f"{jira.url}/rest/api/3/issue", auth=auth, content=b"{}",
                       headers={"Content-Type": "text/plain"}).status_code == 415
    errors = client.post(f"{jira.url}/rest/api/3/issue", auth=auth, json={"fields": {
        "project": {"key": "NOPE"}, "summary": "a\nb", "issuetype": {"name": "Epic"}, "labels": ["two words"],
        "customfield_1": "x"}}).json()["errors"]
    assert set(errors) == {"project", "summary", "issuetype", "labels", "customfield_1"}


def test_jira_resend_after_a_lost_answer_does_not_file_a_second_issue(jira, jira_notifier, client):
    jira.delay, jira.delay_only = 0.3, "POST"  # Jira files the issue, the answer never arrives in time
    lost = jira_notifier.deliver(message("jira"), httpx.Client(timeout=0.1))
    jira.delay = 0.0
    assert lost.outcome == "retry"
    again = deliver(jira_notifier, client, message("jira"))
    assert again.outcome == "sent" and again.reference == "INC-1" and "already exists" in again.detail
    assert list(jira.issues) == ["INC-1"]
    # a later event whose reference was never stored finds the issue too
    later = deliver(jira_notifier, client, message("jira", "acknowledged", number=2))
    assert later.outcome == "sent" and later.reference == "INC-1" and len(jira.comments("INC-1")) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_jira_auth_and_permission_failures_are_rejected(jira, jira_notifier, client, status):
    jira.fail_next(2, status=status)
    delivery = deliver(jira_notifier, client, message("jira"))
    assert delivery.outcome == "rejected" and str(status) in delivery.detail


def test_jira_wrong_token_is_rejected_without_the_secret(jira, client, monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", jira_fake.EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", "wrong-token-SECRET-123")
    delivery = deliver(JiraNotifier(url=jira.url), client, message("jira"))
    assert delivery.outcome == "rejected" and "401" in delivery.detail
    assert "wrong-token-SECRET-123" not in delivery.detail and jira_fake.EMAIL not in delivery.detail
    assert jira.issues == {}


def test_jira_400_is_rejected_with_jiras_errors_and_no_secret(jira, jira_notifier, client):
    jira.fail_next(1, status=400, body={"errorMessages": [f"echo {jira_fake.API_TOKEN}"],
                                        "errors": {"labels": "The label 'a b' contains spaces which is invalid."}})
    delivery = deliver(jira_notifier, client, message("jira", "status_update", reference="INC-1"))
    assert delivery.outcome == "rejected"
    assert "labels: The label 'a b' contains spaces which is invalid" in delivery.detail
    assert "[redacted]" in delivery.detail


def test_jira_comment_on_a_missing_issue_is_rejected(jira, jira_notifier, client):
    delivery = deliver(jira_notifier, client, message("jira", "acknowledged", reference="INC-99"))
    assert delivery.outcome == "rejected" and "404" in delivery.detail and "INC-99" in delivery.detail


def test_jira_429_and_5xx_are_retried_with_retry_after(jira, jira_notifier, client):
    jira.fail_next(1, status=429, retry_after=7)
    limited = deliver(jira_notifier, client, message("jira"))
    assert limited.outcome == "retry" and limited.retry_after == 7 and "429" in limited.detail
    jira.fail_next(1, status=503, retry_after=3)
    broken = deliver(jira_notifier, client, message("jira", "acknowledged", reference="INC-1"))
    assert broken.outcome == "retry" and broken.retry_after == 3
    jira.fail_next(1, status=500)
    assert deliver(jira_notifier, client, message("jira")).outcome == "retry"
    assert deliver(jira_notifier, client, message("jira")).outcome == "sent"
    assert list(jira.issues) == ["INC-1"]


def test_jira_down_garbage_and_missing_credentials(jira, jira_notifier, client, monkeypatch):
    jira.down()
    assert deliver(jira_notifier, client, message("jira")).outcome == "retry"
    jira.up()
    jira.garbage = True
    assert deliver(jira_notifier, client, message("jira")).outcome == "retry"
    jira.garbage = False
    monkeypatch.delenv("JIRA_API_TOKEN")
    missing = deliver(jira_notifier, client, message("jira"))
    assert missing.outcome == "retry" and "JIRA_API_TOKEN" in missing.detail
    assert jira.issues == {}


# == ServiceNow ====================================================================================

@pytest.fixture
def snow():
    with ServiceNowFake() as server:
        yield server


@pytest.fixture
def snow_notifier(snow, monkeypatch) -> ServiceNowNotifier:
    monkeypatch.setenv("SERVICENOW_USER", servicenow_fake.USER)
    monkeypatch.setenv("SERVICENOW_PASSWORD", servicenow_fake.PASSWORD)
    return ServiceNowNotifier(url=snow.url)


def test_servicenow_notifier_satisfies_the_protocol(snow_notifier):
    instance: Notifier = snow_notifier
    assert instance.integration == "servicenow"


def test_servicenow_create_in_progress_resolved_with_close_notes(snow, snow_notifier, client):
    created = deliver(snow_notifier, client, message("servicenow"))
    assert created.outcome == "sent" and created.reference in snow.incidents
    sys_id = created.reference
    record = snow.incidents[sys_id]
    assert record["number"] == "INC0010001" and record["state"] == "1"
    assert record["short_description"] == "[SEV-1] INC-2024-0118-001: Checkout API returns 502"
    assert (record["urgency"], record["impact"], record["priority"]) == ("1", "1", "1")
    assert record["category"] == "software" and record["correlation_id"] == INCIDENT
    assert "Error rate 35% on checkout" in record["description"]

    ack = deliver(snow_notifier, client, message("servicenow", "acknowledged", reference=sys_id, number=2,
                                                 message="Acknowledged by alice"))
    note = deliver(snow_notifier, client, message("servicenow", "status_update", reference=sys_id, number=3,
                                                  status="identified", message="Bad deploy 4711"))
    resolved = deliver(snow_notifier, client, message("servicenow", "resolved", reference=sys_id, number=4,
                                                      message="Rolled back deploy 4711"))
    assert [d.outcome for d in (ack, note, resolved)] == ["sent"] * 3
    assert {d.reference for d in (ack, note, resolved)} == {sys_id}
    assert snow.states(sys_id) == ["1", "2", "6"]
    record = snow.incidents[sys_id]
    assert record["close_code"] == "Solved (Permanently)" and "Rolled back deploy 4711" in record["close_notes"]
    assert "Acknowledged by alice" in record["work_notes_log"][0] and "Bad deploy 4711" in record["work_notes_log"][1]
    assert len(snow.incidents) == 1
    writes = [(method, path.rsplit("/", 1)[-1]) for method, path, _ in snow.requests]
    assert writes == [("POST", "incident"), ("PATCH", sys_id), ("PATCH", sys_id), ("PATCH", sys_id)]
    assert all(r.headers["accept"] == "application/json" for r in snow.received)


@pytest.mark.parametrize("severity, pair", [("SEV-1", ("1", "1")), ("SEV-2", ("1", "2")),
                                            ("SEV-3", ("2", "2")), ("SEV-4", ("3", "3"))])
def test_servicenow_urgency_and_impact_by_severity(snow, snow_notifier, client, severity, pair):
    assert urgency_impact(severity) == pair
    created = deliver(snow_notifier, client, message("servicenow", severity=severity))
    record = snow.incidents[created.reference]
    assert (record["urgency"], record["impact"]) == pair


def test_servicenow_severity_change_updates_urgency_and_impact(snow, snow_notifier, client):
    sys_id = deliver(snow_notifier, client, message("servicenow", severity="SEV-3")).reference
    assert deliver(snow_notifier, client, message("servicenow", "severity_changed", reference=sys_id,
                                                  severity="SEV-1")).outcome == "sent"
    record = snow.incidents[sys_id]
    assert (record["urgency"], record["impact"], record["priority"]) == ("1", "1", "1")


def test_servicenow_fake_enforces_the_resolution_data_policy(snow, client):
    auth = (servicenow_fake.USER, servicenow_fake.PASSWORD)
    table = f"{snow.url}/api/now/table/incident"
    created = client.post(table, auth=auth, json={"short_description": "x", "urgency": "2", "impact": "2"},
                          headers={"Accept": "application/json"})
    assert created.status_code == 201
    sys_id = created.json()["result"]["sys_id"]
    bare = client.patch(f"{table}/{sys_id}", auth=auth, json={"state": "6"})
    assert bare.status_code == 403 and "Resolution code, Resolution notes" in bare.json()["error"]["detail"]
    assert client.patch(f"{table}/{sys_id}", auth=auth, json={"urgency": "9"}).status_code == 400
    assert client.patch(f"{table}/{sys_id}", auth=auth, json={"state": "6", "close_code": "Fixed it",
                                                              "close_notes": "n"}).status_code == 400
    assert client.patch(f"{table}/{sys_id}", auth=auth, json={"short_desc": "typo"}).status_code == 400
    assert client.post(table, auth=auth, json={"short_description": "x" * 161}).status_code == 400
    assert client.post(table, auth=auth, content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post(table, json={"short_description": "x"}).status_code == 401
    closed = client.patch(f"{table}/{sys_id}", auth=auth, json={"state": "7", "close_code": "Solved (Permanently)",
                                                                "close_notes": "done"})
    assert closed.status_code == 200 and snow.states(sys_id) == ["1", "7"]
    assert client.patch(f"{table}/{sys_id}", auth=auth, json={"work_notes": "late"}).status_code == 403


def test_servicenow_resend_after_a_lost_answer_does_not_record_twice(snow, snow_notifier, client):
    snow.delay, snow.delay_only = 0.3, "POST"  # ServiceNow records it, the answer never arrives in time
    lost = snow_notifier.deliver(message("servicenow"), httpx.Client(timeout=0.1))
    snow.delay = 0.0
    assert lost.outcome == "retry"
    again = deliver(snow_notifier, client, message("servicenow"))
    assert again.outcome == "sent" and "already exists" in again.detail
    assert list(snow.incidents) == [again.reference]
    later = deliver(snow_notifier, client, message("servicenow", "acknowledged", number=2))
    assert later.reference == again.reference and snow.states(again.reference) == ["1", "2"]


def test_servicenow_resolved_first_creates_a_resolved_record(snow, snow_notifier, client):
    delivery = deliver(snow_notifier, client, message("servicenow", "resolved", message="Fixed by restart"))
    record = snow.incidents[delivery.reference]
    assert record["state"] == "6" and "Fixed by restart" in record["close_notes"]


def test_servicenow_401_and_404_are_rejected(snow, client, monkeypatch):
    monkeypatch.setenv("SERVICENOW_USER", servicenow_fake.USER)
    monkeypatch.setenv("SERVICENOW_PASSWORD", "not-the-PASSWORD-42")
    wrong = deliver(ServiceNowNotifier(url=snow.url), client, message("servicenow"))
    assert wrong.outcome == "rejected" and "401" in wrong.detail and "not-the-PASSWORD-42" not in wrong.detail
    monkeypatch.setenv("SERVICENOW_PASSWORD", servicenow_fake.PASSWORD)
    gone = deliver(ServiceNowNotifier(url=snow.url), client,
                   message("servicenow", "acknowledged", reference="0" * 32))
    assert gone.outcome == "rejected" and "404" in gone.detail and "No Record found" in gone.detail
    assert snow.incidents == {}


def test_servicenow_data_policy_refusal_is_rejected(snow, client, monkeypatch):
    monkeypatch.setenv("SERVICENOW_USER", servicenow_fake.USER)
    monkeypatch.setenv("SERVICENOW_PASSWORD", servicenow_fake.PASSWORD)
    notifier = ServiceNowNotifier(url=snow.url, close_code="Solution provided")
    sys_id = deliver(notifier, client, message("servicenow")).reference
    resolved = deliver(notifier, client, message("servicenow", "resolved", reference=sys_id, summary="", message="",
                                                 title=""))
    assert resolved.outcome == "sent"  # close_notes are never empty
    assert snow.incidents[sys_id]["close_code"] == "Solution provided"
    snow.fail_next(1, status=403, body={"error": {"message": "Operation Failed", "detail": "Data Policy Exception: "
                                                  "The following fields are mandatory: Assignment group"},
                                        "status": "failure"})
    refused = deliver(notifier, client, message("servicenow", "status_update", reference=sys_id))
    assert refused.outcome == "rejected" and "Assignment group" in refused.detail


def test_servicenow_429_and_5xx_are_retried(snow, snow_notifier, client):
    snow.fail_next(1, status=429, retry_after=12)
    limited = deliver(snow_notifier, client, message("servicenow"))
    assert limited.outcome == "retry" and limited.retry_after == 12
    snow.fail_next(2, status=500)  # the lookup, then the next lookup
    assert deliver(snow_notifier, client, message("servicenow")).outcome == "retry"
    assert deliver(snow_notifier, client, message("servicenow")).outcome == "retry"
    snow.down(refuse=False)
    assert deliver(snow_notifier, client, message("servicenow")).outcome == "retry"
    snow.up()
    snow.down()
    assert deliver(snow_notifier, client, message("servicenow")).outcome == "retry"
    snow.up()
    snow.garbage = True
    assert deliver(snow_notifier, client, message("servicenow")).outcome == "retry"
    snow.garbage = False
    assert deliver(snow_notifier, client, message("servicenow")).outcome == "sent"
    assert len(snow.incidents) == 1


def test_servicenow_missing_credentials_are_retried_naming_the_variable(snow, client, monkeypatch):
    monkeypatch.delenv("SERVICENOW_USER", raising=False)
    monkeypatch.setenv("SERVICENOW_PASSWORD", servicenow_fake.PASSWORD)
    delivery = deliver(ServiceNowNotifier(url=snow.url), client, message("servicenow"))
    assert delivery.outcome == "retry" and "SERVICENOW_USER" in delivery.detail
    assert snow.received == []


def test_severity_aliases():
    assert [canonical_severity(v) for v in ("SEV-1", "sev2", "p3", "4", "critical", "bogus", None)] == \
        ["SEV-1", "SEV-2", "SEV-3", "SEV-4", "SEV-1", None, None]
