"""Every clock on screen carries its units and its sign in words: "in 14m", "27m over",
"1h59m", "9d"; never "14:57", which beside a 16:49 clock reads as a time of day."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tui.formatting import countdown, countdown_with_deadline, deadline, elapsed, span

NOW = datetime(2024, 1, 15, 16, 49, 0)


@pytest.mark.parametrize("seconds, shown", [
    (0, "0s"), (45, "45s"), (59, "59s"),
    (60, "1m"), (14 * 60 + 57, "14m"), (59 * 60 + 59, "59m"),
    (3600, "1h00m"), (3600 + 5 * 60, "1h05m"), (2 * 3600 - 1, "1h59m"), (71 * 3600 + 45 * 60, "71h45m"),
    (99 * 3600 + 59 * 60, "99h59m"), (100 * 3600, "4d4h"), (96 * 3600 + 4 * 86400, "8d"),
    (6 * 86400 + 18 * 3600, "6d18h"), (5 * 86400, "5d"),
    (7 * 86400 + 5 * 3600, "7d"), (9 * 86400 + 23 * 3600, "9d"),
])
def test_a_span_has_units_in_every_form(seconds, shown):
    assert span(seconds) == shown
    assert span(-seconds) == shown  # the sign is the caller's words, never a bare minus


@pytest.mark.parametrize("left, shown", [
    (timedelta(minutes=14, seconds=57), "in 14m"),
    (timedelta(seconds=30), "in 30s"),
    (timedelta(hours=1, minutes=59, seconds=10), "in 1h59m"),
    (timedelta(days=9, hours=3), "in 9d"),
    (timedelta(minutes=-27, seconds=-5), "27m over"),
    (timedelta(hours=-2, minutes=-10), "2h10m over"),
    (timedelta(days=-5), "5d over"),
    (timedelta(days=-3), "72h00m over"),
    (timedelta(0), "due now"),
])
def test_countdown_says_which_side_of_the_deadline(left, shown):
    assert countdown(NOW + left, NOW) == shown


def test_no_deadline_is_a_dash():
    assert countdown(None, NOW) == "-"
    assert countdown_with_deadline(None, NOW) == "-"


def test_no_countdown_reads_as_a_time_of_day():
    for seconds in range(-3 * 86400, 3 * 86400, 97):
        shown = countdown(NOW + timedelta(seconds=seconds), NOW)
        assert not re.search(r"\d:\d", shown), shown
        assert shown == "due now" or shown.startswith("in ") or shown.endswith(" over"), shown


def test_the_absolute_deadline_where_there_is_room():
    assert deadline(datetime(2024, 1, 15, 17, 4), NOW) == "17:04"
    assert deadline(datetime(2024, 1, 18, 14, 20), NOW) == "18 Jan 14:20"  # another day: its date
    assert countdown_with_deadline(datetime(2024, 1, 15, 17, 4), NOW) == "in 15m (by 17:04)"
    assert countdown_with_deadline(datetime(2024, 1, 15, 16, 22), NOW) == "27m over (since 16:22)"


def test_age_uses_the_same_units_and_never_goes_negative():
    assert elapsed(NOW - timedelta(hours=2), NOW) == "2h00m"
    assert elapsed(NOW - timedelta(minutes=45), NOW) == "45m"
    assert elapsed(NOW + timedelta(minutes=5), NOW) == "0s"  # a clock skewed ahead of the declaration
