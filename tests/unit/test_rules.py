"""Detection rules: conditions and actions parse strictly, evaluation follows `for`.

Evaluation goes through `RuleTracker.update`, the one path automation/detector.py uses."""
import itertools
from datetime import datetime, timedelta, timezone

import pytest

from playbooks import PlaybookError, load_policy
from playbooks.loader import BUILTIN_DIR
from playbooks.rules import (
    ACTION_NAMES,
    Action,
    RuleTracker,
    compile_rule,
    holding_conditions,
    incident_spec,
    parse_action,
    parse_condition,
    rule_actions,
)
from playbooks.schema import DetectionRule

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def rule(conditions, match="any", duration="5m", actions=("create_incident()",), name="r"):
    return DetectionRule(name=name, conditions=list(conditions), match=match, duration=duration, actions=list(actions))


def minutes(n):
    return T0 + timedelta(minutes=n)


def rule_breached(r, observations) -> bool:
    """Whether the rule is breached by these observations, asked as the detector asks: a
    fresh tracker's first update starts a breach exactly when the conditions hold."""
    return [e.kind for e in RuleTracker().update(r, observations, T0)][:1] == ["breach_started"]


def condition_holds(condition, observations) -> bool:
    """One condition, as the only condition of a rule the detector evaluates."""
    return rule_breached(rule([condition.text]), observations)


def evaluate_series(r, samples, *, still_firing=False):
    """Replay (at, metric, value) samples, sorted by time, as the detector is fed: every
    sample of one moment is applied, then the tracker evaluates the rule once for it
    (automation/detector.py: Detector.ingest, then evaluate)."""
    tracker = RuleTracker(still_firing=still_firing)
    observations: dict[str, float] = {}
    events = []
    for at, moment in itertools.groupby(samples, key=lambda sample: sample[0]):
        for _, metric, value in moment:
            observations[metric] = value
        events += tracker.update(r, observations, at)
    return events


@pytest.fixture(scope="module")
def builtin():
    return {r.name: r for r in load_policy().rules.rules}


# -- conditions ----------------------------------------------------------------------

UNITS = [
    ("error_rate > 50%", 50.0, "%"),
    ("error_rate > 12.5%", 12.5, "%"),
    ("response_time > 30s", 30.0, "s"),
    ("response_time > 250ms", 0.25, "ms"),
    ("response_time > 2m", 120.0, "m"),
    ("response_time > 1h", 3600.0, "h"),
    ("failed_login_attempts > 1000/hour", 1000.0, "/hour"),
    ("failed_login_attempts > 1000/h", 1000.0, "/h"),
    ("failed_login_attempts > 20/min", 1200.0, "/min"),
    ("failed_login_attempts > 20/minute", 1200.0, "/minute"),
    ("requests > 2/s", 7200.0, "/s"),
    ("requests > 2/sec", 7200.0, "/sec"),
    ("queue_depth > 100", 100.0, ""),
    ("queue_depth > -1.5", -1.5, ""),
    ("queue_depth>.5", 0.5, ""),
    ("  cpu.load1 >= 4 ", 4.0, ""),
    ("error_rate > 50 %", 50.0, "%"),
]


@pytest.mark.parametrize("text,threshold,unit", UNITS)
def test_units_convert_to_canonical(text, threshold, unit):
    condition = parse_condition(text)
    assert condition.threshold == pytest.approx(threshold)
    assert condition.unit == unit and not condition.signal


OPERATORS = [
    (">", [(49, False), (50, False), (51, True)]),
    (">=", [(49, False), (50, True), (51, True)]),
    ("<", [(49, True), (50, False), (51, False)]),
    ("<=", [(49, True), (50, True), (51, False)]),
    ("==", [(49, False), (50, True), (51, False)]),
    ("!=", [(49, True), (50, False), (51, True)]),
]


@pytest.mark.parametrize("op,cases", OPERATORS)
def test_every_operator(op, cases):
    condition = parse_condition(f"availability {op} 50%")
    assert condition.op == op and condition.metric == "availability"
    for value, expected in cases:
        assert condition_holds(condition, {"availability": float(value)}) is expected, (op, value)


