"""One-time links for a person's own credentials: the first sign-in of a new account (choose a password, then enrol
the TOTP app), a new password, or a new TOTP app.

The admin or supervisor who asks for a link sees the link, never the password or the TOTP secret: the QR code is
drawn only for whoever opens the link, once per enrolment step. Only the SHA-256 of the token is stored; a link
expires, works once, and asking for a new one voids the older ones of that account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from operators.models import Account, AccountLink

PURPOSES = ("activate", "password", "totp")
# 72 hours: a link handed over on a Friday still works on Monday; short enough that a forgotten one soon dies.
LIFETIME = timedelta(hours=72)
PATH = "/compte/lien/"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Found:
    link: AccountLink
    account: Account


async def issue(session: AsyncSession, account_id: str, purpose: str, *, by: str) -> str:
    """A new link (the token, to put in the URL) inside the caller's transaction; older unused ones stop working."""
    assert purpose in PURPOSES
    now = utcnow()
    await session.execute(update(AccountLink).where(AccountLink.account_id == account_id,
                                                    AccountLink.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    session.add(AccountLink(id=secrets.token_hex(16), token_hash=token_hash(token), account_id=account_id,
                            purpose=purpose, created_by=by[:64], created_at=now, expires_at=now + LIFETIME))
    return token


async def find(sessions: async_sessionmaker[AsyncSession], token: str) -> Found | None:
    """The link and its account while the link is usable (not used, not expired, account not disabled)."""
    if not token or len(token) > 128:
        return None
    async with sessions() as session:
        row = (await session.execute(
            select(AccountLink, Account).join(Account, Account.id == AccountLink.account_id)
            .where(AccountLink.token_hash == token_hash(token))
        )).first()
    if row is None:
        return None
    link, account = row[0], row[1]
    if link.used_at is not None or link.expires_at <= utcnow() or account.disabled:
        return None
    return Found(link, account)


async def set_pending_secret(session: AsyncSession, link_id: str, secret: str) -> None:
    await session.execute(update(AccountLink).where(AccountLink.id == link_id).values(pending_secret=secret))


async def consume(session: AsyncSession, link_id: str) -> bool:
    """Mark the link used, atomically: of two submissions racing with the same link, exactly one wins."""
    now = utcnow()
    won = await session.execute(
        update(AccountLink).where(AccountLink.id == link_id, AccountLink.used_at.is_(None),
                                  AccountLink.expires_at > now)
        .values(used_at=now).returning(AccountLink.id)
    )
    return won.first() is not None


async def waiting_activation(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    """Accounts that never completed their first sign-in (no TOTP enrolled yet)."""
    async with sessions() as session:
        return set(await session.scalars(select(Account.id).where(Account.totp_secret == "")))
