"""Issue 12, acceptance 6: with auto_ticket_creation, Jira, ServiceNow, Remedy and Cherwell each
hold one ticket per incident through its whole life — created at declare (priority from the
severity), the engineer's status update as a comment word for word, resolved, then closed —
through the store, the router and the real deliverer, with the vendor down in the middle:
nothing is sent out of order (no comment before the ticket exists) and nothing twice. And the
fakes refuse what each vendor would."""
from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.notifiers import notifiers_from_config
from automation.routing import route_by_matrix
from playbooks.config import parse_configuration
from store.models import Notification
from store import review
from store.operations import IncidentStore
from tests.support import cherwell_fake, jira_fake, remedy_fake, servicenow_fake

WORDS = "Rolled back deploy 4711; error rate back under 1%"
AFFECTED = "Checkout in EU"
ENV = {"JIRA_EMAIL": jira_fake.EMAIL, "JIRA_API_TOKEN": jira_fake.API_TOKEN,
       "SERVICENOW_USER": servicenow_fake.USER, "SERVICENOW_PASSWORD": servicenow_fake.PASSWORD,
       "REMEDY_USER": remedy_fake.USER, "REMEDY_PASSWORD": remedy_fake.PASSWORD,
       "CHERWELL_CLIENT_ID": cherwell_fake.CLIENT_ID, "CHERWELL_USER": cherwell_fake.USER,
       "CHERWELL_PASSWORD": cherwell_fake.PASSWORD}
FAKES = {"jira": jira_fake.JiraFake, "servicenow": servicenow_fake.ServiceNowFake,
         "remedy": remedy_fake.RemedyFake, "cherwell": cherwell_fake.CherwellFake}


def table(name: str, url: str) -> dict:
    extra = {"remedy": {"first_name": remedy_fake.FIRST, "last_name": remedy_fake.LAST},
             "cherwell": {"customer_rec_id": cherwell_fake.CUSTOMER, "service": "IT Service",
                          "category": "Monitoring", "subcategory": "Alert"}}
    return {"url": url, **extra.get(name, {})}


