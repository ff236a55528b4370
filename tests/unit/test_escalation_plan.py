"""Escalation policies planned (playbooks/escalation.py): when each step is due, repeats, what
has run, acknowledgement, and who each step reaches (the schedule's person at that instant)."""
from __future__ import annotations

import tomllib
from datetime import datetime, timedelta

import pytest

from playbooks.config.reading import parse_configuration
from playbooks.errors import PlaybookError
from playbooks.escalation import applies, due_steps, plan, reached, step_summary
from playbooks.schedules import Override, Resolver

T0 = datetime(2024, 1, 18, 15, 0)
CONFIG = """
[contacts.alice]
sms = "+14155550101"
[contacts.bob]
sms = "+14155550102"
[contacts.carol]
email = "carol@example.com"
[groups."Leads"]
members = ["carol", "bob"]
[schedules.primary]
members = ["alice", "bob"]
rotation = "1d"
start = "2024-01-18T09:00Z"
[escalation.sev1]
severities = ["critical"]
steps = [{ notify = "schedule:primary", after = "0s" }, { notify = "contact:bob", after = "5m" }]
[escalation.leads]
repeat = 2
types = ["outage"]
steps = [{ notify = "group:Leads", after = "10m" }, { notify = "schedule:primary", after = "2m" }]
"""


def configuration(text: str = CONFIG):
    return parse_configuration(tomllib.loads(text))


def numbers(steps):
    return [step.planned.number for step in steps]


def test_step_k_is_due_at_the_declaration_plus_the_delays_up_to_it():
    policy = configuration().escalation["sev1"]
    assert [(step.number, step.step, step.due_at - T0) for step in plan("sev1", policy, T0)] == [
        (1, 1, timedelta(0)), (2, 2, timedelta(minutes=5))]


def test_repeats_restart_after_the_last_step_by_the_longest_delay():
    policy = configuration().escalation["leads"]
    planned = plan("leads", policy, T0)
    assert [(step.round, step.step, step.due_at - T0) for step in planned] == [
        (0, 1, timedelta(minutes=10)), (0, 2, timedelta(minutes=12)),
        (1, 1, timedelta(minutes=32)), (1, 2, timedelta(minutes=34)),
        (2, 1, timedelta(minutes=54)), (2, 2, timedelta(minutes=56))]
    assert [step.number for step in planned] == [1, 2, 3, 4, 5, 6]


def test_only_steps_due_and_not_yet_run_are_due():
    policy = configuration().escalation["sev1"]
    assert numbers(due_steps("sev1", policy, declared_at=T0, now=T0)) == [1]
    assert numbers(due_steps("sev1", policy, declared_at=T0, now=T0 + timedelta(minutes=4), done={1})) == []
    assert numbers(due_steps("sev1", policy, declared_at=T0, now=T0 + timedelta(minutes=5), done={1})) == [2]
    # A loop that was down catches up: both steps, each once.
    assert numbers(due_steps("sev1", policy, declared_at=T0, now=T0 + timedelta(hours=1))) == [1, 2]
    assert numbers(due_steps("sev1", policy, declared_at=T0, now=T0 + timedelta(hours=1), done={1, 2})) == []


def test_an_acknowledged_or_closed_incident_has_nothing_due():
    policy = configuration().escalation["sev1"]
    later = T0 + timedelta(minutes=10)
    # Step 2 was due before the acknowledgement but had not run: it is not sent after it.
    assert due_steps("sev1", policy, declared_at=T0, now=later, done={1},
                     acknowledged_at=T0 + timedelta(minutes=6)) == []
    assert due_steps("sev1", policy, declared_at=T0, now=later, is_open=False) == []


def test_a_schedule_step_reaches_whoever_is_on_call_when_it_is_due():
    config = configuration()
    primary = Resolver("primary", config.schedules["primary"])
    reach = reached({"primary": primary}, lambda group: list(config.groups[group].members))
    assert reach("schedule:primary", T0) == ("alice",)                       # alice's day from 09:00
    assert reach("schedule:primary", T0 + timedelta(hours=18)) == ("bob",)   # the 09:00 handoff
    assert reach("contact:carol", T0) == ("carol",)
    assert reach("group:Leads", T0) == ("carol", "bob")
    # An override wins at the instants it covers.
    covered = Resolver("primary", config.schedules["primary"],
                       [Override("primary", "carol", T0 - timedelta(hours=1), T0 + timedelta(hours=1))])
    reach = reached({"primary": covered}, lambda group: [])
    assert reach("schedule:primary", T0) == ("carol",)
    assert reach("schedule:primary", T0 + timedelta(hours=2)) == ("alice",)
    steps = due_steps("sev1", config.escalation["sev1"], declared_at=T0, now=T0, reach=reach)
    assert steps[0].persons == ("carol",)
    assert step_summary(steps[0], config.escalation["sev1"]) == (
        "Not acknowledged: escalation sev1 step 1 of 2 pages carol (schedule:primary)")


def test_which_incidents_a_policy_applies_to():
    config = configuration()
    sev1, leads = config.escalation["sev1"], config.escalation["leads"]
    assert applies("sev1", sev1, "SEV-1", "security") and not applies("sev1", sev1, "SEV-2", "outage")
    # No severities listed: the severity's escalation targets name the policy.
    assert applies("leads", leads, "SEV-2", "outage", ["team lead", "Leads"])
    assert not applies("leads", leads, "SEV-2", "outage", ["team lead"])
    assert not applies("leads", leads, "SEV-2", "security", ["leads"])  # types limit it


@pytest.mark.parametrize("policy, refusal", [
    ('steps = [{ notify = "schedule:nobody" }]',
     "escalation 'x' notifies schedule:nobody, which has no [schedules.NAME] table; accepted: schedule: and the "
     "name of a [schedules.NAME] table (primary)"),
    ('steps = [{ notify = "contact:dave" }]', "which has no [contacts.NAME] table"),
    ('steps = [{ notify = "group:Execs" }]', 'which has no [groups."NAME"] table'),
    ('steps = [{ notify = "pager:alice" }]',
     "'pager:alice' is not a step target; accepted: \"schedule:NAME\", \"contact:NAME\" or \"group:NAME\""),
    ('steps = [{ notify = "contact:bob", after = "soon" }]', "'soon' is not a duration"),
    ('steps = [{ notify = "contact:bob", wait = "1m" }]', "'wait' is not a known key; accepted: notify, after"),
    ('repeat = 1\nsteps = [{ notify = "contact:bob" }]', "would page everyone again at once"),
    ('severities = ["SEV-9"]\nsteps = [{ notify = "contact:bob" }]', "'SEV-9' is not a severity"),
])
def test_an_unknown_target_or_bad_step_is_refused_in_one_sentence(policy, refusal):
    with pytest.raises(PlaybookError) as refused:
        configuration(CONFIG + "[escalation.x]\n" + policy + "\n")
    message = str(refused.value)
    assert refusal in message and "\n" not in message
