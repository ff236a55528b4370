"""Silences (maintenance windows): which alerts and rule breaches declare and page nothing for
a while. Pure: no I/O, every instant is given (naive UTC, as the store keeps them, or aware).

A silence is matchers over labels, a span [starts_at, ends_at) and a reason, as Alertmanager
has them. An alert is silenced when an active silence's every matcher matches its labels:

- `label=value` matches when the label equals the value exactly; `label!=value` when it
  does not. A label the alert lacks counts as the empty string (Alertmanager's rule), so
  `team!=db` matches an alert with no `team` label and `team=` matches only such alerts.
- Regular expressions (`=~`) are not accepted: a pattern typed by a person would run against
  every alert the receiver takes, and Python's backtracking engine can take exponential time
  on a hostile one. Equality covers what maintenance windows name (a service, an instance,
  an alertname, a cluster).

A silence is active from its start until its end, or until it was expired by hand: the check
is made at the instant of matching, so a silence ends by itself without any job running.

A rule breach of rules.toml is matched like an alert whose labels are the rule's own
(`rule_labels`): `alertname` and `rule` are the rule's name, plus its service, environment,
severity and type where it has them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping

from playbooks.errors import PolicyValueError

OPERATORS = ("!=", "=")  # longest first: "a!=b" is not "a!" = "b"
# Prometheus's label-name grammar: what an alert's labels can be named.
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_VALUE = 200
MATCHER_ACCEPTED = "label=value or label!=value, the label a name like service or alertname"


@dataclass(frozen=True)
class Matcher:
    """One condition on a label: `label=value` (equal) or `label!=value` (not equal)."""

    label: str
    value: str
    equal: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        return (labels.get(self.label, "") == self.value) == self.equal

    def __str__(self) -> str:
        return f"{self.label}{'=' if self.equal else '!='}{self.value}"


@dataclass(frozen=True)
class Silence:
    """A silence as matching sees it (the store's row: store/silences.py)."""

    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    expired_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        """In force at `at`: started, not yet ended, not expired by hand before it."""
        at = _naive(at)
        if self.expired_at is not None and _naive(self.expired_at) <= at:
            return False
        return _naive(self.starts_at) <= at < _naive(self.ends_at)

    def silences(self, labels: Mapping[str, str], at: datetime) -> bool:
        """Active at `at` and every matcher matches."""
        return self.active(at) and matches(self.matchers, labels)


def parse_matcher(text: str) -> Matcher:
    """`label=value` or `label!=value`; raises PolicyValueError (one sentence)."""
    raw = str(text)
    if "=~" in raw or "!~" in raw:
        raise PolicyValueError(f"the matcher {raw!r} is a regular expression, which silences do not take; "
                               f"accepted: {MATCHER_ACCEPTED}")
    for operator in OPERATORS:
        label, found, value = raw.partition(operator)
        if found:
            break
    else:
        raise PolicyValueError(f"the matcher {raw!r} has no = or !=; accepted: {MATCHER_ACCEPTED}")
    label = label.strip()
    if not LABEL_NAME.match(label):
        raise PolicyValueError(f"the matcher {raw!r} names no label ({label!r}); accepted: {MATCHER_ACCEPTED}")
    if len(value) > MAX_VALUE:
        raise PolicyValueError(f"the matcher {label}'s value is {len(value)} characters long; "
                               f"accepted: at most {MAX_VALUE}")
    bad = next((c for c in value if ord(c) < 32 or 127 <= ord(c) < 160 or "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise PolicyValueError(f"the matcher {label}'s value contains {bad!r}; accepted: printable UTF-8 text")
    return Matcher(label, value, equal=operator == "=")


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """At least one matcher; a silence of nothing would silence everything."""
    matchers = tuple(parse_matcher(text) for text in texts)
    if not matchers:
        raise PolicyValueError(f"a silence needs at least one matcher; accepted: --match {MATCHER_ACCEPTED}")
    if all(not m.equal or m.value == "" for m in matchers):
        # Only "not equal" or "absent" conditions match almost every alert there is.
        raise PolicyValueError("a silence needs at least one matcher label=value with a value; accepted: "
                               "--match service=checkout and the like, with != to narrow it")
    return matchers


def matches(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Every matcher matches the labels (and there is at least one)."""
    matchers = tuple(matchers)
    return bool(matchers) and all(m.matches(labels) for m in matchers)


def silencing(silences: Iterable[Silence], labels: Mapping[str, str], at: datetime) -> Silence | None:
    """The first (oldest) silence in force at `at` whose matchers all match, or None."""
    return next((s for s in sorted(silences, key=lambda s: s.id) if s.silences(labels, at)), None)


def rule_labels(rule: str, *, service: str | None = None, environment: str | None = None,
                severity: str | None = None, incident_type: str | None = None) -> dict[str, str]:
    """The labels a rule breach is matched by: its name as alertname and rule, and what it opens."""
    labels = {"alertname": rule, "rule": rule}
    for name, value in (("service", service), ("environment", environment), ("severity", severity),
                        ("type", incident_type)):
        if value:
            labels[name] = value
    return labels


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
