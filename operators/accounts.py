"""Creating and maintaining accounts: the operations behind ``pnav users`` and the sign-in checks."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import utcnow
from escalation import audit
from operators import passwords, totp
from operators.models import FORCES, ROLES, Account, AccountSession

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ROLES_WITH_FORCE = ("operator", "supervisor")


class AccountError(Exception):
    """A user error of account management, with a French one-line reason."""


@dataclass(frozen=True)
class Created:
    account: Account
    otpauth_uri: str


def new_account_id() -> str:
    return secrets.token_hex(16)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_fields(username: str, role: str, force: str | None, service_id: str | None) -> None:
    if not _USERNAME_RE.match(username):
        raise AccountError("identifiant invalide : 2 à 64 caractères parmi a-z, 0-9, « . », « _ » et « - »")
    if role not in ROLES:
        raise AccountError(f"rôle inconnu : {role!r} (attendu : {', '.join(ROLES)})")
    if force is not None and force not in FORCES:
        raise AccountError(f"force inconnue : {force!r} (attendu : police ou gendarmerie)")
    if role in ROLES_WITH_FORCE and force is None:
        raise AccountError(f"le rôle {role} exige --force police|gendarmerie")
    if role not in ROLES_WITH_FORCE and role != "local_service" and force is not None:
        raise AccountError(f"le rôle {role} n'est rattaché à aucune force : retirez --force")
    if role == "local_service":
        if service_id is None:
            raise AccountError("le rôle local_service exige --service ID (commissariat ou brigade)")
        from routing import local_service_by_id

        if local_service_by_id(service_id) is None:
            raise AccountError(f"service local inconnu : {service_id!r}")
    elif service_id is not None:
        raise AccountError("--service ne s'applique qu'au rôle local_service")


async def create(
    sessions: async_sessionmaker[AsyncSession],
    username: str,
    password: str,
    *,
    role: str,
    force: str | None = None,
    service_id: str | None = None,
    display_name: str = "",
) -> Created:
    username = normalise_username(username)
    check_fields(username, role, force, service_id)
    if (problem := passwords.password_problem(password)) is not None:
        raise AccountError(problem)
    if role == "local_service" and force is None and service_id is not None:
        from routing import local_service_by_id

        service = local_service_by_id(service_id)
        force = service.force if service is not None else None
    secret = totp.new_secret()
    account = Account(
        id=new_account_id(), username=username, role=role, force=force, service_id=service_id,
        display_name=display_name or username, password_hash=await passwords.hash_password_async(password),
        totp_secret=secret, totp_last_step=0, disabled=False, failed_logins=0, created_at=utcnow(),
    )
    async with sessions.begin() as session:
        if await session.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise AccountError(f"l'identifiant {username!r} existe déjà")
        session.add(account)
        await session.flush()
        await audit.record(session, actor="cli", action="account.created", target=username,
                           details={"role": role, "force": force, "service": service_id})
    return Created(account, totp.provisioning_uri(secret, username))


async def by_username(sessions: async_sessionmaker[AsyncSession], username: str) -> Account | None:
    async with sessions() as session:
        return await session.scalar(select(Account).where(Account.username == normalise_username(username)))


async def by_id(sessions: async_sessionmaker[AsyncSession], account_id: str) -> Account | None:
    async with sessions() as session:
        return await session.get(Account, account_id)


async def _require(session: AsyncSession, username: str) -> Account:
    account = await session.scalar(select(Account).where(Account.username == normalise_username(username)))
    if account is None:
        raise AccountError(f"aucun compte {username!r}")
    return account


async def revoke_sessions(session: AsyncSession, account_id: str) -> None:
    await session.execute(
        update(AccountSession)
        .where(AccountSession.account_id == account_id, AccountSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def set_disabled(sessions: async_sessionmaker[AsyncSession], username: str, disabled: bool = True) -> None:
    """Disable (or re-enable) an account; disabling revokes every open session at once."""
    async with sessions.begin() as session:
        account = await _require(session, username)
        account.disabled = disabled
        if disabled:
            await revoke_sessions(session, account.id)
        await audit.record(session, actor="cli", action="account.disabled" if disabled else "account.enabled",
                           target=account.username)


async def reset_password(sessions: async_sessionmaker[AsyncSession], username: str, password: str) -> None:
    if (problem := passwords.password_problem(password)) is not None:
        raise AccountError(problem)
    async with sessions.begin() as session:
        account = await _require(session, username)
        account.password_hash = await passwords.hash_password_async(password)
        account.failed_logins = 0
        account.locked_until = None
        await revoke_sessions(session, account.id)
        await audit.record(session, actor="cli", action="account.password_reset", target=account.username)


async def reset_totp(sessions: async_sessionmaker[AsyncSession], username: str) -> str:
    """A new TOTP secret (the old phone stops working); returns the new otpauth:// URI."""
    secret = totp.new_secret()
    async with sessions.begin() as session:
        account = await _require(session, username)
        account.totp_secret = secret
        account.totp_last_step = 0
        await revoke_sessions(session, account.id)
        await audit.record(session, actor="cli", action="account.totp_reset", target=account.username)
        return totp.provisioning_uri(secret, account.username)


async def all_accounts(sessions: async_sessionmaker[AsyncSession]) -> list[Account]:
    async with sessions() as session:
        return list(await session.scalars(select(Account).order_by(Account.role, Account.username)))
