"""A real Alertmanager delivers firing and resolved webhooks to `serve`: the incident opens,
deduplicates, and records the resolution."""
from __future__ import annotations

import time

import pytest
from sqlmodel import select

from automation.alert_intake import AlertIntake
from integrations.alert_receiver import AlertServer
from store.models import Incident, TimelineEvent

TOKEN = "test-token-7f3a"


def wait_until(predicate, timeout: float, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


@pytest.fixture
def receiver(store):
    server = AlertServer(AlertIntake(store), "127.0.0.1", 0, token=TOKEN, secret="").start()
    yield server
    server.stop()


@pytest.fixture
def alertmanager(receiver):
    from tests.conftest import _unavailable_server
    from tests.support.prometheus import Alertmanager, Unavailable

    try:
        manager = Alertmanager(f"{receiver.url}/alerts/alertmanager", TOKEN)
    except Unavailable as exc:
        _unavailable_server("Alertmanager", str(exc))
    yield manager
    manager.close()


def test_firing_dedup_and_resolution_through_alertmanager(store, alertmanager):
    labels = {"alertname": "CheckoutErrors", "severity": "critical", "type": "outage", "environment": "production",
              "service": "checkout"}
    annotations = {"summary": "Checkout error rate above 50%"}
    alertmanager.post_alert(labels, annotations)

    def incidents():
        with store.db.read() as session:
            return session.exec(select(Incident)).all()

    opened = wait_until(incidents, 30)
    assert opened and len(opened) == 1
    incident = opened[0]
    assert (incident.severity, incident.type, incident.service, incident.title) == (
        "SEV-1", "outage", "checkout", "Checkout error rate above 50%")
    assert incident.dedup_key.startswith("am:")
    # The same alert again (and a second alert of the group): still one incident.
    alertmanager.post_alert(labels, annotations)
    alertmanager.post_alert(dict(labels, instance="web-2"), annotations)
    time.sleep(4)
    assert len(incidents()) == 1
    alertmanager.post_alert(labels, annotations, resolved=True)
    alertmanager.post_alert(dict(labels, instance="web-2"), annotations, resolved=True)

    def resolved():
        with store.db.read() as session:
            current = session.get(Incident, incident.id)
            return current if current.status == "resolved" else None

    assert wait_until(resolved, 30), "the resolved notification did not resolve the incident"
    with store.db.read() as session:
        kinds = [e.kind for e in session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id))]
    assert "condition_cleared" in kinds and kinds[0] == "declared"


def test_requests_without_the_token_change_nothing(store, receiver):
    import httpx

    body = b'{"version": "4", "status": "firing", "alerts": []}'
    assert httpx.post(f"{receiver.url}/alerts/alertmanager", content=body).status_code == 401
    assert httpx.post(f"{receiver.url}/alerts/alertmanager", content=b"x" * 2_000_000,
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 413
    assert httpx.post(f"{receiver.url}/alerts/alertmanager", content=b"{not json",
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400
    with store.db.read() as session:
        assert session.exec(select(Incident)).all() == []
