"""How many files visitors attached in the tchats of a period, and how many were handed to a local service: counts
by kind of file, never anything about their content (purged files are counted too: their type and dates stay)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.attachments.models import Attachment
from chat.models import Conversation
from operators.stats.period import Period
from operators.stats.signalements import escalation_models

KINDS = ("image", "pdf")


@dataclass
class AttachmentCounts:
    """(kind, source) → files received; kind → files handed to a local service (None without escalation)."""

    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    transmitted: Counter[str] | None = None


async def counts(sessions: async_sessionmaker[AsyncSession], period: Period, force: str | None = None) -> (
    AttachmentCounts
):
    """Files of the tchats started in the period (of one force or all)."""
    kind = case((Attachment.media_type == "application/pdf", "pdf"), else_="image")
    scope: list[Any] = [Conversation.created_at >= period.start, Conversation.created_at < period.end]
    if force is not None:
        scope.append(Conversation.force == force)
    found = AttachmentCounts()
    async with sessions() as session:
        rows = await session.execute(
            select(kind, Attachment.source, func.count())
            .join(Conversation, Conversation.id == Attachment.conversation_id)
            .where(*scope).group_by(kind, Attachment.source))
        found.received.update({(str(k), str(s)): int(n) for k, s, n in rows.all()})
        module = escalation_models()
        link: Any = getattr(module, "SignalementAttachment", None) if module is not None else None
        if link is not None:
            handed = await session.execute(
                select(kind, func.count(func.distinct(link.attachment_id)))
                .join(Attachment, Attachment.id == link.attachment_id)
                .join(Conversation, Conversation.id == Attachment.conversation_id)
                .where(*scope).group_by(kind))
            found.transmitted = Counter({str(k): int(n) for k, n in handed.all()})
    return found
