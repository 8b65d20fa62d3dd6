"""The Redis pub/sub connection of a process, read by an asyncio protocol with hiredis.

redis-py's ``PubSub`` reads one message per await, through several layers of Python (health check, timeout
context, response handlers): 8% of a saturated process in the profile (BENCHMARKS.md). Here ``data_received``
parses whatever arrived with hiredis and hands each message to a callback, in the order Redis sent them, with no
task or future per message. Commands (SUBSCRIBE, UNSUBSCRIBE, PING, AUTH) are written as RESP; ``subscribe``
returns once Redis confirmed it, so that a caller can read the database after it and miss nothing.

The connection is reopened after a loss, with back-off, whatever the error (only cancellation stops it): every
channel is subscribed again and ``on_reconnected`` runs, because what was published meanwhile is gone (the broker
tells each subscriber to resync). Before each connection the master's address is asked again (``RedisTarget``):
behind Sentinel, a reconnection after a failover finds the promoted replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

import hiredis

from chat.redis_target import RedisTarget

log = logging.getLogger("pnav.broker")

# Connecting and authenticating take milliseconds; a Redis that has not answered in 2 s is treated as down.
CONNECT_TIMEOUT = 2.0
# A subscribe waits this long for Redis to confirm it; past it the caller goes on (the reconnection that follows
# a dead connection subscribes again and makes every subscriber resync).
CONFIRM_TIMEOUT = 5.0
# A quiet connection is probed with a PING every 30 s and declared dead after 75 s without a byte: a Redis that
# vanished without a reset (a network partition, a frozen VM) is found within about a minute, not hours of TCP.
PING_EVERY = 30.0
DEAD_AFTER = 75.0


def command(*args: bytes) -> bytes:
    """RESP encoding of one command."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts += [b"$%d\r\n" % len(arg), arg, b"\r\n"]
    return b"".join(parts)


