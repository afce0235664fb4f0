"""The working-day calendar and the yearly files an office adds for years the package lacks."""

from datetime import date
from pathlib import Path

import pytest

from obligations.workdays import WorkdayFileError, load_calendar


def test_package_knows_2026_swaps():
    calendar = load_calendar()
    assert calendar.is_workday(date(2026, 2, 14))       # Saturday, 调休
    assert not calendar.is_workday(date(2026, 10, 1))   # 国庆
    assert not calendar.is_workday(date(2026, 11, 22))  # an ordinary Sunday


def test_a_year_file_adds_holidays_and_working_saturdays(tmp_path: Path):
    (tmp_path / "2031.toml").write_text(
        'year = 2031\nsource = "国务院办公厅关于2031年部分节假日安排的通知"\n'
        "holidays = [2031-01-01, 2031-10-01]\nworkdays = [2031-01-04]\n", encoding="utf-8")
    calendar = load_calendar(tmp_path)
    assert not calendar.is_workday(date(2031, 1, 1))
    assert calendar.is_workday(date(2031, 1, 4))        # a Saturday made a working day
    assert calendar.next_workday(date(2031, 10, 1)) == date(2031, 10, 2)


def test_a_year_file_replaces_the_package_for_its_year(tmp_path: Path):
    (tmp_path / "2026.toml").write_text('year = 2026\nsource = "x"\nholidays = [2026-11-23]\n', encoding="utf-8")
    calendar = load_calendar(tmp_path)
    assert not calendar.is_workday(date(2026, 11, 23))
    assert calendar.is_workday(date(2026, 10, 2))  # a Friday: the package's 国庆 is gone for 2026


@pytest.mark.parametrize("body, words", [
    ('source = "x"\n', "year"),
    ("year = 2031\n", "source"),
    ('year = 2031\nsource = "x"\nholidays = [2030-01-01]\n', "2030-01-01"),
    ("year = = 2031", "2031.toml:1: TOML 语法错误"),
    # A quoted date was called "not a date of 2031"; a misspelt key was taken without a word.
    ('year = 2031\nsource = "x"\nholidays = ["2031-01-01"]\n', r"2031.toml:3: holidays 中的值 '2031-01-01' 是文字：日期不加引号"),
    ('year = 2031\nsource = "x"\nworkday = [2031-02-08]\n', "2031.toml:3: 未知字段 'workday'"),
])
def test_bad_year_files_name_the_file_and_the_problem(tmp_path: Path, body: str, words: str):
    (tmp_path / "2031.toml").write_text(body, encoding="utf-8")
    with pytest.raises(WorkdayFileError, match=words):
        load_calendar(tmp_path)
