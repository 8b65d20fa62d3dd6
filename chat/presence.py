"""Which visitors are connected right now, across processes: last-seen times refreshed by each process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chat.batching import Batcher
from chat.redis_target import parse_redis_url

# Each process refreshes its visitors every 20 s; a last-seen time counts for 60 s, so one missed refresh (GC
# pause, busy loop) never marks a connected visitor absent, a crashed process's visitors disappear within a
# minute, and clocks of several machines may differ by seconds without effect.
HEARTBEAT_SECONDS = 20
TTL_SECONDS = 60
PRESENCE_KEY = "pnav:presence:visitors"
# Members per ZADD: one command for a whole process's visitors in practice, in chunks that keep a command (and
# Redis's time on it) small.
REFRESH_CHUNK = 2000


class Presence(Protocol):
    def connected(self, conversation_id: str) -> None: ...
    def disconnected(self, conversation_id: str) -> bool: ...
    async def refresh(self) -> None: ...
    async def present(self, conversation_ids: list[str]) -> set[str]: ...
    async def close(self) -> None: ...


class _Local:
    def __init__(self) -> None:
        self.local: Counter[str] = Counter()

    def connected(self, conversation_id: str) -> None:
        self.local[conversation_id] += 1

    def disconnected(self, conversation_id: str) -> bool:
        """Forget one socket; True when it was the last of this conversation on this process."""
        self.local[conversation_id] -= 1
        if self.local[conversation_id] <= 0:
            del self.local[conversation_id]
            return True
        return False


class MemoryPresence(_Local):
    async def refresh(self) -> None:
        return None

    async def present(self, conversation_ids: list[str]) -> set[str]:
        return {c for c in conversation_ids if c in self.local}

    async def close(self) -> None:
        return None


class RedisPresence(_Local):
    """One sorted set shared by every process: member = conversation id, score = when it was last seen connected.

    One command refreshes thousands of visitors (ZADD), one tells which of a list are present (ZMSCORE), and
    entries older than the TTL are pruned at each refresh: no per-visitor key or command.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        # A plain URL or a Sentinel one; the 2 s deadlines of chat.redis_target: a frozen Redis delays a refresh,
        # never a socket (every presence call is best effort: unknown is not absent).
        self.client: aioredis.Redis = parse_redis_url(url).client()
        # Visitors connecting together (a reconnect storm) are marked seen by one ZADD, on one pooled connection,
        # instead of a task, a command and often a new connection each.
        self._arrivals: Batcher[str, None] = Batcher(self._seen_batch, REFRESH_CHUNK, "pnav-presence-arrivals")

    def connected(self, conversation_id: str) -> None:
        super().connected(conversation_id)
        self._arrivals.post(conversation_id)

    async def _seen_batch(self, ids: list[str]) -> list[BaseException | None]:
        await self._seen(ids)
        return [None] * len(ids)

    async def _seen(self, ids: list[str]) -> None:
        if not ids:
            return
        try:
            await self.client.zadd(PRESENCE_KEY, dict.fromkeys(ids, time.time()))
        except (RedisError, OSError):
            return

    async def refresh(self) -> None:
        ids = list(self.local)
        for start in range(0, len(ids), REFRESH_CHUNK):
            await self._seen(ids[start : start + REFRESH_CHUNK])
        try:
            await self.client.zremrangebyscore(PRESENCE_KEY, "-inf", time.time() - TTL_SECONDS)
        except (RedisError, OSError):
            return

    async def present(self, conversation_ids: list[str]) -> set[str]:
        if not conversation_ids:
            return set()
        local = {c for c in conversation_ids if c in self.local}
        try:
            scores = await self.client.zmscore(PRESENCE_KEY, conversation_ids)
        except (RedisError, OSError):
            # Unknown is not absent: without Redis nobody is declared gone.
            return set(conversation_ids)
        fresh = time.time() - TTL_SECONDS
        return local | {c for c, score in zip(conversation_ids, scores, strict=True)
                        if score is not None and score >= fresh}

    async def close(self) -> None:
        await self._arrivals.flush()
        await self.client.aclose()


def create_presence(url: str) -> Presence:
    return MemoryPresence() if url.startswith("memory://") else RedisPresence(url)


async def heartbeat(presence: Presence) -> None:
    while True:
        started = time.monotonic()
        await presence.refresh()
        await asyncio.sleep(max(1.0, HEARTBEAT_SECONDS - (time.monotonic() - started)))
