"""Who is on call: a schedule ([schedules.NAME], playbooks/config/oncall.py) and its overrides
resolved at an instant — the person, until when, and the handoffs after. Pure: no I/O, every
instant is given (aware datetimes; naive ones are read as UTC, as the store keeps them).

The semantics are those of layered schedules as PagerDuty and GoAlert have them:
- A layer's members take turns of `rotation` from `start`, round and round.
- Time is the schedule's wall clock. A rotation is counted in local time — handoff k is at
  start + k x rotation on the clock of the schedule's zone — so a "1d" rotation starting at
  09:00 Europe/Berlin hands off at 09:00 every day, before and after the March and October
  changes: the turn across the change lasts 23 or 25 hours. (The other choice, elapsed
  hours, would move the handoff to 08:00 or 10:00 for half the year; nobody wants that.)
  Sub-day rotations are counted the same way: "12h" from 09:00 stays 09:00 / 21:00.
  A handoff whose local time the change skips (02:30 on the spring morning) happens at the
  same offset as before the jump, i.e. 03:30 on the clock; one in the hour the autumn change
  repeats happens the first time that hour is shown (zoneinfo's fold=0 both times).
- A restriction is windows on the same wall clock: on each listed day from `start` to `end`.
  It does not stop the rotation: outside its windows a layer still turns, it just does not
  apply (PagerDuty's "restrictions"), so who is on it inside a window is whoever's turn it is.
- The highest layer that applies wins; the schedule's own rotation is the lowest and always
  applies. An override (person, from, until) wins over every layer; of overlapping
  overrides the one created last wins.

Resolution walks only the instants where something can change (handoffs, window edges,
override edges), never minute by minute: a year of a five-layer daily schedule is a few
thousand steps.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from playbooks.config.oncall import WEEKDAYS, Restriction, Schedule, checked_rotation, parsed_start

UTC = timezone.utc
# How far ahead "until" looks before saying the turn has no end (one person, no layers).
HORIZON = timedelta(days=800)
_FIRST_LOOK = timedelta(days=35)


@dataclass(frozen=True)
class Override:
    """Someone on call for a schedule from `starts_at` until `ends_at`, over its layers.
    `order` breaks ties between overlapping overrides: the higher (created later) wins."""

    schedule: str
    person: str
    starts_at: datetime
    ends_at: datetime
    order: int = 0
    id: int | None = None


@dataclass(frozen=True)
class Shift:
    """One person on call from `starts_at` until `ends_at` (None: no handoff within the
    horizon). `overridden`: an override, not the rotation, put them there."""

    person: str
    starts_at: datetime
    ends_at: datetime | None
    overridden: bool = False


@dataclass(frozen=True)
class OnCall:
    """The answer for one schedule at one instant."""

    schedule: str
    person: str
    until: datetime | None
    overridden: bool
    next: tuple[Shift, ...]  # the shifts after the current one, in order


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class _Layer:
    """One rotation, with its handoffs computed by index rather than by walking."""

    def __init__(self, members: list[str], rotation: str, start: str, zone: ZoneInfo,
                 restrict: Restriction | None) -> None:
        self.members = list(members)
        self.zone = zone
        self.rotation = checked_rotation(rotation)
        begin = parsed_start(start, zone).astimezone(zone)
        self.local_start = begin.replace(tzinfo=None)  # the wall-clock origin of every handoff
        self.restrict = restrict
        # Handoffs and restriction windows are asked for again and again while a span is
        # resolved (every edge of every layer asks each layer); each costs zone conversions.
        self._handoffs: dict[int, datetime] = {}
        self._windows: dict[date, tuple[datetime, datetime] | None] = {}
        if restrict is not None:
            self.days = {WEEKDAYS.index(day) for day in restrict.days}
            self.opens, self.closes = restrict.clock("start"), restrict.clock("end")

    def _instant(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)  # fold=0: see the module's note

    def handoff(self, k: int) -> datetime:
        moment = self._handoffs.get(k)
        if moment is None:
            moment = self._handoffs[k] = self._instant(self.local_start + self.rotation * k)
        return moment

    def turn(self, moment: datetime) -> int:
        """The index k of the turn holding `moment`: handoff(k) <= moment < handoff(k + 1)."""
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        k = math.floor((local - self.local_start) / self.rotation)
        while self.handoff(k + 1) <= moment:  # the wall clock and the instant differ by an hour at most
            k += 1
        while self.handoff(k) > moment:
            k -= 1
        return k

    def person(self, moment: datetime) -> str:
        # Before the first handoff the rotation runs backwards too: the schedule is defined at
        # every instant, so a `start` in the future is not a gap.
        return self.members[self.turn(moment) % len(self.members)]

    def applies(self, moment: datetime) -> bool:
        if self.restrict is None:
            return True
        local_day = moment.astimezone(self.zone).date()
        for day in (local_day, local_day - timedelta(days=1)):
            window = self._window(day)
            if window and window[0] <= moment < window[1]:
                return True
        return False

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day in self._windows:
            return self._windows[day]
        window = None
        if day.weekday() in self.days:
            opens = self._instant(datetime.combine(day, self.opens))
            end_day = day if self.closes > self.opens else day + timedelta(days=1)
            window = opens, self._instant(datetime.combine(end_day, self.closes))
        self._windows[day] = window
        return window

    def edges(self, start: datetime, end: datetime) -> list[datetime]:
        """Every instant in (start, end) where this layer may change: its handoffs and its
        windows' edges."""
        found = []
        k = self.turn(start) + 1
        while (moment := self.handoff(k)) < end:
            found.append(moment)
            k += 1
        if self.restrict is not None:
            day = start.astimezone(self.zone).date() - timedelta(days=1)
            last = end.astimezone(self.zone).date()
            while day <= last:
                window = self._window(day)
                if window:
                    found += [edge for edge in window if start < edge < end]
                day += timedelta(days=1)
        return found


