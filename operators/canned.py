"""Canned answers: the key messages operators insert in one click, maintained by supervisors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import trail
from chat.db import single_read, utcnow
from operators.models import CannedAnswer

# Titles are button labels; bodies are chat messages, so they share the chat's message limit.
MAX_TITLE = 120
MAX_BODY = 4_000


def as_json(answer: CannedAnswer) -> dict[str, Any]:
    return {"id": answer.id, "title": answer.title, "body": answer.body, "language": answer.language}


async def all_answers(sessions: async_sessionmaker[AsyncSession]) -> list[CannedAnswer]:
    async with single_read(sessions) as session:
        return list(await session.scalars(select(CannedAnswer).order_by(CannedAnswer.position, CannedAnswer.id)))


async def save(sessions: async_sessionmaker[AsyncSession], answer_id: int | None, *, title: str, body: str,
               position: int, by: str, actor: str, language: str = "fr") -> bool:
    """Create (no id) or update an answer, audited in the same transaction; False when the id does not exist."""
    async with sessions.begin() as session:
        if answer_id is None:
            session.add(CannedAnswer(title=title, body=body, position=position, language=language, updated_by=by,
                                     updated_at=utcnow()))
        else:
            answer = await session.get(CannedAnswer, answer_id)
            if answer is None:
                return False
            answer.title, answer.body, answer.position, answer.language = title, body, position, language
            answer.updated_by, answer.updated_at = by, utcnow()
        await trail.record(session, actor=actor, action="canned.saved", target=str(answer_id or "nouvelle"),
                           details={"title": title, "language": language})
        return True


async def remove(sessions: async_sessionmaker[AsyncSession], answer_id: int, *, actor: str) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(CannedAnswer).where(CannedAnswer.id == answer_id))
        await trail.record(session, actor=actor, action="canned.removed", target=str(answer_id))
