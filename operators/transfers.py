"""Handing a live tchat to another operator, or back to the queue of the other force (the commune was wrong)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from audit import trail
from chat import conversations, protocol, store
from chat.db import utcnow
from chat.models import FORCES, Conversation, Participant
from chat.store import ConversationRow
from operators import accounts, offers
from operators.channels import account_channel
from operators.consoles import Console, transfer_notes
from operators.models import Transfer

FORCE_NAMES = {"police": "la police nationale", "gendarmerie": "la gendarmerie nationale"}


async def handle(console: Console, fields: dict[str, Any]) -> None:
    """``transfer``: {conversation, to_operator: username} or {conversation, to_force}, with an optional note."""
    note = protocol.clean_text(fields.get("note", ""), protocol.MAX_NOTE_CHARS, allow_empty=True)
    if isinstance(note, protocol.ProtocolError):
        await console.send(note.frame())
        return
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    if conversation.status != "active":
        await console.error("conversation_closed", conversation.id)
        return
    to_operator, to_force = fields.get("to_operator"), fields.get("to_force")
    if isinstance(to_operator, str) and to_operator:
        await _to_operator(console, conversation, to_operator, note)
    elif to_force in FORCES and to_force != conversation.force:
        await _to_force(console, conversation, str(to_force), note)
    else:
        await console.error("invalid_target", conversation.id)


async def _to_operator(console: Console, conversation: ConversationRow, username: str, note: str) -> None:
    target = await accounts.by_username(console.state.sessions, username[:64])
    me = console.account
    if target is None or target.role != "operator" or target.disabled or target.id == me.id or not target.force:
        await console.error("invalid_target", conversation.id)
        return
    now = utcnow()
    async with console.state.sessions.begin() as session:
        # The colleague's capacity is counted under the lock of their row, like a take (operators.offers).
        capacity, load = await offers.lock_capacity(session, target.id)
        if load >= capacity:
            await console.error("target_at_capacity", conversation.id)
            return
        moved = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.assigned_to == me.id,
                   Conversation.status == "active")
            .values(assigned_to=target.id, force=target.force).returning(Conversation.id)
        )
        if moved.first() is None:
            await console.error("conversation_closed", conversation.id)
            return
        await _leave(session, conversation.id, me.id)
        session.add(Participant(conversation_id=conversation.id, account_id=target.id, role="operator", joined_at=now))
        session.add(Transfer(conversation_id=conversation.id, from_account=me.id, to_account=target.id,
                             to_force=target.force if target.force != conversation.force else None, note=note,
                             created_at=now))
        await trail.record(session, actor=me.username, action="conversation.transferred", target=conversation.id,
                           details={"to_operator": target.username})
    await _announce(console, conversation.id, "Un autre membre de l'équipe prend la suite de la conversation.")
    notes = await transfer_notes(console.state, conversation.id)
    await console.state.broker.publish(account_channel(target.id), protocol.dumps(
        {"type": "attach", "conversation": conversation.id,
         "extra": {"transferred_from": me.display_name, "transfers": notes}}))


async def _to_force(console: Console, conversation: ConversationRow, force: str, note: str) -> None:
    me = console.account
    now = utcnow()
    async with console.state.sessions.begin() as session:
        # Back to the queue, keeping queued_at: the visitor already waited, so they come first in the new queue.
        moved = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.assigned_to == me.id,
                   Conversation.status == "active")
            .values(force=force, status="queued", assigned_to=None).returning(Conversation.id)
        )
        if moved.first() is None:
            await console.error("conversation_closed", conversation.id)
            return
        await _leave(session, conversation.id, me.id)
        session.add(Transfer(conversation_id=conversation.id, from_account=me.id, to_force=force, note=note,
                             created_at=now))
        await trail.record(session, actor=me.username, action="conversation.transferred", target=conversation.id,
                           details={"to_force": force})
        # Stored with the move, so that the visitor's page replays them: the operator left, the tchat waits again.
        events = [await store.append_event(session, conversation.id, event) for event in (
            {"type": "left", "who": "operator", "reason": "transferred"}, {"type": "transferred", "force": force})]
    for event in events:
        assert event is not None  # the tchat is queued again, so open
        await conversations.publish(console.state, conversation.id, event.frame())
    await _announce(console, conversation.id,
                    f"Votre conversation est transmise à {FORCE_NAMES[force]}, compétente pour votre commune. "
                    "Merci de patienter quelques instants.")
    await conversations.publish_queue(console.state, conversation.force, conversation.category)
    await conversations.publish_queue(console.state, force, conversation.category)


async def _leave(session: Any, conversation_id: str, account_id: str) -> None:
    await session.execute(
        update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.account_id == account_id,
               Participant.left_at.is_(None))
        .values(left_at=utcnow())
    )


async def _announce(console: Console, conversation_id: str, text: str) -> None:
    """Tell the visitor (a system message in the transcript), then release the tchat from this operator's tabs."""
    await conversations.post(console.state, conversation_id, author="system", body=text)
    await console.state.broker.publish(account_channel(console.account.id), protocol.dumps(
        {"type": "detach", "conversation": conversation_id, "reason": "transferred"}))
