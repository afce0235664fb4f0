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
from typing import Iterable

from dateutil.relativedelta import relativedelta

from compliance.evaluate import Record
from compliance.tabular import split_names

# Organizational life that counts as taking part (DOMAIN.md; issue "member-level obligations").
PARTICIPATION_KINDS = frozenset({"party_congress", "branch_committee", "group_meeting", "party_lecture", "theme_day",
                                 "study_day", "life_meeting", "member_review"})
MOBILE_KINDS = frozenset({"mobile_report"})
WATCH_MONTHS = 3
REVIEW_MONTHS = 6
TRAINING_HOURS = 32.0
LOST_CONTACT = timedelta(days=183)     # more than a half year


@dataclass(frozen=True)
class MemberInfo:
    """A member as these checks need them."""

    id: int
    org_id: int
    org: str
    name: str
    status: str = "正式"
    mobile: bool = False
    liaison: str | None = None
    joined: date | None = None
    exemptions: tuple[tuple[date, date], ...] = ()


@dataclass(frozen=True)
class WatchRow:
    """One member's standing: months without organizational life and without dues."""

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


def _months(first: date, last: date) -> list[date]:
    """Return the first days of the months from `first`'s to `last`'s."""
    result, current = [], first.replace(day=1)
    while current <= last:
        result.append(current)
        current += relativedelta(months=1)
    return result


@dataclass
class Activity:
    """What the records say one member did: the months they took part or were excused, their last part."""

    covered: set[str] = field(default_factory=set)
    last: date | None = None


def activity(records: Iterable[Record], members: dict[tuple[int, str], MemberInfo]) -> tuple[dict[int, Activity], dict[int, set[str]]]:
    """Return each member's activity, and per organization the months it held a meeting with an attendance list.

    A mobile member's half-yearly report covers its whole half year: that is what they owe.
    """
    found: dict[int, Activity] = {}
    listed: dict[int, set[str]] = {}

    def mark(member: MemberInfo, day: date, took_part: bool) -> None:
        a = found.setdefault(member.id, Activity())
        a.covered.add(month_key(day))
        if took_part and (a.last is None or day > a.last):
            a.last = day

    for r in records:
        # Months when the whole branch was expected somewhere: a 党小组会 expects only its group.
        if r.kind in PARTICIPATION_KINDS and r.kind != "group_meeting" and r.attendees:
            listed.setdefault(r.org_id, set()).add(month_key(r.held_on))
        for text, took_part in ((r.attendees, True), (r.excused, False)):
            if r.kind in PARTICIPATION_KINDS and text:
                for name in split_names(text):
                    member = members.get((r.org_id, name))
                    if member:
                        mark(member, r.held_on, took_part)
        if r.member and (r.kind in MOBILE_KINDS or r.kind in PARTICIPATION_KINDS):
            member = members.get((r.org_id, r.member))
            if member:
                mark(member, r.held_on, True)
                if r.kind in MOBILE_KINDS:
                    half = 1 if r.held_on.month <= 6 else 7
                    for month in range(half, half + 6):
                        found[member.id].covered.add(f"{r.held_on.year}-{month:02d}")
    return found, listed


def consecutive_gap(covered: set[str], first: date, last_month: date, exemptions: Iterable[tuple[date, date]]) -> int:
    """Return how many months up to `last_month` in a row are neither covered nor exempt, back to `first`."""
    exempt = {month_key(m) for start, end in exemptions for m in _months(start, end)}
    count = 0
    for month in reversed(_months(first, last_month)):
        key = month_key(month)
        if key in covered or key in exempt:
            break
        count += 1
    return count


def runs(covered: set[str], first: date, last_month: date, exemptions: Iterable[tuple[date, date]]) -> list[tuple[date, int, bool]]:
    """Return the runs of months from `first`'s to `last_month` neither covered nor exempt: (first month, length, still running)."""
    exempt = {month_key(m) for start, end in exemptions for m in _months(start, end)}
    found: list[tuple[date, int, bool]] = []
    start, length = None, 0
    for month in _months(first, last_month):
        key = month_key(month)
        if key in covered or key in exempt:
            if start is not None:
                found.append((start, length, False))
            start, length = None, 0
        else:
            start, length = start or month, length + 1
    if start is not None:
        found.append((start, length, True))
    return found


