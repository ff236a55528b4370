"""Statuspage and Opsgenie notifiers against their contract fakes (real HTTP servers on loopback)."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from integrations.notifier import Delivery, Notifier, OutboxMessage
from integrations.opsgenie import OpsgenieNotifier, priority_for
from integrations.statuspage import StatuspageNotifier, component_status_for, incident_status_for
from tests.support.opsgenie_fake import API_KEY as GENIE_KEY, OpsgenieFake
from tests.support.statuspage_fake import API_KEY as PAGE_KEY, CHECKOUT, PAGE_ID, PAYMENTS, StatuspageFake

INCIDENT = "INC-2024-0118-001"
SP_ENV, OG_ENV = "STATUSPAGE_API_KEY", "OPSGENIE_API_KEY"
MAPPING = {"checkout": CHECKOUT, "payments": PAYMENTS}


def message(event: str = "declared", *, integration: str = "statuspage", msg_id: int = 1, reference: str | None = None,
            attempts: int = 0, **payload) -> OutboxMessage:
    body = {"id": INCIDENT, "title": "Checkout API returns 502", "severity": "SEV-1", "type": "outage",
            "environment": "production", "service": "checkout", "status": "investigating",
            "summary": "Error rate 35% on checkout after deploy 4812", "event": event,
            "url": "https://ir.example.com/incidents/INC-2024-0118-001", "public_headline": "Service Outage"}
    body.update(payload)
    body = {k: v for k, v in body.items() if v is not None}
    return OutboxMessage(id=msg_id, incident_id=body.get("id"), integration=integration, event=event,
                         idempotency_key=f"{body.get('id')}:{msg_id}:{integration}:-", payload=body, attempts=attempts,
                         reference=reference, stakeholder_group="External Customers")


def checked(delivery: Delivery, *secrets: str) -> Delivery:
    """Every Delivery: one line, never a secret."""
    assert delivery.detail and "\n" not in delivery.detail
    for secret in secrets or (PAGE_KEY, GENIE_KEY):
        assert secret not in delivery.detail
    return delivery


@pytest.fixture
def client():
    with httpx.Client(timeout=2.0) as http:
        yield http


# == Statuspage ===================================================================================

@pytest.fixture
def page():
    with StatuspageFake() as server:
        yield server


@pytest.fixture
def statuspage(page, monkeypatch) -> StatuspageNotifier:
    monkeypatch.setenv(SP_ENV, PAGE_KEY)
    return StatuspageNotifier(PAGE_ID, url=page.url, component_mapping=MAPPING)


def sp(notifier: StatuspageNotifier, client: httpx.Client, msg: OutboxMessage) -> Delivery:
    return checked(notifier.deliver(msg, client), PAGE_KEY)


def test_statuspage_satisfies_the_protocol(statuspage):
    instance: Notifier = statuspage
    assert instance.integration == "statuspage"


def test_the_internal_title_is_never_published_unless_chosen_as_the_headline(page, statuspage, client):
    created = sp(statuspage, client, message("declared", public_headline=None))
    ref = created.reference
    sp(statuspage, client, message("status_update", reference=ref, status="identified", message="Cause found."))
    assert page.incidents[ref]["name"] == "Outage Incident"  # the type's headline, never the title
    assert not any("Checkout API returns 502" in json.dumps(r["body"]) for r in page.requests)
    # The engineer chose a headline with an update: the page is renamed to exactly that.
    sp(statuspage, client, message("status_update", reference=ref, status="monitoring", message="Fix out.",
                                   headline="Checkout errors"))
    assert page.incidents[ref]["name"] == "Checkout errors"


def test_statuspage_walks_one_incident_through_its_statuses(page, statuspage, client):
    created = sp(statuspage, client, message("declared"))
    assert created.outcome == "sent" and created.reference
    ref = created.reference
    assert page.components[CHECKOUT]["status"] == "major_outage"
    for status in ("identified", "monitoring"):
        delivery = sp(statuspage, client, message("status_update", reference=ref, status=status))
        assert (delivery.outcome, delivery.reference) == ("sent", ref)
        assert page.incidents[ref]["status"] == status
        assert page.components[CHECKOUT]["status"] == "major_outage"
    resolved = sp(statuspage, client, message("resolved", reference=ref, status="resolved",
                                              message="Checkout is healthy again."))
    assert (resolved.outcome, resolved.reference) == ("sent", ref)

    assert list(page.incidents) == [ref]  # one public incident, all along
    incident = page.incidents[ref]
    assert page.statuses(ref) == ["investigating", "identified", "monitoring", "resolved"]
    assert incident["resolved_at"] and incident["monitoring_at"]
    assert page.components[CHECKOUT]["status"] == "operational"
    assert incident["incident_updates"][0]["body"] == "Checkout is healthy again."
    assert incident["incident_updates"][0]["affected_components"] == [
        {"code": CHECKOUT, "name": "Checkout API", "old_status": "major_outage", "new_status": "operational"}]

    search, create, *updates = [(r.method, r.path) for r in page.received]
    base = f"/v1/pages/{PAGE_ID}/incidents"
    assert search == ("GET", f"{base}/unresolved") and create == ("POST", base)
    assert updates == [("PATCH", f"{base}/{ref}")] * 3
    assert page.requests[0]["body"] == {"incident": {
        "name": "Service Outage", "status": "investigating",
        "body": "We are currently investigating this issue.",
        "metadata": {"incident_response": {"incident_id": INCIDENT}},
        "component_ids": [CHECKOUT], "components": {CHECKOUT: "major_outage"}}}
    assert page.requests[1]["body"] == {"incident": {
        "status": "identified", "body": "The issue has been identified and a fix is being implemented.",
        "component_ids": [CHECKOUT], "components": {CHECKOUT: "major_outage"}}}
    for received in page.received:
        assert received.headers["authorization"] == f"OAuth {PAGE_KEY}"
        assert PAGE_KEY.encode() not in received.body
        # The page is public: no internal summary, incident id or internal URL in the text.
        assert b"deploy 4812" not in received.body and b"ir.example.com" not in received.body
    assert all(r.headers["content-type"] == "application/json" for r in page.received if r.method != "GET")


@pytest.mark.parametrize(("sev", "expected"), [("SEV-1", "major_outage"), ("SEV-2", "partial_outage"),
                                               ("SEV-3", "degraded_performance"), ("sev4", "degraded_performance"),
                                               ("bogus", "partial_outage")])
def test_statuspage_component_status_follows_severity(page, statuspage, client, sev, expected):
    assert sp(statuspage, client, message(severity=sev, service="checkout,payments")).outcome == "sent"
    assert page.requests[-1]["body"]["incident"]["components"] == {CHECKOUT: expected, PAYMENTS: expected}


def test_statuspage_status_and_component_mapping_helpers():
    assert [incident_status_for(s) for s in ("investigating", "Identified", "monitoring", "resolved", "closed",
                                             "open", None)] == [
        "investigating", "identified", "monitoring", "resolved", "resolved", None, None]
    assert component_status_for("SEV-1", "resolved") == "operational"
    assert component_status_for("critical", "monitoring") == "major_outage"


def test_statuspage_unmapped_service_publishes_without_components(page, statuspage, client):
    delivery = sp(statuspage, client, message(service="billing"))
    assert delivery.outcome == "sent"
    body = page.requests[-1]["body"]["incident"]
    assert "components" not in body and "component_ids" not in body
    assert all(c["status"] == "operational" for c in page.components.values())


def test_statuspage_severity_change_moves_components_only(page, statuspage, client):
    ref = sp(statuspage, client, message(severity="SEV-3")).reference
    assert page.components[CHECKOUT]["status"] == "degraded_performance"
    delivery = sp(statuspage, client, message("severity_changed", reference=ref, severity="SEV-1"))
    assert delivery.outcome == "sent"
    assert page.requests[-1]["body"] == {"incident": {"component_ids": [CHECKOUT],
                                                      "components": {CHECKOUT: "major_outage"}}}
    assert page.components[CHECKOUT]["status"] == "major_outage"
    assert page.statuses(ref) == ["investigating"]  # no public text for it


def test_statuspage_has_nothing_to_say_about_acknowledgements(page, statuspage, client):
    for event in ("acknowledged", "escalated"):
        delivery = sp(statuspage, client, message(event, reference="abc"))
        assert (delivery.outcome, delivery.reference) == ("skipped", "abc")
    assert page.received == []


def test_statuspage_component_mapping_true_matches_the_pages_component_names(page, client, monkeypatch):
    monkeypatch.setenv(SP_ENV, PAGE_KEY)
    notifier = StatuspageNotifier(PAGE_ID, url=page.url, component_mapping=True)
    ref = sp(notifier, client, message(service="checkout api, PAYMENTS, nosuch", severity="SEV-2")).reference
    assert page.requests[-1]["body"]["incident"]["components"] == {CHECKOUT: "partial_outage",
                                                                   PAYMENTS: "partial_outage"}
    assert sp(notifier, client, message("resolved", reference=ref, service=CHECKOUT)).outcome == "sent"
    assert page.components[CHECKOUT]["status"] == "operational"
    assert page.components[PAYMENTS]["status"] == "partial_outage"
    reads = [r.path for r in page.received if r.path.endswith("/components")]
    assert reads == [f"/v1/pages/{PAGE_ID}/components"]  # read once, kept


def test_statuspage_component_list_failure_is_retried(page, client, monkeypatch):
    monkeypatch.setenv(SP_ENV, PAGE_KEY)
    page.fail_next(1, 503)
    delivery = sp(StatuspageNotifier(PAGE_ID, url=page.url, component_mapping=True), client, message())
    assert delivery.outcome == "retry" and "503" in delivery.detail and page.incidents == {}


def test_statuspage_without_auto_updates_publishes_open_and_resolve_only(page, client, monkeypatch):
    monkeypatch.setenv(SP_ENV, PAGE_KEY)
    notifier = StatuspageNotifier(PAGE_ID, url=page.url, component_mapping=MAPPING, auto_updates=False)
    ref = sp(notifier, client, message()).reference
    for event, changes in (("status_update", {"status": "identified"}), ("severity_changed", {"severity": "SEV-3"})):
        skipped = sp(notifier, client, message(event, reference=ref, **changes))
        assert (skipped.outcome, skipped.reference) == ("skipped", ref) and "Nothing to publish" in skipped.detail
    assert sp(notifier, client, message("resolved", reference=ref)).outcome == "sent"
    assert page.statuses(ref) == ["investigating", "resolved"]


def test_statuspage_config_table_builds_the_notifier(page):
    from automation.notifiers import notifiers_from_config
    from playbooks.config import parse_configuration
    from playbooks.errors import PlaybookError

    built = notifiers_from_config(parse_configuration({"integrations": {"statuspage": {
        "url": page.url, "page_id": PAGE_ID, "api_key_env": "SP_KEY", "auto_updates": True,
        "component_mapping": {"checkout": CHECKOUT}}, "opsgenie": {"url": page.url}}}))
    assert built["statuspage"].component_mapping == {"checkout": CHECKOUT}
    assert built["opsgenie"].api_key_env == "OPSGENIE_API_KEY"
    for bad in ({"page_id": ""}, {"page_id": PAGE_ID, "component_mapping": "yes"},
                {"page_id": PAGE_ID, "component_mapping": {"checkout": 3}}, {"page_id": PAGE_ID, "auto_updates": "no"}):
        with pytest.raises(PlaybookError):
            notifiers_from_config(parse_configuration({"integrations": {"statuspage": bad}}))


def test_statuspage_first_message_without_reference_creates_the_incident(page, statuspage, client):
    delivery = sp(statuspage, client, message("status_update", status="identified"))
    assert delivery.outcome == "sent"
    assert page.incidents[delivery.reference]["status"] == "identified"


def test_statuspage_lost_create_answer_is_adopted_not_published_twice(page, statuspage, client):
    page.delay, page.delay_method = 0.3, "POST"  # Statuspage creates the incident, the answer comes too late
    with httpx.Client(timeout=0.15) as impatient:
        lost = statuspage.deliver(message("declared"), impatient)
    assert lost.outcome == "retry" and "in time" in lost.detail
    page.delay = 0.0
    deadline = time.monotonic() + 2
    while not page.incidents and time.monotonic() < deadline:
        time.sleep(0.02)
    again = sp(statuspage, client, message("declared", attempts=1))
    assert again.outcome == "sent" and list(page.incidents) == [again.reference]
    assert [r.method for r in page.received] == ["GET", "POST", "GET"]  # found, not created again
    # An update whose reference was lost with it finds the incident too.
    update = sp(statuspage, client, message("status_update", status="identified"))
    assert update.reference == again.reference and len(page.incidents) == 1
    assert page.statuses(again.reference) == ["investigating", "identified"]


def test_statuspage_401_is_rejected_and_missing_key_retried(page, client, monkeypatch):
    monkeypatch.setenv(SP_ENV, "wrong-key-0000")
    delivery = StatuspageNotifier(PAGE_ID, url=page.url).deliver(message(), client)
    assert delivery.outcome == "rejected" and "401" in delivery.detail and SP_ENV in delivery.detail
    assert "wrong-key-0000" not in delivery.detail
    monkeypatch.delenv(SP_ENV)
    missing = StatuspageNotifier(PAGE_ID, url=page.url).deliver(message(), client)
    assert missing.outcome == "retry" and SP_ENV in missing.detail
    assert [r.status for r in page.received] == [401]


def test_statuspage_422_is_rejected_with_the_pages_reason(page, statuspage, client):
    ref = sp(statuspage, client, message()).reference
    assert sp(statuspage, client, message("resolved", reference=ref)).outcome == "sent"
    reopened = sp(statuspage, client, message("status_update", reference=ref, status="identified"))
    assert reopened.outcome == "rejected" and reopened.reference == ref
    assert "422" in reopened.detail and "Incident is resolved" in reopened.detail
    page.fail_next(1, 422, body={"error": [f"Key {PAGE_KEY} is odd", "second\nline"]})
    odd = sp(statuspage, client, message("status_update", reference=ref, status="resolved"))
    assert odd.outcome == "rejected" and "[redacted]" in odd.detail and "second line" in odd.detail


def test_statuspage_backward_move_is_rejected(page, statuspage, client):
    ref = sp(statuspage, client, message(status="monitoring")).reference
    back = sp(statuspage, client, message("status_update", reference=ref, status="identified"))
    assert back.outcome == "rejected" and "cannot go back" in back.detail


@pytest.mark.parametrize("status", [420, 429])
def test_statuspage_rate_limit_is_retried_after_retry_after(page, statuspage, client, status):
    page.fail_next(1, status, retry_after=3)
    delivery = sp(statuspage, client, message())
    assert (delivery.outcome, delivery.retry_after) == ("retry", 3.0) and str(status) in delivery.detail
    assert page.incidents == {}
    assert sp(statuspage, client, message()).outcome == "sent"


def test_statuspage_server_errors_outages_and_garbage_are_retried(page, statuspage, client):
    ref = sp(statuspage, client, message()).reference
    page.fail_next(1, 500)
    assert sp(statuspage, client, message("status_update", reference=ref, status="identified")).outcome == "retry"
    page.down()
    for _ in range(2):
        down = sp(statuspage, client, message("status_update", reference=ref, status="identified"))
        assert (down.outcome, down.reference) == ("retry", ref) and "Could not reach Statuspage" in down.detail
    page.up()
    page.garbage = True
    assert sp(statuspage, client, message("status_update", reference=ref, status="identified")).outcome == "retry"
    page.garbage = False
    assert sp(statuspage, client, message("status_update", reference=ref, status="identified")).outcome == "sent"
    assert page.statuses(ref) == ["investigating", "identified"]


def test_statuspage_update_of_a_vanished_incident_is_rejected(page, statuspage, client):
    gone = sp(statuspage, client, message("status_update", reference="nosuchincid", status="identified"))
    assert gone.outcome == "rejected" and "404" in gone.detail


def test_statuspage_wrong_page_is_retried_with_a_hint(page, client, monkeypatch):
    monkeypatch.setenv(SP_ENV, PAGE_KEY)
    delivery = checked(StatuspageNotifier("otherpage", url=page.url).deliver(message(), client))
    assert delivery.outcome == "retry" and "page_id" in delivery.detail


def test_statuspage_needs_a_page_id():
    with pytest.raises(ValueError, match="page_id"):
        StatuspageNotifier("")


# -- the Statuspage fake keeps the contract ----------------------------------------------------------

def page_call(http: httpx.Client, fake: StatuspageFake, method: str, path: str = "", body=None, *, key: str | None = PAGE_KEY,
              scheme: str = "OAuth", content_type: str = "application/json") -> httpx.Response:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"{scheme} {key}"
    content = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    return http.request(method, f"{fake.url}/v1/pages/{PAGE_ID}/incidents{path}", content=content, headers=headers)


def valid(**changes) -> dict:
    incident = {"name": "Checkout down", "status": "investigating", "component_ids": [CHECKOUT],
                "components": {CHECKOUT: "major_outage"}}
    incident.update(changes)
    return {"incident": {k: v for k, v in incident.items() if v is not None}}


@pytest.mark.parametrize(("body", "error"), [
    (valid(name=None), "Name can't be blank"),
    (valid(name="  "), "Name can't be blank"),
    (valid(status="down"), "Status is not included in the list"),
    (valid(status="scheduled"), "Status is not included in the list"),
    (valid(components={CHECKOUT: "broken"}), "Component status 'broken' is not included in the list"),
    (valid(components={"nosuchcomp": "major_outage"}), "Component nosuchcomp not found"),
    (valid(component_ids="8kbf7d35c070"), "Component ids must be a list"),
    (valid(impact_override="apocalyptic"), "Impact override is not included in the list"),
])
def test_statuspage_fake_rejects_invalid_incidents(client, page, body, error):
    response = page_call(client, page, "POST", body=body)
    assert response.status_code == 422
    assert any(item.startswith(error) for item in response.json()["error"]), response.json()
    assert page.incidents == {} and page.requests == []


def test_statuspage_fake_enforces_auth_transport_and_paths(client, page):
    assert page_call(client, page, "POST", body=valid(), key=None).status_code == 401
    assert page_call(client, page, "POST", body=valid(), scheme="Bearer").status_code == 401
    assert page_call(client, page, "POST", body=valid(), key="nope").json() == {"error": "Could not authenticate"}
    assert page_call(client, page, "POST", body=valid(), content_type="application/x-www-form-urlencoded").status_code == 415
    assert page_call(client, page, "POST", body=b"{nope").status_code == 400
    assert page_call(client, page, "POST", body={"name": "no wrapper"}).json()["error"].endswith(": incident")
    assert page_call(client, page, "DELETE").status_code == 405
    assert page_call(client, page, "PATCH", "/nosuchincid", body=valid()).status_code == 404
    other = client.get(f"{page.url}/v1/pages/otherpage/incidents", headers={"Authorization": f"OAuth {PAGE_KEY}"})
    assert other.status_code == 404
    assert page.incidents == {}


def test_statuspage_fake_keeps_the_status_lifecycle(client, page):
    created = page_call(client, page, "POST", body=valid())
    assert created.status_code == 201
    incident = created.json()
    assert incident["status"] == "investigating" and incident["impact"] == "critical"
    assert incident["components"][0]["status"] == "major_outage"
    path = f"/{incident['id']}"
    assert page_call(client, page, "PATCH", path, {"incident": {"status": "monitoring"}}).status_code == 200
    assert page_call(client, page, "PATCH", path, {"incident": {"status": "monitoring", "body": "still"}}).status_code == 200
    back = page_call(client, page, "PATCH", path, {"incident": {"status": "identified"}})
    assert back.status_code == 422 and back.json()["error"] == ["Status cannot go back from monitoring to identified"]
    assert page_call(client, page, "PATCH", path, {"incident": {"status": "resolved"}}).status_code == 200
    assert page_call(client, page, "PATCH", path, {"incident": {"status": "resolved", "body": "Postmortem soon"}}).status_code == 200
    reopen = page_call(client, page, "PATCH", path, {"incident": {"status": "investigating"}})
    assert reopen.status_code == 422 and "Incident is resolved" in reopen.json()["error"][0]
    assert page_call(client, page, "PATCH", path, {"incident": {"name": ""}}).status_code == 422
    assert page_call(client, page, "GET", "/unresolved").json() == []
    assert page_call(client, page, "GET", path).json()["status"] == "resolved"
    assert page.statuses(incident["id"]) == ["investigating", "monitoring", "monitoring", "resolved", "resolved"]


# == Opsgenie =====================================================================================

@pytest.fixture
def genie():
    with OpsgenieFake() as server:
        yield server


@pytest.fixture
def opsgenie(genie, monkeypatch) -> OpsgenieNotifier:
    monkeypatch.setenv(OG_ENV, GENIE_KEY)
    return OpsgenieNotifier(url=genie.url)


def og(notifier: OpsgenieNotifier, client: httpx.Client, event: str = "declared", **payload) -> Delivery:
    return checked(notifier.deliver(message(event, integration="opsgenie", **payload), client), GENIE_KEY)


def test_opsgenie_satisfies_the_protocol(opsgenie):
    instance: Notifier = opsgenie
    assert instance.integration == "opsgenie"


def test_opsgenie_create_acknowledge_close_on_one_alias(genie, opsgenie, client):
    created = og(opsgenie, client)
    assert (created.outcome, created.reference) == ("sent", INCIDENT)
    alert = genie.alerts[INCIDENT]
    assert (alert["status"], alert["acknowledged"], alert["count"], alert["priority"]) == ("open", False, 1, "P1")
    assert og(opsgenie, client, "acknowledged").outcome == "sent"
    assert genie.alerts[INCIDENT]["acknowledged"] is True
    assert og(opsgenie, client, "resolved", status="resolved").outcome == "sent"
    assert genie.alerts[INCIDENT]["status"] == "closed"
    assert genie.actions(INCIDENT) == ["create", "acknowledge", "close"]
    assert all(status["isSuccess"] for status in genie.request_status.values())

    create, ack, close = genie.received
    assert (create.method, create.path, create.query) == ("POST", "/v2/alerts", {})
    assert (ack.method, ack.path, ack.query) == ("POST", f"/v2/alerts/{INCIDENT}/acknowledge",
                                                 {"identifierType": ["alias"]})
    assert (close.path, close.query) == (f"/v2/alerts/{INCIDENT}/close", {"identifierType": ["alias"]})
    assert all(r.headers["authorization"] == f"GenieKey {GENIE_KEY}" for r in genie.received)
    assert all(r.headers["content-type"] == "application/json" for r in genie.received)
    body = create.json()
    assert body["message"] == "[SEV-1] INC-2024-0118-001: Checkout API returns 502"
    assert (body["alias"], body["priority"], body["source"], body["entity"]) == (
        INCIDENT, "P1", "incident-response", "checkout")
    assert body["tags"] == ["incident-response", "SEV-1", "outage", "production", "checkout"]
    assert body["details"] == {"incident_id": INCIDENT, "event": "declared", "title": "Checkout API returns 502",
                               "severity": "SEV-1", "status": "investigating", "type": "outage",
                               "environment": "production", "service": "checkout",
                               "summary": "Error rate 35% on checkout after deploy 4812",
                               "url": "https://ir.example.com/incidents/INC-2024-0118-001"}
    assert "Error rate 35%" in body["description"]
    assert ack.json() == {"note": "Error rate 35% on checkout after deploy 4812", "source": "incident-response"}


def test_opsgenie_repeated_create_is_deduplicated_by_alias(genie, opsgenie, client):
    for _ in range(3):
        assert og(opsgenie, client).outcome == "sent"
    assert og(opsgenie, client, "escalated").outcome == "sent"
    assert len(genie.history) == 1 and genie.alerts[INCIDENT]["count"] == 4
    assert og(opsgenie, client, "resolved").outcome == "sent"
    assert og(opsgenie, client).outcome == "sent"  # a new problem after close: a new alert
    assert len(genie.history) == 2 and genie.alerts[INCIDENT]["status"] == "open"


def test_opsgenie_status_update_is_a_note_and_severity_change_sets_priority(genie, opsgenie, client):
    og(opsgenie, client, severity="SEV-3")
    assert genie.alerts[INCIDENT]["priority"] == "P3"
    assert og(opsgenie, client, "status_update", status="identified", message="Bad deploy rolled back").outcome == "sent"
    assert og(opsgenie, client, "severity_changed", severity="SEV-1").outcome == "sent"
    alert = genie.alerts[INCIDENT]
    assert alert["notes"] == ["Status identified: Bad deploy rolled back"]
    assert alert["priority"] == "P1"
    note, priority = genie.received[1:]
    assert (note.method, note.path) == ("POST", f"/v2/alerts/{INCIDENT}/notes")
    assert (priority.method, priority.path, priority.json()) == ("PUT", f"/v2/alerts/{INCIDENT}/priority",
                                                                 {"priority": "P1"})


@pytest.mark.parametrize(("sev", "expected"), [("SEV-1", "P1"), ("SEV-2", "P2"), ("SEV-3", "P3"), ("SEV-4", "P4")])
def test_opsgenie_priority_is_mapped(genie, opsgenie, client, sev, expected):
    assert og(opsgenie, client, severity=sev).outcome == "sent"
    assert genie.alerts[INCIDENT]["priority"] == expected


def test_opsgenie_priority_aliases():
    assert [priority_for(v) for v in ("sev1", "p2", "3", "low", "Critical", None, "bogus")] == [
        "P1", "P2", "P3", "P4", "P1", "P2", "P2"]


def test_opsgenie_long_message_is_cut_to_130_and_long_alias_refused(genie, opsgenie, client):
    assert og(opsgenie, client, title="x" * 500).outcome == "sent"
    assert len(genie.alerts[INCIDENT]["message"]) == 130
    long_alias = og(opsgenie, client, id="I" * 513)
    assert long_alias.outcome == "rejected" and "512" in long_alias.detail
    assert og(opsgenie, client, "commented").outcome == "rejected"
    assert len(genie.received) == 1


def test_opsgenie_401_is_rejected_and_missing_key_retried(genie, client, monkeypatch):
    other = "00000000-1111-2222-3333-444444444444"
    monkeypatch.setenv(OG_ENV, other)
    delivery = checked(OpsgenieNotifier(url=genie.url).deliver(message(integration="opsgenie"), client), other)
    assert delivery.outcome == "rejected" and "401" in delivery.detail and OG_ENV in delivery.detail
    monkeypatch.delenv(OG_ENV)
    missing = OpsgenieNotifier(url=genie.url).deliver(message(integration="opsgenie"), client)
    assert missing.outcome == "retry" and OG_ENV in missing.detail
    assert len(genie.received) == 1 and genie.alerts == {}


def test_opsgenie_422_is_rejected_with_its_errors(genie, opsgenie, client):
    genie.fail_next(1, 422, body={"message": "Request body is not processable. Please check the errors.",
                                  "errors": {"message": f"bad {GENIE_KEY}"}, "took": 0.0, "requestId": "r"})
    delivery = og(opsgenie, client)
    assert delivery.outcome == "rejected" and "422" in delivery.detail
    assert "not processable" in delivery.detail and "message: bad [redacted]" in delivery.detail


def test_opsgenie_429_and_500_are_retried(genie, opsgenie, client):
    genie.fail_next(1, 429, retry_after=5)
    limited = og(opsgenie, client)
    assert (limited.outcome, limited.retry_after) == ("retry", 5.0) and "429" in limited.detail
    genie.fail_next(1, 502)
    assert og(opsgenie, client).outcome == "retry"
    genie.garbage = True
    assert og(opsgenie, client).outcome == "retry"
    genie.garbage = False
    assert genie.alerts == {}
    assert og(opsgenie, client).outcome == "sent"


def test_opsgenie_down_then_up_pages_once(genie, opsgenie, client):
    assert og(opsgenie, client).outcome == "sent"
    genie.down()
    for _ in range(2):
        delivery = og(opsgenie, client, "acknowledged")
        assert delivery.outcome == "retry" and "Could not reach Opsgenie" in delivery.detail
    genie.up()
    assert og(opsgenie, client).outcome == "sent"  # re-sent create: deduplicated
    assert og(opsgenie, client, "acknowledged").outcome == "sent"
    assert len(genie.history) == 1 and genie.alerts[INCIDENT]["acknowledged"]


def test_opsgenie_secrets_never_leave_the_header(genie, opsgenie, client):
    for event in ("declared", "status_update", "severity_changed", "acknowledged", "resolved"):
        assert og(opsgenie, client, event).outcome == "sent"
    for received in genie.received:
        assert GENIE_KEY.encode() not in received.body
        assert GENIE_KEY not in json.dumps(received.query)


# -- the Opsgenie fake keeps the contract ------------------------------------------------------------

def genie_call(http: httpx.Client, fake: OpsgenieFake, method: str, path: str, body=None, *, key: str | None = GENIE_KEY,
               scheme: str = "GenieKey", content_type: str = "application/json",
               params: dict | None = None) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"{scheme} {key}"
    content = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    return http.request(method, fake.url + path, content=content, headers=headers, params=params)


def alert(**changes) -> dict:
    body = {"message": "disk full on db01", "alias": "db01-disk", "priority": "P2", "source": "test"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("body", "field", "error"), [
    (alert(message=None), "message", "Message can not be empty."),
    (alert(message=" "), "message", "Message can not be empty."),
    (alert(message="m" * 131), "message", "Message can not be longer than 130 characters."),
    (alert(alias="a" * 513), "alias", "Alias can not be longer than 512 characters."),
    (alert(priority="P6"), "priority", "Priority should be one of [P1, P2, P3, P4, P5]."),
    (alert(priority="critical"), "priority", "Priority should be one of"),
    (alert(tags=["t"] * 21), "tags", "Tags can not have more than 20 items."),
    (alert(tags=["t" * 51]), "tags", "Tags items can not be longer than 50 characters."),
    (alert(details={"count": 3}), "details", "Details must be an object of string values."),
    (alert(details={"k": "v" * 8000}), "details", "Details can not be longer than 8000 characters."),
    (alert(source="s" * 101), "source", "Source can not be longer than 100 characters."),
    (alert(responders=[{"type": "squad", "name": "ops"}]), "responders", "responders entries need a type"),
])
def test_opsgenie_fake_rejects_invalid_alerts(client, genie, body, field, error):
    response = genie_call(client, genie, "POST", "/v2/alerts", body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["message"] == "Request body is not processable. Please check the errors."
    assert answer["errors"][field].startswith(error) and answer["requestId"]
    assert genie.alerts == {} and genie.requests == []


def test_opsgenie_fake_enforces_auth_transport_and_identifier_type(client, genie):
    assert genie_call(client, genie, "POST", "/v2/alerts", alert(), key=None).status_code == 401
    assert genie_call(client, genie, "POST", "/v2/alerts", alert(), scheme="Bearer").status_code == 401
    assert genie_call(client, genie, "POST", "/v2/alerts", alert(), key="short").json()["message"] == "Key format is not valid!"
    assert genie_call(client, genie, "POST", "/v2/alerts", alert(),
                      key="00000000-1111-2222-3333-444444444444").status_code == 401
    assert genie_call(client, genie, "POST", "/v2/alerts", alert(), content_type="text/plain").status_code == 415
    assert genie_call(client, genie, "POST", "/v2/alerts", b"{oops").status_code == 400
    assert genie_call(client, genie, "POST", "/v2/alerts", b"[1]").status_code == 400
    assert genie_call(client, genie, "GET", "/v2/alerts").status_code == 405
    assert genie_call(client, genie, "POST", "/v1/alerts", alert()).status_code == 404
    assert genie_call(client, genie, "POST", "/v2/alerts/x/snooze", {}, params={"identifierType": "alias"}).status_code == 404
    assert genie_call(client, genie, "PUT", "/v2/alerts/x/close", {}, params={"identifierType": "alias"}).status_code == 405
    bad_type = genie_call(client, genie, "POST", "/v2/alerts/x/close", {}, params={"identifierType": "name"})
    assert bad_type.status_code == 422 and "identifierType" in bad_type.json()["message"]
    bad_priority = genie_call(client, genie, "PUT", "/v2/alerts/x/priority", {"priority": "P9"},
                              params={"identifierType": "alias"})
    assert bad_priority.status_code == 422
    assert genie_call(client, genie, "POST", "/v2/alerts/x/notes", {"source": "t"},
                      params={"identifierType": "alias"}).json()["errors"] == {"note": "Note can not be empty."}
    assert genie.requests == []


def test_opsgenie_fake_is_asynchronous_and_deduplicates(client, genie):
    first = genie_call(client, genie, "POST", "/v2/alerts", alert())
    assert first.status_code == 202 and first.json()["result"] == "Request will be processed"
    assert genie_call(client, genie, "POST", "/v2/alerts", alert(message="again")).status_code == 202
    assert genie.alerts["db01-disk"]["count"] == 2 and genie.alerts["db01-disk"]["message"] == "disk full on db01"
    # Without identifierType the identifier is the alert id: the alias is not found, yet 202.
    by_id = genie_call(client, genie, "POST", "/v2/alerts/db01-disk/close", {"source": "t"})
    assert by_id.status_code == 202
    status = genie_call(client, genie, "GET", f"/v2/alerts/requests/{by_id.json()['requestId']}").json()["data"]
    assert (status["isSuccess"], status["status"]) == (False, "Alert does not exist")
    assert genie.alerts["db01-disk"]["status"] == "open"
    tiny = genie.alerts["db01-disk"]["tinyId"]
    assert genie_call(client, genie, "POST", f"/v2/alerts/{tiny}/acknowledge", None,
                      params={"identifierType": "tiny"}).status_code == 202  # an empty body is fine
    assert genie.alerts["db01-disk"]["acknowledged"] is True
    fetched = genie_call(client, genie, "GET", "/v2/alerts/db01-disk", params={"identifierType": "alias"})
    assert fetched.json()["data"]["count"] == 2
    assert genie_call(client, genie, "GET", "/v2/alerts/nope", params={"identifierType": "alias"}).status_code == 404


def test_opsgenie_fake_accepts_an_alertmanager_shaped_request(client, genie):
    """What Alertmanager's opsgenie receiver sends (notify/opsgenie): no priority, string details,
    responders, then PUT message/description when update_alerts is on, and close with a source."""
    alias = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
    body = {"alias": alias, "message": "[FIRING:1] HighErrorRate checkout", "description": "rate > 5%",
            "details": {"alertname": "HighErrorRate", "service": "checkout"}, "source": "alertmanager",
            "responders": [{"name": "sre", "type": "team"}], "tags": ["prod"], "note": "see runbook"}
    assert genie_call(client, genie, "POST", "/v2/alerts", body).status_code == 202
    assert genie.alerts[alias]["priority"] == "P3"  # Opsgenie's default
    for action, field in (("message", "message"), ("description", "description")):
        assert genie_call(client, genie, "PUT", f"/v2/alerts/{alias}/{action}", {field: "updated"},
                          params={"identifierType": "alias"}).status_code == 202
    assert genie_call(client, genie, "POST", f"/v2/alerts/{alias}/close", {"source": "alertmanager"},
                      params={"identifierType": "alias"}).status_code == 202
    assert genie.alerts[alias]["status"] == "closed" and genie.alerts[alias]["message"] == "updated"
