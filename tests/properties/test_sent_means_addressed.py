"""Issue 12, acceptance 4: no outbox row is `sent` unless a vendor accepted a message
addressed to someone. Over the router (severity, environment, drill, the comms matrix,
[drills]/[environments], the members of each group and their addresses) and every notifier
with its switches (PagerDuty, Opsgenie, Slack, Teams, Statuspage, SMS, voice, e-mail, the
signed webhook, and the Jira, ServiceNow, Remedy and Cherwell tickets with
auto_ticket_creation on or off), every row's one attempt is watched at the stand-in vendors:

- a row that ends `sent` made its own vendor accept a request addressed to someone during its
  attempt, and no other vendor hear anything: a text or call to each of the row's recipients
  and to no one else, a mail whose recipients are among the row's, a post, card, alert or
  ticket write the fake's contract checks accepted (an Opsgenie request only when it reached
  an alert);
- a row that ends `skipped` made no such request at all (a tracker's look-up of an existing
  ticket is a read, not a message: reads are not counted anywhere);
- nothing ends pending or dead, and a row skipped when it was routed was never attempted.

The comms matrix is the built-in one with voice, Teams and Opsgenie added to groups, SMS for
Customer Support (sharing the channel with the Executive Team) and a Service Desk on the
four trackers (tests/integrations/test_drills_and_environments.py
`matrix_with_every_channel`), so every notifier has messages to carry.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import select

from automation.delivery import Deliverer
from playbooks.config import parse_configuration
from store import review
from store.models import Notification
from tests.integrations.test_comms_end_to_end import vendors  # noqa: F401 (a fixture)
from tests.integrations.test_drills_and_environments import (  # noqa: F401 (every_vendor is a fixture)
    TRACKERS, every_integration, every_vendor, matrix_with_every_channel, routed_store,
)
from tests.integrations.test_email_sms_webhook import ONCALL
from tests.properties.common import note, property_settings

SETTINGS = property_settings(30)
INTEGRATIONS = ("pagerduty", "opsgenie", "slack", "teams", "statuspage", "sms", "voice", "email", "webhook",
                *TRACKERS)
PERSON_ADDRESSED = ("sms", "voice", "email")
# The groups whose channels reach people (members drawn for each), and the people drawn into them.
GROUPS = ("Executive Team", "Engineering Leads", "On-Call Engineers", "Customer Support")
PEOPLE = ("ana", "ben", "chen", "dee", "eli")
ADDRESS_KINDS = ("email", "sms", "phone")
STEPS = ("ack", "update", "severity")
ENDINGS = ((), ("resolve",), ("close",), ("resolve", "close"))


def address(person: str, kind: str) -> str:
    index = PEOPLE.index(person)
    if kind == "email":
        return f"{person}@example.com"
    if kind == "sms" and index == 0:
        return ONCALL[0]  # ana's mobile is also on the on-call list: texted once, not twice
    return f"+1415555{2 if kind == 'sms' else 3}0{index:02d}"


@pytest.fixture
def matrix(tmp_path):
    """Loaded once per test, shared by its examples (as the stand-ins are)."""
    return matrix_with_every_channel(tmp_path / "playbooks")


def heard(vendors) -> dict[str, list]:
    """What each stand-in has accepted so far that reached someone, in order: the To numbers
    texted and called, each mail's recipients, and the posts, cards, alerts and ticket writes
    its contract checked. Reads (look-ups, logins, schema reads) are not messages."""
    twilio, genie = vendors["twilio"], vendors["opsgenie"]

    def writes(fake) -> list:
        return [(r.method, r.path) for r in list(fake.received)
                if r.method in ("POST", "PUT", "PATCH") and 200 <= r.status < 300
                and not r.path.endswith(("/api/jwt/login", "/CherwellAPI/token"))]

    return {
        "pagerduty": list(vendors["pagerduty"].requests),
        "opsgenie": [r["requestId"] for r in list(genie.requests)
                     if genie.request_status.get(r["requestId"], {}).get("isSuccess")],
        "slack": list(vendors["slack"].api_calls) + list(vendors["slack"].webhook_posts),
        "teams": list(vendors["teams"].cards),
        "statuspage": list(vendors["statuspage"].requests),
        "sms": twilio.texted(),
        "voice": twilio.called(),
        "email": [list(e.rcpt_tos) for e in list(vendors["smtp"].mailbox.envelopes) if e.rcpt_tos],
        "webhook": [r for r in list(vendors["webhook"].requests) if r["valid"]],
        **{tracker: writes(vendors[tracker]) for tracker in TRACKERS},
    }


@st.composite
def situations(draw):
    contacts = {person: draw(st.lists(st.sampled_from(ADDRESS_KINDS), unique=True)) for person in PEOPLE}
    config = {
        "left_out": draw(st.lists(st.sampled_from(INTEGRATIONS), unique=True, max_size=4)),
        "auto_tickets": {tracker: draw(st.booleans()) for tracker in TRACKERS},
        "contacts": contacts,
        # none, one (e-mail only, sms only, a phone ...), several; a person may be in several groups
        "members": {group: draw(st.lists(st.sampled_from(PEOPLE), unique=True, max_size=3)) for group in GROUPS},
        "on_call_list": draw(st.booleans()),
        "critical_only": draw(st.booleans()),
        "executive_mail": draw(st.booleans()),
        "recipients_for_leads": draw(st.booleans()),
        "slack_updates": draw(st.booleans()),
        "page_updates": draw(st.booleans()),
        "drill_integrations": draw(st.lists(st.sampled_from(INTEGRATIONS), unique=True, max_size=3)),
        "staging_pages": draw(st.booleans()),
    }
    incident = {
        # Weighted towards what reaches most people (a production SEV-1), so every channel sends often.
        "severity": draw(st.sampled_from(["critical", "critical", "high", "medium", "low"])),
        "environment": draw(st.sampled_from(["production", "production", "all", "staging", "development"])),
        "drill": draw(st.sampled_from([False, False, False, True])),
        "steps": draw(st.lists(st.sampled_from(STEPS), unique=True, max_size=3)) + list(draw(st.sampled_from(ENDINGS))),
    }
    return config, incident


def configuration_for(vendors, config: dict):
    tables = every_integration(vendors)
    integrations = tables["integrations"]
    for name in config["left_out"]:
        integrations.pop(name)
    for tracker, on in config["auto_tickets"].items():
        if tracker in integrations:
            integrations[tracker]["auto_ticket_creation"] = on
    if "sms" in integrations:
        integrations["sms"]["on_call_contacts"] = list(ONCALL) if config["on_call_list"] else []
        integrations["sms"]["critical_only"] = config["critical_only"]
    if "email" in integrations:
        integrations["email"]["executive_notifications"] = config["executive_mail"]
        if not config["recipients_for_leads"]:
            integrations["email"]["recipients"].pop("Engineering Leads")
    if "slack" in integrations:
        integrations["slack"]["status_updates"] = config["slack_updates"]
    if "statuspage" in integrations:
        integrations["statuspage"]["auto_updates"] = config["page_updates"]
    tables["contacts"] = {person: {kind: address(person, kind) for kind in kinds}
                          for person, kinds in config["contacts"].items()}
    tables["groups"] = {group: {"members": members} for group, members in config["members"].items()}
    tables["drills"] = {"integrations": config["drill_integrations"]}
    tables["environments"] = {"staging": {"pages": config["staging_pages"], "publishes": False}}
    return parse_configuration(tables)


def play(routed, plan: dict):
    """Declare the incident and take its steps; returns it."""
    if plan["drill"]:
        incident = routed.declare(plan["severity"], "outage", plan["environment"], actor="drill",
                                  title="[DRILL] x", is_drill=True)
    else:
        incident = routed.declare(plan["severity"], "outage", plan["environment"], actor="alice", title="Checkout")
    resolved = False
    for step in plan["steps"]:
        if step == "ack":
            routed.acknowledge(incident.id, actor="bob")
        elif step == "update":
            routed.post_status_update(incident.id, "Fix deployed", actor="bob", affected="All users")
        elif step == "severity":
            level = {"critical": "high", "high": "critical", "medium": "low", "low": "medium"}[plan["severity"]]
            routed.change_severity(incident.id, level, actor="bob")
        elif step == "resolve":
            routed.resolve(incident.id, actor="bob")
            resolved = True
        elif step == "close":
            if not resolved:
                routed.resolve(incident.id, actor="bob")
            review.update_review(routed, incident.id, actor="carol", held=True)  # SEV-1/2 close after it
            routed.close(incident.id, actor="bob")
    return incident


def check_attempt(row: Notification, payload: dict, state: str, before: dict, after: dict) -> None:
    new = {name: after[name][len(before[name]):] for name in after}
    others = {name: items for name, items in new.items() if items and name != row.integration}
    what = (row.integration, row.event, row.stakeholder_group)
    assert not others, (*what, "another vendor heard something", others)
    if state == "skipped":
        assert not new[row.integration], (*what, "skipped but a request went out", new[row.integration])
        return
    assert state == "sent", (*what, state, row.id)
    assert new[row.integration], (*what, "sent without a request addressed to anyone")
    if row.integration in PERSON_ADDRESSED:
        recipients = payload.get("recipients")
        assert recipients, (*what, "a person-addressed row sent with no recipients", payload)
        if row.integration == "email":
            reached = [address.casefold() for mail in new["email"] for address in mail]
            wanted = {address.casefold() for address in recipients}
        else:
            reached, wanted = new[row.integration], set(recipients)
        # Its recipients, each of them, and no one else.
        assert set(reached) == wanted, (*what, "reached", reached, "recipients", recipients)


BASE = {"left_out": [], "auto_tickets": dict.fromkeys(TRACKERS, True),
        "contacts": {"ana": ["sms", "phone", "email"], "ben": ["email"], "chen": ["sms"], "dee": ["phone"], "eli": []},
        "members": {"Executive Team": ["ana", "chen", "dee"], "Engineering Leads": ["ben", "ana"],
                    "On-Call Engineers": ["dee", "eli"], "Customer Support": ["chen"]},
        "on_call_list": True, "critical_only": True, "executive_mail": True, "recipients_for_leads": True,
        "slack_updates": True, "page_updates": True, "drill_integrations": [], "staging_pages": False}
NOBODY = dict.fromkeys(GROUPS, [])


@SETTINGS
@given(situation=situations())
# Seen: a SEV-2 with SMS for SEV-1 only was marked sent, so the executives showed as told.
@example(situation=(dict(BASE, members=NOBODY),
                    {"severity": "high", "environment": "production", "drill": False, "steps": ["update"]}))
@example(situation=(dict(BASE, slack_updates=False, page_updates=False, executive_mail=False,
                         recipients_for_leads=False),
                    {"severity": "critical", "environment": "all", "drill": False, "steps": ["ack", "update"]}))
@example(situation=(dict(BASE, drill_integrations=["slack", "pagerduty", "voice"]),
                    {"severity": "critical", "environment": "production", "drill": True, "steps": ["update"]}))
# Every notifier, members shared between groups, a phone for SEV-1, its whole life to the tickets' close.
@example(situation=(BASE, {"severity": "high", "environment": "production", "drill": False,
                           "steps": ["ack", "update", "severity", "resolve", "close"]}))
# Trackers routed by the matrix with auto_ticket_creation off; groups with no reachable member.
@example(situation=(dict(BASE, auto_tickets=dict.fromkeys(TRACKERS, False), members=NOBODY, on_call_list=False),
                    {"severity": "critical", "environment": "production", "drill": False, "steps": ["close"]}))
def test_no_row_is_sent_unless_a_vendor_accepted_a_message_addressed_to_someone(
        store, every_vendor, matrix, situation):  # noqa: F811
    config, plan = situation
    routed, notifiers = routed_store(store, configuration_for(every_vendor, config), matrix)
    incident = play(routed, plan)

    deliverer = Deliverer(routed, notifiers, timeout=5)
    try:
        with routed.db.read() as session:
            pending = list(session.exec(select(Notification).where(Notification.incident_id == incident.id,
                                                                   Notification.state == "pending")
                                        .order_by(Notification.id)).all())
        for row in pending:
            before = heard(every_vendor)
            deliverer.deliver_one(row)
            after = heard(every_vendor)
            with routed.db.read() as session:
                done = session.get(Notification, row.id)
                state, payload = done.state, json.loads(done.payload)
            check_attempt(row, payload, state, before, after)
            note(f"{row.integration} {state}")  # the mix: --hypothesis-show-statistics
    finally:
        deliverer.close()
    # Skipped at routing time (drill, environment, no member, a switch): nothing was ever attempted for them.
    with routed.db.read() as session:
        for row in session.exec(select(Notification).where(Notification.incident_id == incident.id)):
            assert row.state in ("sent", "skipped"), row
            if row.state == "skipped":
                assert row.attempts <= 1 and row.last_error
                if row.attempts == 0:
                    note(f"{row.integration} routed skipped ({row.last_error.split(':')[0]})")
