"""Issue 12: a drill reaches no one real, and an incident's environment decides whether it may
page or publish. What may not go out is a skipped outbox row with the reason, never sent,
and the fakes prove nothing left the building. Both backends."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.drills import SCENARIOS, run_drill
from automation.notifiers import notifiers_from_config
from automation.routing import route_by_matrix
from playbooks import load_policy
from playbooks.config import parse_configuration
from store.models import Notification
from store.operations import IncidentStore
from store import review
from store.queries import incident_detail
from tests.integrations.test_comms_end_to_end import every_channel, vendors  # noqa: F401 (a fixture)
from tests.support import cherwell_fake, jira_fake, opsgenie_fake, remedy_fake, servicenow_fake, teams_fake, twilio_fake

PAGERS_AND_PUBLIC = ("pagerduty", "sms", "statuspage")
TRACKERS = ("jira", "servicenow", "remedy", "cherwell")


def routed_store(store, configuration, policy=None):
    """The store with the router the configuration makes (over `policy`'s comms matrix, or the store's)."""
    policy = policy or store.policy
    notifiers = notifiers_from_config(configuration)
    router = route_by_matrix(policy, set(notifiers), configuration)
    return IncidentStore(store.db, policy, store.clock, router=router), notifiers


@pytest.fixture
def every_vendor(vendors, monkeypatch):  # noqa: F811
    """`vendors` plus the stand-ins of Teams, Opsgenie and the four trackers (voice is the
    Twilio fake's Calls resource), with their secrets in the environment."""
    secrets = {"OPSGENIE_API_KEY": opsgenie_fake.API_KEY, "JIRA_EMAIL": jira_fake.EMAIL,
               "JIRA_API_TOKEN": jira_fake.API_TOKEN, "SERVICENOW_USER": servicenow_fake.USER,
               "SERVICENOW_PASSWORD": servicenow_fake.PASSWORD, "REMEDY_USER": remedy_fake.USER,
               "REMEDY_PASSWORD": remedy_fake.PASSWORD, "CHERWELL_CLIENT_ID": cherwell_fake.CLIENT_ID,
               "CHERWELL_USER": cherwell_fake.USER, "CHERWELL_PASSWORD": cherwell_fake.PASSWORD}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    with teams_fake.TeamsFake() as teams, opsgenie_fake.OpsgenieFake() as genie, jira_fake.JiraFake() as jira, \
            servicenow_fake.ServiceNowFake() as snow, remedy_fake.RemedyFake() as remedy, \
            cherwell_fake.CherwellFake() as cherwell:
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams.webhook_url)  # the URL is the secret
        yield {**vendors, "teams": teams, "opsgenie": genie, "jira": jira, "servicenow": snow, "remedy": remedy,
               "cherwell": cherwell}


# People with every kind of address, in the groups whose channels reach people.
MEMBERS = {"cto": {"sms": "+14155550111", "phone": "+14155550112", "email": "cto@example.com"},
           "oncall": {"sms": "+14155550131", "phone": "+14155550132", "email": "oncall@example.com"}}


def every_integration(vendors) -> dict:
    """`every_channel` with voice, Teams, Opsgenie and the four trackers too (each filing
    tickets), and members with numbers to text and phones to call."""
    config = every_channel(vendors)
    integrations = config["integrations"]
    integrations["voice"] = {"url": vendors["twilio"].url, "account_sid": twilio_fake.ACCOUNT_SID,
                             "from_number": twilio_fake.FROM_NUMBER}
    integrations["teams"] = {}
    integrations["opsgenie"] = {"url": vendors["opsgenie"].url}
    integrations["jira"] = {"url": vendors["jira"].url}
    integrations["servicenow"] = {"url": vendors["servicenow"].url}
    integrations["remedy"] = {"url": vendors["remedy"].url, "first_name": remedy_fake.FIRST,
                              "last_name": remedy_fake.LAST}
    integrations["cherwell"] = {"url": vendors["cherwell"].url, "customer_rec_id": cherwell_fake.CUSTOMER,
                                "service": "IT Service", "category": "Monitoring", "subcategory": "Alert"}
    config["contacts"] = dict(MEMBERS)
    config["groups"] = {"Executive Team": {"members": ["cto"]}, "On-Call Engineers": {"members": ["oncall"]}}
    return config


