"""Presence across processes on a real Redis: one sorted set of last-seen times."""

from __future__ import annotations

import asyncio
import time

from chat.presence import PRESENCE_KEY, TTL_SECONDS, RedisPresence
from tests.servers import UNIT


async def test_visitors_seen_by_one_process_are_present_for_another(redis_url: str) -> None:
    """A visitor connected to process A is present for process B; one never seen, or seen too long ago, is not."""
    a, b = RedisPresence(redis_url), RedisPresence(redis_url)
    try:
        await a.client.delete(PRESENCE_KEY)
        a.connected("here")
        await asyncio.sleep(0.1 * UNIT)
        await a.refresh()
        await b.client.zadd(PRESENCE_KEY, {"stale": time.time() - TTL_SECONDS - 5})
        assert await b.present(["here", "stale", "never"]) == {"here"}
        await a.refresh()  # prunes entries past the TTL
        assert await b.client.zscore(PRESENCE_KEY, "stale") is None
    finally:
        await a.close()
        await b.close()


async def test_unknown_is_not_absent_when_redis_is_unreachable() -> None:
    """Without Redis nobody is declared gone (the abandon sweeper must not end live tchats)."""
    presence = RedisPresence("redis://127.0.0.1:1")
    try:
        assert await presence.present(["x", "y"]) == {"x", "y"}
    finally:
        await presence.close()


async def test_visitors_connecting_together_are_marked_by_one_command(redis_url: str) -> None:
    """Two hundred visitors connecting at once cost one or two ZADDs, not one each (a reconnect storm)."""
    presence = RedisPresence(redis_url)
    try:
        await presence.client.delete(PRESENCE_KEY)
        await presence.client.config_resetstat()
        for i in range(200):
            presence.connected(f"storm{i}")
        await presence._arrivals.flush()
        stats = await presence.client.info("commandstats")
        assert 1 <= stats["cmdstat_zadd"]["calls"] <= 2
        assert await presence.client.zcard(PRESENCE_KEY) == 200
    finally:
        await presence.close()
