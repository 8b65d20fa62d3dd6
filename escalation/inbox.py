"""What a local service and the supervisors of its force may see and do with signalements.

A local service account sees only the signalements sent to its own service id; a supervisor sees those of their
force. Reading contact details is audited each time; only the receiving service records the steps.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from chat import protocol
from chat.db import utcnow
from chat.state import ChatState
from escalation import config, crypto
from escalation.contact import ContactDetails
from escalation.models import Signalement, StatusEvent
from escalation.signalements import REPEATABLE_STEPS, SERVICE_STEPS
from operators.models import Account

INBOX_ROLES = ("local_service", "supervisor")
# One page of the inbox: a commissariat receives a handful of signalements a day; 200 rows cover weeks of them.
PAGE = 200
# A step's note is a few sentences (« appelé à 14 h, messagerie pleine, rappeler demain matin »), not a report.
MAX_NOTE_CHARS = 2000


def _note_context(signalement_id: str, status: str) -> str:
    """Associated data of a step note: a ciphertext copied to another signalement or step does not decrypt."""
    return f"{signalement_id}:step:{status}"


def may_see(account: Account, signalement: Signalement) -> bool:
    if account.role == "local_service":
        return account.service_id is not None and signalement.service_id == account.service_id
    if account.role == "supervisor":
        return account.force is not None and signalement.force == account.force
    return False


def may_update(account: Account, signalement: Signalement) -> bool:
    return account.role == "local_service" and may_see(account, signalement)


async def listing(sessions: async_sessionmaker[AsyncSession], account: Account) -> list[Signalement]:
    """Newest first: open ones, then closed ones, of this account's service (or force, for a supervisor)."""
    query = select(Signalement)
    if account.role == "local_service" and account.service_id:
        query = query.where(Signalement.service_id == account.service_id)
    elif account.role == "supervisor" and account.force:
        query = query.where(Signalement.force == account.force)
    else:
        return []
    async with sessions() as session:
        rows = await session.scalars(query.order_by((Signalement.status == "closed"), Signalement.created_at.desc())
                                     .limit(PAGE))
        return list(rows)


async def get(sessions: async_sessionmaker[AsyncSession], account: Account, signalement_id: str) -> (
    Signalement | None
):
    """The signalement if this account may see it; None for unknown and forbidden alike (nothing leaks)."""
    if not signalement_id.isalnum() or len(signalement_id) > 32:
        return None
    async with sessions() as session:
        found = await session.get(Signalement, signalement_id)
    return found if found is not None and may_see(account, found) else None


async def history(sessions: async_sessionmaker[AsyncSession], signalement_id: str) -> list[StatusEvent]:
    async with sessions() as session:
        rows = await session.scalars(select(StatusEvent).where(StatusEvent.signalement_id == signalement_id)
                                     .order_by(StatusEvent.at, StatusEvent.id))
        return list(rows)


async def read_contact(state: ChatState, account: Account, signalement: Signalement) -> ContactDetails | None:
    """Decrypt the contact details for an entitled reader and audit the read; None once purged."""
    if not may_see(account, signalement) or signalement.contact_ciphertext is None:
        return None
    details = ContactDetails.from_bytes(
        crypto.decrypt_contact(config.of(state).contact_key, signalement.contact_ciphertext, signalement.id))
    await trail.record(state, actor=account.username, action="signalement.contact_read", target=signalement.id,
                       details={"role": account.role})
    return details


def notes(state: ChatState, signalement_id: str, events: list[StatusEvent]) -> dict[int, str]:
    """The decrypted notes of these steps, by event id (for the service's own page, never for the visitor)."""
    key = config.of(state).contact_key
    return {e.id: crypto.decrypt_contact(key, e.note_ciphertext, _note_context(signalement_id, e.status)).decode()
            for e in events if e.note_ciphertext is not None}


async def record_step(state: ChatState, account: Account, signalement: Signalement, status: str,
                      note: str = "") -> str | None:
    """Record a step (acknowledged, contact made…) once — « unreachable » at each attempt — with an optional note
    encrypted like the contact details; closed ends the signalement. Returns None, or why not: ``step`` (not
    allowed, already recorded, signalement closed) or ``note`` (too long or unreadable)."""
    if status not in SERVICE_STEPS or not may_update(account, signalement):
        return "step"
    text = protocol.clean_text(note, MAX_NOTE_CHARS, allow_empty=True)
    if isinstance(text, protocol.ProtocolError):
        return "note"
    ciphertext = (crypto.encrypt_contact(config.of(state).contact_key, text.encode(),
                                         _note_context(signalement.id, status)) if text else None)
    now = utcnow()
    async with state.sessions.begin() as session:
        done = await session.scalar(select(StatusEvent.id).where(StatusEvent.signalement_id == signalement.id,
                                                                 StatusEvent.status == status).limit(1))
        if done is not None and status not in REPEATABLE_STEPS:
            return "step"
        values: dict[str, object] = {"status": status, "updated_at": now}
        if status == "closed":
            values["closed_at"] = now
        moved = await session.execute(update(Signalement).where(Signalement.id == signalement.id,
                                                                Signalement.status != "closed")
                                      .values(**values).returning(Signalement.id))
        if moved.first() is None:
            return "step"
        session.add(StatusEvent(signalement_id=signalement.id, status=status, at=now, by_account=account.id,
                                note_ciphertext=ciphertext))
        await trail.record(session, actor=account.username, action="signalement.status", target=signalement.id,
                           details={"status": status, "note": bool(text)})
    return None
