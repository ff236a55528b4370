"""Issue 12: a drill reaches no one real, and an incident's environment decides whether it may
page or publish. What may not go out is a skipped outbox row with the reason, never sent,
and the fakes prove nothing left the building. Both backends."""
from __future__ import annotations

import json

from sqlmodel import select

from automation.delivery import Deliverer
from automation.drills import SCENARIOS, run_drill
from automation.notifiers import notifiers_from_config
from automation.routing import route_by_matrix
from playbooks.config import parse_configuration
from store.models import Notification
from store.operations import IncidentStore
from store.queries import incident_detail
from tests.integrations.test_comms_end_to_end import every_channel, vendors  # noqa: F401 (a fixture)

PAGERS_AND_PUBLIC = ("pagerduty", "sms", "statuspage")


def routed_store(store, configuration):
    notifiers = notifiers_from_config(configuration)
    router = route_by_matrix(store.policy, set(notifiers), configuration)
    return IncidentStore(store.db, store.policy, store.clock, router=router), notifiers


def rows(store, incident_id):
    with store.db.read() as session:
        return list(session.exec(select(Notification).where(Notification.incident_id == incident_id)).all())


def nothing_reached(vendors) -> None:
    assert vendors["pagerduty"].received == []
    assert vendors["twilio"].received == [] and vendors["twilio"].messages == []
    assert vendors["statuspage"].received == [] and vendors["statuspage"].incidents == {}


def test_every_drill_with_every_integration_reaches_no_one(store, vendors, capsys):  # noqa: F811
    routed, notifiers = routed_store(store, parse_configuration(every_channel(vendors)))
    opened = []
    for name in SCENARIOS:
        opened += run_drill(routed, name, actor="drill-runner")
    assert opened, "every drill opens its drill incident"
    Deliverer(routed, notifiers, timeout=5).deliver_due()

    nothing_reached(vendors)
    assert vendors["slack"].received == [] and vendors["smtp"].mailbox.envelopes == []
    assert vendors["webhook"].requests == []
    for incident_id in opened:
        written = rows(routed, incident_id)
        assert written, "a drill's messages are written, so the outbox can say why they did not go"
        assert {row.state for row in written} == {"skipped"}
        assert all(row.last_error.startswith("drill: ") for row in written)
        assert {row.integration for row in written} >= set(PAGERS_AND_PUBLIC)

    # The outbox as a person reads it, and the war room's stakeholder rows.
    from tui.cli import main

    assert main(["outbox", "--json", "--state", "skipped", "--db", store.db.url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["incident"] for row in listed} == set(opened)
    assert all(row["state"] == "skipped" and row["reason"].startswith("drill: ") for row in listed)
    with routed.db.read() as session:
        told = incident_detail(session, routed.policy, opened[0], routed.now())["notifications"]
    assert told and all(group["state"] == "skipped" and group["sent"] == 0 for group in told)


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