def test_signal_condition_holds_above_zero():
    condition = parse_condition("unusual_traffic_patterns")
    assert condition.signal and condition.metric == "unusual_traffic_patterns"
    assert condition_holds(condition, {"unusual_traffic_patterns": 1.0})
    assert condition_holds(condition, {"unusual_traffic_patterns": 0.1})
    assert not condition_holds(condition, {"unusual_traffic_patterns": 0.0})
    assert not condition_holds(condition, {})


def test_missing_or_nan_observation_is_not_a_breach():
    for text in ("error_rate > 50%", "availability < 95%", "error_rate != 3"):
        condition = parse_condition(text)
        assert not condition_holds(condition, {})
        assert not condition_holds(condition, {"other": 100.0})
        assert not condition_holds(condition, {condition.metric: float("nan")})


def test_format_shows_values_in_the_written_unit():
    assert parse_condition("response_time > 250ms").format(0.5) == "500ms"
    assert parse_condition("failed_login_attempts > 20/min").format(1800.0) == "30/min"
    assert parse_condition("error_rate > 50%").describe() == "error_rate > 50%"


MALFORMED = [
    "error_rate >> 5",
    "error_rate > ",
    "error_rate > 50 percent",
    "error_rate > 50%%",
    "Error_rate > 50%",
    "5 > error_rate",
    "error_rate => 5",
    "error_rate = 5",
    "error_rate > 5/day",
    "error_rate > 5d",
    "error rate",
    "",
    "   ",
    "__import__('os').system('x')",
    "error_rate > 50% and availability < 95%",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_condition_is_one_sentence(text):
    with pytest.raises(ValueError) as error:
        parse_condition(text)
    message = str(error.value)
    assert message.startswith(f"{text!r} is not a condition; accepted: metric > 50%, metric < 30s, metric > 1000/hour")
    assert "signal name" in message and "\n" not in message


def test_non_text_condition_is_rejected():
    with pytest.raises(ValueError, match="is not a condition; accepted"):
        parse_condition(5)  # type: ignore[arg-type]


# -- actions -------------------------------------------------------------------------

ACTIONS = [
    ("create_incident(severity='critical', type='outage')", "create_incident", {"severity": "critical", "type": "outage"}),
    ('create_incident(severity="high")', "create_incident", {"severity": "high"}),
    ("create_incident( severity = 'sev1' , )", "create_incident", {"severity": "sev1"}),
    ("page_oncall_engineer()", "page_oncall_engineer", {}),
    ("page_oncall_engineer", "page_oncall_engineer", {}),
    ("update_status_page('investigating')", "update_status_page", {"0": "investigating"}),
    ("update_status_page('identified', component='api')", "update_status_page", {"0": "identified", "component": "api"}),
    ("begin_log_collection(window=30m, index='app-*')", "begin_log_collection", {"window": "30m", "index": "app-*"}),
    ("isolate_suspicious_sources('a', 'b')", "isolate_suspicious_sources", {"0": "a", "1": "b"}),
    ("create_security_incident()", "create_security_incident", {}),
    ("start_war_room()", "start_war_room", {}),
    ("alert_security_team()", "alert_security_team", {}),
]


@pytest.mark.parametrize("text,name,args", ACTIONS)
def test_actions_parse(text, name, args):
    assert parse_action(text) == Action(name, args)


def test_action_round_trips_to_text():
    action = parse_action("create_incident(severity='critical', type='outage')")
    assert parse_action(str(action)) == action
    assert str(parse_action("update_status_page('investigating')")) == "update_status_page('investigating')"


def test_unknown_action_lists_accepted_names():
    with pytest.raises(ValueError) as error:
        parse_action("reboot_everything()")
    message = str(error.value)
    assert message.startswith("'reboot_everything()' is not a known action; accepted: create_incident")
    assert all(name in message for name in ACTION_NAMES) and "\n" not in message


BAD_ACTIONS = [
    ("create_incident(severity=)", "has arguments that cannot be read"),
    ("create_incident(severity='critical'", "is not an action call"),
    ("create_incident(severity='critical' type='outage')", "has arguments that cannot be read"),
    ("create_incident(,)", "has arguments that cannot be read"),
    ("update_status_page(status='x', 'y')", "positional argument after a keyword"),
    ("create_incident(severity='a', severity='b')", "gives 'severity' twice"),
    ("create_incident(sevrity='critical')", "unknown argument 'sevrity'; accepted for create_incident: severity, type"),
    ("create_security_incident(type='outage')", "unknown argument 'type'"),
    ("create_incident('critical')", "unknown argument '0'"),
    ("page_oncall_engineer(); rm -rf /", "is not an action call"),
    ("update_status_page(__import__('os'))", "has arguments that cannot be read"),
    ("update_status_page('it''s')", "has arguments that cannot be read"),
    ("", "is not an action call"),
]


@pytest.mark.parametrize("text,words", BAD_ACTIONS)
def test_bad_action_syntax_is_one_sentence(text, words):
    with pytest.raises(ValueError) as error:
        parse_action(text)
    message = str(error.value)
    assert message.startswith(repr(text)) and words in message
    assert "accepted" in message and "\n" not in message


# -- incident spec and actions of a rule ---------------------------------------------

SPECS = [
    (["create_incident(severity='critical', type='outage')"], ("critical", "outage")),
    (["create_incident()"], ("high", "outage")),
    (["create_incident(type='performance')"], ("high", "performance")),
    (["page_oncall_engineer()", "create_incident(severity='medium')"], ("medium", "outage")),
    (["create_security_incident()"], ("high", "security")),
    (["create_security_incident(severity='critical')"], ("critical", "security")),
    (["page_oncall_engineer()"], None),
]


@pytest.mark.parametrize("actions,spec", SPECS)
def test_incident_spec(actions, spec):
    assert incident_spec(rule(["x > 1"], actions=actions)) == spec


def test_rule_actions_in_order(builtin):
    names = [a.name for a in rule_actions(builtin["critical_outage"])]
    assert names == ["create_incident", "page_oncall_engineer", "update_status_page", "start_war_room"]
    assert rule_actions(builtin["critical_outage"])[2].args == {"0": "investigating"}


# -- any / all -----------------------------------------------------------------------


def test_match_any_and_all():
    conditions = ["error_rate > 50%", "response_time > 30s"]
    anyrule, allrule = rule(conditions, "any"), rule(conditions, "all")
    both = {"error_rate": 60.0, "response_time": 31.0}
    one = {"error_rate": 60.0, "response_time": 1.0}
    none = {"error_rate": 1.0, "response_time": 1.0}
    missing = {"error_rate": 60.0}
    assert rule_breached(anyrule, both) and rule_breached(allrule, both)
    assert rule_breached(anyrule, one) and not rule_breached(allrule, one)
    assert not rule_breached(anyrule, none) and not rule_breached(allrule, none)
    assert rule_breached(anyrule, missing) and not rule_breached(allrule, missing)
    assert not rule_breached(anyrule, {}) and not rule_breached(allrule, {})


def test_holding_conditions_carry_values_and_thresholds():
    r = rule(["error_rate > 50%", "response_time > 250ms", "availability < 95%"])
    held = holding_conditions(r, {"error_rate": 60.0, "response_time": 0.5, "availability": 99.0})
    assert [(h.metric, h.value, h.threshold) for h in held] == [("error_rate", 60.0, 50.0), ("response_time", 0.5, 0.25)]
    assert str(held[1]) == "response_time 500ms (> 250ms)"


# -- the tracker: Prometheus `for` ----------------------------------------------------


def kinds(events):
    return [e.kind for e in events]


def test_breach_shorter_than_duration_never_fires():
    r = rule(["error_rate > 50%"], duration="5m")
    tracker = RuleTracker()
    high, low = {"error_rate": 60.0}, {"error_rate": 10.0}
    assert kinds(tracker.update(r, high, minutes(0))) == ["breach_started"]
    for m in (1, 2, 3, 4):
        assert tracker.update(r, high, minutes(m)) == []
    assert tracker.update(r, low, minutes(4.9)) == []  # resets silently: never fired
    assert tracker.state("r").breached_since is None and not tracker.state("r").firing
    # A new breach starts the clock over.
    assert kinds(tracker.update(r, high, minutes(5))) == ["breach_started"]
    assert tracker.update(r, high, minutes(9)) == []
    assert kinds(tracker.update(r, high, minutes(10))) == ["fired"]


def test_exactly_duration_fires_once_then_still_firing_then_cleared():
    r = rule(["error_rate > 50%"], duration="5m")
    tracker = RuleTracker()
    high = {"error_rate": 60.0}
    started = tracker.update(r, high, minutes(0))
    assert kinds(started) == ["breach_started"]
    assert started[0].holding[0].value == 60.0 and started[0].since == minutes(0)
    fired = tracker.update(r, high, minutes(5))
    assert kinds(fired) == ["fired"]
    assert fired[0].rule == "r" and fired[0].at == minutes(5) and fired[0].since == minutes(0)
    assert tracker.firing() == ["r"]
    assert kinds(tracker.update(r, high, minutes(6))) == ["still_firing"]
    assert kinds(tracker.update(r, {"error_rate": 70.0}, minutes(7))) == ["still_firing"]
    cleared = tracker.update(r, {"error_rate": 5.0}, minutes(8))
    assert kinds(cleared) == ["cleared"] and cleared[0].holding == () and cleared[0].since == minutes(0)
    assert tracker.firing() == []
    assert tracker.update(r, {"error_rate": 5.0}, minutes(9)) == []


def test_still_firing_is_optional():
    r = rule(["x > 1"], duration="1m")
    tracker = RuleTracker(still_firing=False)
    assert kinds(tracker.update(r, {"x": 2}, 0.0)) == ["breach_started"]
    assert kinds(tracker.update(r, {"x": 2}, 60.0)) == ["fired"]
    assert tracker.update(r, {"x": 2}, 120.0) == []
    assert kinds(tracker.update(r, {"x": 0}, 180.0)) == ["cleared"]


def test_zero_duration_fires_on_first_breach():
    r = rule(["x > 1"], duration="0s")
    tracker = RuleTracker()
    assert kinds(tracker.update(r, {"x": 2}, minutes(0))) == ["breach_started", "fired"]
    assert kinds(tracker.update(r, {"x": 0}, minutes(1))) == ["cleared"]


def test_missing_metric_ends_a_breach():
    r = rule(["x > 1"], duration="1m")
    tracker = RuleTracker()
    tracker.update(r, {"x": 2}, minutes(0))
    tracker.update(r, {"x": 2}, minutes(1))
    assert kinds(tracker.update(r, {}, minutes(2))) == ["cleared"]


def test_any_rule_stays_breached_while_conditions_take_turns():
    r = rule(["a > 1", "b > 1"], duration="2m")
    tracker = RuleTracker()
    assert kinds(tracker.update(r, {"a": 2, "b": 0}, minutes(0))) == ["breach_started"]
    assert tracker.update(r, {"a": 0, "b": 2}, minutes(1)) == []
    fired = tracker.update(r, {"a": 0, "b": 2}, minutes(2))
    assert kinds(fired) == ["fired"] and [h.metric for h in fired[0].holding] == ["b"]


def test_rules_are_tracked_separately():
    a, b = rule(["x > 1"], duration="0s", name="a"), rule(["x > 5"], duration="0s", name="b")
    tracker = RuleTracker()
    assert kinds(tracker.update(a, {"x": 2}, 0.0)) == ["breach_started", "fired"]
    assert tracker.update(b, {"x": 2}, 0.0) == []
    assert tracker.firing() == ["a"]


def test_restore_resumes_a_firing_rule():
    r = rule(["x > 1"], duration="5m")
    tracker = RuleTracker()
    tracker.restore(r, minutes(0), firing=True)
    assert kinds(tracker.update(r, {"x": 2}, minutes(10))) == ["still_firing"]
    assert kinds(tracker.update(r, {"x": 0}, minutes(11))) == ["cleared"]
    tracker.restore(r, minutes(20), firing=False)
    assert kinds(tracker.update(r, {"x": 2}, minutes(25))) == ["fired"]


def test_event_description_is_one_line():
    r = rule(["error_rate > 50%"], duration="0s", name="critical_outage")
    event = RuleTracker().update(r, {"error_rate": 60.0}, T0)[1]
    assert event.describe() == "critical_outage fired: error_rate 60% (> 50%)"


# -- the built-in rules ---------------------------------------------------------------


def test_critical_outage_fires_after_five_minutes_of_60_percent_errors(builtin):
    r = builtin["critical_outage"]
    assert incident_spec(r) == ("critical", "outage")
    samples = [(minutes(m), "error_rate", 60.0) for m in range(0, 7)]
    events = evaluate_series(r, samples)
    assert kinds(events) == ["breach_started", "fired"]
    assert events[1].at == minutes(5) and events[1].holding[0].metric == "error_rate"
    # Four minutes is not enough.
    assert kinds(evaluate_series(r, samples[:5])) == ["breach_started"]


def test_critical_outage_other_conditions(builtin):
    r = builtin["critical_outage"]
    assert rule_breached(r, {"response_time": 31.0})
    assert rule_breached(r, {"availability": 94.9})
    assert not rule_breached(r, {"error_rate": 50.0, "response_time": 30.0, "availability": 95.0})


def test_security_anomaly_fires_after_a_minute_of_credential_stuffing(builtin):
    r = builtin["security_anomaly"]
    assert incident_spec(r) == ("high", "security")
    samples = [(T0 + timedelta(seconds=s), "failed_login_attempts", 1200.0) for s in range(0, 75, 15)]
    events = evaluate_series(r, samples)
    assert kinds(events) == ["breach_started", "fired"]
    assert events[1].at == T0 + timedelta(seconds=60)
    assert str(events[1].holding[0]) == "failed_login_attempts 1200/hour (> 1000/hour)"


def test_security_anomaly_signals(builtin):
    r = builtin["security_anomaly"]
    assert rule_breached(r, {"unusual_traffic_patterns": 1.0})
    assert rule_breached(r, {"suspicious_file_access": 3.0})
    assert not rule_breached(r, {"unusual_traffic_patterns": 0.0, "failed_login_attempts": 1000.0})


# -- replaying series ------------------------------------------------------------------


def test_series_evaluates_once_per_timestamp_for_all_rules():
    r = rule(["a > 1", "b > 1"], match="all", duration="0s")
    # At t=1 `a` drops and `b` rises together: never both breached within one instant.
    samples = [(0, "a", 2.0), (0, "b", 0.0), (1, "a", 0.0), (1, "b", 2.0), (2, "a", 2.0), (2, "b", 2.0)]
    events = evaluate_series(r, samples)
    assert [(e.kind, e.at) for e in events] == [("breach_started", 2), ("fired", 2)]


def test_series_with_other_metrics_advancing_time():
    r = rule(["x > 1"], duration="10s")
    samples = [(0.0, "x", 5.0), (4.0, "noise", 1.0), (10.0, "noise", 1.0), (11.0, "x", 0.0), (12.0, "noise", 0.0)]
    events = evaluate_series(r, samples)
    assert [(e.kind, e.at) for e in events] == [("breach_started", 0.0), ("fired", 10.0), ("cleared", 11.0)]


def test_series_still_firing_on_request():
    r = rule(["x > 1"], duration="0s")
    samples = [(t, "x", 2.0) for t in range(4)]
    assert kinds(evaluate_series(r, samples)) == ["breach_started", "fired"]
    assert kinds(evaluate_series(r, samples, still_firing=True)) == ["breach_started", "fired"] + ["still_firing"] * 3


def test_series_matches_the_tracker_step_by_step():
    r = rule(["x > 10", "y < 5"], match="any", duration="3s")
    values = [(t, 20.0 if (t // 7) % 2 else 0.0, 10.0 if t % 13 else 1.0) for t in range(100)]
    samples = [s for t, x, y in values for s in ((t, "x", x), (t, "y", y))]
    tracker = RuleTracker(still_firing=False)
    expected = [e for t, x, y in values for e in tracker.update(r, {"x": x, "y": y}, t)]
    assert evaluate_series(r, samples) == expected
    assert "fired" in kinds(expected) and "cleared" in kinds(expected)


def test_series_on_empty_input():
    assert evaluate_series(rule(["x > 1"]), []) == []


def test_series_is_linear_over_many_samples():
    import time

    r = rule(["error_rate > 50%", "response_time > 30s"], duration="5m")
    n = 200_000
    samples = [(float(i), "error_rate" if i % 2 else "response_time", 60.0 if (i // 1000) % 2 else 1.0) for i in range(n)]
    started = time.perf_counter()
    events = evaluate_series(r, samples)
    elapsed = time.perf_counter() - started
    # 200 blocks of 1000 samples, every other one breached; the last one still is.
    assert kinds(events).count("fired") == 100 and kinds(events).count("cleared") == 99
    assert elapsed < 5.0  # generous: a regression to quadratic would take minutes


def test_compiled_rules_are_reused():
    r = rule(["x > 1"])
    assert compile_rule(r) is compile_rule(r)
    assert compile_rule(compile_rule(r)) is compile_rule(r)


# -- rules files ---------------------------------------------------------------------


@pytest.fixture
def user_dir(tmp_path):
    path = tmp_path / "playbooks"
    path.mkdir()
    return path


BROKEN_RULES = [
    ("error_rate > 50%", "error_rate >> 5",
     r"rules\.toml: field rules\.0\.conditions\.0: 'error_rate >> 5' is not a condition; accepted: metric > 50%"),
    ("availability < 95%", "availability < 95 percent",
     r"field rules\.0\.conditions\.2: 'availability < 95 percent' is not a condition; accepted"),
    ("start_war_room()", "start_warroom()",
     r"field rules\.0\.actions\.3: 'start_warroom\(\)' is not a known action; accepted: create_incident, "),
    ("create_incident(severity='critical', type='outage')", "create_incident(severity='critical' type='outage')",
     r"field rules\.0\.actions\.0: \"create_incident\(severity='critical' type='outage'\)\" has arguments that cannot be read; accepted"),
    ("isolate_suspicious_sources()", "create_incident()",
     r"field rules\.1\.actions\.3: 'create_incident\(\)' opens a second incident after 'create_security_incident\(\)'; accepted: at most one"),
]


@pytest.mark.parametrize("old,new,pattern", BROKEN_RULES)
def test_broken_rules_file_is_one_line(user_dir, old, new, pattern):
    text = (BUILTIN_DIR / "rules.toml").read_text()
    assert old in text
    target = user_dir / "rules.toml"
    target.write_text(text.replace(old, new, 1))
    with pytest.raises(PlaybookError, match=pattern) as error:
        load_policy(user_dir)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{target}: ")


def test_every_broken_item_is_counted(user_dir):
    text = (BUILTIN_DIR / "rules.toml").read_text()
    text = text.replace("error_rate > 50%", "error_rate >> 5").replace("start_war_room()", "start_warroom()")
    (user_dir / "rules.toml").write_text(text)
    with pytest.raises(PlaybookError, match=r"conditions\.0: .* \(and 1 more\)$"):
        load_policy(user_dir)


def test_user_rules_file_with_valid_rules_loads(user_dir):
    (user_dir / "rules.toml").write_text(
        "[[rules]]\nname = 'slow'\nconditions = ['p99_latency > 800ms', 'throughput < 20/min']\n"
        "match = 'all'\nduration = '10m'\nactions = ['create_incident(severity=\"medium\", type=\"performance\")']\n"
    )
    (r,) = load_policy(user_dir).rules.rules
    assert incident_spec(r) == ("medium", "performance")
    assert rule_breached(r, {"p99_latency": 0.9, "throughput": 600.0})
    assert not rule_breached(r, {"p99_latency": 0.9, "throughput": 1200.0})


def test_builtin_rules_load(builtin):
    assert set(builtin) == {"critical_outage", "security_anomaly"}
