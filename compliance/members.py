"""Pure member-level checks: the six-month watch, mobile members out of contact, training hours.

Party Constitution, Article 9: a member who, without proper reason, for six consecutive months
takes no part in organizational life or pays no dues is regarded as having given up membership —
a decision for the branch meeting. This module only counts months and prompts the branch to
review (提请支部审查); it never labels anyone 自行脱党. Three months is the product's own early
warning (关注), configurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from operator import le
from typing import Callable, Iterable, Mapping, NamedTuple

from dateutil.relativedelta import relativedelta

from compliance.evaluate import MONTH_STARTS, NameLists, Record, split_list
from compliance.tabular import split_names
from obligations.cadence import month_end

# The obligations of the six-month watch, by what a member's run of months is without: findings of the member, not of a period.
WATCH_SLUGS = {"absence": "absence_watch", "dues": "dues_watch"}
WATCH_OBLIGATIONS = frozenset(WATCH_SLUGS.values())

# Organizational life that counts as taking part (DOMAIN.md; issue "member-level obligations").
PARTICIPATION_KINDS = frozenset({"party_congress", "branch_committee", "group_meeting", "party_lecture", "theme_day",
                                 "study_day", "life_meeting", "member_review"})
MOBILE_KINDS = frozenset({"mobile_report"})
# What the six-month watch and the mobile members' last contact are read from (`activity`).
ACTIVITY_KINDS = PARTICIPATION_KINDS | MOBILE_KINDS
WATCH_MONTHS = 3
REVIEW_MONTHS = 6
TRAINING_HOURS = 32.0
LOST_CONTACT = timedelta(days=183)     # more than a half year


class MemberInfo(NamedTuple):
    """A member as these checks need them (a named tuple: a province has a million)."""

    id: int
    org_id: int
    org: str
    name: str
    status: str = "正式"
    mobile: bool = False
    liaison: str | None = None
    joined: date | None = None
    exemptions: tuple[tuple[date, date], ...] = ()
    counted_from: date | None = None      # a member transferred in: the first day of their first month here

    def since(self) -> date | None:
        """Return the day the member's months count from on this roster: their first month here, else their 入党日期."""
        return self.counted_from or self.joined


class WatchRow(NamedTuple):
    """One member's standing: months without organizational life and without dues.

    A named tuple: a province's workers hand back a row for each of a million members, and a
    frozen dataclass pickles by walking its fields for each one.
    """

    org: str
    member: str
    mobile: bool
    last_participation: date | None
    months_absent: int | None       # None: the branch keeps no attendance lists
    last_dues: str | None
    months_unpaid: int | None       # None: the branch records no dues
    level: str | None               # "watch" (关注) or "review" (提请支部审查)
    reasons: tuple[str, ...] = ()


