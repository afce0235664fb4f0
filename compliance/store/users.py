"""Users: who may act, with a role and the organization whose subtree they act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Engine, func, insert, select, update

from compliance.store import tables

USER = tables.USER


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    role: str
    org_id: int | None
    disabled_at: datetime | None = None      # 停用


class UserQueries:
    """Users; expects `self.engine`, `self.clock` and `self.audit` (see `Store`)."""

    engine: Engine
    clock: Callable[[], datetime]
    audit: Callable[..., None]
    writing: Callable[[], Any]

    def users(self) -> list[UserRow]:
        with self.engine.connect() as conn:
            return [UserRow(*row) for row in conn.execute(select(USER.c.id, USER.c.name, USER.c.role, USER.c.org_id, USER.c.disabled_at)
                                                          .order_by(USER.c.id))]

    def user_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(USER)).scalar() or 0

    def add_user(self, name: str, role: str, org_id: int | None) -> int:
        """Add a user and its audit entry; return the id."""
        with self.writing() as conn:
            user_id = conn.execute(insert(USER).values(name=name, role=role, org_id=org_id, created_at=self.clock())).inserted_primary_key[0]
            self.audit(conn, "user_add", "user", user_id, org_id, {"name": name, "role": role})
            return user_id

    def set_user_disabled(self, user: UserRow, disabled: bool, reason: str) -> None:
        """Disable (停用) a user, or enable one again, with its audit entry."""
        with self.writing() as conn:
            conn.execute(update(USER).where(USER.c.id == user.id).values(disabled_at=self.clock() if disabled else None))
            self.audit(conn, "user_disable" if disabled else "user_enable", "user", user.id, user.org_id,
                       {"name": user.name, "role": user.role}, reason)
