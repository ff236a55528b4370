"""Detection rules, evaluated: parse a rule's conditions and actions, decide whether
it is breached, and track breaches over time like Prometheus's `for`.

Pure and deterministic: no I/O, no clock reads (callers pass `now`), no eval. One way
to evaluate: `RuleTracker.update`, which automation/detector.py calls with the latest
observations after every batch of samples (the watch loop and drills alike).

Canonical units. A condition's threshold is converted to one unit per kind of value,
and metric sources MUST store samples in the same units:

- percentages as percent numbers: ``error_rate > 50%`` compares with 50.0, so an error
  rate of 12.3 % is stored as 12.3 (not 0.123);
- durations in seconds: ``response_time > 30s`` -> 30.0, ``250ms`` -> 0.25,
  ``2m`` -> 120.0, ``1h`` -> 3600.0;
- rates per hour: ``1000/hour`` -> 1000.0, ``20/min`` -> 1200.0, ``1/s`` -> 3600.0;
- a number without a unit is compared as written.

A bare name (``unusual_traffic_patterns``) is a signal: it holds while the metric's
latest value is above zero. A condition on a metric with no observation (or NaN) does
not hold: unknown is not breached.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Union

from playbooks.durations import parse_duration

if TYPE_CHECKING:
    from playbooks.schema import DetectionRule

# -- conditions ----------------------------------------------------------------------

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
# Written unit -> factor to the canonical unit (percent, seconds, per hour).
UNITS: dict[str, float] = {
    "": 1.0,
    "%": 1.0,
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "/s": 3600.0,
    "/sec": 3600.0,
    "/min": 60.0,
    "/minute": 60.0,
    "/hour": 1.0,
    "/h": 1.0,
}
_METRIC = r"[a-z][a-z0-9_.]*"
_UNIT_ALTERNATIVES = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True) if u)
_COMPARISON = re.compile(
    rf"\s*({_METRIC})\s*(>=|<=|==|!=|>|<)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*({_UNIT_ALTERNATIVES})?\s*\Z"
)
_SIGNAL = re.compile(rf"\s*({_METRIC})\s*\Z")
CONDITION_ACCEPTED = (
    "metric > 50%, metric < 30s, metric > 1000/hour, or a signal name "
    "(operators > >= < <= == !=; units %, ms, s, m, h, /s, /sec, /min, /minute, /hour, /h, or none)"
)


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed condition; `threshold` is in the canonical unit (see the module doc)."""

    text: str
    metric: str
    op: str
    threshold: float
    unit: str = ""  # as written: "%", "ms", "/min", ... or "" (none, or a signal)
    signal: bool = False
    compare: Callable[[float, float], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"{self.op!r} is not an operator; accepted: {' '.join(OPERATORS)}")
        object.__setattr__(self, "compare", OPERATORS[self.op])

    def holds(self, value: float) -> bool:
        """Whether an observed value (canonical unit) breaches this condition; NaN never does."""
        return value == value and self.compare(value, self.threshold)

    def format(self, value: float) -> str:
        """A canonical value shown in the unit the condition was written in: 0.25 -> "250ms"."""
        return f"{value / UNITS[self.unit]:g}{self.unit}"

    def describe(self) -> str:
        """The condition in words for an anomaly: "error_rate > 50%" or "unusual_traffic_patterns"."""
        if self.signal:
            return self.metric
        return f"{self.metric} {self.op} {self.format(self.threshold)}"


