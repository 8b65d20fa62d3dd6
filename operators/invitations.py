"""Inviting a psychologist into a live tchat, with the visitor's agreement first.

The operator's ``invite_psychologist`` asks the visitor (``psychologist_offer``: « Une psychologue peut se joindre à
la conversation. D'accord ? »); only when the visitor answers yes (``psychologist_answer``, a visitor frame) does
every psychologist see the invitation, and the first to accept joins. Invitation states: ``offered`` (waiting for
the visitor) → ``pending`` (waiting for a psychologist) → ``accepted``; or ``declined`` by the visitor, or
``cancelled`` when asked anew.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from chat import conversations, protocol, store
from chat.db import utcnow
from chat.models import Conversation, Participant
from chat.state import ChatState
from chat.store import ConversationRow
from operators import office_hours, presence
from operators.channels import PSYCHOLOGISTS_CHANNEL, account_channel
from operators.consoles import Console
from operators.models import Invitation

# An invitation nobody accepted within 10 minutes means the psychologists are busy (or the visitor did not see the
# question): the operator may ask again, which replaces it; sooner, a second click would only duplicate it.
ASK_AGAIN_AFTER = timedelta(minutes=10)
WAITING = ("offered", "pending")
OFFER_GONE = "Cette proposition n'est plus d'actualité : la conversation continue."


class _Gone(Exception):
    """The invitation was accepted by someone else, cancelled, or its tchat ended: roll back."""


def _frame(invitation: Invitation, conversation: Conversation | ConversationRow) -> dict[str, Any]:
    return {"type": "invitation", "invitation": invitation.id, "conversation": conversation.id,
            "category": conversation.category, "role": conversation.requester_role,
            "at": invitation.created_at.isoformat().replace("+00:00", "Z")}


async def pending(state: ChatState) -> list[dict[str, Any]]:
    """Invitations still waiting, for a psychologist who just connected."""
    async with state.sessions() as session:
        rows = (await session.execute(
            select(Invitation, Conversation).join(Conversation, Conversation.id == Invitation.conversation_id)
            .where(Invitation.status == "pending", Conversation.status == "active")
            .order_by(Invitation.created_at)
        ))
        return [_frame(invitation, conversation) for invitation, conversation in rows]


def offer_frame(invitation: Invitation, settings_title: str) -> dict[str, Any]:
    """The question the visitor sees; it carries the invitation id their answer names."""
    return {"type": "psychologist_offer", "invitation": invitation.id, "title": settings_title,
            "message": f"{settings_title} peut se joindre à la conversation. D'accord ?",
            "at": invitation.created_at.isoformat().replace("+00:00", "Z")}


async def handle_invite(console: Console, fields: dict[str, Any]) -> None:
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    if conversation.status != "active":
        await console.error("conversation_closed", conversation.id)
        return
    schedule = await office_hours.schedule(console.state)
    now = datetime.now(UTC)
    if not office_hours.is_open(schedule, now):
        await console.error("psychologist_unavailable", conversation.id,
                            when=office_hours.describe_next(schedule, now))
        return
    async with console.state.sessions.begin() as session:
        waiting = list(await session.scalars(select(Invitation).where(
            Invitation.conversation_id == conversation.id, Invitation.status.in_(WAITING))))
        if any(w.created_at > utcnow() - ASK_AGAIN_AFTER for w in waiting):
            await console.error("invitation_pending", conversation.id)
            return
        shown = [stale.id for stale in waiting if stale.status == "pending"]  # those the psychologists see
        for stale in waiting:
            stale.status, stale.answered_at = "cancelled", utcnow()
        invitation = Invitation(id=secrets.token_hex(16), conversation_id=conversation.id,
                                invited_by=console.account.id, status="offered", created_at=utcnow())
        session.add(invitation)
        # In the transcript: the visitor's page shows the question (and, later, its answer) again after a reload.
        offer = offer_frame(invitation, office_hours.title(console.state.settings))
        stored = await store.append_event(session, conversation.id, offer)
    for stale_id in shown:
        await console.state.broker.publish(PSYCHOLOGISTS_CHANNEL, protocol.dumps(
            {"type": "invitation_closed", "invitation": stale_id, "conversation": conversation.id}))
    # To everyone in the tchat: the visitor answers it, the consoles show that the question is out.
    await conversations.publish(console.state, conversation.id, stored.frame() if stored is not None else offer)


async def offered(state: ChatState, conversation_id: str) -> list[dict[str, Any]]:
    """``ChatState.hooks.welcomed``: the question still waiting for this visitor's answer (after a reload)."""
    async with state.sessions() as session:
        invitation = await session.scalar(select(Invitation).where(
            Invitation.conversation_id == conversation_id, Invitation.status == "offered")
            .order_by(Invitation.created_at.desc()).limit(1))
    return [offer_frame(invitation, office_hours.title(state.settings))] if invitation is not None else []


