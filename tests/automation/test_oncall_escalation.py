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
    # carol has only a Slack id and Slack is not configured here: on the timeline, reached on no channel.
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


# -- Slack direct messages: a step reaches a person with only a Slack member id -----------------

SLACK_CONFIG = """
[integrations.slack]
mode = "{mode}"
url = "{url}"

[contacts.carol]
slack = "U012AB3CD"
[contacts.dave]
slack = "U0NOBODY1"

[escalation.urgent]
severities = ["SEV-1"]
types = ["outage"]
steps = [{{ notify = "contact:carol", after = "0s" }}, {{ notify = "contact:dave", after = "5m" }}]
"""


def slack_escalation(store, slack, mode: str = "web_api"):
    """The escalation over `store` and the deliverer `watch` would build, both with Slack at `slack`."""
    from automation.delivery import Deliverer
    from automation.notifiers import notifiers_from_config

    configuration = parse_configuration(tomllib.loads(SLACK_CONFIG.format(mode=mode, url=slack.url)))
    return OncallEscalation(store, configuration), Deliverer(store, notifiers_from_config(configuration), timeout=5)


def slack_rows(store) -> list[tuple[str | None, str, str | None]]:
    with store.db.read() as session:
        return [(row.stakeholder_group, row.state, row.last_error) for row in session.exec(
            select(Notification).where(Notification.integration == "slack").order_by(Notification.id))]


def step_summaries(store) -> list[str]:
    with store.db.read() as session:
        return list(session.exec(select(TimelineEvent.summary).where(
            TimelineEvent.kind == "escalation_step").order_by(TimelineEvent.seq)))


def test_a_person_with_only_a_slack_id_gets_one_direct_message_with_the_timelines_words(store, clock, monkeypatch):
    from integrations.slack import escape
    from tests.support.slack_fake import TOKEN, SlackFake

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    with SlackFake() as slack:
        slack.add_user("U012AB3CD")
        escalation, deliverer = slack_escalation(store, slack)
        incident = store.declare("critical", "outage", "production", actor="a", title="Checkout <down> & out")
        assert escalation.check() == [(incident.id, 1, ("carol",))]
        assert steps(store)[0]["channels"] == {"carol": ["slack"]}
        assert deliverer.deliver_due() == 1
        assert deliverer.deliver_due() == 0  # sent once: nothing left to send
        [dm] = slack.direct_messages("U012AB3CD")
        [said] = step_summaries(store)
        assert escape(said) in dm["text"] and "Checkout &lt;down&gt; &amp; out" in dm["text"]
        # A DM only: nothing posted in a channel, one chat.postMessage addressed to carol's id.
        assert [(method, body["channel"]) for method, body in slack.api_calls] == [("chat.postMessage", "U012AB3CD")]
        assert slack.messages("#incidents") == []
        assert slack_rows(store) == [("carol", "sent", None)]


def test_an_unknown_slack_member_is_dead_with_slacks_error_never_sent(store, clock, monkeypatch):
    from tests.support.slack_fake import TOKEN, SlackFake

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    with SlackFake() as slack:
        slack.add_user("U012AB3CD")  # carol is a member; dave's id is not
        escalation, deliverer = slack_escalation(store, slack)
        incident = store.declare("critical", "outage", "production", actor="a")
        escalation.check()
        clock.advance(minutes=5)
        assert escalation.check() == [(incident.id, 2, ("dave",))]
        assert deliverer.deliver_due() == 1  # carol's; dave's is refused
        [(carol, carol_state, _), (dave, state, error)] = slack_rows(store)
        assert (carol, carol_state) == ("carol", "sent")
        assert dave == "dave" and state == "dead" and "channel_not_found" in error
        assert slack.direct_messages("U0NOBODY1") == [] and len(slack.direct_messages("U012AB3CD")) == 1


def test_a_token_without_chat_write_is_dead_with_slacks_missing_scope(store, clock, monkeypatch):
    from tests.support.slack_fake import TOKEN, SlackFake

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    with SlackFake(scopes=("channels:manage",)) as slack:
        slack.add_user("U012AB3CD")
        escalation, deliverer = slack_escalation(store, slack)
        store.declare("critical", "outage", "production", actor="a")
        escalation.check()
        assert deliverer.deliver_due() == 0
        [(_, state, error)] = slack_rows(store)
        assert state == "dead" and "missing_scope" in error
        assert slack.direct_messages("U012AB3CD") == []


def test_no_direct_message_from_a_drill_or_a_webhook(store, clock, monkeypatch):
    from tests.support.slack_fake import SlackFake

    with SlackFake() as slack:
        slack.add_user("U012AB3CD")
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
        escalation, deliverer = slack_escalation(store, slack, mode="webhook")
        store.declare("critical", "outage", "production", actor="a")
        escalation.check()
        drills, _ = slack_escalation(store, slack)
        store.declare("critical", "outage", "production", actor="a", is_drill=True)
        drills.check()
        assert deliverer.deliver_due() == 0
        [(_, webhook_state, webhook_reason), (_, drill_state, drill_reason)] = slack_rows(store)
        assert webhook_state == drill_state == "skipped"
        assert webhook_reason.startswith("webhook:") and drill_reason.startswith("drill:")
        assert slack.received == [] and slack.direct_messages("U012AB3CD") == []


def test_the_slack_notifier_never_posts_a_persons_message_to_a_channel(monkeypatch):
    """A row addressed to a person: in webhook mode skipped (a webhook has only its channel);
    a value that is not a member id is refused before Slack is asked."""
    import httpx

    from integrations.notifier import OutboxMessage
    from integrations.slack import SlackNotifier
    from tests.support.slack_fake import TOKEN, SlackFake

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    with SlackFake() as slack, httpx.Client(timeout=5) as client:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)

        def message(address: str) -> OutboxMessage:
            return OutboxMessage(1, "INC-2024-0118-001", "slack", "escalation_step", "k", {
                "id": "INC-2024-0118-001", "title": "Checkout down", "summary": "pages carol",
                "recipients": [address], "groups": ["carol"]}, 0, stakeholder_group="carol")

        skipped = SlackNotifier(mode="webhook").deliver(message("U012AB3CD"), client)
        assert skipped.outcome == "skipped" and "direct message" in skipped.detail
        refused = SlackNotifier(mode="web_api", url=slack.url).deliver(message("#incidents"), client)
        assert refused.outcome == "rejected" and "member id" in refused.detail
        assert slack.received == [] and slack.messages("#incidents") == []
