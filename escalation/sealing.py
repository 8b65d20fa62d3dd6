"""Sealing the address a visitor connects from: encrypted at once to the offline public key, never kept in clear.

Added to ``ChatState.hooks.connected`` by ``escalation.web.install``. The sealed value holds the address and the time
of the connection (what an internet provider needs to identify a subscriber), bound to the conversation id.
"""

from __future__ import annotations

import json
from functools import partial
from typing import cast

from sqlalchemy import Table, delete, func, insert, select

from chat.batching import Batcher
from chat.db import utcnow
from chat.state import ChatState
from escalation import config, crypto
from escalation.models import SealedIdentity

# A conversation keeps at most 20 sealed connections: the first one and the most recent reconnections (a phone
# changing networks). More would only grow the table under a reconnect loop, not help a prosecutor.
MAX_PER_CONVERSATION = 20


def sealed_payload(address: str, at: str) -> bytes:
    return json.dumps({"address": address, "connected_at": at}).encode()


# Seals written per transaction: a reconnect storm of thousands of visitors becomes a few multi-row inserts.
MAX_BATCH = 500
EXTENSION = "escalation.sealer"
_INSERT = insert(cast(Table, SealedIdentity.__table__))


async def seal_connection(state: ChatState, conversation_id: str, address: str) -> None:
    """``hooks.connected`` listener: seal, then return once stored; the clear address leaves memory here."""
    cfg = config.of(state)
    now = utcnow()
    blob = crypto.seal(cfg.seal_public_key, sealed_payload(address, now.isoformat().replace("+00:00", "Z")),
                       conversation_id)
    row = {"conversation_id": conversation_id, "key_id": crypto.key_id(cfg.seal_public_key), "ciphertext": blob,
           "created_at": now}
    await _sealer_of(state).submit(row)


def _sealer_of(state: ChatState) -> Batcher[dict[str, object], None]:
    return state.extension(EXTENSION, lambda: Batcher(partial(_store, state), MAX_BATCH, "pnav-sealer"))


async def _store(state: ChatState, rows: list[dict[str, object]]) -> list[BaseException | None]:
    """One transaction for the batch: insert every seal, then trim the conversations that went over the cap."""
    conversation_ids = list({str(row["conversation_id"]) for row in rows})
    async with state.sessions.begin() as session:
        await session.execute(_INSERT, rows)
        over = list(await session.scalars(
            select(SealedIdentity.conversation_id).where(SealedIdentity.conversation_id.in_(conversation_ids))
            .group_by(SealedIdentity.conversation_id).having(func.count() > MAX_PER_CONVERSATION)
        ))
        for conversation_id in over:
            ids = list(await session.scalars(select(SealedIdentity.id)
                                              .where(SealedIdentity.conversation_id == conversation_id)
                                              .order_by(SealedIdentity.id)))
            # Keep the first connection; drop the oldest reconnections beyond the cap.
            await session.execute(delete(SealedIdentity).where(
                SealedIdentity.id.in_(ids[1:1 + len(ids) - MAX_PER_CONVERSATION])))
    return [None] * len(rows)