class SubscriberProtocol(asyncio.Protocol):
    def __init__(self, on_message: Callable[[bytes, bytes], None], on_lost: Callable[[], None]) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._parser = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        # Confirmations of SUBSCRIBE, by channel, in the order they were asked; replies to AUTH, in order.
        self._confirming: dict[bytes, list[asyncio.Future[None]]] = {}
        self._replies: list[asyncio.Future[Any]] = []
        self.last_read = time.monotonic()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        try:
            self._read(data)
        except Exception:
            # A protocol error, a bug in a callback: this connection's state is unknown now. Drop it; the
            # reconnection subscribes again and every subscriber resyncs from the database.
            log.exception("redis subscriber could not read a reply: reconnecting")
            if self.transport is not None:
                self.transport.abort()

    def _read(self, data: bytes) -> None:
        self._parser.feed(data)
        while (reply := self._parser.gets()) is not False:
            if isinstance(reply, list) and reply:
                kind = reply[0]
                if kind == b"message":
                    self._on_message(reply[1], reply[2])
                elif kind == b"subscribe":
                    waiting = self._confirming.get(reply[1])
                    if waiting:
                        future = waiting.pop(0)
                        if not waiting:
                            del self._confirming[reply[1]]
                        if not future.done():
                            future.set_result(None)
                # unsubscribe confirmations and pongs need nothing
            elif self._replies:
                future = self._replies.pop(0)
                if not future.done():
                    if isinstance(reply, hiredis.ReplyError):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        # Nobody waits for a dead connection: the reconnection subscribes again and the broker resyncs everyone.
        for waiting in self._confirming.values():
            for future in waiting:
                if not future.done():
                    future.set_result(None)
        for future in self._replies:
            if not future.done():
                future.set_exception(ConnectionError("redis connection lost"))
        self._confirming.clear()
        self._replies.clear()
        self._on_lost()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.lost:
            self.transport.write(data)

    def ask(self, data: bytes) -> asyncio.Future[Any]:
        """Send a command answered by a plain reply (AUTH) and return the future of that reply."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies.append(future)
        self.write(data)
        return future

    def subscribe(self, channels: list[bytes]) -> list[asyncio.Future[None]]:
        futures: list[asyncio.Future[None]] = []
        for channel in channels:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._confirming.setdefault(channel, []).append(future)
            futures.append(future)
        self.write(command(b"SUBSCRIBE", *channels))
        return futures


class RedisSubscriber:
    """One subscriber connection kept open for the life of the process."""

    def __init__(self, target: RedisTarget, on_message: Callable[[bytes, bytes], None],
                 on_reconnected: Callable[[], None], channels: Callable[[], Iterable[str]]) -> None:
        self._target = target
        self._ssl = target.ssl_context()
        self._on_message = on_message
        self._on_reconnected = on_reconnected
        self._channels = channels  # every channel to (re)subscribe after a reconnection
        self._protocol: SubscriberProtocol | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._closing = False
        # Plain counters for the metrics module (the lead wires them): connections lost, reconnections made.
        self.losses = 0
        self.reconnections = 0

    @property
    def healthy(self) -> bool:
        """Connected, subscribed, and heard from within DEAD_AFTER (a frozen Redis stays connected but silent)."""
        protocol = self._protocol
        return (protocol is not None and not protocol.lost and self._reconnecting is None
                and time.monotonic() - protocol.last_read < DEAD_AFTER)

    async def connect(self) -> None:
        """Open the connection and subscribe every channel; raises if Redis cannot be reached."""
        protocol = await self._open()
        await self._confirm(protocol.subscribe([c.encode() for c in self._channels()]))
        self._watch()

    async def subscribe(self, channel: str) -> None:
        protocol = self._protocol
        if protocol is None or protocol.lost:
            return  # the reconnection subscribes every channel, then everyone resyncs
        await self._confirm(protocol.subscribe([channel.encode()]))

    def unsubscribe(self, channel: str) -> None:
        if self._protocol is not None:
            self._protocol.write(command(b"UNSUBSCRIBE", channel.encode()))

    async def close(self) -> None:
        self._closing = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()

    async def _open(self) -> SubscriberProtocol:
        loop = asyncio.get_running_loop()
        target = self._target
        protocol = SubscriberProtocol(self._on_message, self._lost)

        def factory() -> SubscriberProtocol:
            return protocol

        # Behind Sentinel, where the master is now (a failover moves it); otherwise the URL's host.
        address = await asyncio.wait_for(target.address(), CONNECT_TIMEOUT * 2)
        if isinstance(address, str):
            opening = loop.create_unix_connection(factory, address)
        else:
            host, port = address
            opening = loop.create_connection(factory, host, port, ssl=self._ssl,
                                             server_hostname=host if self._ssl is not None else None)
        await asyncio.wait_for(opening, CONNECT_TIMEOUT)
        if target.password:
            credentials = [target.username or "", target.password]
            auth = command(b"AUTH", *(c.encode() for c in credentials if c))
            try:
                await asyncio.wait_for(protocol.ask(auth), CONNECT_TIMEOUT)
            except BaseException:
                if protocol.transport is not None:
                    protocol.transport.close()
                raise
        self._protocol = protocol
        return protocol

    async def _confirm(self, futures: list[asyncio.Future[None]]) -> None:
        try:
            await asyncio.wait_for(asyncio.gather(*futures), CONFIRM_TIMEOUT)
        except TimeoutError:
            log.warning("redis did not confirm a subscription within %.0f s", CONFIRM_TIMEOUT)
            self._drop()

    def _lost(self) -> None:
        if self._closing or self._reconnecting is not None:
            return
        log.warning("redis subscriber connection lost")
        self.losses += 1
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect(), name="pnav-redis-reconnect")

    def _drop(self) -> None:
        """Close a connection that stopped answering; ``connection_lost`` then starts the reconnection."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.abort()

    async def _reconnect(self) -> None:
        delay = 0.1
        try:
            while not self._closing:
                # Back off with jitter (0.1 s doubling to 5 s) so N processes do not hammer a restarting Redis.
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 5.0)
                try:
                    protocol = await self._open()
                    await asyncio.wait_for(asyncio.gather(*protocol.subscribe(
                        [c.encode() for c in self._channels()])), CONFIRM_TIMEOUT)
                except Exception as exc:
                    # Any error at all (a refused connection, a sentinel without a master, a bug): never give up,
                    # only cancellation (shutdown) ends this loop.
                    log.warning("redis subscriber reconnection failed: %s", type(exc).__name__)
                    self._drop()
                    continue
                if protocol.lost:
                    continue
                log.info("redis subscriber reconnected")
                self.reconnections += 1
                # Events published while we were away are gone: every local subscriber catches up from the database.
                try:
                    self._on_reconnected()
                except Exception:
                    log.exception("redis subscriber: resync after reconnection failed")
                return
        finally:
            self._reconnecting = None

    def _watch(self) -> None:
        """Every PING_EVERY: probe a quiet connection; drop one silent for DEAD_AFTER."""
        protocol = self._protocol
        if protocol is not None and not protocol.lost:
            quiet = time.monotonic() - protocol.last_read
            if quiet >= DEAD_AFTER:
                log.warning("redis subscriber silent for %.0f s: reconnecting", quiet)
                self._drop()
            elif quiet >= PING_EVERY:
                protocol.write(command(b"PING"))
        if not self._closing:
            self._watchdog = asyncio.get_running_loop().call_later(PING_EVERY, self._watch)
