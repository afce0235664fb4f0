"""SQL building blocks shared by the store's query modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, insert, select


def insert_new(dialect: str, table: Any, key: str | list[str]) -> Any:
    """Return an INSERT that skips rows whose unique `key` is already there (SQLite and PostgreSQL)."""
    keys = [key] if isinstance(key, str) else key
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
    return insert(table)


def insert_counting_new(conn: Connection, table: Table, key: list[str], rows: list[dict[str, Any]]) -> int:
    """Insert `rows`, skipping those whose unique `key` exists; return how many were new."""
    count = select(func.count()).select_from(table)
    before = conn.execute(count).scalar() or 0
    conn.execute(insert_new(conn.dialect.name, table, key), rows)
    return (conn.execute(count).scalar() or 0) - before
