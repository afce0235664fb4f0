"""Corrections and withdrawals of records, and reading a record's versions. Nothing is deleted."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Callable, Collection, Iterable, Iterator, Sequence

from sqlalchemy import Connection, Engine, func, insert, or_, select, tuple_, update

from compliance.store import tables
from compliance.errors import DatabaseError, InputError, NotFound
from compliance.store.sql import Columns, chunks, reserve_ids
from compliance.store.timezone import TZ

RECORD = tables.RECORD
MEMBER = tables.MEMBER
CONTENT = (
    "org_id", "kind", "held_on", "member_id", "group_name", "expected", "present", "topic", "recorder", "lecturer",
    "secretary_signed", "recorder_signed", "attendees", "excused", "counterpart", "hours", "photos",
)

# What a written version holds, in the order RecordBatch sends it to the database: the dates last.
PLAIN = tuple(k for k in CONTENT if k != "held_on")
WRITTEN = ("id", "record_id", "version", "identity", *PLAIN, "source", "held_on", "first_recorded_at", "recorded_at")
# A checked row as `RecordBatch.write` takes it: a tuple (an import's millions of rows are not
# made into dicts), the plain values first, as they are written.
ROW = (*PLAIN, "held_on", "first_recorded_at")


def _replace(conn: Any, old: dict[str, Any], **values: Any) -> None:
    """Mark the current version `old` superseded or void; refuse if it is no longer current."""
    done = conn.execute(update(RECORD).where(RECORD.c.id == old["id"], RECORD.c.superseded_at.is_(None),
                                             RECORD.c.voided_at.is_(None)).values(**values)).rowcount
    if done != 1:
        raise InputError(f"记录 {old['record_id']} 刚被其他操作改动，请重新查看后再试")


def _same(value: Any) -> Any:
    return value


class _Memo(dict):
    """value -> `make(value)`, each value made once."""

    def __init__(self, make: Callable[[Any], Any]):
        super().__init__()
        self._make = make

    def __missing__(self, value: Any) -> Any:
        made = self[value] = self._make(value)
        return made


class RecordQueries:
    """Record versions; expects `self.engine`, `self.clock` and `self.audit` (see `Store`)."""

    engine: Engine
    clock: Callable[[], datetime]
    audit: Callable[..., None]
    writing: Callable[[], Any]

    def record_versions(self, record_id: int) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first, with the member's name; NotFound if none."""
        query = (select(RECORD, MEMBER.c.name.label("member_name"))
                 .select_from(RECORD.outerjoin(MEMBER, MEMBER.c.id == RECORD.c.member_id))
                 .where(RECORD.c.record_id == record_id).order_by(RECORD.c.version))
        with self.engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query).mappings()]
            if not rows:
                raise NotFound(_no_record(conn, record_id))
        return rows

    def records_naming(self, org_id: int, member_id: int, name: str, since: date | None = None,
                       before: date | None = None) -> list[tuple[int, date]]:
        """Return (record id, day held) of an organization's current records held on or after `since` (and before `before`) that name a member.

        A record names them as its member, its talk's other party, or in its lists of attendees
        and of the excused (names joined by 、, matched whole).
        """
        r = RECORD.c
        query = (select(r.record_id, r.held_on, r.member_id, r.counterpart, r.attendees, r.excused)
                 .where(r.org_id == org_id, *([r.held_on >= since] if since is not None else []),
                        *([r.held_on < before] if before is not None else []), r.superseded_at.is_(None), r.voided_at.is_(None),
                        or_(r.member_id == member_id, r.counterpart == name, r.attendees.contains(name, autoescape=True),
                            r.excused.contains(name, autoescape=True)))
                 .order_by(r.held_on, r.record_id))
        with self.engine.connect() as conn:
            return [(record_id, held_on) for record_id, held_on, member, counterpart, attendees, excused in conn.execute(query)
                    if member == member_id or counterpart == name or name in (attendees or "").split("、")
                    or name in (excused or "").split("、")]

    def listed_meetings(self, org_id: int, since: date) -> list[int]:
        """Return the ids of an organization's current records held on or after `since` with a list of attendees and an 应到, in order."""
        r = RECORD.c
        query = (select(r.record_id).where(r.org_id == org_id, r.held_on >= since, r.superseded_at.is_(None), r.voided_at.is_(None),
                                           r.attendees.is_not(None), r.expected.is_not(None)).order_by(r.record_id))
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def record_orgs(self, record_ids: Iterable[int]) -> dict[int, int]:
        """Return the organization id of each of `record_ids` that has a current version (not voided)."""
        found: dict[int, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(record_ids)):
                query = select(RECORD.c.record_id, RECORD.c.org_id).where(RECORD.c.record_id.in_(chunk), RECORD.c.superseded_at.is_(None),
                                                                           RECORD.c.voided_at.is_(None))
                found.update(conn.execute(query).all())
        return found

    def orgs_with_kinds(self, org_ids: Iterable[int], kinds: Iterable[str]) -> set[int]:
        """Return those of `org_ids` that hold a current record of one of `kinds` (any date)."""
        found: set[int] = set()
        wanted = sorted(set(kinds))
        if not wanted:
            return found
        with self.engine.connect() as conn:
            for chunk in chunks(list(org_ids)):
                query = (select(RECORD.c.org_id).where(RECORD.c.org_id.in_(chunk), RECORD.c.kind.in_(wanted),
                                                        RECORD.c.superseded_at.is_(None), RECORD.c.voided_at.is_(None))
                         .group_by(RECORD.c.org_id))
                found.update(conn.scalars(query))
        return found

    def first_recorded(self, scope_path: str | None) -> datetime | None:
        """Return when the first record at or below `scope_path` (of every organization: None) was entered; None when none was."""
        query = select(func.min(RECORD.c.recorded_at))
        if scope_path is not None:
            from compliance.store.scope import in_scope

            query = query.select_from(RECORD.join(tables.ORG, tables.ORG.c.id == RECORD.c.org_id)).where(in_scope(scope_path))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def org_records(self, org_id: int, kind: str | None = None, since: date | None = None,
                    include_void: bool = False) -> list[dict[str, Any]]:
        """Return the current versions of an organization's records, by date."""
        query = (select(RECORD, MEMBER.c.name.label("member_name"))
                 .select_from(RECORD.outerjoin(MEMBER, MEMBER.c.id == RECORD.c.member_id))
                 .where(RECORD.c.org_id == org_id, RECORD.c.superseded_at.is_(None)))
        if kind:
            query = query.where(RECORD.c.kind == kind)
        if since:
            query = query.where(RECORD.c.held_on >= since)
        if not include_void:
            query = query.where(RECORD.c.voided_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query.order_by(RECORD.c.held_on, RECORD.c.record_id)).mappings()]

    def copies_elsewhere(self, file: str, record_ids: Collection[int], imports: int = 3,
                         probes: int = 200_000) -> list[tuple[int, dict[str, Any]]]:
        """Return (record id, the other's current version) for each of `record_ids` whose content another organization's
        record has unchanged, but for the organization (its member by name): a record, not void, of an organization that
        one of the last `imports` imports of a file named `file` wrote, before the import that wrote `record_ids`.

        The records are looked for in those organizations, on the days of `record_ids`, through ``ix_record_org_held``;
        when that is more than `probes` organization-days (a province's file), none are.
        """
        compared = [c for c in CONTENT if c not in ("org_id", "member_id")] + ["member_name"]
        ids = set(record_ids)
        found: list[tuple[int, dict[str, Any]]] = []
        a = tables.AUDIT_ENTRY.c
        with_member = RECORD.outerjoin(MEMBER, MEMBER.c.id == RECORD.c.member_id)
        current = select(RECORD, MEMBER.c.name.label("member_name")).select_from(with_member).where(RECORD.c.superseded_at.is_(None))
        with self.engine.connect() as conn:
            new = [dict(row) for some in chunks(sorted(ids)) for row in conn.execute(current.where(RECORD.c.record_id.in_(some))).mappings()]
            # The entries naming the file, newest first (an entry's detail is JSON: `"file":"r.csv"`, as `audit` writes it).
            named = json.dumps(file, ensure_ascii=False).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            entries = select(a.detail).where(a.action == "import", a.entity == "record",
                                             or_(a.detail.like(f'%"file":{named}%', escape="\\"),
                                                 a.detail.like(f'%"file": {named}%', escape="\\"))).order_by(a.seq.desc())
            orgs: set[int] = set()
            metas = [meta for (detail,) in conn.execute(entries.limit(imports + 1))
                     if isinstance(meta := json.loads(detail), dict) and meta.get("file") == file]
            if metas and _wrote(metas[0], ids):
                metas = metas[1:]        # the import that wrote these records
            for meta in metas[:imports]:
                orgs.update(i for i in meta.get("org_ids") or () if isinstance(i, int))
            days = sorted({r["held_on"] for r in new})
            if not new or not orgs or len(orgs) * len(days) > probes:
                return []
            wanted: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for r in new:
                wanted.setdefault(tuple(r[c] for c in compared), []).append(r)
            for some in chunks(sorted(orgs)):
                query = current.where(RECORD.c.org_id.in_(some), RECORD.c.held_on.in_(days), RECORD.c.voided_at.is_(None))
                for row in conn.execute(query).mappings():
                    if row["record_id"] in ids:
                        continue
                    found.extend((r["record_id"], dict(row)) for r in wanted.get(tuple(row[c] for c in compared), ())
                                 if r["org_id"] != row["org_id"])
        return sorted(found, key=lambda pair: (pair[0], pair[1]["record_id"]))

    def _current(self, conn: Any, record_id: int) -> dict[str, Any]:
        row = conn.execute(select(RECORD).where(RECORD.c.record_id == record_id, RECORD.c.superseded_at.is_(None))).mappings().first()
        if row is None:
            raise NotFound(_no_record(conn, record_id))
        if row["voided_at"] is not None:
            raise InputError(f"记录 {record_id} 已于 {row['voided_at'].astimezone(TZ):%Y-%m-%d} 作废（{row['void_reason']}），不能再更正或作废")
        return dict(row)

    def correct_record(self, record_id: int, content: dict[str, Any], identity: str, reason: str) -> int:
        """Make a corrected version of a record (the old one stays readable); return the new version number."""
        with self.writing() as conn:
            stamp = self.clock()
            old = self._current(conn, record_id)
            after = {k: content.get(k) for k in CONTENT}
            before = {k: old[k] for k in CONTENT}
            if after == before:
                raise InputError(f"记录 {record_id} 没有改动：请给出要更正的字段")
            clash = conn.execute(select(RECORD.c.record_id).where(
                RECORD.c.org_id == after["org_id"], RECORD.c.identity == identity, RECORD.c.superseded_at.is_(None),
                RECORD.c.record_id != record_id)).scalar()
            if clash is not None:
                raise InputError(f"更正后与记录 {clash} 相同（党组织、类型、日期、党小组、党员、主题一致）：请改为作废其中一条")
            _replace(conn, old, superseded_at=stamp)
            conn.execute(insert(RECORD).values(**after, record_id=record_id, version=old["version"] + 1, identity=identity,
                                               first_recorded_at=old["first_recorded_at"], recorded_at=stamp,
                                               source=f"correct:{old['version']}"))
            changed = {k: {"before": before[k], "after": after[k]} for k in CONTENT if before[k] != after[k]}
            # A record moved to another organization is logged under its new one, and names both.
            self.audit(conn, "correct", "record", record_id, after["org_id"],
                       {"changed": changed, "version": old["version"] + 1, "org_ids": sorted({old["org_id"], after["org_id"]})}, reason)
            return old["version"] + 1

    def void_record(self, record_id: int, reason: str) -> None:
        """Withdraw a record: it stays, marked void with the reason, and no longer counts."""
        with self.writing() as conn:
            stamp = self.clock()
            old = self._current(conn, record_id)
            _replace(conn, old, voided_at=stamp, void_reason=reason)
            self.audit(conn, "void", "record", record_id, old["org_id"], {"version": old["version"]}, reason)

    def restore_record(self, record_id: int, reason: str) -> int:
        """Bring back a voided record as it was: a new version, the void kept in its history; return the new version number."""
        with self.writing() as conn:
            stamp = self.clock()
            row = conn.execute(select(RECORD).where(RECORD.c.record_id == record_id, RECORD.c.superseded_at.is_(None))).mappings().first()
            if row is None:
                raise NotFound(_no_record(conn, record_id))
            if row["voided_at"] is None:
                raise InputError(f"记录 {record_id} 没有作废，无需恢复")
            clash = conn.execute(select(RECORD.c.record_id).where(
                RECORD.c.org_id == row["org_id"], RECORD.c.identity == row["identity"], RECORD.c.superseded_at.is_(None),
                RECORD.c.voided_at.is_(None), RECORD.c.record_id != record_id)).scalar()
            if clash is not None:
                raise InputError(f"记录 {record_id} 与记录 {clash} 相同（党组织、类型、日期、党小组、党员、主题一致），"
                                 f"记录 {clash} 有效，未恢复")
            done = conn.execute(update(RECORD).where(RECORD.c.id == row["id"], RECORD.c.superseded_at.is_(None))
                                .values(superseded_at=stamp)).rowcount
            if done != 1:
                raise InputError(f"记录 {record_id} 刚被其他操作改动，请重新查看后再试")
            conn.execute(insert(RECORD).values(**{k: row[k] for k in CONTENT}, record_id=record_id, version=row["version"] + 1,
                                               identity=row["identity"], first_recorded_at=row["first_recorded_at"],
                                               recorded_at=stamp, source=f"restore:{row['version']}"))
            self.audit(conn, "restore", "record", record_id, row["org_id"],
                       {"version": row["version"] + 1, "voided_at": row["voided_at"], "void_reason": row["void_reason"]}, reason)
            return row["version"] + 1

    @contextmanager
    def record_batch(self, source: str, held: Callable[[Any], date] = _same,
                     first: Callable[[Any], datetime | None] = _same) -> Iterator["RecordBatch"]:
        """Open one write transaction for records that arrive in chunks; commit when the block ends.

        An exception inside the block rolls back everything the batch wrote, so an import that
        finds a bad row after writing earlier chunks leaves nothing behind. A row may give its
        day held and its first recording as other values (day numbers, say) that `held` and
        `first` turn into a date and a time.
        """
        with self.writing() as conn, _page_cache(conn, BATCH_CACHE_KB):
            before = conn.execute(select(func.max(RECORD.c.id))).scalar() or 0
            yield RecordBatch(conn, self.clock(), source, self.audit, before, held, first)


