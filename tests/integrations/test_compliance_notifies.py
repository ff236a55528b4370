"""Issue 12: a regulator's clock tells the people who must act — starting GDPR's 72 hours on
a SEV-2 (Legal/Compliance normally hears of SEV-1s only) reaches the Legal/Compliance and
Security groups' channel with the regime and the deadline, and never the public page."""
from __future__ import annotations

import json

from automation.delivery import Deliverer
from playbooks.config import parse_configuration
from store.compliance import mark_exposure
from tests.integrations.test_comms_end_to_end import every_channel, vendors  # noqa: F401 (a fixture)
from tests.integrations.test_drills_and_environments import routed_store, rows


def test_a_gdpr_clock_on_a_sev2_reaches_legal_and_security(store, vendors):  # noqa: F811
    routed, notifiers = routed_store(store, parse_configuration(every_channel(vendors)))
    incident = routed.declare("high", "security", "production", actor="alice", title="Customer data exposed")
    deliverer = Deliverer(routed, notifiers, timeout=5)
    deliverer.deliver_due()
    vendors["webhook"].requests.clear()
    before = len(vendors["statuspage"].received)

    mark_exposure(routed, incident.id, ["personal_data"], actor="erin")
    deliverer.deliver_due()

    hooks = [json.loads(r["body"]) for r in vendors["webhook"].requests if r["valid"]]
    clocks = [hook for hook in hooks if hook["event"] == "compliance_clock_started"
              and hook["payload"]["compliance"]["regime"] == "GDPR"]
    # Both groups share the webhook: one message naming them both.
    (hook,) = clocks
    assert sorted(hook["payload"]["groups"]) == ["Legal/Compliance", "Security Team"]
    assert hook["stakeholder_group"] == "Security Team, Legal/Compliance"
    for hook in clocks:
        assert hook["payload"]["id"] == incident.id
        assert hook["payload"]["compliance"]["due_at"] == "2024-01-21T14:30:00Z"  # 72 h from awareness
        assert hook["payload"]["summary"].startswith("GDPR clock started")
    # Every row of it went out; none to the public status page.
    clock_rows = [row for row in rows(routed, incident.id) if row.event == "compliance_clock_started"]
    assert clock_rows and {row.state for row in clock_rows} == {"sent"}
    assert {row.integration for row in clock_rows} == {"webhook"}
    assert len(vendors["statuspage"].received) == before


def test_halfway_and_overdue_remind_legal_once_each(store, vendors, clock):  # noqa: F811
    from automation.compliance_reminders import remind_compliance
    from store.compliance import mark_obligation_met

    routed, notifiers = routed_store(store, parse_configuration(every_channel(vendors)))
    incident = routed.declare("high", "security", "production", actor="alice", title="Customer data exposed")
    mark_exposure(routed, incident.id, ["card_data"], actor="erin")  # PCI-DSS: 24 hours
    assert remind_compliance(routed) == []
    clock.advance(hours=12)
    assert remind_compliance(routed) == [(incident.id, "PCI-DSS", "halfway")]
    assert remind_compliance(routed) == []  # once
    clock.advance(hours=12, minutes=1)
    assert remind_compliance(routed) == [(incident.id, "PCI-DSS", "overdue")]
    assert remind_compliance(routed) == []
    vendors["webhook"].requests.clear()
    Deliverer(routed, notifiers, timeout=5).deliver_due()
    hooks = [json.loads(r["body"]) for r in vendors["webhook"].requests if r["valid"]]
    # Legal and Security share the webhook: each reminder is one message naming both.
    reminders = sorted((tuple(sorted(hook["payload"]["groups"])), hook["payload"]["compliance"]["stage"])
                       for hook in hooks if hook["event"] == "compliance_reminder")
    assert reminders == [(("Legal/Compliance", "Security Team"), "halfway"),
                         (("Legal/Compliance", "Security Team"), "overdue")]
    assert all(hook["payload"]["compliance"]["due_at"] == "2024-01-19T14:30:00Z" for hook in hooks
               if hook["event"] == "compliance_reminder")
    # Met: no more reminders, however late it gets (SOC 2's own 72 hours run on).
    mark_obligation_met(routed, incident.id, "PCI-DSS", actor="erin")
    clock.advance(days=3)
    assert remind_compliance(routed) == [(incident.id, "SOC2", "overdue")]
