"""Inviting a psychologist into a live tchat: every present psychologist sees it, the first to accept joins."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from chat import conversations, protocol
from chat.db import utcnow
from chat.models import Conversation, Participant
from chat.state import ChatState
from chat.store import ConversationRow
from operators import office_hours, presence
from operators.console import PSYCHOLOGISTS_CHANNEL, Console, account_channel
from operators.models import Invitation

# An invitation nobody accepted within 10 minutes means the psychologists are busy: the operator may ask again,
# which replaces it and notifies everyone anew; sooner, a second click would only duplicate the request.
ASK_AGAIN_AFTER = timedelta(minutes=10)


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


async def handle_invite(console: Console, fields: dict[str, Any]) -> None:
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    if conversation.status != "active":
        await console.error("conversation_closed", conversation.id)
        return
    schedule = office_hours.configured(console.state.settings)
    now = datetime.now(UTC)
    if not office_hours.is_open(schedule, now):
        await console.error("psychologist_unavailable", conversation.id,
                            when=office_hours.describe_next(schedule, now))
        return
    async with console.state.sessions.begin() as session:
        waiting = list(await session.scalars(select(Invitation).where(
            Invitation.conversation_id == conversation.id, Invitation.status == "pending")))
        if any(w.created_at > utcnow() - ASK_AGAIN_AFTER for w in waiting):
            await console.error("invitation_pending", conversation.id)
            return
        for stale in waiting:
            stale.status, stale.answered_at = "cancelled", utcnow()
        invitation = Invitation(id=secrets.token_hex(16), conversation_id=conversation.id,
                                invited_by=console.account.id, status="pending", created_at=utcnow())
        session.add(invitation)
    for stale in waiting:
        await console.state.broker.publish(PSYCHOLOGISTS_CHANNEL, protocol.dumps(
            {"type": "invitation_closed", "invitation": stale.id, "conversation": conversation.id}))
    await console.state.broker.publish(PSYCHOLOGISTS_CHANNEL, protocol.dumps(_frame(invitation, conversation)))
    present = await presence.online(console.state.sessions, "psychologist")
    await console.send({"type": "invitation_sent", "conversation": conversation.id, "invitation": invitation.id,
                        "present": len(present)})


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
    except _Gone:
        await console.error("invitation_gone")
        return
    await state.broker.publish(PSYCHOLOGISTS_CHANNEL, protocol.dumps(
        {"type": "invitation_closed", "invitation": invitation_id, "conversation": conversation.id}))
    title = office_hours.title(state.settings)
    await conversations.publish(state, conversation.id, {
        "type": "joined", "who": "psychologist", "title": title, "message": f"{title} a rejoint la conversation",
    })
    await state.broker.publish(account_channel(me.id), protocol.dumps(
        {"type": "attach", "conversation": conversation.id}))


async def handle_leave(console: Console, fields: dict[str, Any]) -> None:
    conversation = await console.conversation(fields, need="read")
    if conversation is None:
        return
    async with console.state.sessions.begin() as session:
        await session.execute(
            update(Participant)
            .where(Participant.conversation_id == conversation.id, Participant.account_id == console.account.id,
                   Participant.left_at.is_(None))
            .values(left_at=utcnow())
        )
    title = office_hours.title(console.state.settings)
    await conversations.publish(console.state, conversation.id, {
        "type": "left", "who": "psychologist", "title": title, "message": f"{title} a quitté la conversation",
    })
    await console.state.broker.publish(account_channel(console.account.id), protocol.dumps(
        {"type": "detach", "conversation": conversation.id, "reason": "left"}))
