"""The SQLAlchemy base every package's models share, and the async engine for SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine, make_url
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


# Deadlines of every database call. pnav's statements take milliseconds (one round trip for a batch of messages,
# one for a coalesced read); a statement still running after seconds means a server that is frozen (a stalled disk,
# a paused VM), partitioned away or stuck on a lock, and the person waiting must get an answer within 5 s
# (SECURITY.md: frozen PostgreSQL). Each value is below the next layer's, so the cleanest failure fires first.
#
# Connecting (TCP, TLS, authentication, for every host of a multi-host URL together: asyncpg's timeout is one for
# the whole list) takes tens of milliseconds on a LAN; 2 s is a dead or frozen server.
CONNECT_TIMEOUT = 2.0
# A lock held for 2 s by another transaction means that transaction is stuck: give up rather than queue behind it.
LOCK_TIMEOUT_MS = 2_000
# Server side: PostgreSQL cancels a statement that runs longer, with a clean error and a rollback, before the
# client's own deadline below has to fire (which needs a second connection to send the cancel).
STATEMENT_TIMEOUT_MS = 2_500
# Client side (asyncpg ``command_timeout``): a server that does not answer at all (frozen, partitioned) cannot
# cancel anything itself. 3 s: the same as a sender's answer deadline (``chat.writer.SEND_DEADLINE``).
COMMAND_TIMEOUT = 3.0
# A transaction left open by a client that froze or died releases its row locks after 10 s, so that the other
# processes' writers (which lock the same conversation rows) are not held behind it; pnav's own last milliseconds.
IDLE_IN_TRANSACTION_MS = 10_000
# Waiting for a pooled connection: under a burst the 20 connections turn over every few milliseconds; waiting 3 s
# means they are all stuck on a frozen server, and the caller should fail now rather than queue for 30 s.
POOL_TIMEOUT = 3.0
# Reports, exports and the daily purge read or delete months of rows: they get minutes, on their own connections
# (``long_running``), so the tight deadlines above stay on every request path.
LONG_STATEMENT_TIMEOUT_MS = 300_000
LONG_COMMAND_TIMEOUT = 310.0


def _postgres_args(statement_ms: int, command_timeout: float) -> dict[str, Any]:
    return {
        "timeout": CONNECT_TIMEOUT,
        "command_timeout": command_timeout,
        "server_settings": {
            "statement_timeout": str(statement_ms),
            "lock_timeout": str(LOCK_TIMEOUT_MS),
            "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS),
        },
    }


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, long_running: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer: a single pooled connection serialises writes in-process instead of
        # failing with "database is locked"; WAL lets the CLI read while the server writes. Waiting for that one
        # connection is the queue of this process's own statements (milliseconds each): 10 s means a stalled disk.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=10)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Another process (pnav purge, a migration) may hold the write lock briefly: wait up to 3 s for it, so
            # that a sender can still be acked within its 3 s answer deadline.
            cursor.execute("PRAGMA busy_timeout=3000")
            cursor.close()

        return engine
    statement_ms, command = (LONG_STATEMENT_TIMEOUT_MS, LONG_COMMAND_TIMEOUT) if long_running else (
        STATEMENT_TIMEOUT_MS, COMMAND_TIMEOUT)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT,
        connect_args=_postgres_args(statement_ms, command),
        # No pre-ping: it cost a round trip on every checkout (~10% of a saturated process). A connection that
        # PostgreSQL dropped (restart, failover) fails its first statement instead; SQLAlchemy then recycles every
        # older pooled connection, the message writer retries its batch on a fresh one, and a visitor whose read
        # failed gets ``storage_unavailable`` and retries by itself.
        pool_pre_ping=False,
    )


def create_cli_engine(url: str) -> AsyncEngine:
    """An engine for one-shot commands: no pool left behind, and the long deadlines of reports and purges."""
    if is_sqlite(url):
        return create_engine(url)
    return create_async_engine(url, poolclass=NullPool,
                               connect_args=_postgres_args(LONG_STATEMENT_TIMEOUT_MS, LONG_COMMAND_TIMEOUT))


@functools.lru_cache(maxsize=16)
def _long_running(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    if engine.dialect.name == "sqlite":
        return session_factory(engine)  # one connection per process anyway
    # Two connections: reports and the purge are rare and run one or two at a time.
    return session_factory(create_engine(engine.url.render_as_string(hide_password=False), pool_size=2,
                                         max_overflow=0, long_running=True))


def long_running(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions with minutes of deadline for reports, exports and the purge (months of rows), on two connections
    of their own: the request paths keep their seconds."""
    factory = _long_running(sessions.kw["bind"])
    info = sessions.kw.get("info")
    # What the caller's factory carries (the audit key) goes with its sessions on the long-running connections too.
    return factory if not info else async_sessionmaker(factory.kw["bind"], expire_on_commit=False, info=info)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@functools.lru_cache(maxsize=16)