def matrix_with_every_channel(folder: Path):
    """The built-in policy with a comms matrix (a user's comms.toml) that also carries voice,
    Teams and Opsgenie, texts Customer Support, and has a Service Desk on the four trackers, so
    every notifier has messages to carry (the trackers' through the matrix when
    auto_ticket_creation is off)."""
    text = (Path(__file__).parents[2] / "playbooks" / "builtin" / "comms.toml").read_text(encoding="utf-8")
    for before, after in (
            ('channel = "PagerDuty"\nintegrations = ["pagerduty"]',
             'channel = "PagerDuty"\nintegrations = ["pagerduty", "opsgenie", "voice"]'),
            ('name = "Engineering Leads"\nseverities = ["SEV-1", "SEV-2", "SEV-3"]\nchannel = "Slack/Email"\n'
             'integrations = ["slack", "email"]',
             'name = "Engineering Leads"\nseverities = ["SEV-1", "SEV-2", "SEV-3"]\nchannel = "Slack/Email"\n'
             'integrations = ["slack", "email", "teams"]'),
            ('name = "Customer Support"\nseverities = ["SEV-1", "SEV-2", "SEV-3"]\nchannel = "Slack/Email"\n'
             'integrations = ["slack", "email"]',
             'name = "Customer Support"\nseverities = ["SEV-1", "SEV-2", "SEV-3"]\nchannel = "Slack/Email"\n'
             'integrations = ["slack", "email", "sms"]'),
            ('channel = "Secure Channel"\nintegrations = ["webhook"]',
             'channel = "Secure Channel"\nintegrations = ["webhook", "teams"]')):
        assert before in text, before
        text = text.replace(before, after)
    text += ('\n[[groups]]\nname = "Service Desk"\nseverities = ["SEV-1", "SEV-2", "SEV-3", "SEV-4"]\n'
             f'channel = "Tickets"\nintegrations = {json.dumps(list(TRACKERS))}\n')
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comms.toml").write_text(text, encoding="utf-8")
    return load_policy(folder)


def rows(store, incident_id):
    with store.db.read() as session:
        return list(session.exec(select(Notification).where(Notification.incident_id == incident_id)).all())


def nothing_reached(vendors) -> None:
    assert vendors["pagerduty"].received == []
    assert vendors["twilio"].received == [] and vendors["twilio"].messages == []
    assert vendors["statuspage"].received == [] and vendors["statuspage"].incidents == {}


