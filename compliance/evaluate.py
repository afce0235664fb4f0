"""Pure evaluation: obligations + records + as_of -> findings.

No database and no printing: the caller passes plain frozen dataclasses (`OrgFacts`,
`Record`) and gets `Finding`s back. One finding per organization, obligation, period (and
party group or member, for obligations owed by each); what is wrong with the evidence goes in
that finding's flags (DOMAIN.md, "Periods and statuses").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cached_property, lru_cache
from itertools import chain
from operator import attrgetter
from typing import Callable, Collection, Iterable, Mapping, NamedTuple, Sequence

from dateutil.relativedelta import relativedelta

from obligations.cadence import Period, TermCadence, month_end, next_month_end, year_before
from obligations.catalog import Catalog, Obligation

STATUSES = ("met", "invalid", "missed", "due", "upcoming", "exempt")
# Worst first, for overdue listings.
SEVERITY = {"missed": 0, "invalid": 1, "due": 2, "upcoming": 3, "met": 4, "exempt": 5}


class MemberRef(NamedTuple):
    """A member as evaluation needs them (a named tuple: a province has a million)."""

    name: str
    mobile: bool = False
    joined: date | None = None
    exemptions: tuple[tuple[date, date], ...] = ()   # approved: illness, abroad with approval
    left: date | None = None         # the day they left the roster (transferred out, died...)
    arrived: date | None = None      # the day they came onto it (transferred in)


def owed_while_on_roster(ob: Obligation, periods: list[Period], left: date | None,
                         arrived: date | None = None) -> list[Period]:
    """Return the periods of `ob` a member on the roster from `arrived` until `left` owes (all when both are None).

    A member owes a monthly obligation owed from the month of joining (`from_joining_month`,
    dues) for every month whose first day they were on the roster: the month they left in
    too, unless they left on its first day (a member moving between branches pays each month
    once, where they were as it began); any other (a half-year report, a year's 学时) only for
    the periods that ended before they left: one they left in is owed where they went, or no more.
    A member who arrived on a day owes, in turn, the periods that began on the roster: a move on
    one day is owed each month once, where the member was as it began, and a half year or year
    they moved in in neither branch (its reports and talks may be in either).
    """
    if left is None and arrived is None:
        return periods
    return [p for p in periods if owed_on_roster(ob, p.start, p.end, left, arrived)]


def owed_on_roster(ob: Obligation, start: date, end: date, left: date | None, arrived: date | None) -> bool:
    """Return whether a member on the roster from `arrived` until `left` owes the period of `ob` from `start` to `end` (`owed_while_on_roster`)."""
    if arrived is not None and start < arrived:
        return False
    return left is None or (start < left if ob.from_joining_month else end < left)


@dataclass(frozen=True)
class OrgFacts:
    """An organization as evaluation needs it: type, dates and what its roster implies."""

    id: int
    path: str
    type: str
    sector: str | None = None
    founded: date | None = None
    tracked_from: date | None = None
    dissolved: date | None = None
    has_committee: bool = False
    secretary: str | None = None
    full_members: int = 0
    groups: tuple[str, ...] = ()
    members: tuple[MemberRef, ...] = ()
    # Members who came onto the roster or left it (see `orgs.org_facts`): the days full members
    # arrived and the days they left, each in order, and the full members who did not arrive
    # (`full_on`); whether a committee is the roster's, seven full members, each period by its
    # first day; and the party groups not there all along: (name, the day the first of its members
    # came or date.min, the day the last left or date.max).
    full_arrived: tuple[date, ...] = ()       # in order
    full_left: tuple[date, ...] = ()          # in order
    full_steady: int = 0                      # the other full members, and those who left but had not arrived
    committee_by_roster: bool = False
    group_spans: tuple[tuple[str, date, date], ...] = ()
    # The first month any member's dues payment is for (its first day): dues are owed from it, the months
    # before it unknown to this database (a branch that began entering dues in November owed none before).
    dues_from: date | None = None
    # The full members who joined the Party late enough to have been 预备 on a day it owes anything: (入党日期, the day
    # they came, the day they left), date.min and date.max when they did neither. 转正 comes a year after joining, so
    # a meeting before it had them as no full members, as an import's 应到 counts them (`year_before`).
    full_late: tuple[tuple[date, date, date], ...] = ()

    def full_on(self, day: date) -> int:
        """Return the number of full members on the roster on `day` (`full_members` when none came or left).

        Each who came and left counts from the day they came until the day they left (a member
        leaves after arriving), so the count is those arrived by then less those left by then;
        less those not yet a year in the Party then (`full_late`).
        """
        if not self.full_arrived and not self.full_left:
            count = self.full_members
        else:
            count = self.full_steady + bisect_right(self.full_arrived, day) - bisect_right(self.full_left, day)
        if self.full_late:
            since = year_before(day)
            count -= sum(1 for joined, came, left in self.full_late if joined > since and came <= day < left)
        return count

    @cached_property
    def starts(self) -> date | None:
        """Return the first day the organization owes anything: founded or tracked, the later."""
        days = [d for d in (self.founded, self.tracked_from) if d]
        return max(days) if days else None


# A branch with fewer full members than this has no committee (条例 第八条).
COMMITTEE_MIN_FULL_MEMBERS = 7


class Record(NamedTuple):
    """One current version of a meeting or activity record (a named tuple: millions are made per province)."""

    id: int
    org_id: int
    kind: str
    held_on: date
    recorded_on: date
    expected: int | None = None
    present: int | None = None
    topic: str | None = None
    recorder: str | None = None
    lecturer: str | None = None
    secretary_signed: int | None = None      # a flag: SQLite's rows give 0 or 1, PostgreSQL's a bool
    recorder_signed: int | None = None
    group: str | None = None
    member: str | None = None
    attendees: str | None = None
    counterpart: str | None = None
    hours: float | None = None
    photos: str | None = None
    excused: str | None = None


class Finding(NamedTuple):
    """The status of one obligation for one period (and group or member) of one organization."""

    org_id: int
    org: str
    obligation: str
    name: str
    period: str
    status: str
    due: date
    days_left: int | None
    records: tuple[int, ...]
    flags: tuple[str, ...]
    member: str | None = None
    group: str | None = None


def record_problems(record: Record, obligation: Obligation, period: Period, org: OrgFacts, catalog: Catalog) -> tuple[bool, list[str]]:
    """Return whether `record` satisfies `period`, and its flags.

    Invalid: held outside the period's window (`wrong_date`), or short of the quorum
    (`no_quorum`: present no more than the obligation's share, half by default, of those due, or
    fewer than it where the share itself will do; in whole numbers, present × d + 1 ≤ due × n then). Flags that do not invalidate: `no_attendance`, `unsigned`,
    `incomplete_evidence`, `late_entry`.
    """
    flags: list[str] = []
    valid = period.on_time(record.held_on)
    if not valid:
        flags.append("wrong_date")
    if obligation.quorum:
        if record.present is None:
            flags.append("no_attendance")
        else:
            expected = record.expected
            if expected is None and obligation.quorum == "full_members":
                expected = org.full_on(record.held_on) or None
            if expected is None:
                flags.append("no_attendance")
            elif record.present * obligation.quorum_share[1] + obligation.quorum_share[2] <= expected * obligation.quorum_share[0]:
                valid = False
                flags.append("no_quorum")
    if obligation.lecturer == "secretary":
        if not org.secretary:
            flags.append("unverified_lecturer")      # the roster does not say who the secretary is
        elif record.lecturer != org.secretary:
            valid = False
            flags.append("not_secretary")
    if obligation.signatures and not (record.secretary_signed and record.recorder_signed):
        flags.append("unsigned")
    if any(not getattr(record, name) for name in obligation.require):
        flags.append("incomplete_evidence")
    if obligation.arrears_months:
        # A payment's recording date is the day it was paid: arrears are settled within the limit.
        if record.recorded_on > _months_after(period.due, obligation.arrears_months):
            valid = False
            flags.append("arrears_too_late")
        elif record.recorded_on > period.due:
            flags.append("paid_late")
    elif catalog.late_entry and record.recorded_on > next_month_end(record.held_on):
        flags.append("late_entry")
    return valid, flags


def record_valid(record: Record, obligation: Obligation, period: Period, org: OrgFacts) -> bool:
    """Return whether `record` satisfies `period`: `record_problems(...)[0]`, without gathering flags.

    An overdue list drops met periods, and most periods of a province are met: their first
    valid record is all that needs to be known of them.
    """
    day = record.held_on
    if not period.window_start <= day <= period.due or (period.days is not None and day not in period.days):
        return False
    if obligation.quorum and record.present is not None:
        expected = record.expected
        if expected is None and obligation.quorum == "full_members":
            expected = org.full_on(day) or None
        if expected is not None and (record.present * obligation.quorum_share[1] + obligation.quorum_share[2]
                                     <= expected * obligation.quorum_share[0]):
            return False
    if obligation.lecturer == "secretary" and org.secretary and record.lecturer != org.secretary:
        return False
    return not (obligation.arrears_months
                and record.recorded_on > _months_after(period.due, obligation.arrears_months))


@lru_cache(maxsize=1024)
def _months_after(day: date, months: int) -> date:
    return day + relativedelta(months=months)


@lru_cache(maxsize=256)
def _arrears_limits(dues: tuple[date, ...], months: int) -> tuple[date, ...]:
    """Return, for each of some periods' due days, the last day a payment settles its period (`record_valid`)."""
    return tuple(_months_after(day, months) for day in dues)


DUES = "dues"       # the record kind of a member's monthly dues payment


class _MonthStarts(dict):
    """A YYYY-MM month -> its first day, each month converted once."""

    def __missing__(self, month: str) -> date:
        day = self[month] = date(int(month[:4]), int(month[5:]), 1)
        return day


MONTH_STARTS = _MonthStarts()

# A member's dues payments as `evaluate_org` takes them without records: member name -> (member id,
# month YYYY-MM -> day paid) of each member of that name (names are unique on a roster, nearly always).
Paid = Mapping[str, list[tuple[int, Mapping[str, date]]]]


def judges_dues_by_member(catalog: Catalog) -> bool:
    """Tell whether every obligation of `catalog` (every version) that is judged on dues payments judges each member's own.

    Then `evaluate_org` can take the payments as they are (`paid`) instead of as records of kind
    "dues": a local catalog could count them per organization, or add up their 学时. Every
    version of an obligation is judged on the records of its newest version's kind (`evaluate_org`).
    """
    def make() -> bool:
        for newest in catalog.every_obligation():
            on_dues = (newest.counts or newest.slug) == DUES
            ob: Obligation | None = newest
            while ob is not None:
                if ob.quarterly_by == DUES or (on_dues and (ob.per != "member" or ob.min_hours or ob.cadence == "term")):
                    return False
                ob = ob.previous
        return True

    return catalog.memo(("dues by member",), make)


@lru_cache(maxsize=64)
def _month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def _paid_met(org: OrgFacts, ob: Obligation, periods: list[Period], paid: list[tuple[int, Mapping[str, date]]],
              as_of: date, on_time: dict[date, tuple[int, ...]]) -> set[int]:
    """Return `_met` of a member's dues payments (months up to `as_of`'s), looked up by month without making records of them.

    A payment is a record of its member held on its month's first day and recorded the day it
    was paid (`_paid_records`); it names no lecturer and no attendance, so only the day and the
    arrears limit can fail it (`record_valid`).
    """
    if ob.lecturer == "secretary" and org.secretary:
        return set()
    last, starts, get = _month_of(as_of), MONTH_STARTS, on_time.get
    if not ob.arrears_months:
        return {i for _, months in paid for month in months if month <= last for i in get(starts[month], ())}
    limits = _arrears_limits(tuple(p.due for p in periods), ob.arrears_months)
    return {i for _, months in paid for month, paid_on in months.items() if month <= last
            for i in get(starts[month], ()) if paid_on <= limits[i]}


def _paid_records(org: OrgFacts, name: str, paid: list[tuple[int, Mapping[str, date]]], as_of: date) -> list[Record]:
    """Return a member's dues payments (months up to `as_of`'s) as records of kind "dues", by date: what `_judge` reports."""
    last, starts, new = _month_of(as_of), MONTH_STARTS, tuple.__new__
    found = [new(Record, (-member_id, org.id, DUES, starts[month], paid_on, None, None, None, None, None, None, None, None,
                          name, None, None, None, None, None))
             for member_id, months in paid for month, paid_on in months.items() if month <= last]
    found.sort(key=_BY_DATE)
    return found


def _status(period: Period, as_of: date, any_valid: bool, any_record: bool) -> str:
    """Return the status of a period; a record that does not count leaves an open period open.

    While a period is open (as of `due` or earlier), a record short of its quorum or held at
    the wrong time can still be made good: the period is due (or upcoming), and the record's
    problems are in the flags. Once the period has ended, such records make it invalid.
    """
    if any_valid:
        return "met"
    if as_of > period.due:
        return "invalid" if any_record else "missed"
    if as_of < period.window_start:
        return "upcoming"
    return "due"


def _lead(ob: Obligation, period: Period, as_of: date, status: str) -> str:
    """Return `status`, or "upcoming" for a due period still more than the obligation's lead time away."""
    if status == "due" and ob.lead_days and (period.due - as_of).days > ob.lead_days:
        return "upcoming"
    return status


_new = tuple.__new__     # a named tuple's own __new__ is a Python call: a province makes millions of findings


def _finding(org: OrgFacts, ob: Obligation, period: Period, as_of: date, status: str,
             records: Collection[Record], flags: Collection[str], member: str | None = None, group: str | None = None,
             ids: Iterable[int] | None = None) -> Finding:
    days_left = (period.due - as_of).days if status == "due" else None
    if ids is None:
        ids = [r.id for r in records] if records else ()
    return _new(Finding, (org.id, org.path, ob.slug, ob.name, period.key, status, period.due, days_left, tuple(ids),
                          tuple(dict.fromkeys(flags)) if flags else (), member, group))


def _judge(org: OrgFacts, ob: Obligation, period: Period, records: list[Record], days: list[date], as_of: date,
           catalog: Catalog, member: str | None = None, group: str | None = None,
           keep: Collection[str] | None = None) -> Finding | None:
    """Judge one period; return its finding, or None when its status is not one of `keep`.

    `records` is sorted by date and `days` holds their dates: the period's slice is found by
    bisection, not by a scan.
    """
    lo = bisect_left(days, period.start)
    hi = bisect_right(days, period.end, lo)
    if lo == hi:
        status = _lead(ob, period, as_of, _status(period, as_of, False, False))
        return None if keep is not None and status not in keep else _finding(org, ob, period, as_of, status, (), (), member, group)
    matched = records[lo:hi]
    if keep is not None and "met" not in keep and any(record_valid(r, ob, period, org) for r in matched):
        return None     # met (a valid record), and met is not asked for: its flags need not be gathered
    judged = [(r, *record_problems(r, ob, period, org, catalog)) for r in matched]
    valid = [(r, flags) for r, ok, flags in judged if ok]
    status = _lead(ob, period, as_of, _status(period, as_of, bool(valid), True))
    if keep is not None and status not in keep:
        return None
    if valid:
        # The best valid record speaks for the period; the others add nothing wrong to it.
        best_flags = min((flags for _, flags in valid), key=len)
        flags: list[str] = best_flags
        ordered = [r for r, _ in valid] + [r for r, ok, _ in judged if not ok]
    else:
        flags = [f for _, _, fl in judged for f in fl]
        ordered = matched
    return _finding(org, ob, period, as_of, status, ordered, flags, member, group)


def _judge_hours(org: OrgFacts, ob: Obligation, period: Period, attended: list[tuple[date, float, int]],
                 as_of: date, member: str, keep: Collection[str] | None = None) -> Finding | None:
    """Judge a member's hours (学时) in a period: met once the records they attended add up to `min_hours`."""
    lo = bisect_left(attended, (period.start,))
    hi = bisect_right(attended, (period.end, float("inf")))
    total = sum(hours for _, hours, _ in attended[lo:hi])
    if ob.min_hours is not None and total >= ob.min_hours and keep is not None and "met" not in keep:
        return None
    ids = [record_id for _, _, record_id in attended[lo:hi]]
    if ob.min_hours is not None and total >= ob.min_hours:
        status, flags = "met", []
    else:
        status = _lead(ob, period, as_of, _status(period, as_of, False, False))
        flags = ["short_hours"] if ids else []
    if keep is not None and status not in keep:
        return None
    return _finding(org, ob, period, as_of, status, (), flags, member, ids=ids)


def _exemption(org: OrgFacts, ob: Obligation, joined: date | None = None,
               exemptions: tuple[tuple[date, date], ...] = ()) -> Callable[[Period], bool]:
    """Return the test of whether a period of `ob` is exempt for `org` (and a member who joined on `joined`).

    A period is exempt when it starts before the organization, the member (the month they joined,
    for an obligation owed `from_joining_month`), the organization's first month of dues (`OrgFacts.dues_from`,
    for an obligation judged on dues payments) or the oldest version
    of the rule (newer versions hand earlier periods to the version they replaced: see
    `_in_force`), ends after the organization was dissolved (it could not be completed), or falls
    wholly in one of the member's approved exemptions. A period held in a part of its year (组织生活会 at the year's end:
    its window) starts, for this, when that part does: a branch tracked from June was let off its year-end meetings,
    though the whole fourth quarter was tracked (try-out). The dates are worked out once per series of periods: a
    province judges millions of them.
    """
    floor = _floor(org, ob, joined)
    dissolved = org.dissolved

    def exempt(period: Period) -> bool:
        return ((floor is not None and period.window_start < floor) or (dissolved is not None and period.due > dissolved)
                or any(start <= period.start and period.due <= end for start, end in exemptions))

    return exempt


def _floor(org: OrgFacts, ob: Obligation, joined: date | None) -> date | None:
    """Return the day before which periods of `ob` are exempt (see `_exemption`); None when there is none."""
    floor = _owed_floor(org, ob, joined)
    if org.dues_from is not None and (ob.counts or ob.slug) == DUES:
        return org.dues_from if floor is None else max(floor, org.dues_from)
    return floor


def _owed_floor(org: OrgFacts, ob: Obligation, joined: date | None, tracked: bool = True) -> date | None:
    """Return `_floor` but for the organization's first month of dues: the organization's start (without `tracked`, its
    founding alone), the member's joining, the rule's."""
    if joined is not None and ob.from_joining_month:
        joined = joined.replace(day=1)        # owed from the month of joining (dues)
    floors = [d for d in (org.starts if tracked else org.founded, joined, ob.valid_from if ob.previous is None else None) if d]
    return max(floors) if floors else None


def _otherwise_exempt(org: OrgFacts, period: Period, exemptions: tuple[tuple[date, date], ...]) -> bool:
    """Return whether `period` ends after the organization was dissolved or falls wholly in an approved exemption."""
    return (org.dissolved is not None and period.due > org.dissolved) \
        or any(start <= period.start and period.due <= end for start, end in exemptions)


# The flag of an exempt period that is owed but not checked: a month of dues before the organization's first
# month entered (`OrgFacts.dues_from`). Shown apart from 免除, which reads as an approved exemption (try-out).
BEFORE_DUES = "before_dues_start"
# The flag of an exempt period that began before the organization's 启用日期 (and after its founding): owed, but from before
# the tool kept its records. 免除 for the months before it read as exemptions someone had approved (try-out).
BEFORE_TRACKING = "before_tracking"


def _exempt_flags(org: OrgFacts, ob: Obligation, period: Period, joined: date | None,
                  exemptions: tuple[tuple[date, date], ...]) -> tuple[str, ...]:
    """Return the flags of an exempt period: `BEFORE_TRACKING` when nothing but the organization's 启用日期 makes it so (it
    began after the founding, the member's joining and the rule), `BEFORE_DUES` when nothing but its first month of dues does."""
    if org.tracked_from is not None and period.window_start < org.tracked_from:
        # Only when owed but for it: not before the founding, the member's joining or the rule, nor dissolved or approved.
        floor = _owed_floor(org, ob, joined, tracked=False)
        owed = (floor is None or period.window_start >= floor) and not _otherwise_exempt(org, period, exemptions)
        return (BEFORE_TRACKING,) if owed else ()
    if org.dues_from is None or period.start >= org.dues_from or (ob.counts or ob.slug) != DUES:
        return ()
    floor = _owed_floor(org, ob, joined)
    if (floor is not None and period.window_start < floor) or _otherwise_exempt(org, period, exemptions):
        return ()
    return (BEFORE_DUES,)


def _exempt_periods(org: OrgFacts, ob: Obligation, periods: list[Period], joined: date | None = None,
                    exemptions: tuple[tuple[date, date], ...] = ()) -> Collection[int]:
    """Return the positions of the exempt periods among `periods` (see `_exemption`).

    Most organizations and members owe every period of the year: with no dissolution, no
    approved exemption and no period starting before the floor, none is tested one by one.
    """
    if not exemptions and org.dissolved is None:
        floor = _floor(org, ob, joined)
        if floor is None or all(floor <= p.window_start for p in periods):
            return ()
    exempt = _exemption(org, ob, joined, exemptions)
    return {i for i, p in enumerate(periods) if exempt(p)}


def _in_force(ob: Obligation, periods: Iterable[Period], until: date | None) -> list[Period]:
    """Return the periods version `ob` judges: those starting while it was the rule in force."""
    return [p for p in periods
            if (ob.previous is None or p.start >= ob.valid_from) and (until is None or p.start < until)]


def _series(catalog: Catalog, ob: Obligation, first: date, last: date,
            until: date | None) -> tuple[list[Period], dict[date, tuple[int, ...]]]:
    """Return the periods version `ob` judges in the window, and `_on_time_days` of them: worked out once per catalog."""
    def make() -> tuple[list[Period], dict[date, tuple[int, ...]]]:
        periods = _in_force(ob, catalog.periods(ob, first, last), until)
        return periods, _on_time_days(periods)

    return catalog.memo(("series", ob.slug, ob.valid_from, first, last, until), make)


def _on_time_days(periods: list[Period]) -> dict[date, tuple[int, ...]]:
    """Return, for each day a record can satisfy one of `periods` on, the positions of those periods.

    A record satisfies a period when it is held inside it (`start` to `end`, where `_judge`
    looks for it) and on time (`Period.on_time`).
    """
    found: dict[date, list[int]] = defaultdict(list)
    for i, p in enumerate(periods):
        lo, hi = max(p.start, p.window_start), min(p.end, p.due)
        days = sorted(p.days) if p.days is not None else (lo + timedelta(days=n) for n in range((hi - lo).days + 1))
        for day in days:
            if lo <= day <= hi:
                found[day].append(i)
    return {day: tuple(positions) for day, positions in found.items()}


def _met(org: OrgFacts, ob: Obligation, periods: list[Period], records: list[Record],
         on_time: dict[date, tuple[int, ...]]) -> set[int]:
    """Return the positions of the periods a valid record satisfies (`record_valid`), each record looked up by its day.

    Most periods of a province are met: this finds them in one pass over the records, without
    the bisection and slice `_judge` makes for each period.
    """
    get = on_time.get
    if not ob.quorum and not (ob.lecturer == "secretary" and org.secretary):
        if not ob.arrears_months:
            return {i for r in records for i in get(r.held_on, ())}       # on time is valid
        # Dues: on time and paid within the limit (`record_valid`), a member's months one by one.
        limits = _arrears_limits(tuple(p.due for p in periods), ob.arrears_months)
        return {i for r in records for i in get(r.held_on, ()) if r.recorded_on <= limits[i]}
    met: set[int] = set()
    for r in records:
        for i in get(r.held_on, ()):
            if i not in met and record_valid(r, ob, periods[i], org):
                met.add(i)
    return met


_DEADLINE = re.compile(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})")


