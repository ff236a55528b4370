"""[heartbeats.*]: dead-man's switches — a job that should report by `POST /heartbeat/NAME` on
`incident-response serve` every `interval`; silent past `interval` + `grace`, it opens an
incident (playbooks/heartbeats.py says when; `watch` checks)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from playbooks.config.table import Table
from playbooks.durations import ACCEPTED as DURATION_ACCEPTED, parse_duration
from playbooks.severities import canonical_severity

# A heartbeat's name is a path segment of its URL: kept to what needs no escaping there.
HEARTBEAT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NAME_ACCEPTED = "letters, digits, '_', '.' and '-', starting with a letter or digit, at most 100"
MIN_INTERVAL = timedelta(minutes=1)  # the watch loop looks every 15 s: a shorter one could not be kept


class Heartbeat(Table):
    """A heartbeat (dead-man's switch): the job `POST`s to `/heartbeat/NAME` on `serve` (with the
    alert endpoints' token or signature) at least every `interval`. When nothing came for
    `interval` + `grace` (counted from when `watch` first saw it, before the first beat), `watch`
    opens one incident "No heartbeat from NAME since …" (dedup key `heartbeat:NAME`); the next
    beat clears and resolves it."""

    interval: str = Field(description='how often the job reports: "1h", "15m", "1d" (at least 1m)',
                          examples=["1h"])
    grace: str = Field("5m", description='how late a beat may be before it counts as missed ("0s": none)',
                       examples=["5m"])
    severity: str = Field("SEV-2", description="severity of the incident a miss opens (SEV-1..SEV-4 or an alias)")
    type: str = Field("outage", description="type of the incident a miss opens (a workflow: outage, security, …)")
    service: str | None = Field(None, description="the service the incident names", examples=["nightly-backup"])
    environment: Literal["production", "staging", "development"] = Field(
        "production", description="environment of the incident a miss opens")
    labels: dict[str, str] = Field(default_factory=dict, description=(
        "labels recorded with the incident (what silences and grouping match on)"),
        examples=[{"team": "storage"}])

    @field_validator("interval")
    @classmethod
    def _interval(cls, text: str) -> str:
        if parse_duration(text) < MIN_INTERVAL:
            raise ValueError(f"{text!r} is shorter than a minute; accepted: {DURATION_ACCEPTED}, at least 1m")
        return text

    @field_validator("grace")
    @classmethod
    def _grace(cls, text: str) -> str:
        parse_duration(text)
        return text

    @field_validator("severity")
    @classmethod
    def _severity(cls, text: str) -> str:
        level = canonical_severity(text)
        if level is None:
            raise ValueError(f"{text!r} is not a severity; accepted: SEV-1..SEV-4, critical/high/medium/low, "
                             "p1..p4 or 1..4")
        return level

    @field_validator("type")
    @classmethod
    def _type(cls, text: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,63}", text):
            raise ValueError(f"{text!r} is not an incident type; accepted: a workflow name like "
                             '"outage", "security", "performance", "data" or "integration"')
        return text

    @field_validator("service")
    @classmethod
    def _service(cls, text: str | None) -> str | None:
        if text is not None and (not text.strip() or not text.isprintable() or len(text) > 200):
            raise ValueError(f"{text!r} is not a service name; accepted: printable text of 1 to 200 characters")
        return text

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,99}", key):
                raise ValueError(f"{key!r} is not a label name; accepted: letters, digits and '_', not starting "
                                 "with a digit")
            if not value.isprintable() or len(value) > 500:
                raise ValueError(f"label {key!r} has a value with control characters or over 500 characters; "
                                 "accepted: printable text")
        return labels

    def interval_delta(self) -> timedelta:
        return parse_duration(self.interval)

    def grace_delta(self) -> timedelta:
        return parse_duration(self.grace)


def checked_heartbeat_names(names) -> None:
    """Raises ValueError (one sentence) for a name that cannot be a path segment of /heartbeat/NAME."""
    for name in names:
        if not HEARTBEAT_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a heartbeat name; accepted: {NAME_ACCEPTED} characters")
