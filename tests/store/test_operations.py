"""The incident operations, run against SQLite and a real PostgreSQL server alike."""
import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from playbooks import PolicyValueError
from store.audit import verify_chain
from store.errors import ChangeRefused, IncidentNotFound, StaleView
from store.models import ChecklistStep, Incident, TimelineEvent
from store.queries import incident_detail, list_incidents


def events(store, incident_id):
    with store.db.read() as session:
        return session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                            .order_by(TimelineEvent.seq)).all()


def detail(store, incident_id):
    with store.db.read() as session:
        return incident_detail(session, store.policy, incident_id, store.now())


def test_declare_applies_policy_and_checklist(store, clock):
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down", service="web")
    assert incident.id == "INC-2024-0118-001"
    assert (incident.severity, incident.type, incident.environment, incident.status) == (
        "SEV-1", "outage", "production", "investigating")
    assert incident.response_due_at == clock() + timedelta(minutes=15)
    assert incident.next_update_due_at == clock() + timedelta(minutes=30)
    shown = detail(store, incident.id)
    assert shown["policy"]["escalation_targets"] == ["leadership", "incident commander", "on-call engineer"]
    assert [s["text"] for s in shown["checklist"]][:2] == ["Confirm incident scope and impact",
                                                           "Activate incident response team"]
    assert len(shown["checklist"]) == 15
    assert [e.kind for e in events(store, incident.id)] == ["declared"]


def test_ids_count_up_per_day(store, clock):
    first = store.declare("high", "security", "production", actor="a")
    second = store.declare("low", "data", "development", actor="a")
    clock.advance(days=1)
    third = store.declare("low", "data", "development", actor="a")
    assert [first.id, second.id, third.id] == ["INC-2024-0118-001", "INC-2024-0118-002", "INC-2024-0119-001"]


def test_bad_values_write_nothing(store):
    for args in [("urgent", "outage", "production"), ("high", "fire", "production"), ("high", "outage", "moon")]:
        with pytest.raises(PolicyValueError, match="accepted: "):
            store.declare(*args, actor="a")
    with store.db.read() as session:
        assert session.exec(select(Incident)).all() == []
        assert session.exec(select(TimelineEvent)).all() == []


def hold_review(store, incident_id):
    from store.review import update_review

    update_review(store, incident_id, actor="carol", held=True)


def test_lifecycle_sets_timestamps_in_order(store, clock):
    incident = store.declare("high", "outage", "production", actor="a")
    clock.advance(minutes=5)
    store.acknowledge(incident.id, actor="bob")
    clock.advance(minutes=10)
    store.change_status(incident.id, "identified", actor="bob")
    clock.advance(minutes=10)
    store.change_status(incident.id, "monitoring", actor="bob")
    clock.advance(minutes=10)
    store.resolve(incident.id, actor="bob")
    clock.advance(days=2)
    hold_review(store, incident.id)  # SEV-2: closed after its post-incident review
    closed = store.close(incident.id, actor="bob")
    assert closed.status == "closed"
    assert closed.declared_at < closed.acknowledged_at < closed.mitigated_at < closed.resolved_at < closed.closed_at
    kinds = [e.kind for e in events(store, incident.id)]
    assert kinds == ["declared", "acknowledged", "status_changed", "status_changed", "status_changed", "review_held",
                     "status_changed"]


@pytest.mark.parametrize("path,refused,accepted", [
    ([], "closed", "identified, monitoring, resolved"),
    (["resolved", "closed"], "identified", "nothing (closed is final)"),
    (["resolved"], "monitoring", "investigating, closed"),
])
def test_impossible_status_moves_are_refused(store, path, refused, accepted):
    incident = store.declare("high", "outage", "production", actor="a")
    for status in path:
        if status == "closed":
            hold_review(store, incident.id)
        store.change_status(incident.id, status, actor="a")
    version = detail(store, incident.id)["version"]
    with pytest.raises(ChangeRefused, match=re.escape(accepted)):
        store.change_status(incident.id, refused, actor="a")
    assert detail(store, incident.id)["version"] == version


