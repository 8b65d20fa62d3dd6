"""SQLite readers (chat.db.open_readers): the hot paths' single reads do not queue behind the one writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import keys
from chat import store
from chat.db import close_readers, create_engine, fetch, open_readers, session_factory, single_read
from chat.models import Conversation
from tests.chat.test_store import new
from tests.conftest import migrated, wipe

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sqlite_sessions(sqlite_url: str) -> AsyncIterator[Sessions]:
    migrated(sqlite_url)
    await wipe(sqlite_url)
    engine = create_engine(sqlite_url)
    assert open_readers(engine)
    yield keys.bind(session_factory(engine), keys.TEST_KEY)
    await close_readers(engine)
    await engine.dispose()


async def test_a_read_does_not_wait_for_the_writer(sqlite_sessions: Sessions) -> None:
    """While the process's one write connection is held by a transaction, a read still answers at once, with what
    was committed (without readers it waited for the pool's only connection: 10 s, then a timeout)."""
    conversation, _ = await store.create_conversation(sqlite_sessions, new())
    async with sqlite_sessions.begin() as session:
        await session.execute(update(Conversation).where(Conversation.id == conversation.id).values(last_seq=41))
        row = await asyncio.wait_for(store.get(sqlite_sessions, conversation.id), 2)
        assert row is not None and row.last_seq == 0  # not committed yet
        many = await asyncio.wait_for(store.get_many(sqlite_sessions, [conversation.id]), 2)
        assert many[conversation.id].last_seq == 0
    row = await store.get(sqlite_sessions, conversation.id)
    assert row is not None and row.last_seq == 41  # a read that begins after the commit returned sees it


async def test_readers_refuse_writes(sqlite_sessions: Sessions) -> None:
    """A reader is read-only: a write sent there by mistake fails instead of racing the writer."""
    with pytest.raises(OperationalError):
        await fetch(sqlite_sessions, text("UPDATE conversations SET last_seq = 1 RETURNING id"))
    with pytest.raises(OperationalError):
        async with single_read(sqlite_sessions) as session:
            await session.execute(text("DELETE FROM conversations"))


async def test_no_readers_for_postgresql(postgres_url: str) -> None:
    """PostgreSQL's pool already reads side by side with the writer."""
    engine = create_engine(postgres_url)
    try:
        assert open_readers(engine) == []
    finally:
        await engine.dispose()


async def test_a_fetch_is_one_trip_to_a_reader_thread(sqlite_sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> (
    None
):
    """The coalesced reads of the hot paths (``fetch``) run whole in a reader's thread: no step of them goes through
    aiosqlite's per-call trips (4 per read before)."""
    import aiosqlite.core

    conversation, _ = await store.create_conversation(sqlite_sessions, new())
    calls: list[str] = []
    real = aiosqlite.core.Connection._execute
    # Only the trips this read makes (tasks it starts inherit the flag), not those of work still running from
    # earlier (a connection of another test being closed made the full suite fail here once).
    reading: ContextVar[bool] = ContextVar("reading", default=False)

    async def counted(self: aiosqlite.core.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if reading.get():
            calls.append(getattr(fn, "__name__", "?"))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    reading.set(True)
    rows = await store.get_many(sqlite_sessions, [conversation.id])
    reading.set(False)
    assert rows[conversation.id].id == conversation.id
    assert calls == []
