"""How many signalements the tchats of a period produced and how far each got, when the escalation package exists.

The escalation package may be absent from a deployment: then there is nothing to count and the dashboard says so.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.models import Conversation
from operators.stats.period import Period

MODULE = "escalation.models"


@dataclass
class Progress:
    """Signalements counted by their current step, and by every step they reached (from the status history)."""

    steps: tuple[str, ...]
    current: Counter[str] = field(default_factory=Counter)
    reached: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.current.values())


def escalation_models() -> ModuleType | None:
    """The escalation package's models if installed with a signalement that has a conversation and a status."""
    try:
        module = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name is not None and MODULE.startswith(exc.name):
            return None
        raise
    model = getattr(module, "Signalement", None)
    if model is None or not all(hasattr(model, column) for column in ("id", "conversation_id", "status")):
        return None
    return module


async def progress(sessions: async_sessionmaker[AsyncSession], period: Period, force: str | None = None) -> (
    Progress | None
):
    """Signalements of the tchats started in the period (of one force or all); None without escalation."""
    module = escalation_models()
    if module is None:
        return None
    model: Any = module.Signalement
    events: Any = getattr(module, "StatusEvent", None)
    found = Progress(tuple(getattr(module, "SIGNALEMENT_STATUSES", ())))
    scope = [Conversation.created_at >= period.start, Conversation.created_at < period.end]
    if force is not None:
        scope.append(Conversation.force == force)
    async with sessions() as session:
        current = await session.execute(
            select(model.status, func.count()).join(Conversation, Conversation.id == model.conversation_id)
            .where(*scope).group_by(model.status))
        found.current.update({str(status): int(n) for status, n in current.all()})
        if events is not None and hasattr(events, "signalement_id"):
            reached = await session.execute(
                select(events.status, func.count(func.distinct(events.signalement_id)))
                .join(model, model.id == events.signalement_id)
                .join(Conversation, Conversation.id == model.conversation_id)
                .where(*scope).group_by(events.status))
            found.reached.update({str(status): int(n) for status, n in reached.all()})
    return found
