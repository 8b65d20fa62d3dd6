"""A console frame's two reads (issue 19, item 4): the tchat it names is read while the session is re-checked, not
after; a frame whose session has ended still gets nothing but ``not_signed_in``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from operators.lookups import lookups_of
from tests.operators.staff import console_for, make
from tests.operators.test_psychologist import taken_tchat
from tests.servers import LiveServer

# The session re-check is held this long, so that a read started after it is told apart from one started with it.
HELD = 0.3


async def test_the_tchat_is_read_while_the_session_is_checked(staff_live: LiveServer) -> None:
    alice = await make(staff_live, "alice.lectures", "operator", "police")
    console = await console_for(staff_live, alice)
    conversation, visitor = await taken_tchat(staff_live, console)
    lookups = lookups_of(staff_live.state)
    real_session, real_conversation = lookups.session_alive._fetch, lookups.conversation._fetch
    events: list[tuple[str, float]] = []

    def timed(name: str, real: Callable[[list[Any]], Awaitable[Any]], hold: float) -> Callable[
        [list[Any]], Awaitable[Any]
    ]:
        async def fetch(keys: list[Any]) -> Any:
            events.append((f"{name} read", time.monotonic()))
            await asyncio.sleep(hold)
            rows = await real(keys)
            events.append((f"{name} answered", time.monotonic()))
            return rows

        return fetch

    lookups.session_alive._fetch = timed("session", real_session, HELD)  # type: ignore[method-assign]
    lookups.conversation._fetch = timed("tchat", real_conversation, 0)  # type: ignore[method-assign]
    try:
        await console.send({"type": "send", "conversation": conversation, "client_id": "c1", "body": "Bonjour"})
        await console.expect("ack", conversation=conversation, client_id="c1")
        await visitor.expect("message", body="Bonjour")
    finally:
        lookups.session_alive._fetch = real_session  # type: ignore[method-assign]
        lookups.conversation._fetch = real_conversation  # type: ignore[method-assign]
    at: dict[str, float] = {}
    for name, moment in events:  # the first of each (the echo of the message to its own console reads the tchat too)
        at.setdefault(name, moment)
    assert at["tchat read"] < at["session answered"], events  # side by side, not one after the other
    await console.close()
    await visitor.close()