async def visitor_answer(state: ChatState, conversation_id: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """``ChatState.hooks.frames["psychologist_answer"]``: the visitor's yes or no to the offer.

    Yes: the invitation goes to every psychologist, the operator is told how many are online. No: nothing is sent to
    the psychologists. Either way everyone in the tchat gets ``psychologist_answer``."""
    invitation_id, accept = fields.get("invitation"), fields.get("accept")
    if (not isinstance(invitation_id, str) or not invitation_id.isalnum() or len(invitation_id) > 64
            or not isinstance(accept, bool)):
        return [protocol.error("invalid_field").frame()]
    conversation = await store.get(state.sessions, conversation_id)
    if conversation is None or conversation.status != "active":
        return [{"type": "error", "code": "offer_gone", "message": OFFER_GONE}]
    async with state.sessions.begin() as session:
        # One conditional update: an answer given twice (two taps, a retry after a reload) counts once.
        won = (await session.execute(
            update(Invitation).where(Invitation.id == invitation_id, Invitation.conversation_id == conversation_id,
                                     Invitation.status == "offered")
            .values(status="pending" if accept else "declined", answered_at=None if accept else utcnow())
            .returning(Invitation.invited_by, Invitation.created_at)
        )).first()
        answer: dict[str, Any] = {"type": "psychologist_answer", "invitation": invitation_id, "accepted": accept}
        stored = await store.append_event(session, conversation_id, answer) if won is not None else None
    if won is None:
        return [{"type": "error", "code": "offer_gone", "message": OFFER_GONE}]
    if stored is not None:
        answer = stored.frame()
    if not accept:
        await conversations.publish(state, conversation_id, answer)
        return []
    invitation = Invitation(id=invitation_id, conversation_id=conversation_id, invited_by=won[0], status="pending",
                            created_at=won[1])
    await state.broker.publish(PSYCHOLOGISTS_CHANNEL, protocol.dumps(_frame(invitation, conversation)))
    present = len(await presence.online(state.sessions, "psychologist"))
    await conversations.publish(state, conversation_id, {**answer, "present": present})
    # The operator's console, as before the visitor was asked: the invitation is out, this many can see it.
    await state.broker.publish(account_channel(won[0]), protocol.dumps(
        {"type": "invitation_sent", "conversation": conversation_id, "invitation": invitation_id, "present": present}))
    return []


async def handle_accept(console: Console, fields: dict[str, Any]) -> None:
    invitation_id = fields.get("invitation")
    if not isinstance(invitation_id, str) or not invitation_id.isalnum() or len(invitation_id) > 64:
        await console.error("invalid_field")
        return
    state, me = console.state, console.account
    now = utcnow()
    try:
        async with state.sessions.begin() as session:
            # One conditional update: two psychologists clicking at once, exactly one joins.
            won = (await session.execute(
                update(Invitation).where(Invitation.id == invitation_id, Invitation.status == "pending")
                .values(status="accepted", accepted_by=me.id, answered_at=now)
                .returning(Invitation.conversation_id)
            )).first()
            conversation = await session.get(Conversation, won[0]) if won is not None else None
            if conversation is None or conversation.status != "active":
                raise _Gone
            session.add(Participant(conversation_id=conversation.id, account_id=me.id, role="psychologist",
                                    joined_at=now))
            title = office_hours.title(state.settings)
            joined = await store.append_event(session, conversation.id, {
                "type": "joined", "who": "psychologist", "title": title,
                "message": f"{title} a rejoint la conversation",
            })
    except _Gone:
        await console.error("invitation_gone")
        return
    await state.broker.publish(PSYCHOLOGISTS_CHANNEL, protocol.dumps(
        {"type": "invitation_closed", "invitation": invitation_id, "conversation": conversation.id}))
    assert joined is not None  # appended in the transaction that saw the tchat active
    await conversations.publish(state, conversation.id, joined.frame())
    await state.broker.publish(account_channel(me.id), protocol.dumps(
        {"type": "attach", "conversation": conversation.id}))


async def handle_leave(console: Console, fields: dict[str, Any]) -> None:
    conversation = await console.conversation(fields, need="read")
    if conversation is None:
        return
    title = office_hours.title(console.state.settings)
    left: dict[str, Any] = {"type": "left", "who": "psychologist", "title": title,
                            "message": f"{title} a quitté la conversation"}
    async with console.state.sessions.begin() as session:
        await session.execute(
            update(Participant)
            .where(Participant.conversation_id == conversation.id, Participant.account_id == console.account.id,
                   Participant.left_at.is_(None))
            .values(left_at=utcnow())
        )
        # Stored while the tchat is live (the visitor's page replays it); after its end, only published.
        stored = await store.append_event(session, conversation.id, left)
    await conversations.publish(console.state, conversation.id, stored.frame() if stored else left)
    await console.state.broker.publish(account_channel(console.account.id), protocol.dumps(
        {"type": "detach", "conversation": conversation.id, "reason": "left"}))