def test_every_drill_with_every_integration_reaches_no_one(store, every_vendor, capsys, tmp_path):
    vendors = every_vendor
    configuration = parse_configuration(every_integration(vendors))
    routed, notifiers = routed_store(store, configuration, matrix_with_every_channel(tmp_path / "playbooks"))
    assert set(notifiers) == set(type(configuration.integrations).model_fields), "every notifier is configured"
    opened = []
    for name in SCENARIOS:
        opened += run_drill(routed, name, actor="drill-runner")
    assert opened, "every drill opens its drill incident"
    for incident_id in opened:  # the drill runs its course: an update, resolved, closed (tickets' last word)
        routed.post_status_update(incident_id, "Drill: pool resized", actor="drill-runner", affected="nobody")
        routed.resolve(incident_id, actor="drill-runner")
        review.update_review(routed, incident_id, actor="drill-runner", held=True)
        routed.close(incident_id, actor="drill-runner")
    deliverer = Deliverer(routed, notifiers, timeout=5)
    try:
        assert deliverer.deliver_due() == 0
    finally:
        deliverer.close()

    # Not one request at a pager, a phone or the public page (nor anywhere else).
    assert vendors["pagerduty"].received == [] and vendors["pagerduty"].alerts == {}
    assert vendors["twilio"].received == []
    assert vendors["twilio"].messages == [] and vendors["twilio"].calls == []  # no text, no call
    assert vendors["statuspage"].received == [] and vendors["statuspage"].incidents == {}
    assert vendors["opsgenie"].received == [] and vendors["opsgenie"].alerts == {}
    assert vendors["slack"].received == [] and vendors["smtp"].mailbox.envelopes == []
    assert vendors["webhook"].requests == [] and vendors["teams"].received == []
    for tracker in TRACKERS:
        assert vendors[tracker].received == [], tracker
    for incident_id in opened:
        written = rows(routed, incident_id)
        assert written, "a drill's messages are written, so the outbox can say why they did not go"
        assert {row.state for row in written} == {"skipped"}
        assert all(row.last_error.startswith("drill: ") and row.attempts == 0 for row in written)
        reached = {row.integration for row in written}
        assert reached >= {"pagerduty", "sms", "voice", "statuspage", "opsgenie", "teams", *TRACKERS}, reached
        assert {row.stakeholder_group for row in written if row.integration in ("sms", "voice")} \
            >= {"On-Call Engineers"}  # members with numbers and phones: the drill alone held them back
        assert any(row.event == "closed" for row in written if row.integration in TRACKERS)

    # The outbox as a person reads it, and the war room's stakeholder rows.
    from tui.cli import main

    assert main(["outbox", "--json", "--state", "skipped", "--db", store.db.url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["incident"] for row in listed} == set(opened)
    assert all(row["state"] == "skipped" and row["reason"].startswith("drill: ") for row in listed)
    with routed.db.read() as session:
        told = incident_detail(session, routed.policy, opened[0], routed.now())["notifications"]
    assert told and all(group["state"] == "skipped" and group["sent"] == 0 for group in told)

    # The same configuration is live: a real SEV-1 pages, texts, calls and publishes at once.
    real = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    deliverer = Deliverer(routed, notifiers, timeout=5)
    try:
        deliverer.deliver_due()
    finally:
        deliverer.close()
    assert vendors["pagerduty"].actions(real.id) == ["trigger"] and len(vendors["statuspage"].incidents) == 1
    assert sorted(vendors["twilio"].called()) == sorted(member["phone"] for member in MEMBERS.values())
    assert {member["sms"] for member in MEMBERS.values()} <= set(vendors["twilio"].texted())


def test_a_drill_uses_only_the_integrations_drills_lists(store, vendors):  # noqa: F811
    config = every_channel(vendors)
    config["drills"] = {"integrations": ["slack"]}
    routed, notifiers = routed_store(store, parse_configuration(config))
    (incident_id,) = run_drill(routed, "db-pool-exhaustion", actor="drill-runner")
    Deliverer(routed, notifiers, timeout=5).deliver_due()
    nothing_reached(vendors)
    by_integration = {}
    for row in rows(routed, incident_id):
        by_integration.setdefault(row.integration, set()).add(row.state)
    assert by_integration.pop("slack") == {"sent"}
    assert by_integration and all(states == {"skipped"} for states in by_integration.values())
    assert any(message.get("text") for _path, message in vendors["slack"].api_calls)


def test_a_development_sev1_pages_nobody_and_publishes_nothing(store, vendors):  # noqa: F811
    routed, notifiers = routed_store(store, parse_configuration(every_channel(vendors)))
    incident = routed.declare("critical", "outage", "development", actor="alice", title="Dev cluster down")
    Deliverer(routed, notifiers, timeout=5).deliver_due()
    nothing_reached(vendors)
    written = rows(routed, incident.id)
    for row in written:
        if row.integration in PAGERS_AND_PUBLIC:
            assert row.state == "skipped", row
            assert row.last_error.startswith("development: this environment "), row.last_error
        else:
            assert row.state == "sent", row  # its chat, e-mail and webhook groups are told
    assert {row.integration for row in written if row.state == "sent"} == {"slack", "email", "webhook"}


def test_an_environment_may_be_allowed_to_page(store, vendors):  # noqa: F811
    config = every_channel(vendors)
    config["environments"] = {"staging": {"pages": True, "publishes": False}}
    routed, notifiers = routed_store(store, parse_configuration(config))
    incident = routed.declare("critical", "outage", "staging", actor="alice", title="Staging down")
    Deliverer(routed, notifiers, timeout=5).deliver_due()
    states = {(row.integration, row.state) for row in rows(routed, incident.id)}
    assert ("pagerduty", "sent") in states and ("sms", "sent") in states
    assert ("statuspage", "skipped") in states
    assert vendors["statuspage"].incidents == {}
    assert len(vendors["pagerduty"].alerts) == 1


def test_all_environments_is_accepted_and_routed_as_production(store, vendors):  # noqa: F811
    routed, notifiers = routed_store(store, parse_configuration(every_channel(vendors)))
    incident = routed.declare("critical", "outage", "all", actor="alice", title="Everything is down")
    assert incident.environment == "all"
    Deliverer(routed, notifiers, timeout=5).deliver_due()
    assert {row.state for row in rows(routed, incident.id)} == {"sent"}
    assert len(vendors["pagerduty"].alerts) == 1 and len(vendors["statuspage"].incidents) == 1
