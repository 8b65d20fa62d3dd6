"""Closing a tchat with an outcome and a private note, including recording the outcome of an abandoned one."""

from __future__ import annotations

from sqlalchemy import update

from chat import conversations, protocol
from chat.db import utcnow
from chat.models import Conversation
from chat.state import ChatState
from chat.store import ConversationRow
from operators.channels import account_channel
from operators.models import ClosingNote


async def close(state: ChatState, conversation: ConversationRow, account_id: str, outcome: str, note: str, *,
                subtype: str | None = None) -> bool:
    """Close a live tchat (or record the outcome of an abandoned one). False when there is nothing left to close.

    ``subtype`` (category 3 only, already checked with ``operators.stats.labels.valid_subtype``) is stored with it."""
    if conversation.status in ("queued", "active"):
        if subtype is not None:
            # Stored first, so whoever sees ``closed`` reads the subtype too; only the operator in charge writes it.
            async with state.sessions.begin() as session:
                await session.execute(update(Conversation).where(
                    Conversation.id == conversation.id, Conversation.assigned_to == account_id,
                    Conversation.outcome.is_(None)).values(subtype=subtype))
        done = await conversations.finish(state, conversation.id, status="closed", outcome=outcome, by="operator",
                                          only_assigned_to=account_id)
        if done:
            # The tchat's own ``closed`` frame reaches the visitor too and so carries no outcome; the operator's
            # consoles get it here, to show the outcome in the words of the statistics.
            await state.broker.publish(account_channel(account_id), protocol.dumps(
                {"type": "closed", "conversation": conversation.id, "status": "closed", "outcome": outcome}))
    else:
        # The visitor left first: the tchat is already abandoned; the operator still records how it ended.
        async with state.sessions.begin() as session:
            result = await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id, Conversation.status == "abandoned",
                       Conversation.outcome.is_(None), Conversation.assigned_to == account_id)
                .values(outcome=outcome, subtype=subtype).returning(Conversation.id)
            )
            done = result.first() is not None
        if done:
            await conversations.publish(state, conversation.id, {"type": "closed", "status": "abandoned",
                                                                 "outcome": outcome})
    if done and note:
        async with state.sessions.begin() as session:
            session.add(ClosingNote(conversation_id=conversation.id, account_id=account_id, note=note,
                                    created_at=utcnow()))
    return done
