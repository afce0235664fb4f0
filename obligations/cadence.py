"""Periods and dated occurrences: what an obligation expects, and when.

A cadence turns a window of dates into `Period`s. Every period has a key (DOMAIN.md):
`2026-10` month, `2026-Q4` quarter, `2026-H2` half year, `2026` year, `2026-10-10` a dated
occurrence keyed by its nominal date, and `2026-04-15/2031-04-14` a term.

A period matches the records held from `start` to `end` (inclusive). Of those, a record is on
time when it was held from `window_start` to `due`, and, for dated occurrences, on one of `days`.
A period ends at midnight after `due` (Asia/Shanghai): as of `due` itself it is still open.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterator, Protocol

from dateutil.relativedelta import relativedelta
from dateutil.rrule import MONTHLY, rrule

from obligations.workdays import WorkdayCalendar

UNIT_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}
WINDOWS = {"Q1": (1, 3), "Q2": (4, 6), "Q3": (7, 9), "Q4": (10, 12), "H1": (1, 6), "H2": (7, 12)}


@dataclass(frozen=True)
class Period:
    """One period or occurrence of an obligation."""

    key: str
    start: date
    end: date
    due: date
    window_start: date
    days: frozenset[date] | None = None

    def contains(self, day: date) -> bool:
        """Return True when a record held on `day` belongs to this period."""
        return self.start <= day <= self.end

    def on_time(self, day: date) -> bool:
        """Return True when a record held on `day` satisfies this period."""
        if not self.window_start <= day <= self.due:
            return False
        return self.days is None or day in self.days


class Cadence(Protocol):
    def periods(self, first: date, last: date) -> list[Period]:
        """Return the periods that overlap the window from `first` to `last`, in order."""


@lru_cache(maxsize=4096)
def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def year_before(day: date) -> date:
    """Return the same day a year before `day` (29 February: 28 February): one who joined the Party after it had not
    been a member a year on `day`, so was no full member then (转正 a year after joining)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return date(day.year - 1, 2, 28)


def month_end(day: date) -> date:
    """Return the last day of `day`'s month (28, 29, 30 or 31)."""
    return _month_end(day.year, day.month)


