"""Issue 12: a change made from the shell tells people at once, with nothing else running —
the command makes one bounded delivery attempt after its commit and says what went where;
what cannot go now is queued for `watch`, and never sent twice."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from sqlmodel import select

from store.database import open_database
from store.models import Notification
from tests.support import lifetime
from tests.support.pagerduty_fake import ROUTING_KEY, PagerDutyFake

IR = str(Path(sys.executable).parent / "incident-response")


def ir(*args, env):
    return lifetime.run([IR, *args], capture_output=True, text=True, timeout=60, env=env)


def setup(tmp_path, pagerduty):
    config = tmp_path / "config.toml"
    config.write_text(f'[integrations.pagerduty]\nurl = "{pagerduty.url}"\n[sources.host]\nenabled = false\n')
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    return url, dict(os.environ, IR_CONFIG=str(config), IR_DATABASE_URL=url, PAGERDUTY_ROUTING_KEY=ROUTING_KEY)


def states(url):
    db = open_database(url)
    try:
        with db.read() as session:
            return [(n.integration, n.event, n.state) for n in session.exec(select(Notification)).all()]
    finally:
        db.dispose()


def test_a_declare_from_the_shell_pages_pagerduty_before_it_returns(tmp_path):
    with PagerDutyFake() as pagerduty:
        url, env = setup(tmp_path, pagerduty)
        declared = ir("critical", "outage", "production", "--title", "Checkout down", "--no-tui", env=env)
        assert declared.returncode == 0, declared.stderr
        incident = declared.stdout.strip()
        # Nothing else runs: the page is at PagerDuty when the command has returned.
        assert pagerduty.alerts == {incident: "triggered"}
        assert pagerduty.alert_payloads[incident]["summary"] == f"[SEV-1] {incident}: Checkout down (investigating)"
        assert declared.stderr == "told: pagerduty (On-Call Engineers): sent\n"
        acked = ir("ack", incident, env=env)
        assert acked.returncode == 0 and acked.stderr == "told: pagerduty (On-Call Engineers): sent\n"
        assert pagerduty.alerts == {incident: "acknowledged"}
    assert states(url) == [("pagerduty", "declared", "sent"), ("pagerduty", "acknowledged", "sent")]


def test_a_vendor_that_is_down_leaves_the_message_queued_for_watch(tmp_path):
    with PagerDutyFake() as pagerduty:
        url, env = setup(tmp_path, pagerduty)
        pagerduty.down(refuse=True)
        declared = ir("critical", "outage", "production", "--no-tui", env=env)
        assert declared.returncode == 0, declared.stderr
        incident = declared.stdout.strip()
        assert declared.stderr.startswith("told: pagerduty (On-Call Engineers): queued for watch — ")
        assert states(url) == [("pagerduty", "declared", "pending")]
        pagerduty.up()
        # `watch` takes it from there (its next try, after the backoff): sent once.
        watch = lifetime.popen([IR, "watch", "--seconds", "20"], env=env, stdout=lifetime.subprocess.DEVNULL,
                               stderr=lifetime.subprocess.DEVNULL)
        try:
            import time

            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and incident not in pagerduty.alerts:
                time.sleep(0.1)
        finally:
            watch.terminate()
            watch.wait(20)
        assert pagerduty.alerts == {incident: "triggered"}
    assert states(url) == [("pagerduty", "declared", "sent")]


def test_json_output_stays_clean(tmp_path):
    with PagerDutyFake() as pagerduty:
        url, env = setup(tmp_path, pagerduty)
        incident = ir("high", "outage", "production", "--no-tui", env=env).stdout.strip()
        shown = ir("severity", incident, "critical", env=env)
        assert shown.returncode == 0 and shown.stdout.startswith(f"{incident} is now SEV-1")
        assert "told: pagerduty (On-Call Engineers): sent" in shown.stderr
        import json

        listed = ir("list", "--json", env=env)
        assert json.loads(listed.stdout)[0]["id"] == incident and listed.stderr == ""
