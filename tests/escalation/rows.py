"""Rows made directly in the database for the retention and webhook tests: tchats, sealed addresses, signalements."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat import store
from chat.db import utcnow
from chat.models import Conversation
from escalation import crypto
from escalation.config import EscalationConfig
from escalation.models import Proposal, SealedIdentity, Signalement

CONFIG = EscalationConfig(contact_key=secrets.token_bytes(32), seal_public_key=crypto.generate_keypair()[1],
                          conversation_days=90, sealed_days=30, signalement_days=365)


async def tchat(sessions: async_sessionmaker[AsyncSession], *, closed_days_ago: int | None) -> str:
    conversation, _token = await store.create_conversation(sessions, store.NewConversation(
        category="domestic_violence", requester_role="victim", postal_code="75011", insee="75111",
        commune_name="Paris 11e Arrondissement", department="75", force="police",
        local_service_id="commissariat_police-75111-01", local_service_approximate=False))
    await store.append(sessions, conversation.id, author="visitor", body="Mon conjoint me frappe.")
    await store.append(sessions, conversation.id, author="operator", body="Je vous écoute.")
    if closed_days_ago is not None:
        await store.finish(sessions, conversation.id, status="closed", outcome="complaint_oriented")
        async with sessions.begin() as session:
            await session.execute(update(Conversation).where(Conversation.id == conversation.id)
                                  .values(closed_at=utcnow() - timedelta(days=closed_days_ago)))
    return conversation.id


async def sealed(sessions: async_sessionmaker[AsyncSession], conversation_id: str, days_ago: int) -> None:
    async with sessions.begin() as session:
        session.add(SealedIdentity(conversation_id=conversation_id, key_id=crypto.key_id(CONFIG.seal_public_key),
                                   ciphertext=crypto.seal(CONFIG.seal_public_key, b"{}", conversation_id),
                                   created_at=utcnow() - timedelta(days=days_ago)))


async def signalement(sessions: async_sessionmaker[AsyncSession], conversation_id: str, *,
                       closed_days_ago: int | None) -> str:
    now = utcnow()
    proposal_id, signalement_id = secrets.token_hex(16), secrets.token_hex(16)
    async with sessions.begin() as session:
        session.add(Proposal(id=proposal_id, conversation_id=conversation_id, proposed_by="op", summary="Faits.",
                             service_id="commissariat_police-75111-01", consent_version="v", state="consented"))
        await session.flush()
        session.add(Signalement(
            id=signalement_id, conversation_id=conversation_id, proposal_id=proposal_id,
            service_id="commissariat_police-75111-01", force="police", category="domestic_violence", insee="75111",
            commune_name="Paris 11e Arrondissement", department="75", emergency=False, minor=False, proposed_by="op",
            summary="Faits.", contact_ciphertext=crypto.encrypt_contact(CONFIG.contact_key, b"{}", signalement_id),
            consent_version="v", consented_at=now, followup_hash=secrets.token_hex(32),
            status="closed" if closed_days_ago is not None else "acknowledged", created_at=now, updated_at=now,
            closed_at=now - timedelta(days=closed_days_ago) if closed_days_ago is not None else None))
    return signalement_id