class Resolver:
    """A schedule made ready to answer many questions (the layers parsed once)."""

    def __init__(self, name: str, schedule: Schedule, overrides: list[Override] | tuple[Override, ...] = ()) -> None:
        self.name = name
        zone = ZoneInfo(schedule.timezone)
        # Highest first: the first that applies wins.
        self.layers = [_Layer(layer.members, layer.rotation, layer.start, zone, layer.restrict)
                       for layer in reversed(schedule.layers)]
        self.layers.append(_Layer(schedule.members, schedule.rotation, schedule.start, zone, None))
        mine = [o for o in overrides if o.schedule == name and aware(o.ends_at) > aware(o.starts_at)]
        self.overrides = sorted(mine, key=lambda o: o.order, reverse=True)
        # Their spans as aware instants once, and who wins between each pair of neighbouring
        # edges (nothing starts or ends inside such a piece, so one answer holds for all of
        # it): an instant is then a bisection, not a pass over every override.
        self._spans = [(aware(o.starts_at), aware(o.ends_at), o.person) for o in self.overrides]
        self._override_edges = sorted({edge for starts, ends, _person in self._spans for edge in (starts, ends)})
        self._override_winners = [next((person for starts, ends, person in self._spans if starts <= edge < ends), None)
                                  for edge in self._override_edges]

    def _who(self, moment: datetime) -> tuple[str, bool]:
        piece = bisect_right(self._override_edges, moment) - 1
        if piece >= 0 and self._override_winners[piece] is not None:
            return self._override_winners[piece], True
        for layer in self.layers:
            if layer.applies(moment):
                return layer.person(moment), False
        raise AssertionError("the lowest layer always applies")

    def shifts(self, start: datetime, end: datetime) -> list[Shift]:
        """Who is on call from `start` to `end`, as shifts (neighbours with the same person
        and the same cause merged); the last one ends at `end` or later (None past it)."""
        start, end = aware(start).astimezone(UTC), aware(end).astimezone(UTC)
        edges = {start}
        for layer in self.layers:
            edges.update(layer.edges(start, end))
        for starts, ends, _person in self._spans:
            edges.update(e for e in (starts, ends) if start < e < end)
        ordered = sorted(edges)
        shifts: list[Shift] = []
        for moment in ordered:
            person, overridden = self._who(moment)
            if shifts and shifts[-1].person == person and shifts[-1].overridden == overridden:
                continue
            if shifts:
                shifts[-1] = Shift(shifts[-1].person, shifts[-1].starts_at, moment, shifts[-1].overridden)
            shifts.append(Shift(person, moment, None, overridden))
        return shifts

    def at(self, moment: datetime, handoffs: int = 3) -> OnCall:
        """Who is on call at `moment`, until when, and the next `handoffs` shifts. Looks a
        month ahead, then further (to HORIZON) only while that is not enough."""
        moment = aware(moment).astimezone(UTC)
        look = _FIRST_LOOK
        while True:
            shifts = self.shifts(moment, moment + look)
            if len(shifts) > handoffs + 1 or look >= HORIZON:
                break
            look = min(look * 4, HORIZON)
        shifts = shifts[:handoffs + 1]  # a shift followed by another has its end set
        first = shifts[0]
        return OnCall(self.name, first.person, first.ends_at, first.overridden, tuple(shifts[1:]))


def on_call(name: str, schedule: Schedule, moment: datetime, overrides=(), handoffs: int = 3) -> OnCall:
    """Who is on call on schedule `name` at `moment` (see Resolver.at)."""
    return Resolver(name, schedule, overrides).at(moment, handoffs)


def iso(moment: datetime | None, zone: str | None = None) -> str | None:
    """An instant as ISO 8601: in UTC with Z, or in `zone` with its offset."""
    if moment is None:
        return None
    moment = aware(moment)
    if zone:
        return moment.astimezone(ZoneInfo(zone)).isoformat()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["HORIZON", "OnCall", "Override", "Resolver", "Shift", "iso", "on_call"]
