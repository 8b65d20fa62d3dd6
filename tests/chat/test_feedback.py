"""``POST /api/v1/feedback``: once per ended tchat, with the visitor's token in its grace period, stored without any
link to the tchat, its free text purged with the tchats of its day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from chat import conversations
from chat.db import utcnow
from chat.feedback import paris_day
from chat.models import Conversation, Feedback, FeedbackReceipt
from escalation import purge
from tests.chat.test_api import error_of
from tests.client import start_tchat
from tests.escalation.rows import CONFIG
from tests.servers import LiveServer


async def _finish(live: LiveServer, conversation_id: str) -> None:
    await live.call(lambda state: conversations.finish(state, conversation_id, status="closed", outcome="other"))


async def test_feedback_once_after_the_end_and_anonymous(live: LiveServer) -> None:
    """Refused while the tchat is open, with a bad score, an overlong comment or an unknown token; accepted once
    after the end; the stored answer carries force, category and day only, and the receipt only the tchat's id."""
    tchat = await start_tchat(live, postal_code="54120", category="discrimination_hate", insee="54039")
    async with httpx.AsyncClient(base_url=live.base) as http:
        answer = {"token": tchat["token"], "score": 4, "comment": "Merci, j'ai su quoi faire."}
        error_of(await http.post("/api/v1/feedback", json=answer), 409, "conversation_open")
        await _finish(live, tchat["id"])
        error_of(await http.post("/api/v1/feedback", json={**answer, "score": 6}), 422, "invalid_score")
        error_of(await http.post("/api/v1/feedback", json={**answer, "score": True}), 422, "invalid_score")
        error_of(await http.post("/api/v1/feedback", json={**answer, "comment": "x" * 501}), 422, "comment_too_long")
        error_of(await http.post("/api/v1/feedback", json={**answer, "token": "inconnu"}), 401, "invalid_token")
        first = await http.post("/api/v1/feedback", json=answer)
        assert first.status_code == 201 and first.json() == {"status": "recorded"}
        error_of(await http.post("/api/v1/feedback", json={**answer, "score": 1}), 409, "feedback_already_given")

    async def stored(state: Any) -> tuple[list[Feedback], list[str]]:
        async with state.sessions() as session:
            return (list(await session.scalars(select(Feedback))),
                    list(await session.scalars(select(FeedbackReceipt.conversation_id))))

    rows, receipts = await live.call(stored)
    assert receipts == [tchat["id"]] and len(rows) == 1
    row = rows[0]
    assert (row.force, row.category, row.score, row.comment) == ("gendarmerie", "discrimination_hate", 4,
                                                                  "Merci, j'ai su quoi faire.")
    assert row.day == paris_day(utcnow()) and row.id != tchat["id"] and len(row.id) == 32
    assert set(Feedback.__table__.columns.keys()) == {"id", "force", "category", "day", "score", "comment"}


async def test_feedback_after_the_grace_period_is_refused(live: LiveServer) -> None:
    """Once the token no longer opens the ended tchat (PNAV_TOKEN_GRACE_SECONDS), no feedback is taken."""
    tchat = await start_tchat(live)
    await _finish(live, tchat["id"])

    async def age(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(Conversation).where(Conversation.id == tchat["id"])
                                  .values(closed_at=utcnow() - timedelta(seconds=state.settings.token_grace_seconds
                                                                          + 1)))

    await live.call(age)
    async with httpx.AsyncClient(base_url=live.base) as http:
        error_of(await http.post("/api/v1/feedback", json={"token": tchat["token"], "score": 3}), 401,
                 "invalid_token")


async def test_purge_removes_old_comments_and_keeps_scores(live: LiveServer) -> None:
    """The free text of an answer older than the conversation retention is deleted; its score stays for the
    statistics; recent comments stay."""
    old_day = paris_day(utcnow() - timedelta(days=CONFIG.conversation_days + 2))

    async def seed_and_purge(state: Any) -> tuple[purge.Purged, dict[str, str | None]]:
        async with state.sessions.begin() as session:
            session.add(Feedback(id="a" * 32, force="police", category="sexual_violence", day=old_day, score=2,
                                 comment="ancien"))
            session.add(Feedback(id="b" * 32, force="police", category="sexual_violence", day=paris_day(utcnow()),
                                 score=5, comment="récent"))
        purged = await purge.run(state.sessions, CONFIG)
        async with state.sessions() as session:
            rows = await session.execute(select(Feedback.id, Feedback.comment, Feedback.score))
            return purged, {r[0]: (r[1], r[2]) for r in rows}

    purged, rows = await live.call(seed_and_purge)
    assert purged.feedback_comments == 1
    assert rows == {"a" * 32: (None, 2), "b" * 32: ("récent", 5)}
