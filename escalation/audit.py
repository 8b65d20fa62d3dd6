"""The append-only audit log: every entry carries the SHA-256 of the previous one, so editing, deleting or
inserting a row breaks the chain from that row on, and ``pnav audit verify`` names it.

``record`` writes inside the caller's transaction when given a session (the action and its trace commit together),
or in its own transaction when given the state. Never put an address, a contact detail or a message in ``details``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from chat.state import ChatState
from escalation.models import AuditEvent

GENESIS = "0" * 64
# Two writers that read the same head collide on the unique prev_hash; one of them retries. Ten attempts cover
# a burst of simultaneous sign-ins on several processes; past that something else is wrong.
MAX_ATTEMPTS = 10
# An arbitrary constant key for PostgreSQL's advisory lock that serialises appends across processes.
_PG_LOCK = 0x706E6176


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry_hash(seq: int, at: datetime, actor: str, action: str, target: str, details: str, prev_hash: str) -> str:
    material = json.dumps([seq, _iso(at), actor, action, target, details, prev_hash], ensure_ascii=False,
                          separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


async def _append(session: AsyncSession, actor: str, action: str, target: str, details: str) -> AuditEvent:
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    head = (await session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                                  .limit(1))).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    # Microsecond precision is what both databases keep: the hash is computed on what will be read back.
    at = utcnow()
    event = AuditEvent(seq=seq, at=at, actor=actor[:64], action=action[:64], target=target[:128], details=details,
                       prev_hash=prev, hash=entry_hash(seq, at, actor[:64], action[:64], target[:128], details, prev))
    session.add(event)
    await session.flush()
    return event


async def record(where: AsyncSession | ChatState | async_sessionmaker[AsyncSession], *, actor: str, action: str,
                 target: str = "", details: dict[str, Any] | None = None) -> None:
    """Append one entry. ``actor``: a username or ``system``/``cli``; ``action``: dotted, e.g. ``lifting.approved``."""
    body = canonical(details or {})
    if isinstance(where, AsyncSession):
        # Inside the caller's transaction: on PostgreSQL the advisory lock serialises appenders, on SQLite the
        # single writer does; the unique prev_hash still refuses a fork rather than writing one.
        await _append(where, actor, action, target, body)
        return
    sessions = where.sessions if isinstance(where, ChatState) else where
    for _attempt in range(MAX_ATTEMPTS):
        try:
            async with sessions.begin() as session:
                await _append(session, actor, action, target, body)
            return
        except IntegrityError:
            continue
    raise RuntimeError("audit log busy")


@dataclass(frozen=True)
class Verification:
    checked: int
    broken_at: int | None
    reason: str
    head: str


async def verify(sessions: async_sessionmaker[AsyncSession]) -> Verification:
    """Walk the chain in seq order; report the first entry whose seq, link or content does not check out."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    async with sessions() as session:
        result = await session.stream_scalars(select(AuditEvent).order_by(AuditEvent.seq))
        async for event in result:
            if event.seq != expected_seq:
                return Verification(checked, event.seq, f"entry {expected_seq} is missing", expected_prev)
            if event.prev_hash != expected_prev:
                return Verification(checked, event.seq, "does not follow the previous entry", expected_prev)
            if entry_hash(event.seq, event.at, event.actor, event.action, event.target, event.details,
                          event.prev_hash) != event.hash:
                return Verification(checked, event.seq, "content was altered", expected_prev)
            expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return Verification(checked, None, "", expected_prev)