def parse_condition(text: str) -> Condition:
    """Parse `metric OP number[unit]` or a bare signal name; ValueError names what is accepted."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a condition; accepted: {CONDITION_ACCEPTED}")
    match = _COMPARISON.match(text)
    if match:
        metric, op, number, unit = match.group(1), match.group(2), match.group(3), match.group(4) or ""
        threshold = float(number) * UNITS[unit]
        return Condition(text, metric, op, threshold, unit)
    match = _SIGNAL.match(text)
    if match:
        return Condition(text, match.group(1), ">", 0.0, "", True)
    raise ValueError(f"{text!r} is not a condition; accepted: {CONDITION_ACCEPTED}")


# -- actions -------------------------------------------------------------------------

ACTION_NAMES = (
    "create_incident",
    "create_security_incident",
    "page_oncall_engineer",
    "update_status_page",
    "start_war_room",
    "alert_security_team",
    "begin_log_collection",
    "isolate_suspicious_sources",
)
# Actions whose keyword arguments are checked: a typo there would silently change
# the incident that gets opened. The others take any arguments.
ACTION_KEYWORDS: dict[str, tuple[str, ...]] = {
    "create_incident": ("severity", "type", "environment", "service", "title"),
    "create_security_incident": ("severity", "environment", "service", "title"),
}
INCIDENT_ACTIONS = ("create_incident", "create_security_incident")
# The statuses a public status page incident can be put in (Statuspage's words), for
# update_status_page('investigating') or update_status_page(status='identified').
STATUS_PAGE_STATUSES = ("investigating", "identified", "monitoring", "resolved")
DEFAULT_SEVERITY = "high"
DEFAULT_TYPE = "outage"

_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*\Z", re.S)
_ARG = re.compile(
    r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?"  # optional keyword
    r"(?:'([^'\\]*)'|\"([^\"\\]*)\"|([A-Za-z0-9_.:/+-]+))"  # 'text', "text" or a bare word/number
    r"\s*(,|\Z)"
)
ACTION_ACCEPTED = f"name(key='value', ...) with name one of {', '.join(ACTION_NAMES)}"


@dataclass(frozen=True, slots=True)
class Action:
    """A parsed action; positional arguments are keyed "0", "1", ... Values stay text."""

    name: str
    args: dict[str, str] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        inner = ", ".join(repr(v) if k.isdigit() else f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({inner})"


def parse_action(text: str) -> Action:
    """Parse `name(...)`; ValueError (one sentence) on unknown names or bad syntax."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an action; accepted: {ACTION_ACCEPTED}")
    call = _CALL.match(text)
    if not call:
        raise ValueError(f"{text!r} is not an action call; accepted: {ACTION_ACCEPTED}")
    name, inner = call.group(1), call.group(2) or ""
    if name not in ACTION_NAMES:
        raise ValueError(f"{text!r} is not a known action; accepted: {', '.join(ACTION_NAMES)}")
    args: dict[str, str] = {}
    positional = 0
    pos = 0
    while inner[pos:].strip():
        arg = _ARG.match(inner, pos)
        if not arg:
            raise ValueError(f"{text!r} has arguments that cannot be read; accepted: {ACTION_ACCEPTED}")
        key = arg.group(1)
        value = next(v for v in (arg.group(2), arg.group(3), arg.group(4)) if v is not None)
        if key is None:
            if len(args) > positional:
                raise ValueError(f"{text!r} has a positional argument after a keyword one; accepted: {ACTION_ACCEPTED}")
            key = str(positional)
            positional += 1
        elif key in args:
            raise ValueError(f"{text!r} gives {key!r} twice; accepted: each keyword once")
        args[key] = value
        pos = arg.end()
    if name == "update_status_page":
        status = args.get("status", args.get("0"))
        if status is not None and status not in STATUS_PAGE_STATUSES:
            raise ValueError(f"{text!r} names the status page status {status!r}; accepted: "
                             f"{', '.join(STATUS_PAGE_STATUSES)}")
    keywords = ACTION_KEYWORDS.get(name)
    if keywords is not None:
        unknown = [k for k in args if k not in keywords]
        if unknown:
            raise ValueError(f"{text!r} has unknown argument {unknown[0]!r}; accepted for {name}: {', '.join(keywords)} (as key='value')")
    return Action(name, args)


# -- rules, compiled -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A DetectionRule with its text parsed once, ready to evaluate many times."""

    name: str
    conditions: tuple[Condition, ...]
    match_all: bool
    duration: timedelta
    actions: tuple[Action, ...]
    metrics: frozenset[str]


RuleLike = Union["DetectionRule", CompiledRule]


@lru_cache(maxsize=256)
def _compile(name: str, conditions: tuple[str, ...], match: str, duration: str, actions: tuple[str, ...]) -> CompiledRule:
    parsed = tuple(parse_condition(c) for c in conditions)
    return CompiledRule(
        name=name,
        conditions=parsed,
        match_all=match == "all",
        duration=parse_duration(duration),
        actions=tuple(parse_action(a) for a in actions),
        metrics=frozenset(c.metric for c in parsed),
    )


def compile_rule(rule: RuleLike) -> CompiledRule:
    """Parse a DetectionRule (cached by content); a CompiledRule is returned as is."""
    if isinstance(rule, CompiledRule):
        return rule
    return _compile(rule.name, tuple(rule.conditions), rule.match, rule.duration, tuple(rule.actions))


def rule_actions(rule: RuleLike) -> list[Action]:
    return list(compile_rule(rule).actions)


def incident_spec(rule: RuleLike) -> tuple[str, str] | None:
    """(severity, type) of the incident the rule opens, or None if it opens none.

    Severity is the text as written (an alias like 'critical' or 'sev1'; the caller
    resolves it with Policy.level); the default is 'high'. create_incident's type
    defaults to 'outage'; create_security_incident's type is 'security'.
    """
    for action in compile_rule(rule).actions:
        if action.name == "create_incident":
            return action.args.get("severity", DEFAULT_SEVERITY), action.args.get("type", DEFAULT_TYPE)
        if action.name == "create_security_incident":
            return action.args.get("severity", DEFAULT_SEVERITY), "security"
    return None


