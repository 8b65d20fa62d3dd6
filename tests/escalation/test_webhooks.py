"""The webhook outbox: signed with HMAC-SHA256, retried with backoff while the receiver fails, delivered once up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import partial
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from chat.state import ChatState
from escalation import config, webhooks
from escalation.config import Webhook
from escalation.models import Signalement, WebhookDelivery
from tests.escalation.rows import CONFIG, signalement, tchat

SECRET = "s" * 40


@dataclass
class Receiver:
    """A real HTTP endpoint on a loopback port that answers the statuses it is given, in order."""

    statuses: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:]
                                                               if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver([503])
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/pnav"
    yield found
    server.close()
    await server.wait_closed()


async def test_outbox_retries_then_delivers_signed(sessions: async_sessionmaker[AsyncSession],
                                                   receiver: Receiver) -> None:
    """A 503 schedules a retry 30 s later; the next attempt is delivered with a valid signature; none is lost."""
    cfg = replace(CONFIG, webhooks={"commissariat_police-75111-01": Webhook(receiver.url, SECRET)})
    state: Any = SimpleNamespace(sessions=sessions, extensions={config.EXTENSION: cfg})
    state.extension = partial(ChatState.extension, state)  # the real lookup, over this state's extensions
    conversation_id = await tchat(sessions, closed_days_ago=None)
    signalement_id = await signalement(sessions, conversation_id, closed_days_ago=None)
    async with sessions.begin() as session:
        row = await session.get(Signalement, signalement_id)
        assert row is not None
        webhooks.enqueue(session, cfg, row, "signalement.created")

    async with httpx.AsyncClient(timeout=5) as client:
        assert await webhooks.deliver_due(state, client) == 0
        async with sessions() as session:
            pending = await session.scalar(select(WebhookDelivery))
            assert pending is not None and pending.attempts == 1 and pending.delivered_at is None
            assert pending.last_error == "HTTP 503" and pending.next_attempt_at > utcnow()
        assert await webhooks.deliver_due(state, client) == 0  # not due yet: nothing sent
        async with sessions.begin() as session:
            await session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
        assert await webhooks.deliver_due(state, client) == 1

    assert len(receiver.requests) == 2
    headers, body = receiver.requests[-1]
    timestamp = headers[webhooks.TIMESTAMP_HEADER.lower()]
    assert headers[webhooks.SIGNATURE_HEADER.lower()] == webhooks.sign(SECRET, timestamp, body)
    sent = json.loads(body)
    assert sent["signalement"] == signalement_id and sent["event"] == "signalement.created"
    assert "summary" not in sent and "contact" not in json.dumps(sent)
    async with sessions() as session:
        delivered = await session.scalar(select(WebhookDelivery))
        assert delivered is not None and delivered.delivered_at is not None and delivered.attempts == 2


def test_backoff_doubles_and_is_capped() -> None:
    """Retries wait 30 s, 60 s, 120 s … and never more than six hours."""
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert webhooks.backoff(50) == webhooks.MAX_RETRY


async def test_concurrent_processes_never_send_a_delivery_twice(postgres_url: str, receiver: Receiver) -> None:
    """Issue 18, item 5: five processes' delivery loops run at the same moment on one PostgreSQL (five engines, each
    its own pool, like five processes): every due delivery is sent exactly once (claims are FOR UPDATE SKIP
    LOCKED and leased)."""
    from audit import keys
    from chat.db import create_engine, session_factory
    from tests.conftest import migrated, wipe

    migrated(postgres_url)
    await wipe(postgres_url)
    receiver.statuses = []
    cfg = replace(CONFIG, webhooks={"commissariat_police-75111-01": Webhook(receiver.url, SECRET)})
    engines = [create_engine(postgres_url) for _ in range(5)]
    factories = [keys.bind(session_factory(engine), keys.TEST_KEY) for engine in engines]
    try:
        sessions = factories[0]
        for _ in range(12):
            conversation_id = await tchat(sessions, closed_days_ago=None)
            signalement_id = await signalement(sessions, conversation_id, closed_days_ago=None)
            async with sessions.begin() as session:
                row = await session.get(Signalement, signalement_id)
                assert row is not None
                for event in ("signalement.created", "signalement.reminder"):
                    webhooks.enqueue(session, cfg, row, event)
        states: list[Any] = []
        for factory in factories:
            state: Any = SimpleNamespace(sessions=factory, extensions={config.EXTENSION: cfg})
            state.extension = partial(ChatState.extension, state)
            states.append(state)
        async with httpx.AsyncClient(timeout=5) as client:
            delivered = await asyncio.gather(*(webhooks.deliver_due(state, client) for state in states))
        sent = [json.loads(body)["signalement"] + json.loads(body)["event"] for _, body in receiver.requests]
        assert sum(delivered) == 24 and len(sent) == 24 and len(set(sent)) == 24
    finally:
        for engine in engines:
            await engine.dispose()
