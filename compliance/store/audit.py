"""The append-only audit log: who changed what, when and why, each entry chained to the one before.

An entry's hash covers its own fields and the previous entry's hash, so editing or deleting an
entry breaks the chain from there on; `verify_audit` names the first broken link. Appends lock
the single `audithead` row first, so concurrent writers chain their entries one after another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, insert, select, update

from compliance.store import tables
from compliance.store.sql import chunks

AUDIT = tables.AUDIT_ENTRY
HEAD = tables.AUDIT_HEAD
GENESIS = "0" * 64
LOCAL_ADMIN = "本地管理员"


@dataclass(frozen=True)
class AuditRow:
    id: int
    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    org_id: int | None
    detail: str
    reason: str | None
    prev_hash: str
    hash: str


AUDIT_COLUMNS = [AUDIT.c[name] for name in AuditRow.__dataclass_fields__]


def canonical(value: Any) -> str:
    """Return `value` as JSON with sorted keys and no spaces: the form that is hashed."""
    def default(v: Any) -> str:
        if isinstance(v, datetime):
            return v.astimezone(UTC).isoformat()
        if isinstance(v, date):
            return v.isoformat()
        return str(v)

    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=default)


def entry_hash(seq: int, at: datetime, actor: str, action: str, entity: str, entity_id: str | None,
               org_id: int | None, detail: str, reason: str | None, prev_hash: str) -> str:
    """Return the hash of one entry's fields and the hash before it."""
    body = canonical([seq, at.astimezone(UTC).isoformat(), actor, action, entity, entity_id,
                      org_id, detail, reason, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AuditQueries:
    """Audit log queries; expects `self.engine`, `self.clock` and `self.actor` (see `Store`)."""

    engine: Engine
    clock: Callable[[], datetime]
    actor: str

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """Open a write transaction that holds the audit head first.

        Every change appends an audit entry, so every write transaction takes the same lock, and
        takes it first: writers are serialized in one order (no deadlock), and a read made
        inside the transaction (the current version of a record, the latest run) is not
        overtaken by another writer before this one commits. A writer takes its time (`clock`) inside
        too: times then follow the order of commits, and a time before a publication's is of a change
        committed before it.
        """
        with self.engine.begin() as conn:
            conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=HEAD.c.seq))
            yield conn

    def audit(self, conn: Connection, action: str, entity: str, entity_id: Any = None, org_id: int | None = None,
              detail: dict[str, Any] | None = None, reason: str | None = None) -> None:
        """Append an entry inside the caller's transaction, so it commits (or not) with the change."""
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=HEAD.c.seq + 1))
        seq, prev = conn.execute(select(HEAD.c.seq, HEAD.c.last_hash).where(HEAD.c.id == 1)).one()
        at = self.clock().replace(microsecond=0)
        text = canonical(detail or {})
        key = None if entity_id is None else str(entity_id)
        digest = entry_hash(seq, at, self.actor, action, entity, key, org_id, text, reason, prev)
        conn.execute(insert(AUDIT).values(seq=seq, at=at, actor=self.actor, action=action, entity=entity, entity_id=key,
                                          org_id=org_id, detail=text, reason=reason, prev_hash=prev, hash=digest))
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(last_hash=digest))

    def done_by(self, action: str, entity: str, entity_id: Any) -> str | None:
        """Return who did `action` to the entity (the first entry's actor), None when the log has no such entry."""
        query = (select(AUDIT.c.actor).where(AUDIT.c.action == action, AUDIT.c.entity == entity, AUDIT.c.entity_id == str(entity_id))
                 .order_by(AUDIT.c.seq).limit(1))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def done_by_each(self, action: str, entity: str, entity_ids: Iterable[Any]) -> dict[str, str]:
        """Return, by entity id (as text), who did `action` to each of the entities (their first entries' actors); ids the log
        has no such entry for are left out."""
        found: dict[str, str] = {}
        for some in chunks(sorted({str(i) for i in entity_ids})):
            query = (select(AUDIT.c.entity_id, AUDIT.c.actor).where(AUDIT.c.action == action, AUDIT.c.entity == entity,
                                                                     AUDIT.c.entity_id.in_(some)).order_by(AUDIT.c.seq))
            with self.engine.connect() as conn:
                for entity_id, actor in conn.execute(query):
                    found.setdefault(entity_id, actor)
        return found

    def audit_seq(self) -> int:
        """Return the number of the latest audit entry (0 for none)."""
        with self.engine.connect() as conn:
            return conn.execute(select(HEAD.c.seq).where(HEAD.c.id == 1)).scalar() or 0

    def audit_hash(self, seq: int) -> str | None:
        """Return the hash of audit entry `seq`, None when there is none."""
        with self.engine.connect() as conn:
            return conn.execute(select(AUDIT.c.hash).where(AUDIT.c.seq == seq)).scalar()

    def audit_now(self, action: str, entity: str, entity_id: Any = None, org_id: int | None = None,
                  detail: dict[str, Any] | None = None, reason: str | None = None) -> None:
        """Append an entry in a transaction of its own (a refused action is logged although nothing else is written)."""
        with self.writing() as conn:
            self.audit(conn, action, entity, entity_id, org_id, detail, reason)

    def audit_log(self, org_ids: list[int] | None = None, since: datetime | None = None) -> list[AuditRow]:
        """Return entries (of the given organizations, from `since`), oldest first."""
        query = select(*AUDIT_COLUMNS).order_by(AUDIT.c.seq)
        if org_ids is not None:
            query = query.where(AUDIT.c.org_id.in_(org_ids))
        if since is not None:
            query = query.where(AUDIT.c.at >= since)
        with self.engine.connect() as conn:
            return [AuditRow(*row) for row in conn.execute(query)]

    def audit_of(self, entity: str, entity_id: int) -> list[AuditRow]:
        """Return the entries about one thing (a record, a ledger item), oldest first."""
        query = select(*AUDIT_COLUMNS).where(AUDIT.c.entity == entity, AUDIT.c.entity_id == str(entity_id)).order_by(AUDIT.c.seq)
        with self.engine.connect() as conn:
            return [AuditRow(*row) for row in conn.execute(query)]

    def verify_audit(self) -> tuple[int, str | None]:
        """Return how many entries were checked and, when the chain is broken, where and how."""
        expected_prev, expected_seq, count = GENESIS, 1, 0
        with self.engine.connect() as conn:
            for row in conn.execute(select(*AUDIT_COLUMNS).order_by(AUDIT.c.seq)):
                entry = AuditRow(*row)
                if entry.seq != expected_seq:
                    return count, f"第 {expected_seq} 条缺失（下一条是第 {entry.seq} 条）：日志有条目被删除"
                if entry.prev_hash != expected_prev:
                    return count, f"第 {entry.seq} 条（编号 {entry.id}）记录的上一条哈希与第 {entry.seq - 1} 条不符：前一条被改动或删除"
                digest = entry_hash(entry.seq, entry.at, entry.actor, entry.action, entry.entity, entry.entity_id,
                                    entry.org_id, entry.detail, entry.reason, entry.prev_hash)
                if digest != entry.hash:
                    return count, f"第 {entry.seq} 条（编号 {entry.id}）的内容与其哈希不符：该条被改动"
                expected_prev, expected_seq, count = entry.hash, entry.seq + 1, count + 1
            head_seq, head_hash = conn.execute(select(HEAD.c.seq, HEAD.c.last_hash).where(HEAD.c.id == 1)).one()
        if head_seq != count or head_hash != expected_prev:
            return count, f"日志末尾缺少条目：应有 {head_seq} 条，实有 {count} 条"
        return count, None
