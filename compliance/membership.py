"""Member-level views of a scope: the six-month watch, mobile members, training hours; dues and exemptions."""

from __future__ import annotations

import re
import unicodedata
from array import array
from itertools import chain
from dataclasses import replace
from datetime import date, datetime, timedelta
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator, NamedTuple, TypeVar

from compliance.access import Actor, require_write
from compliance.errors import InputError, NotFound
from compliance.importing import ORG_ALIASES, file_meta
from compliance.evaluate import Record
from compliance.members import (ACTIVITY_KINDS, LOST_CONTACT, TRAINING_HOURS, DuesLimit, MemberInfo, MobileRow, WatchRow,
                                first_owed_month, mobile_members, training_hours, watch, watch_start)
from compliance.orgs import LEAVE_REASONS, MemberRow, OrgIndex, OrgRow
from compliance.report.labels import yuan
from compliance.store import TZ, Store
from compliance.store.members import UNDONE_TRANSFER
from compliance.store.scope import Ids, by_org, ids_of
from compliance.tabular import (
    PARTY_FOUNDED, TOO_EARLY, CellError, Column, Table, WideTable, parse_date, parse_hours, parse_text, sharing, stream_table,
    title_year, written_day,
)
from obligations.cadence import month_end
from obligations.rules import Rules, default_rules

# `name` as well as `member`: the English header of 姓名 in a member file.
DUES_COLUMNS = [Column("姓名", "member", True, aliases=("name",)), Column("党组织", "org", True, 1000, aliases=ORG_ALIASES),
                Column("月份", "month", True, aliases=("交纳月份", "缴纳月份", "所属月份")),
                Column("金额", "amount", True), Column("交纳日期", "paid_on")]
T = TypeVar("T")
ADVANCE_LIMIT = 6       # months ahead a payment may cover, by default (`init --dues-advance-months`)


def advance_limit(store: Store) -> int:
    """Return how many months ahead a dues payment may cover: `init --dues-advance-months`, 6 by default."""
    return int(store.setting("dues_advance_months") or ADVANCE_LIMIT)


def _roots(index: OrgIndex, under: str | None) -> list[OrgRow]:
    """Return the organization `under` names, or every root (by path) when None."""
    if under:
        return [index.resolve(under)]
    return sorted((o for o in index.by_id.values() if o.parent_id is None), key=attrgetter("path"))


class OrgMembers(NamedTuple):
    """One organization's members (by name), their records and dues payments, as the member checks need them."""

    org: OrgRow
    members: list[MemberInfo]
    records: list[Record]
    paid: dict[int, dict[str, date]]       # member id -> month -> day paid
    starts: date | None = None             # the first day the organization owes anything (OrgIndex.starts_of)
    paid_before: dict[int, str] | None = None      # member id -> last month paid before the months in `paid` (`dues_since`)

    def records_dues(self) -> bool:
        """Tell whether the organization records dues: one of its members has a payment."""
        return any(self.paid.values()) or bool(self.paid_before)

    def dues_from(self) -> date | None:
        """Return the first day of the first month any member paid for, when it is among those in `paid` (None otherwise).

        Dues are owed from it (`OrgFacts.dues_from`); when a member paid before the months read
        (`paid_before`), the first month is before them and nothing read is before it.
        """
        if self.paid_before:
            return None
        months = [month for paid in self.paid.values() for month in paid]
        return date.fromisoformat(min(months) + "-01") if months else None

    def last_paid(self, member_id: int) -> str | None:
        """Return the last month `member_id` paid for, however long ago (None: never)."""
        months = self.paid.get(member_id)
        return max(months) if months else (self.paid_before or {}).get(member_id)


def org_members(store: Store, root: str, orgs: list[OrgRow], ids: Ids | None = None, records: bool = False,
                kinds: Collection[str] | None = None, since: date | None = None, dues: bool = False,
                until: date | None = None, index: OrgIndex | None = None, dues_since: date | None = None,
                known_at: datetime | None = None, on_roster: date | None = None) -> Iterator[OrgMembers]:
    """Yield each of `orgs` (at or below the path `root`, in id order, read by `ids`: see `in_scope`) that has members.

    The members are those on the roster on `on_roster` (else `until`; else those who have not
    left it).

    With `records`, its current records (of `kinds`, held from `since`); with `dues`, its
    members' payments (with `dues_since`, those for its month and later, and each member's last
    month paid before it: years of payments are not read); with `until`, only the records held
    and the dues paid by that day (a past day's view); with `known_at`, only what this database
    had been told by then, as it stood then (records, payments and exemptions: the roster is
    today's); with `index`, the day each organization starts owing. The organizations
    are read in one statement per table and streamed: one organization's rows are held at a
    time (a province's records as one list took 2.3 GB at 10,000 branches).
    """
    ids = ids if ids is not None else ids_of(o.id for o in orgs)
    roster = by_org(store.scope_members(root, ids))
    found = by_org(store.scope_records(root, known_at, since=since, ids=ids, kinds=kinds, until=until) if records else ())
    payments = by_org(store.scope_dues(root, ids, until, known_at, since=dues_since) if dues else ())
    before = by_org(store.last_paid(root, ids, until, dues_since, known_at) if dues and dues_since else ())
    exemptions = store.scope_exemptions(root, ids, known_at)
    day = on_roster or until
    for org in orgs:
        rows = [m for m in roster.take(org.id) if (m.left_on is None or (day is not None and day < m.left_on))
                and (m.arrived_on is None or day is None or m.arrived_on <= day)]
        if not rows:
            continue
        members = [MemberInfo(m.id, org.id, org.path, m.name, m.status, m.mobile, m.liaison, m.joined,
                              tuple(exemptions.get(m.id, ())), m.counted_from() if m.arrived_on else None) for m in rows]
        paid: dict[int, dict[str, date]] = {}
        for p in payments.take(org.id):
            paid.setdefault(p.member_id, {})[p.month] = p.paid_on
        yield OrgMembers(org, members, found.take(org.id), paid, index.starts_of(org) if index else None,
                         (before.take(org.id) or {}) if dues and dues_since else None)


def _by_path(store: Store, under: str | None, rows_of: Callable[[Iterator[OrgMembers]], Iterable[T]],
             path: Callable[[T], str], jobs: int, index: OrgIndex | None = None, **read: Any) -> list[T]:
    """Return the rows `rows_of` makes of the organizations at or below `under` (`org_members`, with `read`), by path.

    A large scope is worked in blocks, in `jobs` processes (`compliance.blocks`); the rows of
    each organization, its members by name, stay in their order. `index` is `store.index_around(under)`,
    when the caller has it.
    """
    from compliance.blocks import map_blocks      # it loads multiprocessing: only the commands that use it

    index = index or store.index_around(under)
    rows: list[T] = []
    for root in _roots(index, under):
        def work(block: list[OrgRow], ids: Ids | None, _whole: bool, root: str = root.path) -> Iterable[T]:
            return rows_of(org_members(store, root, block, ids, index=index, **read))

        rows.extend(map_blocks(store, index, root, index.subtree(root), work, jobs))
    rows.sort(key=path)         # stable
    return rows


def _dues_limits(store: Store, rules: Rules, index: OrgIndex) -> tuple[Callable[[OrgMembers], DuesLimit | None], set[str]]:
    """Return what gives an organization's limit on arrears (`tracking.dues_limit`: None without payments or a limit), and
    the kinds of record that are consent to payment by quarter (to read with its records)."""
    from compliance.tracking import default_catalog, dues_limit, dues_rule

    fallback = default_catalog(store)
    rules_of_dues = {name: dues_rule(catalog) for name, catalog in rules.catalogs.items()}

    def limit_of(o: OrgMembers) -> DuesLimit | None:
        return dues_limit(rules_of_dues.get(index.catalog_of(o.org, fallback), (0, None)), o.records) if o.paid else None

    return limit_of, {kind for _, kind in rules_of_dues.values() if kind}


