"""Escalation policies run over the store (automation/oncall_escalation.py): each step once even
when loops race, each person on their own channels, the response-time escalation standing
aside only for covered incidents; on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import threading
import tomllib
from datetime import timedelta

from sqlmodel import select

from automation.escalation import escalate_overdue
from automation.oncall_escalation import OncallEscalation
from playbooks.config.reading import parse_configuration
from store.database import open_database
from store.models import Notification, TimelineEvent
from store.oncall import add_override
from store.operations import IncidentStore

CONFIG = """
[integrations.sms]
url = "http://127.0.0.1:9"
account_sid = "AC0123"
from_number = "+15005550006"
on_call_contacts = []
[integrations.voice]
url = "http://127.0.0.1:9"
account_sid = "AC0123"
from_number = "+15005550006"
[integrations.email]
host = "127.0.0.1"
sender = "incidents@example.com"

[contacts.alice]
sms = "+14155550101"
phone = "+14155550111"
email = "alice@example.com"
[contacts.bob]
sms = "+14155550102"
[contacts.carol]
slack = "U012AB3CD"

[schedules.primary]
members = ["alice", "bob"]
rotation = "1d"
start = "2024-01-18T09:00Z"

[escalation.urgent]
severities = ["SEV-1", "SEV-2"]
types = ["outage"]
repeat = 1
steps = [{ notify = "schedule:primary", after = "0s" }, { notify = "contact:carol", after = "5m" }]
"""


def escalation(store) -> OncallEscalation:
    return OncallEscalation(store, parse_configuration(tomllib.loads(CONFIG)))


def steps(store) -> list[dict]:
    with store.db.read() as session:
        return [json.loads(data) for data in session.exec(select(TimelineEvent.data).where(
            TimelineEvent.kind == "escalation_step").order_by(TimelineEvent.seq))]


def messages(store) -> list[tuple[str, str | None, str, str | None]]:
    with store.db.read() as session:
        return [(row.integration, row.stakeholder_group, json.loads(row.payload)["recipients"][0], row.last_error)
                for row in session.exec(select(Notification).where(Notification.event == "escalation_step")
                                        .order_by(Notification.id))]


def test_each_person_is_reached_on_their_own_channels(store, clock):
    incident = store.declare("critical", "outage", "production", actor="a", title="Checkout down")
    assert escalation(store).check() == [(incident.id, 1, ("alice",))]
    assert messages(store) == [("sms", "alice", "+14155550101", None), ("voice", "alice", "+14155550111", None),
                               ("email", "alice", "alice@example.com", None)]
    [step] = steps(store)
    assert step["persons"] == ["alice"] and step["channels"] == {"alice": ["sms", "voice", "email"]}
    assert step["notify"] == "schedule:primary" and step["number"] == 1
    # carol has only a Slack id: on the timeline, reached on no channel (no Slack DM yet).
    clock.advance(minutes=5)
    assert escalation(store).check() == [(incident.id, 2, ("carol",))]
    assert steps(store)[1]["channels"] == {"carol": []} and len(messages(store)) == 3


def test_a_sev2_is_texted_not_called_and_a_drill_reaches_no_one(store, clock):
    store.declare("high", "outage", "production", actor="a")
    store.declare("critical", "outage", "production", actor="a", is_drill=True)
    escalation(store).check()
    got = messages(store)
    assert ("sms", "alice", "+14155550101", None) in got
    voice = [reason for integration, _, _, reason in got if integration == "voice"]
    assert voice[0].startswith("critical-only:") and voice[1].startswith("drill:")
    drill = [reason for integration, _, _, reason in got[-3:]]
    assert all(reason and reason.startswith("drill:") for reason in drill)


def test_repeat_runs_the_policy_again_and_acknowledging_stops_it(store, clock):
    incident = store.declare("critical", "outage", "production", actor="a")
    clock.advance(minutes=10)  # the second round starts 5m (the longest delay) after step 2
    assert [number for _, number, _ in escalation(store).check()] == [1, 2, 3]
    store.acknowledge(incident.id, actor="b")
    clock.advance(hours=1)
    assert escalation(store).check() == []
    assert [step["number"] for step in steps(store)] == [1, 2, 3]


def test_a_stored_override_is_who_the_schedule_step_pages(store, clock):
    now = clock()
    add_override(store, "primary", "bob", now - timedelta(minutes=1), now + timedelta(hours=1), actor="lead")
    incident = store.declare("critical", "outage", "production", actor="a")
    assert escalation(store).check() == [(incident.id, 1, ("bob",))]


def test_the_response_time_escalation_stands_aside_only_for_covered_incidents(store, clock):
    covered = store.declare("critical", "outage", "production", actor="a")
    other = store.declare("critical", "security", "production", actor="a")  # the policy is for outages
    clock.advance(minutes=16)
    assert escalate_overdue(store, covered=escalation(store).covers) == [other.id]
    assert escalate_overdue(store) == [covered.id]  # with no policy it escalates as before


def test_two_loops_racing_run_each_step_once(db_url, policy, clock):
    stores = [IncidentStore(open_database(db_url), policy, clock) for _ in range(2)]
    try:
        incidents = [stores[0].declare("critical", "outage", "production", actor="a") for _ in range(3)]
        clock.advance(minutes=12)  # steps 1-3 of each incident are due
        runs = [escalation(store) for store in stores]
        start = threading.Barrier(2)
        ran: list[list] = [[], []]

        def loop(index: int) -> None:
            start.wait()
            for _ in range(3):
                ran[index] += runs[index].check()

        threads = [threading.Thread(target=loop, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        done = sorted((incident, number) for incident, number, _ in ran[0] + ran[1])
        assert done == sorted((incident.id, number) for incident in incidents for number in (1, 2, 3))
        assert len(steps(stores[0])) == 9
        with stores[0].db.read() as session:
            keys = [row.idempotency_key for row in session.exec(select(Notification).where(
                Notification.event == "escalation_step"))]
        assert len(keys) == len(set(keys)) == 3 * (3 + 0 + 3)  # alice x3 channels, carol none, alice again
    finally:
        for store in stores:
            store.db.dispose()
