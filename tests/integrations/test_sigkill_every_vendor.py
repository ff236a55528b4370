"""Issue 5, acceptance 3: SIGKILL during delivery, restart, with every vendor configured.

A delivering process is killed (SIGKILL, no clean-up) three times while requests are in
flight — each fake answers late, so a kill lands after the vendor received a message and
before the outbox marked it sent — and a last process finishes the backlog. Outcome:
- nothing lost: every outbox row ends sent, and every message reached its vendor;
- exactly once where the vendor deduplicates: one PagerDuty alert per incident (dedup_key),
  one Opsgenie alert (alias), one Statuspage incident, one Jira issue and one ServiceNow
  record per incident (looked up before being created again);
- where the vendor cannot deduplicate (Slack, Twilio SMS, SMTP, plain webhooks) a message
  cut off mid-flight may arrive twice, never more than once per kill; e-mail repeats carry
  the same Message-ID and webhook repeats the same Idempotency-Key, so receivers can drop them.
"""
from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from automation.routing import route_by_matrix
from playbooks import load_policy
from store.database import open_database
from store.models import Notification
from store.operations import IncidentStore
from tests.integrations.test_email_sms_webhook import (
    EXECS, ONCALL, SMTP_PASSWORD, SMTP_USER, SUPPORT, WEBHOOK_SECRET, Receiver, SMTPServer,
)
from tests.support import jira_fake, lifetime, opsgenie_fake, servicenow_fake, slack_fake, statuspage_fake, twilio_fake
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake

KILLS = 3
INCIDENTS = 3
SECRETS = {
    "PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "SLACK_BOT_TOKEN": slack_fake.TOKEN,
    "STATUSPAGE_API_KEY": statuspage_fake.API_KEY, "TWILIO_AUTH_TOKEN": twilio_fake.AUTH_TOKEN,
    "SMTP_USERNAME": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD, "IR_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
    "OPSGENIE_API_KEY": opsgenie_fake.API_KEY, "JIRA_EMAIL": jira_fake.EMAIL, "JIRA_API_TOKEN": jira_fake.API_TOKEN,
    "SERVICENOW_USER": servicenow_fake.USER, "SERVICENOW_PASSWORD": servicenow_fake.PASSWORD,
}

# The delivering process, as `watch` runs it: notifiers from the config file, one Deliverer.
DELIVER_FOREVER = """
import sys, threading
from playbooks import load_policy
from store.database import open_database
from store.operations import IncidentStore
from automation.delivery import Deliverer
from automation.notifiers import notifiers_from_config
from tui.configuration import load_checked_configuration
store = IncidentStore(open_database(sys.argv[1]), load_policy())
deliverer = Deliverer(store, notifiers_from_config(load_checked_configuration()), timeout=10)
print("ready", flush=True)
deliverer.run(threading.Event(), interval=0.02)
"""


def _matrix_with_every_vendor(config_dir: Path) -> None:
    """A comms matrix (user override) that also pages through Opsgenie and files tickets
    in Jira and ServiceNow, so every notifier takes part."""
    builtin = (Path(__file__).parents[2] / "playbooks" / "builtin" / "comms.toml").read_text(encoding="utf-8")
    override = builtin.replace('channel = "PagerDuty"\nintegrations = ["pagerduty"]',
                               'channel = "PagerDuty"\nintegrations = ["pagerduty", "opsgenie"]')
    assert override != builtin
    override += ('\n[[groups]]\nname = "Service Desk"\nseverities = ["SEV-1", "SEV-2", "SEV-3"]\n'
                 'channel = "Tickets"\nintegrations = ["jira", "servicenow"]\n')
    (config_dir / "playbooks").mkdir(parents=True, exist_ok=True)
    (config_dir / "playbooks" / "comms.toml").write_text(override, encoding="utf-8")


@pytest.fixture
def every_vendor():
    with PagerDutyFake() as pagerduty, slack_fake.SlackFake() as slack, statuspage_fake.StatuspageFake() as page, \
            twilio_fake.TwilioFake() as twilio, opsgenie_fake.OpsgenieFake() as genie, jira_fake.JiraFake() as jira, \
            servicenow_fake.ServiceNowFake() as snow:
        smtp = SMTPServer()
        hooks = Receiver(WEBHOOK_SECRET)
        try:
            yield {"pagerduty": pagerduty, "slack": slack, "statuspage": page, "twilio": twilio, "opsgenie": genie,
                   "jira": jira, "servicenow": snow, "smtp": smtp, "webhook": hooks}
        finally:
            hooks.close()
            smtp.stop()


