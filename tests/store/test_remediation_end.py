"""Ending a remediation (done with its outcome, or cancelled) and the commander on the
incident list, against SQLite and a real PostgreSQL server alike."""
import json

import pytest
from sqlmodel import select

from playbooks import PolicyValueError
from store.audit import verify_chain
from store.dashboard import read_dashboard
from store.errors import ChangeRefused, IncidentNotFound
from store.models import Incident, TimelineEvent
from store.queries import incident_detail, list_incidents
from store.review_queries import rca_timeline


def remediation_events(store, incident_id):
    with store.db.read() as session:
        return [(e.kind, e.summary, e.data) for e in session.exec(
            select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                        TimelineEvent.kind.like("remediation_%")).order_by(TimelineEvent.seq))]


def remediation_of(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())["remediation"]


def test_cancelled_remediation_keeps_its_reason_and_its_own_kind(store, clock):
    incident = store.declare("critical", "outage", "production", actor="alice")
    action = store.start_remediation(incident.id, "Roll back deploy 42", actor="alice")
    clock.advance(minutes=5)
    cancelled = store.cancel_remediation(incident.id, action.id, actor="bob", reason="rollback made it worse")
    assert cancelled.outcome == "cancelled: rollback made it worse"
    assert cancelled.finished_at == clock()
    [shown] = remediation_of(store, incident.id)
    assert shown["outcome"] == "cancelled: rollback made it worse" and shown["finished_at"] is not None
    kinds = remediation_events(store, incident.id)
    assert [k for k, _, _ in kinds] == ["remediation_started", "remediation_cancelled"]
    assert kinds[1][1] == "Roll back deploy 42: cancelled: rollback made it worse"
    assert json.loads(kinds[1][2]) == {"action": action.id, "outcome": "cancelled", "reason": "rollback made it worse"}
    with store.db.read() as session:
        assert verify_chain(session).ok
        rca = [line["text"] for line in rca_timeline(session, session.get(Incident, incident.id))]
    assert "Remediation cancelled: Roll back deploy 42: cancelled: rollback made it worse" in rca


def test_cancel_without_a_reason_and_no_second_ending(store):
    incident = store.declare("high", "outage", "production", actor="alice")
    action = store.start_remediation(incident.id, "Scale the pool", actor="alice")
    assert store.cancel_remediation(incident.id, action.id, actor="alice").outcome == "cancelled"
    with pytest.raises(ChangeRefused, match="already finished"):
        store.finish_remediation(incident.id, action.id, actor="alice", outcome="done")
    with pytest.raises(ChangeRefused, match="already finished"):
        store.cancel_remediation(incident.id, action.id, actor="alice")
    with pytest.raises(IncidentNotFound, match="no remediation action 999"):
        store.cancel_remediation(incident.id, 999, actor="alice")
    with pytest.raises(PolicyValueError, match="reason"):
        store.cancel_remediation(incident.id, action.id, actor="alice", reason="bad\x1b[2Jreason")


def test_finished_and_cancelled_leave_the_dashboard(store, clock):
    incident = store.declare("high", "outage", "production", actor="alice")
    done = store.start_remediation(incident.id, "Scale the pool", actor="alice")
    dropped = store.start_remediation(incident.id, "Fail over", actor="alice")
    kept = store.start_remediation(incident.id, "Warm the cache", actor="alice")
    store.finish_remediation(incident.id, done.id, actor="alice", outcome="errors back to baseline")
    store.cancel_remediation(incident.id, dropped.id, actor="alice")
    with store.db.read() as session:
        running = read_dashboard(session, clock()).remediation
    assert [r.description for r in running] == ["Warm the cache"]
    assert {a["id"]: a["outcome"] for a in remediation_of(store, incident.id)} == {
        done.id: "errors back to baseline", dropped.id: "cancelled", kept.id: None}


def test_incident_list_names_the_commander_when_asked(store):
    led = store.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    unled = store.declare("low", "outage", "production", actor="alice", title="Typos")
    store.assign_role(led.id, "incident_commander", "Dana", actor="alice")
    store.assign_role(led.id, "incident_commander", "Erin", actor="alice")  # Dana released
    store.assign_role(unled.id, "scribe", "Sam", actor="alice")
    with store.db.read() as session:
        rows = {r.id: r.commander for r in list_incidents(session, status="all", with_commander=True)}
        plain = list_incidents(session)
        dashboard = read_dashboard(session, store.now())
    assert rows == {led.id: "Erin", unled.id: None}
    assert [r.commander for r in plain] == [None, None]  # the CLI's list does without the lookup
    assert {r.id: r.commander for r in dashboard.incidents} == {led.id: "Erin", unled.id: None}