@pytest.fixture(params=sorted(FAKES))
def vendor(request, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with FAKES[request.param]() as fake:
        yield request.param, fake


def the_ticket(name: str, fake) -> dict:
    """The one ticket the fake holds: its comments (text), its states, its priority."""
    if name == "jira":
        (key,) = fake.issues
        issue = fake.issues[key]
        return {"comments": fake.comments(key), "states": issue["statuses"],
                "priority": issue["fields"]["priority"]["name"]}
    if name == "servicenow":
        (sys_id,) = fake.incidents
        record = fake.incidents[sys_id]
        return {"comments": record["work_notes_log"], "states": [servicenow_fake.STATES[s] for s in fake.states(sys_id)],
                "priority": (record["urgency"], record["impact"])}
    if name == "remedy":
        (number,) = fake.incidents
        incident = fake.incidents[number]
        return {"comments": incident["work_info"], "states": fake.statuses(number),
                "priority": (incident["Impact"], incident["Urgency"])}
    (rec_id,) = fake.incidents
    return {"comments": fake.incidents[rec_id]["journal"], "states": fake.statuses(rec_id),
            "priority": fake.incidents[rec_id]["Priority"]}


EXPECTED = {
    "jira": {"states": ["Open", "Resolved", "Closed"], "priority": "Highest"},
    "servicenow": {"states": ["New", "Resolved", "Closed"], "priority": ("1", "1")},
    "remedy": {"states": ["Assigned", "Resolved", "Closed"], "priority": ("1-Extensive/Widespread", "1-Critical")},
    "cherwell": {"states": ["New", "Resolved", "Closed"], "priority": "1"},
}


def test_one_ticket_lives_through_declare_update_resolve_close_across_an_outage(store, vendor, clock, tmp_path):
    name, fake = vendor
    configuration = parse_configuration({"integrations": {name: table(name, fake.url)}}, tmp_path / "config.toml")
    notifiers = notifiers_from_config(configuration)
    routed = IncidentStore(store.db, store.policy, store.clock,
                           router=route_by_matrix(store.policy, set(notifiers), configuration))
    deliverer = Deliverer(routed, notifiers, timeout=5)
    try:
        fake.fail_next(3, status=503)  # the vendor is down when the incident is declared ...
        incident = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
        assert deliverer.deliver_due() == 0
        routed.post_status_update(incident.id, WORDS, actor="bob", affected=AFFECTED)
        deliverer.deliver_due()  # ... the update comes due while the create waits: it must wait too
        with routed.db.read() as session:
            rows = list(session.exec(select(Notification).where(Notification.integration == name)
                                     .order_by(Notification.id)))
        assert [(r.event, r.state) for r in rows] == [("declared", "pending"), ("status_update", "pending")]
        assert not getattr(fake, "issues", None) and not getattr(fake, "incidents", None)  # nothing made yet
        for _ in range(6):  # back up: retried with backoff until done
            clock.advance(minutes=11)
            deliverer.deliver_due()
        routed.resolve(incident.id, actor="bob")
        review.update_review(routed, incident.id, actor="carol", held=True)  # a SEV-1 closes after its review
        routed.close(incident.id, actor="bob")
        deliverer.deliver_due()
        with routed.db.read() as session:
            rows = list(session.exec(select(Notification).where(Notification.incident_id == incident.id)
                                     .order_by(Notification.id)))
    finally:
        deliverer.close()
    assert [(r.integration, r.event, r.stakeholder_group, r.state) for r in rows] == [
        (name, event, None, "sent") for event in ("declared", "status_update", "resolved", "closed")]
    ticket = the_ticket(name, fake)
    assert ticket["states"] == EXPECTED[name]["states"]
    assert ticket["priority"] == EXPECTED[name]["priority"]
    update = [c for c in ticket["comments"] if WORDS in c]
    assert len(update) == 1, ticket["comments"]  # the engineer's words, once, verbatim
    assert f"Affected: {AFFECTED}" in update[0]


def test_closed_reaches_only_the_trackers(store, tmp_path):
    configuration = parse_configuration({"integrations": {
        "jira": {"url": "http://127.0.0.1:9"}, "webhook": {"url": "http://127.0.0.1:9"},
        "servicenow": {"url": "http://127.0.0.1:9", "auto_ticket_creation": False}}}, tmp_path / "c.toml")
    routed = IncidentStore(store.db, store.policy, store.clock,
                           router=route_by_matrix(store.policy, {"jira", "webhook", "servicenow"}, configuration))
    incident = routed.declare("low", "outage", "production", actor="alice")
    routed.resolve(incident.id, actor="a")
    routed.close(incident.id, actor="a")
    with routed.db.read() as session:
        rows = [(r.integration, r.event) for r in session.exec(select(Notification).order_by(Notification.id))]
    assert ("jira", "closed") in rows and [r for r in rows if r[1] == "closed"] == [("jira", "closed")]
    assert ("webhook", "declared") in rows and not any(r[0] == "servicenow" for r in rows)  # auto off: not routed


# -- the fakes refuse what the vendors would ------------------------------------------------------

@pytest.fixture
def remedy():
    with remedy_fake.RemedyFake() as fake:
        with httpx.Client(base_url=fake.url, timeout=5) as client:
            token = client.post("/api/jwt/login", data={"username": remedy_fake.USER,
                                                        "password": remedy_fake.PASSWORD}).text
            yield fake, client, {"Authorization": f"AR-JWT {token}"}


GOOD_REMEDY = {"First_Name": remedy_fake.FIRST, "Last_Name": remedy_fake.LAST, "Description": "x",
               "Impact": "1-Extensive/Widespread", "Urgency": "1-Critical", "Status": "Assigned",
               "Reported Source": "Systems Management", "Service_Type": "Infrastructure Restoration",
               "z1D_Action": "CREATE"}
CREATE = "/api/arsys/v1/entry/HPD:IncidentInterface_Create"


def test_remedy_fake_refuses_a_wrong_password(remedy):
    fake, client, _ = remedy
    answer = client.post("/api/jwt/login", data={"username": remedy_fake.USER, "password": "nope"})
    assert answer.status_code == 401 and answer.json()[0]["messageNumber"] == 623


def test_remedy_fake_refuses_a_bearer_token_instead_of_ar_jwt(remedy):
    fake, client, auth = remedy
    bearer = {"Authorization": auth["Authorization"].replace("AR-JWT", "Bearer")}
    assert client.post(CREATE, json={"values": GOOD_REMEDY}, headers=bearer).status_code == 401
    assert client.post(CREATE, json={"values": GOOD_REMEDY}, headers=auth).status_code == 201


def test_remedy_fake_refuses_a_form_login_sent_as_json(remedy):
    fake, client, _ = remedy
    answer = client.post("/api/jwt/login", json={"username": remedy_fake.USER, "password": remedy_fake.PASSWORD})
    assert answer.status_code == 415


@pytest.mark.parametrize("change, number", [({"Impact": "High"}, 306), ({"Urgency": "1"}, 306),
                                            ({"Description": ""}, 326), ({"Description": "x" * 101}, 306),
                                            ({"Reported Source": "Pager"}, 306), ({"Bogus": "1"}, 314),
                                            ({"z1D_Action": "MODIFY"}, 326)])
def test_remedy_fake_refuses_blank_unknown_and_out_of_list_values(remedy, change, number):
    fake, client, auth = remedy
    answer = client.post(CREATE, json={"values": {**GOOD_REMEDY, **change}}, headers=auth)
    assert answer.status_code == 400 and answer.json()[0]["messageNumber"] == number
    assert fake.incidents == {}


def test_remedy_fake_refuses_resolving_without_reason_and_closing_before_resolved(remedy):
    fake, client, auth = remedy
    client.post(CREATE, json={"values": GOOD_REMEDY}, headers=auth)
    (incident,) = fake.incidents.values()
    url = f"/api/arsys/v1/entry/HPD:IncidentInterface/{incident['Request ID']}"
    assert client.put(url, json={"values": {"Status": "Closed"}}, headers=auth).status_code == 400
    assert client.put(url, json={"values": {"Status": "Resolved", "Resolution": "done"}}, headers=auth).status_code == 400
    assert client.put(url, json={"values": {"Status": "Resolved", "Status_Reason": "No Further Action Required"}},
                      headers=auth).status_code == 400  # no Resolution
    assert fake.statuses(incident["Incident Number"]) == ["Assigned"]


@pytest.fixture
def cherwell():
    with cherwell_fake.CherwellFake() as fake:
        with httpx.Client(base_url=fake.url, timeout=5) as client:
            token = client.post("/CherwellAPI/token", data={
                "grant_type": "password", "client_id": cherwell_fake.CLIENT_ID, "username": cherwell_fake.USER,
                "password": cherwell_fake.PASSWORD}).json()["access_token"]
            yield fake, client, {"Authorization": f"Bearer {token}"}


def cherwell_fields(**values) -> list[dict]:
    return [{"dirty": True, "fieldId": cherwell_fake.INCIDENT_FIELD_IDS[name], "name": name, "value": value}
            for name, value in values.items()]


GOOD_CHERWELL = {"ShortDescription": "x", "Description": "y", "Priority": "1", "Status": "New", "Service": "s",
                 "Category": "c", "Subcategory": "d", "CustomerRecID": cherwell_fake.CUSTOMER}
SAVE = "/CherwellAPI/api/V1/savebusinessobject"


@pytest.mark.parametrize("form, error", [
    ({"client_id": "wrong"}, "invalid_client_id"), ({"password": "wrong"}, "invalid_grant"),
    ({"grant_type": "client_credentials"}, "unsupported_grant_type")])
def test_cherwell_fake_refuses_wrong_credentials(cherwell, form, error):
    fake, client, _ = cherwell
    body = {"grant_type": "password", "client_id": cherwell_fake.CLIENT_ID, "username": cherwell_fake.USER,
            "password": cherwell_fake.PASSWORD, **form}
    answer = client.post("/CherwellAPI/token", data=body)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_cherwell_fake_refuses_an_unknown_token(cherwell):
    fake, client, _ = cherwell
    body = {"busObId": cherwell_fake.INCIDENT_ID, "fields": cherwell_fields(**GOOD_CHERWELL), "persist": True}
    assert client.post(SAVE, json=body, headers={"Authorization": "Bearer forged"}).status_code == 401


@pytest.mark.parametrize("change, code", [({"Priority": "9"}, "FIELDVALIDATIONERROR"),
                                          ({"Status": "Done"}, "FIELDVALIDATIONERROR"),
                                          ({"Service": ""}, "FIELDVALIDATIONERROR"),
                                          ({"CustomerRecID": "someone"}, "FIELDVALIDATIONERROR"),
                                          ({"Status": "Resolved"}, "FIELDVALIDATIONERROR")])
def test_cherwell_fake_refuses_missing_and_invalid_fields(cherwell, change, code):
    fake, client, auth = cherwell
    body = {"busObId": cherwell_fake.INCIDENT_ID, "fields": cherwell_fields(**{**GOOD_CHERWELL, **change}),
            "persist": True}
    answer = client.post(SAVE, json=body, headers=auth)
    assert answer.status_code == 400 and answer.json()["hasError"] is True and answer.json()["errorCode"] == code
    assert fake.incidents == {}


def test_cherwell_fake_refuses_a_field_id_that_is_not_the_names(cherwell):
    fake, client, auth = cherwell
    fields = cherwell_fields(**GOOD_CHERWELL)
    fields[0]["fieldId"] = cherwell_fake.INCIDENT_FIELD_IDS["Description"]  # ShortDescription's name, another id
    answer = client.post(SAVE, json={"busObId": cherwell_fake.INCIDENT_ID, "fields": fields, "persist": True},
                         headers=auth)
    assert answer.status_code == 400 and answer.json()["fieldValidationErrors"][0]["errorCode"] == "FIELDNOTFOUND"


def test_cherwell_fake_refuses_changing_a_closed_incident_and_an_unknown_record(cherwell):
    fake, client, auth = cherwell
    made = client.post(SAVE, json={"busObId": cherwell_fake.INCIDENT_ID, "fields": cherwell_fields(**GOOD_CHERWELL),
                                   "persist": True}, headers=auth).json()
    close = {"busObId": cherwell_fake.INCIDENT_ID, "busObRecId": made["busObRecId"], "persist": True,
             "fields": cherwell_fields(Status="Closed", CloseDescription="done")}
    assert client.post(SAVE, json=close, headers=auth).status_code == 200
    assert client.post(SAVE, json={**close, "fields": cherwell_fields(Priority="2")}, headers=auth).status_code == 400
    assert client.post(SAVE, json={**close, "busObRecId": "nope"}, headers=auth).status_code == 404
    assert client.post(SAVE, content=b"{}", headers={**auth, "Content-Type": "text/plain"}).status_code == 415


def test_an_outage_answers_503_for_n_requests_then_serves(remedy):
    fake, client, auth = remedy
    fake.outage(2)
    assert [client.post(CREATE, json={"values": GOOD_REMEDY}, headers=auth).status_code for _ in range(3)] == [
        503, 503, 201]
