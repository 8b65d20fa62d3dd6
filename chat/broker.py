"""Fan-out of events between sockets and processes: in-process (``memory://``) or Redis pub/sub (``redis://``).

The database is the truth; the broker only tells live subscribers that something happened. A subscriber that
misses events (slow client, Redis restart) resumes from the database by ``seq``, so the broker may drop, never
grow without bound: each subscriber has a bounded queue and is marked overflowed when it fills.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from chat.metrics import GAP_OVERFLOW, GAP_UPSTREAM

log = logging.getLogger("pnav.broker")


class SubscriberOverflow(Exception):
    """The subscriber did not keep up and lost events: close its socket; the client resumes by seq."""


class SubscriberGap(Exception):
    """The broker may have lost events (Redis reconnected): catch up from the database, then go on."""


class Subscription:
    """A bounded buffer of events for one subscriber, possibly on several channels.

    Read it with ``await get()``, or give ``on_ready`` and drain it with ``get_nowait()`` from a task started only
    when events arrive: an idle socket then holds no task of its own for its subscription (memory per socket).
    """

    __slots__ = ("_broker", "_events", "_gap", "_maxsize", "_on_ready", "_waiter", "channels", "overflowed")

    def __init__(self, broker: Broker, maxsize: int, on_ready: Callable[[], None] | None = None) -> None:
        self._broker = broker
        self._maxsize = maxsize
        # A list, not a deque: an empty deque costs 760 bytes per socket, and the buffer holds one event or two.
        self._events: list[str] = []
        self._waiter: asyncio.Future[None] | None = None
        self._on_ready = on_ready
        self.channels: set[str] = set()
        self.overflowed = False
        self._gap = False

    def __len__(self) -> int:
        return len(self._events)

    def deliver(self, event: str) -> None:
        """Called by the broker; never blocks. A full buffer marks the subscription overflowed."""
        if self.overflowed:
            return
        if len(self._events) >= self._maxsize:
            self.overflowed = True
            GAP_OVERFLOW.inc()
            self._events.clear()  # the reader will resync from the database: what it missed is no use now
        else:
            self._events.append(event)
        self._wake()

    def signal_gap(self) -> None:
        """Tell the reader that events may have been lost upstream (not its fault): it should resync."""
        GAP_UPSTREAM.inc()
        self._gap = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self._on_ready is not None:
            self._on_ready()

    async def add(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            await self._broker._attach(channel, self)

    async def remove(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            await self._broker._detach(channel, self)

    def get_nowait(self) -> str | None:
        """The next event, None when there is none; raises SubscriberOverflow or SubscriberGap (once)."""
        if self.overflowed:
            raise SubscriberOverflow
        if self._events:
            return self._events.pop(0)
        if self._gap:
            self._gap = False
            raise SubscriberGap
        return None

    async def drain(self, on_event: Callable[[str], Awaitable[None]], on_gap: Callable[[], Awaitable[None]]) -> None:
        """Hand every pending event to ``on_event`` (a gap to ``on_gap``) and return once none is left; raises
        SubscriberOverflow. Nothing is awaited between finding the buffer empty and returning: a reader that marks
        its drain over right after this returns misses no event, the next one starts a new drain (``on_ready``)."""
        while True:
            try:
                event = self.get_nowait()
            except SubscriberGap:
                await on_gap()
                continue
            if event is None:
                return
            await on_event(event)

    async def get(self) -> str:
        while (event := self.get_nowait()) is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return event

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while True:
            yield await self.get()


class Broker(Protocol):
    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def publish(self, channel: str, event: str) -> None: ...
    async def ping(self) -> bool: ...
    def subscribe(self, *channels: str, on_ready: Callable[[], None] | None = None
                  ) -> contextlib.AbstractAsyncContextManager[Subscription]: ...
    async def _attach(self, channel: str, sub: Subscription) -> None: ...
    async def _detach(self, channel: str, sub: Subscription) -> None: ...


class _LocalFanout:
    """The channel → local subscriptions table both backends keep."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.local: dict[str, set[Subscription]] = {}

    def fan_out(self, channel: str, event: str) -> None:
        for sub in tuple(self.local.get(channel, ())):
            sub.deliver(event)

    @contextlib.asynccontextmanager
    async def _subscription(self, broker: Broker, channels: tuple[str, ...],
                            on_ready: Callable[[], None] | None) -> AsyncIterator[Subscription]:
        sub = Subscription(broker, self.queue_size, on_ready)
        try:
            for channel in channels:
                await sub.add(channel)
            yield sub
        finally:
            for channel in tuple(sub.channels):
                await sub.remove(channel)


class MemoryBroker(_LocalFanout):
    def __init__(self, queue_size: int = 256) -> None:
        super().__init__(queue_size)

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        self.local.clear()

    async def publish(self, channel: str, event: str) -> None:
        self.fan_out(channel, event)

    async def ping(self) -> bool:
        return True

    def subscribe(self, *channels: str, on_ready: Callable[[], None] | None = None
                  ) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self._subscription(self, channels, on_ready)

    async def _attach(self, channel: str, sub: Subscription) -> None:
        self.local.setdefault(channel, set()).add(sub)

    async def _detach(self, channel: str, sub: Subscription) -> None:
        subs = self.local.get(channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.local[channel]