def approved_deadline(record: Record) -> date | None:
    """Return the deadline a 换届延期批准 record approves: the first date written in its topic."""
    m = _DEADLINE.search(record.topic or "")
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


# An organization's first election within this long after its founding date is its founding election.
FOUNDING_ELECTION = timedelta(days=90)


def _terms(org: OrgFacts, ob: Obligation, records: list[Record], first: date, last: date, as_of: date,
           delays: Sequence[Record] = ()) -> list[Finding]:
    """Return one finding per committee term overlapping the window, terms chained by elections.

    An approved delay (a 换届延期批准 record dated with the approved deadline) moves a term's due
    date to that deadline, at most one year later (选举工作条例 2020).
    """
    cadence = TermCadence(ob.term_years(org.sector))
    elections = sorted({r.held_on: r for r in records}.values(), key=lambda r: r.held_on)
    anchors = [d for d in (org.founded, elections[0].held_on if elections else None) if d]
    if not anchors:
        return []
    anchor = min(anchors)
    if org.founded is not None and elections and org.founded < elections[0].held_on <= org.founded + FOUNDING_ELECTION:
        # The election that set up a new organization's committee, entered with its own date: its term begins
        # there. Taken as an election cutting a term short, it was 提前换届 beside a second, overlapping term.
        anchor = elections[0].held_on
    findings = []
    while anchor <= last:
        term = cadence.term(anchor)
        approved = [(deadline, d) for d in delays if (deadline := approved_deadline(d))
                    and d.held_on <= deadline and term.due < deadline <= TermCadence.delay_limit(term)]
        deadline, delay = max(approved, key=lambda pair: pair[0]) if approved else (None, None)
        if delay and deadline:
            term = replace(term, due=deadline, end=max(term.end, deadline))
        following = next((r for r in elections if r.held_on > anchor), None)
        if following and following.held_on <= term.due:
            flags = [] if following.held_on >= TermCadence.early_limit(term) else ["early_election"]
            flags += ["approved_delay"] if delay else []
            status, matched = "met", [following] + ([delay] if delay else [])
        elif following:
            status, matched, flags = "invalid", [following], ["late_election"]
        else:
            status, matched, flags = _status(term, as_of, False, False), [delay] if delay else [], ["approved_delay"] if delay else []
        # A term that ended before tracking began is history, unless its election is still owed:
        # that can still be held, and is overdue from the first day tracked.
        if (org.starts and term.due < org.starts and following and following.held_on < org.starts) or (
                org.dissolved and term.due > org.dissolved):
            # With the election that ended it: a ledger item asking for it is closed as entered (`supervision.ELECTED`).
            status, matched, flags = "exempt", [following] if following and not (org.dissolved and term.due > org.dissolved) else [], []
        # No election on record at all for a term that ended before tracking began, or, for an organization tracked from its
        # founding (a 成立日期 and no 启用日期), before the window: most likely the last one was not imported, which the
        # finding says. Without it, 1998-07-01至2001-06-30 read as 25 years overdue (clerk's try-out). One that ended while
        # tracked from a 启用日期 is 届满未换届 (review).
        if not elections and status == "missed" and (org.starts and term.due < org.starts
                                                     or org.tracked_from is None and term.due < first):
            flags = [*flags, "no_election_record"]
        # A term whose election is still outstanding stays listed, however long ago it ended.
        if term.due >= first or status == "missed":
            findings.append(_finding(org, ob, term, as_of, status, matched, flags))
        if not following:
            break
        anchor = following.held_on
    return findings


