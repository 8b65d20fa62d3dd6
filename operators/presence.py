"""Who is at a console right now: sessions whose console WebSocket sent a heartbeat recently."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from chat.models import Conversation
from operators.models import Account, AccountSession

# Three missed heartbeats (3 × 20 s): a console that dropped its connection is no longer counted as present.
ONLINE_WINDOW = timedelta(seconds=60)


async def online(sessions: async_sessionmaker[AsyncSession], role: str, force: str | None = None) -> list[
    tuple[Account, int]
]:
    """Accounts of ``role`` (and ``force``) with a live console, each with its number of active tchats."""
    since = utcnow() - ONLINE_WINDOW
    load = (
        select(func.count(Conversation.id))
        .where(Conversation.assigned_to == Account.id, Conversation.status == "active")
        .scalar_subquery()
    )
    query = (
        select(Account, load)
        .where(Account.role == role, Account.disabled.is_(False))
        .where(Account.id.in_(
            select(AccountSession.account_id).where(AccountSession.console_seen_at > since,
                                                    AccountSession.revoked_at.is_(None))
        ))
        .order_by(Account.username)
    )
    if force is not None:
        query = query.where(Account.force == force)
    async with sessions() as session:
        return [(account, count or 0) for account, count in await session.execute(query)]
