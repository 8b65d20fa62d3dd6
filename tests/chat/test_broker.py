"""The broker on the memory backend and on a real Redis: fan-out, isolation, bounded queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chat.broker import Broker, SubscriberGap, SubscriberOverflow
from chat.brokers import create_broker
from tests.servers import UNIT


@pytest.fixture
async def broker(broker_url: str) -> AsyncIterator[Broker]:
    b = create_broker(broker_url, queue_size=8)
    await b.connect()
    yield b
    await b.disconnect()


async def settle() -> None:
    await asyncio.sleep(0.1 * UNIT)


async def test_fan_out_to_every_subscriber(broker: Broker) -> None:
    """Two subscribers of a channel both get each event, in order."""
    async with broker.subscribe("conv:a") as one, broker.subscribe("conv:a") as two:
        await settle()
        for i in range(3):
            await broker.publish("conv:a", f"e{i}")
        for sub in (one, two):
            assert [await asyncio.wait_for(sub.get(), 5 * UNIT) for _ in range(3)] == ["e0", "e1", "e2"]


async def test_channels_are_isolated(broker: Broker) -> None:
    """An event on one conversation never reaches a subscriber of another."""
    async with broker.subscribe("conv:a") as a, broker.subscribe("conv:b") as b:
        await settle()
        await broker.publish("conv:b", "for-b")
        assert await asyncio.wait_for(b.get(), 5 * UNIT) == "for-b"
        await settle()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(a.get(), 0.2 * UNIT)


async def test_add_and_remove_channels(broker: Broker) -> None:
    """A subscription can follow a new channel and stop following one."""
    async with broker.subscribe("conv:a") as sub:
        await sub.add("queue:police:x")
        await settle()
        await broker.publish("queue:police:x", "q")
        assert await asyncio.wait_for(sub.get(), 5 * UNIT) == "q"
        await sub.remove("queue:police:x")
        await settle()
        await broker.publish("queue:police:x", "ignored")
        await broker.publish("conv:a", "kept")
        assert await asyncio.wait_for(sub.get(), 5 * UNIT) == "kept"


async def test_slow_subscriber_is_bounded(broker: Broker) -> None:
    """A subscriber that does not read overflows after its bound instead of growing memory."""
    async with broker.subscribe("conv:slow") as sub:
        await settle()
        for i in range(50):
            await broker.publish("conv:slow", f"e{i}")
        await settle()
        assert len(sub) <= 8
        with pytest.raises(SubscriberOverflow):
            for _ in range(50):
                await asyncio.wait_for(sub.get(), 5 * UNIT)


async def test_gap_signal_raises_once() -> None:
    """A gap (events lost upstream) is reported once, then events flow again."""
    broker = create_broker("memory://")
    async with broker.subscribe("c") as sub:
        sub.signal_gap()
        with pytest.raises(SubscriberGap):
            await sub.get()
        await broker.publish("c", "after")
        assert await sub.get() == "after"


async def test_ping(broker: Broker) -> None:
    """A connected broker answers ping."""
    assert await broker.ping()


def test_unknown_scheme() -> None:
    """Only memory:// and redis:// are brokers."""
    with pytest.raises(ValueError, match="unknown broker"):
        create_broker("kafka://x")
