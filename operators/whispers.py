"""Staff-only whispers as frames, and the ones a console resuming may have missed (read by ``operators.consoles``;
the frame handlers are in ``operators.team``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chat.state import ChatState
from operators.models import Whisper


def whisper_frame(whisper: Whisper) -> dict[str, Any]:
    return {"type": "whisper", "conversation": whisper.conversation_id, "id": whisper.id,
            "after_seq": whisper.after_seq, "author": whisper.author_role, "author_name": whisper.author_name,
            "body": whisper.body, "client_id": whisper.client_id,
            "at": whisper.created_at.isoformat().replace("+00:00", "Z")}


async def whispers_after(state: ChatState, conversation_id: str, after_seq: int) -> list[dict[str, Any]]:
    """The whispers placed after message ``after_seq`` or later (a console resuming may have missed them)."""
    async with state.sessions() as session:
        rows = await session.scalars(select(Whisper).where(Whisper.conversation_id == conversation_id,
                                                           Whisper.after_seq >= after_seq).order_by(Whisper.id))
        return [whisper_frame(w) for w in rows]
