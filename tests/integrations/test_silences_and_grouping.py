"""Silences and grouping at the receiver, over real HTTP on 127.0.0.1 (issue 16, acceptance 3
and 4): an alert an active silence matches declares nothing and is listed as suppressed, and
declares once the silence has ended; the alerts of one Alertmanager group are one incident
however many posts they come in; Grafana and generic alerts group by the configured labels."""
from __future__ import annotations

import copy
import json
import time
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from automation.alert_intake import AlertIntake
from integrations.alert_receiver import AlertServer
from playbooks.silences import parse_matchers
from store.models import Incident, SuppressedAlert, TimelineEvent
from store.silences import add_silence, expire_silence, list_silences, suppressed_alerts
from tests.integrations.test_alert_payloads import ALERTMANAGER

TOKEN = "test-token-silences-42"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def incidents(store) -> list[Incident]:
    with store.db.read() as session:
        return list(session.exec(select(Incident).order_by(Incident.id)).all())


def events(store, incident_id: str) -> list[TimelineEvent]:
    with store.db.read() as session:
        return list(session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                                 .order_by(TimelineEvent.seq)).all())


def listed_alerts(store, incident_id: str) -> dict[str, dict]:
    """The incident's alerts as its events list them: fingerprint -> the alert as last sent."""
    found: dict[str, dict] = {}
    for event in events(store, incident_id):
        for alert in json.loads(event.data).get("alerts", []):
            found[alert["fingerprint"]] = alert
    return found


@pytest.fixture
def serve(store):
    """A receiver on a free port, its intake built as `serve` builds it (group_by given)."""
    running = []

    def start(group_by=()):
        server = AlertServer(AlertIntake(store, group_by=group_by), port=0, token=TOKEN).start()
        running.append(server)
        return httpx.Client(base_url=server.url, timeout=5, headers=AUTH)

    yield start
    for server in running:
        server.stop()


def checkout_alert(instance: str, fingerprint: str, *, service: str = "checkout") -> dict:
    alert = copy.deepcopy(ALERTMANAGER["alerts"][0])
    alert["labels"].update(instance=instance, service=service)
    alert["annotations"]["summary"] = f"Probe failure on {instance}"
    alert["fingerprint"] = fingerprint
    return alert


def group(alerts: list[dict], group_key: str = '{}:{alertname="ProbeFailure"}') -> dict:
    body = copy.deepcopy(ALERTMANAGER)
    body["alerts"] = alerts
    body["groupKey"] = group_key
    body["commonLabels"] = {"alertname": "ProbeFailure"}
    return body


# -- silences ---------------------------------------------------------------------------------
def test_a_silenced_alert_declares_nothing_is_listed_and_declares_after_the_silence_ends(store, clock, serve):
    client = serve()
    silence = add_silence(store, parse_matchers(["service=checkout"]), clock.moment,
                          clock.moment + timedelta(hours=2), reason="database upgrade", actor="lead")
    body = group([checkout_alert("web-1", "f001")])

    answer = client.post("/alerts/alertmanager", json=body)
    assert answer.status_code == 200 and answer.json() == {"incident": None}
    assert incidents(store) == []
    [suppressed] = suppressed_alerts(store)
    assert (suppressed.silence_id, suppressed.source, suppressed.title) == (silence.id, "alertmanager",
                                                                           "Probe failure on web-1")
    assert suppressed.labels["service"] == "checkout" and suppressed.labels["instance"] == "web-1"
    assert [(s.id, s.suppressed) for s in list_silences(store, clock.moment)] == [(silence.id, 1)]

    clock.advance(hours=2)  # the silence's end: nothing has to run for it to stop silencing
    answer = client.post("/alerts/alertmanager", json=body)
    assert answer.status_code == 200 and answer.json()["created"] is True
    [incident] = incidents(store)
    assert incident.id == answer.json()["incident"] and incident.service == "checkout"
    assert len(suppressed_alerts(store)) == 1  # the second post was not suppressed


