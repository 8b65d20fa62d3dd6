"""Refuse to start without the escalation secrets: checked when the app's lifespan has opened its state.

A pure ASGI middleware sees the lifespan messages: when the app reports ``lifespan.startup.complete`` the
configuration is loaded (and cached for the process); a missing secret turns it into ``lifespan.startup.failed``
with a one-line reason, so the server exits instead of serving without them.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.settings import ConfigurationError
from escalation import config

log = logging.getLogger("pnav.escalation")


class RequireEscalationConfig:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                        config.of(state)
                    except ConfigurationError as exc:
                        log.error("pnav: %s", exc)
                        message = {"type": "lifespan.startup.failed", "message": str(exc)}
            await send(message)

        await self.app(scope, receive, checked_send)
