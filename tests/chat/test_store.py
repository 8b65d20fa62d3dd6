"""Storage on SQLite and real PostgreSQL: dense seq, idempotent client ids, atomic take, queue order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat import store
from chat.db import utcnow
from chat.models import Conversation, Message

Sessions = async_sessionmaker[AsyncSession]


def new(force: str = "police", category: str = "sexual_violence") -> store.NewConversation:
    return store.NewConversation(category=category, requester_role="victim", postal_code="75011", insee="75111",
                                 commune_name="Paris 11e Arrondissement", department="75", force=force,
                                 local_service_id=None, local_service_approximate=False)


async def test_token_is_stored_hashed(sessions: Sessions) -> None:
    """The visitor token is never stored; its hash finds the conversation."""
    conversation, token = await store.create_conversation(sessions, new())
    assert len(token) >= 43
    async with sessions() as session:
        row = await session.get(Conversation, conversation.id)
        assert row is not None and row.token_hash != token and token not in row.token_hash
    found = await store.by_token(sessions, token)
    assert found is not None and found.id == conversation.id
    assert await store.by_token(sessions, token + "x") is None


async def test_seq_is_dense_across_authors(sessions: Sessions) -> None:
    """Messages of every author share one dense sequence 1, 2, 3…"""
    conversation, _ = await store.create_conversation(sessions, new())
    seqs = []
    for i, author in enumerate(["visitor", "operator", "visitor", "system"]):
        appended = await store.append(sessions, conversation.id, author=author, body=f"m{i}")
        seqs.append(appended.message.seq)
    assert seqs == [1, 2, 3, 4]


async def test_concurrent_appends_stay_dense(sessions: Sessions) -> None:
    """Fifty concurrent appends get exactly the seqs 1..50, no gap, no duplicate."""
    conversation, _ = await store.create_conversation(sessions, new())
    results = await asyncio.gather(*(
        store.append(sessions, conversation.id, author="visitor", body=f"m{i}", client_id=f"c{i}")
        for i in range(50)
    ))
    assert sorted(r.message.seq for r in results) == list(range(1, 51))


async def test_same_client_id_is_one_message(sessions: Sessions) -> None:
    """Retrying a send with the same client_id returns the first message and creates nothing."""
    conversation, _ = await store.create_conversation(sessions, new())
    first = await store.append(sessions, conversation.id, author="visitor", body="Bonjour", client_id="abc")
    again = await store.append(sessions, conversation.id, author="visitor", body="Bonjour", client_id="abc")
    assert not first.duplicate and again.duplicate and again.message.seq == first.message.seq == 1
    racing = await asyncio.gather(*(
        store.append(sessions, conversation.id, author="visitor", body="x", client_id="race") for _ in range(10)
    ))
    assert len({r.message.seq for r in racing}) == 1
    async with sessions() as session:
        count = len(list(await session.scalars(select(Message).where(Message.conversation_id == conversation.id))))
    assert count == 2


async def test_closed_conversation_refuses_messages(sessions: Sessions) -> None:
    """Once closed, a conversation accepts no message."""
    conversation, _ = await store.create_conversation(sessions, new())
    assert await store.finish(sessions, conversation.id, status="closed", outcome="information_given")
    with pytest.raises(store.ConversationClosed):
        await store.append(sessions, conversation.id, author="visitor", body="encore")
    assert not await store.finish(sessions, conversation.id, status="closed")


async def test_two_operators_race_one_wins(sessions: Sessions) -> None:
    """Operators racing to take one conversation: exactly one wins, on every backend."""
    for _ in range(5):
        conversation, _ = await store.create_conversation(sessions, new())
        taken = await asyncio.gather(*(store.take(sessions, conversation.id, f"op{i}", "police") for i in range(8)))
        wins = [joined is not None for joined in taken]
        assert sum(wins) == 1
        row = await store.get(sessions, conversation.id)
        assert row is not None and row.status == "active" and row.assigned_to == f"op{wins.index(True)}"
        assert row.last_seq == 1  # the winner's joined event, and only it


async def test_take_requires_same_force(sessions: Sessions) -> None:
    """A gendarmerie operator cannot take a police conversation."""
    conversation, _ = await store.create_conversation(sessions, new(force="police"))
    assert not await store.take(sessions, conversation.id, "gn1", "gendarmerie")


async def _waiting(sessions: Sessions, count: int, arabic: set[int] | None = None) -> list[str]:
    """``count`` tchats queued a minute apart in creation order (those at the indexes ``arabic`` started in Arabic)."""
    ids = [(await store.create_conversation(sessions, new()))[0].id for _ in range(count)]
    async with sessions.begin() as session:
        for i, cid in enumerate(ids):
            await session.execute(update(Conversation).where(Conversation.id == cid)
                                  .values(queued_at=utcnow() - timedelta(minutes=count - i),
                                          language="ar" if i in (arabic or set()) else "fr"))
    return ids


async def test_queue_order(sessions: Sessions) -> None:
    """Emergency first, then minors, then oldest first; other forces and categories are apart."""
    ids = await _waiting(sessions, 4)
    await store.set_flags(sessions, ids[3], emergency=True, minor=False)
    await store.set_flags(sessions, ids[2], emergency=False, minor=True)
    other, _ = await store.create_conversation(sessions, new(force="gendarmerie"))
    queue = [item.id for item in await store.queue(sessions, "police", "sexual_violence")]
    assert queue == [ids[3], ids[2], ids[0], ids[1]]
    assert other.id not in queue
    for expected, cid in enumerate(queue, start=1):
        row = await store.get(sessions, cid)
        assert row is not None and await store.position(sessions, row) == expected
    assert await store.position(sessions, other) == 1


async def test_timestamps_are_utc(sessions: Sessions) -> None:
    """Timestamps come back timezone-aware in UTC on both backends."""
    conversation, _ = await store.create_conversation(sessions, new())
    appended = await store.append(sessions, conversation.id, author="visitor", body="x")
    [message] = await store.messages_after(sessions, conversation.id, 0)
    assert message.created_at.utcoffset() == timedelta(0)
    assert abs((message.created_at - appended.message.created_at).total_seconds()) < 1
    assert str(message.frame()["at"]).endswith("Z")


async def test_conversations_read_by_many_keys_with_one_statement_text(sessions: Sessions) -> None:
    """get_many finds every known key (unknown ones are absent) with the same SQL text for 1, 3 or 600 keys."""
    from sqlalchemy import event

    created = [(await store.create_conversation(sessions, new()))[0] for _ in range(3)]
    ids = [c.id for c in created]
    texts: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM conversations" in statement:
            texts.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        one = await store.get_many(sessions, ids[:1])
        three = await store.get_many(sessions, [*ids, "unknown"])
        many = await store.get_many(sessions, [*ids, *(f"x{i}" for i in range(597))])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert list(one) == ids[:1]
    assert sorted(three) == sorted(ids) and sorted(many) == sorted(ids)
    assert len(texts) == 3 and len(set(texts)) == 1
    row = three[ids[1]]
    assert (row.status, row.force, row.last_seq, row.assigned_to) == ("queued", "police", 0, None)
    assert row.queued_at.tzinfo is not None and row == await store.get(sessions, ids[1])


async def test_visitors_gone_together_are_touched_by_one_update(sessions: Sessions) -> None:
    """touch_visitors stamps visitor_seen_at on every conversation it names, and on no other."""
    a, b, other = [(await store.create_conversation(sessions, new()))[0] for _ in range(3)]
    long_ago = utcnow() - timedelta(hours=1)
    async with sessions.begin() as session:
        await session.execute(update(Conversation).values(visitor_seen_at=long_ago))
    assert await store.touch_visitors(sessions, [a.id, b.id, a.id]) == [None, None, None]
    seen = {c: (await store.get(sessions, c)).visitor_seen_at for c in (a.id, b.id, other.id)}  # type: ignore[union-attr]
    assert seen[a.id] > long_ago + timedelta(minutes=59) and seen[b.id] > long_ago + timedelta(minutes=59)
    assert seen[other.id] == long_ago


async def test_conversations_found_by_many_token_hashes(sessions: Sessions) -> None:
    """by_token_hashes finds each conversation under its token's hash; a wrong token finds nothing."""
    (a, token_a), (b, token_b) = [await store.create_conversation(sessions, new()) for _ in range(2)]
    found = await store.by_token_hashes(sessions, [store.hash_token(t) for t in (token_a, token_b, token_a + "x")])
    assert {h: row.id for h, row in found.items()} == {store.hash_token(token_a): a.id,
                                                        store.hash_token(token_b): b.id}
    assert found[store.hash_token(token_a)] == await store.by_token(sessions, token_a)


async def test_a_queue_view_orders_every_tchat_and_details_only_a_few(sessions: Sessions) -> None:
    """Issue 19, item 2: the whole order for the waiting visitors, the details of the head, of the tchats further
    back in another language than French, and of the newest arrival — the same as a full read would give them."""
    ids = await _waiting(sessions, 12, arabic={2, 8, 10})
    await store.set_flags(sessions, ids[11], emergency=True, minor=False)  # the newest, first in the queue
    full = await store.queue(sessions, "police", "sexual_violence")
    by_id = {item.id: item for item in full}
    view = await store.queue_view(sessions, "police", "sexual_violence", head=5)
    assert view.ids == [item.id for item in full] == [ids[11], *ids[:11]]
    assert [item.id for item in view.shown] == [ids[11], ids[0], ids[1], ids[2], ids[3], ids[8], ids[10]]
    assert view.shown == [by_id[item.id] for item in view.shown]
    assert view.newest == by_id[ids[11]]
    empty = await store.queue_view(sessions, "gendarmerie", "sexual_violence", head=5)
    assert empty == store.QueueView([], [], None)
