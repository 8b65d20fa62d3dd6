"""Checking a sign-in: password and TOTP, both mandatory. Every failure looks the same from outside.

There is no account lock: a lock is a switch any stranger who knows a username can hold down (five wrong passwords
used to lock the account, even against its owner's right password and code). Guessing is slowed instead per
account *and* source (``operators.signin_throttle``, OWASP's guidance), the TOTP step keeps a stolen password
useless on its own, and the account's failures in a row alert its supervisors (``operators.signin_alerts``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from operators import accounts, passwords, totp
from operators.models import Account

FAILED = "Identifiant, mot de passe ou code de vérification incorrect. Vérifiez-les et réessayez."
# Failures in a row on one account (since its last successful sign-in) at which its supervisors are alerted.
ALERT_EVERY = 10


@dataclass(frozen=True)
class Refused:
    """A failed sign-in: the account named (None for an unknown username) and its failures in a row since its last
    successful sign-in, this one included."""

    account: Account | None
    failures: int


async def check(sessions: async_sessionmaker[AsyncSession], username: str, password: str, code: str) -> (
    Account | Refused
):
    """The account when every factor is right and it is not disabled; ``Refused`` otherwise."""
    account = await accounts.by_username(sessions, username[:64]) if username else None
    # Always verify a hash (a dummy one for an unknown user): the answer takes the same time either way.
    password_ok = await passwords.verify_password_async(account.password_hash if account else None, password)
    if account is None:
        return Refused(None, 0)
    # An account invited on the web has no TOTP secret until its first-sign-in link is used: it cannot sign in.
    enrolled = bool(account.totp_secret)
    step = totp.matching_step(account.totp_secret, code, account.totp_last_step) if password_ok and enrolled else None
    if password_ok and step is not None and not account.disabled:
        async with sessions.begin() as session:
            # Conditional on the step: two sign-ins racing with the same code cannot both pass.
            won = await session.execute(
                update(Account).where(Account.id == account.id, Account.totp_last_step < step)
                .values(totp_last_step=step, failed_logins=0, locked_until=None).returning(Account.id)
            )
            if won.first() is not None:
                return account
    return Refused(account, await record_failure(sessions, account.id))


async def record_failure(sessions: async_sessionmaker[AsyncSession], account_id: str) -> int:
    """Count one more failure in a row on the account (reset by a successful sign-in); returns the count. It locks
    nothing; at every ALERT_EVERY failures in a row the audit log says so, in the same transaction (and
    ``operators.signin_alerts`` tells the supervisors)."""
    async with sessions.begin() as session:
        row = (await session.execute(
            update(Account).where(Account.id == account_id)
            .values(failed_logins=Account.failed_logins + 1, locked_until=None)
            .returning(Account.failed_logins, Account.username)
        )).one_or_none()
        if row is None:
            return 0
        failures, username = int(row[0]), str(row[1])
        if alert_due(failures):
            await trail.record(session, actor="system", action="account.signin_failures", target=username,
                               details={"failures": failures})
    return failures


def alert_due(failures: int) -> bool:
    """Every ALERT_EVERY failures in a row on an account (10, 20, 30 …), whatever their sources."""
    return failures >= ALERT_EVERY and failures % ALERT_EVERY == 0
