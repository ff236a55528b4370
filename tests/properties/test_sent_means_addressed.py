"""Issue 12, acceptance 4: no outbox row is `sent` unless a vendor accepted a message
addressed to someone. Over the router (severity, environment, drill, the comms matrix and
[drills]/[environments]) and the notifiers with their switches (SMS critical_only, e-mail
recipients and executive/customer switches, Slack status updates, Statuspage auto updates),
every row's one attempt is watched at the stand-in vendors: a row that ends `sent` made the
vendor accept a request addressed to someone (a text with a To number, a mail with
recipients, a post the fake's contract checks accepted), and a row that ends `skipped`
made no request at all."""
from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import select

from automation.delivery import Deliverer
from playbooks.config import parse_configuration
from store.models import Notification
from tests.integrations.test_comms_end_to_end import every_channel, vendors  # noqa: F401 (a fixture)
from tests.integrations.test_drills_and_environments import routed_store
from tests.properties.common import property_settings

SETTINGS = property_settings(30)


def requests_seen(vendors) -> dict[str, int]:
    """How many requests each stand-in has accepted so far (what a person could receive)."""
    return {
        "pagerduty": sum(200 <= r.status < 300 for r in vendors["pagerduty"].received),
        "slack": sum(200 <= r.status < 300 for r in vendors["slack"].received),
        "statuspage": sum(r.method in ("POST", "PATCH") and 200 <= r.status < 300
                          for r in vendors["statuspage"].received),
        "sms": len(vendors["twilio"].messages),
        "email": sum(len(e.rcpt_tos) > 0 for e in vendors["smtp"].mailbox.envelopes),
        "webhook": sum(r["valid"] for r in vendors["webhook"].requests),
    }


@st.composite
def situations(draw):
    config = {
        "critical_only": draw(st.booleans()),
        "executive_mail": draw(st.booleans()),
        "recipients_for_leads": draw(st.booleans()),
        "slack_updates": draw(st.booleans()),
        "page_updates": draw(st.booleans()),
        "drill_integrations": draw(st.lists(st.sampled_from(["slack", "email", "webhook", "pagerduty"]),
                                            unique=True, max_size=2)),
        "staging_pages": draw(st.booleans()),
    }
    incident = {
        "severity": draw(st.sampled_from(["critical", "high", "medium", "low"])),
        "environment": draw(st.sampled_from(["production", "staging", "development", "all"])),
        "drill": draw(st.booleans()),
        "steps": draw(st.lists(st.sampled_from(["ack", "update", "severity", "resolve"]), unique=True, max_size=4)),
    }
    return config, incident


def configuration_for(vendors, config: dict):
    tables = every_channel(vendors)
    integrations = tables["integrations"]
    integrations["sms"]["critical_only"] = config["critical_only"]
    integrations["email"]["executive_notifications"] = config["executive_mail"]
    if not config["recipients_for_leads"]:
        integrations["email"]["recipients"].pop("Engineering Leads")
    integrations["slack"]["status_updates"] = config["slack_updates"]
    integrations["statuspage"]["auto_updates"] = config["page_updates"]
    tables["drills"] = {"integrations": config["drill_integrations"]}
    tables["environments"] = {"staging": {"pages": config["staging_pages"], "publishes": False}}
    return parse_configuration(tables)


BASE = {"critical_only": True, "executive_mail": True, "recipients_for_leads": True, "slack_updates": True,
        "page_updates": True, "drill_integrations": [], "staging_pages": False}


@SETTINGS
@given(situation=situations())
# Seen: a SEV-2 with SMS for SEV-1 only was marked sent, so the executives showed as told.
@example(situation=(BASE, {"severity": "high", "environment": "production", "drill": False, "steps": ["update"]}))
@example(situation=(dict(BASE, slack_updates=False, page_updates=False, executive_mail=False,
                         recipients_for_leads=False),
                    {"severity": "critical", "environment": "all", "drill": False, "steps": ["ack", "update"]}))
@example(situation=(dict(BASE, drill_integrations=["slack", "pagerduty"]),
                    {"severity": "critical", "environment": "production", "drill": True, "steps": ["update"]}))
def test_no_row_is_sent_unless_a_vendor_accepted_a_message_addressed_to_someone(store, vendors, situation):  # noqa: F811
    config, plan = situation
    routed, notifiers = routed_store(store, configuration_for(vendors, config))
    if plan["drill"]:
        incident = routed.declare(plan["severity"], "outage", plan["environment"], actor="drill", title="[DRILL] x")
        from store.models import Incident

        with routed.db.write() as session:  # a drill incident, as the drill runner marks it
            row = session.get(Incident, incident.id)
            row.is_drill = True
            session.add(row)
        # The declare's rows were routed before the mark: route the drill's own changes from here.
        with routed.db.write() as session:
            for old in session.exec(select(Notification).where(Notification.incident_id == incident.id)):
                session.delete(old)
    else:
        incident = routed.declare(plan["severity"], "outage", plan["environment"], actor="alice", title="Checkout")
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
            break

    deliverer = Deliverer(routed, notifiers, timeout=5)
    try:
        with routed.db.read() as session:
            pending = list(session.exec(select(Notification).where(Notification.incident_id == incident.id,
                                                                   Notification.state == "pending")
                                        .order_by(Notification.id)).all())
        for row in pending:
            before = requests_seen(vendors)
            deliverer.deliver_one(row)
            after = requests_seen(vendors)
            with routed.db.read() as session:
                state = session.get(Notification, row.id).state
            grew = after[row.integration] - before[row.integration]
            if state == "sent":
                assert grew > 0, (row.integration, row.event, row.stakeholder_group, "sent without a request")
            elif state == "skipped":
                assert after == before, (row.integration, row.event, "skipped but a request went out")
            else:
                raise AssertionError(f"{row.integration} {row.event}: {state} ({row.id})")
    finally:
        deliverer.close()
    # Skipped at routing time (drill, environment): nothing was ever attempted for them.
    with routed.db.read() as session:
        for row in session.exec(select(Notification).where(Notification.incident_id == incident.id)):
            assert row.state in ("sent", "skipped"), row
            if row.state == "skipped":
                assert row.attempts <= 1 and row.last_error
