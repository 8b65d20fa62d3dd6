"""The table of operator WebSocket frames: built-in ones and those other packages plug in, per app.

A package adds its frames when the app wires it (``pnav/app.py`` calls each package's ``install``), e.g.::

    def install(state: ChatState) -> None:
        frames_of(state).add("suggest", suggest, roles=("operator",))

    async def suggest(console: Console, fields: dict[str, Any]) -> None:
        conversation = await console.conversation(fields, need="manage")
        if conversation is None:
            return  # the console already sent a French error frame
        ...

The table lives in the app's state, never in a module: two apps built in one process (tests, a worker reloading)
each have their own, and nothing depends on which module was imported first. The session is re-checked before every
frame; ``roles`` is checked before the handler runs; the handler checks the conversation itself with
``console.conversation(fields, need=...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chat.state import ChatState
from operators.consoles import Console

EXTENSION = "operators.frames"

Handler = Callable[[Console, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Registered:
    handler: Handler
    roles: tuple[str, ...]


@dataclass
class FrameTable:
    routes: dict[str, Registered] = field(default_factory=dict)

    def add(self, frame_type: str, handler: Handler, *, roles: tuple[str, ...]) -> None:
        """Route client frames of ``frame_type`` to ``handler`` for accounts of ``roles``; a second add is an error
        (two packages claiming one frame type is a wiring mistake, not something to resolve by import order)."""
        if frame_type in self.routes:
            raise ValueError(f"operator frame {frame_type!r} is already handled")
        self.routes[frame_type] = Registered(handler, roles)

    def lookup(self, frame_type: str) -> Registered | None:
        return self.routes.get(frame_type)

    def types(self) -> frozenset[str]:
        return frozenset(self.routes)

    def types_for(self, role: str) -> list[str]:
        """The frame types an account of ``role`` may send, sorted."""
        return sorted(t for t, registered in self.routes.items() if role in registered.roles)


def frames_of(state: ChatState) -> FrameTable:
    """The app's frame table (made empty on first use; filled by the packages' ``install``)."""
    return state.extension(EXTENSION, FrameTable)
