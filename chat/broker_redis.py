"""Redis pub/sub backend: one subscriber connection per process, multiplexed over local subscriptions.

An event is delivered to the subscribers of its own process at once, then put in this process's outbox for the
others, tagged with this process's origin so that its echo from Redis is dropped: a process's own sockets do not
wait for a round trip through Redis, and a Redis outage does not cut sockets that share a process.

``publish`` never waits for Redis: a message is acknowledged once committed, whatever the broker does. The outbox
is bounded; a publisher task sends it in pipelines. When events are dropped (the outbox overflowed, or Redis did not
take them), the publisher keeps trying until Redis answers again, then publishes a resync notice on the control
channel: every process tells its subscribers there was a gap, and they catch up from the database by seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import secrets
from collections.abc import Callable

import redis.asyncio as aioredis

from chat.broker import Subscription, _LocalFanout
from chat.redis_subscriber import RedisSubscriber
from chat.redis_target import RedisTarget, parse_redis_url

log = logging.getLogger("pnav.broker")

# Keeps the pub/sub connection in subscribed mode even when no socket is subscribed; also carries resync notices.
CONTROL_CHANNEL = "pnav:control"
CONTROL_CHANNEL_BYTES = CONTROL_CHANNEL.encode()
# Published on the control channel after this process dropped events: every process's subscribers resync.
RESYNC = b"resync"
# An event on Redis starts with its origin: "~", 16 hex digits random per process, ":". JSON never starts with "~",
# so an untagged event (another tool, a process of an earlier version during a rolling restart) still goes through.
ORIGIN_LENGTH = 18
# Publishes per pipeline: one round trip for a burst of messages, and a pipeline small enough (a few hundred KiB
# at most) that Redis answers it in well under a millisecond.
MAX_PIPELINE = 200
# Events waiting for Redis, per process: about a second of a saturated process's traffic (BENCHMARKS.md: ~5,300
# messages/s, a few events each), a few MiB at most. Past that Redis is not keeping up or not there: what waits is
# dropped and every subscriber resyncs from the database, rather than memory growing for the length of an outage.
OUTBOX_LIMIT = 10_000
# After a failed publish, Redis is tried again after 0.1 s doubling to 2 s (with jitter): a restarted or thawed
# Redis is used again within about 2 s, and N processes do not hammer one that is down.
RETRY_FIRST, RETRY_MAX = 0.1, 2.0


class RedisBroker(_LocalFanout):
    def __init__(self, url: str, queue_size: int = 256) -> None:
        super().__init__(queue_size)
        self.url = url
        self.target: RedisTarget = parse_redis_url(url)
        # Deadlines on every command (chat.redis_target): a publish to a frozen Redis fails in 2 s and the events
        # are dropped (subscribers resync); nothing else waits for it.
        self._client: aioredis.Redis = self.target.client()
        self._origin = f"~{secrets.token_hex(8)}:"
        self._origin_bytes = self._origin.encode()
        self._subscriber = RedisSubscriber(self.target, self._received, self._resync_all,
                                           lambda: [CONTROL_CHANNEL, *self.local])
        self._outbox: list[tuple[str, str]] = []
        # Channels whose SUBSCRIBE Redis has not confirmed yet: every subscriber attaching meanwhile waits for it.
        self._confirming: dict[str, asyncio.Future[None]] = {}
        self._flusher: asyncio.Task[None] | None = None
        # Events were dropped since Redis last took a publish: a resync notice is owed to every process.
        self._gap = False
        # Plain counters for the metrics module (the lead wires them): events dropped, resync notices sent.
        self.dropped = 0
        self.resyncs_sent = 0

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
        """Deliver to this process's subscribers now, and queue the event for the other processes; never waits
        for Redis. Events leave in the order they were published."""
        self.fan_out(channel, event)  # this process's subscribers first, without a round trip
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._drop(len(self._outbox), "outbox full")
        self._outbox.append((channel, self._origin + event))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="pnav-redis-publisher")

    def _drop(self, count: int, why: str) -> None:
        if not self._gap:
            log.warning("redis publisher: %d events dropped (%s); subscribers will resync", count, why)
        self.dropped += count
        self._outbox.clear()
        self._gap = True

    async def _flush(self) -> None:
        delay = RETRY_FIRST
        try:
            while self._outbox or self._gap:
                if self._gap:
                    # First tell everyone, once Redis takes commands again, that events were lost.
                    if not await self._send([(CONTROL_CHANNEL, RESYNC.decode())]):
                        await asyncio.sleep(delay * (0.5 + random.random()))
                        delay = min(delay * 2, RETRY_MAX)
                        continue
                    self._gap = False
                    self.resyncs_sent += 1
                    log.info("redis publisher: Redis answers again; resync notice sent")
                batch, self._outbox = self._outbox[:MAX_PIPELINE], self._outbox[MAX_PIPELINE:]
                if batch and not await self._send(batch):
                    self._drop(len(batch) + len(self._outbox), "redis did not answer")
                delay = RETRY_FIRST
        finally:
            self._flusher = None

    async def _send(self, batch: list[tuple[str, str]]) -> bool:
        # Twice: after a Redis restart the first pipeline may go out on a pooled connection the old server closed;
        # the retry opens a fresh one. Subscribers dedup by seq, so an event sent twice is harmless.
        for _attempt in range(2):
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for channel, event in batch:
                        pipe.publish(channel, event)
                    await pipe.execute()
                return True
            except Exception as exc:  # any failure of the broker costs live delivery only, never a message
                error = exc
        log.debug("publish of %d events failed: %s", len(batch), type(error).__name__)
        return False

    async def ping(self) -> bool:
        """Redis answers a command, and this process's subscriber connection is up and heard from: a process
        whose subscriber is down would serve sockets that miss every other process's events."""
        if not self._subscriber.healthy:
            return False
        # Twice: after a Redis restart the first command on a pooled connection fails; the retry opens a fresh one,
        # so /healthz does not report a Redis that is up as down. Each try has the 2 s command deadline.
        for _attempt in range(2):
            try:
                return bool(await self._client.ping())
            except Exception as exc:  # any failure means "not healthy", never an error page
                log.debug("redis ping failed: %s", type(exc).__name__)
        return False

    def subscribe(self, *channels: str, on_ready: Callable[[], None] | None = None
                  ) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self._subscription(self, channels, on_ready)

    async def _attach(self, channel: str, sub: Subscription) -> None:
        """Return once Redis confirmed the channel's subscription, for every subscriber: a caller reads the
        database after this, and a second subscriber that arrives while the first one's SUBSCRIBE is in flight
        must not read before it is live (it would miss what is published in between)."""
        subs = self.local.setdefault(channel, set())
        subs.add(sub)
        pending = self._confirming.get(channel)
        if len(subs) == 1:
            # A new SUBSCRIBE even when an older one is still in flight: an UNSUBSCRIBE may have been sent after it.
            pending = asyncio.ensure_future(self._subscriber.subscribe(channel))
            self._confirming[channel] = pending
            pending.add_done_callback(functools.partial(self._confirmed, channel))
        if pending is not None:
            await asyncio.shield(pending)  # a cancelled caller leaves the confirmation to the others

    def _confirmed(self, channel: str, pending: asyncio.Future[None]) -> None:
        if self._confirming.get(channel) is pending:
            del self._confirming[channel]
        if not pending.cancelled() and pending.exception() is not None:
            log.debug("redis subscribe of a channel failed: %s", type(pending.exception()).__name__)

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
        if channel == CONTROL_CHANNEL_BYTES:
            if data == RESYNC:
                self._resync_all()  # another process (or this one) dropped events: catch up from the database
            return
        self.fan_out(channel.decode(), (data[ORIGIN_LENGTH:] if data[:1] == b"~" else data).decode())

    def _resync_all(self) -> None:
        for subs in self.local.values():
            for sub in subs:
                sub.signal_gap()
