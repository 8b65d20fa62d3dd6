"""Sealing the address a visitor connects from: encrypted at once to the offline public key, never kept in clear.

Registered on ``chat.hooks.visitor_connected``. The sealed value holds the address and the time of the
connection (what an internet provider needs to identify a subscriber), bound to the conversation id.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select

from chat.db import utcnow
from chat.state import ChatState
from escalation import config, crypto
from escalation.models import SealedIdentity

# A conversation keeps at most 20 sealed connections: the first one and the most recent reconnections (a phone
# changing networks). More would only grow the table under a reconnect loop, not help a prosecutor.
MAX_PER_CONVERSATION = 20


def sealed_payload(address: str, at: str) -> bytes:
    return json.dumps({"address": address, "connected_at": at}).encode()


async def seal_connection(state: ChatState, conversation_id: str, address: str) -> None:
    """``visitor_connected`` listener: seal and store; the clear address leaves memory with this call."""
    cfg = config.of(state)
    now = utcnow()
    blob = crypto.seal(cfg.seal_public_key, sealed_payload(address, now.isoformat().replace("+00:00", "Z")),
                       conversation_id)
    async with state.sessions.begin() as session:
        session.add(SealedIdentity(conversation_id=conversation_id, key_id=crypto.key_id(cfg.seal_public_key),
                                   ciphertext=blob, created_at=now))
        await session.flush()
        count = await session.scalar(select(func.count()).select_from(SealedIdentity)
                                     .where(SealedIdentity.conversation_id == conversation_id))
        if count is not None and count > MAX_PER_CONVERSATION:
            ids = list(await session.scalars(select(SealedIdentity.id)
                                              .where(SealedIdentity.conversation_id == conversation_id)
                                              .order_by(SealedIdentity.id)))
            # Keep the first connection; drop the oldest reconnections beyond the cap.
            await session.execute(delete(SealedIdentity).where(
                SealedIdentity.id.in_(ids[1:1 + len(ids) - MAX_PER_CONVERSATION])))
