"""The typed state the lifespan opens once and every handler reads from ``request.app.state.pnav``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from chat.broker import Broker
from chat.presence import Presence
from chat.settings import Settings
from chat.writer import MessageWriter

T = TypeVar("T")


@dataclass
class ChatState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    presence: Presence
    # Group commit of messages (set by the app's lifespan); None: each message is its own transaction.
    writer: MessageWriter | None = None
    # Other packages keep their per-process helpers here (rate limiters, key material), by package name.
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
