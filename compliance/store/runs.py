"""Queries for supervision: manual deductions, runs and their snapshots, the rectification ledger.

Mixed into `Store`; still the only place (with `compliance/store/__init__.py`) that talks SQL.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from bisect import bisect_left
from itertools import islice
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, NamedTuple, TypeVar

from sqlalchemy import Date, Engine, Integer, and_, bindparam, case, delete, func, insert, literal, or_, select, true, update

from compliance.errors import InputError
from compliance.store import tables
from compliance.evaluate import Finding
from compliance.report.labels import STATUS_LABELS
from compliance.store.scope import BATCH, Days, in_scope
from compliance.store.sql import IN_LIMIT, Columns, chunks
from compliance.store.timezone import TZ
from obligations.cadence import parse_period_key

DEDUCTION = tables.DEDUCTION
RUN = tables.SUPERVISION_RUN
RUN_FINDING = tables.RUN_FINDING
RECTIFICATION = tables.RECTIFICATION
PAST = tables.RECTIFICATION_PAST
ORG = tables.ORG
# The kinds of record that count for an obligation (slug) of an organization (id) in a period beginning on a day: its
# catalog's version in force then (`Rules.kinds_counted`), as the evaluation judged it.
KindsOf = Callable[[int, str, date], Collection[str]]


MADE_GOOD_NOTE = "已补录有效记录，督查自动销号"
NOT_OWED_NOTE = "已不再需要（已登记免除、不再适用或不再检查此项），督查自动销号"
# A member's run of months on the watch (`tracking.WATCH_SLUGS`) ends when they take part, are excused or report, or pay:
# no record was made good, as MADE_GOOD_NOTE said of one ended by a 请假 (try-out).
ENDED_NOTES = {"absence_watch": "连续未参加组织生活已中断（已参加、请假或汇报），督查自动销号",
               "dues_watch": "连续未交纳党费已中断（已交纳党费），督查自动销号"}
# A term whose election was put off with approval since its item opened (换届延期批准): if the new deadline passes too,
# a later run opens the item again.
DELAYED_NOTE = "已批准延期换届，督查自动销号；延期届满仍未换届的，将重新列入台账"
# A term whose election, held before tracking began, was entered since: history, not a period owed no more (try-out).
ELECTED_NOTE = "已补录换届选举记录，督查自动销号"
# A month's dues paid late, or paid in time and entered late: a payment, not a record made good (try-out, review).
PAID_NOTE = "已交纳党费（补交或补登记），督查自动销号"
# A period made good by no record entered since its item opened, but by one changed since (record correct, restore):
# MADE_GOOD_NOTE said 已补录 of a record rewritten ten months on (try-out). The office's follow-up (回头看) checks it.
CHANGED_NOTE = "没有补录记录：原有记录在列入台账后更正或恢复，现已有效，督查自动销号；请回头看核实（record show 编号 --history 可查看更正前后）"


def _made_good_notes(conn: Any, items: list[Any], kinds: KindsOf) -> tuple[dict[int, str], dict[int, datetime]]:
    """Return, by item id, how `items` (open ledger items made good: id, obligation, org_id, period, member, group_name and
    created_at) are closed: `CHANGED_NOTE` when no record of their obligation's `kinds` held in their period (of their
    member or party group) was first entered since they opened, but one was changed since; else `MADE_GOOD_NOTE`
    (those not in the first dict). And, by item id, when it was put right, for the items that have one: when the first of
    those records entered since it opened was entered, or for `CHANGED_NOTE`'s, when the first was changed since. Not the
    last write: a typo corrected after the deadline, or another record of the period added, made an item put right in
    time 逾期销号 (review).

    A record is entered when its first version is written: an import's 录入日期 dates its entry for 逾期录入, not this
    (review). Each chunk of items reads its organizations' records once.
    """
    rc, m = tables.RECORD.c, tables.MEMBER.c
    notes: dict[int, str] = {}
    fixed: dict[int, datetime] = {}
    for part in chunks(items, 500):
        wanted = [(item, kinds(item.org_id, item.obligation, start), start, end) for item in part
                  for start, end in (parse_period_key(item.period),)]
        query = (select(rc.record_id, rc.org_id, rc.kind, rc.held_on, rc.group_name, rc.counterpart, rc.attendees, rc.recorded_at,
                        m.name.label("member_name"))
                 .select_from(tables.RECORD.outerjoin(tables.MEMBER, m.id == rc.member_id))
                 .where(rc.org_id.in_(sorted({item.org_id for item in part})),
                        rc.kind.in_(sorted({k for _, ks, _, _ in wanted for k in ks})),
                        rc.held_on >= min(start for _, _, start, _ in wanted), rc.held_on <= max(end for _, _, _, end in wanted),
                        rc.superseded_at.is_(None), rc.voided_at.is_(None)))
        by_org: dict[int, list[Any]] = {}
        for row in conn.execute(query):
            by_org.setdefault(row.org_id, []).append(row)
        matched = {item.id: [row for row in by_org.get(item.org_id, ()) if row.kind in ks and start <= row.held_on <= end
                             and _concerns(row, item.group_name, item.member)]
                   for item, ks, start, end in wanted}
        entered = _first_written(conn, {row.record_id for rows in matched.values() for row in rows})
        # An item reopened since it was made (a closed state replaced, `reopen_rectification` or `_renew`) is open from
        # then: compared with its first opening, restoring the voided record that had closed it read as 已补录 (review).
        p = PAST.c
        reopened = dict(conn.execute(select(p.item_id, func.max(p.replaced_at)).where(
            p.item_id.in_([item.id for item, _, _, _ in wanted if matched[item.id]]), p.closed_on.is_not(None)).group_by(p.item_id)).all())
        for item, _, _, _ in wanted:
            rows = matched[item.id]
            since = max(item.created_at, reopened.get(item.id, item.created_at))
            new = [entered[row.record_id] for row in rows if entered[row.record_id] >= since]
            written = [row.recorded_at for row in rows if row.recorded_at >= since]
            if new:
                fixed[item.id] = min(new)
            elif written:
                notes[item.id] = CHANGED_NOTE
                fixed[item.id] = min(written)
    return notes, fixed


def _elected_since(conn: Any, items: list[Any], kinds: KindsOf) -> set[int]:
    """Return the ids of `items` (open ledger items of committee terms: id, obligation, org_id, period and created_at) whose
    organization has an election (a record of a kind their obligation counts) held after their term began, entered since
    they were listed."""
    rc = tables.RECORD.c
    found: set[int] = set()
    for item in items:
        start = parse_period_key(item.period)[0]
        held = conn.execute(select(rc.record_id).where(rc.org_id == item.org_id, rc.kind.in_(sorted(kinds(item.org_id, item.obligation, start))),
                                                       rc.held_on > start, rc.superseded_at.is_(None), rc.voided_at.is_(None))).scalars().all()
        if any(first >= item.created_at for first in _first_written(conn, held).values()):
            found.add(item.id)
    return found


def _fixed_on(conn: Any, run_id: int, items: list[Any], fixed: Mapping[int, datetime], closing: Mapping[int, date]) -> dict[int, date]:
    """Return, by item id, the day the items of `fixed` (their ids to when they were put right, `_made_good_notes`) are
    closed on: that day, not the later day of the run `run_id` that found it (`closing`: at most that), nor one before the
    day they were listed.

    A record entered on 27 November for an item due by the 30th, found by December's run on the 26th, was closed late
    (逾期销号) on the 26th (supervision team's try-out). The day is never one for which another run of the item's
    organization or a scope around it showed the item open: a bulletin of that run written again keeps its ledger.
    """
    # Not before the day it was listed either (a run as of a day to come lists items from then).
    days = {item.id: max(item.opened_on, fixed[item.id].astimezone(TZ).date()) for item in items if item.id in fixed}
    days = {item_id: day for item_id, day in days.items() if day < closing[item_id]}
    if not days:
        return {}
    org_ids = {item.org_id for item in items if item.id in days}
    paths = dict(conn.execute(select(ORG.c.id, ORG.c.path).where(ORG.c.id.in_(sorted(org_ids)))).all())
    # The days of the other runs, by the path of their scope: an item looks up its organization's and its superiors' alone.
    runs: dict[str, list[date]] = {}
    for scope, as_of in conn.execute(select(ORG.c.path, RUN.c.as_of).select_from(RUN.join(ORG, ORG.c.id == RUN.c.scope_org_id))
                                     .where(RUN.c.id != run_id, RUN.c.as_of >= min(days.values()),
                                            RUN.c.as_of < max(closing.values())).order_by(RUN.c.as_of)):
        runs.setdefault(scope, []).append(as_of)
    found: dict[int, date] = {}
    for item in items:
        if (day := days.get(item.id)) is None:
            continue
        names = paths.get(item.org_id, "").split("/")
        # The last day before this run's of a run of its organization or a superior that listed it open, if on or after it.
        last = max((days_of[at - 1] for i in range(1, len(names) + 1) if (days_of := runs.get("/".join(names[:i])))
                    and (at := bisect_left(days_of, closing[item.id]))), default=None)
        if last is not None and last >= day:
            day = last + timedelta(days=1)
        found[item.id] = min(day, closing[item.id])
    return found


def backdated(conn: Any, record_ids: Collection[int], kinds: KindsOf) -> list[tuple[int, int, date, int, date]]:
    """Return, of the current records `record_ids`, those whose first entry (an import's 录入日期, `log --recorded-on`) is dated
    before a supervision run found their period without a record: (record id, its entry day, the ledger item, the day the run
    that listed it was made), with the current version's id (`ImportResult.row_of` takes it) after the record's, by record and item.

    Such a record was not in the database when the run looked: a 录入日期 given by hand hid its 逾期录入 (supervision team's
    try-out). `kinds`: the kinds of record each obligation counts, as `_made_good_notes` takes them. Items entered by hand
    (`BY_HAND`) have no period and are not looked at.
    """
    rc, m, r = tables.RECORD.c, tables.MEMBER.c, RECTIFICATION.c
    found: list[tuple[int, int, date, int, date]] = []
    for part in chunks(sorted(set(record_ids)), 500):
        query = (select(rc.record_id, rc.id, rc.org_id, rc.kind, rc.held_on, rc.group_name, rc.counterpart, rc.attendees,
                        rc.first_recorded_at, m.name.label("member_name"), r.id.label("item_id"), r.obligation, r.period, r.member,
                        r.group_name.label("item_group"), r.created_at)
                 .select_from(tables.RECORD.outerjoin(tables.MEMBER, m.id == rc.member_id).join(RECTIFICATION, r.org_id == rc.org_id))
                 .where(rc.record_id.in_(part), rc.superseded_at.is_(None), rc.voided_at.is_(None), r.obligation != BY_HAND,
                        r.created_at > rc.first_recorded_at))
        rows = []
        for row in conn.execute(query):
            if row.first_recorded_at.astimezone(TZ).date() >= row.created_at.astimezone(TZ).date():
                continue
            try:
                start, end = parse_period_key(row.period)
            except ValueError:
                continue
            if start <= row.held_on <= end and row.kind in kinds(row.org_id, row.obligation, start):
                rows.append(row)
        # Only a record first written after the run looked was not there when it did: a new version keeps its record's first
        # entry, and a quorum mended by an import with the column read as backdated (review).
        written = _first_written(conn, {row.record_id for row in rows})
        for row in rows:
            if written[row.record_id] <= row.created_at or not _concerns(row, row.item_group, row.member):
                continue
            found.append((row.record_id, row.id, row.first_recorded_at.astimezone(TZ).date(), row.item_id,
                          row.created_at.astimezone(TZ).date()))
    return sorted(set(found))


def _concerns(row: Any, group: str | None, member: str | None) -> bool:
    """Return whether a record's row (group_name, member_name, counterpart, attendees) is of a ledger item's party group
    and member (None: any)."""
    return (group is None or row.group_name == group) and (
        member is None or member in (row.member_name, row.counterpart) or member in _names(row.attendees))


def _first_written(conn: Any, record_ids: Collection[int]) -> dict[int, Any]:
    """Return, by record id, when its first version was written (the record's entry, whatever its 录入日期 says)."""
    rc = tables.RECORD.c
    return {record_id: first for some in chunks(sorted(record_ids)) for record_id, first in conn.execute(
        select(rc.record_id, func.min(rc.recorded_at)).where(rc.record_id.in_(some)).group_by(rc.record_id))}


def _names(text: str | None) -> set[str]:
    """Return the names of an attendance list as stored (顿号-separated)."""
    return set(text.split("、")) if text else set()


class OrgLedger(NamedTuple):
    """One organization's ledger items, counted: what a bulletin's ledger summary shows of it."""

    org_id: int
    open: int
    closed: int
    late: int                   # open items past their deadline
    due: date | None            # the earliest deadline of its open items
    responsible: str            # of its newest item


@dataclass(frozen=True)
class RunRow:
    id: int
    scope_org_id: int
    month: str
    revision: int
    as_of: date
    fingerprint: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class LedgerFilter:
    """What `rectify list` keeps of the ledger: items listed in `opened` (first and last day), closed in `closed`, of
    `obligations`, open past their deadline on `overdue_on`; None keeps all."""

    opened: tuple[date, date] | None = None
    closed: tuple[date, date] | None = None
    obligations: Collection[str] | None = None
    overdue_on: date | None = None

    def conditions(self) -> list[Any]:
        r = RECTIFICATION.c
        found: list[Any] = []
        if self.opened is not None:
            found.append(r.opened_on.between(*self.opened))
        if self.closed is not None:
            found.append(r.closed_on.between(*self.closed))
        if self.obligations is not None:
            found.append(r.obligation.in_(sorted(self.obligations)))
        if self.overdue_on is not None:
            found += [r.closed_on.is_(None), r.deadline < self.overdue_on]
        return found


class RectificationRow(NamedTuple):
    """A ledger item as stored (a named tuple: a province-wide run opens hundreds of thousands)."""

    id: int
    gap_key: str
    org_id: int
    obligation: str
    period: str
    member: str | None
    group_name: str | None
    matter: str
    measure: str
    deadline: date
    responsible: str
    opened_run_id: int | None     # None: entered by hand (`Store.add_rectification`)
    opened_on: date
    closed_on: date | None
    close_note: str | None
    closed_run_id: int | None


class OpenGap(NamedTuple):
    """What a supervision run needs of an open ledger item: its gap key, the gap it is kept for, and the day it was opened.

    A province's open ledger is hundreds of thousands of items: read this way, without the
    texts of `RectificationRow`, 455,308 of them took 117 MB rather than 217 MB.
    """

    gap_key: str
    org_id: int
    obligation: str
    period: str
    member: str | None
    group_name: str | None
    opened_on: date


@dataclass(frozen=True)
class SavedRun:
    """What saving a run did: the run, and whether anything was written."""

    run: RunRow
    written: bool
    opened: int = 0
    closed: int = 0
    published: bool = False      # this call published a draft that already held the same snapshot
    reopened: int = 0            # items a run had closed, opened again by this one (not among `opened`)
    settled: int = 0             # of `closed`, the items of gaps made good since the run's day (`save_run`'s `settled`)


CHUNK = IN_LIMIT     # values named in one IN (...)
# What an item's closing sets: none of it, for a run before it was closed.
_CLOSING = ("closed_on", "close_note", "closed_run_id")


def _counted(items: Iterable[RectificationRow], as_of: date) -> list[OrgLedger]:
    """Return `items` (by id) counted by organization as `ledger_counts` counts them in SQL."""
    counts: dict[int, list[Any]] = {}
    for item in items:
        count = counts.setdefault(item.org_id, [0, 0, 0, None, "", False])
        if item.closed_on is None:
            count[0] += 1
            count[2] += item.deadline < as_of
            count[3] = item.deadline if count[3] is None else min(count[3], item.deadline)
        else:
            count[1] += 1
        # The newest item's, a run's before one entered by hand with a responsible of its own (`ledger_counts`).
        if item.opened_run_id is not None or not count[5]:
            count[4], count[5] = item.responsible, item.opened_run_id is not None
    return [OrgLedger(org_id, *count[:5]) for org_id, count in sorted(counts.items())]


def _closed_for(run: RunRow, r: Any = RECTIFICATION.c) -> Any:
    """Return the condition that a ledger item is closed as `run`'s bulletin shows the ledger (never NULL).

    The ledger as it stood on the run's day: the items opened by then (`_opened_for`), closed if
    closed by then, or by a run of that day or before (a past month's run made later closes what
    was made good since on the day it is made: this run, or a township's run of the same month).
    `r`: the item's columns as they stood for the run (`_as_it_stood`).
    """
    by_then = select(RUN.c.id).where(RUN.c.as_of <= run.as_of).scalar_subquery()
    return and_(r.closed_on.is_not(None),
                or_(r.closed_on <= run.as_of, and_(r.closed_run_id.is_not(None), r.closed_run_id.in_(by_then))))


def _opened_for(run: RunRow, r: Any = RECTIFICATION.c) -> Any:
    """Return the condition that a ledger item was opened as `run`'s bulletin shows the ledger: by its day, or by the run
    itself (a draft run again with an earlier --as-of keeps the items it opened before).

    An item entered by hand (`add_rectification`) dated by then but entered after a run was
    published is not its: a frozen bulletin written again listed one more item than before (review).
    `r`: the item's columns as they stood for the run (`_as_it_stood`).
    """
    return or_(and_(r.opened_on <= run.as_of, _entered_for(run, r)), r.opened_run_id == run.id)


def _entered_for(run: RunRow, r: Any = RECTIFICATION.c) -> Any:
    """Return the condition that a ledger item is not one entered by hand after `run` was published (never NULL)."""
    if run.published_at is None:
        return true()
    return or_(r.opened_run_id.is_not(None), r.created_at < run.published_at)


def _by_hand_for(run: RunRow) -> Any:
    """Return the condition that an item entered by hand is listed by `run`'s bulletin (`_opened_for`), without NULLs."""
    r = RECTIFICATION.c
    listed = r.opened_on <= run.as_of
    return listed if run.published_at is None else and_(listed, r.created_at < run.published_at)


# What reopening an item rewrites (`reopen_rectification`, `_renew`): its values before are kept in PAST.
PAST_COLUMNS = ("matter", "measure", "deadline", "responsible", "opened_run_id", "opened_on", "closed_on", "close_note",
                "closed_run_id")


def _replaced_for(run: RunRow, runs_too: bool = True, p: Any = PAST.c) -> Any:
    """Return the condition that a kept past state of an item (`p`, PAST's columns) was replaced after `run`'s bulletin showed
    the ledger (never NULL): after its day, or after it was published (a new revision of its month that reopened the item);
    not by the run itself (a draft run again as of an earlier day keeps its own reopenings, as it keeps the items it
    opened). Without `runs_too`, only what was reopened by hand: a past month's run made after later runs judges the
    gaps on what is known now, which later runs' reopenings already say (`_ledger`'s `gaps`).
    """
    after = p.replaced_on > run.as_of
    if run.published_at is not None:
        after = or_(after, p.replaced_at > run.published_at)
    return and_(after, p.replaced_run_id.is_(None) if not runs_too else or_(p.replaced_run_id.is_(None), p.replaced_run_id != run.id))


class _Stood:
    """The columns of RECTIFICATION as the items stood for a run (`_replaced_for`, with `runs_too`): for an item with kept
    states, the first of those replaced after the run that follows every one replaced before it (a run's reopening
    is dated its day, which may be before an earlier reopening by hand); the item's own when there is none."""

    def __init__(self, run: RunRow, runs_too: bool = True):
        p, r = PAST.c, RECTIFICATION.c
        seen = PAST.alias("seen")
        last_seen = (select(func.max(seen.c.id)).where(seen.c.item_id == p.item_id, ~_replaced_for(run, runs_too, seen.c))
                     .scalar_subquery())
        first = (select(func.min(p.id)).where(_replaced_for(run, runs_too), p.id > func.coalesce(last_seen, 0))
                 .group_by(p.item_id))
        past = (select(p.item_id, p.replaced_run_id, *(p[name] for name in PAST_COLUMNS)).where(p.id.in_(first))
                .subquery("past"))
        self.source = RECTIFICATION.outerjoin(past, past.c.item_id == r.id)
        kept = past.c.item_id.is_not(None)
        self.by_run = case((and_(kept, past.c.replaced_run_id.is_not(None)), 1), else_=0).label("by_run")     # a run reopened it since
        for column in RECTIFICATION.columns:
            name = column.name
            setattr(self, name, case((kept, past.c[name]), else_=column) if name in PAST_COLUMNS else column)

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)


def _as_it_stood(conn: Any, run: RunRow, runs_too: bool = True) -> Any:
    """Return the columns to read the ledger by as it stood for `run`'s bulletin (`_replaced_for`, with `runs_too`):
    RECTIFICATION's own when no item was reopened since (nearly always, and then no join), else a `_Stood`."""
    if conn.execute(select(PAST.c.id).where(_replaced_for(run, runs_too)).limit(1)).first() is None:
        return RECTIFICATION.c
    return _Stood(run, runs_too)
WRITE_BLOCK = 50000   # rows of one executemany

RUN_COLUMNS = [RUN.c[name] for name in RunRow.__dataclass_fields__]
SNAPSHOT_COLUMNS = ("run_id", "org_id", "org", "obligation", "name", "period", "member", "group_name", "status", "due",
                    "days_left", "records", "flags")
# A new ledger item: what `ledger_item` gives (in this order), then the run that opens it.
LEDGER_COLUMNS = ("gap_key", "org_id", "obligation", "period", "member", "group_name", "matter", "measure", "deadline",
                  "responsible", "opened_run_id", "opened_on", "created_at")


RECT_COLUMNS = [RECTIFICATION.c[name] for name in RectificationRow._fields]
# Columns whose values repeat from item to item (the measure follows the obligation, the
# responsible person the branch, a member has an item for each month unpaid): a province's
# ledger, read whole for its bulletin, keeps one copy of each value rather than one per item.
REPEATING = ("obligation", "period", "member", "group_name", "measure", "deadline", "responsible", "opened_run_id", "opened_on",
             "close_note", "closed_on", "closed_run_id")
DAYS = ("deadline", "opened_on", "closed_on")

LedgerRow = TypeVar("LedgerRow", RectificationRow, OpenGap)


def _ledger_rows(rows: Iterable[Any], row_type: type[LedgerRow], days_as_text: bool = False, share: bool = True) -> Iterator[LedgerRow]:
    """Yield ledger items of `row_type` from database rows of its columns, with `share` equal values in the repeating columns shared.

    With `days_as_text`, the rows are SQLite's own, its days ISO text: each text is converted once.
    """
    columns: list[tuple[int, dict[Any, Any]]] = [(i, {}) for i, name in enumerate(row_type._fields) if share and name in REPEATING]
    day_columns = [i for i, name in enumerate(row_type._fields) if name in DAYS] if days_as_text else []
    days = Days()
    new = tuple.__new__     # a named tuple's own __new__ is a Python call
    for row in rows:
        values = list(row)
        for i in day_columns:
            if values[i] is not None:
                values[i] = days[values[i]]
        for i, seen in columns:
            value = values[i]
            values[i] = seen.setdefault(value, value)
        yield new(row_type, values)


class SupervisionQueries:
    """Supervision tables; expects `self.engine` and `self.clock` (see `Store`)."""

    engine: Engine
    clock: Callable[[], datetime]
    audit: Callable[..., None]
    writing: Callable[[], Any]

    # --- deductions -------------------------------------------------------------------
    def add_deduction(self, org_id: int, sheet: str, item: str, period: str, points: float, reason: str,
                      self_assessed: bool = False) -> int:
        """Record a manual deduction (or a veto: item `veto:KEY`, 0 points); return its id."""
        with self.writing() as conn:
            deduction_id = conn.execute(insert(DEDUCTION).values(
                org_id=org_id, sheet=sheet, item=item, period=period, points=points, reason=reason,
                self_assessed=self_assessed, created_at=self.clock())).inserted_primary_key[0]
            self.audit(conn, "deduct", "deduction", deduction_id, org_id,
                       {"sheet": sheet, "item": item, "period": period, "points": points, "self": self_assessed}, reason)
            return deduction_id

    def backdated_records(self, record_ids: Collection[int], kinds: KindsOf) -> list[tuple[int, int, date, int, date]]:
        """Return the records of `record_ids` dated as entered before a run found their period without a record (`backdated`)."""
        with self.engine.connect() as conn:
            return backdated(conn, record_ids, kinds)

    def deduction(self, deduction_id: int) -> dict[str, Any] | None:
        """Return one manual deduction, voided or not; None when there is no such one."""
        with self.engine.connect() as conn:
            row = conn.execute(select(DEDUCTION).where(DEDUCTION.c.id == deduction_id)).mappings().first()
            return dict(row) if row else None

    def list_deductions(self, org_ids: Iterable[int] | None = None, period: str | None = None,
                        voided: bool = False) -> list[dict[str, Any]]:
        """Return the manual deductions in force (of the organizations, of `period`; with `voided`, the withdrawn too), oldest first."""
        query = select(DEDUCTION).order_by(DEDUCTION.c.id)
        if not voided:
            query = query.where(DEDUCTION.c.voided_at.is_(None))
        if org_ids is not None:
            query = query.where(DEDUCTION.c.org_id.in_(list(org_ids)))
        if period is not None:
            query = query.where(DEDUCTION.c.period == period)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def void_deduction(self, deduction_id: int, reason: str) -> bool:
        """Withdraw a manual deduction with the reason: it stays readable and no longer counts; False when it was already withdrawn."""
        with self.writing() as conn:
            changed = conn.execute(update(DEDUCTION).where(DEDUCTION.c.id == deduction_id, DEDUCTION.c.voided_at.is_(None))
                                   .values(voided_at=self.clock(), void_reason=reason)).rowcount
            if changed:
                row = conn.execute(select(DEDUCTION.c.org_id, DEDUCTION.c.sheet, DEDUCTION.c.item, DEDUCTION.c.period,
                                          DEDUCTION.c.points).where(DEDUCTION.c.id == deduction_id)).one()
                # What was withdrawn, as the entry that made it says: the log said {} (county try-out).
                self.audit(conn, "void", "deduction", deduction_id, row.org_id,
                           {"sheet": row.sheet, "item": row.item, "period": row.period, "points": row.points}, reason)
            return bool(changed)

    def deductions(self, org_ids: Iterable[int], period: str, sheet: str) -> list[dict[str, Any]]:
        """Return the manual deductions of `period` on `sheet` for the organizations, oldest first."""
        ids = list(org_ids)
        with self.engine.connect() as conn:
            query = (select(DEDUCTION).where(DEDUCTION.c.org_id.in_(ids), DEDUCTION.c.period == period,
                                              DEDUCTION.c.sheet == sheet, DEDUCTION.c.voided_at.is_(None))
                     .order_by(DEDUCTION.c.id))
            return [dict(row) for row in conn.execute(query).mappings()]

    # --- runs -------------------------------------------------------------------------
    def runs(self, scope_org_id: int, month: str | None = None) -> list[RunRow]:
        """Return the runs of a scope (of one month, when given), by month and revision."""
        query = select(*RUN_COLUMNS).where(RUN.c.scope_org_id == scope_org_id)
        if month:
            query = query.where(RUN.c.month == month)
        with self.engine.connect() as conn:
            return [RunRow(*row) for row in conn.execute(query.order_by(RUN.c.month, RUN.c.revision))]

    def run_findings(self, run_id: int, statuses: Collection[str] | None = None, by_org: bool = False) -> Iterator[Finding]:
        """Yield the snapshot a run saved (its findings of `statuses`, when given), in the order saved, as it is read.

        A province's snapshot holds half a million findings: the month after compares its gaps
        with them (`supervision.compare`) without holding them all, one organization at a time,
        so `by_org` gives each organization's findings together (by organization id, then in the order saved).
        """
        f = RUN_FINDING.c
        query = select(f.org_id, f.org, f.obligation, f.name, f.period, f.status, f.due, f.days_left, f.records,
                       f.flags, f.member, f.group_name).where(f.run_id == run_id).order_by(*([f.org_id] if by_org else []), f.id)
        if statuses is not None:
            query = query.where(f.status.in_(sorted(statuses)))
        with self.engine.connect() as conn:
            for r in conn.execution_options(yield_per=BATCH).execute(query):
                yield Finding(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                              tuple(int(x) for x in r[8].split()) if r[8] else (), tuple(r[9].split()) if r[9] else (),
                              r[10], r[11])

    def later_run(self, scope_path: str, day: date) -> bool:
        """Return whether a run of `scope_path`, of an organization below it or of one above it was made as of a day after `day`."""
        parts = scope_path.split("/")
        above = ["/".join(parts[:i]) for i in range(1, len(parts))]
        query = (select(RUN.c.id).select_from(RUN.join(ORG, ORG.c.id == RUN.c.scope_org_id))
                 .where(RUN.c.as_of > day, or_(in_scope(scope_path), ORG.c.path.in_(above))).limit(1))
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def settled_since(self, scope_path: str, day: date, since: date) -> set[int]:
        """Return the ids of the organizations at or below `scope_path` with a dues payment made after `day` for a month from
        `since`'s to `day`'s: arrears (补交) that may have made good a gap of a run as of `day`.

        Only payments: a record held after `day` counts for a period after it, which is no gap of
        the run's, and one held before it counts for the run itself, however late it was entered.
        """
        m, d = tables.MEMBER.c, tables.DUES_PAYMENT.c
        paid = (select(m.org_id).select_from(tables.DUES_PAYMENT.join(tables.MEMBER, m.id == d.member_id)
                                            .join(ORG, ORG.c.id == m.org_id))
                .where(d.paid_on > day, d.month >= f"{since:%Y-%m}", d.month <= f"{day:%Y-%m}", in_scope(scope_path)).distinct())
        with self.engine.connect() as conn:
            return {org_id for (org_id,) in conn.execute(paid)}

    def reopenable(self, scope_path: str, year: int, watch: Collection[str]) -> list[OpenGap]:
        """Return the items at or below `scope_path` a run closed (made good or owed no more) of periods before `year`, but for the
        `watch` obligations', whose organization has had a record, a dues payment or an exemption voided or corrected since
        the day before the item was closed; as `OpenGap`s, each with the day it was closed for `opened_on`.

        A run of `year` evaluates none of those periods of itself: it evaluates them again for these
        items alone, which the void or correction may have made gaps again. The voids and corrections
        are found in the audit log (one entry each, with its organization); an import, which can
        replace a record with a version that no longer counts, has none, so after one the records
        held before `year` that were replaced or voided since are looked for too.
        """
        r = RECTIFICATION.c
        closed = and_(in_scope(scope_path), r.closed_on.is_not(None), r.close_note.in_(AUTO_NOTES), r.period < str(year),
                      r.obligation.not_in(sorted(watch)))
        joined = RECTIFICATION.join(ORG, ORG.c.id == r.org_id)
        with self.engine.connect() as conn:
            first = conn.execute(select(func.min(r.closed_on)).select_from(joined).where(closed)).scalar()
            if first is None:
                return []
            first = date.fromisoformat(first) if isinstance(first, str) else first
            changed = _changed_orgs(conn, datetime.combine(first - timedelta(days=1), time(), tzinfo=TZ), date(year, 1, 1))
            found = []
            for part in chunks(sorted(changed), CHUNK):
                for key, org_id, obligation, period, member, group, closed_on in conn.execute(
                        select(r.gap_key, r.org_id, r.obligation, r.period, r.member, r.group_name, r.closed_on)
                        .select_from(joined).where(closed, r.org_id.in_(part))):
                    if changed[org_id] >= closed_on - timedelta(days=1):
                        found.append(OpenGap(key, org_id, obligation, period, member, group, closed_on))
        return found

    def save_run(self, scope_org_id: int, month: str, as_of: date, fingerprint: str, findings: Iterable[Finding],
                 to_open: Iterable[dict[str, Any]], gaps_made_good: dict[str, date], publish: bool = False,
                 not_owed: Collection[str] = (), renew: bool = True, pending: bool = False,
                 settled: Collection[str] = (), kinds: KindsOf | None = None,
                 delayed: Collection[str] = (), elected: Collection[str] = ()) -> SavedRun:
        """Save a run's snapshot and ledger changes atomically; one writer per scope at a time.

        The scope's organization row is locked first (an UPDATE: SQLite's write lock, a row lock
        on PostgreSQL), so a second run of the same scope waits, then finds this one. A draft
        (unpublished) run of the month is replaced; if it already holds the same snapshot,
        nothing is written. After a published run, a new revision is made, unless the published
        run already holds the same snapshot. `publish` freezes the run in the same transaction.
        `to_open` are new ledger items keyed by `gap_key` (opened unless the gap ever had one),
        taken a block at a time (a generator keeps a province's items from being held at once);
        `gaps_made_good` maps gap keys now met to the date they are closed on; those in `not_owed`
        are closed as owed no more (now exempt, say), not as made good. Without `renew` (a past
        month run again after a later run), existing items are neither reopened nor restated
        (`_renew`): what a later run knew stands. `pending` says the ledger has changes the
        snapshot does not show (last year's items made good or restated): the run is saved even
        when its snapshot is the same as the month's last. The items of the gap keys in `settled`,
        made good since the run's day (`supervision._settled`), are opened if new, never reopened.
        With `kinds` (an obligation's slug → the kinds of record that count for it), an item made good by
        no record entered since it was opened, but by records changed since, says so (`CHANGED_NOTE`). Those in `delayed`
        (of `not_owed`) are terms whose election was put off with approval since (`DELAYED_NOTE`); those in `elected`, terms
        ended by an election entered since (`ELECTED_NOTE`).
        """
        with self.writing() as conn:
            stamp = self.clock()
            conn.execute(update(ORG).where(ORG.c.id == scope_org_id).values(id=ORG.c.id))
            latest = conn.execute(select(*RUN_COLUMNS).where(RUN.c.scope_org_id == scope_org_id, RUN.c.month == month)
                                  .order_by(RUN.c.revision.desc()).limit(1)).first()
            latest = RunRow(*latest) if latest else None
            if latest and latest.fingerprint == fingerprint and not pending:
                # The same snapshot again: nothing to write, and no new revision of a published run.
                if publish and latest.published_at is None:
                    conn.execute(update(RUN).where(RUN.c.id == latest.id).values(published_at=stamp))
                    self.audit(conn, "publish", "run", latest.id, scope_org_id, {"month": month, "revision": latest.revision})
                    latest = RunRow(*conn.execute(select(*RUN_COLUMNS).where(RUN.c.id == latest.id)).one())
                    return SavedRun(latest, written=False, published=True)
                return SavedRun(latest, written=False)
            if latest and latest.published_at is None:
                run_id = latest.id
                conn.execute(update(RUN).where(RUN.c.id == run_id).values(as_of=as_of, fingerprint=fingerprint, updated_at=stamp))
                conn.execute(delete(RUN_FINDING).where(RUN_FINDING.c.run_id == run_id))  # a draft's snapshot is replaced
            else:
                revision = latest.revision + 1 if latest else 1
                run_id = conn.execute(insert(RUN).values(scope_org_id=scope_org_id, month=month, revision=revision, as_of=as_of,
                                                         fingerprint=fingerprint, created_at=stamp, updated_at=stamp)).inserted_primary_key[0]
            # Rows go in blocks of plain tuples, with the driver's executemany (`Columns`): a
            # province's snapshot as one list of parameter dicts takes gigabytes, and SQLAlchemy's
            # conversion of every row took most of the time of saving it.
            snapshot = Columns(conn, RUN_FINDING, SNAPSHOT_COLUMNS)
            due = snapshot.converter("due")
            rows, saved = iter(findings), 0
            while block := list(islice(rows, WRITE_BLOCK)):
                saved += len(block)
                snapshot.insert([(run_id, f.org_id, f.org, f.obligation, f.name, f.period, f.member, f.group, f.status,
                                  due(f.due), f.days_left, " ".join(map(str, f.records)), " ".join(f.flags))
                                 for f in block])
            # A gap that ever had a ledger item keeps it: the unique gap key lets only new ones in,
            # also when a run of an overlapping scope (a 党总支 inside this township) adds the same
            # gaps at the same time. New items are counted, not listed: a province has many.
            mine = select(func.count()).select_from(RECTIFICATION).where(RECTIFICATION.c.opened_run_id == run_id)
            before = conn.execute(mine).scalar() or 0
            ledger = Columns(conn, RECTIFICATION, LEDGER_COLUMNS, unique="gap_key")
            deadline, opened_on, created_at = (ledger.converter(name) for name in ("deadline", "opened_on", "created_at"))
            items = iter(to_open)
            reopened: list[dict[str, Any]] = []
            scope_path = conn.execute(select(ORG.c.path).where(ORG.c.id == scope_org_id)).scalar_one()
            auto_closed = _auto_closed(conn, scope_path) if renew else {}
            said_invalid = _said_invalid(conn, scope_path) if renew else set()
            while rows := list(islice(items, WRITE_BLOCK)):
                ledger.insert([(r["gap_key"], r["org_id"], r["obligation"], r["period"], r["member"], r["group_name"],
                                r["matter"], r["measure"], deadline(r["deadline"]), r["responsible"], run_id,
                                opened_on(as_of), created_at(stamp)) for r in rows])
                if renew:
                    reopened += _renew(conn, [r for r in rows if r["gap_key"] not in settled] if settled else rows, run_id,
                                       as_of, stamp, auto_closed, said_invalid)
            # A reopened item is this run's too (opened_run_id), but not a new one.
            opened = (conn.execute(mine).scalar() or 0) - before - len(reopened)
            closed = closed_settled = 0
            for keys in chunks(list(gaps_made_good), CHUNK):
                r = RECTIFICATION.c
                open_items = conn.execute(select(r.id, r.gap_key, r.obligation, r.org_id, r.period, r.member, r.group_name,
                                                 r.created_at, r.opened_on).where(r.closed_on.is_(None), r.gap_key.in_(keys))).all()
                notes = {item.id: DELAYED_NOTE if item.gap_key in delayed else ELECTED_NOTE if item.gap_key in elected
                         else NOT_OWED_NOTE if item.gap_key in not_owed
                         else ENDED_NOTES.get(item.obligation) or (
                    PAID_NOTE if item.obligation == "dues" else MADE_GOOD_NOTE) for item in open_items}
                if kinds and (asked := [item for item in open_items if notes[item.id] is ELECTED_NOTE]):
                    # Only an election entered since the item was listed is one entered as it asked: a term made history
                    # by a later 启用日期 is owed no more (review).
                    entered = _elected_since(conn, asked, kinds)
                    notes |= {item.id: NOT_OWED_NOTE for item in asked if item.id not in entered}
                closing = {item.id: gaps_made_good[item.gap_key] for item in open_items}
                if kinds:
                    changed, fixed = _made_good_notes(conn, [item for item in open_items if notes[item.id] is MADE_GOOD_NOTE
                                                             and item.obligation != BY_HAND], kinds)
                    notes |= changed
                    closing |= _fixed_on(conn, run_id, open_items, fixed, closing)
                if open_items:
                    conn.execute(update(RECTIFICATION).where(r.id == bindparam("item_id")).values(
                        closed_on=bindparam("on"), close_note=bindparam("note"), closed_run_id=run_id),
                        [{"item_id": item.id, "on": closing[item.id], "note": notes[item.id]} for item in open_items])
                closed += len(open_items)
                closed_settled += sum(1 for item in open_items if item.gap_key in settled)
            if publish:
                conn.execute(update(RUN).where(RUN.c.id == run_id).values(published_at=stamp))
            row = RunRow(*conn.execute(select(*RUN_COLUMNS).where(RUN.c.id == run_id)).one())
            self.audit(conn, "supervise", "run", run_id, scope_org_id,
                       {"month": month, "revision": row.revision, "as_of": as_of, "findings": saved,
                        "opened": opened, "closed": closed, "published": publish}
                       | ({"reopened": reopened} if reopened else {}))
        return SavedRun(row, written=True, opened=opened, closed=closed, reopened=len(reopened), settled=closed_settled)

    def publish_run(self, run_id: int) -> RunRow:
        """Mark a run published (frozen); publishing twice keeps the first time."""
        with self.writing() as conn:
            conn.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.published_at.is_(None)).values(published_at=self.clock()))
            return RunRow(*conn.execute(select(*RUN_COLUMNS).where(RUN.c.id == run_id)).one())

    # --- the rectification ledger ---------------------------------------------------------
    def rectifications(self, org_ids: Iterable[int] | None = None, open_only: bool = False,
                       as_of: RunRow | None = None, gaps: Collection[str] = (), narrow: LedgerFilter | None = None) -> list[RectificationRow]:
        """Return ledger items (of the given organizations), oldest first; with `as_of` (and `gaps`), as they stood for that run (`_ledger`);
        with `narrow` (the ledger as it is now), those it keeps, chosen in SQL.

        A province's ledger is read twice by each supervision run: on SQLite its rows come from
        SQLite's own cursor, and `_ledger_rows` makes each item with one dict per repeating
        column and tuple.__new__ (12–18 µs an item before, mostly in making the items; 7–11 now).
        """
        return list(self._ledger(RectificationRow, org_ids, open_only, as_of=as_of, gaps=gaps, narrow=narrow))

    def iter_rectifications(self, org_ids: Iterable[int] | None = None, as_of: RunRow | None = None,
                            gaps: Collection[str] = ()) -> Iterator[RectificationRow]:
        """Yield the ledger items `rectifications` returns, as they are read: a process writing a province's ledger out need not hold it."""
        yield from self._ledger(RectificationRow, org_ids, False, stream=True, as_of=as_of, gaps=gaps)

    def ledger_counts(self, org_ids: Iterable[int], run: RunRow, gaps: Collection[str] = ()) -> list[OrgLedger]:
        """Return, for each of the organizations `org_ids` with ledger items, its items counted (`OrgLedger`) as they stood for
        `run`'s bulletin (`_ledger`, with `gaps`), by id.

        Counted in one grouped query: a province's bulletin needs no item of its hundreds of
        thousands, and its command holds none while another process writes them out. With `gaps`
        (a past month's run made after later runs), they are counted as they are read.
        """
        if not gaps:
            with self.engine.connect() as conn:
                reopened = _as_it_stood(conn, run) is not RECTIFICATION.c
        if gaps or reopened:
            # An item reopened since the run is counted as it stood then (`_ledger`): a few, and past bulletins only.
            return _counted(self._ledger(RectificationRow, org_ids, False, stream=True, as_of=run, gaps=gaps), run.as_of)
        r = RECTIFICATION.c
        as_of = run.as_of
        closed = _closed_for(run)
        still_open = or_(r.closed_on.is_(None), ~closed)
        grouped = (select(r.org_id, func.count().label("total"), func.count(case((closed, 1))).label("closed"),
                          func.sum(case((and_(still_open, r.deadline < as_of), 1), else_=0)).label("late"),
                          func.min(case((still_open, r.deadline))).label("due"),
                          # The newest item's responsible: a run's, before an item entered by hand, whose --responsible
                          # named one matter's, not the organization's (review: it replaced the secretary in the bulletin).
                          func.coalesce(func.max(case((r.opened_run_id.is_not(None), r.id))), func.max(r.id)).label("newest"))
                   .where(_opened_for(run)).group_by(r.org_id).subquery())
        newest = RECTIFICATION.alias("newest")
        query = (select(grouped.c.org_id, grouped.c.total, grouped.c.closed, grouped.c.late, grouped.c.due,
                        newest.c.responsible)
                 .join_from(grouped, newest, newest.c.id == grouped.c.newest).order_by(grouped.c.org_id))
        wanted = set(org_ids)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        # SQLite gives min() of a date column as its ISO text.
        return [OrgLedger(org_id, items - closed, closed, late, date.fromisoformat(due) if isinstance(due, str) else due,
                          responsible)
                for org_id, items, closed, late, due, responsible in rows if org_id in wanted]

    def open_gaps(self, org_ids: Iterable[int] | None = None) -> Iterator[OpenGap]:
        """Yield the open ledger items (of the given organizations), oldest first, as they are read, as a supervision run matches them to gaps.

        Their repeating values are shared: a run keeps only the gaps of a province's open
        ledger (`supervision.OpenLedger`), not its items.
        """
        yield from self._ledger(OpenGap, org_ids, open_only=True, stream=True, share=True)

    def said_invalid(self, scope_path: str) -> set[str]:
        """Return the gap keys of the open items at or below `scope_path` whose matter says their period is invalid."""
        with self.engine.connect() as conn:
            return _said_invalid(conn, scope_path)

    def _ledger(self, row_type: type[LedgerRow], org_ids: Iterable[int] | None, open_only: bool,
                stream: bool = False, share: bool | None = None, as_of: RunRow | None = None,
                gaps: Collection[str] = (), narrow: LedgerFilter | None = None) -> Iterator[LedgerRow]:
        """Yield ledger items as `rectifications` describes; with `stream`, PostgreSQL sends them a batch at a time too.

        `share` (by default when not streamed) shares equal values of the repeating columns. With
        `as_of` (a run), the items as they stood for its bulletin (`_closed_for`), and, when a later
        run was made, the items of the run's own `gaps` (their keys) that a later run opened: a
        bulletin of a past month made again after later runs listed their items, 432 of them for
        periods not yet over on its day, and closures dated after it (try-out). An item reopened
        since is read as it stood then (`_as_it_stood`); but with `gaps`, one of the run's gaps that a later run
        reopened is read as it is now: the run judges its gaps on what is known now (review).
        """
        r = RECTIFICATION.c
        with self.engine.connect() as conn:
            stood = r if as_of is None else _as_it_stood(conn, as_of)
        fields = row_type._fields
        columns = [stood[name].label(name) for name in fields]
        if as_of is not None:
            closed = _closed_for(as_of, stood)
            columns = [case((closed, stood[name])).label(name) if name in _CLOSING else c for name, c in zip(fields, columns)]
        # Each row then holds the item as it stood, whether a later run reopened it, and the item as it is now (`now`).
        now = gaps and isinstance(stood, _Stood)
        if now:
            assert isinstance(stood, _Stood)
            closed_now = _closed_for(as_of, r)
            columns += [stood.by_run, *(case((closed_now, r[name])) if name in _CLOSING else r[name] for name in fields)]
        query = select(*columns).order_by(r.id)
        if stood is not r:
            query = query.select_from(stood.source)
        if as_of is not None and not gaps:
            query = query.where(_opened_for(as_of, stood))
        elif as_of is not None:
            # Filtered below by day, in Python; an item entered by hand after a published run is left out here (review).
            query = query.where(_entered_for(as_of, stood))
        if open_only and not now:
            query = query.where(r.closed_on.is_(None) if as_of is None else or_(stood.closed_on.is_(None), ~closed))
        if narrow is not None:
            if as_of is not None:
                raise ValueError("narrow reads the ledger as it is now, not as it stood for a run")
            query = query.where(*narrow.conditions())
        if row_type is OpenGap:
            # An item entered by hand has no gap on the calendar: no run matches it, closes it as owed no more, or chases it.
            query = query.where(r.opened_run_id.is_not(None))
        wanted = None if org_ids is None else set(org_ids)
        if wanted is not None and len(wanted) <= CHUNK:
            query = query.where(RECTIFICATION.c.org_id.in_(sorted(wanted)))
            wanted = None
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            result = (conn.execution_options(yield_per=BATCH) if stream and not sqlite else conn).execute(query)
            rows = result.cursor if sqlite else result
            if wanted is not None:
                # A province's organizations are more than a statement may name: filter as the rows come.
                org_id = fields.index("org_id")
                rows = (row for row in rows if row[org_id] in wanted)
            if now:
                n, key = len(fields), fields.index("gap_key")
                rows = (row[n + 1:] if row[n] and row[key] in gaps else row[:n] for row in rows)
            # Items held together share their repeating values; items streamed are let go one by one.
            items = _ledger_rows(rows, row_type, days_as_text=sqlite, share=not stream if share is None else share)
            if as_of is not None and gaps:
                day = as_of.as_of
                items = (item for item in items if item.opened_on <= day or item.opened_run_id == as_of.id or item.gap_key in gaps)
            if open_only and now:
                items = (item for item in items if item.closed_on is None)
            yield from items

    def run_item_totals(self, run_id: int) -> tuple[int, int]:
        """Return how many ledger items the run (a draft run again, each time) has opened or reopened, and how many it closed."""
        r = RECTIFICATION.c
        with self.engine.connect() as conn:
            opened = conn.execute(select(func.count()).where(r.opened_run_id == run_id)).scalar() or 0
            closed = conn.execute(select(func.count()).where(r.closed_run_id == run_id)).scalar() or 0
        return opened, closed

    def rectification(self, item_id: int) -> RectificationRow | None:
        """Return one ledger item, None when there is no such item."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*RECT_COLUMNS).where(RECTIFICATION.c.id == item_id)).first()
        return RectificationRow(*row) if row else None

    def closed_by_hand(self, scope_path: str, run: RunRow, gaps: Collection[str] = ()) -> set[tuple]:
        """Return the gaps (org id, obligation, period, member, group) of the items at or below `scope_path` closed by hand by
        `run`'s day, as they stood for its bulletin (`_ledger`, with `gaps`): one reopened since was closed then (review).

        With them, the items of dues paid after the run's day that its bulletin shows closed (`PAID_NOTE`, `_closed_for`): a gap
        on the day judged, rectified since. The bulletin counted them among the problems with no word (try-out).
        """
        r = RECTIFICATION.c
        with self.engine.connect() as conn:
            s = _as_it_stood(conn, run, runs_too=not gaps)
            source = RECTIFICATION if s is r else s.source
            by_hand = and_(s.closed_on <= run.as_of, s.close_note.not_in(AUTO_NOTES))
            paid = and_(s.close_note == PAID_NOTE, _closed_for(run, s))
            query = (select(r.org_id, r.obligation, r.period, r.member, r.group_name).select_from(source.join(ORG, ORG.c.id == r.org_id))
                     .where(in_scope(scope_path), s.closed_on.is_not(None), or_(by_hand, paid)))
            return {tuple(row) for row in conn.execute(query)}

    def gaps_closed_by_hand(self) -> set[tuple]:
        """Return the gaps (org id, obligation, period, member, group) of the items closed by hand (回头看) and not reopened."""
        r = RECTIFICATION.c
        query = select(r.org_id, r.obligation, r.period, r.member, r.group_name).where(
            r.closed_on.is_not(None), r.close_note.not_in(AUTO_NOTES), r.obligation != BY_HAND)
        with self.engine.connect() as conn:
            return {tuple(row) for row in conn.execute(query)}

    def close_rectification(self, item_id: int, note: str, closed_on: date) -> RectificationRow | None:
        """Close (销号) an open ledger item by hand after a follow-up visit; None when there is no such item."""
        with self.writing() as conn:
            changed = conn.execute(update(RECTIFICATION).where(RECTIFICATION.c.id == item_id, RECTIFICATION.c.closed_on.is_(None))
                                   .values(closed_on=closed_on, close_note=note)).rowcount
            row = conn.execute(select(*RECT_COLUMNS).where(RECTIFICATION.c.id == item_id)).first()
            if row and changed:
                self.audit(conn, "rectify_close", "rectification", item_id, row.org_id, {"closed_on": closed_on}, note)
            return RectificationRow(*row) if row else None

    def add_rectification(self, org_id: int, matter: str, measure: str, deadline: date, responsible: str,
                          opened_on: date) -> RectificationRow:
        """Open a ledger item by hand (`rectify add`): a matter inspectors found on their visit, not a gap on the calendar.

        Its obligation is `BY_HAND`, its period the month it is opened in, and it has no run: no
        supervision run matches it to a gap or closes it (`open_gaps` leaves it out); it is
        closed by hand (`close_rectification`) after the follow-up visit, as a run's item can be.
        An InputError when the organization has an open item entered by hand of the same matter:
        entered twice by mistake, it was counted twice in the bulletin (try-out).
        """
        with self.writing() as conn:
            same = _open_by_hand(conn, org_id, matter)
            if same is not None:
                raise InputError(f"整改事项 {same} 尚未销号，问题与此相同（同一党组织、同一整改事项）：未重复登记；"
                                 "如确是另一问题，请在 --matter 中写明区别（rectify list 可查看）")
            stamp = self.clock()
            item_id = conn.execute(insert(RECTIFICATION).values(
                gap_key=f"{BY_HAND}:{uuid.uuid4().hex}", org_id=org_id, obligation=BY_HAND, period=f"{opened_on:%Y-%m}",
                matter=matter, measure=measure, deadline=deadline, responsible=responsible, opened_run_id=None,
                opened_on=opened_on, created_at=stamp)).inserted_primary_key[0]
            self.audit(conn, "rectify_add", "rectification", item_id, org_id,
                       {"matter": matter, "measure": measure, "deadline": deadline, "responsible": responsible,
                        "opened_on": opened_on})
            return RectificationRow(*conn.execute(select(*RECT_COLUMNS).where(RECTIFICATION.c.id == item_id)).one())

    def by_hand_items(self, org_ids: Collection[int], run: RunRow, previous: RunRow | None, since: date) -> list[tuple[int, str]]:
        """Return (organization id, matter) of the items of `org_ids` entered by hand (`add_rectification`) that `run`'s bulletin
        lists and `previous`'s did not (without a previous run, those from `since` on), in the order entered.

        Not only those of the run's month: one found after last month's run, or entered after it
        was published (a November visit entered in December), is counted by the next (review).
        """
        r = RECTIFICATION.c
        new = ~_by_hand_for(previous) if previous is not None else r.opened_on >= since
        query = select(r.org_id, r.matter).where(r.opened_run_id.is_(None), _by_hand_for(run), new).order_by(r.id)
        wanted = set(org_ids)
        with self.engine.connect() as conn:
            return [(org_id, matter) for org_id, matter in conn.execute(query) if org_id in wanted]

    def reopened_on(self, item_id: int) -> date | None:
        """Return the day the item was last opened again (by hand or by a run) after it was closed; None when it never was."""
        p = PAST.c
        with self.engine.connect() as conn:
            found = conn.execute(select(func.max(p.replaced_on)).where(p.item_id == item_id, p.closed_on.is_not(None))).scalar()
        return date.fromisoformat(found) if isinstance(found, str) else found

    def reopen_rectification(self, item_id: int, reason: str, deadline: date | None = None) -> RectificationRow | None:
        """Open again an item closed by hand (销号 by mistake, or a follow-up visit found it not done); None when there is no such item.

        Only an item closed by hand changes (the row returned as it was otherwise): one a run closed
        is opened again by a run when its gap comes back. What the closing said and when goes to the
        audit entry with `reason`; `deadline`, when given, is the item's new 整改时限. What the item was
        is kept (`_keep_past`): a bulletin of a day before today, or published before now, shows it closed.
        """
        r = RECTIFICATION.c
        with self.writing() as conn:
            stamp = self.clock()
            before = conn.execute(select(*RECT_COLUMNS).where(r.id == item_id)).first()
            if before is None or before.closed_on is None or before.close_note in AUTO_NOTES:
                return RectificationRow(*before) if before else None
            same = _open_by_hand(conn, before.org_id, before.matter) if before.opened_run_id is None else None
            if same is not None:
                # Entered again after this one was closed: reopened too, the bulletin would count the matter twice.
                raise InputError(f"整改事项 {same} 尚未销号，问题与事项 {item_id} 相同（同一党组织、同一整改事项）：未重新打开；"
                                 f"请跟进事项 {same}（rectify list 可查看）")
            values: dict[str, Any] = {"closed_on": None, "close_note": None, "closed_run_id": None}
            if deadline is not None:
                values["deadline"] = deadline
            _keep_past(conn, [item_id], stamp.astimezone(TZ).date(), stamp)
            changed = conn.execute(update(RECTIFICATION).where(r.id == item_id, r.closed_on == before.closed_on,
                                                               r.close_note == before.close_note).values(**values)).rowcount
            row = conn.execute(select(*RECT_COLUMNS).where(r.id == item_id)).first()
            if changed:
                detail: dict[str, Any] = {"closed_on": before.closed_on, "close_note": before.close_note}
                if deadline is not None:
                    detail |= {"deadline": deadline, "previous_deadline": before.deadline}
                self.audit(conn, "rectify_reopen", "rectification", item_id, row.org_id, detail, reason)
            return RectificationRow(*row)


def _open_by_hand(conn: Any, org_id: int, matter: str) -> int | None:
    """Return the id of an open item entered by hand for `org_id` of the same matter (`_matter_key`), None when there is none."""
    r = RECTIFICATION.c
    # The same words however spaced or ended (会议记录 不完整。 for 会议记录不完整), full-width forms as half-width (review).
    mine = conn.execute(select(r.id, r.matter).where(r.org_id == org_id, r.opened_run_id.is_(None), r.closed_on.is_(None))
                        .order_by(r.id))
    return next((item_id for item_id, text in mine if _matter_key(text) == _matter_key(matter)), None)


def _matter_key(text: str) -> str:
    """Return a matter as `add_rectification` compares it: NFKC, without spaces or closing punctuation."""
    return "".join(unicodedata.normalize("NFKC", text).split()).rstrip("。.;；,，!！")


# Items closed by a run, not by hand: a gap of theirs found again is theirs again.
AUTO_NOTES = (MADE_GOOD_NOTE, CHANGED_NOTE, NOT_OWED_NOTE, PAID_NOTE, DELAYED_NOTE, ELECTED_NOTE, *ENDED_NOTES.values())
# The obligation of a ledger item entered by hand (`add_rectification`): what inspectors found, not a calendar gap.
BY_HAND = "inspection"


def _auto_closed(conn: Any, scope_path: str) -> dict[str, tuple[int, date, str]]:
    """Return the items of a scope that a run closed, by gap key: (id, closed on, note), in one statement whatever their number."""
    r = RECTIFICATION.c
    query = (select(r.gap_key, r.id, r.closed_on, r.close_note).select_from(RECTIFICATION.join(ORG, ORG.c.id == r.org_id))
             .where(in_scope(scope_path), r.closed_on.is_not(None), r.close_note.in_(AUTO_NOTES)))
    return {key: (item_id, closed_on, note) for key, item_id, closed_on, note in conn.execute(query)}


def _keep_past(conn: Any, item_ids: list[int], replaced_on: date, stamp: datetime, run_id: int | None = None) -> None:
    """Keep what the items `item_ids` are (PAST_COLUMNS) before they are reopened: replaced on `replaced_on`, at `stamp`, by
    the run `run_id` (None: by hand)."""
    r = RECTIFICATION.c
    for part in chunks(item_ids, CHUNK):
        conn.execute(insert(PAST).from_select(
            ["item_id", "replaced_on", "replaced_at", "replaced_run_id", *PAST_COLUMNS],
            select(r.id, literal(replaced_on, Date()), literal(stamp, PAST.c.replaced_at.type), literal(run_id, Integer()),
                   *(r[name] for name in PAST_COLUMNS))
            .where(r.id.in_(part))))


def _changed_orgs(conn: Any, since: datetime, before: date) -> dict[int, date]:
    """Return, by organization id, the last day (Asia/Shanghai) from `since` on that one of its records, dues payments or
    exemptions was voided or corrected; records held before `before` that an import replaced or voided count too."""
    a, rc = tables.AUDIT_ENTRY.c, tables.RECORD.c
    changed: dict[int, date] = {}

    def add(org_id: int, at: datetime) -> None:
        day = at.astimezone(TZ).date()
        if changed.get(org_id, date.min) < day:
            changed[org_id] = day

    imported = False
    for action, entity, org_id, at, detail in conn.execute(select(a.action, a.entity, a.org_id, a.at, a.detail)
                                                           .where(a.at >= since, a.action.in_(("void", "correct", "import")))):
        if action == "import":
            imported = True
        elif org_id is not None:
            add(org_id, at)
            if action == "correct" and entity == "record":
                # A record moved to another organization is logged under its new one; the one it left lost it too.
                for moved_from in json.loads(detail).get("org_ids", ()):
                    add(moved_from, at)
    if imported:
        for org_id, superseded, voided in conn.execute(select(rc.org_id, rc.superseded_at, rc.voided_at).where(
                rc.held_on < before, or_(rc.superseded_at >= since, rc.voided_at >= since))):
            add(org_id, max(at for at in (superseded, voided) if at is not None))
    return changed


# How an item's matter says its period is invalid (its status label, `ledger_item`).
INVALID_MATTER = f" {STATUS_LABELS['invalid']}"


def _said_invalid(conn: Any, scope_path: str) -> set[str]:
    """Return the gap keys of the scope's open items whose matter says their period is invalid, in one statement."""
    r = RECTIFICATION.c
    query = (select(r.gap_key).select_from(RECTIFICATION.join(ORG, ORG.c.id == r.org_id))
             .where(in_scope(scope_path), r.closed_on.is_(None), r.matter.contains(INVALID_MATTER, autoescape=True)))
    return set(conn.execute(query).scalars())


