"""Issue 12, acceptance 1 (people): what a person types at the shell reaches the stakeholder
groups' *members* — their numbers on SMS and voice, their addresses on e-mail — and no one
else; the spec's `critical_only` limits only the on-call list; groups sharing a channel get
one message; a group with no reachable member is skipped with the reason, never sent.
Every vendor is a contract fake; the CLI runs as a user runs it (its own post-commit delivery)."""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from email import message_from_bytes, policy as email_policy
from pathlib import Path

from tests.integrations.test_comms_end_to_end import ONCALL, every_channel, vendors  # noqa: F401 (a fixture)
from tests.integrations.test_update_words_end_to_end import toml_of
from tests.support import lifetime, twilio_fake

IR = str(Path(sys.executable).parent / "incident-response")
NOW = "2024-01-18T15:00:00Z"
CTO = {"sms": "+14155550111", "phone": "+14155550112", "email": "cto@example.com"}
VP = {"sms": "+14155550121", "email": "vp@example.com"}          # no phone: not called
LEAD = {"email": "lead@example.com", "slack": "U012AB3CD"}
SUPPORT = {"email": "support@example.com"}


def configuration(vendors) -> dict:
    config = every_channel(vendors)
    config["integrations"]["voice"] = {"url": vendors["twilio"].url, "account_sid": twilio_fake.ACCOUNT_SID,
                                       "from_number": twilio_fake.FROM_NUMBER}
    email = config["integrations"]["email"]
    email.pop("recipients")  # everyone comes from the members below
    config["contacts"] = {"cto": CTO, "vp": VP, "lead": LEAD, "support": SUPPORT}
    config["groups"] = {"Executive Team": {"members": ["cto", "vp"]},
                        "Engineering Leads": {"members": ["lead", "cto"]},
                        "Customer Support": {"members": ["support"]}}
    return config


def ir(*args, env) -> lifetime.subprocess.CompletedProcess:
    result = lifetime.run([IR, *args], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result


def environment(tmp_path, vendors) -> dict:
    path = tmp_path / "config.toml"
    path.write_text(toml_of(configuration(vendors)))
    return dict(os.environ, IR_CONFIG=str(path), IR_NOW=NOW, IR_DATABASE_URL=f"sqlite:///{tmp_path / 'ir.db'}")


def outbox(env, incident) -> list[dict]:
    return [row for row in json.loads(ir("outbox", "--json", env=env).stdout) if row["incident"] == incident]


def test_a_sev1_from_the_shell_texts_calls_and_mails_the_members(vendors, tmp_path):  # noqa: F811
    env = environment(tmp_path, vendors)
    declared = ir("critical", "outage", "production", "--title", "Checkout down", "--service", "checkout",
                  "--no-tui", env=env)
    incident = declared.stdout.strip()
    twilio = vendors["twilio"]

    # SMS: the Executive Team's members and the on-call list (SEV-1), one text per number.
    assert Counter(twilio.texted()) == Counter([CTO["sms"], VP["sms"], *ONCALL])
    assert all(text["body"].startswith(f"[SEV-1] {incident} Checkout down") for text in twilio.messages)
    # Voice: the member with a phone, once, told what happened.
    assert twilio.called() == [CTO["phone"]]
    said = " ".join(twilio.calls[0]["said"])
    assert "Checkout down" in said and "declared" in said
    # E-mail: Engineering Leads and Customer Support share the channel: one message to the
    # union of their members, the CTO (in both Executive and Leads) once. Executive e-mail is
    # not a channel of the Executive Team's row, so the VP gets no mail.
    envelopes = vendors["smtp"].mailbox.envelopes
    assert len(envelopes) == 1
    assert sorted(envelopes[0].rcpt_tos) == sorted([LEAD["email"], CTO["email"], SUPPORT["email"]])
    mail = message_from_bytes(envelopes[0].original_content, policy=email_policy.default)
    assert "Engineering Leads, Customer Support" in mail.get_body(("plain",)).get_content()
    # The shell said where it went.
    assert "told:" in declared.stderr and "sms" in declared.stderr

    rows = outbox(env, incident)
    by_channel = {(row["integration"], row["state"]) for row in rows}
    assert ("sms", "sent") in by_channel and ("voice", "sent") in by_channel and ("email", "sent") in by_channel
    assert not [row for row in rows if row["state"] == "skipped"]


def test_a_sev2_texts_the_executives_but_not_the_on_call_list(vendors, tmp_path):  # noqa: F811
    env = environment(tmp_path, vendors)
    incident = ir("high", "outage", "production", "--title", "Search slow", "--no-tui", env=env).stdout.strip()
    twilio = vendors["twilio"]
    # The matrix's Phone/SMS row covers SEV-2: the members are texted; critical_only holds
    # back only the on-call list; a phone call is for SEV-1 alone.
    assert sorted(twilio.texted()) == sorted([CTO["sms"], VP["sms"]])
    assert twilio.called() == []
    skipped = {(row["integration"], row["group"]): row["reason"] for row in outbox(env, incident)
               if row["state"] == "skipped"}
    assert skipped[("sms", "On-Call Engineers")].startswith("critical-only:")
    assert skipped[("voice", "Executive Team")].startswith("critical-only:")


def test_a_group_with_no_reachable_member_is_skipped_and_warned_of(vendors, tmp_path):  # noqa: F811
    config = configuration(vendors)
    config["groups"]["Executive Team"] = {"members": ["support"]}  # e-mail only: no number, no phone
    path = tmp_path / "config.toml"
    path.write_text(toml_of(config))
    env = dict(os.environ, IR_CONFIG=str(path), IR_NOW=NOW, IR_DATABASE_URL=f"sqlite:///{tmp_path / 'ir.db'}")

    check = lifetime.run([IR, "config", "check"], capture_output=True, text=True, timeout=60, env=env)
    assert "Executive Team" in check.stdout and "sms to no one (no member)" in check.stdout

    incident = ir("critical", "outage", "production", "--title", "Checkout down", "--no-tui", env=env).stdout.strip()
    assert sorted(vendors["twilio"].texted()) == sorted(ONCALL)  # the on-call list only
    assert vendors["twilio"].called() == []
    rows = outbox(env, incident)
    executive = {row["integration"]: row for row in rows if row["group"] == "Executive Team"}
    assert executive["sms"]["state"] == executive["voice"]["state"] == "skipped"
    assert executive["sms"]["reason"].startswith("no member: no member of Executive Team has an sms number")

    watch = lifetime.run([IR, "watch", "--seconds", "0.5"], capture_output=True, text=True, timeout=60, env=env)
    assert "warning: Executive Team: no member: no member of Executive Team has an sms number" in watch.stderr
