"""The contract fakes checked against a real client they did not come from: Alertmanager's
own PagerDuty, Opsgenie and Slack receivers (Debian's prometheus-alertmanager) are pointed
at the fakes once. If a fake rejects what a genuine, widely deployed client sends, the fake
is wrong about the vendor, not the client.

One alert fires through a real Alertmanager, then resolves: each fake must have recorded
Alertmanager's requests, answered them 2xx and changed its vendor state (PagerDuty alert
open then resolved under Alertmanager's dedup_key, Opsgenie alert open then closed under
its alias, a Slack message in the webhook's channel)."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from tests.support.opsgenie_fake import API_KEY, OpsgenieFake
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake
from tests.support.slack_fake import SlackFake

LABELS = {"alertname": "CheckoutErrors", "severity": "critical", "service": "checkout", "environment": "production"}
ANNOTATIONS = {"summary": "Checkout error rate above 50%", "description": "5xx ratio 0.62 over 5 minutes"}


def wait_for(predicate: Callable[[], Any], timeout: float = 12.0, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@pytest.fixture
def fakes():
    with PagerDutyFake() as pagerduty, OpsgenieFake() as opsgenie, SlackFake() as slack:
        yield pagerduty, opsgenie, slack


@pytest.fixture
def alertmanager(fakes):
    from tests.conftest import _unavailable_server
    from tests.support.prometheus import Alertmanager, Unavailable

    pagerduty, opsgenie, slack = fakes
    # Alertmanager 0.25's field names; the optional ones are set so that the fakes' checks
    # of optional fields (severity, class, links, responders, tags, priority...) are exercised.
    receivers = (
        "  - name: vendors\n"
        "    pagerduty_configs:\n"
        f"      - routing_key: '{ROUTING_KEY}'\n"
        f"        url: '{pagerduty.enqueue_url}'\n"
        "        send_resolved: true\n"
        "        severity: critical\n"
        "        class: outage\n"
        "        component: checkout\n"
        "        group: production\n"
        "        links:\n"
        "          - href: 'https://runbooks.example.com/checkout'\n"
        "            text: Runbook\n"
        "    opsgenie_configs:\n"
        f"      - api_key: '{API_KEY}'\n"
        f"        api_url: '{opsgenie.url}/'\n"
        "        send_resolved: true\n"
        "        priority: P1\n"
        "        tags: 'checkout,production'\n"
        "        entity: checkout\n"
        "        note: 'Paged by Alertmanager'\n"
        "        actions: 'Restart,Rollback'\n"
        "        responders:\n"
        "          - type: team\n"
        "            name: sre\n"
        "    slack_configs:\n"
        f"      - api_url: '{slack.webhook_url}'\n"
        "        channel: '#incidents'\n"
        "        send_resolved: true\n"
        "        fields:\n"
        "          - title: Service\n"
        "            value: checkout\n"
        "            short: true\n"
        "        actions:\n"
        "          - type: button\n"
        "            text: Runbook\n"
        "            url: 'https://runbooks.example.com/checkout'\n")
    try:
        manager = Alertmanager(receivers=receivers, cluster=False)
    except Unavailable as exc:
        _unavailable_server("Alertmanager", str(exc))
    yield manager
    manager.close()


def _rejections(pagerduty: PagerDutyFake, opsgenie: OpsgenieFake, slack: SlackFake) -> list[str]:
    """Every request a fake answered with a non-2xx status, with what it said."""
    found = []
    for name, fake in (("pagerduty", pagerduty), ("opsgenie", opsgenie), ("slack", slack)):
        for request in list(fake.received):
            if not 200 <= request.status < 300:
                found.append(f"{name} {request.method} {request.path} -> {request.status}: {request.body[:300]!r}")
    return found


def test_fakes_accept_alertmanagers_own_receivers(fakes, alertmanager):
    pagerduty, opsgenie, slack = fakes

    alertmanager.post_alert(LABELS, ANNOTATIONS)

    def fired() -> bool:
        return bool(pagerduty.alerts) and bool(opsgenie.alerts) and bool(slack.webhook_posts)

    wait_for(lambda: fired() or _rejections(pagerduty, opsgenie, slack))
    assert not _rejections(pagerduty, opsgenie, slack), "a fake rejected Alertmanager's genuine request"
    assert fired(), f"not every fake heard from Alertmanager: {(alertmanager.dir / 'log').read_text()[-1500:]}"

    # PagerDuty: one alert open under Alertmanager's dedup_key (its hash of the group key).
    assert len(pagerduty.alerts) == 1
    dedup_key, state = next(iter(pagerduty.alerts.items()))
    assert state == "triggered"
    trigger = pagerduty.requests[0]
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == dedup_key
    assert "CheckoutErrors" in trigger["payload"]["summary"]
    assert (trigger["payload"]["severity"], trigger["payload"]["class"]) == ("critical", "outage")
    assert trigger["links"][0]["href"] == "https://runbooks.example.com/checkout"

    # Opsgenie: one open alert under Alertmanager's alias, created with GenieKey auth.
    assert len(opsgenie.alerts) == 1
    alias, alert = next(iter(opsgenie.alerts.items()))
    assert alert["status"] == "open" and "CheckoutErrors" in alert["message"]
    assert alert["priority"] == "P1" and "checkout" in alert["tags"]
    assert alert["responders"] == [{"type": "team", "name": "sre"}]
    create = next(r for r in opsgenie.received if r.method == "POST" and r.path == "/v2/alerts")
    assert create.headers["authorization"] == f"GenieKey {API_KEY}"

    # Slack: the webhook's message is in #incidents (Alertmanager sends attachments, no text).
    assert slack.webhook_posts[0].get("attachments")
    assert slack.messages("#incidents")

    alertmanager.post_alert(LABELS, ANNOTATIONS, resolved=True)

    def resolved() -> bool:
        return pagerduty.alerts.get(dedup_key) == "resolved" and opsgenie.alerts[alias]["status"] == "closed"

    wait_for(lambda: resolved() or _rejections(pagerduty, opsgenie, slack))
    assert not _rejections(pagerduty, opsgenie, slack), "a fake rejected Alertmanager's genuine request"
    assert resolved(), (f"PagerDuty {pagerduty.alerts}, Opsgenie {opsgenie.alerts[alias]['status']}: "
                        f"{(alertmanager.dir / 'log').read_text()[-1500:]}")
    assert pagerduty.actions(dedup_key)[-1] == "resolve"
    close = [r for r in opsgenie.received if r.path == f"/v2/alerts/{alias}/close"]
    assert close and close[-1].query.get("identifierType") == ["alias"]
    # Slack's resolved message arrived too (send_resolved), also accepted.
    assert wait_for(lambda: len(slack.webhook_posts) >= 2, timeout=5)
