"""Heartbeats as a pure question (playbooks/heartbeats.py: instants handed in) and their
[heartbeats.NAME] tables refused in one sentence naming the key."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from playbooks.config import parse_configuration
from playbooks.errors import PlaybookError
from playbooks.heartbeats import dedup_key, heartbeat_state

WATCHED = datetime(2026, 3, 2, 9, 0)
HOUR, GRACE = timedelta(hours=1), timedelta(minutes=5)


def state(now: datetime, last_beat: datetime | None = None, grace: timedelta = GRACE):
    return heartbeat_state("backup", interval=HOUR, grace=grace, last_beat=last_beat,
                           watching_since=WATCHED, now=now)


def test_never_seen_is_judged_from_when_watching_began():
    assert not state(WATCHED).missed
    assert not state(WATCHED + HOUR + GRACE).missed  # exactly due: still in time
    late = state(WATCHED + HOUR + GRACE + timedelta(seconds=1))
    assert late.missed and not late.seen and late.since == WATCHED
    assert late.due_by == WATCHED + HOUR + GRACE
    assert late.title() == "No heartbeat from backup since watching began at 2026-03-02T09:00:00Z"


def test_a_beat_moves_the_deadline():
    beat = WATCHED + timedelta(minutes=50)
    assert not state(WATCHED + timedelta(minutes=100), beat).missed  # past the first deadline, not this one
    missed = state(beat + HOUR + GRACE + timedelta(microseconds=1), beat)
    assert missed.missed and missed.seen and missed.since == beat
    assert missed.silent_for == HOUR + GRACE + timedelta(microseconds=1)
    assert missed.title() == "No heartbeat from backup since 2026-03-02T09:50:00Z"


def test_zero_grace_and_aware_instants():
    berlin = timezone(timedelta(hours=1))
    beat = datetime(2026, 3, 2, 10, 0, tzinfo=berlin)  # 09:00 UTC
    assert state(datetime(2026, 3, 2, 10, 0, 1), beat, grace=timedelta(0)).missed
    assert not state(datetime(2026, 3, 2, 10, 0), beat, grace=timedelta(0)).missed
    with pytest.raises(ValueError):
        heartbeat_state("x", interval=timedelta(0), grace=GRACE, last_beat=None, watching_since=WATCHED, now=WATCHED)


def test_names_keep_one_incident_per_heartbeat():
    assert dedup_key("backup") == "heartbeat:backup"


def test_defaults():
    beat = parse_configuration({"heartbeats": {"backup": {"interval": "1h"}}}).heartbeats["backup"]
    assert (beat.interval_delta(), beat.grace_delta(), beat.severity, beat.type, beat.environment, beat.labels) == \
        (HOUR, GRACE, "SEV-2", "outage", "production", {})
    assert parse_configuration({"heartbeats": {"b": {"interval": "1h", "severity": "p1"}}}) \
        .heartbeats["b"].severity == "SEV-1"


@pytest.mark.parametrize("table, refusal", [
    ({"x": {"interval": "30s"}}, "heartbeats.x.interval: '30s' is shorter than a minute; accepted: "),
    ({"x": {"interval": "hourly"}}, "heartbeats.x.interval: 'hourly' is not a duration; accepted: "),
    ({"x": {"interval": "1h", "grace": "soon"}}, "heartbeats.x.grace: 'soon' is not a duration; accepted: "),
    ({"x": {"interval": "1h", "severity": "huge"}}, "heartbeats.x.severity: 'huge' is not a severity; accepted: "),
    ({"x": {"interval": "1h", "environment": "moon"}}, "heartbeats.x.environment is 'moon'; accepted: "),
    ({"x": {"interval": "1h", "type": "Out age"}}, "heartbeats.x.type: 'Out age' is not an incident type; "),
    ({"x": {"interval": "1h", "labels": {"1team": "a"}}}, "heartbeats.x.labels: '1team' is not a label name"),
    ({"x": {"interval": "1h", "labels": {"team": "a\x1b[2J"}}}, "heartbeats.x.labels: label 'team' has a value "),
    ({"x": {"interval": "1h", "every": "1h"}}, "heartbeats.x.every is not a known key; accepted: interval, grace,"),
    ({"x": {}}, "heartbeats.x.interval is missing"),
    ({"a/b": {"interval": "1h"}}, "heartbeats: 'a/b' is not a heartbeat name; accepted: letters, digits"),
])
def test_bad_tables_are_refused_in_one_sentence_naming_the_key(table, refusal):
    with pytest.raises(PlaybookError) as caught:
        parse_configuration({"heartbeats": table})
    message = str(caught.value)
    assert refusal in message
    assert "\n" not in message and "\x1b" not in message
