"""The periods a report covers: a UTC calendar month or year by declared_at, the one before
it, and the window the charts show. Pure: no store, no clock of its own.

A month is [YYYY-MM-01 00:00, the next month's first day 00:00) in UTC; a year likewise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from playbooks.errors import PolicyValueError

CHART_MONTHS = 6
MONTH_FORM = re.compile(r"([0-9]{4})-([0-9]{2})")
YEAR_FORM = re.compile(r"[0-9]{4}")


@dataclass(frozen=True)
class Period:
    kind: str  # month | year
    key: str  # YYYY-MM or YYYY
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y") if self.kind == "month" else self.key

    def previous(self) -> "Period":
        if self.kind == "year":
            return year_period(self.start.year - 1)
        last = self.start - timedelta(days=1)
        return month_period(last.year, last.month)

    def next(self) -> "Period":
        return year_period(self.end.year) if self.kind == "year" else month_period(self.end.year, self.end.month)

    def months(self) -> list["Period"]:
        if self.kind == "month":
            return [self]
        return [month_period(self.start.year, m) for m in range(1, 13)]


def month_period(year: int, month: int) -> Period:
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return Period("month", f"{year:04d}-{month:02d}", start, end)


def year_period(year: int) -> Period:
    return Period("year", f"{year:04d}", datetime(year, 1, 1), datetime(year + 1, 1, 1))


def parse_month(text: str) -> Period:
    """"2024-01" -> that month; anything else is one sentence naming what is accepted."""
    match = MONTH_FORM.fullmatch(str(text).strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise PolicyValueError(f"month {text} is not a month; accepted: YYYY-MM")
    return month_period(int(match[1]), int(match[2]))


def parse_year(text: str) -> Period:
    if not YEAR_FORM.fullmatch(str(text).strip()) or int(text) < 1900:
        raise PolicyValueError(f"year {text} is not a year; accepted: YYYY")
    return year_period(int(text))


def current_month(now: datetime) -> Period:
    """The month `now` is in (a report of it is month-to-date)."""
    return month_period(now.year, now.month)


def chart_window(period: Period) -> Period:
    """What the charts show: the 6 months up to a month's end, or the year itself."""
    if period.kind == "year":
        return period
    first = period
    for _ in range(CHART_MONTHS - 1):
        first = first.previous()
    return Period("window", f"{first.key}..{period.key}", first.start, period.end)
