"""China's working-day calendar: weekends, public holidays and the State Council's 调休 swaps.

The base data comes from the `chinese_calendar` package, which follows the State Council's
yearly notice. Years it does not know yet (the notice for next year usually comes out in
November) are added as files `data/workdays/YYYY.toml`:

    year = 2027
    source = "国务院办公厅关于2027年部分节假日安排的通知"
    holidays = [2027-01-01, ...]    # rest days that fall on a weekday
    workdays = [2027-02-06, ...]    # weekend days that are working days (调休)

A file's dates override the package for that year.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar


class WorkdayFileError(ValueError):
    """A working-day file that cannot be used; the message names the file and the value."""


@dataclass(frozen=True)
class WorkdayCalendar:
    """Answers whether a date is a working day in mainland China."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    years: frozenset[int] = field(default_factory=frozenset)      # the years whose notice it holds

    def missing_years(self, first: date, last: date) -> list[int]:
        """Return the years from `first` to `last` whose holidays it does not know: there only weekends are rest days."""
        return [year for year in range(first.year, last.year + 1) if year not in self.years]

    def is_workday(self, day: date) -> bool:
        """Return True when `day` is a working day (a 调休 Saturday counts as one)."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """Return `day` itself when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day


def load_calendar(folder: Path | None = None) -> WorkdayCalendar:
    """Return the package's calendar extended and overridden by the files in `folder`."""
    holidays = set(chinese_calendar.holidays)
    workdays = set(chinese_calendar.workdays)
    years = {d.year for d in holidays}
    for path in sorted(folder.glob("*.toml")) if folder and folder.is_dir() else []:
        year, extra_holidays, extra_workdays = _read_year_file(path)
        holidays = {d for d in holidays if d.year != year} | extra_holidays
        workdays = {d for d in workdays if d.year != year} | extra_workdays
        years.add(year)
    return WorkdayCalendar(frozenset(holidays), frozenset(workdays), frozenset(years))


def _read_year_file(path: Path) -> tuple[int, set[date], set[date]]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WorkdayFileError(f"{path}: {exc}") from exc
    year = raw.get("year")
    if not isinstance(year, int):
        raise WorkdayFileError(f"{path}: 缺少整数字段 year")
    if not raw.get("source"):
        raise WorkdayFileError(f"{path}: 缺少字段 source（国务院通知的名称）")
    result = []
    for key in ("holidays", "workdays"):
        days = raw.get(key, [])
        for value in days:
            if not isinstance(value, date) or value.year != year:
                raise WorkdayFileError(f"{path}: {key} 中的值 {value} 不是 {year} 年的日期")
        result.append(set(days))
    return year, result[0], result[1]
