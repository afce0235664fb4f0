"""Cadences at month, quarter and year boundaries; dated occurrences with the rest-day shift; terms."""

from datetime import date

import pytest

from obligations.cadence import CalendarCadence, DatedCadence, TermCadence, parse_period_key
from obligations.workdays import WorkdayCalendar, load_calendar


@pytest.fixture(scope="module")
def calendar() -> WorkdayCalendar:
    return load_calendar()


def test_months_have_28_29_30_and_31_days():
    periods = CalendarCadence("monthly").periods(date(2028, 1, 15), date(2028, 4, 2))
    assert [(p.key, p.start, p.end) for p in periods] == [
        ("2028-01", date(2028, 1, 1), date(2028, 1, 31)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2028-03", date(2028, 3, 1), date(2028, 3, 31)),
        ("2028-04", date(2028, 4, 1), date(2028, 4, 30)),
    ]
    assert CalendarCadence("monthly").periods(date(2026, 2, 1), date(2026, 2, 1))[0].end == date(2026, 2, 28)


def test_quarter_contains_its_last_day_and_not_the_next():
    q1 = CalendarCadence("quarterly").periods(date(2026, 1, 1), date(2026, 3, 31))
    assert [p.key for p in q1] == ["2026-Q1"]
    assert q1[0].contains(date(2026, 3, 31)) and q1[0].on_time(date(2026, 3, 31))
    assert not q1[0].contains(date(2026, 4, 1))
    assert q1[0].due == date(2026, 3, 31)


def test_half_years_and_years_have_their_keys():
    halves = CalendarCadence("half_yearly").periods(date(2026, 6, 30), date(2026, 7, 1))
    assert [(p.key, p.start, p.end) for p in halves] == [
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)), ("2026-H2", date(2026, 7, 1), date(2026, 12, 31))]
    years = CalendarCadence("yearly").periods(date(2025, 12, 31), date(2026, 1, 1))
    assert [p.key for p in years] == ["2025", "2026"]


def test_year_end_window_is_the_fourth_quarter():
    [year] = CalendarCadence("yearly", "Q4").periods(date(2026, 1, 1), date(2026, 12, 31))
    assert year.key == "2026" and year.window_start == date(2026, 10, 1) and year.due == date(2026, 12, 31)
    assert year.contains(date(2026, 6, 1)) and not year.on_time(date(2026, 9, 30))
    assert year.on_time(date(2026, 10, 1))


def test_window_needs_a_yearly_cadence():
    with pytest.raises(ValueError):
        CalendarCadence("monthly", "Q4")


def test_study_day_on_a_working_day_is_not_shifted(calendar):
    # 2026-11-10 is a Tuesday.
    [p] = DatedCadence((10,), calendar, True).periods(date(2026, 11, 1), date(2026, 11, 10))
    assert p.key == "2026-11-10" and p.due == date(2026, 11, 10) and p.days == {date(2026, 11, 10)}


def test_tenth_that_is_a_holiday_may_be_kept_on_the_next_working_day(calendar):
    # 2024-02-10 was 春节; the holiday ran to 02-17 and Sunday 02-18 was a 调休 working day.
    periods = DatedCadence((10, 20), calendar, True).periods(date(2024, 2, 1), date(2024, 2, 29))
    tenth = periods[0]
    assert tenth.key == "2024-02-10"
    assert tenth.due == date(2024, 2, 18)
    assert tenth.on_time(date(2024, 2, 10)) and tenth.on_time(date(2024, 2, 18))
    assert not tenth.on_time(date(2024, 2, 19))
    assert tenth.end == date(2024, 2, 19)  # the day before the 20th


def test_saturday_that_is_an_official_working_day_needs_no_shift(calendar):
    # 2026-10-10 is a Saturday made a working day by the 2026 国庆 arrangement.
    assert date(2026, 10, 10).weekday() == 5
    [p] = DatedCadence((10,), calendar, True).periods(date(2026, 10, 1), date(2026, 10, 31))
    assert p.due == date(2026, 10, 10)


def test_ordinary_weekend_shifts_to_monday(calendar):
    # 2026-05-10 is a Sunday.
    [p] = DatedCadence((10,), calendar, True).periods(date(2026, 5, 1), date(2026, 5, 31))
    assert p.due == date(2026, 5, 11)


def test_without_shift_only_the_nominal_day_counts(calendar):
    [p] = DatedCadence((10,), calendar, False).periods(date(2026, 5, 1), date(2026, 5, 31))
    assert p.due == date(2026, 5, 10) and p.days == {date(2026, 5, 10)}


def test_occurrences_listed_are_those_whose_nominal_date_is_in_the_window(calendar):
    periods = DatedCadence((10, 20), calendar, True).periods(date(2026, 1, 1), date(2026, 1, 15))
    assert [p.key for p in periods] == ["2026-01-10"]


def test_term_from_feb_29_ends_the_day_before_the_anniversary():
    term = TermCadence(5).term(date(2028, 2, 29))
    assert term.key == "2028-02-29/2033-02-27"
    assert term.due == date(2033, 2, 28)
    assert term.window_start == date(2032, 8, 28)                 # warned about six months ahead
    assert TermCadence.early_limit(term) == date(2032, 2, 28)     # an election a year early is on time


def test_village_committee_elected_2021_11_20_is_due_2026_11_20():
    term = TermCadence(5).term(date(2021, 11, 20))
    assert (term.key, term.due) == ("2021-11-20/2026-11-19", date(2026, 11, 20))
    assert TermCadence(3).term(date(2021, 11, 20)).due == date(2024, 11, 20)


def test_three_year_term():
    term = TermCadence(3).term(date(2026, 4, 15))
    assert term.key == "2026-04-15/2029-04-14"


@pytest.mark.parametrize("key, first, last", [
    ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-10-10", date(2026, 10, 10), date(2026, 10, 10)),
    ("2026-04-15/2031-04-14", date(2026, 4, 15), date(2031, 4, 14)),
])
def test_period_keys_parse(key, first, last):
    assert parse_period_key(key) == (first, last)


@pytest.mark.parametrize("key", ["2026-13", "2026-Q5", "26-10", "2026-H3", ""])
def test_bad_period_keys_are_rejected(key):
    with pytest.raises(ValueError):
        parse_period_key(key)
