"""What evaluation reads of a scope (an organization and everything below it), streamed in organization order.

Each query is one statement for the whole scope, whatever its size, and yields each
organization's rows together, by organization id, so the caller can walk the organizations in
the same order and hold only one organization's rows at a time (`by_org`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, Callable, Collection, Generic, Iterable, Iterator, NamedTuple, TypeVar

from sqlalchemy import Engine, and_, case, func, or_, select, union_all

from compliance.store import tables
from compliance.evaluate import Record as EvalRecord, path_order
from compliance.orgs import MemberRow
from compliance.store.sql import IN_LIMIT
from compliance.store.timezone import TZ

RECORD = tables.RECORD
ORG = tables.ORG
MEMBER = tables.MEMBER
EXEMPTION = tables.MEMBER_EXEMPTION
DUES = tables.DUES_PAYMENT
DUES_VERSION = tables.DUES_VERSION
BATCH = 10000
SKEW = timedelta(hours=1)       # how far behind a writer's clock may be (`_first_written_after`)


class Payment(NamedTuple):
    org_id: int
    member_id: int
    month: str
    paid_on: date


# Some organizations of a scope by id: the first and the last of a range, or a frozenset of them.
Ids = tuple[int, int] | frozenset[int]


def ids_of(org_ids: Iterable[int]) -> Ids | None:
    """Return how to read the organizations `org_ids` by id (see `in_scope`); None when there are none.

    Their range, from the first to the last, when they fill at least half of it or are more
    than one statement may name; otherwise the ids themselves. Without ids, a scope is found
    by its path alone, which no index serves: SQLite then walks every record of the database
    (a branch's status took 14 s in a database of 50,000 branches).
    """
    wanted = sorted(org_ids)
    if not wanted:
        return None
    first, last = wanted[0], wanted[-1]
    if last - first + 1 <= 2 * len(wanted) or len(wanted) > IN_LIMIT:
        return (first, last)
    return frozenset(wanted)


def like_escape(text: str) -> str:
    """Return `text` for a LIKE pattern whose escape character is a backslash: it matches only itself."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def in_scope(root_path: str, ids: Ids | None = None) -> Any:
    """Return the condition on ORG that keeps `root_path` and everything below it.

    With `ids`, only the ids from the first to the last of a pair, or those of a frozenset (at
    most `IN_LIMIT`: a few organizations scattered over a large scope).
    """
    # Compared as text, not with LIKE: SQLite's LIKE ignores the case of Latin letters, so ABC党委's
    # scope took in abc党委's tree.
    below = root_path + "/"
    found = or_(ORG.c.path == root_path, func.substr(ORG.c.path, 1, len(below)) == below)
    if ids is None:
        return found
    return and_(found, ORG.c.id.in_(sorted(ids)) if isinstance(ids, frozenset) else ORG.c.id.between(*ids))


T = TypeVar("T")


class Days(dict):
    """ISO day text -> date, each text converted once."""

    def __missing__(self, text: str) -> date:
        day = self[text] = date.fromisoformat(text)
        return day


class _ShanghaiDays(dict):
    """A UTC time as SQLite keeps it, to the hour ("2026-11-20 16") -> its day in Asia/Shanghai (UTC+8, no summer time)."""

    def __missing__(self, hour: str) -> date:
        day = self[hour] = (datetime.fromisoformat(hour) + timedelta(hours=8)).date()
        return day


def _day_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _first_written_after(conn: Any, moment: datetime) -> int | None:
    """Return the smallest id of a record version written after `moment` (None: none was), by bisecting the ids, which
    follow the order versions are written in: about 23 look-ups of the primary key for 8 million versions.

    The times are the writers' clocks: of two machines writing to one database, one may be behind. The id is that of the
    first written an hour before `moment`, for the caller to read from, its own condition on the time keeping what it
    wants (review).
    """
    r = RECORD.c
    moment -= SKEW
    low, high = conn.execute(select(func.min(r.id), func.max(r.id))).one()
    if high is None or conn.execute(select(r.recorded_at).where(r.id == high)).scalar_one() <= moment:
        return None

    def after(at: int) -> bool:     # whether the first version from id `at` on was written after `moment`
        return conn.execute(select(r.recorded_at).where(r.id >= at).order_by(r.id).limit(1)).scalar_one() > moment

    while low < high:
        middle = (low + high) // 2
        if after(middle):
            high = middle
        else:
            low = middle + 1
    return low


class by_org(Generic[T]):
    """Walk the groups (organization id, its rows), by increasing id, alongside organizations taken in increasing id order."""

    def __init__(self, groups: Iterable[tuple[int, list[T]]]):
        self._groups = iter(groups)
        self._head: tuple[int, list[T]] | None = next(self._groups, None)

    def take(self, org_id: int) -> list[T]:
        """Return the rows of `org_id`, skipping those of organizations before it that were not asked for."""
        groups, head = self._groups, self._head
        while head is not None and head[0] < org_id:
            head = next(groups, None)
        if head is None or head[0] != org_id:
            self._head = head
            return []
        self._head = next(groups, None)
        return head[1]


class ScopeQueries:
    """Scope reads for evaluation; expects `self.engine` (see `Store`)."""

    engine: Engine

    def _stream(self, query: Any, make: Callable[[Any], T]) -> Iterator[T]:
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=BATCH).execute(query):
                yield make(row)

    def _groups(self, query: Any, make: Callable[[Iterable[Any]], list[T]], sqlite: bool,
                key: int = 1) -> Iterator[tuple[int, list[T]]]:
        """Yield (organization id, `make(its rows)`) for a query ordered by the organization id, its column number `key`.

        On SQLite the rows are read from SQLite's own cursor (a third of the time of
        SQLAlchemy's result rows at a province's size): the query must select only values
        SQLite returns as they are needed, text dates being converted by `make`. Each
        organization's rows are made in one call of `make`, not one call a row.
        """
        with self.engine.connect() as conn:
            # SQLAlchemy binds the parameters (times to UTC text, lists expanded); on SQLite the
            # rows are then read from the DBAPI cursor as they are.
            rows = conn.execute(query).cursor if sqlite else conn.execution_options(yield_per=BATCH).execute(query)
            for org_id, group in groupby(rows, itemgetter(key)):
                yield org_id, make(group)

    def scope_records(self, root_path: str, known_at: datetime | None = None, since: date | None = None,
                      always: Collection[str] = (), ids: Ids | None = None,
                      kinds: Collection[str] | None = None, until: date | None = None) -> Iterator[tuple[int, list[EvalRecord]]]:
        """Yield (organization id, its current records) for every organization at or below `root_path` that has any, in one query.

        With `known_at`, yield the versions that were current then, leaving out what was
        recorded later and keeping what was voided or corrected later. With `since`, leave out
        records held before it, except those of the kinds in `always` (elections, whose terms
        reach back years); with `until`, those held after it. With `ids` (see `in_scope`), only
        those organizations are read; with `kinds`, only records of those kinds.
        """
        r = RECORD.c
        sqlite = self.engine.dialect.name == "sqlite"
        query = (
            select(r.record_id, r.org_id, r.kind, r.held_on, r.first_recorded_at, r.expected, r.present, r.topic,
                   r.recorder, r.lecturer, r.secretary_signed, r.recorder_signed, r.group_name, MEMBER.c.name,
                   r.attendees, r.counterpart, r.hours, r.photos, r.excused)
            .select_from(RECORD.outerjoin(MEMBER, MEMBER.c.id == r.member_id))
            # The scope's organizations found first, then their records through the index: joined
            # to each record, the path was tested once a record (7% of the read at 10,000 branches).
            .where(r.org_id.in_(select(ORG.c.id).where(in_scope(root_path, ids)).scalar_subquery()))
            .order_by(r.org_id)
        )
        if since is not None:
            query = query.where(or_(r.held_on >= since, r.kind.in_(sorted(always))) if always else r.held_on >= since)
        if until is not None:
            query = query.where(r.held_on <= until)
        if kinds is not None:
            query = query.where(r.kind.in_(sorted(kinds)))
        if known_at is None:
            query = query.where(r.superseded_at.is_(None), r.voided_at.is_(None))
        else:
            query = query.where(
                r.recorded_at <= known_at,
                or_(r.superseded_at.is_(None), r.superseded_at > known_at),
                or_(r.voided_at.is_(None), r.voided_at > known_at),
            )
        new = tuple.__new__     # a named tuple's own __new__ is a Python call
        if sqlite:
            # SQLite keeps days and UTC times as text; a province repeats each day and hour
            # thousands of times, and each is converted once (SQL's date() took 10% of the read).
            held, shanghai = Days(), _ShanghaiDays()
            return self._groups(query, lambda rows: [new(EvalRecord, (r[0], r[1], r[2], held[r[3]], shanghai[r[4][:13]], *r[5:]))
                                                     for r in rows], sqlite)
        return self._groups(query, lambda rows: [new(EvalRecord, (r[0], r[1], r[2], r[3], r[4].astimezone(TZ).date(), *r[5:]))
                                                 for r in rows], sqlite)

    def record_marks(self, root_path: str, ids: Ids | None, first: date, last: date,
                     fields: Collection[str], entered: tuple[datetime, datetime | None] | None = None
                     ) -> list[tuple[int, str, bool, tuple[bool, ...], int, date | None]]:
        """Return, of the current records held from `first` to `last` at or below `root_path` (with `ids`, of those
        organizations), how many of each organization and kind are signed or not and lack which of `fields`. With
        `entered`, of those held before `first` and written (entered or changed) after its first time, and by its second
        unless None, too.

        Rows of (organization id, kind, signed by the secretary and the recorder, for each of `fields`
        whether it is empty, count, the day held: None for the records from `first` on, the day of those
        held before it), grouped in SQL: a province's month of records is not read.
        """
        r = RECORD.c
        signed = case((and_(r.secretary_signed.is_(True), r.recorder_signed.is_(True)), 1), else_=0)
        empty = [case((or_(r[f].is_(None), r[f] == (0 if f == "hours" else "")), 1), else_=0) for f in fields]
        columns = [r.org_id, r.kind, signed, *empty]
        orgs = select(ORG.c.id).where(in_scope(root_path, ids)).scalar_subquery()
        current = (r.superseded_at.is_(None), r.voided_at.is_(None))
        queries = [select(*columns, func.count()).where(r.org_id.in_(orgs), r.held_on >= first, r.held_on <= last, *current)
                   .group_by(*columns)]
        with self.engine.connect() as conn:
            after = _first_written_after(conn, entered[0]) if entered is not None else None
            if entered is not None and after is not None:
                entered_after, entered_by = entered
                # The versions written since, found by their ids (written in order): not a scan of every record held
                # before the month (0.05 s became 0.55 s at 1,000 branches). org_id + 0 keeps SQLite off the
                # organization's index, which it took to group by and so read them all.
                org = (r.org_id + 0).label("org_id")
                # By the day held, too: whether a record of a month before counts is decided by that month's committee.
                later = [org, r.kind, r.held_on, signed, *empty]
                by = (r.recorded_at <= entered_by,) if entered_by is not None else ()
                queries.append(select(*later, func.count()).where(r.id >= after, org.in_(orgs), r.held_on < first,
                                                                  r.recorded_at > entered_after, *by, *current).group_by(*later))
            found = [(org_id, kind, bool(ok), tuple(bool(e) for e in lacks), n, None)
                     for org_id, kind, ok, *lacks, n in conn.execute(queries[0])]
            found.extend((org_id, kind, bool(ok), tuple(bool(e) for e in lacks), n, held)
                         for query in queries[1:] for org_id, kind, held, ok, *lacks, n in conn.execute(query))
            return found

    def without_lists(self, root_path: str | None, kinds: Collection[str], first: date, last: date) -> list[str]:
        """Return the paths of the branches at or below `root_path` (everywhere when None), in order, none of whose current
        records of `kinds` held from `first` to `last` has an attendance list (参会人员): their members' months without
        organizational life cannot be told. One probe of `ix_record_org_held` per branch."""
        r, o = RECORD.c, ORG.c
        listed = (select(r.record_id).where(r.org_id == o.id, r.kind.in_(sorted(kinds)), r.held_on >= first, r.held_on <= last,
                                            r.superseded_at.is_(None), r.voided_at.is_(None), r.attendees.is_not(None),
                                            r.attendees != "").exists())
        query = select(o.path).where(o.type == "党支部", or_(o.dissolved.is_(None), o.dissolved >= first), ~listed)
        if root_path is not None:
            query = query.where(in_scope(root_path))
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars(), key=path_order)

    def scope_members(self, root_path: str, ids: Ids | None = None) -> Iterator[tuple[int, list[MemberRow]]]:
        """Yield (organization id, its members by name) for every organization at or below `root_path` (with an id in `ids`) that has any."""
        cols = [MEMBER.c[name] for name in MemberRow._fields]
        sqlite = self.engine.dialect.name == "sqlite"
        # By code point on every database: SQLite compares UTF-8 bytes, and PostgreSQL does with
        # the "C" collation whatever the database's own (which may sort Chinese names by pinyin).
        name = MEMBER.c.name if sqlite else MEMBER.c.name.collate("C")
        query = (select(*cols).select_from(MEMBER.join(ORG, ORG.c.id == MEMBER.c.org_id)).where(in_scope(root_path, ids))
                 .order_by(MEMBER.c.org_id, name))
        new, day = tuple.__new__, _day_or_none
        if sqlite:
            return self._groups(query, lambda rows: [new(MemberRow, (r[0], r[1], r[2], r[3], r[4], bool(r[5]), day(r[6]), r[7],
                                                                     day(r[8]), r[9], r[10] and day(r[10]), r[11],
                                                                     r[12] and day(r[12])))
                                                     for r in rows], sqlite)
        return self._groups(query, lambda rows: [new(MemberRow, r) for r in rows], sqlite)

    def member_keys(self, org_ids: Collection[int] | None = None) -> Iterator[tuple[int, int, str, str | None, str, date | None,
                                                                                    date | None, date | None]]:
        """Yield (id, organization id, name, party group, status, day left, day arrived, day joined) of every member (of the
        organizations `org_ids`), as plain values."""
        m = MEMBER.c
        query = select(m.id, m.org_id, m.name, m.group_name, m.status, m.left_on, m.arrived_on, m.joined)
        if org_ids is not None:
            query = query.where(m.org_id.in_(sorted(org_ids)))
        return self._stream(query, tuple)

    def scope_dues(self, root_path: str, ids: Ids | None = None, until: date | None = None,
                   known_at: datetime | None = None, since: date | None = None) -> Iterator[tuple[int, list[Payment]]]:
        """Yield (organization id, its members' dues payments) at or below `root_path` (in organizations with an id in `ids`).

        With `until`, only what was paid by that day; with `known_at`, only what this database had
        been told by then; with `since`, only the payments for its month and later ones.
        """
        def payments(table: Any, *known: Any) -> Any:
            query = (select(MEMBER.c.org_id, table.c.member_id, table.c.month, table.c.paid_on)
                     .select_from(table.join(MEMBER, MEMBER.c.id == table.c.member_id).join(ORG, ORG.c.id == MEMBER.c.org_id))
                     .where(in_scope(root_path, ids), *known))
            if until is not None:
                query = query.where(table.c.paid_on <= until)
            if since is not None:
                query = query.where(table.c.month >= f"{since:%Y-%m}")
            return query

        if known_at is None:
            query = payments(DUES).order_by(MEMBER.c.org_id)
        else:
            # What was known then: payments as they stood then, those corrected or withdrawn since among them.
            both = union_all(payments(DUES, *_known(known_at)), payments(DUES_VERSION, *_known_version(known_at))).subquery()
            query = select(*both.c).order_by(both.c.org_id)
        sqlite = self.engine.dialect.name == "sqlite"
        new, paid = tuple.__new__, Days()
        if sqlite:
            return self._groups(query, lambda rows: [new(Payment, (r[0], r[1], r[2], paid[r[3]])) for r in rows], sqlite, key=0)
        return self._groups(query, lambda rows: [new(Payment, r) for r in rows], sqlite, key=0)

    def dues_orgs(self, root_path: str, ids: Ids | None = None, until: date | None = None,
                  known_at: datetime | None = None) -> set[int]:
        """Return the ids of the organizations at or below `root_path` (with an id in `ids`) that record dues: one of their members
        has a payment (`until` and `known_at` as in `scope_dues`): those `dues_starts` gives."""
        return set(self.dues_starts(root_path, ids, until, known_at))

    def dues_starts(self, root_path: str, ids: Ids | None = None, until: date | None = None,
                    known_at: datetime | None = None) -> dict[int, date]:
        """Return, by id, the organizations of `dues_orgs` with the first day of the first month any of their members paid for.

        `until` and `known_at` as in `scope_dues`. Each member's first month is the first entry of
        their index that will do (`ORDER BY month LIMIT 1`): the payments themselves are not read.
        """
        def first(table: Any, *known: Any) -> Any:
            return (select(table.c.month).where(table.c.member_id == MEMBER.c.id, *known)
                    .order_by(table.c.month).limit(1).scalar_subquery())

        firsts = [first(DUES, *_paid(until, known_at))]
        if known_at is not None:
            firsts.append(first(DUES_VERSION, *_known_version(known_at),
                                *([DUES_VERSION.c.paid_on <= until] if until is not None else [])))
        query = (select(MEMBER.c.org_id, *(func.min(f) for f in firsts)).select_from(MEMBER.join(ORG, ORG.c.id == MEMBER.c.org_id))
                 .where(in_scope(root_path, ids)).group_by(MEMBER.c.org_id))
        found: dict[int, date] = {}
        with self.engine.connect() as conn:
            for org_id, *months in conn.execute(query):
                paid = [m for m in months if m is not None]
                if paid:
                    found[org_id] = date.fromisoformat(min(paid) + "-01")
        return found

    def last_paid(self, root_path: str, ids: Ids | None, until: date | None, before: date,
                  known_at: datetime | None = None) -> Iterator[tuple[int, dict[int, str]]]:
        """Yield (organization id, member id -> the last month paid for before `before`'s month) at or below `root_path`.

        `ids`, `until` and `known_at` as in `scope_dues`. What a view that reads payments from a
        month on (`scope_dues`'s `since`) needs of the years before it: each member's last month
        paid, found in SQL from the (member, month, paid_on) index, one row per member.
        """
        def months(table: Any, *known: Any) -> Any:
            query = (select(MEMBER.c.org_id, table.c.member_id, table.c.month)
                     .select_from(table.join(MEMBER, MEMBER.c.id == table.c.member_id).join(ORG, ORG.c.id == MEMBER.c.org_id))
                     .where(in_scope(root_path, ids), table.c.month < f"{before:%Y-%m}", *known))
            return query if until is None else query.where(table.c.paid_on <= until)

        if known_at is None:
            query = (months(DUES).with_only_columns(MEMBER.c.org_id, DUES.c.member_id, func.max(DUES.c.month))
                     .group_by(MEMBER.c.org_id, DUES.c.member_id).order_by(MEMBER.c.org_id))
        else:
            # As `scope_dues` reads them then: payments as they stood, those corrected or withdrawn since among them.
            both = union_all(months(DUES, *_known(known_at)), months(DUES_VERSION, *_known_version(known_at))).subquery()
            query = (select(both.c.org_id, both.c.member_id, func.max(both.c.month))
                     .group_by(both.c.org_id, both.c.member_id).order_by(both.c.org_id))
        return self._groups(query, lambda rows: {member_id: month for _, member_id, month in rows},
                            self.engine.dialect.name == "sqlite", key=0)

    def scope_exemptions(self, root_path: str, ids: Ids | None = None,
                         known_at: datetime | None = None) -> dict[int, list[tuple[date, date]]]:
        """Return the approved exemptions of the members at or below `root_path` (with `ids`, of those organizations), by member id.

        Withdrawn ones are left out; with `known_at`, those in force then: entered by then, and
        not withdrawn by then.
        """
        query = (select(EXEMPTION.c.member_id, EXEMPTION.c.start, EXEMPTION.c.end)
                 .select_from(EXEMPTION.join(MEMBER, MEMBER.c.id == EXEMPTION.c.member_id).join(ORG, ORG.c.id == MEMBER.c.org_id))
                 .where(in_scope(root_path, ids), *exemptions_in_force(known_at)))
        found: dict[int, list[tuple[date, date]]] = {}
        with self.engine.connect() as conn:
            for member_id, start, end in conn.execute(query):
                found.setdefault(member_id, []).append((start, end))
        return found


def exemptions_in_force(known_at: datetime | None = None) -> list[Any]:
    """Return the conditions on the exemption table of the exemptions in force: not withdrawn (with `known_at`, as known then)."""
    e = EXEMPTION.c
    if known_at is None:
        return [e.voided_at.is_(None)]
    return [e.created_at <= known_at, or_(e.voided_at.is_(None), e.voided_at > known_at)]


def _paid(until: date | None, known_at: datetime | None) -> list[Any]:
    """Return the conditions on DUES of what was paid by `until` and known, as it stands now, by `known_at` (each when given)."""
    found = []
    if until is not None:
        found.append(DUES.c.paid_on <= until)
    return found + _known(known_at)


def _known(known_at: datetime | None) -> list[Any]:
    """Return the conditions on DUES of the payments that stood as they are now at `known_at` (none without it)."""
    return [] if known_at is None else [func.coalesce(DUES.c.corrected_at, DUES.c.created_at) <= known_at]


def _known_version(known_at: datetime) -> list[Any]:
    """Return the conditions on the version table of the earlier values that stood at `known_at`."""
    return [DUES_VERSION.c.valid_from <= known_at, DUES_VERSION.c.superseded_at > known_at]
