"""How many signalements the tchats of a period produced and how far each got, when the escalation package exists.

The escalation package may be absent from a deployment: then there is nothing to count and the dashboard says so.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.models import Conversation
from operators.stats.period import Period

MODULE = "escalation.models"
MODEL = "Signalement"


def signalement_model() -> Any | None:
    """The escalation package's signalement model if it is installed and has a conversation and a status."""
    try:
        module = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name is not None and MODULE.startswith(exc.name):
            return None
        raise
    model = getattr(module, MODEL, None)
    if model is None or not all(hasattr(model, column) for column in ("conversation_id", "status")):
        return None
    return model


async def by_status(sessions: async_sessionmaker[AsyncSession], period: Period, force: str | None = None,
                    model: Any | None = None) -> Counter[str] | None:
    """Signalements of the tchats started in the period, counted by their current status; None without escalation."""
    model = model if model is not None else signalement_model()
    if model is None:
        return None
    query = (
        select(model.status, func.count())
        .join(Conversation, Conversation.id == model.conversation_id)
        .where(Conversation.created_at >= period.start, Conversation.created_at < period.end)
        .group_by(model.status)
    )
    if force is not None:
        query = query.where(Conversation.force == force)
    async with sessions() as session:
        return Counter({str(status): int(count) for status, count in (await session.execute(query)).tuples()})
