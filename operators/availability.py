"""What a console shows before anyone clicks: whether a psychologist can be invited now, and whether the visitor of
each open tab is connected right now.

- ``psychologists`` frames (``{open, next, present}``) go to operator consoles in their welcome, whenever a
  psychologist's console opens or closes (channel ``AVAILABILITY_CHANNEL``), and with every heartbeat (office hours
  open and close with the clock).
- ``presence`` frames (``{conversation, who: "visitor", connected}``) are published by the visitor's socket when it
  opens or closes (``chat.visitor_socket``), and re-sent with every heartbeat from the shared presence store, so a
  process that died without a word is corrected within a heartbeat and the presence window.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from starlette.websockets import WebSocketDisconnect

from chat import protocol
from chat.state import ChatState
from operators import office_hours, presence
from operators.consoles import Console

AVAILABILITY_CHANNEL = "psychologists:availability"


async def psychologists(state: ChatState) -> dict[str, Any]:
    """Office hours now and the number of psychologists with a console open."""
    schedule = await office_hours.schedule(state)
    return {**office_hours.status_json(schedule), "present": len(await presence.online(state.sessions,
                                                                                         "psychologist"))}


async def announce(state: ChatState) -> None:
    """A psychologist's console opened or closed: every operator console learns the new count."""
    await state.broker.publish(AVAILABILITY_CHANNEL, protocol.dumps({"type": "psychologists",
                                                                     **await psychologists(state)}))


async def visitor_connected(state: ChatState, conversation_id: str) -> bool:
    return conversation_id in await state.presence.present([conversation_id])


async def refresh(state: ChatState, consoles: Iterable[Console]) -> None:
    """Heartbeat: one presence read for every tab of the process and one count of psychologists, sent to each
    console (a few small frames per console every 20 s; sent even when unchanged, so a lost frame heals)."""
    consoles = list(consoles)
    followed = sorted({c for console in consoles for c in console.attached})
    present = await state.presence.present(followed) if followed else set()
    operators = [console for console in consoles if console.account.role == "operator"]
    available = await psychologists(state) if operators else None
    for console in consoles:
        if console.signed_out:
            continue
        # A console closing meanwhile is its own task's business: the others still get their frames.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            for conversation_id in sorted(console.attached):
                await console.send({"type": "presence", "conversation": conversation_id, "who": "visitor",
                                    "connected": conversation_id in present})
            if available is not None and console.account.role == "operator":
                await console.send({"type": "psychologists", **available})