def member_watch(store: Store, under: str | None, as_of: date, since: date | None = None,
                 keep: Callable[[WatchRow], bool] | None = None, jobs: int = 1, known_at: datetime | None = None,
                 rules: Rules | None = None) -> list[WatchRow]:
    """Return every member's months without organizational life and without dues, as of `as_of` (those `keep` keeps).

    With `known_at`, from what this database had been told by then (see `org_members`).
    """
    from compliance.tracking import watch_months

    start = since or date(as_of.year - 1, as_of.month, 1)
    warn = watch_months(store)
    index = store.index_around(under)
    limit_of, consents = _dues_limits(store, rules or default_rules(), index)

    def rows_of(found: Iterator[OrgMembers]) -> Iterator[WatchRow]:
        for o in found:
            dues_orgs = {o.org.id} if o.records_dues() else set()
            first = o.dues_from()
            since = watch_start(start, o.starts)
            # A month paid too late is unpaid, as `status` judges it (`dues_limit`).
            limit = limit_of(o)
            yield from (r for r in watch(o.members, o.records, o.paid, dues_orgs, as_of, since, warn=warn, last_paid=o.last_paid,
                                         dues_limit=limit, dues_from={o.org.id: first} if first else None)
                        if keep is None or keep(r))

    # No month before `start` is counted: of the payments before it, each member's last month paid will do.
    return _by_path(store, under, rows_of, attrgetter("org"), jobs, index=index, records=True, kinds=ACTIVITY_KINDS | consents,
                    dues=True, until=as_of, dues_since=start, known_at=known_at)


def mobile_list(store: Store, under: str | None, as_of: date, jobs: int = 1, known_at: datetime | None = None) -> list[MobileRow]:
    """Return each mobile member's last contact, and whether it is lost (with `known_at`, from the records known then)."""
    def rows_of(found: Iterator[OrgMembers]) -> Iterator[MobileRow]:
        for o in found:
            if any(m.mobile for m in o.members):
                paid = {member_id: max(months.values()) for member_id, months in o.paid.items() if months}
                yield from mobile_members(o.members, o.records, as_of, paid, o.starts)

    # The payments of the last half year and more: an earlier one is no contact that could keep a member from 失联.
    return _by_path(store, under, rows_of, attrgetter("org"), jobs, records=True, kinds=ACTIVITY_KINDS, until=as_of,
                    known_at=known_at, dues=True, dues_since=as_of - LOST_CONTACT - timedelta(days=31))


