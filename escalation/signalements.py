"""Signalements: proposed by the operator, consented by the visitor, handled by the local service, followed by
the visitor with their code. Every write commits before anything is published."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import routing
from audit import trail
from chat import conversations, store
from chat.attachments import store as attachments
from chat.db import utcnow
from chat.errors import ApiError
from chat.state import ChatState
from chat.store import ConversationRow
from escalation import codes, config, consent, crypto, webhooks
from escalation.contact import ContactDetails
from escalation.models import SIGNALEMENT_STATUSES, Proposal, Signalement, SignalementAttachment, StatusEvent

STATUS_LABELS = {
    "transmitted": "Signalement transmis au service compétent",
    "acknowledged": "Signalement pris en compte par le service",
    "unreachable": "Le service n'a pas pu vous joindre",
    "contact_made": "Le service vous a contacté",
    "appointment_given": "Un rendez-vous vous a été proposé",
    "complaint_filed": "Votre plainte a été enregistrée",
    "closed": "Suivi terminé",
}
# What a local service records after the automatic « transmitted »; any order, each once, « closed » last — except
# « unreachable », recorded at each failed attempt to reach the person.
SERVICE_STEPS = SIGNALEMENT_STATUSES[1:]
REPEATABLE_STEPS = ("unreachable",)
# What the visitor reads on /suivi when the service could not reach them: what to do next, with the service's number
# (given to them already when they consented).
UNREACHABLE_ADVICE = (
    "Le service a essayé de vous contacter, sans y parvenir. Vous pouvez l'appeler vous-même en donnant votre code "
    "de suivi, vous présenter à l'accueil d'un commissariat ou d'une brigade de gendarmerie, ou ouvrir un nouveau "
    "tchat pour être aidé·e. En cas de danger immédiat, appelez le 17 ou le 112, ou envoyez un SMS au 114."
)

NO_PROPOSAL = "Aucune proposition de signalement n'attend votre réponse dans cette conversation."
ALREADY = ("Votre réponse à cette proposition est déjà enregistrée. Si vous avez transmis un signalement, "
           "gardez votre code de suivi.")


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class ProposalError(Exception):
    """The operator cannot propose a signalement here; ``message`` is French."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


async def propose(state: ChatState, conversation: ConversationRow, *, account_id: str, actor: str,
                  summary: str) -> dict[str, Any]:
    """Record a proposal (replacing an unanswered one) and publish the consent form; returns the frame."""
    service = routing.local_service_by_id(conversation.local_service_id) if conversation.local_service_id else None
    if service is None and not conversation.insee:
        raise ProposalError("no_local_service", "La personne n'a pas indiqué où elle se trouve : indiquez d'abord sa "
                            "commune (« Indiquer la commune »), le signalement ira au service compétent pour elle.")
    if service is None:
        raise ProposalError("no_local_service", "Aucun service local compétent n'est connu pour cette commune : "
                            "orientez la personne vers le commissariat ou la brigade la plus proche.")
    if conversation.status != "active":
        raise ProposalError("conversation_closed", "Cette conversation est terminée.")
    cfg = config.of(state)
    proposal = Proposal(id=secrets.token_hex(16), conversation_id=conversation.id, proposed_by=account_id,
                        summary=summary, service_id=service.id, consent_version=consent.CONSENT_VERSION,
                        state="pending", created_at=utcnow())
    frame = consent.consent_request(proposal.id, conversation, summary, service, cfg.signalement_days,
                                    await documents(state, conversation.id))
    async with state.sessions.begin() as session:
        await session.execute(update(Proposal).where(Proposal.conversation_id == conversation.id,
                                                     Proposal.state == "pending").values(state="superseded"))
        session.add(proposal)
        await trail.record(session, actor=actor, action="signalement.proposed", target=conversation.id,
                           details={"proposal": proposal.id, "service": service.id})
        # In the transcript: the visitor's page replays the form (and, later, its answer) after a reload.
        stored = await store.append_event(session, conversation.id, frame)
    published = stored.frame() if stored is not None else frame
    await conversations.publish(state, conversation.id, published)
    return published