def test_an_expired_silence_stops_silencing_at_once(store, clock, serve):
    client = serve()
    silence = add_silence(store, parse_matchers(["alertname=ProbeFailure", "instance=web-1"]), clock.moment,
                          clock.moment + timedelta(hours=4), reason="reboot", actor="lead")
    body = group([checkout_alert("web-1", "f001")])
    assert client.post("/alerts/alertmanager", json=body).json() == {"incident": None}
    expire_silence(store, silence.id, actor="lead")
    assert client.post("/alerts/alertmanager", json=body).json()["created"] is True


def test_only_the_silenced_alerts_of_a_group_are_held_back(store, clock, serve):
    client = serve()
    add_silence(store, parse_matchers(["instance=web-1"]), clock.moment, clock.moment + timedelta(hours=1),
                reason="web-1 is being rebuilt", actor="lead")
    body = group([checkout_alert("web-1", "f001"), checkout_alert("web-2", "f002")])
    answer = client.post("/alerts/alertmanager", json=body).json()
    assert answer["created"] is True
    [incident] = incidents(store)
    assert incident.title == "Probe failure on web-2"  # the group speaks through its unsilenced alert
    [declared] = events(store, incident.id)
    data = json.loads(declared.data)
    assert data["alerts_silenced"] == 1 and [a["fingerprint"] for a in data["alerts"]] == ["f002"]
    assert [s.labels["instance"] for s in suppressed_alerts(store)] == ["web-1"]


def test_a_silence_that_does_not_match_silences_nothing(store, clock, serve):
    client = serve()
    add_silence(store, parse_matchers(["service=search"]), clock.moment, clock.moment + timedelta(hours=1),
                reason="search reindex", actor="lead")
    assert client.post("/alerts/alertmanager", json=group([checkout_alert("web-1", "f001")])).json()["created"]
    with store.db.read() as session:
        assert session.exec(select(SuppressedAlert)).all() == []


def test_a_silenced_generic_alert_declares_nothing(store, clock, serve):
    client = serve()
    add_silence(store, parse_matchers(["key=nightly-backup"]), clock.moment, clock.moment + timedelta(hours=1),
                reason="backup window", actor="lead")
    answer = client.post("/alerts/generic", json={"key": "nightly-backup", "status": "firing",
                                                  "title": "Backup late", "labels": {"team": "dba"}})
    assert answer.json() == {"incident": None} and incidents(store) == []
    [suppressed] = suppressed_alerts(store)
    assert suppressed.labels == {"key": "nightly-backup", "team": "dba"} and suppressed.source == "generic"


# -- grouping ---------------------------------------------------------------------------------
def test_twenty_alerts_of_one_alertmanager_group_make_one_incident_listing_them(store, serve):
    """As Alertmanager sends a burst: the group's notification again each group_interval,
    each carrying every alert of the group so far, summaries and labels all different."""
    client = serve()
    alerts = [checkout_alert(f"web-{n}", f"fp{n:02d}", service=f"svc-{n % 3}") for n in range(20)]
    answers = [client.post("/alerts/alertmanager", json=group(alerts[:size])).json() for size in (3, 8, 15, 20)]
    [incident] = incidents(store)
    assert [a["incident"] for a in answers] == [incident.id] * 4
    assert [a["created"] for a in answers] == [True, False, False, False]
    listed = listed_alerts(store, incident.id)
    assert sorted(listed) == [f"fp{n:02d}" for n in range(20)]
    assert listed["fp07"]["labels"]["instance"] == "web-7" and listed["fp07"]["status"] == "firing"


def test_two_alertmanager_groups_are_two_incidents(store, serve):
    client = serve()
    one = client.post("/alerts/alertmanager", json=group([checkout_alert("web-1", "a1")], "{}:{alertname=\"A\"}"))
    two = client.post("/alerts/alertmanager", json=group([checkout_alert("web-1", "a1")], "{}:{alertname=\"B\"}"))
    assert one.json()["incident"] != two.json()["incident"] and len(incidents(store)) == 2