def _renew(conn: Any, rows: list[dict[str, Any]], run_id: int, as_of: date, stamp: datetime,
           auto_closed: dict[str, tuple[int, date, str]], said_invalid: Collection[str] = ()) -> list[dict[str, Any]]:
    """Bring the ledger items of a run's gaps (`rows`, as `ledger_item` makes them) up to what the run found; return those reopened.

    An item a run closed (made good, or owed no more; `auto_closed`, read once for the scope) whose
    gap is found again, because the record that made it good was voided or corrected, say, or an
    exemption was withdrawn, is opened again by this run, with this run's matter and measure; it keeps
    the day it was first listed and its deadline. What it was closed on and why goes to the run's audit entry, and what it was to PAST
    (`_keep_past`, replaced on the run's day): a bulletin of a day before shows it. An item closed by hand
    (回头看) stays closed. An open item whose gap is now an invalid period (a meeting entered late,
    short of its quorum) takes the matter and measure of that, and one that said invalid
    (`said_invalid`, read once for the scope) takes those of a missed period when its record was
    voided: the bulletin and its ledger say the same; what it said before is kept too. A few
    statements each a block, whatever the number of items (tests/test_scale.py).
    """
    r = RECTIFICATION.c
    # A gap handed over twice (the run's own pass and a recheck) reopens its item once.
    again = list({row["gap_key"]: (row, auto_closed[row["gap_key"]]) for row in rows if row["gap_key"] in auto_closed}.values())
    if again:
        _keep_past(conn, [item_id for _, (item_id, _, _) in again], as_of, stamp, run_id)
        # The day it was first listed and its deadline stay: a record moved out of its period and back gave the item a
        # new 列入台账日期 and a month more each time, and took it off the list of what was overdue (try-out).
        conn.execute(update(RECTIFICATION).where(r.id == bindparam("item_id")).values(
            matter=bindparam("new_matter"), measure=bindparam("new_measure"),
            responsible=bindparam("new_responsible"), opened_run_id=run_id, closed_on=None, close_note=None,
            closed_run_id=None),
            [{"item_id": item_id, "new_matter": row["matter"], "new_measure": row["measure"],
              "new_responsible": row["responsible"]} for row, (item_id, _, _) in again])
        for row, _ in again:
            del auto_closed[row["gap_key"]]
    invalid = [{"key": row["gap_key"], "new_matter": row["matter"], "new_measure": row["measure"]}
               for row in rows if row.get("status") == "invalid" or row["gap_key"] in said_invalid]
    if invalid:
        # What the items said is kept (`_keep_past`), for the bulletins before: those restated alone, a few of a province's.
        said = {row["key"]: row["new_matter"] for row in invalid}
        _keep_past(conn, [item_id for part in chunks(list(said), CHUNK) for item_id, key, matter in conn.execute(
            select(r.id, r.gap_key, r.matter).where(r.gap_key.in_(part), r.closed_on.is_(None))) if matter != said[key]],
            as_of, stamp, run_id)
        conn.execute(update(RECTIFICATION).where(r.gap_key == bindparam("key"), r.closed_on.is_(None), r.matter != bindparam("new_matter"))
                     .values(matter=bindparam("new_matter"), measure=bindparam("new_measure")), invalid)
    return [{"id": item_id, "closed_on": closed_on.isoformat(), "close_note": note} for _, (item_id, closed_on, note) in again]