_BY_DATE = attrgetter("held_on", "id")

# Attendance lists split into names, by the stored text (joined by 、: imports and `log` normalize them),
# for one organization's records: its yearly hours and its members' watch each read every list, and a
# province's lists are 17 million names, each split once (`split_list`).
NameLists = dict[str, list[str]]


def split_list(names: NameLists, text: str) -> list[str]:
    """Return the names of the attendance list `text`, split once for `names`."""
    found = names.get(text)
    if found is None:
        found = names[text] = text.split("、")
    return found


def evaluate_org(catalog: Catalog, org: OrgFacts, records: Iterable[Record], first: date, last: date, as_of: date,
                 keep: Collection[str] | None = None, skip: Collection[str] = (), bare_met: bool = False,
                 paid: Paid | None = None, names: NameLists | None = None) -> list[Finding]:
    """Return the findings of every obligation `org` owes for periods from `first` to `last`.

    Only records held on or before `as_of` count, and `as_of` decides which periods have
    ended. Records of other organizations must not be passed. With `keep`, only findings of
    those statuses are made (an overdue list has no use for the rest); obligations in `skip`
    are not judged (dues, in a branch that records none). With `bare_met` (and met kept), met
    findings of periods, other than committee terms, come without their records and flags: a
    supervision run only counts and keys them, and their periods are found in one pass
    (`_met`) instead of being judged one by one. With `paid` (a catalog that
    `judges_dues_by_member`), the members' dues payments are taken from it, not from records of
    kind "dues": a province's payments outnumber its records three to one, and most months are
    plainly paid; records are made only of the payments of a member with a month not met.
    `names` keeps the attendance lists split for the caller (`split_list`).
    """
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in sorted(records, key=_BY_DATE):
        if record.held_on <= as_of:
            by_kind[record.kind].append(record)
    findings: list[Finding] = []
    if names is None:
        names = {}
    for newest in catalog.obligations:
        if newest.slug in skip:
            continue
        kind_records = by_kind.get(newest.counts or newest.slug, [])
        if newest.cadence == "term":
            if newest.applies_to(org.type, org.sector):
                terms = _terms(org, newest, kind_records, first, last, as_of, by_kind.get("term_delay", []))
                findings.extend(f for f in terms if keep is None or f.status in keep)
            continue
        _judge_versions(catalog, org, newest, None, kind_records, first, last, as_of, by_kind, keep, bare_met, paid, findings, names)
    # One a local catalog dropped from its own date is still owed for the periods before it.
    for newest, until in catalog.dropped:
        if newest.slug not in skip and newest.cadence != "term":
            _judge_versions(catalog, org, newest, until, by_kind.get(newest.counts or newest.slug, []), first, last, as_of, by_kind,
                            keep, bare_met, paid, findings, names)
    return findings