# SQLite's page cache while a batch writes (its default is 2 MB): the record_identity index of a
# province takes random inserts. At 50,000 branches (8M records) an import took 165 s with the
# default, 153 s with 64 MB and 152 s with 128 MB.
BATCH_CACHE_KB = 64 * 1024


@contextmanager
def _page_cache(conn: Connection, kib: int) -> Iterator[None]:
    """Give a SQLite connection a page cache of `kib` KiB for the block, then the size it had (other databases: nothing)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: the setting is restored even when the block failed and
    # SQLAlchemy would refuse statements until the transaction is rolled back.
    raw = conn.connection.dbapi_connection
    assert raw is not None
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        # SQLAlchemy closes the driver's connection when a statement is interrupted (Ctrl-C) or
        # the database is lost: then there is nothing to restore, and the first error stands.
        if not conn.invalidated:
            raw.execute(f"PRAGMA cache_size = {int(before)}")


def _wrote(meta: dict[str, Any], ids: set[int]) -> bool:
    """Return whether the import an audit entry's `meta` describes wrote any of the records `ids`: its new records'
    blocks ([first, last] each; an older database's entries list them one by one) and the records it gave new versions."""
    created = meta.get("created") or ()
    single = {i for i in created if isinstance(i, int)}
    if ids & single or ids & set(meta.get("new_versions") or ()):
        return True
    ordered = sorted(ids)
    return any(isinstance(block, list) and block and bisect_left(ordered, block[0]) < bisect_right(ordered, block[-1])
               for block in created)


class Ids(Sequence[int]):
    """Record ids held as the lists and ranges they came in: an import of millions keeps a few ranges, not a list."""

    def __init__(self, parts: list[Sequence[int]]):
        self._parts = [p for p in parts if len(p)]

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def __iter__(self) -> Iterator[int]:
        for part in self._parts:
            yield from part

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        for part in self._parts:
            if index < len(part):
                return part[index]
            index -= len(part)
        raise IndexError("record id index out of range")


class RecordBatch:
    """Records written as an import streams through its rows, inside one transaction.

    `current` reads what the database holds for some identities, including the versions this
    batch wrote earlier, so a later row of the same file is compared with an earlier one without
    keeping the file's rows in memory. Versions with an id above `before` are this batch's.
    """

    def __init__(self, conn: Connection, stamp: datetime, source: str, audit: Callable[..., None], before: int,
                 held: Callable[[Any], date] = _same, first: Callable[[Any], datetime | None] = _same):
        self.conn = conn
        self.before = before                      # the largest id before the batch: larger ones are its own
        self.stamp = stamp
        self.source = source
        self._audit = audit
        self.created: list[range] = []            # record ids of new records, in blocks
        self.new_versions: list[int] = []         # record ids that got a new version
        self.org_ids: set[int] = set()
        self.single: dict[str, Any] | None = None  # the content of the last record written
        self._columns = Columns(conn, RECORD, WRITTEN)
        self._held, self._first = held, first
        # What the driver is given for a row's day held and first recording, each value converted once.
        day, instant = self._columns.converter("held_on"), self._columns.converter("recorded_at")
        self._day = _Memo(lambda value: day(held(value)))
        self._first_instant = _Memo(lambda value: instant(first(value)))
        self._instant = instant
        self._lookup: dict[tuple[bool, int], str] = {}
        self._stored: dict[int, bool] = {}       # organization id: whether it had records before the batch

    def current(self, keys: list[tuple[int, str]]) -> dict[str, dict[str, Any]]:
        """Return the current version of each record with one of `keys`, (organization id, identity) (those this batch wrote too).

        The identity index leads with the organization: an import's rows come organization by
        organization, so its probes and inserts stay in a few pages instead of all over an
        index of random hashes (see migration 0006). Only organizations `findable` returns hold any.
        """
        found = self._by_identity(keys, current=True)
        if not found:
            return {}
        rows = {}
        for ids in chunks(list(found.values())):
            for row in self.conn.execute(select(RECORD).where(RECORD.c.id.in_(ids))).mappings():
                rows[row["identity"]] = dict(row)
        return rows

    def corrected_away(self, keys: list[tuple[int, str]]) -> dict[str, int]:
        """Return, by identity, the records whose earlier version had one of `keys`, (organization id, identity), and whose
        current version has another: a `record correct` changed the day, topic, kind, group or member it was found by."""
        return self._by_identity(keys, current=False)

    def _by_identity(self, keys: list[tuple[int, str]], current: bool) -> dict[str, int]:
        """Return identity -> the version's id (`current`) or its record's id (earlier versions), of the versions with one of `keys`.

        Through the (organization, identity) index: a CTE of the keys joined to the table, as
        SQLite plans a tuple IN of several keys as a scan of the table.
        """
        found: dict[str, int] = {}
        column, kept = (RECORD.c.id, RECORD.c.superseded_at.is_(None)) if current else \
            (RECORD.c.record_id, RECORD.c.superseded_at.is_not(None))
        for chunk in chunks(keys):
            if not self._columns.marker:
                query = select(RECORD.c.identity, column).where(kept, tuple_(RECORD.c.org_id, RECORD.c.identity).in_(chunk))
                found.update(self.conn.execute(query).all())
                continue
            sql = self._lookup.get((current, len(chunk)))
            if sql is None:
                pair = f"({self._columns.marker}, {self._columns.marker})"
                sql = self._lookup[(current, len(chunk))] = (
                    f"WITH wanted (org_id, identity) AS (VALUES {', '.join([pair] * len(chunk))}) "
                    f"SELECT record.identity, record.{'id' if current else 'record_id'} FROM wanted JOIN record "
                    "ON record.org_id = wanted.org_id AND record.identity = wanted.identity "
                    f"WHERE record.superseded_at IS {'' if current else 'NOT '}NULL")
            found.update(self.conn.exec_driver_sql(sql, tuple(v for key in chunk for v in key)).all())
        return found

    def findable(self, org_ids: set[int]) -> set[int]:
        """Return those of `org_ids` that may hold records `current` finds: they had some before the batch, or it wrote some."""
        unknown = [org_id for org_id in org_ids if org_id not in self._stored]
        for chunk in chunks(unknown):
            query = select(RECORD.c.org_id).where(RECORD.c.org_id.in_(chunk), RECORD.c.id <= self.before).distinct()
            stored = set(self.conn.execute(query).scalars())
            self._stored.update((org_id, org_id in stored) for org_id in chunk)
        return {org_id for org_id in org_ids if self._stored[org_id] or org_id in self.org_ids}

    def write(self, new: list[tuple[str, tuple[Any, ...]]], versions: list[tuple[dict[str, Any], tuple[Any, ...]]],
              keep_source: Collection[int] = ()) -> range:
        """Insert new records and new versions of current ones; return the ids given, in order.

        `new` holds (identity, values of `ROW`); `versions` (current version as `current` returned
        it, values of `ROW`), the current version's identity kept, and its first recording unless
        the values give one. A version of a record in `keep_source` (record ids) keeps its source too.
        """
        count = len(new) + len(versions)
        if not count:
            return range(0)
        ids = reserve_ids(self.conn, RECORD, count)
        stamp, source, plain = self.stamp, self.source, len(PLAIN)
        day, first, instant = self._day, self._first_instant, self._instant
        recorded = instant(stamp)
        rows = []
        for row_id, (identity, values) in zip(ids, new):
            rows.append((row_id, row_id, 1, identity, *values[:plain], source, day[values[plain]],
                         recorded if values[plain + 1] is None else first[values[plain + 1]], recorded))
        for row_id, (old, values) in zip(ids[len(new):], versions):
            # Under the write lock nobody else can have replaced the version we read;
            # the guard makes sure of it rather than forking the record.
            done = self.conn.execute(update(RECORD).where(RECORD.c.id == old["id"], RECORD.c.superseded_at.is_(None))
                                     .values(superseded_at=stamp)).rowcount
            if done != 1:
                raise DatabaseError(f"记录 {old['record_id']} 刚被其他操作改动，请重新导入")
            # The record's first recording, unless the row gives one (an earlier 录入日期 of a paper record).
            rows.append((row_id, old["record_id"], old["version"] + 1, old["identity"], *values[:plain],
                         old["source"] if old["record_id"] in keep_source else source, day[values[plain]],
                         instant(old["first_recorded_at"]) if values[plain + 1] is None else first[values[plain + 1]], recorded))
            self.new_versions.append(old["record_id"])
        self._columns.insert(rows)
        if new:
            self.created.append(ids[:len(new)])
        self.org_ids.update(values[0] for _, values in new)
        self.org_ids.update(values[0] for _, values in versions)
        last = (new or versions)[-1][1]
        self.single = dict(zip(ROW, (*last[:plain], self._held(last[plain]), self._first(last[plain + 1]))))
        if not new:
            del self.single["first_recorded_at"]       # a new version keeps the record's first recording
        return ids

    def first_of(self, org_id: int) -> int | None:
        """Return the id of the first version this batch wrote for organization `org_id`, if any."""
        return self.conn.execute(select(func.min(RECORD.c.id)).where(RECORD.c.org_id == org_id, RECORD.c.id > self.before)).scalar()

    def touched(self) -> "Ids":
        """Return the record ids this batch wrote: those with a new version, then the new ones."""
        return Ids([self.new_versions, *self.created])

    def audit(self, meta: dict[str, Any] | None) -> None:
        """Append the batch's one audit entry: the import (`meta`: file, sha256, rows), or the one record logged."""
        touched = self.touched()
        if not touched:
            return
        if meta is None and len(touched) == 1:
            content = {k: v for k, v in (self.single or {}).items() if k in CONTENT or k == "first_recorded_at"}
            self._audit(self.conn, "log", "record", touched[0], content["org_id"], {"record": content})
            return
        # New ids come in blocks of consecutive numbers: kept as [first, last] pairs, not one by one.
        created = [[block[0], block[-1]] for block in self.created if len(block)]
        self._audit(self.conn, "import", "record", None, None, {**(meta or {}), "created": created, "org_ids": sorted(self.org_ids),
                                                                "new_versions": self.new_versions})


def _no_record(conn: Any, record_id: int) -> str:
    """Say there is no record `record_id`; when the number is a later version's row (a correction takes one, and the
    next record logged the number after it), which record it belongs to: `record show 187` said only 没有 (try-out)."""
    owner = conn.execute(select(RECORD.c.record_id, RECORD.c.version).where(RECORD.c.id == record_id)).first()
    if owner is not None and owner.record_id != record_id:
        return (f"没有编号为 {record_id} 的记录：这个编号是记录 {owner.record_id} 第{owner.version}版（更正或作废时产生）的内部编号，"
                f"请用 compliance record show {owner.record_id} --history 查看")
    return f"没有编号为 {record_id} 的记录"
