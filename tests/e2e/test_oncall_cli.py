"""`incident-response oncall` as a team runs it, from the installed program against a
config.toml in the isolated XDG config folder: who is on call at chosen instants (across the
Berlin spring change, in business hours and outside them), overrides set and cancelled on
the audit chain, and refusals in one sentence that write nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

IR = str(Path(sys.executable).parent / "incident-response")

CONFIG = """
[contacts.ann]
[contacts.bob]
[contacts.dee]
[contacts.eve]
[contacts.carl]

[schedules.primary]
members = ["ann", "bob"]
rotation = "1d"
start = "2026-03-23T09:00"
timezone = "Europe/Berlin"

[[schedules.primary.layers]]
members = ["dee", "eve"]
rotation = "1w"
start = "2026-03-23T00:00"
restrict = { days = ["mon", "tue", "wed", "thu", "fri"], start = "09:00", end = "17:00" }

[schedules.nights]
members = ["carl"]
rotation = "1w"
start = "2026-01-05T18:00:00-05:00"
timezone = "America/New_York"
"""


def ir(*args, env=None, check=True):
    result = subprocess.run([IR, *args], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, **(env or {})))
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def configured(tmp_path) -> Path:
    path = tmp_path / "xdg_config_home" / "incident-response" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG)
    return path


def oncall_json(*args, env=None) -> dict:
    return json.loads(ir("oncall", "--json", *args, env=env).stdout)


def test_oncall_json_at_chosen_instants(configured):
    # Saturday 28 March, noon in Berlin (11:00 UTC): the weekend, so the daily base layer.
    # Its turns from Monday 23 March: ann, bob, ann, bob, ann, bob (Saturday's, from 09:00).
    saturday = oncall_json("--at", "2026-03-28T11:00:00Z")
    assert set(saturday) == {"primary", "nights"}
    assert saturday["primary"]["on_call"] == "bob"
    # The handoff on Sunday is at 09:00 CEST, the first morning after the clocks went forward.
    assert saturday["primary"]["until"] == "2026-03-29T07:00:00Z"
    assert [(n["on_call"], n["from"]) for n in saturday["primary"]["next"]] == [
        ("ann", "2026-03-29T07:00:00Z"),   # Sunday 09:00 CEST
        ("eve", "2026-03-30T07:00:00Z"),   # Monday 09:00: business hours, the layer's second week
        ("bob", "2026-03-30T15:00:00Z")]   # Monday 17:00: the base layer's Monday turn
    assert saturday["nights"] == {"on_call": "carl", "until": None, "overridden": False,
                                  "timezone": "America/New_York", "next": []}

    # Friday 27 March, 10:00 in Berlin (09:00 UTC): business hours, the layer's first week.
    friday = oncall_json("--at", "2026-03-27T10:00:00+01:00")
    assert (friday["primary"]["on_call"], friday["primary"]["until"]) == ("dee", "2026-03-27T16:00:00Z")
    assert friday["primary"]["next"][0]["on_call"] == "ann"  # Friday's base turn after 17:00


def test_an_override_is_on_call_until_it_ends_then_cancelled(configured):
    frozen = {"IR_NOW": "2026-03-28T11:00:00Z"}
    made = ir("oncall", "override", "primary", "carl", "--for", "2h", "--as", "lead", env=frozen)
    assert made.stdout == ("Override 1: carl on call for primary from 2026-03-28T11:00:00Z "
                           "until 2026-03-28T13:00:00Z\n")
    now = oncall_json(env=frozen)["primary"]
    assert (now["on_call"], now["overridden"], now["until"]) == ("carl", True, "2026-03-28T13:00:00Z")
    assert (now["next"][0]["on_call"], now["next"][0]["overridden"]) == ("bob", False)
    listed = json.loads(ir("oncall", "overrides", "--json", env=frozen).stdout)
    assert [(o["id"], o["schedule"], o["on_call"], o["created_by"]) for o in listed] == [(1, "primary", "carl", "lead")]
    # An override with an explicit span, ahead of time.
    ir("oncall", "override", "primary", "dee", "--from", "2026-03-29T07:00Z", "--until", "2026-03-29T19:00Z",
       env=frozen)
    ahead = oncall_json("--at", "2026-03-29T08:00:00Z", env=frozen)["primary"]
    assert (ahead["on_call"], ahead["until"]) == ("dee", "2026-03-29T19:00:00Z")

    assert ir("oncall", "override", "--cancel", "1", env=frozen).stdout == \
        "Cancelled override 1: carl on call for primary\n"
    assert oncall_json(env=frozen)["primary"]["on_call"] == "bob"
    audit = ir("audit", "verify")
    # two overrides and one cancellation, each on the chain
    assert audit.stdout.startswith("audit ok: 3 timeline events, hash chain intact")


@pytest.mark.parametrize("args, words", [
    (("oncall", "override", "secondary", "carl", "--for", "2h"), "there is no schedule 'secondary'; accepted:"),
    (("oncall", "override", "primary", "zoe", "--for", "2h"), "'zoe' has no [contacts.zoe] table; accepted:"),
    (("oncall", "override", "primary", "carl"), "an override needs its end, one way; accepted:"),
    (("oncall", "override", "primary", "carl", "--for", "soon"), "--for: 'soon' is not a duration; accepted:"),
    (("oncall", "override", "primary", "carl", "--from", "2026-03-29T09:00Z", "--until", "2026-03-29T08:00Z"),
     "the override ends (2026-03-29T08:00:00Z) before it starts (2026-03-29T09:00:00Z); accepted:"),
    (("oncall", "--at", "tomorrow"), "--at 'tomorrow' is not an instant; accepted: ISO 8601"),
    (("oncall", "override", "--cancel", "7"), "there is no on-call override 7; accepted:"),
])
def test_a_bad_oncall_command_is_refused_in_one_sentence_and_writes_nothing(configured, args, words):
    refused = ir(*args, check=False)
    assert refused.returncode == 2 and refused.stdout == ""
    assert words in refused.stderr and refused.stderr.count("\n") == 1
    assert json.loads(ir("oncall", "overrides", "--json").stdout) == []


def test_no_schedules_says_so_and_how_to_add_one(tmp_path):
    said = ir("oncall")
    assert said.stdout.count("\n") == 1
    assert "No on-call schedules are configured; add a [schedules.NAME] table" in said.stdout
    assert json.loads(ir("oncall", "--json").stdout) == {}


def test_a_schedule_naming_an_unknown_contact_is_refused_at_the_door(configured):
    configured.write_text(CONFIG.replace('members = ["carl"]', 'members = ["karl"]'))
    refused = ir("oncall", check=False)
    assert refused.returncode == 2
    assert "schedule 'nights' names 'karl', who has no [contacts.karl] table" in refused.stderr


def test_read_only_answers_who_is_on_call_and_refuses_an_override(configured):
    frozen = {"IR_NOW": "2026-03-28T11:00:00Z"}
    assert ir("--read-only", "oncall", "--json", env=frozen).returncode == 0
    assert json.loads(ir("--read-only", "oncall", "overrides", "--json", env=frozen).stdout) == []
    refused = ir("--read-only", "oncall", "override", "primary", "carl", "--for", "2h", env=frozen, check=False)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "read-only: `oncall` writes" in refused.stderr
    assert json.loads(ir("oncall", "overrides", "--json", env=frozen).stdout) == []  # nothing was written