def _judge_versions(catalog: Catalog, org: OrgFacts, newest: Obligation, until: date | None, kind_records: list[Record],
                    first: date, last: date, as_of: date, by_kind: dict[str, list[Record]], keep: Collection[str] | None,
                    bare_met: bool, paid: Paid | None, findings: list[Finding], names: NameLists) -> None:
    """Judge the periods of `newest` and its earlier versions that start before `until` (every one when None), into `findings`.

    A local catalog that changes an inherited rule from its own date leaves the earlier periods
    to the rule it replaced: the versions are walked newest first.
    """
    ob: Obligation | None = newest
    while ob is not None:
        if ob.applies_to(org.type, org.sector) and (org.has_committee or not ob.requires_committee):
            counted = _also_counted(kind_records, by_kind, ob.also_counts) if ob.also_counts else kind_records
            periods, on_time = _series(catalog, ob, first, last, until)
            if ob.requires_committee and org.committee_by_roster:
                # A committee of the roster's: owed for the periods that began with seven full members on it.
                periods = [p for p in periods if org.full_on(p.start) >= COMMITTEE_MIN_FULL_MEMBERS]
                on_time = _on_time_days(periods)
            if periods:
                findings.extend(_judge_periods(catalog, org, ob, periods, counted, as_of, by_kind, keep, on_time,
                                               bare_met, paid if (newest.counts or newest.slug) == DUES else None, names))
        until, ob = ob.valid_from, ob.previous


