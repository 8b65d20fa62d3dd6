"""The Redis broker under errors nobody planned for, on a real Redis: the subscriber never gives up, publishes never
hold an ack, dropped events become resync notices; and what PNAV_REDIS_URL may say (Sentinel, TLS settings)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from chat import broker_redis
from chat.broker import SubscriberGap
from chat.broker_redis import RedisBroker
from chat.redis_subscriber import RedisSubscriber
from chat.redis_target import RedisUrlError, parse_redis_url
from tests.servers import UNIT


@pytest.fixture
async def broker(redis_url: str) -> AsyncIterator[RedisBroker]:
    b = RedisBroker(redis_url, queue_size=64)
    await b.connect()
    yield b
    await b.disconnect()


async def _wait(condition: object, seconds: float) -> None:
    assert callable(condition)
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05 * UNIT)
    raise AssertionError("condition not met in time")


async def test_an_unexpected_error_while_reconnecting_does_not_stop_the_subscriber(
        broker: RedisBroker, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any exception but cancellation during a reconnection (here a bug-like ValueError, then a RuntimeError) is
    followed by another try with back-off, and the subscriber ends up connected and healthy."""
    subscriber: RedisSubscriber = broker._subscriber
    real_open = subscriber._open
    failures = [ValueError("unexpected"), RuntimeError("also unexpected")]

    async def failing_open() -> object:
        if failures:
            raise failures.pop(0)
        return await real_open()

    monkeypatch.setattr(subscriber, "_open", failing_open)
    client = aioredis.Redis.from_url(redis_url)
    await client.client_kill_filter(_type="pubsub")
    await client.aclose()
    await _wait(lambda: not failures and subscriber.healthy, 20 * UNIT)
    assert subscriber.reconnections >= 1 and await broker.ping()


async def test_an_error_in_the_reader_drops_the_connection_and_it_comes_back(broker: RedisBroker,
                                                                           redis_url: str) -> None:
    """An exception raised while reading a message (a broken callback) closes the connection instead of leaving
    it deaf; it is reopened, subscribers resync, and later events arrive."""
    channel = f"conv:{secrets.token_hex(4)}"
    other = RedisBroker(redis_url, queue_size=64)
    await other.connect()
    try:
        async with broker.subscribe(channel) as sub:
            real = broker._received
            calls = 0

            def explode_once(channel_bytes: bytes, data: bytes) -> None:
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise KeyError("injected")
                real(channel_bytes, data)

            protocol = broker._subscriber._protocol
            assert protocol is not None
            protocol._on_message = explode_once
            await other.publish(channel, '{"type":"typing","n":1}')
            with pytest.raises(SubscriberGap):
                await asyncio.wait_for(sub.get(), 10 * UNIT)
            assert broker._subscriber.losses == 1
            for _ in range(50):
                await other.publish(channel, '{"type":"typing","n":2}')
                try:
                    assert await asyncio.wait_for(sub.get(), 0.1 * UNIT) == '{"type":"typing","n":2}'
                    break
                except TimeoutError:
                    continue
            else:
                raise AssertionError("no event after the reconnection")
    finally:
        await other.disconnect()


async def test_publish_does_not_wait_for_a_frozen_redis(broker: RedisBroker, redis_url: str) -> None:
    """With Redis frozen (SIGSTOP), publish returns at once; once Redis answers again the dropped events become a
    resync notice that reaches every process's subscribers."""
    channel = f"conv:{secrets.token_hex(4)}"
    other = RedisBroker(redis_url, queue_size=64)
    await other.connect()
    client = aioredis.Redis.from_url(redis_url)
    pid = int((await client.info("server"))["process_id"])
    await client.aclose()
    try:
        async with other.subscribe(channel) as there:
            subprocess.run(["kill", "-STOP", str(pid)], check=True)
            try:
                loop = asyncio.get_running_loop()
                started = loop.time()
                for n in range(100):
                    await broker.publish(channel, f'{{"type":"typing","n":{n}}}')
                assert loop.time() - started < 0.5 * UNIT
                await _wait(lambda: broker.dropped > 0, 10 * UNIT)
            finally:
                subprocess.run(["kill", "-CONT", str(pid)], check=True)
            await _wait(lambda: broker.resyncs_sent == 1, 10 * UNIT)
            gap = False
            for _ in range(200):
                try:
                    await asyncio.wait_for(there.get(), 0.05 * UNIT)
                except SubscriberGap:
                    gap = True
                    break
                except TimeoutError:
                    continue
            assert gap, "the other process's subscriber was not told to resync"
    finally:
        await other.disconnect()


