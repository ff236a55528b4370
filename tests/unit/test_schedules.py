"""On-call schedules: rotation, the wall clock across daylight-saving changes, layers with
restrictions, overrides, until and the next handoffs, and a bad [schedules.*] refused."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from playbooks.config import parse_configuration
from playbooks.config.oncall import Schedule
from playbooks.errors import PlaybookError
from playbooks.schedules import Override, Resolver, on_call

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(zone, *parts):
    return datetime(*parts, tzinfo=zone)


def test_members_take_turns_of_the_rotation_round_and_round():
    schedule = Schedule(members=["ann", "bob", "cy"], rotation="1d", start="2026-01-05T09:00:00Z")
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert [on_call("p", schedule, at + timedelta(days=d)).person for d in range(7)] == [
        "ann", "bob", "cy", "ann", "bob", "cy", "ann"]
    # One second before the handoff it is still the previous turn, until exactly the handoff.
    before = on_call("p", schedule, datetime(2026, 1, 6, 8, 59, 59, tzinfo=UTC))
    assert before.person == "ann" and before.until == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    # Before the first handoff the turns run backwards: the schedule has no gap.
    assert on_call("p", schedule, datetime(2026, 1, 4, 12, tzinfo=UTC)).person == "cy"


def test_twelve_hour_turns_and_the_next_handoffs():
    schedule = Schedule(members=["ann", "bob"], rotation="12h", start="2026-01-05T09:00", timezone="UTC")
    answer = on_call("p", schedule, datetime(2026, 1, 5, 10, tzinfo=UTC), handoffs=3)
    assert answer.person == "ann" and answer.until == datetime(2026, 1, 5, 21, tzinfo=UTC)
    assert [(s.person, s.starts_at.hour, s.ends_at.hour) for s in answer.next] == [
        ("bob", 21, 9), ("ann", 9, 21), ("bob", 21, 9)]
    assert answer.next[0].starts_at == answer.until


@pytest.mark.parametrize("zone, spring, autumn", [
    # Two days before each change, so the four handoffs after it straddle it.
    ("Europe/Berlin", (2026, 3, 27), (2026, 10, 23)),  # clocks change on 29 March and 25 October
    ("America/New_York", (2026, 3, 6), (2026, 10, 30)),  # on 8 March and 1 November
])
def test_a_daily_0900_handoff_stays_at_0900_local_across_both_changes(zone, spring, autumn):
    tz = ZoneInfo(zone)
    schedule = Schedule(members=["ann", "bob"], rotation="1d", start="2026-01-05T09:00", timezone=zone)
    for day in (spring, autumn):
        answer = on_call("p", schedule, local(tz, *day, 12, 0), handoffs=3)
        ends = [answer.until] + [shift.ends_at for shift in answer.next]
        assert [(e.astimezone(tz).hour, e.astimezone(tz).minute) for e in ends] == [(9, 0)] * 4
        # The turn across the change is 23 hours in spring and 25 in autumn; the others 24.
        lengths = {round((b - a).total_seconds() / 3600) for a, b in zip(ends, ends[1:])}
        assert lengths == ({23, 24} if day == spring else {25, 24})


def test_a_handoff_in_the_skipped_hour_happens_as_the_clock_jumps_forward():
    schedule = Schedule(members=["ann", "bob"], rotation="1d", start="2026-03-27T02:30", timezone="Europe/Berlin")
    answer = on_call("p", schedule, local(BERLIN, 2026, 3, 28, 12, 0))
    # 02:30 does not exist on 29 March in Berlin: the handoff is at 03:30 CEST (01:30 UTC).
    assert answer.until == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_start_with_an_offset_is_that_instant_whatever_the_zone():
    schedule = Schedule(members=["ann", "bob"], rotation="1w", start="2026-01-05T09:00:00-05:00",
                        timezone="America/New_York")
    answer = on_call("p", schedule, datetime(2026, 1, 5, 13, 59, tzinfo=UTC))
    assert answer.person == "bob"  # 08:59 in New York: before ann's first turn, bob's turn
    assert answer.until == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def business_hours_schedule():
    return Schedule(members=["ann", "bob"], rotation="1w", start="2026-01-05T09:00", timezone="Europe/Berlin",
                    layers=[{"members": ["dee", "eve"], "rotation": "1d", "start": "2026-01-05T00:00",
                             "restrict": {"days": ["mon", "tue", "wed", "thu", "fri"],
                                          "start": "09:00", "end": "17:00"}}])


def test_a_restricted_higher_layer_wins_inside_its_windows_only():
    schedule = business_hours_schedule()
    # Friday 9 January, noon in Berlin: the business-hours layer; its daily turn (dee on the
    # Monday it started, eve on Tuesday, ...) is dee's.
    answer = on_call("p", schedule, local(BERLIN, 2026, 1, 9, 12, 0), handoffs=4)
    assert answer.person == "dee" and answer.until == local(BERLIN, 2026, 1, 9, 17, 0)
    assert [(s.person, s.starts_at.astimezone(BERLIN).strftime("%a %H:%M")) for s in answer.next] == [
        ("ann", "Fri 17:00"),   # the weekly base layer over the weekend; ann's week runs to Monday 09:00
        ("eve", "Mon 09:00"),   # the window opens as bob's week starts: the higher layer wins
        ("bob", "Mon 17:00"),
        ("dee", "Tue 09:00")]
    # A Saturday noon is outside every window.
    assert on_call("p", schedule, local(BERLIN, 2026, 1, 10, 12, 0)).person == "ann"


def test_a_window_that_runs_past_midnight():
    schedule = Schedule(members=["ann"], rotation="1w", start="2026-01-05T00:00", timezone="UTC",
                        layers=[{"members": ["night"], "rotation": "1w", "start": "2026-01-05T00:00",
                                 "restrict": {"days": ["fri"], "start": "22:00", "end": "06:00"}}])
    at = datetime(2026, 1, 10, 5, 0, tzinfo=UTC)  # Saturday 05:00, inside Friday's window
    answer = on_call("p", schedule, at)
    assert answer.person == "night" and answer.until == datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
    assert on_call("p", schedule, datetime(2026, 1, 10, 6, 0, tzinfo=UTC)).person == "ann"


def test_an_override_wins_over_every_layer_and_the_later_one_wins_an_overlap():
    schedule = business_hours_schedule()
    noon = local(BERLIN, 2026, 1, 9, 12, 0)
    overrides = [
        Override("p", "zed", noon - timedelta(hours=1), noon + timedelta(hours=2), order=1),
        Override("p", "yan", noon + timedelta(hours=1), noon + timedelta(hours=3), order=2),
        Override("other", "nobody", noon - timedelta(days=1), noon + timedelta(days=1), order=3),
    ]
    answer = on_call("p", schedule, noon, overrides, handoffs=2)
    assert (answer.person, answer.overridden, answer.until) == ("zed", True, noon + timedelta(hours=1))
    assert [(s.person, s.overridden, s.starts_at) for s in answer.next] == [
        ("yan", True, noon + timedelta(hours=1)), ("dee", False, noon + timedelta(hours=3))]


def test_one_person_and_no_layers_has_no_handoff():
    schedule = Schedule(members=["solo"], rotation="1d", start="2026-01-05T09:00")
    answer = on_call("p", schedule, datetime(2026, 6, 1, tzinfo=UTC))
    assert answer.person == "solo" and answer.until is None and answer.next == ()


def test_a_year_of_a_five_layer_schedule_is_resolved_by_its_changes_not_minute_by_minute():
    layers = [{"members": [f"l{i}a", f"l{i}b"], "rotation": "12h", "start": "2026-01-05T09:00",
               "restrict": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": f"{8 + i:02d}:00", "end": "18:00"}}
              for i in range(4)]
    schedule = Schedule(members=["a", "b", "c"], rotation="1w", start="2026-01-05T09:00",
                        timezone="Europe/Berlin", layers=layers)
    shifts = Resolver("p", schedule).shifts(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    # Every shift follows the previous one without a gap, and each changes the person.
    assert all(a.ends_at == b.starts_at and a.person != b.person for a, b in zip(shifts, shifts[1:]))
    # Weekdays: the 08:00 layer, then at 09:00 the higher ones in turn; nights and weekends the base.
    assert 250 * 2 < len(shifts) < 400 * 6


def config_with(schedules: dict) -> dict:
    return {"contacts": {"ann": {}, "bob": {}}, "schedules": schedules}


@pytest.mark.parametrize("schedule, words", [
    ({"members": ["ann", "carl"], "rotation": "1d", "start": "2026-01-05T09:00"},
     "schedules: schedule 'p' names 'carl', who has no [contacts.carl] table; accepted: names of [contacts.NAME]"),
    ({"members": ["ann"], "rotation": "1d", "start": "2026-01-05T09:00", "timezone": "Europe/Atlantis"},
     "schedules.p.timezone: 'Europe/Atlantis' is not a time zone; accepted: an IANA name"),
    ({"members": ["ann"], "rotation": "weekly", "start": "2026-01-05T09:00"},
     "schedules.p.rotation: 'weekly' is not a duration; accepted:"),
    ({"members": ["ann"], "rotation": "1d", "start": "next monday"},
     "schedules.p.start: 'next monday' is not a date and time; accepted: ISO 8601"),
    ({"members": ["ann"], "rotation": "1d", "start": "2026-01-05T09:00",
      "layers": [{"members": ["bob"], "rotation": "1d", "start": "2026-01-05", "restrict": {"end": "5pm"}}]},
     "schedules.p.layers[1].restrict.end: '5pm' is not a time of day; accepted: \"HH:MM\""),
    ({"members": ["ann"], "rotation": "1d", "start": "2026-01-05T09:00",
      "layers": [{"members": ["bob"], "rotation": "1d", "start": "2026-01-05", "when": "always"}]},
     "schedules.p.layers[1]: 'when' is not a known key; accepted: members, rotation, start, restrict"),
])
def test_a_bad_schedule_is_refused_in_one_sentence(schedule, words):
    with pytest.raises(PlaybookError) as refused:
        parse_configuration(config_with({"p": schedule}))
    message = str(refused.value)
    assert words in message and "\n" not in message
