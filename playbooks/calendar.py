"""Business-hours arithmetic for the "4 hours (business hours)" and "5 business days" targets.

All datetimes going in and out are naive UTC (the store's convention); the calendar's own
timezone is used only to decide what counts as a working hour.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in one timezone, with optional holidays."""

    timezone: str = "UTC"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_business_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and day not in self.holidays

    def _local(self, utc_naive: datetime) -> datetime:
        return utc_naive.replace(tzinfo=timezone.utc).astimezone(self.zone)

    def _utc(self, local: datetime) -> datetime:
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    def _opening(self, day: date) -> datetime:
        return datetime.combine(day, self.opens, tzinfo=self.zone)

    def _closing(self, day: date) -> datetime:
        return datetime.combine(day, self.closes, tzinfo=self.zone)

    def _next_business_day(self, day: date) -> date:
        day += timedelta(days=1)
        for _ in range(3660):  # ten years of holidays is a broken calendar, not a long wait
            if self.is_business_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("the business calendar has no working day in ten years")

    def _clamp_to_working_time(self, local: datetime) -> datetime:
        """The first working instant at or after `local`."""
        day = local.date()
        if self.is_business_day(day):
            if local < self._opening(day):
                return self._opening(day)
            if local < self._closing(day):
                return local
        return self._opening(self._next_business_day(day))

    def add_business_hours(self, start: datetime, hours: timedelta) -> datetime:
        """`start` plus `hours` of working time (nights, weekends and holidays don't count).

        Working time is measured in real (UTC) time, so a day on which the clocks change
        has one hour more or less to give.
        """
        local = self._clamp_to_working_time(self._local(start))
        remaining = hours
        while True:
            available = self._utc(self._closing(local.date())) - self._utc(local)
            if remaining <= available:
                return self._utc(local) + remaining
            remaining -= available
            local = self._opening(self._next_business_day(local.date()))

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """`start` moved `days` working days on, keeping its time of day.

        A start outside working time counts from the next opening.
        """
        local = self._clamp_to_working_time(self._local(start))
        day = local.date()
        for _ in range(days):
            day = self._next_business_day(day)
        return self._utc(datetime.combine(day, local.timetz()))