def test_reopening_clears_resolution(store):
    incident = store.declare("high", "outage", "production", actor="a")
    store.resolve(incident.id, actor="a")
    reopened = store.change_status(incident.id, "investigating", actor="a")
    assert reopened.resolved_at is None and reopened.next_update_due_at is not None


def test_working_an_incident_acknowledges_it(store):
    incident = store.declare("high", "outage", "production", actor="a")
    moved = store.change_status(incident.id, "identified", actor="bob")
    assert moved.acknowledged_at is not None
    with pytest.raises(ChangeRefused, match="already acknowledged"):
        store.acknowledge(incident.id, actor="bob")


def test_stale_view_is_refused_with_current_state(store):
    incident = store.declare("high", "outage", "production", actor="a")
    seen = incident.version
    store.change_severity(incident.id, "critical", actor="b")
    with pytest.raises(StaleView, match="now SEV-1, investigating"):
        store.change_status(incident.id, "identified", actor="a", expected_version=seen)


def test_severity_change_moves_deadlines(store, clock):
    incident = store.declare("low", "performance", "staging", actor="a")
    clock.advance(minutes=3)
    raised = store.change_severity(incident.id, "critical", actor="a")
    assert raised.response_due_at == incident.detected_at + timedelta(minutes=15)
    assert raised.next_update_due_at == clock() + timedelta(minutes=30)
    assert events(store, incident.id)[-1].summary == "Escalated SEV-4 -> SEV-1"
    with pytest.raises(ChangeRefused, match="already SEV-1"):
        store.change_severity(incident.id, "p1", actor="a")


def test_roles_hand_over_with_times(store, clock):
    incident = store.declare("critical", "outage", "production", actor="a")
    store.assign_role(incident.id, "ic", "alice", actor="a")
    clock.advance(hours=1)
    store.assign_role(incident.id, "incident commander", "bob", actor="alice")
    roles = detail(store, incident.id)["roles"]
    assert [(r["person"], r["released_at"] is None) for r in roles] == [("alice", False), ("bob", True)]
    assert roles[0]["released_at"] == roles[1]["assumed_at"]
    store.release_role(incident.id, "ic", actor="bob")
    with pytest.raises(ChangeRefused, match="nobody holds incident_commander"):
        store.release_role(incident.id, "ic", actor="bob")
    with pytest.raises(PolicyValueError, match="unknown role 'janitor'"):
        store.assign_role(incident.id, "janitor", "x", actor="a")


def test_releasing_a_role_ends_the_holding_and_goes_on_the_timeline(store, clock):
    incident = store.declare("medium", "outage", "production", actor="a")  # closes without a review
    store.assign_role(incident.id, "comms", "carol", actor="carol")
    clock.advance(minutes=20)
    released = store.release_role(incident.id, "communications_lead", actor="dave")
    assert (released.person, released.released_at) == ("carol", clock())
    last = events(store, incident.id)[-1]
    assert (last.kind, last.actor, last.summary) == ("role_released", "dave", "carol released communications_lead")
    assert json.loads(last.data) == {"role": "communications_lead", "person": "carol"}
    roles = detail(store, incident.id)["roles"]
    assert [(r["person"], r["released_at"]) for r in roles] == [("carol", "2024-01-18T14:50:00Z")]
    store.assign_role(incident.id, "comms", "carol", actor="carol")  # released: she may take it again
    store.resolve(incident.id, actor="a")
    store.close(incident.id, actor="a")
    with pytest.raises(ChangeRefused, match="is closed, so it cannot change roles"):
        store.release_role(incident.id, "comms", actor="a")


