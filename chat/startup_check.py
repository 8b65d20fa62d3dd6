"""Refuse to start without a package's configuration: checked when the app's lifespan has opened its state.

A pure ASGI middleware sees the lifespan messages: when the app reports ``lifespan.startup.complete``, ``load``
reads the package's configuration (and caches it for the process); a missing or unusable secret turns the message
into ``lifespan.startup.failed`` with a one-line reason, so the server exits instead of serving without it.
Each package adds ``Middleware(RequireConfig, load=its_config.of)`` to its middleware.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.settings import ConfigurationError
from chat.state import ChatState

log = logging.getLogger("pnav")


class RequireConfig:
    def __init__(self, app: ASGIApp, load: Callable[[ChatState], object]) -> None:
        self.app = app
        self.load = load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def checked_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                app: Any = scope.get("app")
                state = getattr(getattr(app, "state", None), "pnav", None)
                if state is not None:
                    try:
                        self.load(state)
                    except ConfigurationError as exc:
                        log.error("pnav: %s", exc)
                        message = {"type": "lifespan.startup.failed", "message": str(exc)}
            await send(message)

        await self.app(scope, receive, checked_send)
