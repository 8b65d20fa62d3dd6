"""Group commit on SQLite and PostgreSQL: dense seqs, idempotent retries and closed tchats, batch by batch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat import store
from chat.models import Message
from chat.writer import MessageWriter, Pending, write_batch
from tests.chat.test_store import new

Sessions = async_sessionmaker[AsyncSession]


def send(conversation_id: str, client_id: str | None, author: str = "visitor") -> Pending:
    return Pending(conversation_id, author, f"texte {client_id}", client_id, None, "text")


async def test_batch_gives_dense_seqs_per_conversation(sessions: Sessions) -> None:
    """A batch across conversations commits every message with each conversation's next seqs, in order."""
    a, _ = await store.create_conversation(sessions, new())
    b, _ = await store.create_conversation(sessions, new())
    await store.append(sessions, a.id, author="visitor", body="avant")
    batch = [send(a.id, "a1"), send(b.id, "b1"), send(a.id, "a2"), send(b.id, "b2", "operator"), send(a.id, None)]
    results = await write_batch(sessions, batch)
    assert [(r.message.conversation_id, r.message.seq) for r in results if isinstance(r, store.Appended)] == [
        (a.id, 2), (b.id, 1), (a.id, 3), (b.id, 2), (a.id, 4)]
    assert [m.seq for m in await store.messages_after(sessions, a.id, 0)] == [1, 2, 3, 4]
    row = await store.get(sessions, b.id)
    assert row is not None and row.last_seq == 2 and row.first_reply_at is not None


async def test_batch_with_a_retry_returns_the_first_ack(sessions: Sessions) -> None:
    """A retried client_id inside a batch gets its original seq; the others are stored once."""
    a, _ = await store.create_conversation(sessions, new())
    first = await store.append(sessions, a.id, author="visitor", body="x", client_id="k1")
    results = await write_batch(sessions, [send(a.id, "k2"), send(a.id, "k1"), send(a.id, "k3")])
    assert isinstance(results[1], store.Appended) and results[1].duplicate
    assert results[1].message.seq == first.message.seq == 1
    assert sorted(r.message.seq for r in results if isinstance(r, store.Appended)) == [1, 2, 3]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 3


async def test_batch_with_a_closed_conversation(sessions: Sessions) -> None:
    """Sends to a closed tchat are refused; the rest of the batch is committed."""
    open_, _ = await store.create_conversation(sessions, new())
    closed, _ = await store.create_conversation(sessions, new())
    await store.finish(sessions, closed.id, status="closed", outcome="other")
    results = await write_batch(sessions, [send(open_.id, "o1"), send(closed.id, "c1"), send(open_.id, "o2")])
    assert isinstance(results[1], store.ConversationClosed)
    assert [r.message.seq for r in (results[0], results[2]) if isinstance(r, store.Appended)] == [1, 2]


async def test_writer_under_concurrency(sessions: Sessions) -> None:
    """Hundreds of concurrent sends through the writer: every one acked once, seqs dense per conversation."""
    writer = MessageWriter(sessions, max_batch=50)
    try:
        ids = [(await store.create_conversation(sessions, new()))[0].id for _ in range(10)]
        sends = [send(ids[i % 10], f"m{i}") for i in range(300)]
        results = await asyncio.gather(*(writer.append(p) for p in sends))
        retried = await asyncio.gather(*(writer.append(p) for p in sends[:20]))
    finally:
        await writer.flush()
    for cid in ids:
        seqs = sorted(r.message.seq for r in results if r.message.conversation_id == cid)
        assert seqs == list(range(1, 31))
    assert all(r.duplicate for r in retried)
    assert [r.message.seq for r in retried] == [r.message.seq for r in results[:20]]


async def test_writer_reports_failures_to_each_sender(sessions: Sessions) -> None:
    """A send to an unknown conversation fails for its sender only."""
    writer = MessageWriter(sessions)
    try:
        good, _ = await store.create_conversation(sessions, new())
        ok, bad = await asyncio.gather(writer.append(send(good.id, "g")), writer.append(send("0" * 32, "b")),
                                       return_exceptions=True)
    finally:
        await writer.flush()
    assert isinstance(ok, store.Appended) and ok.message.seq == 1
    assert isinstance(bad, store.ConversationClosed)
    with pytest.raises(store.ConversationClosed):
        raise bad