def test_ticks_by_number_and_prefix_and_once_only(store):
    incident = store.declare("critical", "outage", "production", actor="a")
    changed = store.tick(incident.id, ["1", "activate", "1"], actor="a")
    assert [s.number for s in changed] == [1, 2]
    assert store.tick(incident.id, ["1"], actor="b") == []  # already done: no second event
    assert [e.kind for e in events(store, incident.id)].count("step_done") == 2
    store.tick(incident.id, ["2"], actor="a", done=False)
    with store.db.read() as session:
        done = session.exec(select(ChecklistStep.number).where(ChecklistStep.incident_id == incident.id,
                                                               ChecklistStep.done_at.is_not(None))).all()
    assert done == [1]
    with pytest.raises(PolicyValueError, match="matches several steps"):
        store.tick(incident.id, ["confirm"], actor="a")
    with pytest.raises(PolicyValueError, match="has no step 99; accepted: 1..15"):
        store.tick(incident.id, ["3", "99"], actor="a")
    assert detail(store, incident.id)["checklist"][2]["done"] is False  # all or nothing


def test_status_update_sets_next_due_from_cadence(store, clock):
    incident = store.declare("high", "outage", "production", actor="a")
    clock.advance(minutes=40)
    update = store.post_status_update(incident.id, "Fix deployed, monitoring recovery", actor="a",
                                      affected="Checkout")
    assert update.next_update_due_at == clock() + timedelta(hours=2)
    assert detail(store, incident.id)["policy"]["next_update_due_at"] == (clock() + timedelta(hours=2)).isoformat() + "Z"


def test_overdue_flags(store, clock):
    incident = store.declare("critical", "outage", "production", actor="a")
    clock.advance(minutes=31)
    shown = detail(store, incident.id)
    assert shown["policy"]["response_overdue"] and shown["policy"]["update_overdue"]
    assert shown["phases"][0]["overdue"] and not shown["phases"][1]["overdue"]


def test_remediation_start_and_finish(store):
    incident = store.declare("critical", "outage", "production", actor="a")
    action = store.start_remediation(incident.id, "Database connection pool increased", actor="a")
    store.finish_remediation(incident.id, action.id, actor="a", outcome="errors back to baseline")
    with pytest.raises(ChangeRefused, match="already finished"):
        store.finish_remediation(incident.id, action.id, actor="a")
    assert detail(store, incident.id)["remediation"][0]["outcome"] == "errors back to baseline"


def test_closed_incident_takes_notes_only(store):
    incident = store.declare("high", "outage", "production", actor="a")
    store.resolve(incident.id, actor="a")
    hold_review(store, incident.id)
    store.close(incident.id, actor="a")
    with pytest.raises(ChangeRefused, match="is closed"):
        store.tick(incident.id, ["1"], actor="a")
    store.add_note(incident.id, "Review held on Monday", actor="a")


def test_unknown_id(store):
    with pytest.raises(IncidentNotFound, match="no incident 'INC-2024-0101-999'"):
        store.acknowledge("INC-2024-0101-999", actor="a")


def test_list_filters_and_order(store, clock):
    low = store.declare("low", "data", "development", actor="a")
    clock.advance(minutes=1)
    crit = store.declare("critical", "outage", "production", actor="a")
    done = store.declare("high", "security", "production", actor="a")
    store.resolve(done.id, actor="a")
    with store.db.read() as session:
        assert [r.id for r in list_incidents(session)] == [crit.id, low.id]
        assert len(list_incidents(session, status="all")) == 3
        assert [r.id for r in list_incidents(session, status="all", environment="production")] == [crit.id, done.id]
        assert [r.id for r in list_incidents(session, status="resolved")] == [done.id]


def test_every_operation_keeps_the_chain_verifiable(store):
    incident = store.declare("critical", "outage", "production", actor="a")
    store.tick(incident.id, ["1"], actor="a")
    store.add_note(incident.id, "ünïcode and \"quotes\" survive", actor="a")
    store.assign_role(incident.id, "scribe", "carol", actor="a")
    store.post_status_update(incident.id, "Investigating", actor="a")
    with store.db.read() as session:
        result = verify_chain(session)
    assert result.ok and result.events_checked == 5
