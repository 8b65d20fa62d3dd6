"""Checking a sign-in: password, TOTP, lockout. Every failure looks the same from outside."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from operators import accounts, passwords, totp
from operators.models import Account

FAILED = "Identifiant, mot de passe ou code de vérification incorrect. Vérifiez-les et réessayez."
# Five wrong attempts in a row are typing mistakes at most; from the fifth on the account locks for 1, 2, 4 …
# minutes, capped at one hour: an online guesser gets a few dozen tries a day while a colleague who mistyped
# waits a minute.
FREE_ATTEMPTS = 5
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(hours=1)


def lock_duration(failed_logins: int) -> timedelta | None:
    if failed_logins < FREE_ATTEMPTS:
        return None
    return min(FIRST_LOCK * (1 << min(failed_logins - FREE_ATTEMPTS, 10)), MAX_LOCK)


async def check(sessions: async_sessionmaker[AsyncSession], username: str, password: str, code: str) -> (
    Account | None
):
    """The account when every factor is right and it is neither disabled nor locked; None otherwise."""
    account = await accounts.by_username(sessions, username[:64]) if username else None
    # Always verify a hash (a dummy one for an unknown user): the answer takes the same time either way.
    password_ok = await passwords.verify_password_async(account.password_hash if account else None, password)
    if account is None:
        return None
    now = utcnow()
    # An account invited on the web has no TOTP secret until its first-sign-in link is used: it cannot sign in.
    enrolled = bool(account.totp_secret)
    step = totp.matching_step(account.totp_secret, code, account.totp_last_step) if password_ok and enrolled else None
    locked = account.locked_until is not None and account.locked_until > now
    if password_ok and step is not None and not locked and not account.disabled:
        async with sessions.begin() as session:
            # Conditional on the step: two sign-ins racing with the same code cannot both pass.
            won = await session.execute(
                update(Account).where(Account.id == account.id, Account.totp_last_step < step)
                .values(totp_last_step=step, failed_logins=0, locked_until=None).returning(Account.id)
            )
            if won.first() is not None:
                return account
    await record_failure(sessions, account.id, now)
    return None


async def record_failure(sessions: async_sessionmaker[AsyncSession], account_id: str, now: datetime) -> None:
    async with sessions.begin() as session:
        failures = await session.scalar(
            update(Account).where(Account.id == account_id).values(failed_logins=Account.failed_logins + 1)
            .returning(Account.failed_logins)
        )
        lock = lock_duration(failures or 0)
        if lock is not None:
            await session.execute(update(Account).where(Account.id == account_id).values(locked_until=now + lock))
