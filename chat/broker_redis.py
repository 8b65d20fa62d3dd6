"""Redis pub/sub backend: one subscriber connection per process, multiplexed over local subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chat.broker import Subscription, _LocalFanout

log = logging.getLogger("pnav.broker")

# Keeps the pub/sub connection open even when no socket is subscribed (redis-py needs one channel).
CONTROL_CHANNEL = "pnav:control"
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
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        # Events waiting for the publisher task; bounded in practice by the callers, who each await their event.
        self._outbox: list[tuple[str, str, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self._pubsub.subscribe(CONTROL_CHANNEL)
        self._reader = asyncio.create_task(self._read_forever(), name="pnav-redis-reader")

    async def disconnect(self) -> None:
        self._closing = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._reader
        with contextlib.suppress(RedisError, RuntimeError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._client.aclose()

    async def publish(self, channel: str, event: str) -> None:
        """Returns once the event was handed to Redis: publishes that meet are sent in one pipeline, in order."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, event, future))
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
            async with self._lock:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(channel)

    async def _detach(self, channel: str, sub: Subscription) -> None:
        subs = self.local.get(channel)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self.local[channel]
            async with self._lock:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    async def _read_forever(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                # Blocks until an event comes (no timer armed and cancelled per event: ~10% of a busy process);
                # a closed or reset connection raises here, and disconnect() cancels this task.
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                delay = 0.1
            except (RedisError, OSError, RuntimeError) as exc:
                log.warning("redis subscriber connection lost: %s", exc)
                await self._reconnect()
                # Back off with jitter (0.1 s doubling to 5 s) so N processes do not hammer a restarting Redis.
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 5.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            data = message["data"]
            self.fan_out(channel, data.decode() if isinstance(data, bytes) else str(data))

    async def _reconnect(self) -> None:
        async with self._lock:
            with contextlib.suppress(RedisError, OSError, RuntimeError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await self._pubsub.subscribe(CONTROL_CHANNEL, *self.local.keys())
            except (RedisError, OSError):
                return
        # Events published while we were away are gone: every local subscriber catches up from the database.
        for subs in self.local.values():
            for sub in subs:
                sub.signal_gap()
