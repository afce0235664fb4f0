"""Column types of the store's Core tables (`compliance.store.tables`) that SQLAlchemy itself lacks.

`UTCDateTime` behaves as SQLModel's own (`sqlmodel.sql.sqltypes.UTCDateTime`, which the models in
`compliance.model` use for every `datetime` field): that class cannot be imported without
importing SQLModel, which the commands no longer load (see `compliance.store.tables`).
tests/test_tables.py checks that the two bind and return the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import types


class UTCDateTime(types.TypeDecorator[datetime]):
    """Store aware datetimes and return them in UTC; a naive one is refused."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        if isinstance(value, timedelta):
            return types.Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("Datetime values must have timezone information.")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            # Databases without time zones (SQLite) keep UTC without an offset.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
