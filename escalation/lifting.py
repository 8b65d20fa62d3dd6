"""Prosecutor-authorised identity lifting: a supervisor files the prosecutor's agreement, a second supervisor
approves, and only then can the holder of the offline private key open the sealed addresses (``pnav escalation
unseal``). Lifting without consent is only for a conversation flagged emergency or minor."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from chat.db import utcnow
from chat.models import Conversation
from escalation import crypto
from escalation.models import LiftingRequest, SealedIdentity
from operators.models import Account

# Free-text fields of the prosecutor's agreement: a parquet's name, a magistrate's name and rank, a procedure
# reference; these limits are well above real values and match the columns.
MAX_PARQUET, MAX_MAGISTRATE, MAX_REFERENCE = 200, 200, 100


class LiftingError(Exception):
    """A refused step; ``message`` is French (pages) and ``reason`` English (command line)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(reason)
        self.message, self.reason = message, reason


@dataclass(frozen=True)
class Agreement:
    conversation_id: str
    parquet: str
    magistrate: str
    reference: str
    authorised_at: datetime


async def file(sessions: async_sessionmaker[AsyncSession], account: Account, agreement: Agreement) -> LiftingRequest:
    if account.role != "supervisor" or not account.force:
        raise LiftingError("Seul·e un·e superviseur·e peut déposer une demande de levée d'anonymat.",
                           "not a supervisor")
    async with sessions.begin() as session:
        conversation = await session.get(Conversation, agreement.conversation_id)
        if conversation is None or conversation.force != account.force:
            raise LiftingError("Cette conversation est introuvable pour votre force.", "unknown conversation")
        if not (conversation.emergency or conversation.minor):
            raise LiftingError("La levée d'anonymat sans consentement n'est possible que pour une conversation "
                               "signalée en urgence ou concernant une personne mineure.", "not emergency nor minor")
        request = LiftingRequest(
            id=secrets.token_hex(6), conversation_id=conversation.id, force=conversation.force,
            parquet=agreement.parquet, magistrate=agreement.magistrate, reference=agreement.reference,
            authorised_at=agreement.authorised_at, filed_by=account.id, filed_at=utcnow(), state="filed",
        )
        session.add(request)
        await session.flush()
        await trail.record(session, actor=account.username, action="lifting.filed", target=request.id,
                           details={"conversation": conversation.id, "parquet": agreement.parquet,
                                    "magistrate": agreement.magistrate, "reference": agreement.reference,
                                    "authorised_at": agreement.authorised_at.isoformat()})
    return request


async def approve(sessions: async_sessionmaker[AsyncSession], account: Account, request_id: str) -> None:
    """A second supervisor of the same force confirms the request; the filer cannot approve their own."""
    async with sessions.begin() as session:
        request = await session.get(LiftingRequest, request_id)
        if request is None or account.role != "supervisor" or request.force != account.force:
            raise LiftingError("Cette demande est introuvable.", "unknown request")
        if request.filed_by == account.id:
            raise LiftingError("Une autre personne que celle qui a déposé la demande doit l'approuver.",
                               "the filer cannot approve their own request")
        moved = await session.execute(update(LiftingRequest).where(LiftingRequest.id == request_id,
                                                                    LiftingRequest.state == "filed")
                                      .values(state="approved", approved_by=account.id, approved_at=utcnow())
                                      .returning(LiftingRequest.id))
        if moved.first() is None:
            raise LiftingError("Cette demande n'attend plus d'approbation.", "request is not waiting for approval")
        await trail.record(session, actor=account.username, action="lifting.approved", target=request_id,
                           details={"conversation": request.conversation_id})


async def reject(sessions: async_sessionmaker[AsyncSession], account: Account, request_id: str) -> None:
    async with sessions.begin() as session:
        request = await session.get(LiftingRequest, request_id)
        if request is None or account.role != "supervisor" or request.force != account.force:
            raise LiftingError("Cette demande est introuvable.", "unknown request")
        moved = await session.execute(update(LiftingRequest).where(LiftingRequest.id == request_id,
                                                                    LiftingRequest.state == "filed")
                                      .values(state="rejected").returning(LiftingRequest.id))
        if moved.first() is None:
            raise LiftingError("Cette demande n'est plus en attente.", "request is not waiting")
        await trail.record(session, actor=account.username, action="lifting.rejected", target=request_id,
                           details={"conversation": request.conversation_id})


async def for_force(sessions: async_sessionmaker[AsyncSession], force: str) -> list[LiftingRequest]:
    async with sessions() as session:
        rows = await session.scalars(select(LiftingRequest).where(LiftingRequest.force == force)
                                     .order_by(LiftingRequest.filed_at.desc()).limit(100))
        return list(rows)


@dataclass(frozen=True)
class Opened:
    address: str
    connected_at: str


async def unseal(sessions: async_sessionmaker[AsyncSession], request_id: str, private_pem: bytes, *,
                 operator: str) -> list[Opened]:
    """Open the sealed addresses of an approved request, once; the request becomes ``unsealed`` and it is audited."""
    async with sessions.begin() as session:
        request = await session.get(LiftingRequest, request_id)
        if request is None:
            raise LiftingError("Demande inconnue.", f"unknown lifting request {request_id}")
        if request.state == "unsealed":
            raise LiftingError("Cette demande a déjà été exécutée.", "this request was already used to unseal")
        if request.state != "approved" or request.approved_by is None or request.approved_by == request.filed_by:
            raise LiftingError("Cette demande n'est pas approuvée par une seconde personne.",
                               "the request is not approved by a second supervisor")
        rows = list(await session.scalars(select(SealedIdentity).where(
            SealedIdentity.conversation_id == request.conversation_id).order_by(SealedIdentity.id)))
        if not rows:
            raise LiftingError("Aucune adresse scellée pour cette conversation (effacée ou jamais reçue).",
                               "no sealed address for this conversation (purged or never recorded)")
        opened: list[Opened] = []
        for row in rows:
            try:
                data = json.loads(crypto.unseal(private_pem, row.ciphertext, row.conversation_id))
            except crypto.DecryptionFailed as exc:
                raise LiftingError("Cette clé privée n'ouvre pas ces adresses.", str(exc)) from None
            opened.append(Opened(str(data["address"]), str(data["connected_at"])))
        await session.execute(update(LiftingRequest).where(LiftingRequest.id == request_id)
                              .values(state="unsealed", unsealed_at=utcnow()))
        await trail.record(session, actor=operator, action="identity.unsealed", target=request_id,
                           details={"conversation": request.conversation_id, "addresses": len(opened),
                                    "reference": request.reference})
    return opened
