"""The outbox delivered to a PagerDuty contract fake: lifecycle on one dedup_key, a vendor
down for a while, then up: every message delivered once, none lost."""
from __future__ import annotations

import pytest
from sqlmodel import select

from automation.delivery import Deliverer
from automation.routing import route_by_matrix
from integrations.pagerduty import PagerDutyNotifier
from store.models import Notification
from store.operations import IncidentStore
from store.outbox import backlog
from tests.support import lifetime
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake


@pytest.fixture
def pagerduty(monkeypatch):
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    with PagerDutyFake() as fake:
        yield fake


@pytest.fixture
def routed(store):
    return IncidentStore(store.db, store.policy, store.clock, router=route_by_matrix(store.policy, {"pagerduty"}))


def states(store):
    with store.db.read() as session:
        return [r.state for r in session.exec(select(Notification).order_by(Notification.id)).all()]


def test_declare_ack_resolve_reach_pagerduty_with_one_dedup_key(routed, pagerduty):
    deliverer = Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=pagerduty.url)})
    incident = routed.declare("critical", "outage", "production", actor="a", title="Checkout down")
    routed.acknowledge(incident.id, actor="b")
    routed.resolve(incident.id, actor="b")
    assert deliverer.deliver_due() == 3
    assert pagerduty.actions(incident.id) == ["trigger", "acknowledge", "resolve"]
    assert pagerduty.alerts[incident.id] == "resolved"
    assert pagerduty.requests[0]["payload"]["severity"] == "critical"
    assert states(routed) == ["sent", "sent", "sent"]


def test_vendor_down_then_up_delivers_everything_once(routed, pagerduty, clock):
    deliverer = Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=pagerduty.url)}, timeout=1)
    pagerduty.down(refuse=True)
    ids = [routed.declare("high", "outage", "production", actor="a", title=f"outage {n}").id for n in range(5)]
    assert deliverer.deliver_due() == 0
    with routed.db.read() as session:
        waiting = {b.integration: b for b in backlog(session)}["pagerduty"]
    assert waiting.pending == 5 and waiting.last_error  # what the screen shows meanwhile
    for _ in range(3):  # still down: retried with backoff, nothing lost
        clock.advance(minutes=11)
        assert deliverer.deliver_due() == 0
    pagerduty.up()
    clock.advance(minutes=11)
    assert deliverer.deliver_due() == 5
    assert sorted(r["dedup_key"] for r in pagerduty.requests) == sorted(ids)
    assert states(routed) == ["sent"] * 5
    clock.advance(minutes=11)
    assert deliverer.deliver_due() == 0  # nothing sent twice


def test_rate_limit_is_honoured(routed, pagerduty, clock):
    deliverer = Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=pagerduty.url)})
    pagerduty.fail_next(1, status=429, retry_after=120)
    routed.declare("high", "outage", "production", actor="a")
    assert deliverer.deliver_due() == 0
    clock.advance(seconds=60)
    assert deliverer.deliver_due() == 0  # Retry-After (120 s) not yet passed
    clock.advance(seconds=61)
    assert deliverer.deliver_due() == 1


def test_a_rejected_message_is_dead_lettered_and_can_be_retried(routed, pagerduty, clock, monkeypatch):
    from store.outbox import retry_dead

    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", "WRONGKEY00000000000000000000000X")
    deliverer = Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=pagerduty.url)})
    routed.declare("high", "outage", "production", actor="a")
    deliverer.deliver_due()
    assert states(routed) == ["dead"]
    with routed.db.read() as session:
        row = session.exec(select(Notification)).one()
    assert "WRONGKEY" not in (row.last_error or "")
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    with routed.db.write() as session:
        assert retry_dead(session, row.id, routed.now()) is not None
    assert deliverer.deliver_due() == 1 and states(routed) == ["sent"]


