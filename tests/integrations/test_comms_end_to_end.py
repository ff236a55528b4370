"""Issue 5, acceptance 1: declaring a SEV-1 with every matrix channel configured sends,
to the contract fakes, exactly the messages the comms matrix asks for, each accepted by the
fake's checks; acknowledge and resolve follow on PagerDuty with the same dedup_key; the
Statuspage incident walks through its statuses."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.notifiers import notifiers_from_config
from playbooks.config import parse_configuration
from automation.routing import route_by_matrix
from store.models import Notification
from store.operations import IncidentStore
from tests.integrations.test_email_sms_webhook import (
    EXECS, ONCALL, SMTP_PASSWORD, SMTP_USER, SUPPORT, WEBHOOK_SECRET, Receiver, SMTPServer,
)
from tests.support import slack_fake, statuspage_fake, twilio_fake
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake


@pytest.fixture
def vendors(monkeypatch):
    env = {"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "SLACK_BOT_TOKEN": slack_fake.TOKEN,
           "STATUSPAGE_API_KEY": statuspage_fake.API_KEY, "TWILIO_AUTH_TOKEN": twilio_fake.AUTH_TOKEN,
           "SMTP_USERNAME": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD, "IR_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with PagerDutyFake() as pagerduty, slack_fake.SlackFake() as slack, statuspage_fake.StatuspageFake() as page, \
            twilio_fake.TwilioFake() as twilio:
        smtp = SMTPServer()
        hooks = Receiver(WEBHOOK_SECRET)
        try:
            yield {"pagerduty": pagerduty, "slack": slack, "statuspage": page, "twilio": twilio, "smtp": smtp,
                   "webhook": hooks}
        finally:
            hooks.close()
            try:
                smtp.stop()
            except (AssertionError, RuntimeError):
                pass  # a test stopped it on purpose (the mail server was "down")


def every_channel(vendors) -> dict:
    return {"integrations": {
        "pagerduty": {"url": vendors["pagerduty"].url},
        "slack": {"mode": "web_api", "url": vendors["slack"].url, "incident_channel": "#incidents"},
        "statuspage": {"url": vendors["statuspage"].url, "page_id": statuspage_fake.PAGE_ID,
                       "component_mapping": False},
        "sms": {"url": vendors["twilio"].url, "account_sid": twilio_fake.ACCOUNT_SID,
                "from_number": twilio_fake.FROM_NUMBER, "on_call_contacts": ONCALL},
        "email": {"host": "127.0.0.1", "port": vendors["smtp"].port, "sender": "incidents@example.com",
                  "starttls": False, "recipients": {"Executive Team": EXECS, "Engineering Leads": EXECS,
                                                    "Customer Support": SUPPORT}},
        "webhook": {"url": vendors["webhook"].url},
    }, "contacts": {"cto": {"sms": EXECUTIVE_SMS}}, "groups": {"Executive Team": {"members": ["cto"]}}}


EXECUTIVE_SMS = "+14155550199"  # the Executive Team's member: texted by the matrix's Phone/SMS row


def test_a_sev1_reaches_every_stakeholder_through_the_matrix(store, vendors, tmp_path):
    notifiers = notifiers_from_config(parse_configuration(every_channel(vendors), tmp_path / "config.toml"))
    routed = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, set(notifiers)))
    deliverer = Deliverer(routed, notifiers, timeout=5)

    incident = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down",
                              service="checkout")
    with routed.db.read() as session:
        planned = Counter((n.integration, n.stakeholder_group) for n in session.exec(select(Notification)))
    # The spec's matrix for SEV-1, channel by channel.
    assert planned == Counter({
        ("sms", "Executive Team"): 1, ("slack", "Engineering Leads"): 1, ("email", "Engineering Leads"): 1,
        ("pagerduty", "On-Call Engineers"): 1, ("slack", "Customer Support"): 1, ("email", "Customer Support"): 1,
        ("statuspage", "External Customers"): 1, ("webhook", "Security Team"): 1, ("webhook", "Legal/Compliance"): 1,
    })
    assert deliverer.deliver_due() == 9
    assert vendors["pagerduty"].actions(incident.id) == ["trigger"]
    assert len(vendors["twilio"].messages) == len(ONCALL)  # every on-call contact texted once
    assert len(vendors["slack"].messages("#incidents")) == 1  # the second group threads under the first
    assert len(vendors["smtp"].mailbox.envelopes) == 2
    assert [r["valid"] for r in vendors["webhook"].requests] == [True, True]
    (page_incident,) = vendors["statuspage"].incidents
    assert vendors["statuspage"].statuses(page_incident) == ["investigating"]

    routed.acknowledge(incident.id, actor="bob")
    for status in ("identified", "monitoring", "resolved"):
        routed.change_status(incident.id, status, actor="bob")
    deliverer.deliver_due()
    assert vendors["pagerduty"].actions(incident.id) == ["trigger", "acknowledge", "trigger", "trigger", "resolve"]
    assert vendors["pagerduty"].alerts[incident.id] == "resolved"
    assert vendors["statuspage"].statuses(page_incident) == ["investigating", "identified", "monitoring", "resolved"]
    with routed.db.read() as session:
        states = Counter(n.state for n in session.exec(select(Notification)))
    assert states.get("dead", 0) == 0 and states.get("pending", 0) == 0


def test_every_vendor_down_then_up_delivers_each_message_once(store, vendors, tmp_path, clock):
    notifiers = notifiers_from_config(parse_configuration(every_channel(vendors), tmp_path / "config.toml"))
    routed = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, set(notifiers)))
    deliverer = Deliverer(routed, notifiers, timeout=2)
    for name in ("pagerduty", "slack", "statuspage"):
        vendors[name].down(refuse=True)
    vendors["twilio"].down()
    vendors["webhook"].answer = (503, {})
    smtp_port = vendors["smtp"].port
    vendors["smtp"].stop()
    incident = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    for _ in range(3):  # down for a while: retried with backoff, nothing lost, nothing sent
        deliverer.deliver_due()
        clock.advance(minutes=11)
    with routed.db.read() as session:
        assert Counter(n.state for n in session.exec(select(Notification))) == Counter({"pending": 9})
    for name in ("pagerduty", "slack", "statuspage", "twilio"):
        vendors[name].up()
    vendors["webhook"].answer = None
    vendors["webhook"].requests.clear()
    from aiosmtpd.controller import Controller

    from tests.integrations.test_email_sms_webhook import Mailbox

    mailbox = Mailbox()  # the mail server back, on the address the notifier knows
    mail = Controller(mailbox, hostname="127.0.0.1", port=smtp_port, server_hostname="mx.test", ready_timeout=5,
                      authenticator=mailbox.authenticator, auth_required=True, auth_require_tls=False)
    mail.start()
    try:
        assert deliverer.deliver_due() == 9
        clock.advance(minutes=11)
        assert deliverer.deliver_due() == 0
    finally:
        mail.stop()
    assert vendors["pagerduty"].actions(incident.id) == ["trigger"]
    assert len(vendors["twilio"].messages) == len(ONCALL)
    assert len(vendors["slack"].messages("#incidents")) == 1
    assert len(mailbox.envelopes) == 2
    assert len(vendors["statuspage"].incidents) == 1
    assert [r["valid"] for r in vendors["webhook"].requests] == [True, True]


def test_no_secret_lands_in_the_database_an_export_a_log_or_a_screenshot(store, vendors, tmp_path):
    import os

    from store.activity_log import activity_log_from_config
    from store.queries import incident_detail
    from store.transfer import export_json
    from tui.export import war_room_svg

    config = parse_configuration(every_channel(vendors), tmp_path / "config.toml")
    notifiers = notifiers_from_config(config)
    routed = IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, set(notifiers)))
    incident = routed.declare("critical", "outage", "production", actor="alice", title="Checkout down")
    vendors["pagerduty"].fail_next(1, status=400)  # a rejection's text is stored: it must be clean too
    vendors["twilio"].down()  # and a temporary failure's text is logged
    activity = activity_log_from_config(config, clock=routed.now)
    Deliverer(routed, notifiers, timeout=5, activity=activity).deliver_due()
    logged = activity.path.read_text(encoding="utf-8")
    assert logged.count('"event": "delivery"') == 9  # every attempt is in the log ...
    secrets = [os.environ[name] for name in ("PAGERDUTY_ROUTING_KEY", "SLACK_BOT_TOKEN", "STATUSPAGE_API_KEY",
                                              "TWILIO_AUTH_TOKEN", "SMTP_PASSWORD", "IR_WEBHOOK_SIGNING_SECRET")]
    with routed.db.read() as session:
        detail = incident_detail(session, routed.policy, incident.id, routed.now())
        stored = " ".join(f"{n.payload} {n.last_error}" for n in session.exec(select(Notification)))
    blobs = [stored, export_json(detail), war_room_svg(routed, incident.id, "alice"), logged]
    if routed.db.sqlite_path is not None:
        for suffix in ("", "-wal"):
            path = routed.db.sqlite_path.with_name(routed.db.sqlite_path.name + suffix)
            if path.exists():
                blobs.append(path.read_bytes().decode("latin-1"))
    for secret in secrets:
        assert all(secret not in blob for blob in blobs), "a secret was written"
