"""Extension points the chat core calls without knowing who listens (the app wires packages, not chat).

``visitor_connected``: called with the state, the conversation id and the peer address when a visitor starts a
tchat or opens its socket. The address must never be stored or logged in clear by a listener: escalation seals
it to an offline public key. Listeners run in order; a failing listener is logged, never breaks the visitor.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection

from chat.state import ChatState

log = logging.getLogger("pnav.hooks")

VisitorConnected = Callable[[ChatState, str, str], Awaitable[None]]
visitor_connected: list[VisitorConnected] = []


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
