"""Corrections and withdrawals of records, and reading a record's versions. Nothing is deleted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import Engine, insert, select, update

from compliance import model
from compliance.errors import InputError, NotFound
from compliance.store.timezone import TZ

RECORD = model.Record.__table__
MEMBER = model.Member.__table__
CONTENT = (
    "org_id", "kind", "held_on", "member_id", "group_name", "expected", "present", "topic", "recorder", "lecturer",
    "secretary_signed", "recorder_signed", "attendees", "excused", "counterpart", "hours", "photos",
)


def _replace(conn: Any, old: dict[str, Any], **values: Any) -> None:
    """Mark the current version `old` superseded or void; refuse if it is no longer current."""
    done = conn.execute(update(RECORD).where(RECORD.c.id == old["id"], RECORD.c.superseded_at.is_(None),
                                             RECORD.c.voided_at.is_(None)).values(**values)).rowcount
    if done != 1:
        raise InputError(f"记录 {old['record_id']} 刚被其他操作改动，请重新查看后再试")


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
            raise NotFound(f"没有编号为 {record_id} 的记录")
        return rows

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

    def _current(self, conn: Any, record_id: int) -> dict[str, Any]:
        row = conn.execute(select(RECORD).where(RECORD.c.record_id == record_id, RECORD.c.superseded_at.is_(None))).mappings().first()
        if row is None:
            raise NotFound(f"没有编号为 {record_id} 的记录")
        if row["voided_at"] is not None:
            raise InputError(f"记录 {record_id} 已于 {row['voided_at'].astimezone(TZ):%Y-%m-%d} 作废（{row['void_reason']}），不能再更正或作废")
        return dict(row)

    def correct_record(self, record_id: int, content: dict[str, Any], identity: str, reason: str) -> int:
        """Make a corrected version of a record (the old one stays readable); return the new version number."""
        stamp = self.clock()
        with self.writing() as conn:
            old = self._current(conn, record_id)
            after = {k: content.get(k) for k in CONTENT}
            before = {k: old[k] for k in CONTENT}
            if after == before:
                raise InputError(f"记录 {record_id} 没有改动：请给出要更正的字段")
            clash = conn.execute(select(RECORD.c.record_id).where(
                RECORD.c.identity == identity, RECORD.c.superseded_at.is_(None), RECORD.c.record_id != record_id)).scalar()
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
        stamp = self.clock()
        with self.writing() as conn:
            old = self._current(conn, record_id)
            _replace(conn, old, voided_at=stamp, void_reason=reason)
            self.audit(conn, "void", "record", record_id, old["org_id"], {"version": old["version"]}, reason)
