"""Server-side sessions: created at sign-in, checked on every request and frame, revocable, expiring."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from chat.db import ByKeys, one_of_keys, utcnow
from operators.models import Account, AccountSession

COOKIE = "pnav_session"
# A session lasts at most one long shift (12 h) then the person signs in again, TOTP included.
ABSOLUTE_LIFETIME = timedelta(hours=12)
# Idle sessions end after 30 minutes: a console left open on a shared desk must not stay usable. A connected
# console keeps its session alive through its WebSocket heartbeat.
IDLE_TIMEOUT = timedelta(minutes=30)
# last_seen_at is written at most once a minute per session, so busy consoles do not write on every request.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class Signed:
    """A valid session and its account, as handlers see them."""

    session_id: str
    csrf_secret: str
    account: Account


def session_id_of(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


async def open_session(sessions: async_sessionmaker[AsyncSession], account_id: str, *,
                       audit_as: str) -> str:
    """Create a session, audited as ``account.login`` in the same transaction, and return the cookie value (only
    its hash is stored)."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    async with sessions.begin() as session:
        session.add(AccountSession(
            id=session_id_of(cookie), account_id=account_id, csrf_secret=secrets.token_urlsafe(32),
            created_at=now, last_seen_at=now, expires_at=now + ABSOLUTE_LIFETIME,
        ))
        await trail.record(session, actor=audit_as, action="account.login")
    return cookie


def _usable(revoked_at: datetime | None, disabled: bool, expires_at: datetime, last_seen_at: datetime,
            now: datetime) -> bool:
    return revoked_at is None and not disabled and expires_at > now and last_seen_at + IDLE_TIMEOUT > now


async def _with_account(session: AsyncSession, session_id: str) -> tuple[AccountSession, Account] | None:
    found = (await session.execute(
        select(AccountSession, Account).join(Account, Account.id == AccountSession.account_id)
        .where(AccountSession.id == session_id)
    )).first()
    return None if found is None else (found[0], found[1])


async def lookup(sessions: async_sessionmaker[AsyncSession], cookie_value: str | None, *, touch: bool = True) -> (
    Signed | None
):
    """The live session for this cookie, or None (unknown, revoked, expired, idle too long, account disabled)."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    session_id = session_id_of(cookie_value)
    now = utcnow()
    async with sessions() as session:
        found = await _with_account(session, session_id)
        if found is None:
            return None
        row, account = found
        if not _usable(row.revoked_at, account.disabled, row.expires_at, row.last_seen_at, now):
            return None
        if touch and row.last_seen_at + TOUCH_INTERVAL < now:
            await session.execute(update(AccountSession).where(AccountSession.id == session_id)
                                  .values(last_seen_at=now))
            await session.commit()
        return Signed(session_id, row.csrf_secret, account)


# The re-check of every console frame, built once: only the columns that decide, no ORM objects.
_ALIVE_AMONG = ByKeys(lambda dialect: (
    select(AccountSession.id, AccountSession.revoked_at, AccountSession.expires_at, AccountSession.last_seen_at,
           Account.disabled)
    .join(Account, Account.id == AccountSession.account_id)
    .where(one_of_keys(AccountSession.__table__.c.id, dialect))
))


async def alive_among(sessions: async_sessionmaker[AsyncSession], session_ids: list[str]) -> dict[str, bool]:
    """Which of these sessions are still usable (revoked, expired, idle too long or account disabled → False)."""
    now = utcnow()
    rows = await _ALIVE_AMONG.rows(sessions, session_ids)
    return {sid: _usable(revoked, disabled, expires, seen, now) for sid, revoked, expires, seen, disabled in rows}


_SESSIONS = cast(Table, AccountSession.__table__)
# Core, not the ORM's bulk update: no session synchronisation to do for rows nobody holds.
_HEARTBEAT = (
    update(_SESSIONS).where(_SESSIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_seen_at=bindparam("now"), console_seen_at=bindparam("now"))
)


async def heartbeat_many(sessions: async_sessionmaker[AsyncSession], session_ids: list[str]) -> list[
    BaseException | None
]:
    """Connected consoles are present and active: keep their sessions alive and mark them online (one UPDATE)."""
    async with sessions.begin() as session:
        await session.execute(_HEARTBEAT, {"ids": session_ids, "now": utcnow()})
    return [None] * len(session_ids)


async def console_closed(sessions: async_sessionmaker[AsyncSession], session_id: str) -> None:
    async with sessions.begin() as session:
        await session.execute(update(AccountSession).where(AccountSession.id == session_id)
                              .values(console_seen_at=None))


async def revoke(sessions: async_sessionmaker[AsyncSession], session_id: str) -> None:
    async with sessions.begin() as session:
        await session.execute(update(AccountSession).where(AccountSession.id == session_id)
                              .values(revoked_at=utcnow()))
