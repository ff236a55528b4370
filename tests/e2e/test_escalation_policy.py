"""Issue 16, acceptance 2: an unacknowledged SEV-1 texts the on-call person at once and the
next step after its delay; an acknowledged one stops; every step is on the timeline. The CLI
runs as a user runs it (`watch` on a clock frozen by IR_NOW at each instant), SMS goes to
the Twilio contract fake."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support import lifetime, twilio_fake

IR = str(Path(sys.executable).parent / "incident-response")
T0, T4, T5, T1 = "2024-01-18T15:00:00Z", "2024-01-18T15:04:00Z", "2024-01-18T15:05:00Z", "2024-01-18T15:01:00Z"
ALICE, BOB = "+14155550101", "+14155550102"

CONFIG = """
[integrations.sms]
url = "{url}"
account_sid = "{sid}"
from_number = "{sender}"
on_call_contacts = []

[contacts.alice]
sms = "{alice}"
[contacts.bob]
sms = "{bob}"

# alice's day from 09:00 on the 18th, bob's from the 19th
[schedules.primary]
members = ["alice", "bob"]
rotation = "1d"
start = "2024-01-18T09:00Z"

[escalation.sev1]
severities = ["SEV-1"]
steps = [{{ notify = "schedule:primary", after = "0s" }}, {{ notify = "contact:bob", after = "5m" }}]

[sources.host]
enabled = false
"""


@pytest.fixture
def twilio(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", twilio_fake.AUTH_TOKEN)
    with twilio_fake.TwilioFake() as fake:
        yield fake


@pytest.fixture
def env(tmp_path, twilio) -> dict:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(url=twilio.url, sid=twilio_fake.ACCOUNT_SID, sender=twilio_fake.FROM_NUMBER,
                                    alice=ALICE, bob=BOB))
    return dict(os.environ, IR_CONFIG=str(config), IR_DATABASE_URL=f"sqlite:///{tmp_path / 'ir.db'}")


def ir(*args, env, at: str) -> str:
    result = lifetime.run([IR, *args], capture_output=True, text=True, timeout=90, env=dict(env, IR_NOW=at))
    assert result.returncode == 0, result.stderr
    return result.stdout


def watch(env, at: str) -> None:
    """One run of the loop at `at`: it checks escalation as it starts and delivers what is due."""
    ir("watch", "--seconds", "3", env=env, at=at)


def steps_of(env, incident: str) -> list[dict]:
    shown = json.loads(ir("show", incident, "--json", env=env, at=T5))
    return [event for event in shown["timeline"] if event["kind"] == "escalation_step"]


def texts(twilio, incident: str) -> list[tuple[str, str]]:
    return [(text["to"], text["body"]) for text in twilio.messages if f" {incident} " in text["body"]]


def body_of(incident: str, title: str, summary: str) -> str:
    """The text an escalation step sends: the timeline's summary, word for word."""
    return f"[SEV-1] {incident} {title} \u2014 escalation step (investigating): {summary}"


def test_an_unacknowledged_sev1_pages_on_call_then_the_next_step_and_an_acknowledged_one_stops(env, twilio):
    first = ir("critical", "outage", "production", "--title", "Checkout down", "--no-tui", env=env, at=T0).strip()
    second = ir("critical", "outage", "production", "--title", "Search down", "--no-tui", env=env, at=T0).strip()
    assert twilio.messages == []  # declaring texts no one here: no group has a member with a number

    watch(env, T0)  # step 1 (after 0s): whoever is on call now, alice, at once
    assert texts(twilio, first) == [(ALICE, body_of(first, "Checkout down", steps_of(env, first)[0]["summary"]))]
    assert [(to, body.split(" \u2014 ")[0]) for to, body in texts(twilio, second)] == [
        (ALICE, f"[SEV-1] {second} Search down")]
    [step] = steps_of(env, first)
    assert step["summary"] == "Not acknowledged: escalation sev1 step 1 of 2 pages alice (schedule:primary)"
    assert step["at"] == T0 and step["actor"] == "automation"

    ir("ack", second, env=env, at=T1)  # the second is answered a minute in

    watch(env, T4)  # step 2 is due at 5 minutes: nothing new at 4
    assert len(twilio.messages) == 2
    assert len(steps_of(env, first)) == 1

    watch(env, T5)  # bob, five minutes after step 1; the acknowledged incident stays quiet
    first_steps = steps_of(env, first)
    assert [event["summary"] for event in first_steps] == [
        "Not acknowledged: escalation sev1 step 1 of 2 pages alice (schedule:primary)",
        "Not acknowledged: escalation sev1 step 2 of 2 pages bob (contact:bob)"]
    assert first_steps[1]["at"] == T5
    assert texts(twilio, first) == [(ALICE, body_of(first, "Checkout down", first_steps[0]["summary"])),
                                    (BOB, body_of(first, "Checkout down", first_steps[1]["summary"]))]
    assert len(steps_of(env, second)) == 1 and len(texts(twilio, second)) == 1

    watch(env, T5)  # a second run at the same instant runs no step again
    assert len(twilio.messages) == 3
    assert len(steps_of(env, first)) == 2