def hours_list(store: Store, under: str | None, year: int, keep: Callable[[dict[str, Any]], bool] | None = None,
               jobs: int = 1, known_at: datetime | None = None) -> list[dict[str, Any]]:
    """Return each member's training hours in `year` and what is missing to 32 (the rows `keep` keeps), in branches that record 学时.

    With `known_at`, from the records and exemptions known then.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)

    def rows_of(found: Iterator[OrgMembers]) -> Iterator[dict[str, Any]]:
        for o in found:
            if not any(r.hours for r in o.records):
                continue        # a branch that records no 学时 is not judged on them (the catalog's note), nor listed here
            totals = training_hours(o.members, o.records, year)
            for m in o.members:
                # As `status` judges the year: not owed when it began before the branch or the member (joined in
                # the year), or falls wholly in an approved exemption.
                exempt = bool((o.starts and o.starts > first) or (m.joined and m.joined > first)
                              or (m.counted_from and m.counted_from > first)     # a year they moved in is owed in neither branch
                              or (o.org.dissolved and o.org.dissolved < last)
                              or any(a <= first and last <= b for a, b in m.exemptions))
                row = {"org": m.org, "member": m.name, "hours": totals[m.id],
                       "missing": 0.0 if exempt else max(0.0, TRAINING_HOURS - totals[m.id]), "exempt": exempt}
                if keep is None or keep(row):
                    yield row

    # A member who left in the year owes no 学时 for it (`owed_while_on_roster`): not listed.
    return _by_path(store, under, rows_of, itemgetter("org"), jobs, records=True, since=date(year, 1, 1), known_at=known_at,
                    on_roster=last)


VILLAGE_SECTORS = ("农村", None)      # a branch of no stated sector is taken for a village's, as the seed's are


def roster(store: Store, under: str | None, day: date, everyone: bool = False) -> Iterator[dict[str, Any]]:
    """Yield the members on the rosters at or below `under` on `day` (with `everyone`, also those who left or came later).

    By organization (in the order they were registered) and name, read as they come: a
    province's roster is a million members.
    """
    index = store.index_around(under)
    for root in _roots(index, under):
        for org_id, members in store.scope_members(root.path):
            path = index.by_id[org_id].path
            for m in members:
                here = m.on_roster(day)
                if everyone or here:
                    yield {"org": path, "member": m.name, "group": m.group_name, "status": m.status, "mobile": m.mobile,
                           "joined": _iso(m.joined), "arrived": _iso(m.arrived_on), "left": _iso(m.left_on),
                           "left_reason": m.left_reason, "on_roster": here}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def indicators(store: Store, under: str | None, as_of: date) -> list:
    """Return the roster indicators of every branch in the scope (seed 003 §二(二)3), by path."""
    from compliance.members import APPROVAL_MONTHS, probation_over, roster_indicators

    index = store.index_around(under)
    rows = []
    for root in _roots(index, under):
        branches = sorted((o for o in index.subtree(root) if o.type == "党支部"), key=attrgetter("id"))
        roster = by_org(store.scope_members(root.path, ids_of(o.id for o in branches)))
        for o in branches:
            members = [m for m in roster.take(o.id) if m.on_roster(as_of)]
            found = roster_indicators(o.path, [(m.born, m.joined, m.gender) for m in members], as_of)
            # Seed 003 watches villages (行政村): a 两新 or 机关 branch is counted and not flagged.
            flags = found.flags if index.sector_of(o) in VILLAGE_SECTORS else ()
            # Every branch: a 预备 member past the year of probation and its approval (党章 第七条; `probation_over`).
            over = probation_over([(m.name, m.status, m.joined) for m in members], as_of)
            if over:
                flags += (f"预备期满超过{APPROVAL_MONTHS}个月仍为预备党员{len(over)}人（{'，'.join(over)}），请核实是否已讨论转正或延长预备期",)
            rows.append(replace(found, flags=flags, probation_over=over))
    rows.sort(key=attrgetter("org"))
    return rows


def unpaid(store: Store, under: str | None, as_of: date, known_at: datetime | None = None,
           judged: list[int] | None = None) -> list[dict[str, Any]]:
    """Return members of branches that record dues who have not paid this month, and their unpaid run of months.

    `months` counts this month in; `months_ended` and `three_or_more` count the months ended before it.
    With `known_at`, from the payments and exemptions as this database knew them then. `judged`,
    if given, gets the id of each organization judged (one that records dues).
    """
    from compliance.members import consecutive_gap, month_key, timely_payments

    current = month_key(as_of)
    first, last = date(as_of.year - 1, as_of.month, 1), (as_of.replace(day=1) - timedelta(days=1)).replace(day=1)
    # A month paid too late is unpaid, as `status` and the watch judge it (`dues_limit`): `dues unpaid` counted it paid, and
    # its run was a month shorter than theirs (try-out).
    index = store.index_around(under)
    limit_of, consents = _dues_limits(store, default_rules(), index)

    def rows_of(found: Iterator[OrgMembers]) -> Iterator[dict[str, Any]]:
        for o in found:
            if not o.records_dues():
                continue         # a branch that records no dues
            if judged is not None:
                judged.append(o.org.id)     # in this process: the scope is read in one (`_by_path` with one job)
            dues_from = o.dues_from() or first
            limit = limit_of(o)
            for m in o.members:
                paid = o.paid.get(m.id, {})
                if paid and limit is not None:
                    paid = timely_payments(paid, limit, m.name)
                if current in paid:
                    continue
                start = m.since()
                owed = max(first, first_owed_month(o.starts) if o.starts else first, start.replace(day=1) if start else first,
                           dues_from)
                if owed > as_of.replace(day=1):
                    continue     # the organization owes nothing yet this month
                ended = consecutive_gap(set(paid), owed, last, m.exemptions) if owed <= last else 0
                # This month is not yet overdue: three months are counted as the six-month watch counts them, whole months ended.
                yield {"org": m.org, "member": m.name, "last_paid": o.last_paid(m.id),
                       "months": ended + 1, "months_ended": ended, "three_or_more": ended >= 3}

    # No month before `first` is counted: of the payments before it, each member's last month paid will do.
    # A member who left this month still owes it (`owed_while_on_roster`).
    return _by_path(store, under, rows_of, itemgetter("org"), 1, index=index, dues=True, until=as_of, dues_since=first, known_at=known_at,
                    on_roster=as_of.replace(day=1), records=bool(consents), kinds=consents)


def exemption_list(store: Store, under: str | None, known_at: datetime | None = None) -> list[dict[str, Any]]:
    """Return the approved exemptions of the members at or below `under` (every one when None), by organization and member.

    With `known_at`, those entered by then, withdrawn only if they had been by then.
    """
    index = store.index_around(under)
    orgs = [o for root in _roots(index, under) for o in index.subtree(root)]
    members = {m.id: m for m in store.members([o.id for o in orgs])}
    paths = {o.id: o.path for o in orgs}

    def withdrawn(row: dict[str, Any]) -> str | None:
        voided = row["voided_at"]
        return row["void_reason"] if voided is not None and (known_at is None or voided <= known_at) else None

    rows = [{"id": row["id"], "org": paths[members[row["member_id"]].org_id], "member": members[row["member_id"]].name,
             "start": row["start"].isoformat(), "end": row["end"].isoformat(), "reason": row["reason"],
             "withdrawn": withdrawn(row)}
            for row in store.exemption_rows(list(members)) if known_at is None or row["created_at"] <= known_at]
    return sorted(rows, key=itemgetter("org", "member", "start"))


REASON_LIMIT = 400       # the column's length (PostgreSQL refuses a longer one; SQLite kept it)


def checked_reason(reason: str, example: str, blank: str | None = None) -> str:
    """Return a --reason stripped; InputError (`blank`, if given, for a blank one) when it is blank or longer than the column holds."""
    text = reason.strip()
    if not text:
        raise InputError(blank or f"--reason：须写明原因（如 {example}）")
    if len(text) > REASON_LIMIT:
        raise InputError(f"--reason：原因最多 {REASON_LIMIT} 字（现为 {len(text)} 字）")
    return text


def withdraw_exemption(store: Store, exemption_id: int, reason: str, actor: Actor | None = None) -> dict[str, Any]:
    """Withdraw the approved exemption `exemption_id` (entered by mistake) with the reason; return it as `exemption_list` lists it.

    It stays listed, marked withdrawn, and no longer counts. One withdrawn already is refused.
    """
    reason = checked_reason(reason, "登记错人", blank="--reason：撤销须写明原因")
    found = store.exemption(exemption_id)
    if found is None:
        raise NotFound(f"没有编号为 {exemption_id} 的免除（member exemptions 可查看已登记的免除）")
    path = store.org_path(found["org_id"])
    if actor is not None:
        require_write(store, actor, "exempt", [path])
    shown = f"「{found['name']}」{found['start'].isoformat()} 至 {found['end'].isoformat()} 的免除"
    if not store.void_exemption(exemption_id, found["org_id"], reason):
        again = store.exemption(exemption_id) or found
        raise InputError(f"{shown}（编号 {exemption_id}）已于 {again['voided_at'].astimezone(TZ):%Y-%m-%d} 撤销（{again['void_reason']}），未重复撤销")
    return {"id": exemption_id, "org": path, "member": found["name"], "start": found["start"].isoformat(),
            "end": found["end"].isoformat(), "reason": found["reason"], "withdrawn": reason}


def exempt_member(store: Store, org_ref: str, name: str, start: date, end: date, reason: str) -> int:
    org = store.index_around(org_ref).resolve(org_ref)
    member = next((m for m in store.members([org.id]) if m.name == name.strip()), None)
    if member is None:
        raise InputError(f"「{name}」不是「{org.path}」的党员")
    if end < start:
        raise InputError(f"--to：结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}")
    reason = checked_reason(reason, "因病经批准、经批准出国")
    # Entered twice by mistake, it would be listed twice, and could not be withdrawn.
    same = next((row for row in store.exemption_rows([member.id])
                 if (row["start"], row["end"]) == (start, end) and row["voided_at"] is None), None)
    if same is not None:
        raise InputError(f"「{name.strip()}」{start.isoformat()} 至 {end.isoformat()} 的免除已登记（编号 {same['id']}：{same['reason']}）")
    return store.add_exemption(member.id, org.id, start, end, reason)


def leave_member(store: Store, org_ref: str, name: str, day: date, reason: str, note: str | None,
                 actor: Actor | None = None) -> dict[str, Any]:
    """Mark a member as having left the branch's roster on `day`; their row and records stay.

    From that day they count neither in the roster's quorums nor for its committee or groups;
    they owe dues for the months whose first day they were on it and other periods that ended
    before it, and the six-month watch no longer lists them.
    """
    org = store.index_around(org_ref).resolve(org_ref)
    if actor is not None:
        require_write(store, actor, "leave", [org.path])
    if reason not in LEAVE_REASONS:
        raise InputError(f"--reason：「{reason}」不是离开原因，应为 {'、'.join(LEAVE_REASONS)} 之一")
    member, note = _may_leave(store, org, name, day, note)
    if not store.set_member_left(member.id, org.id, day, reason, note or reason, member.name):
        raise InputError(f"「{member.name}」的离开已由他人同时登记，未重复登记")
    # An 应到 stored with a list of attendees was the roster's then, this member among them.
    counted = store.listed_meetings(org.id, day)
    return {"org": org.path, "member": member.name, "left_on": day.isoformat(), "reason": reason, "counted": counted,
            "secretary": org.secretary == member.name and not org.secretary_vacant}


def transfer_member(store: Store, org_ref: str, name: str, to_ref: str, day: date, group: str | None = None,
                    note: str | None = None, actor: Actor | None = None) -> dict[str, Any]:
    """Move a member to another organization's roster in this database on `day` (组织关系转接): they leave this one (转出) and arrive there.

    Each month is owed once, where they were as it began, and each other period where they were
    as it ended (`owed_while_on_roster`); their records stay where they were held.
    """
    index = store.index_around(org_ref)
    org = index.resolve(org_ref)
    try:
        target = store.index_around(to_ref).resolve(to_ref)
    except NotFound as exc:
        raise NotFound(f"--to：{exc}") from None
    if actor is not None:
        require_write(store, actor, "transfer", [org.path, target.path])
    if target.id == org.id:
        raise InputError(f"--to：「{target.path}」就是党员现在的党组织")
    if target.type != "党支部":
        raise InputError(f"--to：「{target.path}」是{target.type}，党员只能转入党支部")
    if target.dissolved is not None and day >= target.dissolved:
        raise InputError(f"--to：「{target.path}」已于 {target.dissolved.isoformat()} 撤销")
    if target.founded is not None and day < target.founded:
        raise InputError(f"--to：「{target.path}」{target.founded.isoformat()} 才成立，早于转接日期 {day.isoformat()}")
    member, note = _may_leave(store, org, name, day, note)
    roster = store.members([target.id])
    there = next((m for m in roster if m.name == member.name), None)
    if there is not None and there.left_reason != UNDONE_TRANSFER:
        if there.left_on is not None:
            raise InputError(f"--to：「{target.path}」的花名册上有 {there.left_on.isoformat()} 离开（{there.left_reason}）的同名党员"
                             f"「{member.name}」；同一党支部一个姓名只有一条党员记录，暂不能转回，未转接")
        raise InputError(f"--to：「{target.path}」的花名册上已有「{member.name}」，未转接；如是同一人，请用 member leave 登记其离开本支部")
    group = group.strip() if group and group.strip() else None
    if group is not None and group not in {m.group_name for m in roster if m.on_roster(day)}:
        raise InputError(f"--group：「{target.path}」的花名册上没有党小组「{group}」；新设党小组请用 member import")
    new_id = store.transfer_member(member.id, org.id, target.id, day, group, note or f"转往{target.path}")
    if new_id is None:
        raise InputError(f"「{member.name}」的离开已由他人同时登记，未转接")
    # Approved exemptions stay with the member's row here: said, not copied (two copies would drift apart).
    exemptions = [r for r in store.exemption_rows([member.id]) if r["voided_at"] is None and r["end"] >= day]
    return {"org": org.path, "to": target.path, "member": member.name, "day": day.isoformat(),
            "counted": store.listed_meetings(org.id, day), "counted_there": store.listed_meetings(target.id, day),
            "exemptions": sorted(exemptions, key=itemgetter("id")), "secretary": org.secretary == member.name and not org.secretary_vacant}


def _may_leave(store: Store, org: OrgRow, name: str, day: date, note: str | None) -> tuple[MemberRow, str | None]:
    """Return the member `name` of `org`'s roster and the note stripped, if they may leave it on `day`; else an InputError saying why."""
    member = _roster_member(store, org, name)
    if member.left_on is not None:
        raise InputError(f"「{member.name}」已于 {member.left_on.isoformat()} 离开「{org.path}」（{member.left_reason}），未重复登记；"
                         "如登记有误，请先用 member unleave 撤销")
    if day > store.today():
        raise InputError(f"--date：{day.isoformat()} 晚于今天（{store.today().isoformat()}），离开须在办理后登记")
    if member.joined is not None and day < member.joined:
        raise InputError(f"--date：{day.isoformat()} 早于「{member.name}」的入党日期 {member.joined.isoformat()}")
    if member.arrived_on is not None and day <= member.arrived_on:
        raise InputError(f"--date：{day.isoformat()} 不晚于「{member.name}」转入「{org.path}」的日期 {member.arrived_on.isoformat()}")
    note = note.strip() if note and note.strip() else None
    if note is not None and len(note) > REASON_LIMIT:
        raise InputError(f"--note：说明过长（{len(note)} 字），最多 {REASON_LIMIT} 字")
    if named := store.records_naming(org.id, member.id, member.name, day):
        raise InputError(f"--date：{records_after_leaving(member.name, day, named)}")
    last_owed = f"{day - timedelta(days=1):%Y-%m}"
    if later := sorted(month for month in store.dues_paid([member.id]).get(member.id, {}) if month > last_owed):
        raise InputError(f"--date：「{member.name}」已交纳 {'、'.join(later[:6])}{' 等' if len(later) > 6 else ''} 的党费，"
                         f"按离开日期 {day.isoformat()}，这些月份不在本支部交纳；请核对离开日期，或先撤销这些党费（dues void）")
    return member, note