def test_generic_alerts_group_by_the_configured_labels_never_by_their_text(store, serve):
    client = serve(group_by=["alertname", "service"])

    def post(key: str, title: str, service: str):
        return client.post("/alerts/generic", json={"key": key, "status": "firing", "title": title,
                                                    "service": service, "labels": {"alertname": "DiskFull"}}).json()

    first = post("disk-web-1", "Disk full on web-1", "checkout")
    second = post("disk-web-2", "Disk /var at 99% on web-2", "checkout")  # other key, other text: same group
    other = post("disk-db-1", "Disk full on web-1", "billing")  # the same text, another group
    assert first["created"] and second == {"incident": first["incident"], "created": False}
    assert other["created"] and other["incident"] != first["incident"]
    assert len(incidents(store)) == 2
    group_by = json.loads(events(store, first["incident"])[0].data)["group_by"]
    assert group_by == {"alertname": "DiskFull", "service": "checkout"}

    # A resolve of the group (any key of it) clears that one group only.
    cleared = client.post("/alerts/generic", json={"key": "disk-web-2", "status": "resolved", "service": "checkout",
                                                   "labels": {"alertname": "DiskFull"}}).json()
    assert cleared["incident"] == first["incident"]
    statuses = {i.id: i.status for i in incidents(store)}
    assert statuses == {first["incident"]: "resolved", other["incident"]: "investigating"}


def test_without_group_by_generic_alerts_keep_their_own_keys(store, serve):
    client = serve()
    for key in ("disk-web-1", "disk-web-2"):
        client.post("/alerts/generic", json={"key": key, "status": "firing", "title": "Disk full",
                                             "labels": {"alertname": "DiskFull"}})
    assert len(incidents(store)) == 2


def test_grafana_alerts_group_by_the_configured_labels(store, serve):
    from tests.integrations.test_alert_payloads import GRAFANA

    client = serve(group_by=["alertname", "team"])
    answers = []
    for n, zone in enumerate(("us-1", "eu-1", "ap-1")):
        body = copy.deepcopy(GRAFANA)
        body["alerts"] = body["alerts"][:1]
        body["alerts"][0]["labels"]["zone"] = zone
        body["alerts"][0]["fingerprint"] = f"grafana{n}"  # each its own fingerprint: grouped on labels anyway
        answers.append(client.post("/alerts/grafana", json=body).json())
    assert len({a["incident"] for a in answers}) == 1 and len(incidents(store)) == 1


# -- a real Alertmanager ----------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_twenty_alerts_through_a_real_alertmanager_make_one_incident(store, serve):
    from tests.conftest import _unavailable_server
    from tests.support.prometheus import Alertmanager, Unavailable

    client = serve()
    try:
        manager = Alertmanager(str(client.base_url.join("/alerts/alertmanager")), TOKEN)  # groups by alertname
    except Unavailable as exc:
        _unavailable_server("Alertmanager", str(exc))
    try:
        for n in range(20):
            manager.post_alert({"alertname": "CheckoutDown", "instance": f"web-{n}", "severity": "critical",
                                "service": "checkout"}, {"summary": f"web-{n} is down"})

        def all_twenty():
            found = incidents(store)
            return found if found and len(listed_alerts(store, found[0].id)) == 20 else None

        assert wait_until(all_twenty, 60), "Alertmanager did not deliver the group's 20 alerts"
        [incident] = incidents(store)
        listed = listed_alerts(store, incident.id)
        assert {alert["labels"]["instance"] for alert in listed.values()} == {f"web-{n}" for n in range(20)}
    finally:
        manager.close()


def wait_until(predicate, timeout: float, step: float = 0.25):
    """Poll the store until what Alertmanager delivers has arrived (its own timers decide when)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None
