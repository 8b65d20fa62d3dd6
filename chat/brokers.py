"""The broker a URL names: the in-process one (``memory://``) or Redis pub/sub (``chat.broker_redis``)."""

from __future__ import annotations

from chat.broker import Broker, MemoryBroker
from chat.broker_redis import RedisBroker


def create_broker(url: str, queue_size: int = 256) -> Broker:
    if url.startswith("memory://"):
        return MemoryBroker(queue_size)
    if url.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://", "rediss+sentinel://")):
        return RedisBroker(url, queue_size)
    raise ValueError(f"unknown broker URL scheme: {url.split(':', 1)[0]!r} "
                     "(use memory://, redis://, rediss:// or redis+sentinel://)")