def records_after_leaving(name: str, day: date, named: list[tuple[int, date]]) -> str:
    """Say that records of `day` or later (`Store.records_naming`) name a member said to have left on `day`."""
    ids = sorted(record_id for record_id, _ in named)
    shown = "、".join(map(str, ids[:10])) + (f" 等{len(ids)}条" if len(ids) > 10 else "")
    return (f"「{name}」在 {day.isoformat()} 当天或之后的记录中仍被列为参会、请假、谈话对象或汇报人（记录 {shown}，"
            f"最晚 {max(held for _, held in named).isoformat()}）；请核对离开日期，或先更正、作废这些记录（record correct / record void）")


def unleave_member(store: Store, org_ref: str, name: str, reason: str, actor: Actor | None = None) -> dict[str, Any]:
    """Put back on the roster a member marked as having left by mistake; the audit log keeps what was undone and why."""
    org = store.index_around(org_ref).resolve(org_ref)
    if actor is not None:
        require_write(store, actor, "unleave", [org.path])
    member = _roster_member(store, org, name)
    reason = checked_reason(reason, "登记错人", blank="--reason：撤销须写明原因")
    if member.left_reason == UNDONE_TRANSFER:
        raise InputError(f"「{member.name}」在「{org.path}」的这条记录是撤销转接留下的，从未在其花名册上；再次转入请用 member transfer")
    if member.left_on is None:
        raise InputError(f"「{member.name}」在「{org.path}」的花名册上，没有登记离开"
                         + ("；如是转接有误，请在原支部用 member unleave 撤销转接" if member.arrived_on else ""))
    if member.left_reason == "转出" and (moved := store.transferred_to(member.id)) is not None:
        # A transfer entered by mistake: undone on both rosters, or the member would be on two.
        new_id, to_org_id = moved
        target = store.org_path(to_org_id)
        if actor is not None:
            require_write(store, actor, "unleave", [target])
        named = store.records_naming(to_org_id, new_id, member.name, member.left_on)
        paid = sorted(store.dues_paid([new_id]).get(new_id, {}))
        if named or paid:
            what = "、".join(([f"记录 {'、'.join(str(i) for i, _ in named[:10])}"] if named else [])
                            + ([f"{'、'.join(paid[:6])} 的党费"] if paid else []))
            raise InputError(f"「{member.name}」{member.left_on.isoformat()} 转入「{target}」后已有{what}，未撤销转接；"
                             "如转接有误，请先更正、作废这些记录或撤销党费")
        if not store.undo_transfer(member.id, org.id, new_id, to_org_id, reason):
            raise InputError(f"「{member.name}」在「{target}」的花名册已有变动（已离开或转入日期不同），未撤销转接")
        return {"org": org.path, "member": member.name, "left_on": member.left_on.isoformat(), "reason": member.left_reason,
                "transfer": target}
    if not store.set_member_left(member.id, org.id, None, None, reason, member.name):
        raise InputError(f"「{member.name}」的离开已由他人同时撤销")
    return {"org": org.path, "member": member.name, "left_on": member.left_on.isoformat(), "reason": member.left_reason}


def _roster_member(store: Store, org: OrgRow, name: str) -> MemberRow:
    member = next((m for m in store.members([org.id]) if m.name == name.strip()), None)
    if member is None:
        raise InputError(f"「{name}」不是「{org.path}」的党员")
    return member


def overlapping_exemptions(store: Store, org_ref: str, name: str, exemption_id: int) -> list[dict[str, Any]]:
    """Return the member's other exemptions in force whose days overlap those of `exemption_id` (entered twice, a date mistyped)."""
    org = store.index_around(org_ref).resolve(org_ref)
    member = next(m for m in store.members([org.id]) if m.name == name.strip())
    rows = [r for r in store.exemption_rows([member.id]) if r["voided_at"] is None]
    mine = next(r for r in rows if r["id"] == exemption_id)
    return [r for r in rows if r["id"] != exemption_id and r["start"] <= mine["end"] and mine["start"] <= r["end"]]


