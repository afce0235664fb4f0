"""The scheduler's lease and the reminder outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Engine, and_, or_, select, update

from compliance.store import tables
from compliance.store.sql import insert_counting_new

LEASE = tables.SCHEDULER_LEASE
OUTBOX = tables.OUTBOX_MESSAGE


@dataclass(frozen=True)
class OutboxRow:
    id: int
    org_id: int
    day: date
    channel: str
    recipient: str
    subject: str
    body: str
    reason: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None


OUTBOX_COLUMNS = [OUTBOX.c[name] for name in OutboxRow.__dataclass_fields__]


class SchedulingQueries:
    """Lease and outbox; expects `self.engine` and `self.clock` (see `Store`)."""

    engine: Engine
    clock: Callable[[], datetime]

    def take_lease(self, holder: str, now: datetime, ttl: timedelta) -> str | None:
        """Hold or renew the lease; return None when `holder` has it, else who does.

        The lease passes to another holder only when its heartbeat is older than `ttl`.
        """
        with self.engine.begin() as conn:
            conn.execute(update(LEASE).where(LEASE.c.id == 1).values(id=1))     # lock the row
            current, beat = conn.execute(select(LEASE.c.holder, LEASE.c.heartbeat_at).where(LEASE.c.id == 1)).one()
            # A heartbeat further in the future than the lease time comes from a wrong clock: stale too.
            if current not in (None, holder) and beat is not None and -ttl < now - beat < ttl:
                return current
            conn.execute(update(LEASE).where(LEASE.c.id == 1).values(holder=holder, heartbeat_at=now))
            return None

    def release_lease(self, holder: str) -> None:
        """Give the lease up at a clean stop, so a standby takes over at once."""
        with self.engine.begin() as conn:
            conn.execute(update(LEASE).where(LEASE.c.id == 1, LEASE.c.holder == holder).values(holder=None, heartbeat_at=None))

    def lease_holder(self) -> tuple[str | None, datetime | None]:
        with self.engine.connect() as conn:
            return tuple(conn.execute(select(LEASE.c.holder, LEASE.c.heartbeat_at).where(LEASE.c.id == 1)).one())  # type: ignore[return-value]

    def queue_messages(self, rows: list[dict[str, Any]], now: datetime) -> int:
        """Queue messages; one per organization, day, channel and recipient (a second is skipped). Return how many were new."""
        if not rows:
            return 0
        with self.engine.begin() as conn:
            values = [{**r, "created_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now} for r in rows]
            return insert_counting_new(conn, OUTBOX, ["org_id", "day", "channel", "recipient"], [values])

    def due_messages(self, now: datetime) -> list[OutboxRow]:
        query = select(*OUTBOX_COLUMNS).where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now).order_by(OUTBOX.c.id)
        with self.engine.connect() as conn:
            return [OutboxRow(*row) for row in conn.execute(query)]

    def messages(self, failed_only: bool = False, since: date | None = None, under: str | None = None) -> list[OutboxRow]:
        """Return the outbox's messages; with `failed_only`, those failed for good and those failed and waiting to be retried;
        with `since`, those of that day or later; with `under`, those of that organization (a path) and below."""
        from compliance.store.scope import in_scope

        query = select(*OUTBOX_COLUMNS).order_by(OUTBOX.c.id)
        if failed_only:
            query = query.where(or_(OUTBOX.c.status == "failed", and_(OUTBOX.c.status == "pending", OUTBOX.c.last_error.is_not(None))))
        if since is not None:
            query = query.where(OUTBOX.c.day >= since)
        if under is not None:
            query = query.where(OUTBOX.c.org_id.in_(select(tables.ORG.c.id).where(in_scope(under)).scalar_subquery()))
        with self.engine.connect() as conn:
            return [OutboxRow(*row) for row in conn.execute(query)]

    def claim_message(self, message_id: int) -> bool:
        """Take a pending message for sending; False when another sender already has it."""
        with self.engine.begin() as conn:
            return conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id, OUTBOX.c.status == "pending")
                                .values(status="sending")).rowcount == 1

    def release_stuck(self, before: datetime) -> int:
        """Put back messages left 'sending' by a sender that died (they may go out twice: at least once beats never)."""
        with self.engine.begin() as conn:
            return conn.execute(update(OUTBOX).where(OUTBOX.c.status == "sending", OUTBOX.c.next_attempt_at < before)
                                .values(status="pending")).rowcount

    def mark_sent(self, message_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(
                status="sent", sent_at=now, attempts=OUTBOX.c.attempts + 1, last_error=None))

    def mark_failed(self, message_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retried at `retry_at`, or failed for good when None (kept for `outbox retry`)."""
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(
                attempts=OUTBOX.c.attempts + 1, last_error=error[:1000],
                status="pending" if retry_at else "failed", next_attempt_at=retry_at or OUTBOX.c.next_attempt_at))

    def retry_failed(self, now: datetime) -> int:
        """Put failed messages back in the queue, but those a later day's message to the same recipient has replaced; return how many.

        A reminder lists what is due as of its day: sent after a later one, the day counts it gave
        were stale (the 2nd's arrived just before the 5th's).
        """
        newer = OUTBOX.alias("newer")
        replaced = (select(newer.c.id).where(newer.c.org_id == OUTBOX.c.org_id, newer.c.channel == OUTBOX.c.channel,
                                             newer.c.recipient == OUTBOX.c.recipient, newer.c.day > OUTBOX.c.day).exists())
        with self.engine.begin() as conn:
            return conn.execute(update(OUTBOX).where(OUTBOX.c.status == "failed", ~replaced).values(
                status="pending", attempts=0, next_attempt_at=now, last_error=None)).rowcount
