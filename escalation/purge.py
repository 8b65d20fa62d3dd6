"""Retention: what is past its time is deleted, the counts go to the audit log, statistics stay intact.

- Closed or abandoned tchats older than the conversation retention: their messages, consent proposals, staff
  whispers and the operators' free-text notes (closing notes, transfer notes) are deleted and the token hash is
  replaced, so nothing links the row to a person. The conversation row itself stays with its non-identifying
  columns (category, role, force, département, commune, status, outcome, flags, timestamps) for statistics.
- Sealed addresses older than their retention are deleted, except those under a lifting request still in
  progress (filed or approved).
- Visitors' feedback comments (issue 21) go with the tchats of their day: the free text of an answer whose day
  (Paris) is before the conversation retention's cutoff is deleted; its score stays for statistics.
- Closed signalements older than their retention lose their contact details, account of facts and follow-up
  code; their category, service, commune, flags and status history stay for statistics.
- Attachments go with their tchat — their sealed original and preview, their name and digest — except those a
  signalement still holds (the visitor handed them over), which go with that signalement. Their type, size and
  dates stay for statistics.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, exists, select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from chat.attachments import store as attachments
from chat.attachments.models import Attachment
from chat.db import long_running, utcnow
from chat.feedback import paris_day
from chat.models import Conversation, Feedback, Message
from chat.state import ChatState
from escalation import config
from escalation.config import EscalationConfig
from escalation.models import (
    LiftingRequest,
    Proposal,
    SealedIdentity,
    Signalement,
    SignalementAttachment,
    StatusEvent,
)

log = logging.getLogger("pnav.escalation.purge")

PURGED_MARKER = "purged:"
# The purge runs once a day: retention is counted in days, so a daily pass keeps every limit within a day.
INTERVAL = timedelta(days=1)
# The first pass waits a minute after start so it does not compete with a rolling restart's reconnections.
FIRST_DELAY_SECONDS = 60.0


def _rows(result: Result[Any]) -> int:
    """Rows a DELETE or UPDATE touched (both drivers report it)."""
    return cast(CursorResult[Any], result).rowcount or 0


@dataclass(frozen=True)
class Purged:
    conversations: int
    messages: int
    sealed_identities: int
    signalements: int
    # Free texts of feedback: last, with a default, so that older callers building a Purged keep working.
    feedback_comments: int = 0
    # Attachments whose sealed bytes, name and digest went (issue 20).
    attachments: int = 0


async def _purge_conversations(session: AsyncSession, cutoff: datetime) -> tuple[int, int]:
    ids = list(await session.scalars(select(Conversation.id).where(
        Conversation.status.in_(("closed", "abandoned")), Conversation.closed_at < cutoff,
        ~Conversation.token_hash.startswith(PURGED_MARKER))))
    if not ids:
        return 0, 0
    messages = _rows(await session.execute(delete(Message).where(Message.conversation_id.in_(ids))))
    await session.execute(delete(Proposal).where(Proposal.conversation_id.in_(ids), Proposal.state != "consented"))
    await _purge_operator_notes(session, ids)
    for conversation_id in ids:
        # The token hash is unique and not null: a marker that is neither a hash nor reusable takes its place.
        await session.execute(update(Conversation).where(Conversation.id == conversation_id)
                              .values(token_hash=f"{PURGED_MARKER}{conversation_id}"[:64]))
    return len(ids), messages


async def _purge_operator_notes(session: AsyncSession, ids: list[str]) -> None:
    """Free-text notes operators wrote about the tchat may hold facts: they go with the transcript."""
    try:
        from operators.models import ClosingNote, Transfer, Whisper
    except ImportError:  # pragma: no cover - operators not installed
        return
    await session.execute(delete(ClosingNote).where(ClosingNote.conversation_id.in_(ids)))
    await session.execute(delete(Whisper).where(Whisper.conversation_id.in_(ids)))  # staff notes on the tchat
    await session.execute(update(Transfer).where(Transfer.conversation_id.in_(ids)).values(note=""))


async def _purge_feedback(session: AsyncSession, cutoff: datetime) -> int:
    """Feedback holds no conversation id (anonymity): its day decides, the day the tchat ended."""
    result = await session.execute(update(Feedback).where(Feedback.day < paris_day(cutoff),
                                                          Feedback.comment.is_not(None)).values(comment=None))
    return _rows(result)


async def _purge_sealed(session: AsyncSession, cutoff: datetime) -> int:
    in_progress = exists().where(LiftingRequest.conversation_id == SealedIdentity.conversation_id,
                                 LiftingRequest.state.in_(("filed", "approved")))
    result = await session.execute(delete(SealedIdentity).where(SealedIdentity.created_at < cutoff, ~in_progress))
    return _rows(result)


async def _purge_signalements(session: AsyncSession, cutoff: datetime, now: datetime) -> int:
    result = await session.execute(
        update(Signalement).where(Signalement.status == "closed", Signalement.closed_at < cutoff,
                                  Signalement.purged_at.is_(None))
        .values(contact_ciphertext=None, summary="", followup_hash=None, purged_at=now))
    # The service's notes on each step go with the contact details.
    await session.execute(update(StatusEvent).where(StatusEvent.signalement_id.in_(
        select(Signalement.id).where(Signalement.purged_at == now))).values(note_ciphertext=None))
    # Consented proposals carry the same account of facts.
    await session.execute(update(Proposal).where(Proposal.id.in_(
        select(Signalement.proposal_id).where(Signalement.purged_at == now))).values(summary=""))
    return _rows(result)


async def _purge_attachments(session: AsyncSession, now: datetime) -> int:
    """Files of purged tchats that no signalement still holds (one not purged yet)."""
    held = exists().where(SignalementAttachment.attachment_id == Attachment.id,
                          SignalementAttachment.signalement_id == Signalement.id, Signalement.purged_at.is_(None))
    tchat_gone = exists().where(Conversation.id == Attachment.conversation_id,
                                Conversation.token_hash.startswith(PURGED_MARKER))
    ids = list(await session.scalars(select(Attachment.id).where(Attachment.purged_at.is_(None), tchat_gone, ~held)))
    return await attachments.purge(session, ids, now)


async def run(sessions: async_sessionmaker[AsyncSession], cfg: EscalationConfig, *, actor: str = "system",
              now: datetime | None = None) -> Purged:
    """One purge pass in one transaction, recorded in the audit log with its counts."""
    now = now or utcnow()
    async with sessions.begin() as session:
        conversations, messages = await _purge_conversations(session, now - timedelta(days=cfg.conversation_days))
        sealed = await _purge_sealed(session, now - timedelta(days=cfg.sealed_days))
        signalements = await _purge_signalements(session, now - timedelta(days=cfg.signalement_days), now)
        comments = await _purge_feedback(session, now - timedelta(days=cfg.conversation_days))
        files = await _purge_attachments(session, now)
        purged = Purged(conversations, messages, sealed, signalements, comments, files)
        await trail.record(session, actor=actor, action="retention.purge", target="",
                           details={**asdict(purged), "conversation_days": cfg.conversation_days,
                                    "sealed_days": cfg.sealed_days, "signalement_days": cfg.signalement_days})
    return purged


async def daily_purge(state: ChatState) -> None:
    """Background task: purge a minute after start, then every day (unless ``PNAV_PURGE_IN_PROCESS=off``)."""
    if not config.of(state).purge_in_process:
        return
    await asyncio.sleep(FIRST_DELAY_SECONDS)
    while True:
        # Months of rows in one pass: the long deadlines, not the request paths' seconds.
        purged = await run(long_running(state.sessions), config.of(state))
        log.info("retention purge: %s", asdict(purged))
        await asyncio.sleep(INTERVAL.total_seconds())
