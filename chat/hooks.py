"""Extension points the chat core calls without knowing who listens (the app wires packages, not chat).

``visitor_connected``: called with the state, the conversation id and the peer address when a visitor starts a
tchat or opens its socket. The address must never be stored or logged in clear by a listener: escalation seals
it to an offline public key. Listeners run in order; a failing listener is logged, never breaks the visitor.

``visitor_frames``: client frames of other packages that the visitor's socket accepts (e.g. ``psychologist_answer``
from operators), type → handler(state, conversation id, fields) returning the frames to send back to that socket.
``visitor_welcomed``: called after a visitor's welcome and replay (a new tab, a reload, a reconnect) and returning
frames still waiting for that visitor's answer. ``visitor_events``: types of conversation events of other packages
that the visitor's socket forwards as they are. ``transcript_events``: those of them stored in the transcript
(``chat.store.append_event``): the visitor's socket sends them in seq order, and replays them, like messages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import HTTPConnection

from chat.state import ChatState

log = logging.getLogger("pnav.hooks")

VisitorConnected = Callable[[ChatState, str, str], Awaitable[None]]
visitor_connected: list[VisitorConnected] = []

VisitorFrame = Callable[[ChatState, str, dict[str, Any]], Awaitable[list[dict[str, Any]]]]
visitor_frames: dict[str, VisitorFrame] = {}
VisitorWelcomed = Callable[[ChatState, str], Awaitable[list[dict[str, Any]]]]
visitor_welcomed: list[VisitorWelcomed] = []
visitor_events: set[str] = set()
transcript_events: set[str] = set()


def peer_address(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None


async def notify_visitor_connected(state: ChatState, conversation_id: str, conn: HTTPConnection) -> None:
    address = peer_address(conn)
    if address is None:
        return
    for listener in visitor_connected:
        try:
            await listener(state, conversation_id, address)
        except Exception as exc:  # a listener's failure must not cost the visitor their tchat
            log.error("visitor_connected listener %s failed: %s", getattr(listener, "__name__", "?"),
                      type(exc).__name__)


async def welcome_frames(state: ChatState, conversation_id: str) -> list[dict[str, Any]]:
    """What the ``visitor_welcomed`` listeners still wait for; a failing listener is logged and skipped."""
    frames: list[dict[str, Any]] = []
    for listener in visitor_welcomed:
        try:
            frames += await listener(state, conversation_id)
        except Exception as exc:  # an extension's failure must not cost the visitor their tchat
            log.error("visitor_welcomed listener %s failed: %s", getattr(listener, "__name__", "?"), type(exc).__name__)
    return frames
