"""Silence matching (playbooks/silences.py) and grouping keys (alert_payloads/grouping.py):
pure, every instant given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from integrations.alert_payloads import parse
from integrations.alert_payloads.grouping import grouped
from playbooks.errors import PolicyValueError
from playbooks.silences import Matcher, Silence, matches, parse_matcher, parse_matchers, rule_labels, silencing

START = datetime(2026, 3, 2, 10, 0)
END = START + timedelta(hours=2)
LABELS = {"alertname": "ProbeFailure", "service": "checkout", "instance": "web-1"}


def silence(*texts: str, id: int = 1, starts: datetime = START, ends: datetime = END, expired=None) -> Silence:
    return Silence(id, parse_matchers(texts), starts, ends, expired)


@pytest.mark.parametrize("text, matcher", [
    ("service=checkout", Matcher("service", "checkout")),
    ("service!=checkout", Matcher("service", "checkout", equal=False)),
    ("team=", Matcher("team", "")),
    ("summary=a=b", Matcher("summary", "a=b")),  # the first operator splits; the value keeps the rest
    (" env =prod", Matcher("env", "prod")),
])
def test_matchers_are_read_as_typed(text, matcher):
    assert parse_matcher(text) == matcher and str(parse_matcher(str(matcher))) == str(matcher)


@pytest.mark.parametrize("text, message", [
    ("service", "has no = or !="),
    ("=checkout", "names no label"),
    ("9lives=x", "names no label"),
    ("service=~check.*", "regular expression"),
    ("service!~x", "regular expression"),
    ("service=a\x1b[2J", "printable"),
    ("service=" + "x" * 201, "at most 200"),
])
def test_a_bad_matcher_is_refused_in_one_sentence(text, message):
    with pytest.raises(PolicyValueError, match=message.replace("(", r"\(")) as caught:
        parse_matcher(text)
    assert "accepted" in str(caught.value) and "\n" not in str(caught.value)


def test_a_silence_needs_a_matcher_that_names_a_value():
    with pytest.raises(PolicyValueError, match="at least one matcher"):
        parse_matchers([])
    with pytest.raises(PolicyValueError, match="with a value"):
        parse_matchers(["team!=db", "owner="])  # would silence nearly everything


def test_every_matcher_must_match_and_a_missing_label_is_empty():
    assert matches(parse_matchers(["service=checkout"]), LABELS)
    assert matches(parse_matchers(["service=checkout", "instance=web-1"]), LABELS)
    assert not matches(parse_matchers(["service=checkout", "instance=web-2"]), LABELS)
    assert matches(parse_matchers(["service=checkout", "team!=db"]), LABELS)  # no team label: "" != "db"
    assert matches(parse_matchers(["service=checkout", "team="]), LABELS)
    assert not matches(parse_matchers(["service=checkout", "instance!=web-1"]), LABELS)
    assert not matches(parse_matchers(["service=Checkout"]), LABELS)  # exact, case and all
    assert not matches((), LABELS)


def test_a_silence_is_active_from_its_start_until_just_before_its_end():
    held = silence("service=checkout")
    assert not held.silences(LABELS, START - timedelta(seconds=1))
    assert held.silences(LABELS, START)
    assert held.silences(LABELS, END - timedelta(microseconds=1))
    assert not held.silences(LABELS, END)  # it ends by itself: nothing has to run
    # Aware instants are the same instants.
    assert held.silences(LABELS, (START + timedelta(hours=1)).replace(tzinfo=timezone.utc))
    berlin = timezone(timedelta(hours=1))
    assert not held.silences(LABELS, datetime(2026, 3, 2, 13, 0, tzinfo=berlin))  # 12:00 UTC: ended


def test_an_expired_silence_stops_at_its_expiry():
    held = silence("service=checkout", expired=START + timedelta(minutes=30))
    assert held.silences(LABELS, START + timedelta(minutes=29))
    assert not held.silences(LABELS, START + timedelta(minutes=30))


def test_the_oldest_matching_active_silence_is_the_one_named():
    silences = [silence("service=checkout", id=3), silence("instance=web-1", id=2),
                silence("service=search", id=1), silence("service=checkout", id=4, ends=START + timedelta(minutes=1))]
    assert silencing(silences, LABELS, START + timedelta(minutes=5)).id == 2
    assert silencing(silences, {"service": "billing"}, START) is None


def test_a_rule_breach_is_matched_by_the_rule_name_and_what_it_opens():
    labels = rule_labels("critical_outage", service="checkout", environment="production", severity="critical",
                         incident_type="outage")
    assert labels == {"alertname": "critical_outage", "rule": "critical_outage", "service": "checkout",
                      "environment": "production", "severity": "critical", "type": "outage"}
    assert rule_labels("x") == {"alertname": "x", "rule": "x"}
    assert silence("alertname=critical_outage").silences(labels, START)


# -- grouping keys ----------------------------------------------------------------------------
def generic(key: str, service: str, title: str, **labels: str):
    return parse("generic", {"key": key, "status": "firing", "title": title, "service": service, "labels": labels})


def test_generic_alerts_group_on_the_labels_never_the_text():
    one = grouped(generic("a", "checkout", "Disk full", alertname="DiskFull"), ["alertname", "service"])
    two = grouped(generic("b", "checkout", "Other words", alertname="DiskFull"), ["alertname", "service"])
    same_text = grouped(generic("c", "billing", "Disk full", alertname="DiskFull"), ["alertname", "service"])
    assert one.dedup_key == two.dedup_key != same_text.dedup_key
    assert one.dedup_key.startswith("generic:group:") and one.extra["group_by"] == {"alertname": "DiskFull",
                                                                                    "service": "checkout"}
    # A label the alert lacks counts as empty; without group_by each keeps its own key.
    assert grouped(generic("a", "x", "t"), ["team"]).extra["group_by"] == {"team": ""}
    assert grouped(generic("a", "x", "t"), []).dedup_key == "generic:a"


def test_alertmanager_keeps_its_group_key_whatever_group_by_says():
    from tests.integrations.test_alert_payloads import ALERTMANAGER

    notification = parse("alertmanager", ALERTMANAGER)
    assert grouped(notification, ["service"]) is notification
    assert notification.dedup_key.startswith("am:")


def test_alert_labels_are_kept_one_line_and_bounded():
    from tests.integrations.test_alert_payloads import ALERTMANAGER

    body = {**ALERTMANAGER, "commonLabels": {"job": "common", "zone": "eu"}}
    body["alerts"] = [{**ALERTMANAGER["alerts"][0],
                       "labels": {**{f"l{n}": "v" for n in range(100)}, "job": "own\x1b[2Jjob"}}]
    [alert] = parse("alertmanager", body).alerts
    labels = alert.label_map
    assert len(labels) == 64
    assert "\x1b" not in "".join(labels.values())