def _month(value: Any) -> str:
    if isinstance(value, date):
        # Excel makes 2026-11 typed in a cell the date 2026-11-01.
        if value.day != 1:
            raise CellError(f"是日期 {value:%Y-%m-%d}，不是月份（应写作 {value:%Y-%m}）")
        value = f"{value.year:04d}-{value.month:02d}"
    text = unicodedata.normalize("NFKC", str(value or "").strip())
    m = re.fullmatch(r"(\d{4})[-/年.](\d{1,2})月?", text)
    if m and re.fullmatch(r"\d{4}\.1", text):
        # Excel keeps 2026.10 typed in a number cell as the number 2026.1 (and writes it so to CSV): October was stored as
        # January, without a word (try-out).
        raise CellError(f"「{text}」分不清是 {m.group(1)}年1月 还是 {m.group(1)}年10月（Excel 把数字 {m.group(1)}.10 存为 "
                        f"{m.group(1)}.1）：请写作 {m.group(1)}-01 或 {m.group(1)}-10")
    dated, day = written_day(text) if not m else (False, None)
    if day is not None:
        # A date as text, as Excel's date cell is read (review: 2026-06-15 was taken for months 2026-06 to 15).
        if day.day != 1:
            raise CellError(f"是日期 {day:%Y-%m-%d}，不是月份（应写作 {day:%Y-%m}）")
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", f"{day.year:04d}-{day.month}")
    if not m and not dated and _MONTHS.fullmatch(text):
        # 1-6月 for half a year paid at once was told only 应写作 2026-11 (try-out): each month is a row of its own.
        # `dues log --month 2026-06至2026-12` was told so with no word of the import, which takes them all at once (try-out).
        raise CellError("是几个月，不是一个月：党费按月登记，每月一条（如 2026-01、2026-02 各一条，一次交几个月的交纳日期相同；"
                        "几个月可写在一个文件中，每月一行，用 compliance dues import 一次导入）")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise CellError("不是月份（应写作 2026-11）")
    month = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    if month < _FIRST_MONTH:
        # 0001-01 was stored as 1-01, and the command's own message then failed on it (try-out).
        raise CellError(f"月份{TOO_EARLY}")
    return month


# Months from one to another: 1-6月, 2026年1月至6月, 2026-01~2026-06.
_MONTHS = re.compile(r"(?:\d{4}[-/年.])?\d{1,2}月?\s*[-–—~～至到]\s*(?:\d{4}[-/年.])?\d{1,2}月?(?:份)?")
_FIRST_MONTH = f"{PARTY_FOUNDED:%Y-%m}"      # no dues are older than the Party
_YUAN = re.compile(r"\d+(\.\d{1,2})?|\.\d{1,2}")


def _amount(value: Any) -> float | None:
    """Return a dues amount: a number above 0 in yuan and fen (at most two decimals); None for blank (which `load_dues` reports as missing).

    12.555 was taken, and 1e2 as 100: money is written as money. A trailing 元 and a leading ¥ are dropped (10元 and
    ¥12.50 were 不是数字: try-outs).
    """
    if isinstance(value, str) and (value[-1:] == "元" or value[:1] in ("¥", "￥") or value != value.strip()):
        text = value.strip().removeprefix("¥").removeprefix("￥").strip()
        text = text.removesuffix("元").strip()
        value = text or value
    if value is not None:
        try:
            if float(str(value).strip()) <= 0:
                raise CellError("金额应大于0")
        except ValueError:
            pass        # not a number: parse_hours says so
        if isinstance(value, str) and not _YUAN.fullmatch(value.strip()) and parse_hours(value) is not None:
            raise CellError("金额应写作元，最多两位小数（如 12 或 12.50）")
        if isinstance(value, float) and round(value, 2) != value:
            raise CellError("金额最多两位小数（到分）")
    return parse_hours(value)


def load_dues(store: Store, table: Table, meta: Callable[[], dict[str, Any]], whole: bool = True, undated: str | None = None) -> int:
    """Check every dues row, then add them in one transaction; a month already paid is skipped.

    `undated` is what a month gone by without a day paid is told, when not to fill in the 交纳日期 (a ledger's).

    `whole`: the rows may name many organizations (a file), and the whole tree is read;
    otherwise only the tree around the organization each row names. Rosters are read as rows
    name their organizations, all at once when many (`Rosters`).
    """
    from compliance.importing import Rosters, Suggestions, _Problems, _resolve, unpadded

    problems = _Problems(table)
    index = OrgIndex(store.orgs()) if whole else None     # a payment logged: the tree around its organization
    today = store.today()
    current = f"{today:%Y-%m}"
    limit = advance_limit(store)
    # Member ids by organization and name, from plain rows: a province's whole roster as rows took 700 MB.
    rosters = Rosters(store, whole=False)
    rows: list[tuple[Any, ...]] = []
    last_name: str | None = None
    undated_rows: list[tuple[int, int, str]] = []     # (row, member id, month) of months ended without a date paid
    unpaid_rows: list[tuple[int, int, str]] = []  # (row, member id, month) of rows refused for their amount
    numbers = array("I")        # each row's number in the file, and whether it gave the date paid
    dated = bytearray()
    share = sharing()
    suggest = Suggestions(store.orgs)
    for number, values in table.rows:
        ref = parse_text(values.get("org")) or ""
        found, why = _resolve(index or store.index_around(ref), ref, suggest)
        if found is None:
            problems.add(number, "org", values.get("org"), why or "找不到该党组织")
            continue
        name = parse_text(values.get("member"))
        name = unpadded(name) if name else name      # 陈　刚 as the roster has it (try-out)
        member_id = rosters.of(found.id).get(name or "")
        if member_id is None:
            # 孙炜 for 孙强 was told only 不是…的党员, where an organization typed so is asked about (try-out).
            close = one_character_off(name or "", rosters.of(found.id))
            problems.add(number, "member", values.get("member"), f"不是「{found.path}」的党员" + (f"（是否是「{close}」？）" if close else ""))
            continue
        month = problems.parse(number, values, "month", _month)
        amount = problems.parse(number, values, "amount", _amount)
        arrived, left = rosters.moved.get(found.id, {}).get(name or "", (None, None))
        # Owed for each month whose first day they were on the roster (`owed_while_on_roster`).
        if month and left is not None and month > f"{left - timedelta(days=1):%Y-%m}":
            problems.add(number, "month", values.get("month"), f"「{name}」已于 {left.isoformat()} 离开「{found.path}」，"
                                                                f"{month} 的党费不在本支部交纳")
        elif month and arrived is not None and month < f"{arrived.replace(day=28) + timedelta(days=4) if arrived.day > 1 else arrived:%Y-%m}":
            problems.add(number, "month", values.get("month"), f"「{name}」于 {arrived.isoformat()} 转入「{found.path}」，"
                                                                f"{month} 的党费不在本支部交纳")
        if values.get("amount") is None:
            problems.add(number, "amount", None, "金额不能为空")
        paid_on = problems.parse(number, values, "paid_on", parse_date) or today
        if whole and month and values.get("paid_on") is None and month < current:
            # Taken as paid today, a past month would be paid late (or too late to count), and nothing would say so;
            # refused below unless the month is registered already (a file imported before, read again).
            undated_rows.append((number, member_id, month))
        if paid_on > today:
            problems.add(number, "paid_on", values.get("paid_on"), "交纳日期晚于今天")
        if month:
            year, mon = (int(x) for x in month.split("-"))
            ahead = (year - paid_on.year) * 12 + mon - paid_on.month
            if ahead > limit:
                problems.add(number, "month", values.get("month"), f"预交党费最多覆盖今后{limit}个月")
        if month and amount:
            # A tuple of DUES_FIELDS, months, amounts and dates held once: a province pays 2.9 million times.
            rows.append((member_id, found.id, share(month), share(amount), share(paid_on)))
            last_name = name
            numbers.append(number)
            dated.append(values.get("paid_on") is not None and not values.get(ASSUMED))
        elif month:
            # A row refused for its amount is checked against the join date too, so that one round of corrections does.
            unpaid_rows.append((number, member_id, month))
    if rows or unpaid_rows:
        # Dues are owed from the month of joining (入党): an earlier month was taken and counted for nothing,
        # told as a late payment (try-out), as a month after leaving is refused above.
        # Read for those who joined in or after the file's first month alone: the others joined before any row's month.
        # Without a list of every row: a province's file has millions (`rows` holds them once already).
        ids = {r[0] for r in rows} | {member_id for _, member_id, _ in unpaid_rows}
        since = min(chain((r[2] for r in rows), (month for _, _, month in unpaid_rows)))
        joined = store.joined_months(ids, date.fromisoformat(since + "-01"))
        early = [(numbers[at], r[0], r[2]) for at, r in enumerate(rows) if r[0] in joined and r[2] < joined[r[0]][1]]
        early += [row for row in unpaid_rows if row[1] in joined and row[2] < joined[row[1]][1]]
        for number, member_id, month in sorted(early):
            first = joined[member_id]
            problems.add(number, "month", month, f"「{first[0]}」于 {first[2].isoformat()} 入党，{month} 的党费不需交纳（从入党当月起交纳）")
    if undated_rows:
        held = store.paid_months([(member_id, month) for _, member_id, month in undated_rows])
        for number, member_id, month in undated_rows:
            if (member_id, month) not in held:
                problems.add(number, "paid_on", None, undated or f"{month} 已过，交纳日期不能为空：请填写实际交纳日期（留空会按今天算作补交）")
    if whole and rows:
        # A payment withdrawn (`dues void`) came back when the file that had it was imported again.
        voided = store.voided_dues([(r[0], r[2]) for r in rows])
        for at, r in enumerate(rows):
            for amount, paid_on, when, why in voided.get((r[0], r[2]), ()):
                if (amount, paid_on) == (r[3], r[4]) or (amount == r[3] and not dated[at]):
                    problems.add(numbers[at], "month", r[2], f"该党员 {r[2]} 的这笔党费（{yuan(amount)} 元，{paid_on.isoformat()} 交纳）"
                                 f"已于 {when.astimezone(TZ):%Y-%m-%d} 撤销（{why}）：请从文件中删去本行；确需重新登记的，用 dues log 登记")
                    break

    def conflicting(held: Iterator[tuple[int, float, date]]) -> None:
        # A month is paid once: a row that says otherwise than what it holds (an earlier import, or an
        # earlier row of this file) is a mistake in one of them, and nothing of the file is added.
        for at, amount, paid_on in held:
            _, _, month, new_amount, new_paid_on = rows[at]
            if new_amount != amount:
                problems.add(numbers[at], "amount", yuan(new_amount), _held_text(month, amount, paid_on, whole))
            elif dated[at] and new_paid_on != paid_on:
                problems.add(numbers[at], "paid_on", new_paid_on.isoformat(), _held_text(month, amount, paid_on, whole))

    if problems.count and rows:
        # The file is refused already: its rows that disagree with a month paid are named with the rest,
        # not in a second round once the rest are mended. (Otherwise they are found as they are written.)
        conflicting(_held_before(store.paid_months([(r[0], r[2]) for r in rows]), rows))
    problems.raise_if_any()

    def refuse(held: Iterator[tuple[int, float, date]]) -> None:
        conflicting(held)
        problems.raise_if_any()

    # meta() once the rows are read: a streamed file counts them as it goes.
    return store.add_dues(DUES_FIELDS, rows, meta(), refuse, last_name if len(rows) == 1 else None)


