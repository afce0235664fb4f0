"""SQLModel tables: the only hand-written definition of them.

The store queries plain SQLAlchemy Core copies, generated from these (`compliance.store.tables`:
`python -m compliance.model` writes it after a model changes, beside the Alembic migration).
Instants are aware datetimes; their column type (`UTCDateTime`) stores them in UTC and returns
them in UTC, and the store converts them back to Asia/Shanghai.
Records are never deleted: a changed re-import or a correction adds a version row and marks
the previous one superseded; a withdrawal sets `voided_at` and keeps the row.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class Setting(SQLModel, table=True):
    """A database-wide setting, such as the default catalog."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=400)


class Org(SQLModel, table=True):
    """A Party organization in the tree: county committee down to branch."""

    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, max_length=64, unique=True)
    name: str = Field(max_length=200)
    parent_id: int | None = Field(default=None, foreign_key="org.id", index=True)
    path: str = Field(max_length=1000, unique=True)
    type: str = Field(max_length=16)
    sector: str | None = Field(default=None, max_length=16)
    catalog: str | None = Field(default=None, max_length=64)
    founded: date | None = None
    tracked_from: date | None = None
    dissolved: date | None = None
    secretary: str | None = Field(default=None, max_length=100)
    secretary_vacant: bool = False
    has_committee: bool | None = None
    created_at: datetime


class Member(SQLModel, table=True):
    """A Party member on a branch's roster."""

    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_member_org_name"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    name: str = Field(max_length=100)
    group_name: str | None = Field(default=None, max_length=100)
    status: str = Field(default="正式", max_length=8)
    mobile: bool = False
    liaison: str | None = Field(default=None, max_length=100)
    joined: date | None = None
    born: date | None = None
    gender: str | None = Field(default=None, max_length=4)
    created_at: datetime
    left_on: date | None = None         # left the roster (transferred out, died...) on this day
    left_reason: str | None = Field(default=None, max_length=16)
    arrived_on: date | None = None      # came onto this roster on this day (transferred in); None: on it from the start


class Record(SQLModel, table=True):
    """One version of a meeting or activity record.

    `record_id` is the stable id users see (the id of the first version). `identity` is the
    re-import key: organization, kind, date, group, member and topic.
    """

    __table_args__ = (
        Index("ix_record_org_held", "org_id", "held_on"),
        Index("ix_record_org_identity", "org_id", "identity"),
        UniqueConstraint("record_id", "version", name="uq_record_version"),     # also finds a record's versions
    )

    id: int | None = Field(default=None, primary_key=True)
    record_id: int | None = None
    version: int = 1
    identity: str = Field(max_length=64)
    org_id: int = Field(foreign_key="org.id")
    kind: str = Field(max_length=64)
    held_on: date
    member_id: int | None = Field(default=None, foreign_key="member.id")
    group_name: str | None = Field(default=None, max_length=100)
    expected: int | None = None
    present: int | None = None
    topic: str | None = Field(default=None, max_length=500)
    recorder: str | None = Field(default=None, max_length=100)
    lecturer: str | None = Field(default=None, max_length=100)
    secretary_signed: bool | None = None
    recorder_signed: bool | None = None
    attendees: str | None = None
    excused: str | None = None
    counterpart: str | None = Field(default=None, max_length=100)
    hours: float | None = None
    photos: str | None = None
    first_recorded_at: datetime
    recorded_at: datetime
    superseded_at: datetime | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None
    source: str | None = Field(default=None, max_length=400)


