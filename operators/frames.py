"""The registry of operator WebSocket frames: built-in ones and those other packages plug in.

Another package adds a frame from its own ``web`` module, e.g. the routing package::

    from operators import frames

    async def suggest(console: Console, fields: dict[str, Any]) -> None:
        conversation = await console.conversation(fields, need="manage")
        if conversation is None:
            return  # the console already sent a French error frame
        ...

    frames.register("suggest", suggest, roles=("operator",))

The session is re-checked before every frame; ``roles`` is checked before the handler runs; the handler checks
the conversation itself with ``console.conversation(fields, need=...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from operators.console import Console

Handler = Callable[["Console", dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Registered:
    handler: Handler
    roles: tuple[str, ...]


_registry: dict[str, Registered] = {}


def register(frame_type: str, handler: Handler, *, roles: tuple[str, ...]) -> None:
    """Route client frames of ``frame_type`` to ``handler`` for accounts of ``roles``; re-registering replaces."""
    _registry[frame_type] = Registered(handler, roles)


def lookup(frame_type: str) -> Registered | None:
    return _registry.get(frame_type)


def types() -> frozenset[str]:
    return frozenset(_registry)


def types_for(role: str) -> list[str]:
    """The frame types an account of ``role`` may send, sorted."""
    return sorted(t for t, registered in _registry.items() if role in registered.roles)
