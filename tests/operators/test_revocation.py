"""Revocation does not ride on pub/sub alone (issue 18, item 4): with every broker message about a transfer dropped
(the former operator's ``detach``, the new operator's ``attach``, the system line), the former operator's console
never receives another frame of the tchat, and the roster's heartbeat makes the new operator follow it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select

from chat.models import Conversation
from operators.models import Account
from operators.roster import roster_of
from tests.operators.staff import console_for, make
from tests.operators.test_psychologist import taken_tchat
from tests.servers import LiveServer


async def _committed(server: LiveServer, conversation_id: str, username: str) -> None:
    """Wait until the transfer is committed (nothing on the broker says so: every message about it is dropped)."""
    async def holder(state: Any) -> str | None:
        async with state.sessions() as session:
            return await session.scalar(select(Account.username).join(
                Conversation, Conversation.assigned_to == Account.id).where(Conversation.id == conversation_id))

    for _ in range(200):
        if await server.call(holder) == username:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the transfer was not committed")


async def test_lost_transfer_messages_never_leak_the_tchat(staff_live: LiveServer) -> None:
    alice = await make(staff_live, "alice", "operator", "police")
    bob = await make(staff_live, "bob", "operator", "police")
    a, b = await console_for(staff_live, alice), await console_for(staff_live, bob)
    conversation, visitor = await taken_tchat(staff_live, a)
    await visitor.send({"type": "send", "client_id": "v1", "body": "Avant le transfert."})
    await a.expect("message", conversation=conversation, body="Avant le transfert.")

    broker = staff_live.state.broker
    real = broker.publish
    dropped: list[str] = []

    async def lossy(channel: str, event: str) -> None:
        frame: dict[str, Any] = json.loads(event)
        about_transfer = (channel.startswith("account:") and frame.get("type") in ("attach", "detach")) or (
            frame.get("type") == "message" and frame.get("author") == "system")
        if about_transfer:
            dropped.append(frame["type"])
            return
        await real(channel, event)

    broker.publish = lossy  # type: ignore[method-assign]
    try:
        await a.send({"type": "transfer", "conversation": conversation, "to_operator": "bob"})
        await _committed(staff_live, conversation, "bob")
        await visitor.send({"type": "send", "client_id": "v2", "body": "Après le transfert."})
        await visitor.expect("ack", client_id="v2")
        # Alice is released at the first frame of the tchat she no longer holds, and never sees it.
        await a.expect("released", conversation=conversation, reason="transferred")
        assert await a.quiet("message", 1.0, conversation=conversation, body="Après le transfert.")
        assert sorted(set(dropped)) == ["attach", "detach", "message"]

        # Bob's attach was lost: the next heartbeat makes his console follow the tchat he now holds.
        await staff_live.call(lambda state: roster_of(state).check())
        taken = await b.expect("taken", conversation=conversation)
        assert taken["conversation"] == conversation
        await b.expect("message", conversation=conversation, body="Après le transfert.")
        await visitor.send({"type": "send", "client_id": "v3", "body": "Encore."})
        await b.expect("message", conversation=conversation, body="Encore.")
        assert await a.quiet("message", 0.5, conversation=conversation)
    finally:
        broker.publish = real  # type: ignore[method-assign]
        for client in (a, b, visitor):
            await client.close()


async def test_heartbeat_releases_a_tchat_no_longer_held(staff_live: LiveServer) -> None:
    """A silent tchat (no event to carry the news) is released by the heartbeat's pass when it was transferred with
    every broker message lost."""
    alice = await make(staff_live, "alice", "operator", "police")
    bob = await make(staff_live, "bob", "operator", "police")
    a, b = await console_for(staff_live, alice), await console_for(staff_live, bob)
    conversation, visitor = await taken_tchat(staff_live, a)
    broker = staff_live.state.broker
    real = broker.publish

    async def silent(channel: str, event: str) -> None:
        if not channel.startswith(("account:", "conv:")):
            await real(channel, event)

    broker.publish = silent  # type: ignore[method-assign]
    try:
        await a.send({"type": "transfer", "conversation": conversation, "to_operator": "bob"})
        await _committed(staff_live, conversation, "bob")
        assert await a.quiet("released", 0.5)
        await staff_live.call(lambda state: roster_of(state).check())
        await a.expect("released", conversation=conversation, reason="transferred")
        await b.expect("taken", conversation=conversation)
    finally:
        broker.publish = real  # type: ignore[method-assign]
        for client in (a, b, visitor):
            await client.close()