# -- evaluation ----------------------------------------------------------------------

Observations = Mapping[str, float]  # latest value per metric at `now`, canonical units
Instant = Union[datetime, float]  # datetimes, or plain numbers as seconds (e.g. epoch)


def _breached(rule: CompiledRule, observations: Observations) -> bool:
    """Whether the rule's conditions hold now (`match` any or all); unknown metrics don't."""
    get = observations.get
    if rule.match_all:
        for c in rule.conditions:
            value = get(c.metric)
            if value is None or not c.holds(value):
                return False
        return True
    for c in rule.conditions:
        value = get(c.metric)
        if value is not None and c.holds(value):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Held:
    """A condition that holds and the value that breached it."""

    condition: Condition
    value: float

    @property
    def metric(self) -> str:
        return self.condition.metric

    @property
    def threshold(self) -> float:
        return self.condition.threshold

    def __str__(self) -> str:  # "error_rate 60% (> 50%)"
        c = self.condition
        if c.signal:
            return f"{c.metric} {self.value:g}"
        return f"{c.metric} {c.format(self.value)} ({c.op} {c.format(c.threshold)})"


def holding_conditions(rule: RuleLike, observations: Observations) -> tuple[Held, ...]:
    out = []
    for c in compile_rule(rule).conditions:
        value = observations.get(c.metric)
        if value is not None and c.holds(value):
            out.append(Held(c, value))
    return tuple(out)


EventKind = Literal["breach_started", "fired", "still_firing", "cleared"]


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """What changed for a rule at `at`. `holding` is empty for "cleared"; `since` is
    when the (current or just ended) breach began."""

    kind: EventKind
    rule: str
    at: Instant
    holding: tuple[Held, ...]
    since: Instant

    def describe(self) -> str:
        """One line for an anomaly or timeline entry."""
        what = "; ".join(str(h) for h in self.holding)
        return f"{self.rule} {self.kind.replace('_', ' ')}" + (f": {what}" if what else "")


@dataclass(slots=True)
class RuleState:
    breached_since: Instant | None = None
    deadline: Instant | None = None  # breached_since + duration: fires at or after it
    firing: bool = False


def _deadline(since: Instant, duration: timedelta) -> Instant:
    if isinstance(since, datetime):
        return since + duration
    return since + duration.total_seconds()


class RuleTracker:
    """Per-rule breach state across evaluations (Prometheus `for` semantics).

    `update` returns, in order: "breach_started" when a breach begins; "fired" once it
    has held continuously for at least the rule's duration (same call if duration is 0);
    "still_firing" on later breached evaluations while firing (if `still_firing`);
    "cleared" when a firing rule stops being breached. A breach that ends before firing
    resets silently. `now` must not go backwards for a rule.
    """

    __slots__ = ("states", "still_firing")

    def __init__(self, *, still_firing: bool = True) -> None:
        self.states: dict[str, RuleState] = {}
        self.still_firing = still_firing

    def state(self, name: str) -> RuleState:
        state = self.states.get(name)
        if state is None:
            state = self.states[name] = RuleState()
        return state

    def restore(self, rule: RuleLike, breached_since: Instant | None, firing: bool) -> None:
        """Resume after a restart (e.g. from an open incident's dedup key)."""
        compiled = compile_rule(rule)
        deadline = None if breached_since is None else _deadline(breached_since, compiled.duration)
        self.states[compiled.name] = RuleState(breached_since, deadline, firing and breached_since is not None)

    def firing(self) -> list[str]:
        return [name for name, state in self.states.items() if state.firing]

    def update(self, rule: RuleLike, observations: Observations, now: Instant) -> list[RuleEvent]:
        compiled = compile_rule(rule)
        out: list[RuleEvent] = []
        self._step(compiled, self.state(compiled.name), _breached(compiled, observations), observations, now, out)
        return out

    def _step(self, rule: CompiledRule, state: RuleState, breached: bool, obs: Observations, now: Instant, out: list) -> None:
        if not breached:
            if state.breached_since is not None:
                if state.firing:
                    out.append(RuleEvent("cleared", rule.name, now, (), state.breached_since))
                state.breached_since = state.deadline = None
                state.firing = False
            return
        if state.breached_since is None:
            state.breached_since = now
            state.deadline = _deadline(now, rule.duration)
            out.append(RuleEvent("breach_started", rule.name, now, holding_conditions(rule, obs), now))
        elif state.firing:
            if self.still_firing:
                out.append(RuleEvent("still_firing", rule.name, now, holding_conditions(rule, obs), state.breached_since))
            return
        if now >= state.deadline:
            state.firing = True
            out.append(RuleEvent("fired", rule.name, now, holding_conditions(rule, obs), state.breached_since))