def _held_before(stored: dict[tuple[int, str], tuple[float, date]], rows: list[tuple[Any, ...]]) -> Iterator[tuple[int, float, date]]:
    """Yield, as `Store.add_dues` gives `refuse` them, each row's index with the payment its month would hold once the rows
    before it were added: the one `stored`, else that of the first row of the file for the member and month."""
    first: dict[tuple[int, str], tuple[float, date]] = {}
    for at, (member_id, _, month, amount, paid_on) in enumerate(rows):
        key = (member_id, month)
        held = stored.get(key) or first.get(key)
        if held is None:
            first[key] = (amount, paid_on)
        else:
            yield at, *held


def _held_text(month: str, amount: float, paid_on: date, file: bool) -> str:
    if not file:
        # Logged on the command line: a payment once registered is not changed by logging it again.
        return (f"该党员 {month} 的党费已登记为 {yuan(amount)} 元（{paid_on.isoformat()} 交纳），与本次不同；"
                f"一个月的党费只登记一次；如已登记的有误，用 dues correct 更正")
    return (f"该党员 {month} 的党费已登记为 {yuan(amount)} 元（{paid_on.isoformat()} 交纳，已导入或在本文件前面的行），"
            f"与本行不同；一个月的党费只登记一次：请核对后改正或删去本行，已登记的有误时用 dues correct 更正")


DUES_FIELDS = ("member_id", "org_id", "month", "amount", "paid_on")


def dues_list(store: Store, org_ref: str, name: str | None = None, year: int | None = None,
              known_at: datetime | None = None) -> list[dict[str, Any]]:
    """Return the payments registered for the members of the organization `org_ref` and those below it (or the one named),
    by organization, member and month; with `known_at`, as they stood then. A township's list said 没有登记的党费 right after
    2,700 payments were imported for its branches (migration try-out)."""
    index = store.index_around(org_ref)
    org = index.resolve(org_ref)
    orgs = {o.id: o for o in index.subtree(org)}
    members = {m.id: m for m in store.members(list(orgs))}
    if name is not None:
        members = {i: m for i, m in members.items() if m.name == name.strip()}
        if not members:
            raise InputError(f"--member：「{name}」不是「{org.path}」的党员")
    rank = {org_id: i for i, org_id in enumerate(orgs)}         # the tree's order (`OrgIndex.subtree`)
    return [{"org": orgs[members[r["member_id"]].org_id].path, "member": members[r["member_id"]].name, "month": r["month"],
             "amount": r["amount"], "paid_on": r["paid_on"].isoformat(), "corrected": r["corrected_at"] is not None}
            for r in sorted(store.dues_rows(list(members), year, known_at),
                            key=lambda r: (rank[members[r["member_id"]].org_id], members[r["member_id"]].name, r["month"]))]