async def test_server_post_is_stored_once_when_the_commit_outcome_is_unknown(
        sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18, item 5: the batch commits, then its connection drops before the answer (outcome unknown); the writer
    retries one by one. A card the server posts (no client id of its own) is found by its idempotency key, not
    inserted a second time."""
    from types import SimpleNamespace

    from sqlalchemy.exc import DBAPIError

    from chat import conversations, writer

    conversation, _ = await store.create_conversation(sessions, new())
    real = writer._write

    async def committed_then_dropped(s: Sessions, batch: list[Pending]) -> list[object]:
        await real(s, batch)
        raise DBAPIError("COMMIT", None, ConnectionResetError("connection lost"), connection_invalidated=True)

    monkeypatch.setattr(writer, "_write", committed_then_dropped)

    class Broker:
        async def publish(self, channel: str, event: str) -> None:
            pass

    state = SimpleNamespace(sessions=sessions, writer=MessageWriter(sessions), broker=Broker())
    card = {"kind": "orientation", "title": "Numéros utiles"}
    first = await conversations.post_card(state, conversation.id, card, author="system")  # type: ignore[arg-type]
    assert first.duplicate
    line = await conversations.post(state, conversation.id, author="system", body="Transféré.")  # type: ignore[arg-type]
    async with sessions() as session:
        kinds = list(await session.scalars(select(Message.kind).where(Message.conversation_id == conversation.id)
                                           .order_by(Message.seq)))
    assert kinds == ["card", "text"] and line.message.seq == 2
    assert "client_id" not in line.message.frame()  # the server's key is never shown to clients


async def test_cancelled_batcher_fails_its_waiters() -> None:
    """Issue 18, item 5: when the batch task is cancelled (shutdown), the caller whose batch was under way and the
    one queued behind it both get an error (outcome unknown) instead of waiting for ever."""
    from chat.batching import Batcher, BatcherStopped

    started = asyncio.Event()

    async def never_ends(items: list[int]) -> list[int | BaseException]:
        started.set()
        await asyncio.Event().wait()
        return list(items)

    batcher: Batcher[int, int] = Batcher(never_ends, 10, "test-batcher")
    under_way = asyncio.create_task(batcher.submit(1))
    await started.wait()
    behind = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0)
    assert batcher._task is not None
    batcher._task.cancel()
    for waiter in (under_way, behind):
        with pytest.raises(BatcherStopped):
            await asyncio.wait_for(waiter, 2)


async def test_sqlite_batch_is_one_trip_to_the_connection_thread(sqlite_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a batch is one call into aiosqlite's thread (and the pool's reset), not one per cursor step
    (9 before); it stores what SQLAlchemy would have stored, times included."""
    import aiosqlite.core

    from audit import keys
    from chat.db import create_engine, session_factory
    from tests.conftest import migrated, wipe

    migrated(sqlite_url)
    await wipe(sqlite_url)
    engine = create_engine(sqlite_url)
    sessions = keys.bind(session_factory(engine), keys.TEST_KEY)
    try:
        a, _ = await store.create_conversation(sessions, new())
        b, _ = await store.create_conversation(sessions, new())
        await write_batch(sessions, [send(a.id, "warm")])  # the pool's connection is open from here on
        calls: list[str] = []
        real = aiosqlite.core.Connection._execute

        async def counted(self: aiosqlite.core.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(getattr(fn, "__name__", "?"))
            return await real(self, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
        results = await write_batch(sessions, [send(a.id, "a2"), send(b.id, "b1", "operator"), send(a.id, "a3")])
        assert len(calls) <= 2, calls
        monkeypatch.undo()
        stored = [r.message for r in results if isinstance(r, store.Appended)]
        assert [(m.conversation_id, m.seq) for m in stored] == [(a.id, 2), (b.id, 1), (a.id, 3)]
        read = {(m.conversation_id, m.seq): m for m in [*await store.messages_after(sessions, a.id, 0),
                                                        *await store.messages_after(sessions, b.id, 0)]}
        for message in stored:
            again = read[(message.conversation_id, message.seq)]
            assert (again.body, again.author, again.client_id, again.created_at) == (
                message.body, message.author, message.client_id, message.created_at)
        row = await store.get(sessions, b.id)
        assert row is not None and row.last_seq == 1 and row.first_reply_at == stored[1].created_at
    finally:
        await engine.dispose()
