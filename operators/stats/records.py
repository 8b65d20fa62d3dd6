"""One row per tchat of a period, with only what the statistics need: no message, no token, no commune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.models import Conversation, Participant
from operators.stats.period import Period


@dataclass(frozen=True)
class TchatRecord:
    force: str
    category: str
    subtype: str | None
    department: str
    status: str
    emergency: bool
    minor: bool
    outcome: str | None
    created_at: datetime
    taken_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    psychologist_joins: int
    language: str = "fr"

    @property
    def answered(self) -> bool:
        """An operator wrote at least once."""
        return self.first_reply_at is not None

    @property
    def abandoned_in_queue(self) -> bool:
        """The visitor left before any operator took the tchat."""
        return self.status == "abandoned" and self.taken_at is None

    @property
    def wait_seconds(self) -> float | None:
        """From the visitor's arrival to the first operator message."""
        if self.first_reply_at is None:
            return None
        return max(0.0, (self.first_reply_at - self.created_at).total_seconds())

    @property
    def duration_seconds(self) -> float | None:
        """From the take to the end, for a tchat that was taken and has ended."""
        if self.taken_at is None or self.closed_at is None or self.status not in ("closed", "abandoned"):
            return None
        return max(0.0, (self.closed_at - self.taken_at).total_seconds())


async def load(sessions: async_sessionmaker[AsyncSession], period: Period, force: str | None = None) -> (
    list[TchatRecord]
):
    """The tchats started in the period (of one force, or all), each with its number of psychologist joins."""
    joins = (
        select(Participant.conversation_id, func.count(Participant.id).label("joins"))
        .where(Participant.role == "psychologist")
        .group_by(Participant.conversation_id)
        .subquery()
    )
    query = (
        select(Conversation.force, Conversation.category, Conversation.subtype, Conversation.department,
               Conversation.status, Conversation.emergency, Conversation.minor, Conversation.outcome,
               Conversation.created_at, Conversation.taken_at, Conversation.first_reply_at, Conversation.closed_at,
               func.coalesce(joins.c.joins, 0), Conversation.language)
        .outerjoin(joins, joins.c.conversation_id == Conversation.id)
        .where(Conversation.created_at >= period.start, Conversation.created_at < period.end)
        .order_by(Conversation.created_at, Conversation.id)
    )
    if force is not None:
        query = query.where(Conversation.force == force)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        TchatRecord(force=r[0], category=r[1], subtype=r[2], department=r[3], status=r[4], emergency=bool(r[5]),
                    minor=bool(r[6]), outcome=r[7], created_at=r[8], taken_at=r[9], first_reply_at=r[10],
                    closed_at=r[11], psychologist_joins=int(r[12]), language=r[13])
        for r in rows
    ]