def change_dues(store: Store, org_ref: str, name: str, month_text: str, reason: str, amount_text: str | None = None,
                paid_on: date | None = None, actor: Actor | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Correct a registered payment's amount and/or date, or withdraw it when neither is given; return it (before, after).

    After: None for a withdrawal. The values it had are kept with when they stood. Refused when
    the month holds no payment, when nothing would change, and for a date after today or one a
    month paid in advance could not have (as `dues log` refuses them).
    """
    reason = checked_reason(reason, "金额录错、交纳日期录错、登记错人")
    org = store.index_around(org_ref).resolve(org_ref)
    if actor is not None:
        require_write(store, actor, "dues", [org.path])
    member = next((m for m in store.members([org.id]) if m.name == name.strip()), None)
    if member is None:
        raise InputError(f"--member：「{name}」不是「{org.path}」的党员")
    try:
        month = _month(month_text)
    except CellError as exc:
        raise InputError(f"--month：值「{month_text}」{exc}") from None
    amount = None
    if amount_text is not None:
        try:
            amount = _amount(amount_text)
        except CellError as exc:
            raise InputError(f"--amount：值「{amount_text}」{exc}") from None
    if paid_on is not None:
        if paid_on > store.today():
            raise InputError(f"--paid-on：{paid_on.isoformat()} 晚于今天")
        year, mon = (int(x) for x in month.split("-"))
        if (year - paid_on.year) * 12 + mon - paid_on.month > (limit := advance_limit(store)):
            raise InputError(f"--paid-on：{paid_on.isoformat()} 交纳的党费最多覆盖今后{limit}个月，不能是 {month} 的")
    held = store.dues_payment(member.id, month)
    if held is None:
        withdrawn = [v for v in store.dues_versions(member.id, month) if v["change"] == "void"]
        if withdrawn:
            last = withdrawn[-1]
            raise NotFound(f"「{member.name}」{month} 的党费（{yuan(last['amount'])} 元）已于 {last['superseded_at'].astimezone(TZ):%Y-%m-%d} "
                           f"撤销（{last['reason']}），现在没有登记，无可更正或撤销（登记用 dues log）")
        raise NotFound(f"「{member.name}」{month} 没有登记党费，无可更正或撤销（登记用 dues log）")
    if amount_text is not None or paid_on is not None:
        if (amount is None or amount == held["amount"]) and (paid_on is None or paid_on == held["paid_on"]):
            raise InputError(f"「{member.name}」{month} 的党费已是 {yuan(held['amount'])} 元（{held['paid_on'].isoformat()} 交纳），未作更改")
    before = store.change_dues(member.id, org.id, month, reason, amount, paid_on, member.name)
    if before is None:      # withdrawn meanwhile by someone else
        raise NotFound(f"「{member.name}」{month} 没有登记党费，无可更正或撤销（登记用 dues log）")
    shown = {"org": org.path, "member": member.name, "month": month}
    after = None if amount is None and paid_on is None else {
        **shown, "amount": before["amount"] if amount is None else amount, "paid_on": before["paid_on"] if paid_on is None else paid_on}
    return {**shown, "amount": before["amount"], "paid_on": before["paid_on"]}, after


# A dues ledger of a row a member and a column a month, as clerks keep it (姓名, 党组织, 1月 … 12月, 合计): a filled month
# is a payment of that month (`dues_table`). 月交纳额 and 合计 are read and passed over.
_MONTH_WORDS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
# The key of a ledger's table's headers (`dues_table`): no column's.
_LEDGER = "ledger"
# The key of a ledger's row whose day paid is taken to be its month's last day, not given (`--paid-in-month`): it differs
# from no day registered, and a month registered is skipped, not refused for it.
ASSUMED = "paid_on_assumed"
# What a ledger's month cell says of a month not paid.
NOT_PAID_WORDS = frozenset({"0", "0.0", "0.00", "未交", "未缴", "欠交", "欠缴", "未交纳", "未缴纳", "-", "—", "/", "／", "无", "×", "x", "X"})


def _ledger_columns(year: int) -> list[Column]:
    return [DUES_COLUMNS[0], DUES_COLUMNS[1],
            *(Column(f"{m}月", f"m{m:02d}", aliases=(f"{m}月份", f"{m:02d}月", f"{_MONTH_WORDS[m - 1]}月", f"{_MONTH_WORDS[m - 1]}月份",
                                                     f"{year}年{m}月", f"{year}年{m:02d}月", f"{year}年{m}月份"))
              for m in range(1, 13)),
            Column("合计", "total", aliases=("全年合计", "年度合计", "小计", "总计", "合计金额", "累计")),
            Column("月交纳额", "standard", aliases=("交纳标准", "缴纳标准", "月缴纳额", "每月应交", "月应交", "应交金额", "月交纳标准",
                                                  "每月交纳额", "交纳基数", "缴纳基数"))]


def dues_table(path: Path, year: int | None = None, paid_in_month: bool = False, today: date | None = None,
               sheet: str | None = None, org: str | None = None) -> Table:
    """Return a dues file's table of a row a payment (姓名, 党组织, 月份, 金额, 交纳日期), streamed.

    A ledger of a column a month (`WideTable`) is read, given the `year` its months are of (without it, the one its title
    names alone: `title_year`, told in `Table.year`), as a payment a filled month
    (a cell of `NOT_PAID_WORDS` is none), named by the row and month column it is in. It gives no day paid: with
    `paid_in_month`, the month's last day (`today` if earlier) is taken; else a month gone by is refused, as a row
    without its 交纳日期 is. A clerk's ledger had to be reshaped by hand (migration try-out). With `org` (`--org`), a file
    without a 党组织 column (a branch's own ledger) is that organization's, every row of it.
    """
    def stream(columns: list[Column]) -> Table:
        return _stream(path, columns, sheet, org)

    if year is None:
        try:
            return stream(DUES_COLUMNS)
        except WideTable as exc:
            # A ledger's title gives its year (青石镇2026年党费收缴台账): read so, and said (`Table.year`). Else it is
            # told to give its year.
            titled = title_year(exc.titles)
            if titled is None:
                raise
            table = dues_table(path, titled[0], paid_in_month, today, sheet, org)
            table.year = titled
            return table
    # Read as a ledger first: one whose months are headed under a title merged over them (交纳月份 over 1月 … 12月) would
    # be read as a file of a row a payment with its 交纳月份 and no 金额.
    try:
        wide = stream(_ledger_columns(year))
    except InputError as exc:
        refusal = exc
    else:
        refusal = None
    months = [(m, f"m{m:02d}") for m in range(1, 13) if f"m{m:02d}" in wide.headers] if refusal is None else []
    if not months:
        try:
            table = stream(DUES_COLUMNS)
        except WideTable:
            raise refusal or InputError(f"{path.name}：用了 --year，却没有「1月」至「12月」的列（未导入任何数据）") from None
        except InputError:
            if refusal is None:
                raise
            raise refusal from None       # told as the ledger it was said to be
        raise InputError(f"{table.where}：--year 只用于每月一列的党费台账；本文件每人每月一行，年份在「{table.headers['month']}」列中"
                         "（未导入任何数据）")
    # A problem found once the rows are read (a month paid before, one before joining) names the ledger's months, its
    # message the month: 「1月—12月」列. It named a column 各月, which no ledger has (clerk's try-out).
    every = f"{wide.headers[months[0][1]]}—{wide.headers[months[-1][1]]}" if len(months) > 1 else wide.headers[months[0][1]]
    headers = {"member": wide.headers["member"], "org": wide.headers["org"], "month": every, "amount": every, "paid_on": every,
               _LEDGER: every}
    table = Table(path, headers, (), wide.digest, names={c.english: c.chinese for c in DUES_COLUMNS}, where=wide.where,
                  skipped=wide.skipped)
    last_day = today or date.max

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in wide.rows:
            for m, key in months:
                cell = values.get(key)
                if cell is None or cell == 0 or (isinstance(cell, str) and "".join(cell.split()) in NOT_PAID_WORDS):
                    continue
                # The row's problems are found before the next is asked for: they name its month's column.
                headers["month"] = headers["amount"] = wide.headers[key]
                table.count += 1
                yield number, {"member": values.get("member"), "org": values.get("org"), "month": f"{year}-{m:02d}",
                               "amount": cell, "paid_on": min(month_end(date(year, m, 1)), last_day) if paid_in_month else None,
                               ASSUMED: paid_in_month}
        headers["month"] = headers["amount"] = every

    table.rows = rows()
    return table


def _stream(path: Path, columns: list[Column], sheet: str | None, org: str | None) -> Table:
    """Return `stream_table` of a dues file; with `org`, its rows are that organization's (`--org`), the file having no 党组织 column."""
    try:
        table = stream_table(path, columns, supplied=("org",) if org is not None else (), sheet=sheet)
    except InputError as exc:
        if org is None and "缺少必需的列「党组织" in str(exc):
            raise InputError(f"{exc}；一个党支部自己的台账可加 --org 指定党支部，各行都记在它名下") from None
        raise
    if org is None:
        return table
    if "org" in table.headers:
        raise InputError(f"--org：{table.where} 已有「{table.headers['org']}」列，不能再用 --org 指定党组织（未导入任何数据）")
    table.headers["org"] = "--org"
    rows = table.rows
    table.rows = ((number, {**values, "org": org}) for number, values in rows)
    return table


def import_dues(store: Store, path: Path, year: int | None = None, paid_in_month: bool = False, sheet: str | None = None,
                org: str | None = None) -> int:
    """Load a dues file (of a workbook, its `sheet`; with `org`, one organization's without a 党组织 column); its rows are
    read as they are checked, not held. Return how many payments were new."""
    return import_dues_counted(store, path, year, paid_in_month, sheet, org)[0]


def import_dues_counted(store: Store, path: Path, year: int | None = None, paid_in_month: bool = False,
                        sheet: str | None = None, org: str | None = None) -> tuple[int, int, list[tuple[int, str]]]:
    """Load a dues file as `import_dues` does (a ledger of a column a month: `dues_table`); return how many payments were
    new, how many rows (payments, of a ledger) it had, and the rows passed over (`Table.skipped`: titles, totals)."""
    table = dues_table(path, year, paid_in_month, store.today(), sheet, org)
    # A ledger gives no day paid: its months gone by are refused, saying what may be done instead; in one line for the
    # rows of such months (`_Problems`), not one a row and month (clerk's try-out).
    undated = ("已过的月份，台账没有交纳日期：如各月党费都在当月交纳，可加 --paid-in-month 按当月最后一天登记；"
               "否则请转为逐笔登记实际交纳日期的格式")
    added = load_dues(store, table, lambda: file_meta(path, table), undated=undated if _LEDGER in table.headers else None)
    return added, table.count, table.skipped


def log_dues(store: Store, values: dict[str, Any]) -> int:
    headers = {"member": "--member", "org": "--org", "month": "--month", "amount": "--amount", "paid_on": "--paid-on"}
    return load_dues(store, Table(Path("命令行参数"), headers, [(0, values)]), lambda: {"source": "log"}, whole=False)


# The grades a branch gives each member in the year's 民主评议党员 (武组发〔2016〕113号 §二(二)4).
GRADES = ("优秀", "合格", "基本合格", "不合格")
GRADE_COLUMNS = [Column("姓名", "member", True, aliases=("name",)),
                 Column("党组织", "org", True, 1000, aliases=ORG_ALIASES),
                 Column("年度", "year", True, aliases=("年份", "评议年度")),
                 Column("等次", "grade", True, aliases=("评议等次", "评定等次", "评议结果")),
                 Column("说明", "note", max_length=REASON_LIMIT, aliases=("备注",))]


def one_character_off(name: str, names: Iterable[str]) -> str | None:
    """Return the one name of `names` that differs from `name` in one character (孙强 for 孙炜), None when none or several does."""
    near = [n for n in names if len(n) == len(name) and sum(a != b for a, b in zip(n, name)) == 1]
    return near[0] if len(near) == 1 else None


def _year(value: Any) -> int:
    text = str(value).strip().removesuffix("年度").removesuffix("年") if value is not None else ""
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not (text.isdigit() and len(text) == 4):
        raise CellError("应为年份，如 2026")
    return int(text)


def _grade(value: Any) -> str:
    text = "".join(str(value or "").split())
    if text not in GRADES:
        raise CellError(f"等次应为 {'、'.join(GRADES)} 之一")
    return text


def load_grades(store: Store, table: Table, reason: str) -> tuple[int, int, int]:
    """Check every row of members' grades (姓名, 党组织, 年度, 等次, 说明), then give them in one transaction.

    Return how many grades were new, how many replaced another, and how many rows were as given before. A member
    must have been on the organization's roster in the year; a year to come is refused, and so is a member graded
    twice for one year in the file.
    """
    from compliance.importing import Suggestions, _Problems, _resolve, unpadded

    problems = _Problems(table)
    today = store.today()
    suggest = Suggestions(store.orgs)
    rosters: dict[int, dict[str, MemberRow]] = {}
    seen: dict[tuple[int, int], int] = {}
    rows: list[tuple[int, int, int, str, str | None]] = []
    for number, values in table.rows:
        ref = parse_text(values.get("org")) or ""
        org, why = _resolve(store.index_around(ref), ref, suggest)
        if org is None:
            problems.add(number, "org", values.get("org"), why or "找不到该党组织")
            continue
        name = unpadded(parse_text(values.get("member")) or "")
        if org.id not in rosters:
            rosters[org.id] = {m.name: m for m in store.members([org.id])}
        member = rosters[org.id].get(name)
        if member is None:
            # One character off, or the start of one name alone (吴伟 for 吴伟凤), as `log` asks of an attendee.
            starting = [n for n in rosters[org.id] if name and n.startswith(name)]
            close = one_character_off(name, rosters[org.id]) or (starting[0] if len(starting) == 1 else None)
            problems.add(number, "member", values.get("member"), f"不是「{org.path}」花名册上的党员"
                         + (f"（是否是「{close}」？）" if close else ""))
            continue
        year = problems.parse(number, values, "year", _year)
        grade = problems.parse(number, values, "grade", _grade)
        note = parse_text(values.get("note")) or None
        if year is None or grade is None:
            continue
        if year > today.year:
            problems.add(number, "year", values.get("year"), f"{year}年尚未开始评议")
            continue
        first, last = date(year, 1, 1), date(year, 12, 31)
        came = member.arrived_on if member.arrived_on is not None else member.joined     # onto this roster, or into the Party
        if (member.left_on is not None and member.left_on <= first) or (came is not None and came > last):
            when = (f"已于 {member.left_on.isoformat()} 离开" if member.left_on is not None and member.left_on <= first
                    else f"于 {came.isoformat()} {'转入' if came == member.arrived_on else '入党'}")
            problems.add(number, "year", values.get("year"), f"「{name}」{when}，{year}年不在「{org.path}」评议")
            continue
        if (member.id, year) in seen:
            problems.add(number, "member", values.get("member"), f"与第{seen[member.id, year]}行重复：一名党员一年评定一个等次")
            continue
        seen[member.id, year] = number
        rows.append((member.id, org.id, year, grade, note))
    problems.raise_if_any()
    new, changed = store.set_grades(rows, reason)
    return new, changed, len(rows) - new - changed


def grade_list(store: Store, under: str | None, year: int) -> list[dict[str, Any]]:
    """Return, for each branch at or below `under` (everywhere when None), every member on its roster in `year` (arrived by
    its end, not gone before it began; one gone since, by today, only when graded) with the grade given them that year, if
    any: org, member, status (正式/预备), grade, note; by path and name."""
    index = store.index_around(under) if under else OrgIndex(store.orgs())
    orgs = [o for root in _roots(index, under) for o in index.subtree(root) if o.type == "党支部"]
    first, last = date(year, 1, 1), date(year, 12, 31)
    today = store.today()
    given = store.grades([o.id for o in orgs], year)
    paths = {o.id: o.path for o in orgs}
    rows = []
    for m in store.members(list(paths)):
        came = m.arrived_on if m.arrived_on is not None else m.joined
        if (came is not None and came > last) or (m.left_on is not None and m.left_on <= first):
            continue
        grade, note = given.get(m.id, (None, None))
        if grade is None and m.left_on is not None and m.left_on <= min(last, today):
            continue        # gone before the review (转出, 去世): no grade is owed here (review: listed as 未评定)
        rows.append({"org": paths[m.org_id], "member": m.name, "status": m.status, "grade": grade, "note": note})
    return sorted(rows, key=lambda r: (r["org"], r["member"]))