def next_month_end(day: date) -> date:
    """Return the last day of the month after `day`'s (2026-01-31 -> 2026-02-28)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return _month_end(year, month)


def period_key(unit: str, start: date) -> str:
    """Return the key of the calendar period of `unit` starting on `start`."""
    if unit == "monthly":
        return f"{start.year}-{start.month:02d}"
    if unit == "quarterly":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if unit == "half_yearly":
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    return f"{start.year}"


@dataclass(frozen=True)
class CalendarCadence:
    """Calendar months, quarters, half years or years; optionally only part of a year counts.

    `window` ("Q4", "H1", ...) restricts a yearly obligation to part of the year: "at year end"
    is the fourth quarter. Records held elsewhere in the year still match the period, late or
    early, so that they can be reported as held at the wrong time.
    """

    unit: str
    window: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNIT_MONTHS:
            raise ValueError(f"unknown calendar unit {self.unit!r}")
        if self.window is not None and (self.unit != "yearly" or self.window not in WINDOWS):
            raise ValueError(f"window {self.window!r} needs a yearly cadence and one of {sorted(WINDOWS)}")

    def _unit_start(self, day: date) -> date:
        months = UNIT_MONTHS[self.unit]
        return date(day.year, (day.month - 1) // months * months + 1, 1)

    def periods(self, first: date, last: date) -> list[Period]:
        months = UNIT_MONTHS[self.unit]
        result = []
        start = self._unit_start(first)
        while start <= last:
            end = start + relativedelta(months=months, days=-1)
            window_start, due = start, end
            if self.window:
                lo, hi = WINDOWS[self.window]
                window_start = date(start.year, lo, 1)
                due = month_end(date(start.year, hi, 1))
            result.append(Period(period_key(self.unit, start), start, end, due, window_start))
            start = end + timedelta(days=1)
        return result


@dataclass(frozen=True)
class DatedCadence:
    """Fixed days of every month (固定学习日 on the 10th and the 20th).

    Each occurrence is keyed by its nominal date and matches records up to the day before the
    next occurrence; `periods` lists the occurrences whose nominal date is in the window. With `shift_to_workday`, a nominal date that is a rest day may be kept on
    the next working day instead: both days count, and `due` is the shifted one. Days are 1 to 28,
    so that every month has each of them.
    """

    days: tuple[int, ...]
    calendar: WorkdayCalendar
    shift_to_workday: bool = False

    def __post_init__(self) -> None:
        if not self.days or any(not 1 <= d <= 28 for d in self.days):
            raise ValueError(f"days of the month must be 1 to 28, got {self.days!r}")

    def _nominal(self, first: date, last: date) -> Iterator[date]:
        rule = rrule(MONTHLY, bymonthday=sorted(set(self.days)), dtstart=first.replace(day=1), until=last)
        return (d.date() for d in rule)

    def periods(self, first: date, last: date) -> list[Period]:
        # One month either side so the first and last occurrences know their neighbours.
        lo = first.replace(day=1) - relativedelta(months=1)
        hi = month_end(last + relativedelta(months=1))
        nominal = list(self._nominal(lo, hi))
        result = []
        for here, following in zip(nominal, nominal[1:]):
            if not first <= here <= last:
                continue
            end = following - timedelta(days=1)
            due = self.calendar.next_workday(here) if self.shift_to_workday else here
            result.append(Period(here.isoformat(), here, max(end, due), due, here, frozenset({here, due})))
        return result


@dataclass(frozen=True)
class TermCadence:
    """Committee terms of N years (换届), counted from the election that opened each term."""

    years: int

    def __post_init__(self) -> None:
        if self.years < 1:
            raise ValueError(f"a term lasts at least one year, got {self.years}")

    def term(self, elected_on: date, years: int | None = None) -> Period:
        """Return the term opened by an election on `elected_on`: keyed by its interval, due on its anniversary.

        A committee elected 2021-11-20 for 5 years serves 2021-11-20/2026-11-19; the next election
        is due by 2026-11-20 (a term from 29 February ends on 28 February). The term is "due"
        (warned about) from six months before that date; before then it is upcoming. An early
        election, at most one year early (选举工作条例 2020), is on time (see `early_limit`).
        """
        n = years or self.years
        due = elected_on + relativedelta(years=n)
        end = due - timedelta(days=1)
        warn_from = due - relativedelta(months=6)
        return Period(f"{elected_on.isoformat()}/{end.isoformat()}", elected_on, end, due, warn_from)

    @staticmethod
    def delay_limit(term: Period) -> date:
        """Return the latest deadline an approved delay may set for `term`: one year after it is due."""
        return term.due + relativedelta(years=1)

    @staticmethod
    def early_limit(term: Period) -> date:
        """Return the earliest day an election counts as on time for `term`: one year before it is due."""
        return term.due - relativedelta(years=1)

    def periods(self, first: date, last: date) -> list[Period]:
        return []


_KEY_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})/(\d{4})-(\d{2})-(\d{2})$"), "term"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarterly"),
    (re.compile(r"^(\d{4})-H([12])$"), "half_yearly"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "monthly"),
    (re.compile(r"^(\d{4})$"), "yearly"),
]


@lru_cache(maxsize=4096)
def parse_period_key(key: str) -> tuple[date, date]:
    """Return the first and last day of the period a key names; ValueError when it names none.

    Cached: a province's ledger names a few hundred periods in hundreds of thousands of items,
    and each parse costs ~10 µs (a relativedelta for the last day).
    """
    for pattern, kind in _KEY_PATTERNS:
        m = pattern.match(key)
        if not m:
            continue
        n = [int(g) for g in m.groups()]
        if kind == "term":
            return date(n[0], n[1], n[2]), date(n[3], n[4], n[5])
        if kind == "day":
            d = date(n[0], n[1], n[2])
            return d, d
        if kind == "yearly":
            return date(n[0], 1, 1), date(n[0], 12, 31)
        months = UNIT_MONTHS[kind]
        index = n[1] - 1 if kind == "monthly" else (n[1] - 1) * months
        if kind == "monthly" and not 1 <= n[1] <= 12:
            break
        start = date(n[0], index + 1, 1)
        return start, start + relativedelta(months=months, days=-1)
    raise ValueError(f"not a period key: {key!r}")
