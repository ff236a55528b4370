"""The activity log: one JSON object per line, owner-only, rotated, secrets hidden."""
from __future__ import annotations

import json
import os
import stat
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbooks.config import parse_configuration
from store.activity_log import (
    REDACTED, ActivityLog, Redactor, read_activity, secret_values,
)
from playbooks.validation import unsafe_character
from tests.support.hostile_text import hostile_text


def test_a_record_is_one_json_line_with_time_and_event(tmp_path, clock):
    log = ActivityLog(tmp_path / "state" / "activity.jsonl", secrets=[], clock=clock)
    log.write("delivery", integration="pagerduty", attempts=2, at_vendor=datetime(2024, 1, 18, 14, 31))
    log.write("automation", message="escalated INC-2024-0118-001")
    lines = (tmp_path / "state" / "activity.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"at": "2024-01-18T14:30:00Z", "event": "delivery", "integration": "pagerduty", "attempts": 2,
         "at_vendor": "2024-01-18T14:31:00Z"},
        {"at": "2024-01-18T14:30:00Z", "event": "automation", "message": "escalated INC-2024-0118-001"},
    ]
    assert stat.S_IMODE(os.stat(tmp_path / "state" / "activity.jsonl").st_mode) == 0o600


def test_secret_values_fields_url_credentials_and_bearer_tokens_are_redacted(tmp_path):
    log = ActivityLog(tmp_path / "a.jsonl", secrets=["R0UT1NGKEY-0123456789abcdef"])
    log.write("delivery", detail="PagerDuty answered 400 for R0UT1NGKEY-0123456789abcdef",
              url="https://bob:hunter22@proxy.example/v2", routing_key="anything at all",
              headers={"Authorization": "GenieKey 0123456789abcdef", "Accept": "application/json"},
              note="sent with Bearer xoxb-1234567890-abcdef")
    text = (tmp_path / "a.jsonl").read_text()
    for secret in ("R0UT1NGKEY", "hunter22", "bob:", "anything at all", "0123456789abcdef", "xoxb-"):
        assert secret not in text
    record = read_activity(tmp_path / "a.jsonl")[0]
    assert record["detail"] == f"PagerDuty answered 400 for {REDACTED}"
    assert record["url"] == f"https://{REDACTED}@proxy.example/v2"
    assert record["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert record["note"] == f"sent with Bearer {REDACTED}"


def test_secrets_come_from_the_variables_config_names_and_secret_looking_names():
    environ = {"PD_KEY_VAR": "pd-secret-value", "SLACK_BOT_TOKEN": "xoxb-secret", "HOME": "/home/alice",
               "SHORT_TOKEN": "abc", "EMPTY_PASSWORD": ""}
    config = parse_configuration({"integrations": {
        "pagerduty": {"routing_key_env": "PD_KEY_VAR", "url": "http://x"},
        "email": {"host": "smtp", "sender": "ir@example.com", "recipients": {"Execs": ["a@example.com"]},
                  "username_env": "SMTP_USERNAME", "password_env": "SMTP_PASSWORD"},
        "slack": {"enabled": False, "token_env": "SWITCHED_OFF_TOKEN"}}})
    names = {variable for _key, variable in config.secret_variables()}
    # Every *_env key in effect, defaults included; a switched-off integration's are not.
    assert names == {"PD_KEY_VAR", "SMTP_USERNAME", "SMTP_PASSWORD"}
    # HOME is neither named nor secret-looking; values too short to be secrets are not hunted.
    assert secret_values(environ, names) == ["pd-secret-value", "xoxb-secret"]


def test_a_longer_secret_containing_a_shorter_one_is_hidden_whole():
    redactor = Redactor(secret_values({"A_TOKEN": "abcdef", "B_TOKEN": "abcdef-ghijkl"}))
    assert redactor.text("x abcdef-ghijkl y abcdef") == f"x {REDACTED} y {REDACTED}"


def test_rotation_keeps_a_bounded_number_of_files(tmp_path):
    log = ActivityLog(tmp_path / "a.jsonl", secrets=[], max_bytes=200)
    for n in range(40):
        log.write("automation", message=f"line {n}")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["a.jsonl", "a.jsonl.1", "a.jsonl.2", "a.jsonl.3"]
    assert read_activity(tmp_path / "a.jsonl")[-1]["message"] == "line 39"
    assert all(p.stat().st_size <= 200 for p in tmp_path.iterdir())


def test_a_log_that_cannot_be_written_never_stops_the_caller(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the folder should be")
    log = ActivityLog(blocker / "activity.jsonl", secrets=[])
    log.write("delivery", integration="slack")  # no exception
    assert log.failures == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=hostile_text(max_size=300), key=st.sampled_from(["detail", "path", "title", "actor"]))
def test_hostile_text_is_one_line_of_data_in_the_log(tmp_path, words, key):
    """Issue 13: what a vendor, an alert sender or a restored row says is written as data —
    one JSON line per record, no raw control, bidi or separator character in the file, and
    the record reads back as what was said (bounded: a long value may be cut)."""
    log = ActivityLog(tmp_path / "h.jsonl", secrets=[])
    log.path.unlink(missing_ok=True)
    log.write("inbound", **{key: words})
    raw = log.path.read_text(encoding="utf-8")
    assert raw.endswith("\n") and raw.count("\n") == 1
    assert unsafe_character(raw.rstrip("\n").replace("\t", " ")) is None and "\t" not in raw
    (record,) = read_activity(log.path)
    said = record[key]
    assert said == words or said.startswith(words[:100]) or "\u2026[+" in said
