"""What evaluation reads of a scope (an organization and everything below it), streamed in organization order.

Each query is one statement for the whole scope, whatever its size, and yields rows ordered by
organization id, so the caller can walk the organizations in the same order and hold only one
organization's rows at a time (`by_org`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Collection, Generic, Iterable, Iterator, NamedTuple, TypeVar

from sqlalchemy import Engine, and_, func, or_, select

from compliance import model
from compliance.evaluate import Record as EvalRecord
from compliance.orgs import MemberRow
from compliance.store.timezone import TZ

RECORD = model.Record.__table__
ORG = model.Org.__table__
MEMBER = model.Member.__table__
EXEMPTION = model.MemberExemption.__table__
DUES = model.DuesPayment.__table__
BATCH = 10000


class Payment(NamedTuple):
    org_id: int
    member_id: int
    month: str
    paid_on: date


def like_prefix(path: str) -> str:
    """Return the LIKE pattern of every path below `path`."""
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def in_scope(root_path: str, ids: tuple[int, int] | None = None) -> Any:
    """Return the condition on ORG that keeps `root_path` and everything below it (with `ids`, only ids in that range)."""
    found = or_(ORG.c.path == root_path, ORG.c.path.like(like_prefix(root_path), escape="\\"))
    return found if ids is None else and_(found, ORG.c.id.between(*ids))


T = TypeVar("T")


def _day_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class by_org(Generic[T]):
    """Walk rows ordered by `org_id` alongside organizations taken in increasing id order."""

    def __init__(self, rows: Iterable[T]):
        self._rows = iter(rows)
        self._head: Any = next(self._rows, None)

    def take(self, org_id: int) -> list[T]:
        """Return the rows of `org_id`, skipping those of organizations before it that were not asked for."""
        found = []
        rows, head = self._rows, self._head
        while head is not None and head.org_id < org_id:
            head = next(rows, None)
        while head is not None and head.org_id == org_id:
            found.append(head)
            head = next(rows, None)
        self._head = head
        return found


class ScopeQueries:
    """Scope reads for evaluation; expects `self.engine` (see `Store`)."""

    engine: Engine

    def _stream(self, query: Any, make: Callable[[Any], T]) -> Iterator[T]:
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=BATCH).execute(query):
                yield make(row)

    def _stream_sqlite(self, query: Any, make: Callable[[Any], T]) -> Iterator[T]:
        """Yield rows from SQLite's own cursor: a third of the time of SQLAlchemy's result rows at a province's size.

        The caller's query must select only values SQLite returns as they are needed (text
        dates are converted by `make`).
        """
        with self.engine.connect() as conn:
            # SQLAlchemy binds the parameters (times to UTC text, lists expanded); the rows are
            # then read from the DBAPI cursor as they are.
            cursor = conn.execute(query).cursor
            while rows := cursor.fetchmany(BATCH):
                for row in rows:
                    yield make(row)

    def scope_records(self, root_path: str, known_at: datetime | None = None, since: date | None = None,
                      always: Collection[str] = (), ids: tuple[int, int] | None = None) -> Iterator[EvalRecord]:
        """Yield the current records of every organization at or below `root_path`, in one query, by organization.

        With `known_at`, yield the versions that were current then, leaving out what was
        recorded later and keeping what was voided or corrected later. With `since`, leave out
        records held before it, except those of the kinds in `always` (elections, whose terms
        reach back years). With `ids`, only organizations with an id in that range are read.
        """
        r = RECORD.c
        sqlite = self.engine.dialect.name == "sqlite"
        # SQLite keeps times as UTC text: the day in Asia/Shanghai is worked out in SQL there.
        recorded = func.date(r.first_recorded_at, "+8 hours") if sqlite else r.first_recorded_at
        query = (
            select(r.record_id, r.org_id, r.kind, r.held_on, recorded, r.expected, r.present, r.topic,
                   r.recorder, r.lecturer, r.secretary_signed, r.recorder_signed, r.group_name, MEMBER.c.name,
                   r.attendees, r.counterpart, r.hours, r.photos, r.excused)
            .select_from(RECORD.join(ORG, ORG.c.id == r.org_id).outerjoin(MEMBER, MEMBER.c.id == r.member_id))
            .where(in_scope(root_path, ids))
            .order_by(r.org_id)
        )
        if since is not None:
            query = query.where(or_(r.held_on >= since, r.kind.in_(sorted(always))) if always else r.held_on >= since)
        if known_at is None:
            query = query.where(r.superseded_at.is_(None), r.voided_at.is_(None))
        else:
            query = query.where(
                r.recorded_at <= known_at,
                or_(r.superseded_at.is_(None), r.superseded_at > known_at),
                or_(r.voided_at.is_(None), r.voided_at > known_at),
            )
        if sqlite:
            day = date.fromisoformat
            return self._stream_sqlite(query, lambda row: EvalRecord(row[0], row[1], row[2], day(row[3]), day(row[4]), *row[5:]))
        return self._stream(query, lambda row: EvalRecord(row[0], row[1], row[2], row[3], row[4].astimezone(TZ).date(), *row[5:]))

    def scope_members(self, root_path: str, ids: tuple[int, int] | None = None) -> Iterator[MemberRow]:
        """Yield the members of every organization at or below `root_path` (with an id in `ids`), by organization."""
        cols = [MEMBER.c[name] for name in MemberRow._fields]
        query = (select(*cols).select_from(MEMBER.join(ORG, ORG.c.id == MEMBER.c.org_id)).where(in_scope(root_path, ids))
                 .order_by(MEMBER.c.org_id, MEMBER.c.name))
        if self.engine.dialect.name == "sqlite":
            day = _day_or_none
            return self._stream_sqlite(query, lambda row: MemberRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]),
                                                                     day(row[6]), row[7], day(row[8]), row[9]))
        return self._stream(query, lambda row: MemberRow(*row))

    def member_keys(self) -> Iterator[tuple[int, int, str, str | None, str]]:
        """Yield (id, organization id, name, party group, status) of every member, as plain values."""
        m = MEMBER.c
        return self._stream(select(m.id, m.org_id, m.name, m.group_name, m.status), tuple)

    def scope_dues(self, root_path: str, ids: tuple[int, int] | None = None) -> Iterator[Payment]:
        """Yield the dues payments of the members at or below `root_path` (in organizations with an id in `ids`), by organization."""
        query = (select(MEMBER.c.org_id, DUES.c.member_id, DUES.c.month, DUES.c.paid_on)
                 .select_from(DUES.join(MEMBER, MEMBER.c.id == DUES.c.member_id).join(ORG, ORG.c.id == MEMBER.c.org_id))
                 .where(in_scope(root_path, ids)).order_by(MEMBER.c.org_id))
        if self.engine.dialect.name == "sqlite":
            day = date.fromisoformat
            return self._stream_sqlite(query, lambda row: Payment(row[0], row[1], row[2], day(row[3])))
        return self._stream(query, lambda row: Payment(*row))

    def scope_exemptions(self, root_path: str, ids: tuple[int, int] | None = None) -> dict[int, list[tuple[date, date]]]:
        """Return the approved exemptions of the members at or below `root_path` (with `ids`, of those organizations), by member id."""
        query = (select(EXEMPTION.c.member_id, EXEMPTION.c.start, EXEMPTION.c.end)
                 .select_from(EXEMPTION.join(MEMBER, MEMBER.c.id == EXEMPTION.c.member_id).join(ORG, ORG.c.id == MEMBER.c.org_id))
                 .where(in_scope(root_path, ids)))
        found: dict[int, list[tuple[date, date]]] = {}
        with self.engine.connect() as conn:
            for member_id, start, end in conn.execute(query):
                found.setdefault(member_id, []).append((start, end))
        return found
