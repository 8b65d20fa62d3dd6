"""The typed state the lifespan opens once and every handler reads from ``request.app.state.pnav``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from chat.broker import Broker
from chat.presence import Presence
from chat.settings import Settings
from chat.writer import MessageWriter

T = TypeVar("T")

VisitorConnected = Callable[["ChatState", str, str], Awaitable[None]]
VisitorFrame = Callable[["ChatState", str, dict[str, Any]], Awaitable[list[dict[str, Any]]]]
VisitorWelcomed = Callable[["ChatState", str], Awaitable[list[dict[str, Any]]]]


@dataclass
class VisitorHooks:
    """What other packages plug into the visitor's socket, per app (``pnav/app.py`` has each package's ``install``
    fill them; nothing is registered by importing a module). ``chat.hooks`` calls them.

    ``connected``: called with the state, the conversation id and the peer address when a visitor starts a tchat or
    opens its socket (escalation seals the address; it must never be stored or logged in clear). ``frames``: client
    frames of other packages the socket accepts, type → handler returning the frames to send back. ``welcomed``:
    called after a welcome and replay, returning frames still waiting for the visitor's answer. ``events``: types of
    conversation events of other packages the socket forwards as they are; ``transcript_events``: those of them
    stored in the transcript (sent and replayed in seq order, like messages)."""

    connected: list[VisitorConnected] = field(default_factory=list)
    frames: dict[str, VisitorFrame] = field(default_factory=dict)
    welcomed: list[VisitorWelcomed] = field(default_factory=list)
    events: set[str] = field(default_factory=set)
    transcript_events: set[str] = field(default_factory=set)


@dataclass
class ChatState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    presence: Presence
    # Group commit of messages (set by the app's lifespan); None: each message is its own transaction.
    writer: MessageWriter | None = None
    # The visitor socket's extension points, filled when the app wires its packages.
    hooks: VisitorHooks = field(default_factory=VisitorHooks)
    # Other packages keep their per-process helpers here (rate limiters, key material, the operators' frame table),
    # by package name.
    extensions: dict[str, Any] = field(default_factory=dict)

    def extension(self, name: str, make: Callable[[], T]) -> T:
        """The per-process helper kept under ``name`` (a package's name), made by ``make()`` on first use."""
        found: T | None = self.extensions.get(name)
        if found is None:
            found = self.extensions[name] = make()
        return found


def state_of(conn: HTTPConnection) -> ChatState:
    state: ChatState = conn.app.state.pnav
    return state