def test_the_war_room_detail_says_who_was_told(routed, pagerduty):
    from store.queries import incident_detail

    deliverer = Deliverer(routed, {"pagerduty": PagerDutyNotifier(url=pagerduty.url)})
    incident = routed.declare("critical", "outage", "production", actor="a")
    with routed.db.read() as session:
        before = incident_detail(session, routed.policy, incident.id, routed.now())["notifications"]
    assert [(n["group"], n["state"], n["pending"]) for n in before] == [("On-Call Engineers", "pending", 1)]
    deliverer.deliver_due()
    with routed.db.read() as session:
        after = incident_detail(session, routed.policy, incident.id, routed.now())["notifications"]
    assert after[0]["state"] == "sent" and after[0]["last_sent_at"] and after[0]["integrations"] == ["pagerduty"]


DELIVER_FOREVER = """
import sys, threading
from playbooks import load_policy
from store.database import open_database
from store.operations import IncidentStore
from automation.delivery import Deliverer
from integrations.pagerduty import PagerDutyNotifier
store = IncidentStore(open_database(sys.argv[1]), load_policy())
deliverer = Deliverer(store, {"pagerduty": PagerDutyNotifier(url=sys.argv[2])})
print("ready", flush=True)
deliverer.run(threading.Event(), interval=0.05)
"""


def test_sigkill_during_delivery_then_restart_loses_nothing_and_pages_once(tmp_path, pagerduty, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import time

    from playbooks import load_policy
    from store.database import open_database

    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = open_database(url)
    store = IncidentStore(db, load_policy(), router=route_by_matrix(load_policy(), {"pagerduty"}))
    ids = [store.declare("high", "outage", "production", actor="a", title=f"outage {n}").id for n in range(20)]
    pagerduty.delay = 0.1  # each request in flight a while: the kill lands mid-delivery
    env = dict(os.environ, PAGERDUTY_ROUTING_KEY=ROUTING_KEY)
    first = lifetime.popen([sys.executable, "-c", DELIVER_FOREVER, url, pagerduty.url], stdout=subprocess.PIPE,
                           text=True, env=env)
    assert first.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while len(pagerduty.requests) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    pagerduty.delay = 0
    second = lifetime.popen([sys.executable, "-c", DELIVER_FOREVER, url, pagerduty.url], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while states(store).count("sent") < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.kill()
        second.wait(10)
    assert states(store) == ["sent"] * 20  # none lost
    assert sorted(pagerduty.alerts) == sorted(ids)  # one PagerDuty alert per incident, however often re-sent
    db.dispose()


def test_a_backlog_is_paced_below_the_vendors_limit_without_429s(routed, pagerduty, tmp_path):
    """`max_per_second` in the integration's table: the deliverer never sends more than
    that in any second, so a vendor limiting at that rate answers no 429."""
    from automation.notifiers import notifiers_from_config
    from playbooks.config import parse_configuration

    for n in range(60):
        routed.declare("low", "data", "production", actor="a", title=f"backlog {n}")
    pagerduty.rate_per_second = 20
    notifiers = notifiers_from_config(parse_configuration(
        {"integrations": {"pagerduty": {"url": pagerduty.url, "max_per_second": 20}}}, tmp_path / "config.toml"))
    deliverer = Deliverer(routed, notifiers, timeout=5)
    import time

    started = time.monotonic()
    assert deliverer.deliver_due(limit=100) == 60
    assert pagerduty.throttled == 0
    assert time.monotonic() - started >= 2.0  # 60 at 20 per second: at least two full windows
    deliverer.close()


def test_max_per_second_must_be_a_positive_number(tmp_path):
    from playbooks.config import parse_configuration
    from playbooks.errors import PlaybookError

    for bad, accepted in ((0, "a positive number"), (-1, "a positive number"), ("fast", "a number"),
                          (True, "a number"), (float("nan"), "a finite number"), (float("inf"), "a finite number")):
        with pytest.raises(PlaybookError, match=f"c.toml: integrations.pagerduty.max_per_second is .*; "
                                                f"accepted: {accepted}$"):
            parse_configuration({"integrations": {"pagerduty": {"max_per_second": bad}}}, tmp_path / "c.toml")
