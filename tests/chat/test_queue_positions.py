"""Queue positions in a surge (issue 19): one reader of each queue per process, coalesced snapshots, and every
waiting visitor left with the place the database gives, never told a place that goes back up."""

from __future__ import annotations

import asyncio
from typing import Any

from chat import conversations, store
from chat.queue_frames import places_channel
from chat.queue_positions import PUBLISH_INTERVAL, QueuePublisher
from tests.client import Visitor, start_tchat
from tests.servers import UNIT, LiveServer

WAITING = 24
TAKEN = 10


async def test_snapshots_are_coalesced_and_the_last_change_is_always_published() -> None:
    queue = {"version": 0}  # what a read of the queue would see now
    published: list[int] = []

    async def publish_now(force: str, category: str) -> None:
        published.append(queue["version"])

    publisher = QueuePublisher(publish_now, interval=0.05)
    queue["version"] = 1
    await publisher.request("police", "sexual_violence")
    assert published == [1]  # at low load, published at once
    for version in range(2, 12):  # a surge: ten changes within the interval
        queue["version"] = version
        await publisher.request("police", "sexual_violence")
    assert published == [1]
    await asyncio.sleep(0.12)
    assert published == [1, 11]  # one more publish, read after the last change
    await asyncio.sleep(0.12)
    assert published == [1, 11] and not publisher.busy
    await publisher.request("police", "domestic_violence")  # another queue is not held back
    assert published == [1, 11, 11]


async def test_a_surge_of_takes_leaves_every_waiting_visitor_with_the_right_place(live: LiveServer) -> None:
    tchats = [await start_tchat(live) for _ in range(WAITING)]
    visitors = [Visitor(live, tchat["token"]) for tchat in tchats]
    first = tchats[0]
    channel = places_channel(first["force"], "sexual_violence")
    try:
        for visitor in visitors:
            await visitor.connect()
        # One subscription to the queue for the whole process, not one per waiting visitor (each of which used to
        # receive and parse every snapshot of the whole queue).
        assert await live.call(lambda s: _local_subscriptions(s, channel)) == 1
        await asyncio.gather(*(live.call(lambda s, t=tchat: conversations.take(s, t["id"], "op", first["force"]))
                               for tchat in tchats[:TAKEN]))
        await asyncio.sleep(4 * PUBLISH_INTERVAL * UNIT)
        for visitor, tchat in zip(visitors[TAKEN:], tchats[TAKEN:], strict=True):
            expected = await live.call(lambda s, t=tchat: _position(s, t["id"]))
            welcome = next(f for f in visitor.frames if f["type"] == "welcome")
            places = [welcome["position"], *await _places(visitor, expected)]
            assert places[-1] == expected, (places, expected)
            assert places == sorted(places, reverse=True), places  # never told a place that goes back up
            assert len(places) == len(set(places)), places  # never told the same place twice
        for visitor in visitors[:TAKEN]:
            await visitor.expect("joined")
        assert await live.call(lambda s: _local_subscriptions(s, channel)) == 1
    finally:
        for visitor in visitors:
            await visitor.close()
    await asyncio.sleep(0.2 * UNIT)
    assert await live.call(lambda s: _local_subscriptions(s, channel)) == 0


async def _places(visitor: Visitor, expected: int) -> list[int]:
    """The queue positions this visitor was told, reading until the expected one arrives (or 3 s pass)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3 * UNIT
    places = [int(f["position"]) for f in visitor.frames if f["type"] == "queue"]
    while (not places or places[-1] != expected) and loop.time() < deadline:
        try:
            frame = await visitor.recv(max(0.01, deadline - loop.time()) / UNIT)
        except TimeoutError:
            break
        if frame["type"] == "queue":
            places.append(int(frame["position"]))
    return places


async def _local_subscriptions(state: Any, channel: str) -> int:
    return len(state.broker.local.get(channel, ()))


async def _position(state: Any, conversation_id: str) -> int | None:
    conversation = await store.get(state.sessions, conversation_id)
    assert conversation is not None
    return await store.position(state.sessions, conversation)


async def test_a_stopping_process_leaves_no_trailing_publish_behind() -> None:
    """At shutdown the pending trailing publishes are cancelled and awaited, not destroyed by the loop while they
    wait (« Task was destroyed but it is pending! » at the end of test runs)."""
    published: list[str] = []

    async def publish_now(force: str, category: str) -> None:
        published.append(category)

    publisher = QueuePublisher(publish_now, interval=60)
    await publisher.request("police", "sexual_violence")
    publisher.soon("police", "domestic_violence")
    trailing = set(publisher.trailing)
    assert len(trailing) == 2
    await publisher.close()
    assert all(task.cancelled() for task in trailing) and not publisher.trailing and not publisher.busy
    assert published == ["sexual_violence"]
