"""Micro A/B of a process's Redis subscriber: CPU per message read by redis-py's async ``PubSub`` and by pnav's
hiredis protocol (``chat/redis_subscriber.py``), on a throwaway Redis, publisher in the same process.

    .venv/bin/python -m loadtests.subscriber_bench

Each run publishes MESSAGES events in pipelines of 1,000 and reads them all; a run that only publishes gives the
publisher's share, to subtract. Runs alternate A B B A (ABBA) to spread the machine's drift.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from chat.redis_subscriber import RedisSubscriber
from chat.redis_target import parse_redis_url
from tests.servers import redis_server

MESSAGES = 200_000
# A typical message event as the broker carries it (~200 bytes).
PAYLOAD = ('{"type":"message","seq":12,"author":"operator","body":"Bonjour, je suis là pour vous écouter.",'
           '"at":"2026-12-05T10:00:00Z","conversation":"0123456789abcdef0123456789abcdef"}')


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _publish(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    for _ in range(0, MESSAGES, 1000):
        async with client.pipeline(transaction=False) as pipe:
            for _ in range(1000):
                pipe.publish("conv:bench", PAYLOAD)
            await pipe.execute()
    await client.aclose()


async def publish_only(url: str) -> float:
    started = _cpu()
    await _publish(url)
    return _cpu() - started


async def redis_py(url: str) -> float:
    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("conv:bench")
    received = 0

    async def read() -> None:
        nonlocal received
        async for message in pubsub.listen():
            if message["type"] == "message":
                received += 1
                if received == MESSAGES:
                    return

    reader = asyncio.create_task(read())
    started = _cpu()
    await _publish(url)
    await reader
    used = _cpu() - started
    await pubsub.aclose()
    await client.aclose()
    return used


async def pnav(url: str) -> float:
    received = 0
    done = asyncio.Event()

    def on_message(_channel: bytes, _data: bytes) -> None:
        nonlocal received
        received += 1
        if received == MESSAGES:
            done.set()

    subscriber = RedisSubscriber(parse_redis_url(url), on_message, lambda: None, lambda: ["conv:bench"])
    await subscriber.connect()
    started = _cpu()
    await _publish(url)
    await done.wait()
    used = _cpu() - started
    await subscriber.close()
    return used


async def main() -> None:
    runs: list[tuple[str, Callable[[str], Awaitable[float]]]] = [
        ("publish only", publish_only), ("redis-py PubSub", redis_py), ("pnav hiredis", pnav),
        ("pnav hiredis", pnav), ("redis-py PubSub", redis_py), ("publish only", publish_only)]
    with redis_server() as url:
        results = [(name, await run(url)) for name, run in runs]
    base = sum(cpu for name, cpu in results if name == "publish only") / 2
    for name, cpu in results:
        reading = (cpu - base) / MESSAGES * 1e6
        print(f"{name:16s} CPU {cpu:5.2f} s" + ("" if name == "publish only" else f"  reading {reading:4.1f} µs/msg"))


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"{time.monotonic() - started:.0f} s")
