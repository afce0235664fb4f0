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

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

from obligations.files import CatalogError, line_of_key, read_toml


class WorkdayFileError(CatalogError):
    """A working-day file that cannot be used; the message names the file, the line and the value."""


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


YEAR_KEYS = frozenset({"year", "source", "holidays", "workdays"})


def _read_year_file(path: Path) -> tuple[int, set[date], set[date]]:
    try:
        text, raw = read_toml(path)
    except CatalogError as exc:
        raise WorkdayFileError(exc.path, exc.line, exc.reason) from exc

    def error(reason: str, key: str | None = None) -> WorkdayFileError:
        return WorkdayFileError(path, line_of_key(text, key) if key else None, reason)

    for key in raw:
        if key not in YEAR_KEYS:
            raise error(f"未知字段 {key!r}（可用：year、source、holidays、workdays）", key)
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise error("缺少整数字段 year（如 year = 2027）", "year" if "year" in raw else None)
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise error("缺少字段 source（国务院通知的名称）", "source" if "source" in raw else None)
    result = []
    for key in ("holidays", "workdays"):
        days = raw.get(key, [])
        if not isinstance(days, list):
            raise error(f"{key} 必须是日期的列表，如 [{year}-01-01]", key)
        for value in days:
            if isinstance(value, str):
                raise error(f"{key} 中的值 {value!r} 是文字：日期不加引号，写作 {value.strip(chr(34))}", key)
            if not isinstance(value, date) or value.year != year:
                raise error(f"{key} 中的值 {value} 不是 {year} 年的日期", key)
        result.append(set(days))
    return year, result[0], result[1]
