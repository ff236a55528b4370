"""[schedules.*]: who is on call — a rotation of [contacts.*] people in a named time zone, with
optional higher layers (a business-hours rotation over a follow-the-sun one, say) that win
where their restriction applies. Resolution is playbooks/schedules.py; overrides are stored
(store/oncall.py), not configured."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from typing_extensions import TypeAliasType

from playbooks.config.table import Table
from playbooks.durations import ACCEPTED as DURATION_ACCEPTED, parse_duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
START_ACCEPTED = ('ISO 8601 with an offset, like "2026-03-02T09:00:00+01:00", or without one, '
                  'read in the schedule\'s time zone, like "2026-03-02T09:00"')


def _unknown_keys(cls: type[Table], data: Any) -> Any:
    """A layer and its restriction are values inside a schedule table, so the reader cannot
    name their keys in its refusal; each says its own accepted keys."""
    if isinstance(data, dict):
        unknown = [key for key in data if key not in cls.model_fields]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a known key; accepted: {', '.join(cls.model_fields)}")
    return data


def checked_rotation(text: str) -> timedelta:
    rotation = parse_duration(text)
    if rotation < timedelta(minutes=1):
        raise ValueError(f"{text!r} is shorter than a minute; accepted: {DURATION_ACCEPTED}, at least 1m")
    return rotation


def checked_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone; accepted: an IANA name like "
                         '"Europe/Berlin", "America/New_York" or "UTC"') from None


def parsed_start(text: str, zone: ZoneInfo) -> datetime:
    """The first handoff as an aware instant; without an offset it is read in `zone`."""
    try:
        start = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time; accepted: {START_ACCEPTED}") from None
    return start.replace(tzinfo=zone) if start.tzinfo is None else start


class Restriction(Table):
    """When a layer applies, on the schedule's wall clock: on these days, from `start` until
    `end` (an `end` at or before `start` runs past midnight; equal: the whole day)."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=1, description="days a window starts on")
    start: str = Field("00:00", description='local time the window opens, "HH:MM"')
    end: str = Field("00:00", description='local time the window closes, "HH:MM"')

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, text: str) -> str:
        if not _CLOCK.fullmatch(text):
            raise ValueError(f'{text!r} is not a time of day; accepted: "HH:MM" from "00:00" to "23:59"')
        return text

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return _unknown_keys(cls, data)

    def clock(self, which: str) -> time:
        hours, minutes = getattr(self, which).split(":")
        return time(int(hours), int(minutes))


class ScheduleLayer(Table):
    """A higher layer of a schedule: its own rotation, and where its restriction applies it wins
    over the layers below (the schedule's own rotation is the lowest)."""

    members: list[str] = Field(min_length=1, description="names of [contacts.NAME] tables, in turn order")
    rotation: str = Field(description="how long each turn lasts")
    start: str = Field(description="the first handoff")
    restrict: Restriction | None = Field(None, description="when the layer applies (default: always)")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return _unknown_keys(cls, data)

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, text: str) -> str:
        checked_rotation(text)
        return text

    @field_validator("start")
    @classmethod
    def _start(cls, text: str) -> str:
        parsed_start(text, ZoneInfo("UTC"))  # the form; the zone is the schedule's
        return text


# The documents generated from the model (reports/configuration.py) give every Table class a
# section of its own under a fixed header, which a list inside a [schedules.NAME] table cannot
# have; named as an alias, a layer is documented as a plain key ("list of tables") and written
# as inline tables, while `config show` still prints each one as [[schedules.NAME.layers]].
LayerTable = TypeAliasType("table", ScheduleLayer)


class Schedule(Table):
    """An on-call schedule: `members` take turns of `rotation` from `start` (the first handoff),
    counted on the wall clock of `timezone`, so a daily 09:00 handoff stays at 09:00 across
    daylight-saving changes. Higher `layers` win where their restriction applies; overrides
    (`incident-response oncall override`) win over all. `incident-response oncall` says who is
    on call now and until when."""

    members: list[str] = Field(min_length=1, description="names of [contacts.NAME] tables, in turn order",
                               examples=[["cto"]])
    rotation: str = Field(description='how long each turn lasts: "12h", "1d", "1w"', examples=["1w"])
    start: str = Field(description=f"the first handoff: {START_ACCEPTED}", examples=["2026-01-05T09:00"])
    timezone: str = Field("UTC", description="IANA time zone the rotation and restrictions are counted in",
                          examples=["Europe/Berlin"])
    layers: list[LayerTable] = Field(default_factory=list, description=(
        "higher layers, lowest first, each with `members`, `rotation`, `start` and an optional "
        '`restrict = { days = ["mon", …], start = "09:00", end = "17:00" }`; written as '
        "[[schedules.NAME.layers]] tables"), examples=[[{
            "members": ["cto"], "rotation": "1d", "start": "2026-01-05T09:00",
            "restrict": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}}]])

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, text: str) -> str:
        checked_rotation(text)
        return text

    @field_validator("start")
    @classmethod
    def _start(cls, text: str) -> str:
        parsed_start(text, ZoneInfo("UTC"))  # the form; the zone is the schedule's
        return text

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        checked_zone(name)
        return name

    def all_members(self) -> list[str]:
        """Everyone the schedule names, its layers included, each once."""
        names = list(self.members)
        for layer in self.layers:
            names += [name for name in layer.members if name not in names]
        return list(dict.fromkeys(names))
