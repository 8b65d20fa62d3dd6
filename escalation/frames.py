"""Operator console frames of escalation: ``propose_signalement`` and ``flag`` (emergency, minor)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from audit import trail
from chat import conversations, protocol, store
from chat.state import ChatState
from escalation import consent, signalements
from operators.channels import account_channel
from operators.consoles import Console
from operators.models import Account


async def _error(console: Console, conversation_id: str, code: str, message: str) -> None:
    await console.send({"type": "error", "code": code, "message": message, "conversation": conversation_id})


async def propose_signalement(console: Console, fields: dict[str, Any]) -> None:
    """``{"type":"propose_signalement","conversation":…,"summary":…}``: the visitor receives the consent form."""
    summary = protocol.clean_text(fields.get("summary"), protocol.MAX_NOTE_CHARS)
    if isinstance(summary, protocol.ProtocolError):
        await console.send({**summary.frame(), "conversation": fields.get("conversation")})
        return
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    try:
        await signalements.propose(console.state, conversation, account_id=console.account.id,
                                   actor=console.account.username, summary=summary)
    except signalements.ProposalError as exc:
        await _error(console, conversation.id, exc.code, exc.message)


async def supervisors_of(state: ChatState, force: str) -> list[str]:
    async with state.sessions() as session:
        rows = await session.scalars(select(Account.id).where(Account.role == "supervisor", Account.force == force,
                                                              Account.disabled.is_(False)))
        return list(rows)


async def flag(console: Console, fields: dict[str, Any]) -> None:
    """``{"type":"flag","conversation":…,"emergency":bool,"minor":bool}`` (a missing key keeps its value)."""
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    emergency, minor = fields.get("emergency", conversation.emergency), fields.get("minor", conversation.minor)
    if not isinstance(emergency, bool) or not isinstance(minor, bool):
        await console.error("invalid_field", conversation.id)
        return
    state = console.state
    # The flags and their audit entry commit together: a flag opens the way to lifting anonymity.
    async with state.sessions.begin() as session:
        await store.set_flags_in(session, conversation.id, emergency=emergency, minor=minor)
        await trail.record(session, actor=console.account.username, action="conversation.flagged",
                           target=conversation.id, details={"emergency": emergency, "minor": minor})
    await conversations.flags_set(state, conversation.id, emergency=emergency, minor=minor)
    if emergency and not conversation.emergency:
        # The numbers first, in the transcript, so a visitor who reloads still sees them.
        await conversations.post_card(state, conversation.id, consent.emergency_card(conversation.language),
                                      author="system")
        alert = protocol.dumps({"type": "alert", "kind": "emergency", "conversation": conversation.id,
                                "category": conversation.category, "department": conversation.department,
                                "commune": conversation.commune_name, "operator": console.account.username,
                                "message": "Une conversation vient d'être signalée en urgence."})
        for supervisor in await supervisors_of(state, conversation.force):
            await state.broker.publish(account_channel(supervisor), alert)