def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")  # same pool, connections in autocommit


def autocommit_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    return _autocommit(sessions.kw["bind"])


def single_read(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session for one SELECT on the hot paths, in autocommit: a statement is consistent on its own, and the
    BEGIN and ROLLBACK around it would be two more round trips (PostgreSQL), about as costly as the query. On a
    SQLite file with readers open (``open_readers``), on one of them."""
    return AsyncSession(_reading(sessions), expire_on_commit=False)


# SQLite has one writer connection per process (``create_engine``): every statement of the process queued behind
# every other on it, so each read of a console frame (its session, its tchat) and of a delivery waited for the
# commits in flight (issue 19, item 4: at 400 msg/s a read waited ~11 ms). In WAL mode readers never wait for the
# writer and see every commit that returned before they began: the single reads of the hot paths (``fetch``,
# ``ByKeys.rows``, ``single_read``) run on read-only connections of their own, in autocommit set once per connection
# (no isolation level set and reset, no rollback on return: 4 trips to the connection's thread per read instead of
# 8). A reader that was asked to write fails (``query_only``). One connection for ``single_read`` (ORM sessions, off
# the message path): each aiosqlite connection is a thread with its own malloc arena and page cache, and a second one
# opened by 10 sockets arriving together grew the server by ~5 MiB (tests/security/test_hostile_visitor.py).
READERS = 1
_readers: dict[AsyncEngine, AsyncEngine] = {}
# ``fetch`` (the coalesced reads of every console frame and delivery, the replays) has a reader of its own: a
# synchronous engine whose whole read — checkout, execute, fetch, result processing — is one call into one thread.
# Through aiosqlite each step of a cursor is a trip to the connection's thread and back, 4 per read: the read took
# ~1 ms in the server at low load, 3 times the statement. One thread, not two: a second one (its own malloc arena)
# grew the server's memory by ~9 MiB under the stuck-socket replays of tests/security/test_hostile_visitor.py.
_direct: dict[AsyncEngine, tuple[Engine, ThreadPoolExecutor]] = {}


def _reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # whichever connection comes first sets it (it stays in the file)
    cursor.execute("PRAGMA busy_timeout=3000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def open_readers(engine: AsyncEngine) -> list[AsyncEngine | Engine]:
    """Open the read-only connections of a SQLite file engine (nothing for PostgreSQL, whose pool already reads side
    by side, or an in-memory SQLite); returns their engines (for metrics). Whoever opens them closes them
    (``close_readers``) before disposing the engine: each aiosqlite connection holds a thread the interpreter waits
    for at exit."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return []
    if engine not in _readers:
        readers = create_async_engine(engine.url, pool_size=READERS, max_overflow=0, pool_timeout=10,
                                      isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                      skip_autocommit_rollback=True)
        event.listen(readers.sync_engine, "connect", _reader_pragmas)
        direct = create_sync_engine(engine.url.set(drivername="sqlite+pysqlite"), pool_size=1, max_overflow=0,
                                    pool_timeout=10, isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                    skip_autocommit_rollback=True, connect_args={"check_same_thread": False})
        event.listen(direct, "connect", _reader_pragmas)
        _readers[engine] = readers
        _direct[engine] = (direct, ThreadPoolExecutor(1, thread_name_prefix="pnav-sqlite-reader"))
    return [_readers[engine], _direct[engine][0]]


async def close_readers(engine: AsyncEngine) -> None:
    readers = _readers.pop(engine, None)
    if readers is not None:
        await readers.dispose()
    direct = _direct.pop(engine, None)
    if direct is not None:
        direct[1].shutdown(wait=False)
        direct[0].dispose()


def _reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine: AsyncEngine = sessions.kw["bind"]
    return _readers.get(engine) or _autocommit(engine)


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
    """The rows of one Core statement, in autocommit on a plain connection: no ORM session around it (on a SQLite
    file, on a reader: ``open_readers``)."""
    direct = _direct.get(sessions.kw["bind"])
    if direct is not None:
        return await asyncio.get_running_loop().run_in_executor(direct[1], _fetch_here, direct[0], statement,
                                                                params or {})
    async with _reading(sessions).connect() as connection:
        return (await connection.execute(statement, params or {})).all()


def _fetch_here(engine: Engine, statement: Executable, params: dict[str, Any]) -> Sequence[AnyRow]:
    """``fetch`` on a SQLite reader, in the reader's thread: one trip there and back."""
    with engine.connect() as connection:
        return connection.execute(statement, params).all()