def _config(v) -> str:
    return f"""
[integrations.pagerduty]
url = "{v['pagerduty'].url}"
[integrations.opsgenie]
url = "{v['opsgenie'].url}"
[integrations.slack]
mode = "web_api"
url = "{v['slack'].url}"
incident_channel = "#incidents"
[integrations.statuspage]
url = "{v['statuspage'].url}"
page_id = "{statuspage_fake.PAGE_ID}"
component_mapping = false
[integrations.jira]
url = "{v['jira'].url}"
[integrations.servicenow]
url = "{v['servicenow'].url}"
[integrations.sms]
url = "{v['twilio'].url}"
account_sid = "{twilio_fake.ACCOUNT_SID}"
from_number = "{twilio_fake.FROM_NUMBER}"
on_call_contacts = {json.dumps(ONCALL)}
[integrations.email]
host = "127.0.0.1"
port = {v['smtp'].port}
sender = "incidents@example.com"
starttls = false
[integrations.email.recipients]
"Executive Team" = {json.dumps(EXECS)}
"Engineering Leads" = {json.dumps(EXECS)}
"Customer Support" = {json.dumps(SUPPORT)}
[integrations.webhook]
url = "{v['webhook'].url}"
"""


def _rows(store) -> list[Notification]:
    with store.db.read() as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))


def _start(url: str, env: dict) -> subprocess.Popen:
    process = lifetime.popen([sys.executable, "-c", DELIVER_FOREVER, url], stdout=subprocess.PIPE, text=True,
                             env=env, cwd=Path(__file__).parents[2])
    assert process.stdout.readline().strip() == "ready"
    return process


DONE = ("sent", "skipped")  # delivered, or done without addressing anyone (and why)


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_sigkill_during_delivery_to_every_vendor_then_restart(tmp_path, every_vendor, monkeypatch):
    v = every_vendor
    config_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "incident-response"
    _matrix_with_every_vendor(config_dir)
    (config_dir / "config.toml").write_text(_config(v), encoding="utf-8")
    from store.paths import user_playbooks_dir

    policy = load_policy(user_playbooks_dir())
    enabled = {"pagerduty", "opsgenie", "slack", "statuspage", "jira", "servicenow", "sms", "email", "webhook"}
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    db = open_database(url)
    store = IncidentStore(db, policy, router=route_by_matrix(policy, enabled))
    ids = []
    for n in range(INCIDENTS):
        incident = store.declare("critical", "outage", "production", actor="alice", title=f"Checkout down {n}",
                                 service="checkout")
        store.acknowledge(incident.id, actor="bob")
        store.resolve(incident.id, actor="bob")
        ids.append(incident.id)
    rows = _rows(store)
    by_integration = Counter(r.integration for r in rows)
    assert set(by_integration) == enabled
    # Every fake answers late: the kill lands while a request is at the vendor, unanswered.
    for name in ("pagerduty", "slack", "statuspage", "opsgenie", "jira", "servicenow"):
        v[name].delay = 0.08
    env = dict(os.environ, **SECRETS)
    total = len(rows)
    for kill in range(1, KILLS + 1):
        process = _start(url, env)
        threshold = total * kill // (KILLS + 1)
        reached = _wait(lambda: sum(r.state in DONE for r in _rows(store)) >= threshold, 60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert reached, f"delivery stalled before {threshold} of {total} messages"
    last = _start(url, env)
    try:
        assert _wait(lambda: all(r.state in DONE for r in _rows(store)), 90), Counter(r.state for r in _rows(store))
    finally:
        last.kill()
        last.wait(10)

    rows = _rows(store)
    assert all(r.state in DONE for r in rows)  # none lost, none dead
    # Skipped only where the notifier addresses no one: Statuspage has nothing public to say
    # about an acknowledgement.
    assert {(r.integration, r.event) for r in rows if r.state == "skipped"} == {("statuspage", "acknowledged")}
    # Exactly once where the vendor deduplicates.
    assert sorted(v["pagerduty"].alerts) == sorted(ids)
    assert all(v["pagerduty"].alerts[i] == "resolved" for i in ids)
    assert sorted(a["alias"] for a in v["opsgenie"].history) == sorted(ids)
    assert all(v["opsgenie"].alerts[i]["status"] == "closed" for i in ids)
    assert len(v["statuspage"].incidents) == INCIDENTS
    assert all(i["status"] == "resolved" for i in v["statuspage"].incidents.values())
    assert len(v["jira"].issues) == INCIDENTS
    assert all(len(v["servicenow"].by_correlation(i)) == 1 for i in ids)
    # At least once elsewhere, a repeat at most once per kill, and recognisable as a repeat.
    texted = len(v["twilio"].texted())
    expected_texts = by_integration["sms"] * len(ONCALL)
    assert expected_texts <= texted <= expected_texts + KILLS * len(ONCALL)
    slack_messages = sum(len(c.messages) for c in v["slack"].channels.values())
    assert by_integration["slack"] <= slack_messages <= by_integration["slack"] + KILLS
    mail_ids = [email.message_from_bytes(e.original_content)["Message-ID"] for e in v["smtp"].mailbox.envelopes]
    assert len(set(mail_ids)) == by_integration["email"]
    assert len(mail_ids) <= by_integration["email"] + KILLS
    hook_keys = [r["headers"].get("Idempotency-Key") for r in v["webhook"].requests if r["valid"]]
    assert len(set(hook_keys)) == by_integration["webhook"]
    assert len(hook_keys) <= by_integration["webhook"] + KILLS
    db.dispose()