async def pending_proposal(sessions: async_sessionmaker[AsyncSession], conversation: ConversationRow) -> (
    Proposal | None
):
    async with sessions() as session:
        found: Proposal | None = await session.scalar(
            select(Proposal).where(Proposal.conversation_id == conversation.id, Proposal.state == "pending")
            .order_by(Proposal.created_at.desc()).limit(1))
        return found


async def pending_frame(state: ChatState, conversation: ConversationRow) -> dict[str, Any] | None:
    """The consent form still waiting for an answer, for a visitor whose page reloaded."""
    proposal = await pending_proposal(state.sessions, conversation)
    service = routing.local_service_by_id(proposal.service_id) if proposal else None
    if proposal is None or service is None:
        return None
    return consent.consent_request(proposal.id, conversation, proposal.summary, service,
                                   config.of(state).signalement_days, await documents(state, conversation.id))


async def documents(state: ChatState, conversation_id: str) -> list[dict[str, Any]]:
    """The files attached in the tchat, as the consent form lists them (name, type, size, receipt)."""
    return [a.listed() for a in await attachments.of_conversation(state.sessions, conversation_id, source="tchat")]


UNKNOWN_DOCUMENT = "Un des documents cochés n'appartient pas à cette conversation. Rechargez la page puis réessayez."


async def _chosen_documents(session: AsyncSession, conversation: ConversationRow, ids: list[str]) -> list[str]:
    """The ids the visitor left ticked, each an attachment of this tchat still held; ApiError otherwise."""
    wanted = list(dict.fromkeys(ids))
    found = [a for a in await attachments.of_ids(session, wanted)
             if a.conversation_id == conversation.id and a.source == "tchat" and not a.purged]
    if len(found) != len(wanted):
        raise ApiError(422, "unknown_attachment", UNKNOWN_DOCUMENT, field="attachments")
    return [a.id for a in found]


@dataclass(frozen=True)
class Created:
    signalement: Signalement
    code: str
    service: routing.LocalService


async def accept(state: ChatState, conversation: ConversationRow, details: ContactDetails, version: str,
                 proposal_id: str | None = None, attachment_ids: list[str] | None = None) -> Created:
    """The visitor consented: create the signalement for the proposal's service; the code is returned once.

    ``proposal_id`` (sent by the form) must name the pending proposal: consent given to a text the operator has
    since replaced is not applied to the new one. ``attachment_ids``: the documents she left ticked (none when
    absent: a file goes to the service only if she chose it)."""
    proposal = await pending_proposal(state.sessions, conversation)
    if proposal is None:
        raise ApiError(409, "no_pending_proposal", NO_PROPOSAL)
    if version != proposal.consent_version or (proposal_id is not None and proposal_id != proposal.id):
        raise ApiError(409, "consent_outdated", "La proposition a été modifiée entre-temps : relisez-la avant de "
                       "valider.")
    service = routing.local_service_by_id(proposal.service_id)
    if service is None:
        raise ApiError(409, "no_pending_proposal", NO_PROPOSAL)
    cfg = config.of(state)
    now = utcnow()
    code = codes.new_code()
    signalement_id = secrets.token_hex(16)
    signalement = Signalement(
        id=signalement_id, conversation_id=conversation.id, proposal_id=proposal.id, service_id=service.id,
        force=service.force, category=conversation.category, insee=conversation.insee,
        commune_name=conversation.commune_name, department=conversation.department,
        emergency=conversation.emergency, minor=conversation.minor, proposed_by=proposal.proposed_by,
        summary=proposal.summary,
        contact_ciphertext=crypto.encrypt_contact(cfg.contact_key, details.to_bytes(), signalement_id),
        consent_version=proposal.consent_version, consented_at=now, followup_hash=codes.hash_code(code),
        status="transmitted", created_at=now, updated_at=now,
    )
    async with state.sessions.begin() as session:
        won = await session.execute(update(Proposal).where(Proposal.id == proposal.id, Proposal.state == "pending")
                                    .values(state="consented", answered_at=now).returning(Proposal.id))
        if won.first() is None:
            raise ApiError(409, "already_answered", ALREADY)
        chosen = await _chosen_documents(session, conversation, attachment_ids or [])
        session.add(signalement)
        await session.flush()
        session.add(StatusEvent(signalement_id=signalement_id, status="transmitted", at=now))
        for attachment_id in chosen:
            session.add(SignalementAttachment(signalement_id=signalement_id, attachment_id=attachment_id,
                                              source="consent", added_at=now))
        webhooks.enqueue(session, cfg, signalement, "signalement.created")
        await trail.record(session, actor="visitor", action="signalement.created", target=signalement_id,
                           details={"conversation": conversation.id, "service": service.id,
                                    "consent_version": proposal.consent_version, "documents": len(chosen)})
        result = await _answer(session, conversation, {"type": "consent_result", "proposal": proposal.id,
                                                        "accepted": True, "service": service.name})
    await conversations.publish(state, conversation.id, result)
    await conversations.post_card(state, conversation.id, consent.evidence_card(conversation.language),
                                  author="system", key=conversations.server_key("evidence-card", signalement_id))
    return Created(signalement, code, service)


