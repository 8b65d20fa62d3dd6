"""The Redis broker's own subscriber connection, on a real Redis: local-first delivery, echoes, loss and return."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from chat import redis_subscriber
from chat.broker import SubscriberGap, Subscription
from chat.broker_redis import RedisBroker
from tests.servers import UNIT


@pytest.fixture
async def brokers(redis_url: str) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    """Two processes' brokers on one Redis."""
    a, b = RedisBroker(redis_url, queue_size=64), RedisBroker(redis_url, queue_size=64)
    await a.connect()
    await b.connect()
    yield a, b
    await a.disconnect()
    await b.disconnect()


async def drain(sub: Subscription, seconds: float = 0.3) -> list[str]:
    """Every event that arrives within ``seconds``."""
    events: list[str] = []
    try:
        while True:
            events.append(await asyncio.wait_for(sub.get(), seconds * UNIT))
    except TimeoutError:
        return events


async def test_each_subscriber_gets_an_event_once_on_every_process(brokers: tuple[RedisBroker, RedisBroker]) -> None:
    """A publisher's own subscribers get its events at once and not again from Redis; the other process's once."""
    a, b = brokers
    channel = f"conv:{secrets.token_hex(4)}"
    async with a.subscribe(channel) as here, b.subscribe(channel) as there:
        await a.publish(channel, '{"type":"typing","n":1}')
        assert here.get_nowait() == '{"type":"typing","n":1}'  # delivered before publish returned
        await a.publish(channel, '{"type":"typing","n":2}')
        assert await drain(here) == ['{"type":"typing","n":2}']
        assert await drain(there) == ['{"type":"typing","n":1}', '{"type":"typing","n":2}']


async def test_an_untagged_event_goes_through(brokers: tuple[RedisBroker, RedisBroker], redis_url: str) -> None:
    """An event published by another tool (no origin tag) reaches subscribers as it was sent."""
    a, _ = brokers
    channel = f"conv:{secrets.token_hex(4)}"
    async with a.subscribe(channel) as sub:
        client = aioredis.Redis.from_url(redis_url)
        await client.publish(channel, '{"type":"typing","who":"operator"}')
        await client.aclose()
        assert await drain(sub) == ['{"type":"typing","who":"operator"}']


async def test_a_killed_connection_comes_back_and_everyone_resyncs(brokers: tuple[RedisBroker, RedisBroker],
                                                                     redis_url: str) -> None:
    """After Redis drops the subscriber connection it is reopened, every subscriber is told to resync, and events
    from the other process flow again."""
    a, b = brokers
    channel = f"conv:{secrets.token_hex(4)}"
    async with b.subscribe(channel) as sub:
        client = aioredis.Redis.from_url(redis_url)
        await client.client_kill_filter(_type="pubsub")
        await client.aclose()
        with pytest.raises(SubscriberGap):
            await asyncio.wait_for(sub.get(), 10 * UNIT)
        for _ in range(50):
            await a.publish(channel, '{"type":"typing"}')
            if await drain(sub, 0.1):
                break
        else:
            raise AssertionError("no event after the reconnection")


async def test_a_silent_redis_is_left_for_a_new_connection(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    """A connection on which Redis stops answering (even PING) is dropped and reopened; subscribers resync."""
    monkeypatch.setattr(redis_subscriber, "PING_EVERY", 0.2)
    monkeypatch.setattr(redis_subscriber, "DEAD_AFTER", 0.6)
    broker = RedisBroker(redis_url)
    await broker.connect()
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with broker.subscribe("conv:silent") as sub:
            await client.execute_command("CLIENT", "PAUSE", int(1500 * UNIT), "ALL")
            with pytest.raises(SubscriberGap):
                await asyncio.wait_for(sub.get(), 10 * UNIT)
    finally:
        await client.aclose()
        await broker.disconnect()


async def test_a_password_is_sent_and_a_wrong_one_refused(redis_url: str) -> None:
    """A URL with credentials authenticates the subscriber; wrong credentials fail at connection (startup)."""
    admin = aioredis.Redis.from_url(redis_url)
    user, password = f"pnav-{secrets.token_hex(3)}", secrets.token_hex(8)
    await admin.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all")
    host = redis_url.split("://", 1)[1]
    try:
        good = RedisBroker(f"redis://{user}:{password}@{host}")
        await good.connect()
        async with good.subscribe("conv:auth") as sub:
            await admin.publish("conv:auth", '{"type":"typing"}')
            assert await drain(sub) == ['{"type":"typing"}']
        await good.disconnect()
        bad = RedisBroker(f"redis://{user}:wrong@{host}")
        with pytest.raises(Exception, match=r"WRONGPASS|invalid"):
            await bad.connect()
        await bad.disconnect()
    finally:
        await admin.execute_command("ACL", "DELUSER", user)
        await admin.aclose()
