"""Redis pub/sub backend: one subscriber connection per process, multiplexed over local subscriptions.

An event is delivered to the subscribers of its own process at once, then published to Redis for the others,
tagged with this process's origin so that its echo from Redis is dropped: a process's own sockets do not wait for
a round trip through Redis, and a Redis outage does not cut sockets that share a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chat.broker import Subscription, _LocalFanout
from chat.redis_subscriber import RedisSubscriber

log = logging.getLogger("pnav.broker")

# Keeps the pub/sub connection in subscribed mode even when no socket is subscribed.
CONTROL_CHANNEL = "pnav:control"
# An event on Redis starts with its origin: "~", 16 hex digits random per process, ":". JSON never starts with "~",
# so an untagged event (another tool, a process of an earlier version during a rolling restart) still goes through.
ORIGIN_LENGTH = 18
# Publishes per pipeline: one round trip for a burst of messages, and a pipeline small enough (a few hundred KiB
# at most) that Redis answers it in well under a millisecond.
MAX_PIPELINE = 200


class RedisBroker(_LocalFanout):
    def __init__(self, url: str, queue_size: int = 256) -> None:
        super().__init__(queue_size)
        self.url = url
        # Short timeouts: a publish that hangs would hold a message handler; the database already has the message,
        # so a failed publish only delays live delivery until the receiver resyncs.
        # TCP keepalive: the subscriber connection blocks on reads, so a peer that vanished (no reset) is found by
        # the kernel's probes rather than by a read timeout.
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30, socket_keepalive=True
        )
        self._origin = f"~{secrets.token_hex(8)}:"
        self._origin_bytes = self._origin.encode()
        self._subscriber = RedisSubscriber(url, self._received, self._resync_all,
                                           lambda: [CONTROL_CHANNEL, *self.local])
        # Events waiting for the publisher task; bounded in practice by the callers, who each await their event.
        self._outbox: list[tuple[str, str, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self._subscriber.connect()

    async def disconnect(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._subscriber.close()
        await self._client.aclose()

    async def publish(self, channel: str, event: str) -> None:
        """Delivers to this process's subscribers, then returns once the event was handed to Redis for the other
        processes: publishes that meet are sent in one pipeline, in order."""
        self.fan_out(channel, event)  # this process's subscribers first, without a round trip
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, self._origin + event, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="pnav-redis-publisher")
        await future

    async def _flush(self) -> None:
        try:
            while self._outbox:
                batch, self._outbox = self._outbox[:MAX_PIPELINE], self._outbox[MAX_PIPELINE:]
                # Twice: after a Redis restart the first pipeline may go out on a pooled connection the old server
                # closed; the retry opens a fresh one. Subscribers dedup by seq, so an event sent twice is harmless,
                # while one lost after the subscribers resynced would stay missing until the next message.
                for attempt in range(2):
                    try:
                        async with self._client.pipeline(transaction=False) as pipe:
                            for channel, event, _ in batch:
                                pipe.publish(channel, event)
                            await pipe.execute()
                        break
                    except (RedisError, OSError) as exc:
                        if attempt == 1:
                            # Live delivery is best effort; subscribers detect the seq gap and read the database.
                            log.warning("publish of %d events failed: %s", len(batch), exc)
                for *_, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flusher = None
            for *_, future in self._outbox:  # only when cancelled at shutdown
                future.cancel()
            self._outbox.clear()

    async def ping(self) -> bool:
        # Twice: after a Redis restart the first command on a pooled connection fails; the retry opens a fresh one,
        # so /healthz does not report a Redis that is up as down.
        for _attempt in range(2):
            try:
                return bool(await self._client.ping())
            except (RedisError, OSError):
                continue
        return False

    def subscribe(self, *channels: str, on_ready: Callable[[], None] | None = None
                  ) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self._subscription(self, channels, on_ready)

    async def _attach(self, channel: str, sub: Subscription) -> None:
        subs = self.local.setdefault(channel, set())
        subs.add(sub)
        if len(subs) == 1:
            await self._subscriber.subscribe(channel)

    async def _detach(self, channel: str, sub: Subscription) -> None:
        subs = self.local.get(channel)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self.local[channel]
            self._subscriber.unsubscribe(channel)

    def _received(self, channel: bytes, data: bytes) -> None:
        if data.startswith(self._origin_bytes):
            return  # our own event, already delivered here when it was published
        self.fan_out(channel.decode(), (data[ORIGIN_LENGTH:] if data[:1] == b"~" else data).decode())

    def _resync_all(self) -> None:
        for subs in self.local.values():
            for sub in subs:
                sub.signal_gap()