async def refuse(state: ChatState, conversation: ConversationRow) -> None:
    proposal = await pending_proposal(state.sessions, conversation)
    if proposal is None:
        raise ApiError(409, "no_pending_proposal", NO_PROPOSAL)
    async with state.sessions.begin() as session:
        won = await session.execute(update(Proposal).where(Proposal.id == proposal.id, Proposal.state == "pending")
                                    .values(state="refused", answered_at=utcnow()).returning(Proposal.id))
        if won.first() is None:
            raise ApiError(409, "already_answered", ALREADY)
        result = await _answer(session, conversation, {"type": "consent_result", "proposal": proposal.id,
                                                        "accepted": False})
    await conversations.publish(state, conversation.id, result)


async def _answer(session: AsyncSession, conversation: ConversationRow, result: dict[str, Any]) -> dict[str, Any]:
    """The visitor's answer as a stored event (replayed after a reload; never the follow-up code, which only the
    visitor's tab keeps), or as a live frame when the tchat has meanwhile ended."""
    stored = await store.append_event(session, conversation.id, result)
    return stored.frame() if stored is not None else result


async def followup(sessions: async_sessionmaker[AsyncSession], code_hash: str) -> dict[str, Any] | None:
    """The public status history of the signalement with this code: statuses and dates, nothing personal."""
    async with sessions() as session:
        signalement = await session.scalar(select(Signalement).where(Signalement.followup_hash == code_hash))
        if signalement is None:
            return None
        events = await session.scalars(select(StatusEvent).where(StatusEvent.signalement_id == signalement.id)
                                       .order_by(StatusEvent.at, StatusEvent.id))
        history = [{"status": e.status, "label": STATUS_LABELS.get(e.status, e.status), "at": iso(e.at)}
                   for e in events]
        ids = list(await session.scalars(select(SignalementAttachment.attachment_id)
                                         .where(SignalementAttachment.signalement_id == signalement.id)))
        handed = [a.listed() for a in await attachments.of_ids(session, ids) if not a.purged]
    found: dict[str, Any] = {"status": signalement.status,
                             "label": STATUS_LABELS.get(signalement.status, signalement.status),
                             "updated_at": iso(signalement.updated_at), "history": history,
                             # What the service received, with the receipts: the visitor compares them with hers.
                             "documents": handed,
                             "documents_open": signalement.status != "closed" and signalement.purged_at is None}
    if signalement.status == "unreachable":
        service = routing.local_service_by_id(signalement.service_id)
        found["advice"] = {"title": STATUS_LABELS["unreachable"], "text": UNREACHABLE_ADVICE,
                           "service": service.name if service else None, "phone": service.phone if service else None}
    return found
