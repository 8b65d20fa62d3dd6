"""Which visitors are connected right now, across processes: keys with a TTL refreshed by each process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

# Each process refreshes its visitors every 20 s; a key lives 60 s, so one missed refresh (GC pause, busy loop)
# never marks a connected visitor absent, and a crashed process's visitors disappear within a minute.
HEARTBEAT_SECONDS = 20
TTL_SECONDS = 60


class Presence(Protocol):
    def connected(self, conversation_id: str) -> None: ...
    def disconnected(self, conversation_id: str) -> None: ...
    async def refresh(self) -> None: ...
    async def present(self, conversation_ids: list[str]) -> set[str]: ...
    async def close(self) -> None: ...


class _Local:
    def __init__(self) -> None:
        self.local: Counter[str] = Counter()

    def connected(self, conversation_id: str) -> None:
        self.local[conversation_id] += 1

    def disconnected(self, conversation_id: str) -> None:
        self.local[conversation_id] -= 1
        if self.local[conversation_id] <= 0:
            del self.local[conversation_id]


class MemoryPresence(_Local):
    async def refresh(self) -> None:
        return None

    async def present(self, conversation_ids: list[str]) -> set[str]:
        return {c for c in conversation_ids if c in self.local}

    async def close(self) -> None:
        return None


class RedisPresence(_Local):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.client: aioredis.Redis = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._pending: set[asyncio.Task[None]] = set()

    def connected(self, conversation_id: str) -> None:
        super().connected(conversation_id)
        task = asyncio.get_running_loop().create_task(self._set([conversation_id]))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _set(self, ids: list[str]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for cid in ids:
                    pipe.set(f"presence:visitor:{cid}", "1", ex=TTL_SECONDS)
                await pipe.execute()
        except (RedisError, OSError):
            return

    async def refresh(self) -> None:
        ids = list(self.local)
        for start in range(0, len(ids), 1000):
            await self._set(ids[start : start + 1000])

    async def present(self, conversation_ids: list[str]) -> set[str]:
        if not conversation_ids:
            return set()
        local = {c for c in conversation_ids if c in self.local}
        try:
            values = await self.client.mget([f"presence:visitor:{c}" for c in conversation_ids])
        except (RedisError, OSError):
            # Unknown is not absent: without Redis nobody is declared gone.
            return set(conversation_ids)
        return local | {c for c, v in zip(conversation_ids, values, strict=True) if v is not None}

    async def close(self) -> None:
        await self.client.aclose()


def create_presence(url: str) -> Presence:
    return MemoryPresence() if url.startswith("memory://") else RedisPresence(url)


async def heartbeat(presence: Presence) -> None:
    while True:
        started = time.monotonic()
        await presence.refresh()
        await asyncio.sleep(max(1.0, HEARTBEAT_SECONDS - (time.monotonic() - started)))
