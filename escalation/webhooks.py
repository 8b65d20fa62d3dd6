"""Notifying a local service's own system: an outbox row written with the signalement, sent with an HMAC-SHA256
signature, retried with exponential backoff until the receiver answers 2xx — a receiver that is down loses nothing.

The payload says that a signalement arrived (id, category, commune, flags, time) and where to read it; the facts
and contact details stay in pnav, behind the inbox's access control and audited reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from chat.settings import ConfigurationError
from chat.state import ChatState
from escalation import config
from escalation.config import EscalationConfig
from escalation.models import Signalement, WebhookDelivery

log = logging.getLogger("pnav.escalation.webhooks")

SIGNATURE_HEADER = "X-Pnav-Signature"
TIMESTAMP_HEADER = "X-Pnav-Timestamp"
# The outbox is polled every 10 s: a new signalement reaches the service's system within seconds, and an idle
# pnav makes six cheap queries a minute.
POLL_SECONDS = 10.0
# Retries start at 30 s and double up to 6 h: a receiver restarting is reached quickly, one down for a weekend is
# not hammered, and it is still tried four times a day until it answers. Deliveries are never abandoned.
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
# A receiver gets 10 s to answer: an HTTP endpoint that stores a notification answers in milliseconds.
TIMEOUT_SECONDS = 10.0
# At most 50 deliveries per round: one slow receiver cannot hold the loop for long.
BATCH = 50
# A claimed delivery is not due again for this long: longer than a round can take (50 × 10 s), so that a delivery
# is never sent by two processes at once; a process that died mid-round has its claims retried after it.
LEASE = timedelta(seconds=BATCH * TIMEOUT_SECONDS + 60)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``timestamp.body``: the receiver checks it and refuses old timestamps (replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def backoff(attempts: int) -> timedelta:
    delay: timedelta = FIRST_RETRY * (2 ** min(attempts - 1, 20))
    return min(delay, MAX_RETRY)


def payload(signalement: Signalement, event: str) -> dict[str, Any]:
    return {
        "event": event, "signalement": signalement.id, "service": signalement.service_id,
        "category": signalement.category, "commune": signalement.commune_name, "insee": signalement.insee,
        "department": signalement.department, "emergency": signalement.emergency, "minor": signalement.minor,
        "created_at": signalement.created_at.isoformat().replace("+00:00", "Z"),
        "inbox_path": f"/service/signalements/{signalement.id}",
    }


def enqueue(session: AsyncSession, cfg: EscalationConfig, signalement: Signalement, event: str) -> None:
    """Add the notification to the outbox in the caller's transaction, if the service has a webhook."""
    if signalement.service_id not in cfg.webhooks:
        return
    session.add(WebhookDelivery(signalement_id=signalement.id, service_id=signalement.service_id, event=event,
                                payload=json.dumps(payload(signalement, event), ensure_ascii=False),
                                attempts=0, next_attempt_at=utcnow(), created_at=utcnow()))


async def claim(sessions: async_sessionmaker[AsyncSession], limit: int = BATCH) -> list[WebhookDelivery]:
    """Take up to ``limit`` due deliveries for this process: locked with ``FOR UPDATE SKIP LOCKED`` (rows another
    process is claiming are skipped, not waited for) and leased — their next attempt moved ``LEASE`` ahead — in one
    short transaction, so that N processes never send the same delivery at the same time. A process that dies while
    sending leaves its claims to be retried when the lease ends. SQLite (one process) has no row locks to take."""
    now = utcnow()
    async with sessions.begin() as session:
        due = list(await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None),
                                          WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))
        if due:
            await session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_([d.id for d in due]))
                                  .values(next_attempt_at=now + LEASE))
    return due


async def deliver_due(state: ChatState, client: httpx.AsyncClient) -> int:
    """Send every due delivery this process could claim, once; returns how many succeeded."""
    cfg = config.of(state)
    due = await claim(state.sessions)
    delivered = 0
    for delivery in due:
        hook = cfg.webhooks.get(delivery.service_id)
        error: str | None = "no webhook configured for this service"
        if hook is not None:
            body = delivery.payload.encode()
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                       SIGNATURE_HEADER: sign(hook.secret, timestamp, body), "X-Pnav-Delivery": str(delivery.id)}
            try:
                response = await client.post(hook.url, content=body, headers=headers)
                error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
        attempts = delivery.attempts + 1
        async with state.sessions.begin() as session:
            if error is None:
                delivered += 1
                values: dict[str, Any] = {"attempts": attempts, "delivered_at": utcnow(), "last_error": None}
            else:
                values = {"attempts": attempts, "next_attempt_at": utcnow() + backoff(attempts),
                          "last_error": error[:200]}
            # Conditional: another process that delivered it meanwhile keeps its result.
            await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id,
                                                                WebhookDelivery.delivered_at.is_(None))
                                  .values(**values))
        if error is not None:
            log.warning("webhook delivery %s to service %s failed (%s); retry in %s", delivery.id,
                        delivery.service_id, error, backoff(attempts))
    return delivered


async def webhook_loop(state: ChatState) -> None:
    """Background task: deliver the outbox forever."""
    try:
        if not config.of(state).webhooks:
            return
    except ConfigurationError:
        return  # the startup check reports it and stops the server
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        while True:
            await deliver_due(state, client)
            await asyncio.sleep(POLL_SECONDS)
