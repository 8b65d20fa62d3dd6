"""Append to the audit chain and walk it.

Every entry's ``hash`` is HMAC-SHA256, under ``PNAV_AUDIT_KEY``, of its seq, time, actor, action, target, details and
the previous entry's ``hash`` (``prev_hash``; the first entry follows ``GENESIS``). Editing, deleting or inserting a
row breaks the chain from that row on, and recomputing the chain after an edit needs the key, which is not in the
database. A truncated tail keeps a valid chain: ``audit.checkpoints`` catches that against a head kept elsewhere.

``record`` writes inside the caller's transaction when given a session — the act and its trace commit together or
not at all, which is how every act is audited — or in its own transaction when given a session factory or the state
(for what is not a write: a read of contact details, a refused command). Never put an address, a contact detail or
a message in ``details``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import keys
from audit.models import AuditEvent
from chat.db import utcnow
from chat.state import ChatState

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


def _material(seq: int, at: datetime, actor: str, action: str, target: str, details: str, prev: str) -> bytes:
    return json.dumps([seq, _iso(at), actor, action, target, details, prev], ensure_ascii=False,
                      separators=(",", ":")).encode()


def entry_mac(key: bytes, seq: int, at: datetime, actor: str, action: str, target: str, details: str,
              prev_hash: str) -> str:
    """The keyed link of one entry (what ``hash`` holds)."""
    return hmac.new(key, _material(seq, at, actor, action, target, details, prev_hash), hashlib.sha256).hexdigest()


def legacy_hash(seq: int, at: datetime, actor: str, action: str, target: str, details: str, prev_hash: str) -> str:
    """The unkeyed SHA-256 link of the chain before ``audit_0001`` (kept to check that chain once, when re-keying)."""
    return hashlib.sha256(_material(seq, at, actor, action, target, details, prev_hash)).hexdigest()


async def _append(session: AsyncSession, actor: str, action: str, target: str, details: str) -> AuditEvent:
    key = keys.of(session)
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    head = (await session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                                  .limit(1))).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    # Microsecond precision is what both databases keep: the MAC is computed on what will be read back.
    at = utcnow()
    actor, action, target = actor[:64], action[:64], target[:128]
    event = AuditEvent(seq=seq, at=at, actor=actor, action=action, target=target, details=details, prev_hash=prev,
                       hash=entry_mac(key, seq, at, actor, action, target, details, prev))
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
    # The MAC of each entry asked for (checkpoints name an entry count and the MAC of that entry).
    macs: dict[int, str] = field(default_factory=dict)


async def verify(sessions: async_sessionmaker[AsyncSession], *, keep: Collection[int] = ()) -> Verification:
    """Walk the chain in seq order; report the first entry whose seq, link or MAC does not check out."""
    key = keys.of_factory(sessions)
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    macs: dict[int, str] = {}
    async with sessions() as session:
        result = await session.stream_scalars(select(AuditEvent).order_by(AuditEvent.seq))
        async for event in result:
            if event.seq != expected_seq:
                return Verification(checked, event.seq, f"entry {expected_seq} is missing", expected_prev, macs)
            if event.prev_hash != expected_prev:
                return Verification(checked, event.seq, "does not follow the previous entry", expected_prev, macs)
            mac = entry_mac(key, event.seq, event.at, event.actor, event.action, event.target, event.details,
                            event.prev_hash)
            if not hmac.compare_digest(mac, event.hash):
                return Verification(checked, event.seq, "content was altered (its MAC does not match)",
                                    expected_prev, macs)
            if event.seq in keep:
                macs[event.seq] = event.hash
            expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return Verification(checked, None, "", expected_prev, macs)
