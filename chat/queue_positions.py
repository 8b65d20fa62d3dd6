"""Queue positions in a surge: each process reads a queue once per change, not once per waiting visitor.

Before (issue 19): every change of a queue (an arrival, a take, an abandon, a first message) published the whole
ordered queue, and every waiting visitor's socket parsed all of it to find its own place: with N waiting and
changes arriving with each of them, O(N²) work per second (~180 MB of JSON parsed per change at 1,000 waiting).

Now two things, both per process:

- :class:`QueuePublisher` coalesces the snapshots of one queue: the first change publishes at once (nothing
  changes at low load), changes that arrive while a publish is running or within ``PUBLISH_INTERVAL`` after it
  are covered by one more publish at the end of that interval, read after them. A surge of arrivals and takes
  costs at most a few reads and publishes of each queue per second, and the last change is always published.
- :class:`QueueWatch` follows the order of one queue (its ``places:`` channel: ids only, ``chat/queue_frames.py``)
  for all the waiting visitors of this process: one subscription, one parse per snapshot, positions computed for
  the local visitors in one pass, and a compact ``queue_position`` frame delivered only to the sockets whose
  position changed (through their own bounded event buffer, so a slow socket delays nobody else). Consoles receive
  a bounded view of the queue on its ``queue:`` channel instead.

A snapshot carries ``at`` (read time): older snapshots than the one a socket already reflects are ignored (two
processes publishing the same queue, or a snapshot read before a visitor's welcome). Positions are exact, not
estimated: after the last change every waiting visitor is told the place the database gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from chat.broker import SubscriberGap, SubscriberOverflow, Subscription
from chat.protocol import dumps
from chat.state import ChatState

log = logging.getLogger("pnav.queue")

# A visitor sees a new position at most this long (plus one read of the queue) after the change: well under the
# second of issue 19's target, and at most 4 reads of a queue per second and process however many arrive.
PUBLISH_INTERVAL = 0.25
_PUBLISHER = "queue_publisher"
_WATCHES = "queue_watches"


class QueuePublisher:
    """Coalesced publishes of each queue of this process (module docstring)."""

    def __init__(self, publish_now: Callable[[str, str], Awaitable[None]],
                 interval: float = PUBLISH_INTERVAL) -> None:
        self.publish_now = publish_now
        self.interval = interval
        self.busy: set[tuple[str, str]] = set()
        self.dirty: set[tuple[str, str]] = set()
        self.trailing: set[asyncio.Task[None]] = set()

    async def request(self, force: str, category: str) -> None:
        """Publish the queue now, or, if it was published less than ``interval`` ago, once more at its end."""
        key = (force, category)
        if key in self.busy:
            self.dirty.add(key)
            return
        self.busy.add(key)
        try:
            await self.publish_now(force, category)
        finally:
            task = asyncio.get_running_loop().create_task(self._trail(key))
            self.trailing.add(task)
            task.add_done_callback(self.trailing.discard)

    def soon(self, force: str, category: str) -> None:
        """Publish the queue within ``interval``, without waiting for it (a visitor just read its place)."""
        key = (force, category)
        self.dirty.add(key)
        if key not in self.busy:
            self.busy.add(key)
            task = asyncio.get_running_loop().create_task(self._trail(key))
            self.trailing.add(task)
            task.add_done_callback(self.trailing.discard)

    async def close(self) -> None:
        """The process stops: its pending trailing publishes are dropped (another process, or this one's next start,
        publishes again), not left as tasks the loop destroys while they wait."""
        for task in list(self.trailing):
            task.cancel()
        await asyncio.gather(*self.trailing, return_exceptions=True)
        self.busy.clear()  # a task cancelled before it first ran never reached its ``finally``
        self.dirty.clear()

    async def _trail(self, key: tuple[str, str]) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval)
                if key not in self.dirty:
                    return
                self.dirty.discard(key)
                try:
                    await self.publish_now(*key)
                except Exception:  # the periodic republish heals a lost snapshot
                    log.warning("queue snapshot not published", exc_info=True)
        finally:
            self.busy.discard(key)


def publisher_of(state: ChatState, publish_now: Callable[[str, str], Awaitable[None]]) -> QueuePublisher:
    return state.extension(_PUBLISHER, lambda: QueuePublisher(publish_now))


@dataclass(slots=True)
class _Waiting:
    sub: Subscription
    position: int | None
    since: float  # the socket's own reading of its position: snapshots read before it are older news


class QueueWatch:
    """The ``places:`` channel of one queue, followed for every waiting visitor of this process (module docstring)."""

    def __init__(self, state: ChatState, channel: str, publisher: QueuePublisher) -> None:
        self.state = state
        self.channel = channel
        self.publisher = publisher  # asked for a fresh snapshot after a gap
        self.waiting: dict[str, _Waiting] = {}
        self.sub: Subscription | None = None
        self._context: contextlib.AbstractAsyncContextManager[Subscription] | None = None
        self.drainer: asyncio.Task[None] | None = None
        self.at = 0.0

    async def join(self, conversation_id: str, sub: Subscription, position: int | None, since: float) -> None:
        """Follow the place of ``conversation_id`` (its socket's events go to ``sub``), known to be ``position``
        (or not yet: None) as of ``since``."""
        self.waiting[conversation_id] = _Waiting(sub, position, since)
        if self._context is None:  # the first waiting visitor of this process: subscribe (once)
            self._context = self.state.broker.subscribe(self.channel, on_ready=self._ready)
            self.sub = await self._context.__aenter__()

    def known(self, conversation_id: str, position: int | None, read_by: float) -> None:
        """The socket read its place from the database, the read over at ``read_by``: only a different place, from
        a snapshot read after that, is worth a frame (one read meanwhile may be older or newer: it is ignored, and
        the caller asks for a fresh snapshot)."""
        seat = self.waiting.get(conversation_id)
        if seat is not None:
            seat.position = position
            seat.since = read_by

    async def leave(self, conversation_id: str) -> None:
        self.waiting.pop(conversation_id, None)
        if not self.waiting and self._context is not None:
            context, self._context, self.sub = self._context, None, None
            if self.drainer is not None:
                self.drainer.cancel()
                self.drainer = None
            await context.__aexit__(None, None, None)

    def _ready(self) -> None:
        if self.drainer is None:
            self.drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        sub = self.sub
        try:
            while sub is not None:
                latest: str | None = None
                try:
                    while (event := sub.get_nowait()) is not None:
                        latest = event  # only the newest snapshot matters
                except SubscriberGap:
                    await self._ask_fresh()
                except SubscriberOverflow:
                    sub.overflowed = False  # nothing to resync from but a fresh snapshot
                    await self._ask_fresh()
                if latest is None:
                    return
                self.moved(orjson.loads(latest))
                await asyncio.sleep(0)  # let the sockets send before reading the next snapshot
        finally:
            if self.drainer is asyncio.current_task():
                self.drainer = None

    async def _ask_fresh(self) -> None:
        _, force, category = self.channel.split(":", 2)
        with contextlib.suppress(Exception):
            await self.publisher.request(force, category)

    def moved(self, frame: dict[str, object]) -> int:
        """Tell the local waiting visitors whose place changed; returns how many were told."""
        at = float(frame.get("at") or 0)  # type: ignore[arg-type]
        if at < self.at:
            return 0
        self.at = at
        ids = frame.get("ids")
        if not isinstance(ids, list):
            return 0
        told = 0
        waiting = self.waiting
        for index, conversation_id in enumerate(ids):
            seat = waiting.get(conversation_id)
            if seat is None or seat.since > at or seat.position == index + 1:
                continue
            seat.position = index + 1
            seat.sub.deliver(dumps({"type": "queue_position", "position": index + 1, "at": at}))
            told += 1
        return told


def watch_of(state: ChatState, channel: str, publisher: QueuePublisher) -> QueueWatch:
    watches: dict[str, QueueWatch] = state.extension(_WATCHES, dict)
    watch = watches.get(channel)
    if watch is None:
        watch = watches[channel] = QueueWatch(state, channel, publisher)
    return watch
