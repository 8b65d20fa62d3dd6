"""The SQLAlchemy base every package's models share, and the async engine for SQLite or PostgreSQL."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Executable,
    MetaData,
    Row,
    String,
    any_,
    bindparam,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer: a single pooled connection serialises writes in-process instead of
        # failing with "database is locked"; WAL lets the CLI read while the server writes.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=30)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Another process (pnav purge, a migration) may hold the write lock briefly: wait up to 5 s.
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No pre-ping: it cost a round trip on every checkout (~10% of a saturated process). A connection that
        # PostgreSQL dropped (restart, failover) fails its first statement instead; SQLAlchemy then recycles every
        # older pooled connection, the message writer retries its batch on a fresh one, and a visitor whose read
        # failed gets ``storage_unavailable`` and retries by itself.
        pool_pre_ping=False,
    )


def create_cli_engine(url: str) -> AsyncEngine:
    """An engine for one-shot commands: no pool left behind."""
    if is_sqlite(url):
        return create_engine(url)
    return create_async_engine(url, poolclass=NullPool)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@functools.lru_cache(maxsize=16)
def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")  # same pool, connections in autocommit


def autocommit_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    return _autocommit(sessions.kw["bind"])


def single_read(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session for one SELECT on the hot paths, in autocommit: a statement is consistent on its own, and the
    BEGIN and ROLLBACK around it would be two more round trips (PostgreSQL), about as costly as the query."""
    return AsyncSession(autocommit_engine(sessions), expire_on_commit=False)


# A row of any width, as Core returns it.
AnyRow = Row[*tuple[Any, ...]]


def one_of_keys(column: ColumnElement[Any], dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the keys that ``ByKeys`` binds as ``keys``: the SQL text stays the same whatever the
    number of keys, so it is compiled once and prepared once per connection. An expanding ``IN (…)`` is another
    text for each count (a compile and, on PostgreSQL, a prepare each time: ~20% of a busy process, profiled)."""
    if dialect == "postgresql":
        return column == any_(bindparam("keys", type_=ARRAY(String())))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam("keys", type_=String()))))


class ByKeys:
    """One statement over a list of keys, run in autocommit on a plain connection (no ORM session, no BEGIN or
    ROLLBACK: a single statement is atomic on its own).

    ``build(dialect)`` returns the statement, with ``one_of_keys(column, dialect)`` in its WHERE clause; it is built
    once per dialect and reused."""

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self._build = build
        self._statements: dict[str, Executable] = {}

    async def rows(self, sessions: async_sessionmaker[AsyncSession], keys: Sequence[str],
                   **params: Any) -> Sequence[AnyRow]:
        return await fetch(sessions, *self._bound(sessions, keys, params))

    async def run(self, sessions: async_sessionmaker[AsyncSession], keys: Sequence[str], **params: Any) -> None:
        """For a statement that returns no rows (an UPDATE)."""
        async with autocommit_engine(sessions).connect() as connection:
            await connection.execute(*self._bound(sessions, keys, params))

    def _bound(self, sessions: async_sessionmaker[AsyncSession], keys: Sequence[str],
               params: dict[str, Any]) -> tuple[Executable, dict[str, Any]]:
        dialect = sessions.kw["bind"].dialect.name
        statement = self._statements.get(dialect)
        if statement is None:
            statement = self._statements[dialect] = self._build(dialect)
        return statement, {"keys": list(keys) if dialect == "postgresql" else json.dumps(list(keys)), **params}


async def fetch(sessions: async_sessionmaker[AsyncSession], statement: Executable,
                params: dict[str, Any] | None = None) -> Sequence[AnyRow]:
    """The rows of one Core statement, in autocommit on a plain connection: no ORM session around it."""
    async with autocommit_engine(sessions).connect() as connection:
        return (await connection.execute(statement, params or {})).all()
