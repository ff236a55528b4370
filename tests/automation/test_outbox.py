"""The outbox: rows written with the change, routed by the comms matrix, escalation."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from automation.routing import route_by_matrix
from automation.escalation import escalate_overdue
from store.models import Notification, TimelineEvent
from store.operations import IncidentStore


@pytest.fixture
def routed(store):
    return IncidentStore(store.db, store.policy, store.clock,
                         router=route_by_matrix(store.policy, {"pagerduty", "slack", "sms", "statuspage"}))


def rows(store):
    with store.db.read() as session:
        return session.exec(select(Notification).order_by(Notification.id)).all()


def test_declare_writes_what_the_matrix_asks_for_in_the_same_transaction(routed):
    incident = routed.declare("critical", "outage", "production", actor="a")
    got = sorted((r.integration, r.stakeholder_group, r.event) for r in rows(routed))
    assert got == sorted([
        ("sms", "Executive Team", "declared"), ("slack", "Engineering Leads", "declared"),
        ("pagerduty", "On-Call Engineers", "declared"), ("slack", "Customer Support", "declared"),
        ("statuspage", "External Customers", "declared")])
    assert all(r.state == "pending" and r.incident_id == incident.id for r in rows(routed))


def test_a_sev4_tells_only_on_call_and_security(routed):
    routed.declare("low", "data", "development", actor="a")
    assert [(r.integration, r.stakeholder_group) for r in rows(routed)] == [("pagerduty", "On-Call Engineers")]


def test_lifecycle_events_follow(routed):
    incident = routed.declare("high", "outage", "production", actor="a")
    routed.acknowledge(incident.id, actor="b")
    routed.post_status_update(incident.id, "Investigating", actor="b")
    routed.resolve(incident.id, actor="b")
    pagerduty = [r.event for r in rows(routed) if r.integration == "pagerduty"]
    assert pagerduty == ["declared", "acknowledged", "status_update", "resolved"]
    assert len({r.idempotency_key for r in rows(routed)}) == len(rows(routed))


def test_a_refused_change_writes_no_message(routed):
    incident = routed.declare("high", "outage", "production", actor="a")
    before = len(rows(routed))
    with pytest.raises(Exception):
        routed.change_status(incident.id, "closed", actor="a")
    assert len(rows(routed)) == before


def test_unacknowledged_sev1_escalates_once(routed, clock):
    incident = routed.declare("critical", "outage", "production", actor="a")
    assert escalate_overdue(routed) == []
    clock.advance(minutes=16)
    assert escalate_overdue(routed) == [incident.id]
    assert escalate_overdue(routed) == []
    with routed.db.read() as session:
        event = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "escalated")).one()
    assert "leadership" in event.summary
    assert [r.event for r in rows(routed) if r.integration == "pagerduty"] == ["declared", "escalated"]


def test_acknowledged_or_low_severity_does_not_escalate(routed, clock):
    acked = routed.declare("critical", "outage", "production", actor="a")
    routed.acknowledge(acked.id, actor="b")
    routed.declare("medium", "performance", "staging", actor="a")
    clock.advance(days=3)
    assert escalate_overdue(routed) == []


def test_an_overdue_status_update_nudges_the_comms_lead_once_per_due_time(routed, clock):
    from automation.escalation import nudge_overdue_updates

    incident = routed.declare("critical", "outage", "production", actor="a")
    routed.acknowledge(incident.id, actor="a")
    routed.assign_role(incident.id, "comms", "priya", actor="a")
    clock.advance(minutes=31)
    assert nudge_overdue_updates(routed) == [incident.id]
    assert nudge_overdue_updates(routed) == []
    nudges = [r for r in rows(routed) if r.event == "update_overdue"]
    assert [(r.integration, r.stakeholder_group) for r in nudges] == [("slack", "Communications lead")]
    routed.post_status_update(incident.id, "Still investigating", actor="priya")
    clock.advance(minutes=31)
    assert nudge_overdue_updates(routed) == [incident.id]  # the next missed update nudges again


def test_integrations_config_builds_notifiers_and_names_bad_keys(tmp_path):
    from automation.notifiers import notifiers_from_config
    from playbooks.config import parse_configuration
    from playbooks.errors import PlaybookError

    built = notifiers_from_config(parse_configuration({"integrations": {
        "pagerduty": {"routing_key_env": "PD_KEY"},
        "slack": {"mode": "web_api", "incident_channel": "#inc"},
        "email": {"enabled": False, "host": "smtp.example.com", "sender": "ir@example.com"},
    }}, tmp_path / "c.toml"))
    assert sorted(built) == ["pagerduty", "slack"]
    with pytest.raises(PlaybookError, match=r"c.toml: integrations.pagerduty.routing_key is not a known key; "
                                            r"accepted: enabled, max_per_second, url, routing_key_env, "):
        parse_configuration({"integrations": {"pagerduty": {"routing_key": "secret-in-file"}}}, tmp_path / "c.toml")
    with pytest.raises(PlaybookError, match="integrations.fax is not a known table; accepted: pagerduty, slack"):
        parse_configuration({"integrations": {"fax": {}}}, tmp_path / "c.toml")


def test_a_person_retries_dead_letters_and_the_timeline_says_who(routed, clock):
    from store import outbox
    from store.audit import verify_chain

    incident = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    with routed.db.write() as session:
        rows = list(session.exec(select(Notification).order_by(Notification.id)))
        rows[0].state, rows[0].last_error = "dead", "refused"
        rows[1].state = "sent"
        for row in rows[:2]:
            session.add(row)
    with routed.db.read() as session:
        listed = outbox.messages(session)
        assert [m.state for m in listed][:1] == ["dead"] and listed[-1].state == "sent"  # failed first, sent last
        assert [m.id for m in outbox.messages(session, state="dead")] == [rows[0].id]
    clock.advance(minutes=3)
    # Only dead messages go back; a sent or unknown one is left alone.
    assert outbox.retry_by_person(routed, [rows[0].id, rows[1].id, 99999], actor="bob") == [rows[0].id]
    with routed.db.read() as session:
        again = session.get(Notification, rows[0].id)
        events = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "notification_retried")).all()
        assert (again.state, again.attempts, again.next_attempt_at) == ("pending", 0, clock())
        assert [(e.incident_id, e.actor) for e in events] == [(incident.id, "bob")]
        assert verify_chain(session).ok
