"""Calling the extension points of the visitor's socket (``ChatState.hooks``, a ``chat.state.VisitorHooks`` that the
app fills when it wires its packages): chat calls them without knowing who listens. A failing listener is logged and
skipped, never breaks the visitor's tchat."""


from __future__ import annotations

import logging
from typing import Any

from starlette.requests import HTTPConnection

from chat.state import ChatState

log = logging.getLogger("pnav.hooks")



def peer_address(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None


async def notify_visitor_connected(state: ChatState, conversation_id: str, conn: HTTPConnection) -> None:
    address = peer_address(conn)
    if address is None:
        return
    for listener in state.hooks.connected:
        try:
            await listener(state, conversation_id, address)
        except Exception as exc:  # a listener's failure must not cost the visitor their tchat
            log.error("visitor_connected listener %s failed: %s", getattr(listener, "__name__", "?"),
                      type(exc).__name__)


async def welcome_frames(state: ChatState, conversation_id: str) -> list[dict[str, Any]]:
    """What the ``visitor_welcomed`` listeners still wait for; a failing listener is logged and skipped."""
    frames: list[dict[str, Any]] = []
    for listener in state.hooks.welcomed:
        try:
            frames += await listener(state, conversation_id)
        except Exception as exc:  # an extension's failure must not cost the visitor their tchat
            log.error("visitor_welcomed listener %s failed: %s", getattr(listener, "__name__", "?"), type(exc).__name__)
    return frames