async def test_a_full_outbox_is_dropped_and_owed_a_resync(broker: RedisBroker, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Past OUTBOX_LIMIT waiting events the outbox is emptied (memory stays bounded) and a resync notice is sent."""
    monkeypatch.setattr(broker_redis, "OUTBOX_LIMIT", 10)
    for n in range(25):
        await broker.publish("conv:x", f'{{"n":{n}}}')  # no await in between: the publisher has not run yet
    assert len(broker._outbox) <= 10 and broker.dropped >= 10
    await _wait(lambda: broker.resyncs_sent == 1 and not broker._outbox, 10 * UNIT)


def test_sentinel_urls() -> None:
    """The documented Sentinel URL: hosts, service, database, the master's password and the sentinels' own."""
    target = parse_redis_url("redis+sentinel://:s%40cret@10.0.0.1:26379,[::1]:26380/pnav/2"
                             "?sentinel_password=watch")
    assert target.sentinels == (("10.0.0.1", 26379), ("::1", 26380))
    assert (target.service, target.db, target.password) == ("pnav", 2, "s@cret")
    assert target.sentinel_options == {"password": "watch"}
    assert not target.tls
    assert parse_redis_url("rediss+sentinel://h:26379/pnav").tls
    for bad in ("redis+sentinel://h:26379", "redis+sentinel://h/pnav", "redis+sentinel://h:1/pnav/x",
                "redis+sentinel://h:1/pnav?socket_timeout=1"):
        with pytest.raises(RedisUrlError):
            parse_redis_url(bad)


def test_rediss_settings_reach_the_subscriber(tmp_path: Path) -> None:
    """rediss:// with ssl_ca_certs, ssl_certfile, ssl_keyfile and ssl_cert_reqs: the subscriber's TLS context is
    the one redis-py builds for its own connections (CA loaded, client certificate, verification)."""
    key, cert = _self_signed(tmp_path, "redis.test")
    target = parse_redis_url(f"rediss://redis.test:6380/0?ssl_ca_certs={cert}&ssl_certfile={cert}"
                             f"&ssl_keyfile={key}&ssl_cert_reqs=required")
    context = target.ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert ((("commonName", "redis.test"),),) in [c["subject"] for c in context.get_ca_certs()]
    relaxed = parse_redis_url("rediss://h:6380/0?ssl_cert_reqs=none").ssl_context()
    assert relaxed is not None and relaxed.verify_mode == ssl.CERT_NONE and not relaxed.check_hostname
    assert parse_redis_url("redis://h:6379/0").ssl_context() is None


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A throwaway key and self-signed certificate (its own CA) for ``name``."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    key, cert = directory / "key.pem", directory / "cert.pem"
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key, cert


async def test_every_attach_waits_for_the_subscription(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18, item 3: a console and a visitor reconnecting together subscribe to one channel; the first one's
    SUBSCRIBE is slow to be confirmed. The second must not return (and read the database) before the subscription is
    live: a message published by another process right after it returned reaches it."""
    broker = RedisBroker(redis_url, queue_size=8)
    await broker.connect()
    other = aioredis.from_url(redis_url)
    gate = asyncio.Event()
    real = broker._subscriber.subscribe

    async def slow(channel: str) -> None:
        await gate.wait()
        await real(channel)

    monkeypatch.setattr(broker._subscriber, "subscribe", slow)
    try:
        async with contextlib.AsyncExitStack() as stack:
            first = asyncio.create_task(stack.enter_async_context(broker.subscribe("conv:interleaved")))
            await asyncio.sleep(0.05)
            asyncio.get_running_loop().call_later(0.3, gate.set)
            second = await asyncio.wait_for(stack.enter_async_context(broker.subscribe("conv:interleaved")),
                                            5 * UNIT)
            # The second subscriber has "read the database"; another process publishes the next message now.
            await other.publish("conv:interleaved", "after-the-read")
            assert await asyncio.wait_for(second.get(), 2 * UNIT) == "after-the-read"
            await first
    finally:
        await other.aclose()
        await broker.disconnect()
