"""Creating and maintaining accounts: the operations behind ``pnav users`` and the sign-in checks."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from chat.db import utcnow
from operators import links, passwords, totp
from operators.models import FORCES, MAX_CAPACITY, ROLES, Account, AccountSession

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ROLES_WITH_FORCE = ("operator", "supervisor")
# Never a valid argon2 hash: an account invited on the web cannot sign in before its first-sign-in link is used.
NO_PASSWORD = "!invited"  # noqa: S105 - a marker that no password can match, not a secret
MAX_DISPLAY_NAME = 128


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
    actor: str = "cli",
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
        await trail.record(session, actor=actor, action="account.created", target=username,
                           details={"role": role, "force": force, "service": service_id})
    return Created(account, totp.provisioning_uri(secret, username))


def _service_force(role: str, force: str | None, service_id: str | None) -> str | None:
    if role == "local_service" and force is None and service_id is not None:
        from routing import local_service_by_id

        service = local_service_by_id(service_id)
        return service.force if service is not None else None
    return force


async def invite(sessions: async_sessionmaker[AsyncSession], username: str, *, role: str, force: str | None,
                 service_id: str | None, display_name: str, actor: str) -> tuple[Account, str]:
    """Create an account on the web: no password and no TOTP yet, only a first-sign-in link (its token) that the
    person uses to choose a password and enrol their TOTP app. Whoever created it never sees either."""
    username = normalise_username(username)
    check_fields(username, role, force, service_id)
    display_name = display_name.strip()[:MAX_DISPLAY_NAME]
    account = Account(
        id=new_account_id(), username=username, role=role, force=_service_force(role, force, service_id),
        service_id=service_id, display_name=display_name or username, password_hash=NO_PASSWORD, totp_secret="",
        totp_last_step=0, disabled=False, failed_logins=0, created_at=utcnow(),
    )
    async with sessions.begin() as session:
        if await session.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise AccountError(f"l'identifiant {username!r} existe déjà")
        session.add(account)
        await session.flush()
        token = await links.issue(session, account.id, "activate", by=actor)
        await trail.record(session, actor=actor, action="account.created", target=username,
                           details={"role": role, "force": account.force, "service": service_id, "via": "web"})
    return account, token


async def issue_link(sessions: async_sessionmaker[AsyncSession], username: str, purpose: str, *, actor: str) -> str:
    """A one-time link for ``username`` (new password, new TOTP app, or a first sign-in not completed yet)."""
    async with sessions.begin() as session:
        account = await _require(session, username)
        if purpose != "activate" and not account.totp_secret:
            purpose = "activate"  # never signed in: the only useful link is the first-sign-in one
        token = await links.issue(session, account.id, purpose, by=actor)
        await trail.record(session, actor=actor, action="account.link_issued", target=account.username,
                           details={"purpose": purpose})
    return token


async def update_profile(sessions: async_sessionmaker[AsyncSession], username: str, *, actor: str,
                         display_name: str | None = None, role: str | None = None, force: str | None = None,
                         capacity: int | None = None, languages: list[str] | None = None) -> Account:
    """Change what an admin or supervisor may change; each change is audited. Rights are checked by the caller."""
    async with sessions.begin() as session:
        account = await _require(session, username)
        changes: dict[str, object] = {}
        if display_name is not None and display_name.strip() and display_name.strip() != account.display_name:
            account.display_name = display_name.strip()[:MAX_DISPLAY_NAME]
            changes["display_name"] = account.display_name
        if role is not None and (role != account.role or force != account.force):
            service_id = account.service_id if role == "local_service" else None
            check_fields(account.username, role, force if role in ROLES_WITH_FORCE else None, service_id)
            account.role, account.service_id = role, service_id
            account.force = force if role in ROLES_WITH_FORCE else _service_force(role, None, service_id)
            changes.update(role=role, force=account.force)
            # A new role is a new set of rights: every open console and page signs in again.
            await revoke_sessions(session, account.id)
        if capacity is not None and capacity != account.capacity:
            if not 1 <= capacity <= MAX_CAPACITY:
                raise AccountError(f"la capacité doit être comprise entre 1 et {MAX_CAPACITY} tchats")
            account.capacity = capacity
            changes["capacity"] = capacity
        if languages is not None:
            from chat.languages import LANGUAGES, SOURCE

            unknown = [code for code in languages if code not in LANGUAGES]
            if unknown:
                raise AccountError(f"langue inconnue : {', '.join(unknown)}")
            spoken = ",".join(code for code in LANGUAGES if code == SOURCE or code in languages)
            if spoken != account.languages:
                account.languages = spoken
                changes["languages"] = spoken
        for key, value in changes.items():
            action = {"role": "account.role_changed", "force": "account.role_changed",
                      "capacity": "account.capacity_changed",
                      "languages": "account.languages_changed"}.get(key, "account.profile_changed")
            if key == "force" and "role" in changes:
                continue
            await trail.record(session, actor=actor, action=action, target=account.username,
                               details={key: value, **({"force": changes["force"]} if key == "role" else {})})
        return account


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


async def set_disabled(sessions: async_sessionmaker[AsyncSession], username: str, disabled: bool = True, *,
                       actor: str = "cli") -> None:
    """Disable (or re-enable) an account; disabling revokes every open session at once."""
    async with sessions.begin() as session:
        account = await _require(session, username)
        account.disabled = disabled
        if disabled:
            await revoke_sessions(session, account.id)
        await trail.record(session, actor=actor, action="account.disabled" if disabled else "account.enabled",
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
        await trail.record(session, actor="cli", action="account.password_reset", target=account.username)


async def reset_totp(sessions: async_sessionmaker[AsyncSession], username: str) -> str:
    """A new TOTP secret (the old phone stops working); returns the new otpauth:// URI."""
    secret = totp.new_secret()
    async with sessions.begin() as session:
        account = await _require(session, username)
        account.totp_secret = secret
        account.totp_last_step = 0
        await revoke_sessions(session, account.id)
        await trail.record(session, actor="cli", action="account.totp_reset", target=account.username)
        return totp.provisioning_uri(secret, account.username)


async def all_accounts(sessions: async_sessionmaker[AsyncSession]) -> list[Account]:
    async with sessions() as session:
        return list(await session.scalars(select(Account).order_by(Account.role, Account.username)))
