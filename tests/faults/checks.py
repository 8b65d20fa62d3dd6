"""What the fault tests compare: acknowledgements held by clients against what the database and readers have."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import text

from chat.db import create_cli_engine
from tests.faults.visitors import ResilientVisitor

T = TypeVar("T")


async def stored_messages(url: str) -> dict[str, dict[str, int]]:
    """conversation id → {client_id: seq} of every visitor message in the database."""
    engine = create_cli_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT conversation_id, client_id, seq FROM messages"))
            result: dict[str, dict[str, int]] = {}
            for conversation_id, client_id, seq in rows:
                result.setdefault(conversation_id, {})[client_id] = seq
            return result
    finally:
        await engine.dispose()


@dataclass
class Tally:
    acknowledged: int = 0
    stored: int = 0  # acknowledged and in the database with the acknowledged seq
    delivered: int = 0  # acknowledged and seen by every reader of the conversation
    duplicates: int = 0  # a seq received twice by one reader (across its reconnections)
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (self.acknowledged - self.stored) + (self.acknowledged - self.delivered) + self.duplicates


def compare(conversation_id: str, writer: ResilientVisitor, readers: Iterable[ResilientVisitor],
            stored: dict[str, int], tally: Tally) -> None:
    """Every ack in the database with its seq; seq dense; every reader saw each seq exactly once."""
    readers = list(readers)
    seen = [set(reader.seen) for reader in readers]
    for client_id, seq in writer.acks.items():
        tally.acknowledged += 1
        if stored.get(client_id) == seq:
            tally.stored += 1
        else:
            tally.problems.append(f"{conversation_id}: ack {client_id}→{seq}, database has {stored.get(client_id)}")
        if all(seq in s for s in seen):
            tally.delivered += 1
        else:
            tally.problems.append(f"{conversation_id}: acked seq {seq} not delivered to every reader")
    if sorted(stored.values()) != list(range(1, len(stored) + 1)):
        tally.problems.append(f"{conversation_id}: seqs not dense: {sorted(stored.values())}")
    for reader in (writer, *readers):
        tally.duplicates += reader.duplicates


async def bounded(tasks: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Run awaitables with at most ``limit`` at once (the machine has two cores shared with others)."""
    gate = asyncio.Semaphore(limit)

    async def one(task: Awaitable[T]) -> T:
        async with gate:
            return await task

    return list(await asyncio.gather(*(one(t) for t in tasks)))


async def seed_tchats(url: str, count: int, postal_code: str = "75011") -> list[dict[str, str]]:
    """Open ``count`` tchats straight through chat.store (the HTTP path is tested elsewhere; here the fault is)."""
    import routing
    from chat import store
    from chat.db import session_factory

    resolved = routing.resolve(postal_code, None)
    service = resolved.local_service
    new = store.NewConversation(
        category="domestic_violence", requester_role="victim", postal_code=resolved.postal_code,
        insee=resolved.insee, commune_name=resolved.commune_name, department=resolved.department,
        force=resolved.force, local_service_id=service.id if service else None,
        local_service_approximate=service.approximate if service else False,
    )
    engine = create_cli_engine(url)
    try:
        sessions = session_factory(engine)
        made = [await store.create_conversation(sessions, new) for _ in range(count)]
    finally:
        await engine.dispose()
    return [{"id": conversation.id, "token": token} for conversation, token in made]