def month_key(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def month_index(day: date) -> int:
    """Return a month as one integer (year × 12 + month − 1): months in a row are consecutive integers."""
    return day.year * 12 + day.month - 1


def first_owed_month(day: date) -> date:
    """Return the first month an organization owes from `day` (its founding or 启用日期): its own when it is the 1st, else the next.

    As evaluation has it: a period that starts before the organization does is exempt.
    """
    return day if day.day == 1 else (day.replace(day=1) + relativedelta(months=1))


def watch_start(since: date, starts: date | None) -> date:
    """Return the first month the watch counts: `since`, or the first month the organization owes if later.

    Months before the organization owed anything are not counted against its members.
    """
    return max(since, first_owed_month(starts)) if starts else since


def index_month(index: int) -> date:
    """Return the first day of the month `index` stands for."""
    return date(index // 12, index % 12 + 1, 1)


def _exempt_months(exemptions: Iterable[tuple[date, date]]) -> set[int]:
    return {i for start, end in exemptions for i in range(month_index(start), month_index(end) + 1)}


@dataclass
class Activity:
    """What the records say of the members of one organization, month by month.

    `took_part` and `excused` hold, per month index, the names on attendance lists (names as
    stored: joined by 、); `reports` the dates of records that name a member (a mobile member's
    report, or participation recorded where they live); `listed` the months the whole branch was
    expected at a meeting with a list (a 党小组会 expects only its group).
    """

    took_part: dict[int, set[str]] = field(default_factory=dict)
    excused: dict[int, set[str]] = field(default_factory=dict)
    reports: dict[str, list[tuple[date, str]]] = field(default_factory=dict)
    listed: set[int] = field(default_factory=set)
    days: dict[int, list[Record]] = field(default_factory=dict)
    # Worked out by `last` once the activity is gathered: the months with lists, latest first, and
    # for each month looked at, each name's last day on a list (a list is split once, not once a member).
    # (A factory, not `default=None`: a field with init=False and a plain default is left unset in
    # the compiled build.) Empty until worked out, and when no month has a list.
    _latest_first: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _last_days: dict[int, dict[str, date]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def absent(self, names: Iterable[str]) -> dict[str, list[int]]:
        """Return, for each of `names` who missed one, the listed months in which they neither took part nor were excused, in order.

        Set differences per month, not a test per member and month: most members are on most lists.
        """
        found: dict[str, list[int]] = {}
        roster = set(names)
        took, excused = self.took_part, self.excused
        for i in sorted(self.listed):
            for name in roster.difference(took.get(i, ()), excused.get(i, ())):
                found.setdefault(name, []).append(i)
        return found

    def reported(self, name: str, mobile: bool = True) -> set[int]:
        """Return the months covered by the records that name `name` (a mobile member's report covers its half year).

        A 流动党员汇报 of a member the roster does not mark mobile counts for nothing (`log` says
        so), here too: it wiped out a member's run of months away, back to the half year's start.
        """
        found: set[int] = set()
        for day, kind in self.reports.get(name, ()):
            if kind in MOBILE_KINDS:
                if not mobile:
                    continue
                # A mobile member's half-yearly report covers its whole half year: that is what they owe.
                half = day.year * 12 + (0 if day.month <= 6 else 6)
                found.update(range(half, half + 6))
            else:
                found.add(month_index(day))
        return found

    def last(self, name: str, mobile: bool = True) -> date | None:
        """Return the last day `name` took part (attended, or a record that names them; a mobile report only when `mobile`)."""
        best = max((day for day, kind in self.reports.get(name, ()) if mobile or kind not in MOBILE_KINDS), default=None)
        if not self._latest_first:
            self._latest_first = sorted(self.took_part, reverse=True)
        for i in self._latest_first:
            if best is not None and i < month_index(best):
                break
            if name in self.took_part[i]:
                day = self._last_on_lists(i)[name]
                return day if best is None or day > best else best
        return best

    def _last_on_lists(self, month: int) -> dict[str, date]:
        """Return each name on a list in month `month` (a `month_index`) and the last day it was on one."""
        found = self._last_days.get(month)
        if found is None:
            found = self._last_days[month] = {}
            for r in self.days[month]:       # the records of the month with a list
                day, names = r.held_on, r.attendees
                for name in names.split("、") if names else ():
                    if found.get(name, day) <= day:
                        found[name] = day
        return found


def activity(records: Iterable[Record], until: date | None = None, names: NameLists | None = None) -> dict[int, Activity]:
    """Return, per organization, its members' activity: one pass over the records, names gathered per month.

    With `until`, records held after it are left out: a day's view does not see what came later
    (a report held in December covered the half year for a view of November). `names` keeps the
    lists split for the caller (`split_list`).
    """
    if names is None:
        names = {}
    found: dict[int, Activity] = {}
    for r in records:
        kind = r.kind
        if kind not in PARTICIPATION_KINDS and kind not in MOBILE_KINDS:
            continue
        if until is not None and r.held_on > until:
            continue
        a = found.get(r.org_id)
        if a is None:
            a = found[r.org_id] = Activity()
        if r.member:
            a.reports.setdefault(r.member, []).append((r.held_on, kind))
        if kind in MOBILE_KINDS:
            continue
        held = r.held_on
        i = held.year * 12 + held.month - 1     # month_index, inline: once per record of a province
        if r.attendees:
            # Stored lists are joined by 、 (imports and `log` normalize them).
            took = a.took_part.get(i)
            if took is None:
                took = a.took_part[i] = set()
            took.update(split_list(names, r.attendees))
            a.days.setdefault(i, []).append(r)
            if kind != "group_meeting":
                a.listed.add(i)
        if r.excused:
            a.excused.setdefault(i, set()).update(r.excused.split("、"))
    return found


# A run of months: its first month, how many months count in it, whether it is still running at the
# last complete month, and the months that count (month_index), in order.
Run = tuple[int, int, bool, tuple[int, ...]]


def runs(covered: set[int], first: int, last: int, exempt: set[int]) -> list[Run]:
    """Return the runs of months from `first` to `last` neither covered nor exempt (see `Run`)."""
    return gaps(sorted(set(range(first, last + 1)).difference(covered, exempt)), last)


def running(found: list[Run]) -> int:
    """Return the length of the run still running at the end of `found` (0 when the last month was covered)."""
    return found[-1][1] if found and found[-1][2] else 0


def consecutive_gap(covered: set[str], first: date, last_month: date, exemptions: Iterable[tuple[date, date]]) -> int:
    """Return how many months up to `last_month` in a row are neither covered (month keys) nor exempt, back to `first`."""
    months = {month_index(date(int(k[:4]), int(k[5:7]), 1)) for k in covered}
    return running(runs(months, month_index(first), month_index(last_month), _exempt_months(exemptions)))


@dataclass(frozen=True)
class WatchRun:
    """A run of months a member took no part in organizational life ("absence") or paid no dues ("dues")."""

    member: MemberInfo
    what: str
    first: date          # the run's first month
    months: int          # the months that count in it
    running: bool        # still running at the last complete month
    # The months that count (month_index), in order: consecutive but for months without a listed
    # meeting, which neither count nor end a run of absence (`_standing`).
    counted: tuple[int, ...] = ()

    def through(self) -> int:
        """Return the run's last counted month (month_index)."""
        return self.counted[-1] if self.counted else month_index(self.first) + self.months - 1


def gaps(months: Iterable[int], last: int, neutral: Callable[[int], bool] | None = None) -> list[Run]:
    """Return the runs of consecutive months among `months` (ascending), still running or not at `last` (see `Run`).

    With `neutral`, a month it holds for neither breaks a run nor counts in it: two months with
    only such months between them are in one run, and a run followed by only such months up to
    `last` is still running.
    """
    found: list[Run] = []
    run: list[int] = []
    for i in months:
        if run and i != run[-1] + 1 and (neutral is None or not all(neutral(j) for j in range(run[-1] + 1, i))):
            found.append(_run(run, last, neutral))
            run = []
        run.append(i)
    if run:
        found.append(_run(run, last, neutral))
    return found


def _run(months: list[int], last: int, neutral: Callable[[int], bool] | None) -> Run:
    end = months[-1]
    still = end == last or (neutral is not None and end < last and all(neutral(j) for j in range(end + 1, last + 1)))
    return months[0], len(months), still, tuple(months)


class _MonthIndexes(dict):
    """A YYYY-MM month -> its `month_index`, each month converted once (a province pays dues for millions of member-months)."""

    def __missing__(self, month: str) -> int:
        i = self[month] = int(month[:4]) * 12 + int(month[5:7]) - 1
        return i


_MONTH_INDEXES = _MonthIndexes()


def _standing(m: MemberInfo, a: Activity | None, paid: dict[str, date] | None, since: date, last: int,
              absent: dict[str, list[int]] | None = None, dues_from: date | None = None) -> list[tuple[str, list[Run]]]:
    """Return a member's runs of absence (when the branch keeps lists) and of unpaid dues (when it records dues, from `dues_from`).

    A month counts against the member only when the branch held a meeting with a list that
    month and they are neither on it, nor excused, nor named by a record that month, nor exempt.
    A month without a list is the branch's gap, not the member's: it neither counts nor ends a
    run, unless the member took part, was excused or was exempt that month (a branch that held
    no listed meeting in November wiped out its members' runs, and closed their ledger items).
    `absent` is `a.absent()` of the member's organization, when the caller has it.

    A run still going at `last` has ended when the member takes part, is excused, reports or
    pays in the month after it, the one still open: it no longer runs, though that month does not
    count yet. An exemption of that month does not end it before the month is over: it may begin
    after the day looked at.
    """
    start = m.since()
    first = month_index(max(since, start) if start else since)
    exempt = _exempt_months(m.exemptions) if m.exemptions else set()
    found = []
    now = last + 1          # the month still open
    if a is not None and a.listed:
        missed = (absent if absent is not None else a.absent([m.name])).get(m.name, ())
        reported = a.reported(m.name, m.mobile) if m.name in a.reports else set()
        excluded = exempt | reported if reported else exempt
        listed, took, excused, name = a.listed, a.took_part, a.excused, m.name

        def neutral(i: int) -> bool:
            return i not in listed and i not in excluded and name not in took.get(i, ()) and name not in excused.get(i, ())

        found_runs = gaps([i for i in missed if first <= i <= last and i not in excluded], last, neutral)
        took_part_now = now in reported or name in took.get(now, ()) or name in excused.get(now, ())
        found.append(("absence", _ended(found_runs) if found_runs and took_part_now else found_runs))
    if paid is not None:
        months = set(map(_MONTH_INDEXES.__getitem__, paid))     # month_index of each YYYY-MM key
        found_runs = runs(months, max(first, month_index(dues_from)) if dues_from else first, last, exempt)
        found.append(("dues", _ended(found_runs) if found_runs and now in months else found_runs))
    return found


class DuesLimit(NamedTuple):
    """The dues rule's limit on arrears (`arrears_months`), as the watch applies it to an organization's members.

    A month paid later than `months` after its due day (the month's end; from the branch's
    consent to payment by quarter on, the quarter's end) is 无效（补交超过N个月） in `status`
    (`evaluate.record_valid`): it is no payment to the watch either.
    """

    months: int
    consent_from: Callable[[str], date | None]     # a member's (by name) first day of payment by quarter; None: no consent


@lru_cache(maxsize=4096)
def _pay_by(month: str, months: int, quarterly: bool) -> date:
    """Return the last day a payment settles `month` (YYYY-MM): `months` after its due day."""
    start = MONTH_STARTS[month]
    due = month_end(date(start.year, (start.month - 1) // 3 * 3 + 3, 1) if quarterly else start)
    return due + relativedelta(months=months)


# Arrears limit in months -> YYYY-MM month -> `_pay_by` of it without consent: a dict lookup a payment.
_PAY_BY: dict[int, dict[str, date]] = {}


def timely_payments(paid: dict[str, date], limit: DuesLimit, name: str) -> dict[str, date]:
    """Return the months of `paid` (month -> day paid) that `name` paid within `limit`: the ones that count as paid.

    Nearly every member paid every month in time by the stricter due day (without consent): that
    is told in one pass in C, and the consent is looked for only otherwise.
    """
    by = _PAY_BY.setdefault(limit.months, {})
    for month in paid.keys() - by.keys():
        by[month] = _pay_by(month, limit.months, False)
    if all(map(le, paid.values(), map(by.__getitem__, paid))):
        return paid
    since = limit.consent_from(name)
    return {month: day for month, day in paid.items()
            if day <= _pay_by(month, limit.months, since is not None and MONTH_STARTS[month] >= since)}


def _ended(found: list[Run]) -> list[Run]:
    """Return `found` with its last run no longer running: the member took part or paid in the month still open."""
    start, length, _, counted = found[-1]
    return [*found[:-1], (start, length, False, counted)]


def _absent_by_org(members: Iterable[MemberInfo], seen: dict[int, Activity]) -> dict[int, dict[str, list[int]]]:
    """Return `Activity.absent` of each organization's members, by organization id."""
    names: dict[int, list[str]] = {}
    for m in members:
        names.setdefault(m.org_id, []).append(m.name)
    return {org_id: seen[org_id].absent(org_names) for org_id, org_names in names.items() if org_id in seen}


def watch_runs(members: Iterable[MemberInfo], records: Iterable[Record], dues: dict[int, dict[str, date]],
               dues_orgs: set[int], as_of: date, since: date, warn: int = WATCH_MONTHS,
               dues_limit: DuesLimit | None = None, names: NameLists | None = None,
               dues_from: Mapping[int, date] | None = None) -> list[WatchRun]:
    """Return every run of at least `warn` months, counted as `watch` counts them, from `since` to the last complete month.

    `names` as in `activity`; `dues_from` as in `watch`.
    """
    members = list(members)
    seen = activity(records, as_of, names)
    last = month_index(as_of) - 1
    found: list[WatchRun] = []
    missed = _absent_by_org(members, seen)
    for m in members:
        paid = dues.get(m.id, {}) if m.org_id in dues_orgs else None
        if paid and dues_limit is not None:
            paid = timely_payments(paid, dues_limit, m.name)
        for what, member_runs in _standing(m, seen.get(m.org_id), paid, since, last, missed.get(m.org_id),
                                           dues_from.get(m.org_id) if dues_from else None):
            found.extend(WatchRun(m, what, index_month(start), length, running, counted)
                         for start, length, running, counted in member_runs if length >= warn)
    return found


def watch(members: Iterable[MemberInfo], records: Iterable[Record], dues: dict[int, dict[str, date]],
          dues_orgs: set[int], as_of: date, since: date, warn: int = WATCH_MONTHS, review: int = REVIEW_MONTHS,
          last_paid: Callable[[int], str | None] | None = None, dues_limit: DuesLimit | None = None,
          dues_from: Mapping[int, date] | None = None) -> list[WatchRow]:
    """Return every member's standing as of `as_of`, counting whole months since `since` (or joining).

    Only complete months count (the as-of month is still open), and only months in which the
    branch held a meeting with an attendance list. A branch that keeps no
    attendance lists cannot be judged on participation, nor one that records no dues on dues.
    `last_paid` gives a member's last month paid when `dues` holds only the months from `since`
    on; without it, the last of the member's months in `dues`. With `dues_limit`, a month paid
    too late is unpaid (`timely_payments`), though still the last month paid if it is the last.
    `dues_from` gives an organization's first month paid for by any of its members: its months
    before it are not counted unpaid (a branch that began entering dues in November had every
    member put to review for the year before: try-out).
    """
    members = list(members)
    seen = activity(records, as_of)
    last = month_index(as_of) - 1
    rows = []
    missed = _absent_by_org(members, seen)
    for m in members:
        a = seen.get(m.org_id)
        paid = dues.get(m.id, {})
        counted = timely_payments(paid, dues_limit, m.name) if dues_limit is not None else paid
        standing = dict(_standing(m, a, counted if m.org_id in dues_orgs else None, since, last, missed.get(m.org_id),
                                  dues_from.get(m.org_id) if dues_from else None))
        absent = running(standing["absence"]) if "absence" in standing else None
        unpaid = running(standing["dues"]) if "dues" in standing else None
        worst = max(absent or 0, unpaid or 0)
        level = "review" if worst >= review else "watch" if worst >= warn else None
        reasons = []
        if absent and absent >= warn:
            reasons.append(f"连续{absent}个月未参加组织生活")
        if unpaid and unpaid >= warn:
            reasons.append(f"连续{unpaid}个月未交纳党费")
        last_part = a.last(m.name, m.mobile) if a else None
        last_month = last_paid(m.id) if last_paid is not None else max(paid) if paid else None
        rows.append(WatchRow(m.org, m.name, m.mobile, last_part, absent, last_month, unpaid, level, tuple(reasons)))
    return rows


class MobileRow(NamedTuple):
    """A mobile member's last contact (a named tuple, as `WatchRow`)."""

    org: str
    member: str
    liaison: str | None
    last_contact: date | None
    lost: bool


def mobile_members(members: Iterable[MemberInfo], records: Iterable[Record], as_of: date,
                   paid: Mapping[int, date] | None = None, starts: date | None = None) -> list[MobileRow]:
    """Return each mobile member's last contact, and whether contact is lost (失联): more than half a year without one.

    A contact is a report or recorded participation, or a dues payment (`paid`: member id -> the last day they paid, by
    `as_of`): a member who paid every month, in a branch that keeps no attendance lists, was 失联 (try-out). Nothing
    before `starts`, the day the organization's tracking began, is known: a member is not lost before half a year of it.
    """
    seen = activity(records, as_of)
    rows = []
    for m in members:
        if not m.mobile:
            continue
        a = seen.get(m.org_id)
        last = max((d for d in (a.last(m.name) if a else None, (paid or {}).get(m.id)) if d is not None), default=None)
        # The latest of the contact, the member's coming and the tracking's start: a contact from before tracking began
        # made a member 失联 within weeks of it (review).
        reference = max((d for d in (last, m.since(), starts) if d is not None), default=None)
        lost = reference is None or as_of - reference > LOST_CONTACT
        rows.append(MobileRow(m.org, m.name, m.liaison, last, lost))
    return rows


def training_hours(members: Iterable[MemberInfo], records: Iterable[Record], year: int) -> dict[int, float]:
    """Return each member's hours of training in `year`: records with 学时 they attended or that name them."""
    members = list(members)
    by_name = {(m.org_id, m.name): m for m in members}
    hours = {m.id: 0.0 for m in members}
    for r in records:
        if not r.hours or r.held_on.year != year:
            continue
        names = split_names(r.attendees) if r.attendees else ([r.member] if r.member else [])
        for name in names:
            member = by_name.get((r.org_id, name))
            if member:
                hours[member.id] += r.hours
    return hours


@dataclass(frozen=True, slots=True)
class RosterIndicators:
    """Seed 003 §二(二)3: a branch with no member under 35, no woman, or no new member for 3 years."""

    org: str
    members: int
    under_35: int
    women: int
    newest_joined: date | None
    flags: tuple[str, ...]
    probation_over: tuple[str, ...] = ()    # 预备 members still 预备 past their probation and its approval (`probation_over`)


def roster_indicators(org: str, roster: Iterable[tuple[date | None, date | None, str | None]], as_of: date) -> RosterIndicators:
    """Return a branch's roster indicators from (born, joined, gender) of each member, as of `as_of`.

    Unknown birth dates, genders or joining dates are not counted either way; a flag is raised
    only when the roster says so for every member.
    """
    roster = list(roster)
    young_limit = as_of - relativedelta(years=35)
    under_35 = sum(1 for born, _, _ in roster if born and born > young_limit)
    women = sum(1 for _, _, gender in roster if gender == "女")
    joined = [j for _, j, _ in roster if j]
    newest = max(joined) if joined else None
    flags = []
    if roster and all(born for born, _, _ in roster) and under_35 == 0:
        flags.append("无35岁以下党员")
    if roster and all(g for _, _, g in roster) and women == 0:
        flags.append("无女党员")
    if roster and len(joined) == len(roster) and newest and newest <= as_of - relativedelta(years=3):
        flags.append("3年以上未发展党员")
    return RosterIndicators(org, len(roster), under_35, women, newest, tuple(flags))


# 党章 第七条: 预备党员的预备期为一年；预备期满，党的支部应当及时讨论他能否转为正式党员（可延长预备期，不超过一年）.
PROBATION_YEARS = 1
# 《中国共产党发展党员工作细则》: the 上级党委 approves a 转正 within three months of the branch's decision, and the roster
# rightly says 预备 until then (review: a flag on the anniversary itself was a false alarm).
APPROVAL_MONTHS = 3


def probation_over(roster: Iterable[tuple[str, str, date | None]], as_of: date) -> tuple[str, ...]:
    """Return the names of the 预备 members, of (name, status, joined), still 预备 three months after their year of probation.

    The branch should have discussed their becoming full members (转正), and the approval come,
    or the probation been extended (which the roster does not record); the roster still calls
    them 预备. A member whose joining date is unknown is not named.
    """
    return tuple(name for name, status, joined in roster
                 if status == "预备" and joined is not None
                 and joined + relativedelta(years=PROBATION_YEARS, months=APPROVAL_MONTHS) <= as_of)
