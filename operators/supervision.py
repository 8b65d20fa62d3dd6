"""The supervisor's live view: queue lengths and longest waits, operators online and their load, flagged tchats, and
the live tchats a supervisor may open to read silently (operators.team)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from chat.db import utcnow
from chat.models import CATEGORIES, UNLOCATED, Conversation
from chat.state import ChatState
from operators import offers, presence
from operators.models import Account

# The live tchats listed for silent monitoring: a force rarely has more at once; beyond, the oldest first.
LIVE_LIMIT = 200


async def snapshot(state: ChatState, force: str) -> dict[str, Any]:
    now = utcnow()
    async with state.sessions() as session:
        rows = (await session.execute(
            select(Conversation.category, func.count(Conversation.id), func.min(Conversation.queued_at))
            # Tchats started sans localisation wait for either force: both supervisors count them.
            .where(Conversation.force.in_((force, UNLOCATED)), Conversation.status == "queued")
            .group_by(Conversation.category)
        ))
        waiting = {category: (count, oldest) for category, count, oldest in rows}
        flagged_rows = (await session.execute(
            select(Conversation, Account.display_name)
            .outerjoin(Account, Account.id == Conversation.assigned_to)
            .where(Conversation.force == force, Conversation.status.in_(("queued", "active")),
                   Conversation.emergency | Conversation.minor)
            .order_by(Conversation.priority, Conversation.queued_at)
        ))
        flagged = [
            {"conversation": c.id, "category": c.category, "status": c.status, "emergency": c.emergency,
             "minor": c.minor, "operator": name, "department": c.department}
            for c, name in flagged_rows
        ]
        live_rows = (await session.execute(
            select(Conversation.id, Conversation.category, Conversation.department, Conversation.commune_name,
                   Conversation.taken_at, Conversation.emergency, Conversation.minor, Account.display_name)
            .outerjoin(Account, Account.id == Conversation.assigned_to)
            .where(Conversation.force == force, Conversation.status == "active")
            .order_by(Conversation.priority, Conversation.taken_at).limit(LIVE_LIMIT)
        ))
        live = [
            {"conversation": cid, "category": category, "department": department, "commune": commune,
             "taken_at": taken_at.isoformat().replace("+00:00", "Z") if taken_at else None, "emergency": emergency,
             "minor": minor, "operator": name}
            for cid, category, department, commune, taken_at, emergency, minor, name in live_rows
        ]
    queues = []
    for category in CATEGORIES:
        count, oldest = waiting.get(category, (0, None))
        queues.append({"category": category, "length": count,
                       "longest_wait": int((now - oldest).total_seconds()) if oldest is not None else 0})
    operators = [
        {"username": a.username, "display_name": a.display_name, "load": load, "capacity": a.capacity,
         "status": a.status}
        for a, load in await presence.online(state.sessions, "operator", force)
    ]
    return {"type": "supervision", "force": force, "queues": queues, "operators": operators, "flagged": flagged,
            "live": live, "mode": await offers.mode_of(state, force)}