def _also_counted(kind_records: list[Record], by_kind: dict[str, list[Record]], also: tuple[str, ...]) -> list[Record]:
    """Return `kind_records` with the records of the kinds `also` (an obligation's `also_counts`), in date order."""
    return sorted(chain(kind_records, *(by_kind.get(kind, ()) for kind in also)), key=_BY_DATE)


def _by_member(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Return records by the members they concern: the member they name and, for a talk, the other party."""
    found: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.member:
            found[r.member].append(r)
        if r.counterpart and r.counterpart != r.member:
            found[r.counterpart].append(r)
    return found


# Two sums of the same hours in different orders differ in the last bits only (a few thousand
# hours a year: far below 1e-9); a count by value of hours this much above the minimum is met
# whatever the order.
HOURS_MARGIN = 1e-6


class _Hours:
    """The records with 学时 of one organization, for its members' yearly hours.

    A province judges hundreds of thousands of member-years, most of them met: their hours are
    counted per value of hours (records share a few: 1.5 for a study day, 4 for a lecture) by
    `Counter`, with no list of records for each member. The list a finding reports, summed in
    date order as before, is made only for the members who need it (`attended`).
    """

    def __init__(self, by_kind: dict[str, list[Record]], first: date, last: date, names: NameLists):
        """Gather the records with 学时 held from `first` to `last` (the periods judged); their lists split as `split_list` does.

        `any_hours` tells whether any of the records, held whenever, has 学时.
        """
        self.records: list[tuple[date, float, int, list[str] | tuple[str, ...]]] = []
        self.any_hours = False
        for records in by_kind.values():
            for r in records:
                if not r.hours:
                    continue
                self.any_hours = True
                # The records of a year before the window (read for the watch) add to no period here.
                if not first <= r.held_on <= last:
                    continue
                listed = split_list(names, r.attendees) if r.attendees else (r.member,) if r.member else ()
                if listed:
                    self.records.append((r.held_on, r.hours, r.id, listed))

    def about(self, period: Period) -> dict[str, float]:
        """Return each member's hours in `period`, counted per value of hours: exact to within `HOURS_MARGIN`."""
        by_value: dict[float, list[Iterable[str]]] = defaultdict(list)
        for day, hours, _, names in self.records:
            if period.start <= day <= period.end:
                by_value[hours].append(names)
        totals: dict[str, float] = {}
        for hours, lists in by_value.items():
            for who, times in Counter(chain.from_iterable(lists)).items():
                totals[who] = totals.get(who, 0.0) + hours * times
        return totals

    def attended(self, wanted: set[str]) -> dict[str, list[tuple[date, float, int]]]:
        """Return, for each of `wanted`, (date, hours, record id) of every record with 学时 they attended or that names them, by date."""
        found: dict[str, list[tuple[date, float, int]]] = defaultdict(list)
        for day, hours, record_id, names in self.records:
            for name in wanted.intersection(names):
                found[name].extend([(day, hours, record_id)] * names.count(name))
        for attended_by_one in found.values():
            attended_by_one.sort()
        return found


def _quarterly(periods: list[Period], since: date | None) -> list[Period]:
    """Return monthly periods from `since` on due at their quarter's end (payment by quarter with consent)."""
    if since is None:
        return periods
    return [replace(p, due=month_end(date(p.start.year, (p.start.month - 1) // 3 * 3 + 3, 1))) if p.start >= since else p
            for p in periods]


def _judge_periods(catalog: Catalog, org: OrgFacts, ob: Obligation, periods: list[Period], kind_records: list[Record],
                   as_of: date, by_kind: dict[str, list[Record]], keep: Collection[str] | None,
                   on_time: dict[date, tuple[int, ...]] | None = None, bare_met: bool = False,
                   paid: Paid | None = None, names: NameLists | None = None) -> list[Finding]:
    """Return the findings of one obligation's periods: per organization, party group or member (those kept).

    `on_time` is `_on_time_days(periods)`, when the caller has it; `bare_met`, `paid` and `names` as in
    `evaluate_org` (`paid` for an obligation judged on dues payments per member).
    """
    found: list[Finding | None] = []
    if ob.per == "group":
        by_group: dict[str | None, list[Record]] = defaultdict(list)
        for r in kind_records:
            by_group[r.group].append(r)
        spans = [(group, date.min, date.max) for group in org.groups]
        if org.group_spans:
            dated = {group for group, _, _ in org.group_spans}
            spans = sorted([span for span in spans if span[0] not in dated] + list(org.group_spans))
        for group, came, went in spans:
            mine = by_group.get(group, [])
            days = [r.held_on for r in mine]
            # A group owes the periods that began on or after the day its first member came, and
            # before the day its last left (`orgs.org_facts`), as a member does (`owed_on_roster`).
            whole = came == date.min and went == date.max
            owed, owed_on_time = (periods, on_time) if whole else ([p for p in periods if came <= p.start < went], None)
            found.extend(_judge_each(org, ob, owed, mine, days, as_of, catalog, keep, group=group, on_time=owed_on_time,
                                     bare_met=bare_met))
    elif ob.per == "member" and ob.min_hours:
        hours = _Hours(by_kind, min(p.start for p in periods), max(p.end for p in periods), {} if names is None else names)
        if not hours.any_hours:
            return []         # a branch that records no 学时 at all is not judged on them
        # Exempt, or judged on the member's records; a member-year plainly met is left out
        # without them when met is not kept, and is met without them when it is kept bare.
        about = [hours.about(p) for p in periods] if keep is not None and ("met" not in keep or bare_met) else None
        plenty = ob.min_hours + HOURS_MARGIN
        judged: list[tuple[MemberRef, Period, str]] = []
        for m in org.members:
            if ob.members == "mobile" and not m.mobile:
                continue
            exempt = _exemption(org, ob, m.joined, m.exemptions)
            moved = m.left is not None or m.arrived is not None
            for i, p in enumerate(periods):
                if moved and not owed_on_roster(ob, p.start, p.end, m.left, m.arrived):
                    continue
                if exempt(p):
                    judged.append((m, p, "exempt"))
                elif about is None or about[i].get(m.name, 0.0) < plenty:
                    judged.append((m, p, "judge"))
                elif bare_met:
                    judged.append((m, p, "met"))
        attended = hours.attended({m.name for m, _, how in judged if how == "judge"})
        for m, p, how in judged:
            if how == "judge":
                finding = _judge_hours(org, ob, p, attended.get(m.name, []), as_of, m.name, keep)
                # met only just (within `HOURS_MARGIN` of the minimum): judged on its records, kept bare all the same
                found.append(finding._replace(records=()) if bare_met and finding and finding.status == "met" else finding)
            elif how == "met" or keep is None or "exempt" in keep:
                flags = _exempt_flags(org, ob, p, m.joined, m.exemptions) if how == "exempt" else ()
                found.append(_finding(org, ob, p, as_of, how, (), flags, m.name))
    elif ob.per == "member":
        by_member = _by_member(kind_records)
        consent = by_kind.get(ob.quarterly_by, []) if ob.quarterly_by else []
        for m in org.members:
            if ob.members == "mobile" and not m.mobile:
                continue
            since = min((r.held_on for r in consent if r.member in (None, "", m.name)), default=None)
            mine_periods, mine_on_time = _quarterly(periods, since), on_time if since is None else None
            if m.left is not None or m.arrived is not None:
                mine_periods, mine_on_time = owed_while_on_roster(ob, mine_periods, m.left, m.arrived), None
            met: set[int] | None = None
            mine = by_member.get(m.name, [])
            if paid is not None and (payments := paid.get(m.name)):
                if mine:
                    # Records of kind "dues" too (logged as meetings): judged together with the
                    # payments, all as records.
                    mine = sorted(mine + _paid_records(org, m.name, payments, as_of), key=_BY_DATE)
                # The months plainly paid are found from the payments; their records are made only
                # when a month is left to judge (and report the payments of).
                elif keep is not None and (bare_met or "met" not in keep):
                    if mine_on_time is None:
                        mine_on_time = _on_time_days(mine_periods)
                    met = _paid_met(org, ob, mine_periods, payments, as_of, mine_on_time)
                    mine = _paid_records(org, m.name, payments, as_of) if len(met) < len(mine_periods) else []
                else:
                    mine = _paid_records(org, m.name, payments, as_of)
            days = [r.held_on for r in mine]
            found.extend(_judge_each(org, ob, mine_periods, mine, days, as_of, catalog, keep, member=m.name,
                                     joined=m.joined, exemptions=m.exemptions, on_time=mine_on_time,
                                     bare_met=bare_met, met=met))
    else:
        days = [r.held_on for r in kind_records]
        found.extend(_judge_each(org, ob, periods, kind_records, days, as_of, catalog, keep, on_time=on_time,
                                 bare_met=bare_met))
    return [f for f in found if f is not None]


def _judge_each(org: OrgFacts, ob: Obligation, periods: list[Period], records: list[Record], days: list[date],
                as_of: date, catalog: Catalog, keep: Collection[str] | None, member: str | None = None,
                group: str | None = None, joined: date | None = None,
                exemptions: tuple[tuple[date, date], ...] = (),
                on_time: dict[date, tuple[int, ...]] | None = None, bare_met: bool = False,
                met: Collection[int] | None = None) -> list[Finding]:
    """Return the kept findings of `periods` of one obligation (for one group or member): exempt, or judged.

    A period without records is judged without looking for them. When met is not kept, or kept
    bare (`evaluate_org`), the periods a valid record satisfies are found first (`_met`, or
    `met` when the caller found them) and only the others are judged.
    """
    found: list[Finding] = []
    keep_exempt = keep is None or "exempt" in keep
    keep_met = keep is None or "met" in keep
    exempt = _exempt_periods(org, ob, periods, joined, exemptions)
    if met is None:
        met = ()
        if days and keep is not None and (bare_met or not keep_met):
            met = _met(org, ob, periods, records, _on_time_days(periods) if on_time is None else on_time)
    if met and len(met) == len(periods) and not keep_exempt and not keep_met:
        return found
    for i, period in enumerate(periods):
        if i in met and not keep_exempt and not keep_met:
            continue
        if i in exempt:
            if keep_exempt:
                found.append(_finding(org, ob, period, as_of, "exempt", (), _exempt_flags(org, ob, period, joined, exemptions),
                                      member, group))
            continue
        if i in met:
            if keep_met:
                # `_finding` of a bare met period, inline: most of a province's periods are met
                found.append(_new(Finding, (org.id, org.path, ob.slug, ob.name, period.key, "met", period.due, None, (), (),
                                            member, group)))
            continue
        if days:
            finding = _judge(org, ob, period, records, days, as_of, catalog, member, group, keep)
        else:
            status = _lead(ob, period, as_of, _status(period, as_of, False, False))
            finding = None if keep is not None and status not in keep else \
                _finding(org, ob, period, as_of, status, (), (), member, group)
        if finding is not None:
            found.append(finding)
    return found


def tally(findings: Iterable[Finding]) -> tuple[dict[str, int], dict[str, int]]:
    """Return the count of `findings` by status and by obligation name."""
    statuses: dict[str, int] = {}
    names: dict[str, int] = {}
    for f in findings:
        statuses[f.status] = statuses.get(f.status, 0) + 1
        names[f.name] = names.get(f.name, 0) + 1
    return statuses, names


# Arabic digits anywhere; Chinese numerals only as a number: after 第, or before what is counted (一支部, 二组, 三网格).
# 十里铺村, 两新组织 and 百花村 are names, not numbers (review).
_NUMERALS = re.compile(r"[0-9０-９]+|(?<=第)[零〇一二两三四五六七八九十百]+|[零〇一二两三四五六七八九十百]+(?=党?支部|党?小组|组|网格|片区)")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def _numeral(text: str) -> int:
    """Return the value of Arabic or Chinese numerals (第一百零五 → 105, 二十 → 20, 十一 → 11)."""
    if text[0] not in _DIGITS and text[0] not in "十百":
        return int(text)
    total = digit = 0
    for c in text:
        if c == "百":
            total, digit = total + (digit or 1) * 100, 0
        elif c == "十":
            total, digit = total + (digit or 1) * 10, 0
        else:
            digit = digit * 10 + _DIGITS[c] if digit and not total else _DIGITS[c]
    return total + digit


@lru_cache(maxsize=65536)
def _name_order(name: str) -> tuple[tuple[int, int, str], ...]:
    parts: list[tuple[int, int, str]] = []
    at = 0
    for m in _NUMERALS.finditer(name):
        if m.start() > at:
            parts.append((1, 0, name[at:m.start()]))
        parts.append((0, _numeral(m.group()), m.group()))
        at = m.end()
    if at < len(name):
        parts.append((1, 0, name[at:]))
    return tuple(parts)


def path_order(path: str) -> tuple[tuple[tuple[int, int, str], ...], ...]:
    """Return the sort key of an organization's path that puts 第二党支部 before 第三党支部 and 第十党支部 after both:
    each name's numerals, Chinese or Arabic, by their value; a superior before what is below it. By code point, 第三 came
    before 第二 (supervision team's try-out)."""
    return tuple(_name_order(name) for name in path.split("/"))


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    """Return findings ordered for an overdue list: missed and invalid before due, oldest first.

    The order is (severity, due, organization path, obligation, group, member). Findings are put
    in buckets of one severity and due date, and each bucket is sorted on each path's rank among
    the paths: a sort key for every finding at once took 300 MB for 2 million findings, and
    comparing paths with long common prefixes decided most of the time.
    """
    severity = SEVERITY
    buckets: dict[tuple[int, date], list[Finding]] = defaultdict(list)
    paths = set()
    for f in findings:
        buckets[(severity[f.status], f.due)].append(f)
        paths.add(f.org)
    rank = {path: i for i, path in enumerate(sorted(paths, key=path_order))}
    ordered: list[Finding] = []
    for key in sorted(buckets):
        bucket = buckets.pop(key)
        bucket.sort(key=lambda f: (rank[f.org], f.obligation, f.group or "", f.member or ""))
        ordered.extend(bucket)
    return ordered
