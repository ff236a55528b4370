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
    assert sorted(hook["stakeholder_group"] for hook in clocks) == ["Legal/Compliance", "Security Team"]
    for hook in clocks:
        assert hook["payload"]["id"] == incident.id
        assert hook["payload"]["compliance"]["due_at"] == "2024-01-21T14:30:00Z"  # 72 h from awareness
        assert hook["payload"]["summary"].startswith("GDPR clock started")
    # Every row of it went out; none to the public status page.
    clock_rows = [row for row in rows(routed, incident.id) if row.event == "compliance_clock_started"]
    assert clock_rows and {row.state for row in clock_rows} == {"sent"}
    assert {row.integration for row in clock_rows} == {"webhook"}
    assert len(vendors["statuspage"].received) == before