class Deduction(SQLModel, table=True):
    """A manual deduction (or a veto, item `veto:KEY`) an inspector entered on a sheet item."""

    __table_args__ = (Index("ix_deduction_org_period", "org_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    sheet: str = Field(max_length=64)
    item: str = Field(max_length=64)
    period: str = Field(max_length=32)
    points: float = 0.0
    reason: str = Field(max_length=1000)
    self_assessed: bool = False     # the branch's own score (自评分) rather than the assessors' (考核分)
    created_at: datetime
    voided_at: datetime | None = None
    void_reason: str | None = None


class SupervisionRun(SQLModel, table=True):
    """One monthly supervision run of a scope; a published run is frozen, a re-run is a new revision."""

    __table_args__ = (UniqueConstraint("scope_org_id", "month", "revision", name="uq_run_scope_month_revision"),)

    id: int | None = Field(default=None, primary_key=True)
    scope_org_id: int = Field(foreign_key="org.id")
    month: str = Field(max_length=7)
    revision: int = 1
    as_of: date
    fingerprint: str = Field(max_length=64)
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None


class RunFinding(SQLModel, table=True):
    """A finding as a supervision run saw it (the snapshot a bulletin is made from)."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="supervisionrun.id", index=True)
    org_id: int = Field(foreign_key="org.id")
    org: str = Field(max_length=1000)
    obligation: str = Field(max_length=64)
    name: str = Field(max_length=100)
    period: str = Field(max_length=32)
    member: str | None = Field(default=None, max_length=100)
    group_name: str | None = Field(default=None, max_length=100)
    status: str = Field(max_length=16)
    due: date
    days_left: int | None = None
    records: str = Field(default="", max_length=2000)
    flags: str = Field(default="", max_length=400)


class Rectification(SQLModel, table=True):
    """An item of the rectification ledger (整改台账): opened for a gap, closed (销号) when made good."""

    __table_args__ = (Index("ix_rectification_gap", "gap_key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    gap_key: str = Field(max_length=64)
    org_id: int = Field(foreign_key="org.id", index=True)
    obligation: str = Field(max_length=64)
    period: str = Field(max_length=32)
    member: str | None = Field(default=None, max_length=100)
    group_name: str | None = Field(default=None, max_length=100)
    matter: str = Field(max_length=500)
    measure: str = Field(max_length=500)
    deadline: date
    responsible: str = Field(max_length=100)
    opened_run_id: int | None = Field(default=None, foreign_key="supervisionrun.id")    # None: entered by hand
    opened_on: date
    closed_on: date | None = None
    close_note: str | None = None
    closed_run_id: int | None = Field(default=None, foreign_key="supervisionrun.id")
    created_at: datetime


class RectificationPast(SQLModel, table=True):
    """A ledger item as it stood before it was opened again (by hand, or by a run finding its gap again).

    Reopening rewrites the item (its closing cleared; a run's reopening gives it a new day opened,
    matter, measure, deadline and responsible). A bulletin of a day before the reopening, or
    published before it, shows the ledger as it stood then (`Store.rectifications` with a run):
    from the first of these rows replaced after its day, and from the item itself when none was.
    """

    __table_args__ = (Index("ix_rectificationpast_item", "item_id", "replaced_on"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="rectification.id")
    replaced_on: date                 # the first day the item stood otherwise (Asia/Shanghai)
    replaced_at: datetime             # when it was reopened
    replaced_run_id: int | None = Field(default=None, foreign_key="supervisionrun.id")    # the run that reopened it; None: by hand
    matter: str = Field(max_length=500)
    measure: str = Field(max_length=500)
    deadline: date
    responsible: str = Field(max_length=100)
    opened_run_id: int | None = Field(default=None, foreign_key="supervisionrun.id")
    opened_on: date
    closed_on: date | None = None
    close_note: str | None = None
    closed_run_id: int | None = Field(default=None, foreign_key="supervisionrun.id")


class AuditEntry(SQLModel, table=True):
    """One entry of the append-only audit log; each holds the hash of the one before (a chain)."""

    # The entries about one thing (a record's corrections, a member's transfer) are read by it (0014).
    __table_args__ = (Index("ix_auditentry_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime
    actor: str = Field(max_length=100)
    action: str = Field(max_length=32)
    entity: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    org_id: int | None = Field(default=None, index=True)
    detail: str                       # canonical JSON: before, after, file, ids, …
    reason: str | None = None
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's head, a single row: appends lock it, so entries are chained one at a time."""

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = Field(default="0" * 64, max_length=64)


class User(SQLModel, table=True):
    """Someone who may act: a role and the organization whose subtree they act on."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: str = Field(max_length=16)          # branch, township, county
    org_id: int | None = Field(default=None, foreign_key="org.id")
    created_at: datetime
    disabled_at: datetime | None = None     # 停用: refused as acting, kept for the audit log


class SchedulerLease(SQLModel, table=True):
    """Which scheduler may run jobs on this database: one row, renewed by heartbeats."""

    id: int = Field(default=1, primary_key=True)
    holder: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = None


class OutboxMessage(SQLModel, table=True):
    """A reminder to send: one per organization, day, channel and recipient; kept when sending fails."""

    __table_args__ = (UniqueConstraint("org_id", "day", "channel", "recipient", name="uq_outbox_daily"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    day: date
    channel: str = Field(max_length=16)          # console, email, webhook
    recipient: str = Field(max_length=400)
    subject: str = Field(max_length=400)
    body: str
    reason: str = Field(max_length=400)
    created_at: datetime
    status: str = Field(default="pending", max_length=16)   # pending, sent, failed
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime
    sent_at: datetime | None = None


class MemberExemption(SQLModel, table=True):
    """An approved exemption of a member (illness, abroad with approval): those days do not count against them."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    start: date
    end: date
    reason: str = Field(max_length=400)
    created_at: datetime
    voided_at: datetime | None = None        # withdrawn (`member unexempt`): kept, and no longer counts
    void_reason: str | None = None


class MemberGrade(SQLModel, table=True):
    """A member's grade (评议等次) in a year's 民主评议党员: 优秀, 合格, 基本合格 or 不合格 (武组发〔2016〕113号 §二(二)4).

    A grade given again is a new row, the one it replaces marked superseded: nothing is deleted.
    """

    __table_args__ = (Index("ix_membergrade_org_year", "org_id", "year"),
                      Index("ix_membergrade_member_year", "member_id", "year"))

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    org_id: int = Field(foreign_key="org.id")
    year: int
    grade: str = Field(max_length=8)
    note: str | None = Field(default=None, max_length=400)
    created_at: datetime
    superseded_at: datetime | None = None


class DuesPayment(SQLModel, table=True):
    """A member's dues for one month (党费), paid on a date; advance payments are months ahead."""

    # A scope's payments are read member by member (`ScopeQueries.scope_dues`): the index holds every
    # column read, so the rows themselves are not looked up.
    __table_args__ = (UniqueConstraint("member_id", "month", name="uq_dues_member_month"),
                      Index("ix_duespayment_member_month_paid", "member_id", "month", "paid_on"))

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    month: str = Field(max_length=7)
    amount: float
    paid_on: date
    created_at: datetime
    corrected_at: datetime | None = None     # when `dues correct` last changed it (its earlier values: DuesVersion)


class DuesVersion(SQLModel, table=True):
    """A dues payment's earlier values, corrected or withdrawn (`dues correct`, `dues void`), and from when to when they stood."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    month: str = Field(max_length=7)
    amount: float
    paid_on: date
    valid_from: datetime            # when the database was told these values
    superseded_at: datetime         # when they were corrected or withdrawn
    change: str = Field(max_length=16)      # correct, void
    reason: str = Field(max_length=400)


# The store queries plain SQLAlchemy Core copies of these tables (`compliance.store.tables`),
# generated from them here, so that a command starts without importing SQLModel and building the models.
TABLES_HEADER = '''"""The tables of `compliance.model` as plain SQLAlchemy Core, which the store queries. Generated: do not edit.

Regenerate after changing a model: python -m compliance.model (tests/test_tables.py checks that
this file is what that writes, and that its tables are the models' on SQLite and PostgreSQL:
the same DDL, defaults and conversions). The commands query these rather than the models' own
tables so that they start without importing SQLModel and building the models with it: 0.2 s of
every command's start. Alembic's env.py loads the models (to compare a migration with them); the
migrations carry their own DDL.
"""

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint

from compliance.store.coltypes import UTCDateTime

METADATA = MetaData(naming_convention={naming})
'''


def _q(value: Any) -> str:
    """Return `value` as Python source, text in double quotes as the project writes it."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _core_name(cls_name: str) -> str:
    """Return the Core table's name in `compliance.store.tables` for a model class: Org -> ORG, AuditEntry -> AUDIT_ENTRY."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(cls_name)).upper()


# The column types `TABLES_HEADER` imports, written as their repr gives them.
_CORE_TYPES = {"Boolean", "Date", "Float", "Integer", "UTCDateTime"}


def _core_type(column: Any) -> str:
    """Return the source of a column's type in the Core copy; TypeError for one the copy's header does not import."""
    kind = column.type
    if type(kind).__name__ == "AutoString":
        return f"String({kind.impl.length})" if kind.impl.length is not None else "String()"
    if type(kind).__name__ in _CORE_TYPES and repr(kind) == f"{type(kind).__name__}()":
        return repr(kind)
    raise TypeError(f"{column.table.name}.{column.name}: {kind!r} is not among the types compliance.store.tables imports")


def _unwritten(column: Any) -> str | None:
    """Return what of a column's settings the Core copy would leave out, if anything."""
    if column.key != column.name:
        return f"key {column.key!r}"
    for setting in ("onupdate", "server_default", "server_onupdate", "comment"):
        if getattr(column, setting) is not None:
            return setting
    if column.default is not None and not column.default.is_scalar:
        return f"default {column.default!r}"
    if column.autoincrement != "auto":
        return "autoincrement"
    return None


def core_tables_source() -> str:
    """Return the source of `compliance.store.tables`: every model's table as SQLAlchemy Core, in the models' order."""
    out = [TABLES_HEADER.replace("{naming}", "{" + ", ".join(f"{_q(k)}: {_q(v)}" for k, v in SQLModel.metadata.naming_convention.items()) + "}")]
    for mapper in sorted(SQLModel._sa_registry.mappers, key=lambda m: list(globals()).index(m.class_.__name__)):
        cls, table = mapper.class_, mapper.class_.__table__
        lines = []
        for column in table.columns:
            if (left_out := _unwritten(column)) is not None:
                raise TypeError(f"{table.name}.{column.name}: the Core copy does not write its {left_out}")
            args = [_q(column.name), _core_type(column)]
            args += [f"ForeignKey({_q(fk.target_fullname)})" for fk in column.foreign_keys]
            if column.primary_key:
                args.append("primary_key=True")
            else:
                args.append(f"nullable={column.nullable}")
            if column.unique:
                args.append("unique=True")
            if column.index:
                args.append("index=True")
            if column.default is not None:
                args.append(f"default={_q(column.default.arg)}")
            lines.append(f"Column({', '.join(args)})")
        for constraint in sorted(table.constraints, key=lambda c: c.name or ""):
            if type(constraint).__name__ == "UniqueConstraint" and not constraint._column_flag:
                lines.append(f"UniqueConstraint({', '.join(_q(c.name) for c in constraint.columns)}, name={_q(constraint.name)})")
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            if not index._column_flag:
                unique = ", unique=True" if index.unique else ""
                lines.append(f"Index({_q(index.name)}, {', '.join(_q(c.name) for c in index.columns)}{unique})")
        body = "".join(f"    {line},\n" for line in lines)
        out.append(f"\n{_core_name(cls.__name__)} = Table(\n    {_q(table.name)},\n    METADATA,\n{body})\n")
    return "".join(out)


TABLES_FILE = Path(__file__).parent / "store" / "tables.py"

if __name__ == "__main__":
    TABLES_FILE.write_text(core_tables_source(), encoding="utf-8")
    print(f"wrote {TABLES_FILE}")