@dataclass(frozen=True)
class WatchRun:
    """A run of months a member took no part in organizational life ("absence") or paid no dues ("dues")."""

    member: MemberInfo
    what: str
    first: date          # the run's first month
    months: int
    running: bool        # still running at the last complete month


def watch_runs(members: Iterable[MemberInfo], records: Iterable[Record], dues: dict[int, dict[str, date]],
               dues_orgs: set[int], as_of: date, since: date, warn: int = WATCH_MONTHS) -> list[WatchRun]:
    """Return every run of at least `warn` months, counted as `watch` counts them, from `since` to the last complete month."""
    members = list(members)
    seen, listed = activity(records, {(m.org_id, m.name): m for m in members})
    last_month = as_of.replace(day=1) - relativedelta(months=1)
    found = []
    for m in members:
        first = max(since, m.joined) if m.joined else since
        covers = []
        if m.org_id in listed:
            quiet = {month_key(d) for d in _months(first, last_month)} - listed[m.org_id]
            covers.append(("absence", seen.get(m.id, Activity()).covered | quiet))
        if m.org_id in dues_orgs:
            covers.append(("dues", set(dues.get(m.id, {}))))
        for what, covered in covers:
            found.extend(WatchRun(m, what, start, length, running)
                         for start, length, running in runs(covered, first, last_month, m.exemptions) if length >= warn)
    return found


def watch(members: Iterable[MemberInfo], records: Iterable[Record], dues: dict[int, dict[str, date]],
          dues_orgs: set[int], as_of: date, since: date, warn: int = WATCH_MONTHS, review: int = REVIEW_MONTHS) -> list[WatchRow]:
    """Return every member's standing as of `as_of`, counting whole months since `since` (or joining).

    Only complete months count (the as-of month is still open), and only months in which the
    branch held a meeting with an attendance list. A branch that keeps no
    attendance lists cannot be judged on participation, nor one that records no dues on dues.
    """
    members = list(members)
    by_name = {(m.org_id, m.name): m for m in members}
    seen, listed = activity(records, by_name)
    last_month = as_of.replace(day=1) - relativedelta(months=1)
    rows = []
    for m in members:
        first = max(d for d in (since, m.joined) if d) if m.joined else since
        a = seen.get(m.id, Activity())
        absent = None
        if m.org_id in listed:
            # A month the branch held no listed meeting is the branch's gap, not the member's.
            quiet = {month_key(d) for d in _months(first, last_month)} - listed[m.org_id]
            absent = consecutive_gap(a.covered | quiet, first, last_month, m.exemptions)
        paid = dues.get(m.id, {})
        unpaid = consecutive_gap(set(paid), first, last_month, m.exemptions) if m.org_id in dues_orgs else None
        worst = max(absent or 0, unpaid or 0)
        level = "review" if worst >= review else "watch" if worst >= warn else None
        reasons = []
        if absent and absent >= warn:
            reasons.append(f"连续{absent}个月未参加组织生活")
        if unpaid and unpaid >= warn:
            reasons.append(f"连续{unpaid}个月未交纳党费")
        rows.append(WatchRow(m.org, m.name, m.mobile, a.last, absent, max(paid) if paid else None, unpaid, level, tuple(reasons)))
    return rows


@dataclass(frozen=True)
class MobileRow:
    org: str
    member: str
    liaison: str | None
    last_contact: date | None
    lost: bool


def mobile_members(members: Iterable[MemberInfo], records: Iterable[Record], as_of: date) -> list[MobileRow]:
    """Return each mobile member's last report or recorded participation, and whether contact is lost (失联)."""
    members = [m for m in members if m.mobile]
    seen, _ = activity(records, {(m.org_id, m.name): m for m in members})
    rows = []
    for m in members:
        last = seen.get(m.id, Activity()).last
        reference = last or m.joined
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


@dataclass(frozen=True)
class RosterIndicators:
    """Seed 003 §二(二)3: a branch with no member under 35, no woman, or no new member for 3 years."""

    org: str
    members: int
    under_35: int
    women: int
    newest_joined: date | None
    flags: tuple[str, ...]


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
